//! lmerTest's Type III ANOVA tables with Satterthwaite's method (`anova(fit)`), made by
//! `tests/data/lmertest/make_anova.R`: F and denominator df within 1%, p within 1% on the
//! log10 scale.

use mixspec_engine::inference::anova;
use mixspec_engine::{fit, read_csv, Design, FitOptions};
use serde_json::Value;
use std::path::Path;

fn check(case: &str) {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"));
    let text = std::fs::read_to_string(root.join(format!("lmertest/{case}.json"))).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    let file = root.join("reference").join(r["data"].as_str().unwrap());
    let data = read_csv(std::fs::File::open(&file).unwrap(), case).unwrap();
    let spec = mixspec_dsl::parse_formula(r["formula"].as_str().unwrap()).unwrap();
    let design = Design::build(&spec, &data).unwrap();
    let f = fit(design.clone(), &FitOptions::default()).unwrap();
    let ours = anova(&design, &spec.fixed, &f).unwrap();
    let theirs = r["anova"].as_array().unwrap();
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
            "{case} {term}: relative errors df, F, log10 p {:.2e} {:.2e} {:.2e}",
            errors[0], errors[1], errors[2]
        );
        assert!(
            errors.iter().all(|e| *e <= 0.01),
            "{case} {term}: {o:?} vs lmerTest's df {df}, F {fv}, p {p}"
        );
    }
}

#[test]
fn cake_reml() {
    check("cake_reml");
}

#[test]
fn orthodont_reml() {
    check("orthodont_reml");
}

#[test]
fn sleepstudy_reml() {
    check("sleepstudy_reml");
}
