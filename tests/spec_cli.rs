//! `mixspec check` and `mixspec run` as a user meets them: the example specs pass and write
//! their reports; a broken spec fails with its problems located in the file, exit code 1,
//! and nothing written.

mod common;
use common::{assert_error, assert_refused, mixspec, scratch, stderr};

use std::path::{Path, PathBuf};
use std::process::Output;

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

/// Writes `text` as `dir/file` and runs it with `--out out`.
fn run_spec(dir: &Path, file: &str, text: &str, out: &Path) -> Output {
    let spec = dir.join(file);
    std::fs::write(&spec, text).unwrap();
    mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
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
        for md in markdown
            .into_iter()
            .filter(|md| files.contains(&md.replace(".md", "-fixed.csv")))
        {
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
    let out = dir.join("results");
    let o = run_spec(
        &dir,
        "typo.spec",
        &format!(
            "data \"{}\" {{ subject Subject; time Days }}\nmodel ok: Reaction ~ Days + (Days | Subject)\nmodel m: Reaction ~ Dayz + (1 | Subject)\n",
            sleepstudy()
        ),
        &out,
    );
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
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = run_spec(
        &dir,
        "one_group.spec",
        &format!(
            "data \"{}\" {{ subject Subject }}\nmodel m: Reaction ~ Days + (1 | Subject) where Subject == 308\n",
            sleepstudy()
        ),
        &out,
    );
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
    let out = dir.join("out");
    let formula = "Reaction ~ Days + (Days | Subject)";
    let o = run_spec(
        &dir,
        "inference.spec",
        &format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model m: {formula} [df kenward-roger, intervals profile, bootstrap 20, seed 3]\n",
            sleepstudy()
        ),
        &out,
    );
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
    let out = dir.join("out");
    let o = run_spec(
        &dir,
        "bad.spec",
        &format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model a: Reaction ~ Days + (Days | Subject) [df kenward-rogers]\n\
             model b: Reaction ~ Days + (Days | Subject) [df kenward-roger, method ML]\n\
             model c: Reaction ~ Days + (1 | Subject) [residual \"ar1(Subject)\", intervals profile]\n\
             model d: Reaction ~ Days + (1 | Subject) [seed 4]\n\
             model e: Reaction ~ Days + (1 | Subject) [bootstrap many, interval profile]\n",
            sleepstudy()
        ),
        &out,
    );
    assert_error(
        &o,
        &[
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
        ],
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CSV file as rows of named cells.
fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn number(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

/// `describe` against R: t.test(var.equal = TRUE), Welch's t.test and
/// chisq.test(correct = FALSE) on one value per patient (tests/data/describe/make_reference.R),
/// with a baseline-only variable missing for two patients and rows out of time order.
#[test]
fn describe_matches_r() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/describe");
    let dir = scratch("describe");
    let out = dir.join("out");
    let o = run_spec(
        &dir,
        "t2.spec",
        &format!(
            "data \"{}\" {{ subject patient; time months }}\ndescribe \"t2\" by group {{ age \"Age\"; female \"Female\"; score \"Score\" }}\n",
            root.join("groups.csv").display()
        ),
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = read_csv(&out.join("t2.csv"));
    let reference = read_csv(&root.join("reference.csv"));
    assert_eq!(ours.len(), reference.len());
    for (a, r) in ours.iter().zip(&reference) {
        let v = &r["variable"];
        assert_eq!(&a["variable"], v);
        assert_eq!(a["test"], r["test"], "{v}");
        for key in ["statistic", "df", "p"] {
            close(number(a, key), number(r, key), &format!("{v} {key}"));
        }
        if r["test"] == "student_t" {
            for key in ["welch_t", "welch_df", "welch_p"] {
                close(number(a, key), number(r, key), &format!("{v} {key}"));
            }
        }
    }
    // Two patients lack the baseline score: the n of its row says so.
    let score = &ours[2];
    assert_eq!(number(score, "n1") + number(score, "n2") + 2.0, 41.0);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("## t2") && stdout.contains("| Female |"),
        "{stdout}"
    );
    // The Markdown as pasted into a paper: numbers as checked above, layout fixed.
    insta::assert_snapshot!(std::fs::read_to_string(out.join("t2.md")).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The main analysis: Table IV's rows exist, are printed, and every number in them is the
/// underlying fit's (estimates and p from the fixed effects, explained variance from the
/// variance components, AIC).
#[test]
fn mbt_alliance_prints_table4_from_its_fits() {
    let out = scratch("mbt-alliance");
    let o = mixspec(&[
        "run",
        "specs/mbt_alliance.spec",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let labels = [
        "GOALS",
        "GOALS + poor vs good outcome",
        "BONDS",
        "BONDS + poor vs good outcome",
        "TASKS",
        "TASKS + poor vs good outcome",
        "TASKS + age",
        "TASKS + mood disorder",
        "TASKS + paranoid PD",
        "TASKS, poor outcome × paranoid PD = 1",
        "TASKS, outcome × paranoid PD cells: cell = poor, paranoid PD",
    ];
    assert!(stdout.contains("## table4"), "{stdout}");
    for label in labels {
        assert!(
            stdout.contains(&format!("| {label} |")) || stdout.contains(&format!("| {label} † |")),
            "{label}:\n{stdout}"
        );
    }
    // How each row's reference was fitted: as fitted, or refitted to the row's observations.
    assert!(
        stdout.contains("| GOALS + poor vs good outcome † |"),
        "{stdout}"
    );
    assert!(stdout.contains("| TASKS + mood disorder |"), "{stdout}");
    assert!(
        stdout.contains("GOALS + poor vs good outcome: `goals_linear` on 509 (148)"),
        "{stdout}"
    );
    assert!(stdout.contains("## table2"), "{stdout}");

    let table = read_csv(&out.join("table4.csv"));
    let fixed = read_csv(&out.join("alliance-models-fixed.csv"));
    let random = read_csv(&out.join("alliance-models-random.csv"));
    let models = read_csv(&out.join("alliance-models-models.csv"));
    let variance = |model: &str, effect: &str| {
        let row = random
            .iter()
            .find(|r| r["model"] == model && r["var1"] == effect && r["var2"] == "NA")
            .unwrap_or_else(|| panic!("{model} {effect}"));
        number(row, "vcov")
    };
    let mut predictor_rows = 0;
    let mut refitted = Vec::new();
    for row in &table {
        let model = &row["model"];
        let f = fixed
            .iter()
            .find(|f| &f["model"] == model && f["term"] == row["coefficient"])
            .unwrap_or_else(|| panic!("{model} {}", row["coefficient"]));
        for key in ["estimate", "std_error", "df", "p"] {
            close(number(row, key), number(f, key), &format!("{model} {key}"));
        }
        let m = models.iter().find(|m| &m["model"] == model).unwrap();
        close(
            number(row, "aic"),
            number(m, "aic"),
            &format!("{model} aic"),
        );
        let reference = &row["reference"];
        if reference.is_empty() {
            assert!(["(Intercept)", "months"].contains(&row["coefficient"].as_str()));
            continue;
        }
        predictor_rows += 1;
        close(
            number(row, "delta_aic"),
            number(row, "aic") - number(row, "reference_aic"),
            &format!("{model} delta_aic"),
        );
        let own = models.iter().find(|m| &m["model"] == reference).unwrap();
        if row["reference_refitted"] == "TRUE" {
            // Checked against the reference restricted to the same rows by hand, below.
            assert_eq!(row["reference_n_obs"], row["n_obs"], "{model}");
            assert!(number(row, "n_obs") < number(own, "n_obs"), "{model}");
            refitted.push(row);
            continue;
        }
        assert_eq!(row["reference_refitted"], "FALSE");
        assert_eq!(row["reference_n_obs"], row["n_obs"], "{model}");
        assert_eq!(own["n_obs"], row["n_obs"], "{model}");
        close(
            number(row, "reference_aic"),
            number(own, "aic"),
            &format!("{model} reference_aic"),
        );
        // The predictor is what the model adds: absent from the reference's coefficients.
        assert!(!fixed
            .iter()
            .any(|f| &f["model"] == reference && f["term"] == row["coefficient"]));
        for (effect, key) in [
            ("(Intercept)", "explained_intercept"),
            ("months", "explained_slope"),
        ] {
            let (r, v) = (variance(reference, effect), variance(model, effect));
            close(
                number(row, key),
                100.0 * (r - v) / r,
                &format!("{model} {key}"),
            );
        }
    }
    assert!(predictor_rows >= 16, "{predictor_rows}");
    // The rows with outcome have fewer observations (patients without a GAF at discharge have
    // no outcome group): their references were refitted to those rows, which is the same as
    // fitting the references with `where not missing(outcome)`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let by_hand = scratch("mbt-alliance-by-hand");
    let text = std::fs::read_to_string(root.join("specs/mbt_alliance.spec"))
        .unwrap()
        .replace(
            "\"../data/mbt_cohort.csv\"",
            &format!("\"{}\"", root.join("data/mbt_cohort.csv").display()),
        );
    let spec = by_hand.join("by_hand.spec");
    std::fs::write(
        &spec,
        text + "model goals_on_outcome: GOALS ~ months + (months | patient) [method ML] where not missing(outcome)\n\
                model tasks_on_outcome: TASKS ~ months + (months | patient) [method ML] where not missing(outcome)\n\
                report \"by-hand\" { goals_on_outcome, tasks_on_outcome }\n",
    )
    .unwrap();
    let o = mixspec(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        by_hand.join("out").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let hand_models = read_csv(&by_hand.join("out/by-hand-models.csv"));
    let hand_random = read_csv(&by_hand.join("out/by-hand-random.csv"));
    let mut checked = 0;
    for (model, by_hand_model) in [
        ("goals_outcome", "goals_on_outcome"),
        ("tasks_outcome", "tasks_on_outcome"),
    ] {
        let rows: Vec<_> = refitted.iter().filter(|r| r["model"] == model).collect();
        assert!(!rows.is_empty(), "{model} was not refitted");
        let m = hand_models
            .iter()
            .find(|m| m["model"] == by_hand_model)
            .unwrap();
        let hand_variance = |effect: &str| {
            let row = hand_random
                .iter()
                .find(|r| r["model"] == by_hand_model && r["var1"] == effect && r["var2"] == "NA")
                .unwrap();
            number(row, "vcov")
        };
        for row in rows {
            assert_eq!(row["n_obs"], m["n_obs"]);
            close(
                number(row, "reference_aic"),
                number(m, "aic"),
                &format!("{model} reference_aic"),
            );
            for (effect, key) in [
                ("(Intercept)", "explained_intercept"),
                ("months", "explained_slope"),
            ] {
                let (r, v) = (hand_variance(effect), variance(model, effect));
                close(
                    number(row, key),
                    100.0 * (r - v) / r,
                    &format!("{model} {key}"),
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked}");
    let _ = std::fs::remove_dir_all(&by_hand);
    // The main effect of outcome on TASKS' slope is its interaction with time.
    assert!(table.iter().any(|r| r["model"] == "tasks_outcome"
        && r["coefficient"] == "months:outcomepoor"
        && r["part"] == "slope"));
    for figure in ["figure1.svg", "figure2.svg"] {
        let svg = std::fs::read_to_string(out.join(figure)).unwrap();
        assert!(svg.contains("<polyline"), "{figure}");
    }
    // Figure 2's groups are the four outcome × paranoid PD cells.
    let svg = std::fs::read_to_string(out.join("figure2.svg")).unwrap();
    assert!(svg.contains("poor × paranoid PD") && svg.contains("good × no paranoid PD"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_table_and_a_describe_with_mistakes_fail_with_located_messages() {
    let dir = scratch("table-errors");
    let spec = dir.join("bad.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\nmodel linear: Reaction ~ Days + (Days | Subject) [method ML]\ntable \"t\" {{ linear ref; lineer }}\ndescribe \"d\" by Subject {{ Reaction }}\n",
            sleepstudy()
        ),
    )
    .unwrap();
    let o = mixspec(&["run", spec.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown model `lineer`") && err.contains("did you mean `linear`?"),
        "{err}"
    );
    assert!(err.contains("bad.spec:3:"), "{err}");
    assert!(
        err.contains("has 18 values among the subjects") && err.contains("bad.spec:4:"),
        "{err}"
    );
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sleepstudy with a covariate `x` missing on day 0 (18 of 180 rows): a model using it is
/// fitted to 162 rows, one without it to 180.
fn sleepstudy_with_gaps(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sleepstudy()).unwrap();
    let mut csv = String::new();
    for (i, line) in text.lines().enumerate() {
        let x = match i {
            0 => "\"x\"".to_string(),
            _ if line.split(',').nth(1) == Some("0") => "NA".to_string(),
            _ => format!("{}", (i * 7919) % 13),
        };
        csv += &format!("{line},{x}\n");
    }
    let data = dir.join("gaps.csv");
    std::fs::write(&data, csv).unwrap();
    data
}

/// Samples that differ are found by `check`, before anything is fitted: a `compare` of
/// models with different rows, and a model with rows its reference cannot be refitted to.
#[test]
fn check_finds_models_on_different_samples() {
    let dir = scratch("samples-check");
    let data = sleepstudy_with_gaps(&dir);
    let spec = dir.join("samples.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model plain: Reaction ~ Days + (Days | Subject) [method ML]\n\
             model with_x: Reaction ~ Days + x + (Days | Subject) [method ML]\n\
             model late: Reaction ~ Days + (Days | Subject) [method ML] where Days > 2\n\
             compare plain, with_x\n\
             explained with_x vs late\n",
            data.display()
        ),
    )
    .unwrap();
    let o = mixspec(&["check", spec.to_str().unwrap()]);
    assert_refused(
        &o,
        &[
            "`with_x` is fitted to 162 observations and `plain` to 180",
            "samples.spec:5:",
            "`with_x` is fitted to 162 observations, 36 of which reference `late` cannot be fitted to",
            "samples.spec:6:",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `explained` and `table` set a model beside its reference refitted to the model's rows:
/// the same numbers as a reference restricted to those rows by hand, and said so.
#[test]
fn explained_and_tables_refit_the_reference_to_the_models_rows() {
    let dir = scratch("samples-refit");
    let data = sleepstudy_with_gaps(&dir);
    let out = dir.join("out");
    let o = run_spec(
        &dir,
        "refit.spec",
        &format!(
            "data \"{}\" {{ subject Subject; time Days }}\n\
             model plain: Reaction ~ Days + (Days | Subject) [method ML]\n\
             model same_rows: Reaction ~ Days + (Days | Subject) [method ML] where not missing(x)\n\
             model with_x: Reaction ~ Days * x + (Days | Subject) [method ML]\n\
             explained with_x vs plain\n\
             explained with_x vs same_rows\n\
             table \"refitted\" {{ plain ref; with_x }}\n\
             table \"by_hand\" {{ same_rows ref; with_x }}\n\
             report \"all\" {{ plain, same_rows, with_x }}\n",
            data.display()
        ),
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("explained with_x vs plain (reference refitted to the model's 162 rows)"),
        "{stdout}"
    );
    let explained = read_csv(&out.join("all-explained.csv"));
    let of = |reference: &str| -> Vec<&std::collections::HashMap<String, String>> {
        explained
            .iter()
            .filter(|r| r["reference"] == reference)
            .collect()
    };
    let (refitted, by_hand) = (of("plain"), of("same_rows"));
    assert_eq!(refitted.len(), by_hand.len());
    for (a, b) in refitted.iter().zip(&by_hand) {
        assert_eq!(
            (&a["reference_refitted"], &a["n_obs"]),
            (&"TRUE".to_string(), &"162".to_string())
        );
        assert_eq!(b["reference_refitted"], "FALSE");
        for key in ["reference_variance", "model_variance", "percent_explained"] {
            close(
                number(a, key),
                number(b, key),
                &format!("{} {key}", a["effect"]),
            );
        }
    }
    let refitted = read_csv(&out.join("refitted.csv"));
    let by_hand = read_csv(&out.join("by_hand.csv"));
    let models = read_csv(&out.join("all-models.csv"));
    let aic = |m: &str| number(models.iter().find(|r| r["model"] == m).unwrap(), "aic");
    let row = |t: &[std::collections::HashMap<String, String>]| {
        t.iter().find(|r| r["model"] == "with_x").unwrap().clone()
    };
    let (a, b) = (row(&refitted), row(&by_hand));
    assert_eq!(
        (
            a["reference_refitted"].as_str(),
            b["reference_refitted"].as_str()
        ),
        ("TRUE", "FALSE")
    );
    for key in [
        "explained_intercept",
        "explained_slope",
        "reference_aic",
        "delta_aic",
    ] {
        close(number(&a, key), number(&b, key), key);
    }
    close(
        number(&a, "reference_aic"),
        aic("same_rows"),
        "reference_aic",
    );
    close(
        number(&a, "delta_aic"),
        aic("with_x") - aic("same_rows"),
        "delta_aic",
    );
    assert!(aic("plain") != aic("same_rows"));
    // The Markdown says which reference was refitted, to what.
    let markdown = std::fs::read_to_string(out.join("refitted.md")).unwrap();
    assert!(markdown.contains("| with_x † |"), "{markdown}");
    assert!(
        markdown.contains("with_x: `plain` on 162 (18)"),
        "{markdown}"
    );
    let markdown = std::fs::read_to_string(out.join("by_hand.md")).unwrap();
    assert!(
        !markdown.contains('†') && markdown.contains("used as fitted"),
        "{markdown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn power_writes_its_csv_svg_and_report_tables() {
    let dir = scratch("power-spec");
    let out = dir.join("out");
    let o = run_spec(
        &dir,
        "trial.spec",
        r#"power trial: y ~ time * arm + (time | id) [test "time:armb", simulations 50, seed 5] {
  subjects 20, 40
  times 0, 1, 2
  groups arm "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "armb" 0, "time:armb" 0.5
  random id sd "(Intercept)" 1, "time" 0.3
  residual sd 1
  dropout 0.2 by end
}
"#,
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("power trial of time:armb: 20 subjects"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("trial_power.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("subjects,power,lower,upper,simulations,failed,mean_estimate")
    );
    assert_eq!(lines.count(), 2);
    let svg = std::fs::read_to_string(out.join("trial_power.svg")).unwrap();
    assert!(svg.contains("80% power") && svg.ends_with("</svg>\n"));
    let md = std::fs::read_to_string(out.join("trial.md")).unwrap();
    assert!(md.contains("## Power") && md.contains("| 40 |"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trial.json")).unwrap()).unwrap();
    assert_eq!(json["power"][0]["rows"][1]["subjects"], 40);
    assert_eq!(json["power"][0]["rows"][1]["simulations"], 50);

    // Bad input: nothing is written, and the problem is named at its words.
    let bad = dir.join("bad");
    let o = run_spec(
        &dir,
        "bad.spec",
        r#"power trial: y ~ time + (time | id) [test "time", simulations 0] {
  subjects 20
  times 0, 1, 2
  fixed "(Intercept)" 0, "time" 0.5
  random id sd "(Intercept)" 1, "time" 0.3
  residual sd 1
}
"#,
        &bad,
    );
    assert_error(
        &o,
        &[
            "bad.spec:1:",
            "number of simulations must be a whole number from 1",
        ],
    );
    assert!(!bad.exists());
}

/// specs/therapist_effects.spec: its likelihood ratios, boundary-mixture p-values and the
/// therapist share of slope variance as lme4 1.1-31 gives them on the same data
/// (tests/data/therapist/lme4_therapist.R, output beside it), and the report says how the
/// p-values were computed.
#[test]
fn therapist_effects_match_lme4_with_boundary_p_values() {
    let out = scratch("therapist-effects");
    let o = mixspec(&[
        "run",
        "specs/therapist_effects.spec",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read_csv(&out.join("therapist-effects-comparisons.csv"));
    // lme4_therapist.txt: logLik, χ² and ½χ²(df − 1) + ½χ²(df) p-values.
    for (model, loglik, chisq, p) in [
        ("no_therapist", -1516.345806, f64::NAN, f64::NAN),
        ("therapist_intercept", -1509.239026, 14.213560, 8.159513e-05),
        ("therapist_slope", -1501.319017, 15.840018, 2.161641e-04),
    ] {
        let row = rows.iter().find(|r| r["model"] == model).unwrap();
        assert!((number(row, "loglik") - loglik).abs() < 1e-5, "{model}");
        if p.is_nan() {
            continue;
        }
        assert!((number(row, "chisq") - chisq).abs() < 1e-5, "{model}");
        assert!(
            (number(row, "p") / p - 1.0).abs() < 1e-5,
            "{model}: {}",
            row["p"]
        );
    }
    let random = read_csv(&out.join("therapist-effects-random.csv"));
    let variance = |group: &str| {
        let row = random
            .iter()
            .find(|r| {
                r["model"] == "therapist_slope"
                    && r["grp"] == group
                    && r["var1"] == "months"
                    && r["var2"] == "NA"
            })
            .unwrap_or_else(|| panic!("{group}"));
        number(row, "vcov")
    };
    let share = variance("therapist") / (variance("therapist") + variance("patient"));
    assert!((share - 0.216127).abs() < 1e-4, "{share}");
    let markdown = std::fs::read_to_string(out.join("therapist-effects.md")).unwrap();
    assert!(
        markdown.contains("50:50 mixture of χ²(Df − 1) and χ²(Df)"),
        "{markdown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("therapist-effects.json")).unwrap())
            .unwrap();
    assert_eq!(json["comparisons"][0]["boundary"], true);
}

/// `[boundary]` is refused where the mixture does not hold: fixed effects that differ, or a
/// step of more than one random effect.
#[test]
fn a_boundary_test_of_models_that_differ_otherwise_is_refused() {
    let dir = scratch("boundary");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/therapist_cohort.csv");
    let spec = format!(
        "data \"{}\" {{ subject patient; time months }}\ninstrument \"wai-s\" when version == \"S\"\ninstrument \"wai-sr\" when version == \"SR\"\nmodel a: TASKS ~ months + (1 | patient)\nmodel b: TASKS ~ months + (months | patient) + (1 | therapist)\nmodel c: TASKS ~ 1 + (months | patient)\ncompare a, b [boundary]\ncompare c, b [boundary]\n",
        data.display()
    );
    let o = run_spec(&dir, "boundary.spec", &spec, &dir.join("out"));
    assert_eq!(o.status.code(), Some(1));
    let message = stderr(&o);
    assert!(message.contains("not one random effect more"), "{message}");
    assert!(
        message.contains("not a test of random effects"),
        "{message}"
    );
}
