//! lmerTest's Type III ANOVA tables with Satterthwaite's method (`anova(fit)`) and with
//! Kenward–Roger's (`anova(fit, ddf = "Kenward-Roger")`), made by
//! `tests/data/lmertest/make_anova.R`: denominator df within 1%, p within 1% on the log10
//! scale; F within 1% (Satterthwaite) and 1e-4 (Kenward–Roger, whose F carries pbkrtest's
//! scaling factor) where our REML optimum is lme4's.

use mixspec_engine::inference::{anova, anova_kenward_roger, FTest, KenwardRoger};
use mixspec_engine::{fit, read_csv, Design, FitOptions};
use serde_json::Value;
use std::path::Path;

/// `kr_f_tolerance`: the relative tolerance of Kenward–Roger's F.
fn check(case: &str, kr_f_tolerance: f64) {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"));
    let text = std::fs::read_to_string(root.join(format!("lmertest/{case}.json"))).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    let file = root.join("reference").join(r["data"].as_str().unwrap());
    let data = read_csv(std::fs::File::open(&file).unwrap(), case).unwrap();
    let spec = mixspec_dsl::parse_formula(r["formula"].as_str().unwrap()).unwrap();
    let design = Design::build(&spec, &data).unwrap();
    let f = fit(design.clone(), &FitOptions::default()).unwrap();
    let satterthwaite = anova(&design, &spec.fixed, &f).unwrap();
    compare(case, "Satterthwaite", &satterthwaite, &r["anova"], 0.01);
    let kr = KenwardRoger::new(&design, &f.random, f.sigma).expect("Kenward–Roger");
    let kenward_roger = anova_kenward_roger(&design, &spec.fixed, &f, &kr);
    compare(
        case,
        "Kenward-Roger",
        &kenward_roger,
        &r["anova_kr"],
        kr_f_tolerance,
    );
}

fn compare(case: &str, method: &str, ours: &[FTest], theirs: &Value, f_tolerance: f64) {
    let theirs = theirs.as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{case}: rows");
    for (o, t) in ours.iter().zip(theirs) {
        let term = t["term"].as_str().unwrap();
        assert_eq!(o.term, term, "{case}: term");
        assert_eq!(
            o.num_df as u64,
            t["num_df"].as_u64().unwrap(),
            "{case} {term}: NumDF"
        );
        let (df, fv, p) = (
            t["den_df"].as_f64().unwrap(),
            t["F"].as_f64().unwrap(),
            t["p"].as_f64().unwrap(),
        );
        let errors = [
            (o.den_df / df - 1.0).abs(),
            (o.f / fv - 1.0).abs(),
            (o.p.log10() - p.log10()).abs() / p.log10().abs().max(1e-2),
        ];
        eprintln!(
            "{case} {method} {term}: relative errors df, F, log10 p {:.2e} {:.2e} {:.2e}",
            errors[0], errors[1], errors[2]
        );
        assert!(
            errors[0] <= 0.01 && errors[1] <= f_tolerance && errors[2] <= 0.01,
            "{case} {method} {term}: {o:?} vs lmerTest's df {df}, F {fv}, p {p}"
        );
    }
}

#[test]
fn cake_reml() {
    check("cake_reml", 1e-4);
}

#[test]
fn cake_crossed_reml() {
    check("cake_crossed_reml", 1e-4);
}

#[test]
fn cake_unbalanced_reml() {
    check("cake_unbalanced_reml", 1e-4);
}

/// mixspec's REML optimum for this model is below lme4's (tests/reference.rs), and the
/// variance parameters differ by a few 1e-4: both F statistics inherit that difference.
#[test]
fn orthodont_reml() {
    check("orthodont_reml", 1e-3);
}

#[test]
fn sleepstudy_reml() {
    check("sleepstudy_reml", 1e-4);
}
