//! The parametric bootstrap: reproducible for a seed, and roughly the profile intervals.

use mixspec_engine::inference::{bootstrap_intervals, profile_intervals};
use mixspec_engine::{fit, read_csv, Design, FitOptions};
use std::path::Path;
use std::process::Command;

fn sleepstudy() -> Design {
    let file = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/reference/sleepstudy.csv"
    ));
    let data = read_csv(std::fs::File::open(file).unwrap(), "sleepstudy").unwrap();
    let spec = mixspec_dsl::parse_formula("Reaction ~ Days + (Days | Subject)").unwrap();
    Design::build(&spec, &data).unwrap()
}

#[test]
fn same_seed_same_intervals_and_near_the_profile() {
    let design = sleepstudy();
    let fitted = fit(design.clone(), &FitOptions::default()).unwrap();
    let run = |seed| bootstrap_intervals(&design, &fitted, 200, seed, &|| {}).unwrap();
    let (a, b, c) = (run(11), run(11), run(12));
    assert_eq!(a.intervals, b.intervals);
    assert_ne!(a.intervals, c.intervals);
    assert_eq!(a.failed, 0);
    let profile = profile_intervals(&design).unwrap();
    for (boot, prof) in a.intervals.iter().zip(&profile) {
        assert_eq!(boot.parameter, prof.parameter);
        let width = prof.upper - prof.lower;
        let off = (boot.lower - prof.lower)
            .abs()
            .max((boot.upper - prof.upper).abs());
        assert!(
            off < 0.3 * width,
            "{:?}: bootstrap [{}, {}] vs profile [{}, {}]",
            boot.parameter,
            boot.lower,
            boot.upper,
            prof.lower,
            prof.upper
        );
    }
}

#[test]
fn cli_reports_both_interval_kinds() {
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/reference/dyestuff.csv"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mixspec"))
        .args([
            "fit",
            "--data",
            data,
            "--formula",
            "Yield ~ 1 + (1 | Batch)",
        ])
        .args([
            "--ml",
            "--format",
            "json",
            "--profile",
            "--bootstrap",
            "50",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let profile = v["profile_ci"].as_array().unwrap();
    assert_eq!(profile.len(), 3);
    assert_eq!(profile[0]["kind"], "sd");
    assert_eq!(profile[0]["group"], "Batch");
    assert_eq!(profile[0]["var1"], "(Intercept)");
    assert_eq!(profile[1]["group"], "Residual");
    assert!(profile[1]["var1"].is_null());
    assert_eq!(profile[2]["kind"], "fixed");
    assert_eq!(profile[2]["term"], "(Intercept)");
    let boot = v["bootstrap_ci"].as_array().unwrap();
    assert_eq!(boot.len(), 3);
    assert!(boot.iter().all(|r| r["method"] == "percentile"));
    assert_eq!(v["bootstrap"]["replicates"], 50);
    assert_eq!(v["bootstrap"]["seed"], 3);
}
