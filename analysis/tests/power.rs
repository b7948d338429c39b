//! Power by simulation: the issue's design against the exact power of its test, power from a
//! model of the bundled cohort, reproducibility, and the problems the checks report.

use std::path::{Path, PathBuf};

use mixspec_analysis::{check, Checked, Plugins, PowerCurve};
use mixspec_engine::inference::t_upper_tail;

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn checked(src: &str) -> Checked {
    let plugins = Plugins::bundled().unwrap();
    check("test.spec", src, &base(), &plugins).unwrap_or_else(|e| panic!("{}", e.render_plain()))
}

fn curves(src: &str) -> Vec<PowerCurve> {
    checked(src)
        .run()
        .unwrap_or_else(|e| panic!("{}", e.render_plain()))
        .powers
}

fn problems(src: &str) -> String {
    let plugins = Plugins::bundled().unwrap();
    match check("test.spec", src, &base(), &plugins) {
        Ok(_) => panic!("expected problems in:\n{src}"),
        Err(e) => e.render_plain(),
    }
}

/// The standard normal distribution function.
fn phi(x: f64) -> f64 {
    1.0 - t_upper_tail(x, f64::INFINITY)
}

/// `P(T ≤ t)` for the noncentral t with `df` degrees of freedom and noncentrality `delta`:
/// `∫ Φ(t·s − δ) g(s) ds` over the distribution of `s = √(χ²_df / df)`, by Simpson's rule on
/// ±14 standard deviations of `s` (its density is normalised by the same rule, so no gamma
/// function is needed).
fn noncentral_t_cdf(t: f64, df: f64, delta: f64) -> f64 {
    let sd = (1.0 / (2.0 * df)).sqrt();
    let (lo, hi) = ((1.0 - 14.0 * sd).max(1e-12), 1.0 + 14.0 * sd);
    let steps = 20_000;
    let h = (hi - lo) / steps as f64;
    let log_density = |s: f64| (df - 1.0) * s.ln() - df * s * s / 2.0;
    let peak = log_density(((df - 1.0) / df).sqrt());
    let (mut mass, mut total) = (0.0, 0.0);
    for i in 0..=steps {
        let s = lo + i as f64 * h;
        let w = if i == 0 || i == steps {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let g = w * (log_density(s) - peak).exp();
        mass += g * phi(t * s - delta);
        total += g;
    }
    mass / total
}

/// `qt(p, df)` for `p > 0.5`, by bisection.
fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 100.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 1.0 - t_upper_tail(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn noncentral_t_matches_r() {
    // R: pt(q, df, ncp)
    for (q, df, ncp, p) in [
        (2.0244, 38.0, 1.814, 0.576064566799602),
        (-2.0244, 38.0, 1.814, 9.59312887778285e-05),
        (1.5, 10.0, 2.5, 0.162437903763771),
        (2.5, 118.0, 3.1, 0.275094447690136),
    ] {
        let ours = noncentral_t_cdf(q, df, ncp);
        assert!(
            (ours - p).abs() < 1e-9,
            "pt({q}, {df}, {ncp}) = {p}, ours {ours}"
        );
    }
}

/// The issue's design, exactly as written there.
const DESIGN: &str = r#"
power slope_difference: y ~ time * group + (time | id) [test "time:groupb", alpha 0.05, simulations 2000, seed 11] {
  subjects 40, 80, 120
  times 0, 1, 2, 3, 4
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3 cor 0
  residual sd 1
}
"#;

/// For balanced complete data the REML test of the slope difference is the two-sample t-test
/// of the subjects' least-squares slopes: with `N` subjects, `N − 2` df and
/// `SE² = 2(σ²_slope + σ²/Σ(t − t̄)²)/(N/2)`, its power is a noncentral t probability. The
/// simulated power must agree within 3.5 Monte Carlo standard errors.
#[test]
fn simulated_power_agrees_with_the_exact_power() {
    let checked = checked(DESIGN);
    let started = std::time::Instant::now();
    let results = checked.run().unwrap();
    eprintln!(
        "3 sizes x 2000 simulations in {:.2} s on {} threads",
        started.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    let curve = &results.powers[0];
    assert_eq!(curve.test, "time:groupb");
    let (slope_sd, sigma, difference) = (0.3f64, 1.0f64, 0.25);
    let times = [0.0, 1.0, 2.0, 3.0, 4.0];
    let mean = times.iter().sum::<f64>() / 5.0;
    let sxx: f64 = times.iter().map(|t| (t - mean) * (t - mean)).sum();
    for row in &curve.rows {
        let n = row.subjects as f64;
        let se = (2.0 * (slope_sd.powi(2) + sigma.powi(2) / sxx) / (n / 2.0)).sqrt();
        let df = n - 2.0;
        let delta = difference / se;
        let critical = t_quantile(0.975, df);
        let exact =
            1.0 - noncentral_t_cdf(critical, df, delta) + noncentral_t_cdf(-critical, df, delta);
        let fitted = (row.simulations - row.failed) as f64;
        let mc_se = (exact * (1.0 - exact) / fitted).sqrt();
        eprintln!(
            "N = {}: simulated {:.4} [{:.4}, {:.4}], exact {exact:.4}, MC SE {mc_se:.4}, failed {}, mean estimate {:.4}",
            row.subjects, row.power, row.lower, row.upper, row.failed, row.mean_estimate
        );
        assert!(
            (row.power - exact).abs() < 3.5 * mc_se,
            "N = {}: simulated {} vs exact {exact}",
            row.subjects,
            row.power
        );
        assert!(row.lower < row.power && row.power < row.upper);
        assert!(row.failed * 100 < row.simulations, "{} failed", row.failed);
        assert!((row.mean_estimate - difference).abs() < 4.0 * se / fitted.sqrt());
    }
    assert!(curve.rows[0].power < curve.rows[1].power && curve.rows[1].power < curve.rows[2].power);
}

#[test]
fn the_same_seed_gives_the_same_curve_whatever_the_threads() {
    let spec = DESIGN
        .replace("simulations 2000", "simulations 200")
        .replace(
            "residual sd 1",
            "residual sd 1\n  dropout 0.3 by end\n  missed 0.1",
        );
    let all = curves(&spec);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| curves(&spec));
    assert_eq!(all, one);
    let other = curves(&spec.replace("seed 11", "seed 12"));
    assert_ne!(all, other);
}

#[test]
fn dropout_and_missed_visits_cost_power() {
    let spec = DESIGN.replace("simulations 2000", "simulations 400");
    let complete = &curves(&spec)[0];
    let lossy = &curves(&spec.replace(
        "residual sd 1",
        "residual sd 1\n  dropout 0.5 by end\n  missed 0.2",
    ))[0];
    for (c, l) in complete.rows.iter().zip(&lossy.rows) {
        assert!(
            l.power < c.power,
            "{} subjects: {} vs {}",
            c.subjects,
            l.power,
            c.power
        );
    }
}

#[test]
fn three_groups_unequal_shares_and_a_likelihood_ratio_test() {
    let spec = r#"
power arms: y ~ time * arm + (time | id) [test "time:arm", statistic lrt, simulations 100, seed 2] {
  subjects 60, 150
  times 0, 1, 2, 3
  times "c" 0, 3
  groups arm "a" 0.4, "b" 0.3, "c" 0.3
  fixed "(Intercept)" 0, "time" 0.5, "armb" 0, "armc" 0, "time:armb" 0.3, "time:armc" 0.3
  random id sd "(Intercept)" 1, "time" 0.3 cor 0.2
  residual sd 1
  dropout "b" 0.1 per visit
}
"#;
    let curve = &curves(spec)[0];
    assert_eq!(curve.statistic, "lrt");
    assert_eq!(curve.method, "ML");
    assert!(curve.rows[1].power > curve.rows[0].power);
    assert!(curve.rows[0].mean_estimate.is_nan());
}

/// The seed study's analysis of the bundled cohort, and power from its TASKS model.
const FROM_MODEL: &str = r#"
data "../../data/mbt_cohort.csv" { subject patient; time months }
instrument "wai-s"  when version == "S"
instrument "wai-sr" when version == "SR"
instrument "gaf"
derive final_gaf = last(if months == 36 then GAF else NA)
derive outcome = if final_gaf >= 60 then "good" else "poor"
model tasks_outcome: TASKS ~ months * outcome + (months | patient) [method ML]
power replication from tasks_outcome [test "months:outcomepoor" = -0.03, subjects 60, 155, 300, simulations 300, seed 3]
"#;

#[test]
fn power_from_a_model_of_the_cohort_grows_with_subjects() {
    let curve = &curves(FROM_MODEL)[0];
    assert_eq!(curve.source, "tasks_outcome");
    assert_eq!(curve.method, "ML");
    let powers: Vec<f64> = curve.rows.iter().map(|r| r.power).collect();
    eprintln!("{:?}", curve.rows);
    assert!(powers[0] < powers[1] && powers[1] < powers[2], "{powers:?}");
    for r in &curve.rows {
        assert!(r.failed * 20 < r.simulations, "{} failed", r.failed);
        assert!((r.mean_estimate + 0.03).abs() < 0.01, "{}", r.mean_estimate);
    }
}

#[test]
fn bad_power_statements_are_reported_at_their_words() {
    let rendered = problems(
        r#"
power a: y ~ time * group + (time | id) [test "time:groupc", simulations 0, alpha 1.5] {
  subjects 40, 1
  times 0, 1, 2
  groups group "a" 0.5, "b" 0.6
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3, "I(time^2)" 0.1 cor 0.9, 0.9, -0.9
  residual sd 0
}
power b: y ~ time * group + (time | id) [test "time:groupc"] {
  subjects 40
  times 0, 1, 2
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "tme" 0.5, "groupb" 0
  random id sd "(Intercept)" 1, "time" 0.3
  residual sd 1
}
power c: y ~ time * group + (time | id) [test "time:group"] {
  subjects 40
  times 0, 1, 2
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.2
  random id sd "(Intercept)" 1, "time" 0.3
  residual sd 1
}
"#,
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn power_from_a_model_needs_a_coefficient_and_subjects() {
    let rendered = problems(&FROM_MODEL.replace(
        "power replication from tasks_outcome [test \"months:outcomepoor\" = -0.03, subjects 60, 155, 300, simulations 300, seed 3]",
        "power replication from tasks_outcome [test \"months:outcomepor\" = -0.03, subjects 60]\npower again from tasks_outcom [test \"months\", subjects 60]\npower third from tasks_outcome [test \"months\"]",
    ));
    insta::assert_snapshot!(rendered);
}

/// docs/power.md's worked example, as shipped in specs/: both curves rise with the number of
/// patients, and the resampled cohort reaches 80% power within the sizes it tries.
#[test]
fn the_worked_example_reaches_80_percent() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/mbt_power.spec");
    let text = std::fs::read_to_string(&path).unwrap();
    let plugins = Plugins::bundled().unwrap();
    let checked = check("mbt_power.spec", &text, path.parent().unwrap(), &plugins)
        .unwrap_or_else(|e| panic!("{}", e.render_plain()));
    let results = checked
        .run()
        .unwrap_or_else(|e| panic!("{}", e.render_plain()));
    for curve in &results.powers {
        for r in &curve.rows {
            eprintln!(
                "{} N = {}: power {:.3} [{:.3}, {:.3}] failed {} mean {:.4}",
                curve.name, r.subjects, r.power, r.lower, r.upper, r.failed, r.mean_estimate
            );
        }
        let first = curve.rows.first().unwrap().power;
        let last = curve.rows.last().unwrap().power;
        assert!(first < last, "{}: {first} to {last}", curve.name);
    }
    let replication = &results.powers[0];
    assert!(replication.rows.first().unwrap().power < 0.8);
    assert!(replication.rows.last().unwrap().power > 0.8);
}
