//! `mixspec fit --engine datafusion` (built with the `datafusion` feature) against the
//! in-memory engine on the same files, to issue 16's tolerances (see [`assert_agree`]).
//! The two sum the rows in different orders (DataFusion's parallel aggregation in a
//! varying one), so their objectives differ by rounding; both land on the same optimum
//! because the optimizer's final check polishes θ by Newton steps judged on the analytic
//! gradient once the objective can no longer tell (`engine/src/fit/optimize.rs`). The
//! cohort is simulated here and written to a scratch folder as four Parquet files;
//! `MIXSPEC_SCALE_PATIENTS` sets its size (5,000 patients by default, so the test stays
//! short in a debug build; issue 16's acceptance is 200,000, docs/scale.md has the figures).
#![cfg(feature = "datafusion")]

mod common;
use common::scale::{assert_agree, cohort_parts, fit, patients, ISSUE_16, MODELS};
use common::{assert_refused, mixspec, scratch};

use std::path::Path;

#[test]
fn parquet_parts_give_the_in_memory_fit() {
    let patients = patients(5_000);
    let dir = scratch("parts");
    cohort_parts(&dir, patients);
    for (formula, reml) in MODELS {
        let started = std::time::Instant::now();
        let ours = fit(&dir, formula, reml, "datafusion");
        let took = started.elapsed();
        let memory = fit(&dir, formula, reml, "memory");
        eprintln!("{patients} patients, {formula}: DataFusion {took:.2?}");
        assert_agree(&ours, &memory, formula, &ISSUE_16);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

const SLEEPSTUDY: &str = "tests/data/reference/sleepstudy.csv";

#[test]
fn a_csv_file_gives_the_in_memory_fit() {
    let path = Path::new(SLEEPSTUDY);
    for formula in [
        "Reaction ~ Days + (Days | Subject)",
        "log(Reaction) ~ Days + (1 | Subject)",
    ] {
        assert_agree(
            &fit(path, formula, true, "datafusion"),
            &fit(path, formula, true, "memory"),
            formula,
            &ISSUE_16,
        );
    }
}

#[test]
fn models_outside_the_scope_and_unsupported_terms_are_refused() {
    for (formula, extra, needle) in [
        (
            "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
            None,
            "one random-effect term",
        ),
        (
            "Reaction ~ Days + (1 | Subject)",
            Some("ar1(Subject)"),
            "residuals must be independent",
        ),
        ("Reaction ~ poly(Days, 2) + (1 | Subject)", None, "poly()"),
        ("Reaction ~ scale(Days) + (1 | Subject)", None, "scale()"),
        (
            "Reaction ~ Nights + (1 | Subject)",
            None,
            "no column `Nights`",
        ),
        ("Reaction ~ log(Days) + (1 | Subject)", None, "infinite"),
    ] {
        let mut args = vec![
            "fit",
            "--data",
            SLEEPSTUDY,
            "--formula",
            formula,
            "--engine",
            "datafusion",
        ];
        if let Some(residual) = extra {
            args.extend(["--residual", residual]);
        }
        let out = mixspec(&args);
        assert_refused(&out, &[needle]);
        assert!(out.stdout.is_empty(), "{formula}: partial output");
    }
}
