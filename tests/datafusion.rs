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
use common::{assert_refused, mixspec, scratch, stderr};

use mixspec_engine::data::{Column, Factor};
use serde_json::Value;
use std::path::Path;

/// A simulated cohort in four Parquet files, with a text factor `arm` added and the
/// outcome missing on every 50th row (incomplete rows the engines must both drop).
fn cohort_parts(dir: &Path, patients: usize) {
    let params =
        mixspec_simulate::Params::from_toml(mixspec_simulate::DEFAULT_TOML, "defaults").unwrap();
    let cohort = mixspec_simulate::simulate(&params, patients, 7).unwrap();
    let frame = cohort.to_data_frame(false);
    let Some(Column::Factor(ids)) = frame.column("patient").cloned() else {
        panic!("patient ids are text")
    };
    let Some(Column::Numeric(gaf)) = frame.column("gaf").cloned() else {
        panic!("gaf is numeric")
    };
    let n = ids.codes.len();
    let per_part = n.div_ceil(4);
    for (k, start) in (0..n).step_by(per_part).enumerate() {
        let rows: Vec<usize> = (start..(start + per_part).min(n)).collect();
        let label = |r: usize| ids.levels[ids.codes[r] as usize].as_str();
        let keep = ["patient", "months", "age", "female"];
        let mut part = mixspec_engine::DataFrame::new(
            "<part>",
            keep.iter()
                .map(|name| {
                    let column = match frame.column(name).unwrap() {
                        Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
                        Column::Factor(_) => Column::Factor(Factor::from_labels(
                            rows.iter().map(|&r| Some(label(r))),
                        )),
                    };
                    (name.to_string(), column)
                })
                .collect(),
        );
        let gaf: Vec<f64> = rows
            .iter()
            .map(|&r| if r % 50 == 0 { f64::NAN } else { gaf[r] })
            .collect();
        part.insert("gaf", Column::Numeric(gaf));
        let arms = rows.iter().map(|&r| {
            Some(if label(r).bytes().last().unwrap() % 3 == 0 {
                "waitlist"
            } else {
                "MBT"
            })
        });
        part.insert("arm", Column::Factor(Factor::from_labels(arms)));
        let bytes = mixspec_io::to_parquet(&part).unwrap();
        std::fs::write(dir.join(format!("part-{k}.parquet")), bytes).unwrap();
    }
}

/// The JSON fit of `formula` to `data` by `engine`.
fn fit(data: &Path, formula: &str, reml: bool, engine: &str) -> Value {
    let data = data.to_str().unwrap();
    let mut args = vec![
        "fit",
        "--data",
        data,
        "--formula",
        formula,
        "--format",
        "json",
        "--engine",
        engine,
    ];
    if !reml {
        args.push("--ml");
    }
    let out = mixspec(&args);
    assert!(
        out.status.success(),
        "{engine}: {formula}: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// Issue 16's tolerances: the objective to 1e-9 relative; estimates to 1e-7 of
/// max(|β|, SE); SEs and Satterthwaite's df to 1e-7 relative; p to 1e-7 relative on the
/// log scale (a tiny p moves much more than its df). The largest differences found are
/// printed (`--nocapture`), so a run at another size reports what it reached.
fn assert_agree(ours: &Value, memory: &Value, what: &str) {
    const TOLERANCE: f64 = 1e-7;
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs();
    let (o, m) = (number(&ours["objective"]), number(&memory["objective"]));
    assert!(relative(o, m) <= 1e-9, "{what}: objective {o} vs {m}");
    for key in ["n_obs", "n_dropped", "groups"] {
        assert_eq!(ours[key], memory[key], "{what}: {key}");
    }
    let (fo, fm) = (
        ours["fixed_effects"].as_array().unwrap(),
        memory["fixed_effects"].as_array().unwrap(),
    );
    assert_eq!(fo.len(), fm.len(), "{what}: fixed effects");
    // The largest differences: estimate, SE, df, log p.
    let mut worst = [0.0f64; 4];
    for (a, b) in fo.iter().zip(fm) {
        let term = b["term"].as_str().unwrap();
        assert_eq!(a["term"], b["term"], "{what}");
        let (se_a, se_b) = (number(&a["std_error"]), number(&b["std_error"]));
        let (est_a, est_b) = (number(&a["estimate"]), number(&b["estimate"]));
        let (df_a, df_b) = (number(&a["df"]), number(&b["df"]));
        let (p_a, p_b) = (number(&a["p"]), number(&b["p"]));
        let differences = [
            (est_a - est_b).abs() / est_b.abs().max(se_b),
            relative(se_a, se_b),
            relative(df_a, df_b),
            if p_a.max(p_b) < 1e-300 {
                0.0
            } else {
                (p_a.ln() - p_b.ln()).abs() / p_b.ln().abs().max(1.0)
            },
        ];
        for (k, (d, name)) in differences
            .iter()
            .zip(["estimate", "SE", "df", "p"])
            .enumerate()
        {
            assert!(
                *d <= TOLERANCE,
                "{what}: {name} of {term} differs by {d:.2e}: {a} vs {b}"
            );
            worst[k] = worst[k].max(*d);
        }
    }
    eprintln!(
        "{what}: objective {:.1e}, estimates {:.1e}, SEs {:.1e}, df {:.1e}, log p {:.1e} (relative)",
        relative(o, m),
        worst[0],
        worst[1],
        worst[2],
        worst[3]
    );
}

#[test]
fn parquet_parts_give_the_in_memory_fit() {
    let patients = std::env::var("MIXSPEC_SCALE_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let dir = scratch("parts");
    cohort_parts(&dir, patients);
    for (formula, reml) in [
        ("gaf ~ months * arm + age + (months | patient)", true),
        (
            // Ages are whole years drawn from a normal law, a few at or below zero in a
            // large cohort: `+ 0.5` keeps log() finite there, and the negative ones NaN,
            // so incomplete rows both engines drop (R would refuse log(0)).
            "gaf ~ months * factor(female) + log(age + 0.5) + I(months^2) + offset(age / 100) + (months | patient)",
            false,
        ),
    ] {
        let started = std::time::Instant::now();
        let ours = fit(&dir, formula, reml, "datafusion");
        let took = started.elapsed();
        let memory = fit(&dir, formula, reml, "memory");
        eprintln!("{patients} patients, {formula}: DataFusion {took:.2?}");
        assert_agree(&ours, &memory, formula);
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
