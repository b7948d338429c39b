//! Issue 17's engine items: inputs that once gave a confident wrong answer or exhausted
//! memory, each now an exact answer or a clear refusal. Every test here failed before its
//! fix: an unterminated quote fitted half the file, infinite values dropped a predictor as
//! "rank deficient", shifted or rescaled data moved θ, σ and the likelihood (or reported θ
//! at its start as converged), a huge factor or varident structure ran out of memory or
//! time.

mod common;

use common::{assert_error, mixspec, scratch};
use mixspec_engine::inference::{profile_intervals, Interval, KenwardRoger};
use mixspec_engine::spec::ResidualSpec;
use mixspec_engine::{fit, read_csv, DataFrame, Design, FitOptions, LmmFit, ModelError};
use proptest::prelude::*;
use std::fmt::Write as _;

fn sleepstudy_text() -> String {
    let path = format!(
        "{}/tests/data/reference/sleepstudy.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// sleepstudy as (Reaction, Days, Subject) rows.
fn sleepstudy_rows() -> Vec<(f64, f64, String)> {
    sleepstudy_text()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(|f| f.trim_matches('"')).collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_string(),
            )
        })
        .collect()
}

fn frame(rows: &[(f64, f64, String)]) -> DataFrame {
    let mut csv = String::from("Reaction,Days,Subject\n");
    for (y, x, g) in rows {
        // `{:e}` writes the shortest text that reads back as the same f64.
        writeln!(csv, "{y:e},{x:e},{g}").unwrap();
    }
    read_csv(csv.as_bytes(), "sleep.csv").unwrap()
}

fn design(data: &DataFrame, formula: &str) -> Result<Design, ModelError> {
    Design::build(&mixspec_dsl::parse_formula(formula).unwrap(), data)
}

fn fit_rows(rows: &[(f64, f64, String)], formula: &str, reml: bool) -> Result<LmmFit, ModelError> {
    let options = FitOptions {
        reml,
        ..FitOptions::default()
    };
    fit(design(&frame(rows), formula)?, &options)
}

// ---- item 1: an unterminated quote ------------------------------------------------------

#[test]
fn an_unterminated_quote_is_refused_by_fit_and_check() {
    let dir = scratch("quote");
    let mut csv = String::from("Reaction,Days,Subject\n");
    for i in 0..12 {
        if i == 5 {
            csv.push_str("3.5,3,\"c\n");
        } else {
            writeln!(csv, "{}.5,{},{}", 250 + i, i % 4, ["a", "b", "c"][i % 3]).unwrap();
        }
    }
    let data = dir.join("quote.csv");
    std::fs::write(&data, csv).unwrap();
    let out = mixspec(&[
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--formula",
        "Reaction ~ Days + (1 | Subject)",
    ]);
    assert_error(&out, &["line 7", "never closed"]);
    let spec = dir.join("quote.spec");
    std::fs::write(
        &spec,
        "data \"quote.csv\" { subject Subject; time Days }\nmodel m: Reaction ~ Days + (1 | Subject)\n",
    )
    .unwrap();
    assert_error(
        &mixspec(&["check", spec.to_str().unwrap()]),
        &["line 7", "never closed"],
    );
}

// ---- item 2: infinite values ------------------------------------------------------------

