//! Fitting from per-subject statistics (`mixspec_engine::statistics`): the same fit as from
//! the rows, sums from an outside producer (raw, or with the response centred), and the
//! refusals of statistics that are malformed or of models outside the scope.

use mixspec_engine::data::Factor;
use mixspec_engine::design::{column_layout, Values};
use mixspec_engine::statistics::{check_scope, fit_from_statistics, SubjectStatistics};
use mixspec_engine::{fit, read_csv, Design, FitOptions, LmmFit, StatisticsError};
use std::path::Path;

fn design(file: &str, formula: &str) -> Design {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let data = read_csv(
        std::fs::File::open(&path).unwrap(),
        &path.display().to_string(),
    )
    .unwrap();
    let spec = mixspec_dsl::parse_formula(formula).unwrap();
    Design::build(&spec, &data).unwrap()
}

fn options(reml: bool) -> FitOptions {
    FitOptions {
        reml,
        ..FitOptions::default()
    }
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// Objective, estimates, SEs, Satterthwaite df and p, θ, σ and R² of two fits, each within
/// `rel` relative (estimates relative to max(|β|, SE)).
fn assert_same_fit(a: &LmmFit, b: &LmmFit, rel: f64, what: &str) {
    assert!(
        relative(a.objective, b.objective) <= rel,
        "{what}: objective {} vs {}",
        a.objective,
        b.objective
    );
    assert_eq!(a.fixed_names, b.fixed_names, "{what}");
    assert_eq!(a.n_obs, b.n_obs, "{what}");
    let (sa, sb) = (a.std_errors(), b.std_errors());
    for j in 0..a.beta.len() {
        let scale = a.beta[j].abs().max(sa[j]);
        assert!(
            (a.beta[j] - b.beta[j]).abs() <= rel * scale,
            "{what}: β[{j}] {} vs {}",
            a.beta[j],
            b.beta[j]
        );
        assert!(relative(sa[j], sb[j]) <= rel, "{what}: SE[{j}]");
    }
    let (ta, tb) = (a.t_tests.as_ref().unwrap(), b.t_tests.as_ref().unwrap());
    for (x, y) in ta.iter().zip(tb) {
        assert!(
            relative(x.df, y.df) <= rel,
            "{what}: df {} vs {}",
            x.df,
            y.df
        );
        // A p-value as small as the intercept's here (1e-79) moves by t² times t's own
        // relative error, so p is compared on the log scale.
        assert!(
            x.p == y.p || (x.p.ln() - y.p.ln()).abs() <= rel * y.p.ln().abs().max(1.0),
            "{what}: p {} vs {}",
            x.p,
            y.p
        );
    }
    for (x, y) in a.theta.iter().zip(&b.theta) {
        assert!(
            (x - y).abs() <= rel * y.abs().max(1e-3),
            "{what}: θ {x} vs {y}"
        );
    }
    assert!(relative(a.sigma, b.sigma) <= rel, "{what}: σ");
    assert!(
        (a.r_squared.marginal - b.r_squared.marginal).abs() <= rel,
        "{what}: R²m"
    );
    assert!(
        (a.r_squared.conditional - b.r_squared.conditional).abs() <= rel,
        "{what}: R²c"
    );
}

const SLEEPSTUDY: &str = "tests/data/reference/sleepstudy.csv";
const COHORT: &str = "data/mbt_cohort.csv";

#[test]
fn rows_and_their_statistics_give_the_same_fit() {
    let cases = [
        (SLEEPSTUDY, "Reaction ~ Days + (Days | Subject)", true),
        (SLEEPSTUDY, "Reaction ~ Days + (Days | Subject)", false),
        (SLEEPSTUDY, "Reaction ~ Days + (1 | Subject)", true),
        (COHORT, "gaf ~ months * age + (months | patient)", false),
        (
            COHORT,
            "gaf ~ months * factor(female) + (months | patient)",
            true,
        ),
    ];
    for (file, formula, reml) in cases {
        let d = design(file, formula);
        let statistics = SubjectStatistics::from_design(&d).unwrap();
        let from_rows = fit(d, &options(reml)).unwrap();
        let from_sums = fit_from_statistics(statistics, &options(reml)).unwrap();
        assert_same_fit(&from_sums, &from_rows, 1e-12, formula);
        assert!(from_sums.residuals.is_empty() && from_sums.fitted.is_empty());
        assert_eq!(from_rows.residuals.len(), from_rows.n_obs);
        assert_eq!(from_sums.random[0].levels, from_rows.random[0].levels);
        assert_eq!(
            from_sums.random[0].modes.len(),
            from_rows.random[0].modes.len()
        );
        for (x, y) in from_sums.random[0]
            .modes
            .iter()
            .zip(&from_rows.random[0].modes)
        {
            assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{formula}: modes");
        }
    }
}

/// The sums an outside producer forms in one pass over the rows, of `y − shift` (a shift of
/// zero: the raw response), with γ the shift on the intercept.
fn producer_sums(d: &Design, shift: f64) -> SubjectStatistics {
    let mut s = SubjectStatistics::from_design(d).unwrap();
    let (n, p, q) = (d.n(), d.p(), s.q());
    let block = &d.random[0];
    let y: Vec<f64> = d.y.iter().map(|v| v - shift).collect();
    s.zty.iter_mut().for_each(|v| *v = 0.0);
    s.xty.iter_mut().for_each(|v| *v = 0.0);
    s.yty = 0.0;
    for i in 0..n {
        let l = block.codes[i] as usize;
        for a in 0..q {
            s.zty[l * q + a] += block.values[i * q + a] * y[i];
        }
        for j in 0..p {
            s.xty[j] += d.x[j * n + i] * y[i];
        }
        s.yty += y[i] * y[i];
    }
    s.gamma = vec![0.0; p];
    s.gamma[0] = shift;
    s
}

/// A response a million away from zero: sums of the raw response lose the digits `y'y`
/// cannot hold (about 1e-7 of the objective here), sums of the response less its mean keep
/// them; both are refined algebraically before the fit.
#[test]
fn a_response_far_from_zero() {
    let mut d = design(SLEEPSTUDY, "Reaction ~ Days + (Days | Subject)");
    d.y.iter_mut().for_each(|v| *v += 1e6);
    let mean = d.y.iter().sum::<f64>() / d.n() as f64;
    let from_rows = fit(d.clone(), &options(true)).unwrap();
    let centred = fit_from_statistics(producer_sums(&d, mean), &options(true)).unwrap();
    assert_same_fit(&centred, &from_rows, 1e-10, "centred sums");
    let raw = fit_from_statistics(producer_sums(&d, 0.0), &options(true)).unwrap();
    eprintln!(
        "objective, relative to the rows' fit: centred sums {:.1e}, raw sums {:.1e}",
        relative(centred.objective, from_rows.objective),
        relative(raw.objective, from_rows.objective)
    );
    assert_same_fit(&raw, &from_rows, 1e-4, "raw sums");
    // And the shifted fit is the unshifted one moved by 1e6.
    let unshifted = fit(
        design(SLEEPSTUDY, "Reaction ~ Days + (Days | Subject)"),
        &options(true),
    )
    .unwrap();
    assert!(relative(centred.objective, unshifted.objective) < 1e-12);
    assert!((centred.beta[0] - 1e6 - unshifted.beta[0]).abs() < 1e-6);
}

#[test]
fn malformed_statistics_are_refused() {
    let d = design(SLEEPSTUDY, "Reaction ~ Days + (Days | Subject)");
    let good = SubjectStatistics::from_design(&d).unwrap();
    let refused = |s: SubjectStatistics| fit_from_statistics(s, &options(true)).unwrap_err();

    let mut s = good.clone();
    s.ztx.pop();
    assert!(matches!(refused(s), StatisticsError::Shape { .. }));

    let mut s = good.clone();
    s.zty[3] = f64::NAN;
    let e = refused(s);
    assert!(matches!(e, StatisticsError::NonFinite { .. }));
    assert!(e.to_string().contains("subject `309`"), "{e}");

    let mut s = good.clone();
    s.ztz[4 + 1] += 1.0;
    let e = refused(s);
    assert!(matches!(e, StatisticsError::NotSymmetric { .. }), "{e}");

    let mut s = good.clone();
    s.n += 1;
    assert!(matches!(refused(s), StatisticsError::Count { .. }));

    let mut s = good.clone();
    s.counts[3] = 0;
    s.n -= 10;
    assert!(matches!(refused(s), StatisticsError::EmptySubject { .. }));

    // Days twice: the second copy is aliased.
    let mut s = good.clone();
    let p = 3;
    s.x_names.push("Days2".into());
    s.xtx = (0..p * p)
        .map(|i| good.xtx[(i / p).min(1) * 2 + (i % p).min(1)])
        .collect();
    s.xty.push(good.xty[1]);
    s.x_sums.push(good.x_sums[1]);
    s.gamma.push(0.0);
    s.ztx = good
        .ztx
        .chunks_exact(2)
        .flat_map(|r| [r[0], r[1], r[1]])
        .collect();
    let e = refused(s);
    assert!(
        matches!(e, StatisticsError::Aliased { ref column } if column == "Days2"),
        "{e}"
    );
}

#[test]
fn models_outside_the_scope_are_refused_naming_the_rule() {
    for (formula, rule) in [
        ("y ~ x + (1 | a) + (1 | b)", "one random-effect term"),
        ("y ~ x + (1 | a:b)", "one grouping factor"),
    ] {
        let spec = mixspec_dsl::parse_formula(formula).unwrap();
        let e = check_scope(&spec).unwrap_err();
        assert!(e.to_string().contains(rule), "{formula}: {e}");
    }
    let d = design(
        "tests/data/reference/sleepstudy.csv",
        "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
    );
    let e = SubjectStatistics::from_design(&d).unwrap_err();
    assert!(e.to_string().contains("one random-effect term"), "{e}");
}

/// A producer's columns without data: R's coding and names from factor levels alone.
#[test]
fn column_layout_needs_only_the_levels() {
    let spec = mixspec_dsl::parse_formula("y ~ x * f + (x | g)").unwrap();
    let f = Values::Factor(Factor {
        codes: Vec::new(),
        levels: vec!["a".into(), "b".into(), "c".into()],
    });
    let x = Values::Numeric(Vec::new());
    let kind = |label: &str| if label == "f" { &f } else { &x };
    let (names, origins) = column_layout(&spec.fixed, &kind).unwrap();
    assert_eq!(names, ["(Intercept)", "x", "fb", "fc", "x:fb", "x:fc"]);
    assert_eq!(origins[5].term, 3);
    assert_eq!(origins[5].levels, [None, Some((2, 3))]);
    let (names, _) = column_layout(&spec.random[0].terms, &kind).unwrap();
    assert_eq!(names, ["(Intercept)", "x"]);
}
