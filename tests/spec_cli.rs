//! `mixspec check` and `mixspec run` as a user meets them: the example specs pass and write
//! their reports; a broken spec fails with its problems located in the file, exit code 1,
//! and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mixspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixspec"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mixspec-spec-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn example_specs() -> Vec<PathBuf> {
    let mut specs: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "spec"))
            .collect();
    specs.sort();
    assert!(specs.len() >= 3, "{specs:?}");
    specs
}

fn sleepstudy() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reference/sleepstudy.csv")
        .display()
        .to_string()
}

#[test]
fn every_example_spec_passes_check() {
    for spec in example_specs() {
        let o = mixspec(&["check", spec.to_str().unwrap()]);
        assert!(o.status.success(), "{}:\n{}", spec.display(), stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(": ok ("));
    }
}

#[test]
fn every_example_spec_runs_and_writes_its_reports() {
    for spec in example_specs() {
        let stem = spec.file_stem().unwrap().to_string_lossy().into_owned();
        let out = scratch(&format!("run-{stem}"));
        let o = mixspec(&[
            "run",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}:\n{}", spec.display(), stderr(&o));
        let files: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            files.iter().all(|f| !f.ends_with(".tmp")),
            "temporary files left: {files:?}"
        );
        let markdown: Vec<&String> = files.iter().filter(|f| f.ends_with(".md")).collect();
        assert!(!markdown.is_empty(), "{stem}: {files:?}");
        for md in markdown {
            let text = std::fs::read_to_string(out.join(md)).unwrap();
            assert!(
                text.contains("## Models") && text.contains("| Term |"),
                "{md}"
            );
            let json = out.join(md.replace(".md", ".json"));
            let value: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
            assert!(value["models"].as_array().is_some_and(|m| !m.is_empty()));
            let fixed = std::fs::read_to_string(out.join(md.replace(".md", "-fixed.csv"))).unwrap();
            assert!(fixed.starts_with("model,term,estimate,std_error,df,t,p,df_kr,p_kr\n"));
        }
        for svg in files.iter().filter(|f| f.ends_with(".svg")) {
            let text = std::fs::read_to_string(out.join(svg)).unwrap();
            assert!(
                text.starts_with("<svg") && text.contains("<polyline"),
                "{svg}"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn run_writes_beside_the_spec_by_default() {
    let dir = scratch("default-out");
    let spec = dir.join("sleep.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\nmodel m: Reaction ~ Days + (Days | Subject)\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&["run", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No report statement: one report named after the spec.
    assert!(dir.join("out/sleep/sleep.md").is_file());
    assert!(dir.join("out/sleep/sleep-random.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_syntax_error_is_located_and_nothing_is_written() {
    let dir = scratch("syntax");
    let spec = dir.join("broken.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject }}\nmodel m: Reaction ~ Days + (Days | Subject) [method ML\n",
            sleepstudy()
        ),
    )
    .unwrap();
    for command in ["check", "run"] {
        let o = mixspec(&[command, spec.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("broken.spec:2:"), "{err}");
        assert!(err.contains("expected"), "{err}");
    }
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_variable_is_named_and_nothing_is_written() {
    let dir = scratch("unknown");
    let spec = dir.join("typo.spec");
    let out = dir.join("results");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\nmodel ok: Reaction ~ Days + (Days | Subject)\nmodel m: Reaction ~ Dayz + (1 | Subject)\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown variable `Dayz`"), "{err}");
    assert!(err.contains("did you mean `Days`?"), "{err}");
    assert!(err.contains("typo.spec:3:"), "{err}");
    assert!(!out.exists(), "a failed run wrote {out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_model_that_cannot_be_fitted_fails_the_run_before_anything_is_written() {
    let dir = scratch("unfittable");
    let spec = dir.join("one_group.spec");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject }}\nmodel m: Reaction ~ Days + (1 | Subject) where Subject == 308\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot be fitted"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every number of `a` and `b`, which must have the same shape, equal to 1e-9 relative.
fn assert_same_json(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1e-300),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_same_json(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, y) in y {
                assert_same_json(&x[k], y, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// A model's inference options give, in the report's JSON, CSV and Markdown, what
/// `mixspec fit --kr --profile --bootstrap N --seed S` gives for the same model.
#[test]
fn inference_options_report_what_fit_computes() {
    let dir = scratch("inference");
    let spec = dir.join("inference.spec");
    let out = dir.join("out");
    let formula = "Reaction ~ Days + (Days | Subject)";
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model m: {formula} [df kenward-roger, intervals profile, bootstrap 20, seed 3]\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mixspec(&[
        "fit",
        "--data",
        &sleepstudy(),
        "--formula",
        formula,
        "--kr",
        "--profile",
        "--bootstrap",
        "20",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let fit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("inference.json")).unwrap())
            .unwrap();
    let ours = &report["models"][0]["fit"];
    for key in [
        "fixed_effects",
        "anova",
        "anova_kr",
        "profile_ci",
        "bootstrap_ci",
        "bootstrap",
        "r2_marginal",
        "r2_conditional",
    ] {
        assert!(!fit[key].is_null(), "fit has no {key}");
        assert_same_json(&ours[key], &fit[key], key);
    }
    // The CSV tables carry the same numbers, to the digits they print.
    let fixed = std::fs::read_to_string(out.join("inference-fixed.csv")).unwrap();
    let header: Vec<&str> = fixed.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = fixed.lines().nth(2).unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let df_kr: f64 = row[column("df_kr")].parse().unwrap();
    let expected = fit["fixed_effects"][1]["df_kr"].as_f64().unwrap();
    assert!(
        (df_kr / expected - 1.0).abs() < 1e-6,
        "{df_kr} vs {expected}"
    );
    let anova = std::fs::read_to_string(out.join("inference-anova.csv")).unwrap();
    assert!(
        anova
            .lines()
            .any(|l| l.starts_with("m,Kenward-Roger,Days,1,")),
        "{anova}"
    );
    let intervals = std::fs::read_to_string(out.join("inference-intervals.csv")).unwrap();
    // Profile and bootstrap rows of 3 sds, 1 correlation and 2 fixed effects each.
    assert_eq!(intervals.lines().count(), 1 + 2 * 6, "{intervals}");
    let md = std::fs::read_to_string(out.join("inference.md")).unwrap();
    for needle in [
        "p (KR)",
        "Type III tests",
        "R² (Nakagawa)",
        "Bootstrap (20 refits, seed 3",
        "Profile",
    ] {
        assert!(md.contains(needle), "no {needle:?} in\n{md}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inference options that are unknown or do not fit the model are reported against their
/// words, all at once, and nothing is fitted or written.
#[test]
fn invalid_inference_options_are_located() {
    let dir = scratch("bad-inference");
    let spec = dir.join("bad.spec");
    let out = dir.join("out");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model a: Reaction ~ Days + (Days | Subject) [df kenward-rogers]\n\
             model b: Reaction ~ Days + (Days | Subject) [df kenward-roger, method ML]\n\
             model c: Reaction ~ Days + (1 | Subject) [residual \"ar1(Subject)\", intervals profile]\n\
             model d: Reaction ~ Days + (1 | Subject) [seed 4]\n\
             model e: Reaction ~ Days + (1 | Subject) [bootstrap many, interval profile]\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in [
        "bad.spec:2:",
        "`kenward-rogers` is not a valid df",
        "did you mean `kenward-roger`?",
        "bad.spec:3:",
        "Kenward–Roger's method needs a REML fit",
        "bad.spec:4:",
        "intervals on lme4's scale do not apply with a residual structure",
        "bad.spec:5:",
        "`seed` without `bootstrap`",
        "`many` is not a valid bootstrap",
        "unknown model option `interval`",
        "did you mean `intervals`?",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