#[test]
fn infinite_values_are_refused_naming_variable_and_line() {
    let text = sleepstudy_text();
    let data = read_csv(text.as_bytes(), "sleep.csv").unwrap();
    for (formula, needles) in [
        (
            "Reaction ~ log(Days) + (1 | Subject)",
            ["`log(Days)`", "line 2"],
        ),
        (
            "Reaction ~ I(1/(Days - 3)) + (1 | Subject)",
            ["(Days - 3)", "line 5"],
        ),
        (
            "Reaction ~ Days + (log(Days) | Subject)",
            ["`log(Days)`", "line 2"],
        ),
    ] {
        let err = design(&data, formula).unwrap_err();
        assert!(
            matches!(err, ModelError::NonFinite { .. }),
            "{formula}: {err}"
        );
        for n in needles {
            assert!(err.to_string().contains(n), "{formula}: {err}");
        }
    }
    // An `Inf` cell in the response or a predictor.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let subject = lines[7].rsplit(',').next().unwrap().to_string();
    lines[7] = format!("Inf,-Inf,{subject}");
    let data = read_csv(lines.join("\n").as_bytes(), "inf.csv").unwrap();
    let err = design(&data, "Reaction ~ Days + (1 | Subject)").unwrap_err();
    assert!(
        err.to_string()
            .contains("`Reaction` is inf in inf.csv line 8"),
        "{err}"
    );
    let err = design(&data, "Days ~ Reaction + (1 | Subject)").unwrap_err();
    assert!(err.to_string().contains("`Days` is -inf"), "{err}");
    // A row already dropped for a missing value is not refused (as R's na.omit).
    lines[7] = format!("NA,-Inf,{subject}");
    let data = read_csv(lines.join("\n").as_bytes(), "inf.csv").unwrap();
    let d = design(&data, "Reaction ~ Days + (1 | Subject)").unwrap();
    assert_eq!(d.n_dropped, 1);
}

/// A numeric column with a few text cells (`.` for missing, as SAS and SPSS write it, or a
/// decimal comma) was read as a factor and fitted with a coefficient per distinct value.
#[test]
fn a_numeric_column_with_a_text_cell_is_refused_naming_the_line() {
    let text = sleepstudy_text();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let subject = lines[7].rsplit(',').next().unwrap().to_string();
    for (cell, formula, needles) in [
        (
            format!("250.1,.,{subject}"),
            "Reaction ~ Days + (1 | Subject)",
            ["`Days` holds numbers", "line 8 has `.`", "factor(Days)"],
        ),
        (
            format!("250.1,\"3,5\",{subject}"),
            "Reaction ~ 1 + (Days | Subject)",
            ["`Days` holds numbers", "line 8 has `3,5`", "decimal comma"],
        ),
    ] {
        let mut changed = lines.clone();
        changed[7] = cell;
        let data = read_csv(changed.join("\n").as_bytes(), "text.csv").unwrap();
        let err = design(&data, formula).unwrap_err();
        assert!(
            matches!(err, ModelError::NumbersWithText { .. }),
            "{formula}: {err}"
        );
        let message = format!("{err} {}", miette::Diagnostic::help(&err).unwrap());
        for n in needles {
            assert!(message.contains(n), "{formula}: {message}");
        }
    }
    // Asked for as a factor, or text in most rows (a factor's labels), it is a factor.
    lines[7] = format!("250.1,.,{subject}");
    let data = read_csv(lines.join("\n").as_bytes(), "text.csv").unwrap();
    let d = design(&data, "Reaction ~ factor(Days) + (1 | Subject)").unwrap();
    assert_eq!(d.p(), 11, "{:?}", d.x_names);
    let d = design(&data, "Reaction ~ 1 + (1 | Days)").unwrap();
    assert_eq!(d.random[0].levels.len(), 11);
}

#[test]
fn an_infinite_derived_variable_is_refused_by_check() {
    let dir = scratch("derived");
    std::fs::write(dir.join("sleep.csv"), sleepstudy_text()).unwrap();
    let spec = dir.join("inf.spec");
    std::fs::write(
        &spec,
        "data \"sleep.csv\" { subject Subject; time Days }\n\
         derive inv = 1 / (Days - 3)\n\
         model m: Reaction ~ inv + (1 | Subject)\n",
    )
    .unwrap();
    assert_error(
        &mixspec(&["check", spec.to_str().unwrap()]),
        &["`inv` is inf", "sleep.csv"],
    );
}

