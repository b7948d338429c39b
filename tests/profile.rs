//! Profile-likelihood intervals against lme4's `confint(fit, method = "profile")`: each end
//! within 0.2% of the interval's width of lme4's.

use mixspec_engine::inference::{profile_intervals, Interval, Parameter};
use mixspec_engine::{read_csv, Design};
use serde_json::Value;
use std::path::Path;

fn data_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference"))
}

fn matches(ours: &Parameter, row: &Value) -> bool {
    let s = |k: &str| row[k].as_str();
    match ours {
        Parameter::Fixed { term } => s("kind") == Some("fixed") && s("term") == Some(term),
        Parameter::Sd { group, var1 } => {
            s("kind") == Some("sd") && s("group") == Some(group) && s("var1") == var1.as_deref()
        }
        Parameter::Cor { group, var1, var2 } => {
            s("kind") == Some("cor")
                && s("group") == Some(group)
                && s("var1") == Some(var1)
                && s("var2") == Some(var2)
        }
        Parameter::NbTheta => s("kind") == Some("nb_theta"),
    }
}

fn check(case: &str) {
    let path = data_dir().join(format!("{case}.json"));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let file = data_dir().join(r["data"].as_str().unwrap());
    let data = read_csv(std::fs::File::open(&file).unwrap(), "data").unwrap();
    let spec = mixspec_dsl::parse_formula(r["formula"].as_str().unwrap()).unwrap();
    let design = Design::build(&spec, &data).unwrap();
    let ours: Vec<Interval> = profile_intervals(&design).unwrap();
    let theirs = r["profile_ci"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{case}: number of intervals");
    for (o, t) in ours.iter().zip(theirs) {
        assert!(matches(&o.parameter, t), "{case}: {:?} vs {t}", o.parameter);
        let (lo, hi) = (t["lower"].as_f64().unwrap(), t["upper"].as_f64().unwrap());
        let width = hi - lo;
        let err = (o.lower - lo).abs().max((o.upper - hi).abs()) / width;
        eprintln!(
            "{case} {:?}: [{}, {}] vs [{lo}, {hi}]: {err:.2e} of the width",
            o.parameter, o.lower, o.upper
        );
        assert!(
            err <= 2e-3,
            "{case}: {:?} [{}, {}] vs [{lo}, {hi}]",
            o.parameter,
            o.lower,
            o.upper
        );
    }
}

#[test]
fn sleepstudy_reml() {
    check("sleepstudy_reml");
}

#[test]
fn dyestuff_ml() {
    check("dyestuff_ml");
}

#[test]
fn orthodont_reml() {
    check("orthodont_reml");
}
