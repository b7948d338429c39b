//! The `mixspec fit` command as a user meets it: the JSON contract, and each kind of bad
//! input giving a clear message and exit code 1, never a panic.

mod common;
use common::{assert_error, mixspec, stderr};

use serde_json::Value;
use std::process::Output;

fn fit(data: &str, formula: &str, extra: &[&str]) -> Output {
    let mut args = vec!["fit", "--data", data, "--formula", formula];
    args.extend_from_slice(extra);
    mixspec(&args)
}

const SLEEP: &str = "tests/data/reference/sleepstudy.csv";

#[test]
fn json_contract() {
    let o = fit(
        SLEEP,
        "Reaction ~ Days + (Days | Subject)",
        &["--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "method",
        "n_obs",
        "n_dropped",
        "groups",
        "loglik",
        "objective",
        "aic",
        "bic",
        "sigma",
        "theta",
        "singular",
        "converged",
        "warnings",
        "fixed_effects",
        "random_effects",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["method"], "REML");
    assert_eq!(v["groups"]["Subject"], 18);
    assert_eq!(v["fixed_effects"][1]["term"], "Days");
    assert!(v["fixed_effects"][1]["std_error"].as_f64().unwrap() > 0.0);
    // Satterthwaite's t-test, as lmerTest: df 17.0, p 3.26e-06.
    let days = &v["fixed_effects"][1];
    assert!((days["df"].as_f64().unwrap() - 17.0).abs() < 0.01);
    assert!((days["p"].as_f64().unwrap() / 3.2638e-6 - 1.0).abs() < 1e-3);
    let re = v["random_effects"].as_array().unwrap();
    assert_eq!(re[2]["var2"], "Days");
    assert_eq!(re.last().unwrap()["group"], "Residual");
    assert_eq!(v["converged"], true);
}

#[test]
fn text_summary_reads_like_lme4() {
    let o = fit(SLEEP, "Reaction ~ Days + (Days | Subject)", &["--ml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "Linear mixed model fit by maximum likelihood",
        "Random effects:",
        "Number of obs: 180, groups:  Subject, 18",
        "Fixed effects:",
        "Correlation of Fixed Effects:",
        "1751.9",
        "t-tests use Satterthwaite's method",
        "Pr(>|t|)",
        "Signif. codes:",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn missing_file() {
    assert_error(
        &fit("tests/data/nope.csv", "y ~ x + (1 | g)", &[]),
        &["nope.csv"],
    );
}

#[test]
fn unknown_column_lists_columns_and_suggests() {
    let o = fit(SLEEP, "Reaction ~ Dayz + (Days | Subject)", &[]);
    assert_error(
        &o,
        &["Dayz", "did you mean `Days`", "Reaction, Days, Subject"],
    );
}

#[test]
fn non_numeric_response_names_line_and_value() {
    let o = fit("tests/data/bad/text_response.csv", "y ~ x + (1 | g)", &[]);
    assert_error(&o, &["response `y` must be numeric", "line 3", "high"]);
}

#[test]
fn formula_syntax_error_points_at_the_span() {
    let o = fit(SLEEP, "Reaction ~ Days + (Days | )", &[]);
    assert_error(&o, &["formula", "Reaction ~ Days + (Days | )"]);
}

#[test]
fn grouping_factor_with_one_level() {
    let o = fit("tests/data/bad/one_group.csv", "y ~ x + (1 | g)", &[]);
    assert_error(&o, &["`g` has only one level"]);
}

#[test]
fn more_random_effects_than_observations() {
    let o = fit("tests/data/bad/few_obs.csv", "y ~ x + (x | g)", &[]);
    assert_error(
        &o,
        &["number of observations (6) <= number of random effects (6)"],
    );
}

#[test]
fn rank_deficient_x_drops_aliased_columns_with_a_message() {
    let o = fit(
        "tests/data/bad/aliased.csv",
        "Reaction ~ Days + Hours + (1 | Subject)",
        &["--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("rank deficient so dropping 1 column / coefficient: Hours"));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fixed_effects"].as_array().unwrap().len(), 2);
}

#[test]
fn rows_with_missing_values_are_dropped_and_counted() {
    let o = fit(
        "tests/data/bad/aliased.csv",
        "Reaction ~ Days + Week + (1 | Subject)",
        &["--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n_obs"], 179);
    assert_eq!(v["n_dropped"], 1);
}

#[test]
fn residual_structure_in_the_json_contract() {
    let o = fit(
        "tests/data/reference/residual/ovary.csv",
        "follicles ~ sin2pt + cos2pt + (1 | Mare)",
        &["--residual", "ar1(Mare)", "--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let phi = v["correlation_parameter"].as_f64().unwrap();
    assert!((phi - 0.6074).abs() < 1e-3, "phi {phi}");
    assert_eq!(v["residual_structure"], "AR(1) within Mare");
}

#[test]
fn unreadable_residual_structure() {
    let o = fit(
        SLEEP,
        "Reaction ~ Days + (1 | Subject)",
        &["--residual", "ar2(Subject)"],
    );
    assert_error(&o, &["ar2(Subject)", "car1(time | group)"]);
}

#[test]
fn residual_groups_must_nest_in_random_groups() {
    let o = fit(
        "tests/data/reference/penicillin.csv",
        "diameter ~ 1 + (1 | plate)",
        &["--residual", "ar1(sample)"],
    );
    assert_error(&o, &["residual structure", "must be nested"]);
}

#[test]
fn deep_nesting_is_named_as_lme4_names_it() {
    let o = fit(
        "tests/data/reference/pastes.csv",
        "strength ~ 1 + (1 | batch/cask/sample)",
        &["--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let groups: Vec<&String> = v["groups"].as_object().unwrap().keys().collect();
    // lme4 1.1-31: ngrps(lmer(strength ~ 1 + (1 | batch/cask/sample), Pastes))
    assert_eq!(groups, ["sample:(cask:batch)", "cask:batch", "batch"]);
    // REMLcrit of the same lme4 fit: 246.9907
    assert!((v["objective"].as_f64().unwrap() - 246.9907).abs() < 1e-4);
}

/// Profile and bootstrap intervals are on lme4's scale, which a residual structure changes:
/// asked for with one, they are refused with a typed error, and nothing is printed.
#[test]
fn intervals_with_a_residual_structure_are_refused() {
    for (option, what) in [
        (&["--profile"][..], "profile-likelihood intervals"),
        (&["--bootstrap", "20"][..], "the parametric bootstrap"),
    ] {
        let mut extra = vec!["--residual", "ar1(Subject)"];
        extra.extend_from_slice(option);
        let o = fit(SLEEP, "Reaction ~ Days + (1 | Subject)", &extra);
        assert_error(
            &o,
            &[
                &format!("{what}: not available for"),
                "(AR(1) within Subject)",
                "mixspec::model::unsupported",
            ],
        );
        assert!(o.stdout.is_empty(), "printed a result: {:?}", o.stdout);
    }
}

/// Issue 18: a gls (a residual structure without random effects) tests on N − p and says so;
/// no NaN df, no warnings.
#[test]
fn gls_tests_on_residual_df_and_says_so() {
    let args = ["--residual", "car1(age | Subject)", "--format", "json"];
    let o = fit(
        "tests/data/reference/orthodont.csv",
        "distance ~ age * Sex",
        &args,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["df_rule"], "residual");
    assert_eq!(v["warnings"], serde_json::json!([]));
    for row in v["fixed_effects"].as_array().unwrap() {
        assert_eq!(row["df"], 104.0, "{row}");
        assert!(row["p"].as_f64().is_some_and(|p| (0.0..=1.0).contains(&p)));
    }
    let o = fit(
        SLEEP,
        "Reaction ~ Days + (Days | Subject)",
        &["--format", "json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["df_rule"], "satterthwaite");
}

/// Every command's `--help` ends with examples of its use (clap's `after_help`), each a
/// `mixspec` command line of that command.
#[test]
fn every_command_shows_examples_under_help() {
    for command in [
        "fit",
        "plugins",
        "score",
        "check",
        "run",
        "simulate",
        "describe-data",
        "recovery",
    ] {
        let o = mixspec(&[command, "--help"]);
        assert!(o.status.success(), "{command}: {}", stderr(&o));
        let help = String::from_utf8_lossy(&o.stdout);
        let examples = help
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("{command} --help has no examples:\n{help}"))
            .1;
        assert!(
            examples
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| l.trim_start().starts_with(&format!("mixspec {command}"))),
            "{command}: {examples}"
        );
    }
}

/// `--kr`'s adjusted standard errors against pbkrtest's (lmerTest's `summary(ddf =
/// "Kenward-Roger")`, tests/data/reference/kr_std_errors.R): within 1e-3 relative, the
/// tolerance of every reference SE (tests/reference.rs: Orthodont's optimum is flat, and ours
/// is as good as lme4's or better), and the adjustment itself (SE_KR / SE − 1, zero for
/// balanced designs) within 1% on the unbalanced data.
#[test]
fn kenward_roger_standard_errors_match_pbkrtest() {
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/data/reference/kr_std_errors.json").unwrap(),
    )
    .unwrap();
    for case in cases.as_array().unwrap() {
        let data = format!("tests/data/reference/{}", case["data"].as_str().unwrap());
        let o = fit(
            &data,
            case["formula"].as_str().unwrap(),
            &["--kr", "--format", "json"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let ours: Value = serde_json::from_slice(&o.stdout).unwrap();
        let rows = ours["fixed_effects"].as_array().unwrap();
        for (j, row) in rows.iter().enumerate() {
            let name = case["name"].as_str().unwrap();
            assert_eq!(row["term"], case["terms"][j], "{name}");
            let (kr, se) = (
                row["std_error_kr"].as_f64().unwrap(),
                row["std_error"].as_f64().unwrap(),
            );
            let (r_kr, r_se) = (
                case["std_error_kr"][j].as_f64().unwrap(),
                case["std_error"][j].as_f64().unwrap(),
            );
            assert!((kr / r_kr - 1.0).abs() < 1e-3, "{name} {j}: {kr} vs {r_kr}");
            let (adjustment, r_adjustment) = (kr / se - 1.0, r_kr / r_se - 1.0);
            if r_adjustment.abs() > 1e-8 {
                assert!(
                    (adjustment / r_adjustment - 1.0).abs() < 0.01,
                    "{name} {j}: adjustment {adjustment:e} vs {r_adjustment:e}"
                );
            } else {
                assert!(adjustment.abs() < 1e-6, "{name} {j}: {adjustment:e}");
            }
        }
    }
}

/// A build without the `datafusion` feature says how to get `--engine datafusion`.
#[cfg(not(feature = "datafusion"))]
#[test]
fn datafusion_engine_needs_its_feature() {
    let o = fit(
        SLEEP,
        "Reaction ~ Days + (Days | Subject)",
        &["--engine", "datafusion"],
    );
    common::assert_refused(
        &o,
        &[
            "built without the DataFusion engine",
            "--features datafusion",
        ],
    );
    assert!(o.stdout.is_empty());
}

/// A build without the `ballista` feature says how to get `--engine ballista://…` and
/// `mixspec cluster`.
#[cfg(not(feature = "ballista"))]
#[test]
fn ballista_engine_and_cluster_need_their_feature() {
    for o in [
        fit(
            SLEEP,
            "Reaction ~ Days + (Days | Subject)",
            &["--engine", "ballista://127.0.0.1:50050"],
        ),
        mixspec(&["cluster", "scheduler", "--bind", "127.0.0.1:50050"]),
        mixspec(&[
            "cluster",
            "executor",
            "--scheduler",
            "127.0.0.1:50050",
            "--bind",
            "127.0.0.1:50051",
        ]),
    ] {
        common::assert_refused(
            &o,
            &["built without Apache Ballista", "--features ballista"],
        );
        assert!(o.stdout.is_empty());
    }
}