/// Item 2's last case: a predictor plugin that returns an infinite value for a row.
#[test]
fn an_infinite_value_from_a_predictor_is_refused_by_check() {
    let dir = scratch("derived-plugin");
    std::fs::write(dir.join("sleep.csv"), sleepstudy_text()).unwrap();
    std::fs::write(
        dir.join("blowup.rhai"),
        "fn derive(x) { x.map(|v| if v == 3.0 { 1e308 * 10.0 } else { v }) }\n\
         #{ kind: \"predictor\", id: \"blowup\", version: \"1\", inputs: [\"x\"], per: \"row\" }\n",
    )
    .unwrap();
    let spec = dir.join("inf.spec");
    std::fs::write(
        &spec,
        "data \"sleep.csv\" { subject Subject; time Days }\n\
         derive big = predictor \"blowup.rhai\"(Days)\n\
         model m: Reaction ~ big + (1 | Subject)\n",
    )
    .unwrap();
    for command in ["check", "run"] {
        assert_error(
            &mixspec(&[command, spec.to_str().unwrap()]),
            &["`big` is inf", "sleep.csv"],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- items 11 and 12: sizes refused up front --------------------------------------------

#[test]
fn a_factor_with_very_many_levels_is_refused_before_allocating() {
    // 100,000 rows × 4,000 columns of X would be 3 GiB.
    let mut csv = String::from("y,id,g\n");
    for i in 0..100_000 {
        writeln!(csv, "{},id{},g{}", i % 7, i % 4000, i % 50).unwrap();
    }
    let data = read_csv(csv.as_bytes(), "big.csv").unwrap();
    let err = design(&data, "y ~ id + (1 | g)").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ModelError::TooLarge { .. }), "{text}");
    assert!(
        text.contains("4000 columns for 100000 rows") && text.contains("GiB"),
        "{text}"
    );
}

#[test]
fn a_second_grouping_factor_with_very_many_levels_is_refused() {
    let mut csv = String::from("y,a,b\n");
    for i in 0..60_000 {
        writeln!(csv, "{},a{},b{}", i % 11, i % 30_000, i % 20_000).unwrap();
    }
    let data = read_csv(csv.as_bytes(), "big.csv").unwrap();
    let err = design(&data, "y ~ 1 + (1 | a) + (1 | b)").unwrap_err();
    assert!(
        matches!(err, ModelError::TooLarge { .. }) && err.to_string().contains("20002 × 20002"),
        "{err}"
    );
}

#[test]
fn varident_with_too_many_levels_is_refused() {
    let text = sleepstudy_text();
    let mut csv = String::new();
    for (i, line) in text.lines().enumerate() {
        let w = if i == 0 {
            "w".to_string()
        } else {
            format!("{}", i % 90)
        };
        writeln!(csv, "{line},{w}").unwrap();
    }
    let data = read_csv(csv.as_bytes(), "w.csv").unwrap();
    let mut spec = mixspec_dsl::parse_formula("Reaction ~ Days + (1 | Subject)").unwrap();
    spec.residual = Some(mixspec_engine::spec::ResidualSpec::VarIdent { factor: "w".into() });
    let err = Design::build(&spec, &data).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::TooManyVarianceLevels { parameters: 89, .. }
        ),
        "{err}"
    );
}

// ---- item 3: location and scale ---------------------------------------------------------

/// Relative difference, with `floor` as the smallest scale that counts.
fn rel(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

/// Checks that `moved` is `base` with the response `a + b·y` and the predictor `c·Days`:
/// β̂ and their SEs transformed, σ times |b|, θ of the slope divided by c, the objective
/// shifted by the Jacobian of the transform, the slope's t and df unchanged.
fn assert_transformed(base: &LmmFit, moved: &LmmFit, a: f64, b: f64, c: f64, tol: f64) {
    assert!(moved.convergence.converged, "{:?}", moved.warnings);
    let n = base.n_obs as f64;
    let p = base.beta.len();
    let se = base.std_errors();
    // β: intercept a + b·β₀, slope b·β₁/c.
    let expect = [a + b * base.beta[0], b * base.beta[1] / c];
    for j in 0..p {
        let scale = (b * se[j] / if j == 1 { c } else { 1.0 }).abs();
        assert!(
            (moved.beta[j] - expect[j]).abs() <= tol * scale.max(expect[j].abs() * 1e-12),
            "β{j}: {} vs {} (a {a}, b {b}, c {c})",
            moved.beta[j],
            expect[j]
        );
        let moved_se = moved.std_errors()[j];
        assert!(
            rel(moved_se, scale, 0.0) <= tol,
            "SE{j}: {moved_se} vs {scale}"
        );
    }
    assert!(rel(moved.sigma, b.abs() * base.sigma, 0.0) <= tol);
    // θ of (Days | Subject): (intercept SD, covariance, slope SD) relative to σ.
    // A negative c flips the covariance's sign; the slope's SD stays positive.
    let theta_expect = [base.theta[0], base.theta[1] / c, base.theta[2] / c.abs()];
    for (k, (t, e)) in moved.theta.iter().zip(theta_expect).enumerate() {
        // Each element relative to its term's scale (the slope's SD).
        let floor = if k == 0 {
            1e-3
        } else {
            base.theta[2] / c.abs()
        };
        assert!(
            rel(*t, e, floor) <= tol,
            "θ{k}: {t} vs {e} (a {a}, b {b}, c {c})"
        );
    }
    // −2 log L gains 2n·log|b| (ML); the REML criterion 2(n − p)·log|b|, and 2·log|c| from
    // log|X'V⁻¹X|.
    let shift = if base.reml {
        2.0 * (n - p as f64) * b.abs().ln() + 2.0 * c.abs().ln()
    } else {
        2.0 * n * b.abs().ln()
    };
    assert!(
        (moved.objective - (base.objective + shift)).abs() <= tol * base.objective.abs(),
        "objective {} vs {} (a {a}, b {b}, c {c})",
        moved.objective,
        base.objective + shift
    );
    let base_t = base.t_tests.as_ref().unwrap();
    let moved_t = moved.t_tests.as_ref().unwrap();
    let t = base_t[1].t * c.signum() * b.signum();
    assert!(
        rel(moved_t[1].t, t, 0.0) <= tol,
        "t {} vs {t}",
        moved_t[1].t
    );
    let df = base_t[1].df;
    assert!(
        rel(moved_t[1].df, df, 0.0) <= tol,
        "df {} vs {df}",
        moved_t[1].df
    );
}

/// The rows a fit of `transformed(rows, a, b, c)` actually sees, mapped back: the base to
/// compare with, so that only the engine's invariance is tested, not the digits of `y` that
/// a shift by `a` leaves in a double.
fn recovered(rows: &[(f64, f64, String)], a: f64, b: f64, c: f64) -> Vec<(f64, f64, String)> {
    transformed(rows, a, b, c)
        .into_iter()
        .map(|(y, x, g)| ((y - a) / b, x / c, g))
        .collect()
}

fn transformed(rows: &[(f64, f64, String)], a: f64, b: f64, c: f64) -> Vec<(f64, f64, String)> {
    rows.iter()
        .map(|(y, x, g)| (a + b * y, c * x, g.clone()))
        .collect()
}

const SLOPES: &str = "Reaction ~ Days + (Days | Subject)";

#[test]
fn the_issues_shifted_and_scaled_cases_transform_exactly() {
    let rows = sleepstudy_rows();
    for reml in [true, false] {
        for (a, b, c) in [
            (1e7, 1.0, 1.0),
            (1e8, 1.0, 1.0),
            (0.0, 1.0, 1e10),
            (0.0, 1.0, 1e14),
            (0.0, 1.0, -1e-8),
            (1e6, 1e-8, 1.0),
            (-3e9, -1e8, 1e8),
            // Far past the property's range: Satterthwaite's df once formed var² (1e-400
            // for Days × 1e100: NaN) and the σ Hessian σ⁴ (1e408 for Reaction × 1e100:
            // "failed to converge").
            (0.0, 1.0, 1e100),
            (0.0, 1.0, 1e-100),
            (0.0, 1e100, 1.0),
            (0.0, 1e-100, 1.0),
        ] {
            let base = fit_rows(&recovered(&rows, a, b, c), SLOPES, reml).unwrap();
            let moved = fit_rows(&transformed(&rows, a, b, c), SLOPES, reml).unwrap();
            assert_transformed(&base, &moved, a, b, c, 1e-6);
        }
    }
}

#[test]
fn a_response_of_one_million_plus_or_minus_a_millionth_fits() {
    let rows = sleepstudy_rows();
    let sd = 1e-6 / 60.0;
    // y itself keeps only about four significant digits of its spread here: compare with
    // the fit of those digits.
    let base = fit_rows(&recovered(&rows, 1e6, sd, 1.0), SLOPES, true).unwrap();
    let moved = fit_rows(&transformed(&rows, 1e6, sd, 1.0), SLOPES, true).unwrap();
    assert_transformed(&base, &moved, 1e6, sd, 1.0, 1e-6);
}

/// A response the fixed effects fit exactly has σ̂ = 0: a constant response once gave its
/// predictor `t = 2.00, p = 0.055` from rounding noise. Refused, for a constant and for an
/// exact line alike.
#[test]
fn a_response_fitted_exactly_is_refused() {
    let rows = sleepstudy_rows();
    for exact in [
        transformed(&rows, 5.0, 0.0, 1.0),
        rows.iter()
            .map(|(_, x, g)| (1e6 + 2.5 * x, *x, g.clone()))
            .collect(),
    ] {
        let err = fit_rows(&exact, SLOPES, true).unwrap_err();
        assert!(
            matches!(err, ModelError::Numerical { .. }) && err.to_string().contains("exactly"),
            "{err}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// For a shift a (|a| ≤ 1e8·sd(y)) and scales b, c (|log10| ≤ 8) of the response and
    /// the predictor, the fit of a + b·y on c·Days is the fit of y on Days transformed.
    #[test]
    fn fits_transform_under_location_and_scale(
        log_b in -8.0f64..8.0,
        log_c in -8.0f64..8.0,
        shift in -1e8f64..1e8,
        negative in any::<bool>(),
        reml in any::<bool>(),
    ) {
        let rows = sleepstudy_rows();
        let b = if negative { -(10f64.powf(log_b)) } else { 10f64.powf(log_b) };
        let c = 10f64.powf(log_c);
        let a = shift * 56.2 * b.abs();
        let base = fit_rows(&recovered(&rows, a, b, c), SLOPES, reml).unwrap();
        let moved = fit_rows(&transformed(&rows, a, b, c), SLOPES, reml).unwrap();
        assert_transformed(&base, &moved, a, b, c, 1e-6);
    }
}

// ---- profile intervals and Satterthwaite df under location and scale ------------------

/// Checks that the profile intervals of `moved` are those of `base` with the response
/// `a + b·y` and the predictor `c·Days` (confint's order for `(Days | Subject)`: SD of the
/// intercept, correlation, SD of the slope, σ, intercept, slope), each end to 1e-6 of its
/// interval's width, or to a few units in the last place of the end itself: an intercept
/// shifted by 1e6 with a width of 3e-7 has only about 2,000 doubles between its ends.
fn assert_profiles_transformed(base: &[Interval], moved: &[Interval], a: f64, b: f64, c: f64) {
    assert_eq!(base.len(), 6);
    assert_eq!(moved.len(), 6);
    // Each parameter's map ψ ↦ m·ψ + k.
    let maps = [
        (b.abs(), 0.0),
        (c.signum(), 0.0),
        (b.abs() / c.abs(), 0.0),
        (b.abs(), 0.0),
        (b, a),
        (b / c, 0.0),
    ];
    for ((base, moved), (m, k)) in base.iter().zip(moved).zip(maps) {
        let (l, u) = (m * base.lower + k, m * base.upper + k);
        let (lower, upper) = if m < 0.0 { (u, l) } else { (l, u) };
        let width = upper - lower;
        let ulps = 8.0 * f64::EPSILON * lower.abs().max(upper.abs());
        let err =
            (moved.lower - lower).abs().max((moved.upper - upper).abs()) / (width + ulps / 1e-6);
        assert!(
            err <= 1e-6,
            "{:?}: [{}, {}] vs [{lower}, {upper}]: {err:.1e} of the width (a {a}, b {b}, c {c})",
            moved.parameter,
            moved.lower,
            moved.upper
        );
    }
}

fn profile_rows(rows: &[(f64, f64, String)]) -> Vec<Interval> {
    profile_intervals(&design(&frame(rows), SLOPES).unwrap()).unwrap()
}

/// Profile intervals searched in the data's units moved with them: Days × 1e10 left the
/// slope's SD at its start.
#[test]
fn profile_intervals_transform_under_location_and_scale() {
    let rows = sleepstudy_rows();
    for (a, b, c) in [
        (1e7, 1.0, 1.0),
        (0.0, 1.0, 1e10),
        (0.0, 1.0, -1e-8),
        (1e6, 1e-8, 1.0),
        (-3e9, -1e8, 1e8),
    ] {
        let base = profile_rows(&recovered(&rows, a, b, c));
        let moved = profile_rows(&transformed(&rows, a, b, c));
        assert_profiles_transformed(&base, &moved, a, b, c);
    }
}

/// Residual structures within subjects, each fitted with `(1 | Subject)`: their φ are
/// searched beside θ, by BFGS on the analytic gradient, and their Satterthwaite df once came
/// from numDeriv's absolute steps near zero, which made them depend on units (a response ×
/// 1e-8 has σ below numDeriv's zero tolerance), and from a derivative-free search that a
/// shift of the response by 1e7 moved by a few 1e-6. `varident` takes a variance per half of
/// each subject's days (the `half` column).
const RESIDUALS: [&str; 4] = [
    "ar1(Subject)",
    "car1(Days | Subject)",
    "cs(Subject)",
    "varident(half)",
];

fn fit_residual(rows: &[(f64, f64, String)], residual: &str) -> LmmFit {
    let mut csv = String::from("Reaction,Days,Subject,half\n");
    for (i, (y, x, g)) in rows.iter().enumerate() {
        let half = if i % 10 < 5 { "early" } else { "late" };
        writeln!(csv, "{y:e},{x:e},{g},{half}").unwrap();
    }
    let data = read_csv(csv.as_bytes(), "sleep.csv").unwrap();
    let mut spec = mixspec_dsl::parse_formula("Reaction ~ Days + (1 | Subject)").unwrap();
    spec.residual = Some(ResidualSpec::parse(residual).unwrap());
    fit(Design::build(&spec, &data).unwrap(), &FitOptions::default()).unwrap()
}

/// The slope's t and Satterthwaite df of a fit with a residual structure are those of the
/// untransformed data, to 1e-6 under a change of location and scale (when the whitening
/// worked on the shifted response, a shift of 7.8e7 SDs moved AR(1)'s df by 2.9e-5).
/// A structure over time (CAR(1)) is compared with the time scale left alone (c = 1): its
/// correlation φ^|Δt| puts a rescaled time in the exponent.
fn assert_residual_df_transformed(
    rows: &[(f64, f64, String)],
    residual: &str,
    a: f64,
    b: f64,
    c: f64,
) {
    let c = if residual.starts_with("car1") { 1.0 } else { c };
    let base = fit_residual(&recovered(rows, a, b, c), residual);
    let moved = fit_residual(&transformed(rows, a, b, c), residual);
    assert!(
        moved.convergence.converged,
        "{residual}: {:?}",
        moved.warnings
    );
    let (base_t, moved_t) = (
        &base.t_tests.as_ref().unwrap()[1],
        &moved.t_tests.as_ref().unwrap()[1],
    );
    let t = base_t.t * b.signum() * c.signum();
    let tol = 1e-6;
    assert!(
        rel(moved_t.t, t, 0.0) <= tol,
        "{residual}: t {} vs {t} (a {a}, b {b}, c {c})",
        moved_t.t
    );
    assert!(
        rel(moved_t.df, base_t.df, 0.0) <= tol,
        "{residual}: df {} vs {} (a {a}, b {b}, c {c})",
        moved_t.df,
        base_t.df
    );
}

#[test]
fn residual_structures_df_transform_under_location_and_scale() {
    let rows = sleepstudy_rows();
    for residual in RESIDUALS {
        for (a, b, c) in [
            (1e7, 1.0, 1.0),
            (0.0, 1e-8, 1.0),
            (1e8, 1e8, 1e8),
            (0.0, -1e-6, 1e-8),
            (-3e9, -1e8, 1.0),
        ] {
            assert_residual_df_transformed(&rows, residual, a, b, c);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// The property of `fits_transform_under_location_and_scale` for what is derived from
    /// a fit by further searches and differences: profile intervals, and the Satterthwaite
    /// df of a fit with an AR(1) residual structure.
    #[test]
    fn profiles_and_residual_df_transform_under_location_and_scale(
        log_b in -8.0f64..8.0,
        log_c in -8.0f64..8.0,
        shift in -1e8f64..1e8,
        negative in any::<bool>(),
    ) {
        let rows = sleepstudy_rows();
        let b = if negative { -(10f64.powf(log_b)) } else { 10f64.powf(log_b) };
        let c = 10f64.powf(log_c);
        let a = shift * 56.2 * b.abs();
        let base = profile_rows(&recovered(&rows, a, b, c));
        let moved = profile_rows(&transformed(&rows, a, b, c));
        assert_profiles_transformed(&base, &moved, a, b, c);
        assert_residual_df_transformed(&rows, RESIDUALS[0], a, b, c);
    }
}

/// Kenward–Roger's df and adjusted SEs under a + b·y and c·Days: pbkrtest's absolute
/// tolerance on the information matrix's eigenvalues dropped the slope's variance for Days
/// × 1e-8 (df 4271 instead of 17, p 1e-11 instead of 3e-6) and bent the df for Days × 1e8
/// (18.2).
#[test]
fn kenward_roger_transforms_under_location_and_scale() {
    let rows = sleepstudy_rows();
    let kr = |rows: &[(f64, f64, String)]| {
        let d = design(&frame(rows), SLOPES).unwrap();
        let f = fit(d.clone(), &FitOptions::default()).unwrap();
        let k = KenwardRoger::new(&d, &f.random, f.sigma).unwrap();
        (k.coefficient_tests(&f.beta), k.std_errors())
    };
    for (a, b, c) in [
        (0.0, 1.0, 1e-8),
        (0.0, 1.0, 1e8),
        (1e7, 1.0, 1.0),
        (0.0, 1e-8, 1.0),
        (-3e9, -1e8, 1e8),
    ] {
        let (base_t, base_se) = kr(&recovered(&rows, a, b, c));
        let (moved_t, moved_se) = kr(&transformed(&rows, a, b, c));
        let slope_se = (b / c).abs() * base_se[1];
        assert!(
            rel(moved_se[1], slope_se, 0.0) <= 1e-6,
            "SE {} vs {slope_se} (a {a}, b {b}, c {c})",
            moved_se[1]
        );
        for j in 0..2 {
            assert!(
                rel(moved_t[j].df, base_t[j].df, 0.0) <= 1e-6,
                "df{j} {} vs {} (a {a}, b {b}, c {c})",
                moved_t[j].df,
                base_t[j].df
            );
        }
        assert!(rel(moved_t[1].t, base_t[1].t * (b * c).signum(), 0.0) <= 1e-6);
    }
}

/// A predictor of about 1e200 (or 1e-300) is not aliased: its sum of squares overflowed
/// (underflowed), and the column was dropped as rank deficient, a silent wrong answer
/// (seen with `fit --family poisson` on Days × 1e200).
#[test]
fn huge_and_tiny_predictors_are_not_dropped_as_aliased() {
    let rows = sleepstudy_rows();
    for c in [1e200, 1e-300] {
        let d = design(&frame(&transformed(&rows, 0.0, 1.0, c)), SLOPES).unwrap();
        assert!(d.aliased.is_empty(), "{c}: {:?}", d.aliased);
        assert_eq!(d.p(), 2);
    }
}
