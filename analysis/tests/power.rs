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

/// The issue's design with AR(1) residuals (φ = 0.5 between consecutive visits).
const AR1_DESIGN: &str = r#"
power ar1: y ~ time * group + (time | id) [test "time:groupb", simulations 800, seed 5] {
  subjects 40, 100
  times 0, 1, 2, 3, 4
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3 cor 0
  residual sd 1 ar1 0.5
}
"#;

/// `[(X'C⁻¹X)⁻¹]` of a subject's intercept-and-slope design `X = [1, t]` under AR(1)
/// correlation `φ` between consecutive visits: `C⁻¹` is tridiagonal, `(1 − φ²)⁻¹` times
/// 1, 1 + φ², …, 1 + φ², 1 on the diagonal and −φ beside it. Returns the slope's entry.
fn ar1_slope_variance(times: &[f64], phi: f64) -> f64 {
    let k = times.len();
    let c_inv = |i: usize, j: usize| -> f64 {
        let v = if i == j {
            if i == 0 || i == k - 1 {
                1.0
            } else {
                1.0 + phi * phi
            }
        } else if i.abs_diff(j) == 1 {
            -phi
        } else {
            0.0
        };
        v / (1.0 - phi * phi)
    };
    let (mut a, mut b, mut d) = (0.0, 0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            a += c_inv(i, j);
            b += c_inv(i, j) * times[j];
            d += times[i] * c_inv(i, j) * times[j];
        }
    }
    a / (a * d - b * b)
}

/// With residual correlation `C` shared by every subject and random effects on the same
/// columns as the subject's own design (`V = XGX' + σ²C`), the GLS estimate of each group's
/// slope is the mean of the subjects' GLS slopes under `C` alone, each with variance
/// `σ²_slope + σ²[(X'C⁻¹X)⁻¹]₂₂`; so the slope difference's test is the two-sample t-test
/// of those slopes, and its power the noncentral t on `N − 2` df with
/// `SE² = 2(σ²_slope + σ²[(X'C⁻¹X)⁻¹]₂₂)/(N/2)` (exact for known φ; REML estimates φ from
/// every subject).
#[test]
fn ar1_power_agrees_with_the_exact_gls_power() {
    let curve = &curves(AR1_DESIGN)[0];
    let (slope_sd, sigma, difference) = (0.3f64, 1.0f64, 0.25);
    let slope_variance = ar1_slope_variance(&[0.0, 1.0, 2.0, 3.0, 4.0], 0.5);
    for row in &curve.rows {
        let n = row.subjects as f64;
        let se = (2.0 * (slope_sd.powi(2) + sigma.powi(2) * slope_variance) / (n / 2.0)).sqrt();
        let df = n - 2.0;
        let delta = difference / se;
        let critical = t_quantile(0.975, df);
        let exact =
            1.0 - noncentral_t_cdf(critical, df, delta) + noncentral_t_cdf(-critical, df, delta);
        let fitted = (row.simulations - row.failed) as f64;
        let mc_se = (exact * (1.0 - exact) / fitted).sqrt();
        eprintln!(
            "AR(1) N = {}: simulated {:.4} [{:.4}, {:.4}], exact {exact:.4}, MC SE {mc_se:.4}, failed {}, mean estimate {:.4}",
            row.subjects, row.power, row.lower, row.upper, row.failed, row.mean_estimate
        );
        assert!(
            (row.power - exact).abs() < 3.5 * mc_se,
            "N = {}: simulated {} vs exact {exact}",
            row.subjects,
            row.power
        );
        assert!(row.failed * 50 < row.simulations, "{} failed", row.failed);
        assert!((row.mean_estimate - difference).abs() < 4.0 * se / fitted.sqrt());
    }
}

/// A binary outcome: logit link, a random intercept per subject, four visits.
const BINOMIAL_DESIGN: &str = r#"
power binary: y ~ time * group + (1 | id) [test "time:groupb", simulations 400, seed 8] {
  subjects 100, 200
  times 0, 1, 2, 3
  groups group "a" 0.5, "b" 0.5
  family binomial
  fixed "(Intercept)" -0.5, "time" 0.1, "groupb" 0, "time:groupb" 0.3
  random id sd "(Intercept)" 0.5
}
"#;

/// The binomial design's parameters (β of `time * group`, then the random intercept's SD).
const BINOMIAL_PARAMETERS: [f64; 5] = [-0.5, 0.1, 0.0, 0.3, 0.5];

/// `log P(y)` of one subject's four 0/1 outcomes in group `g` (0 or 1) at `par`: the
/// random intercept integrated out by Gauss–Hermite quadrature (probabilists' nodes from
/// the engine's rule would tie the check to the code it checks, so the trapezoidal rule on
/// ±10 SD, exact to rounding for this smooth integrand, is used instead).
fn binary_log_probability(y: &[f64], par: &[f64], g: f64) -> f64 {
    let times = [0.0, 1.0, 2.0, 3.0];
    let steps = 400;
    let h = 20.0 / steps as f64;
    let mut total = 0.0;
    for s in 0..=steps {
        let u = -10.0 + s as f64 * h;
        let weight = (-0.5 * u * u).exp() / (2.0 * std::f64::consts::PI).sqrt() * h;
        let mut l = 0.0;
        for (t, yt) in times.iter().zip(y) {
            let eta = par[0] + par[1] * t + g * (par[2] + par[3] * t) + par[4] * u;
            let p = 1.0 / (1.0 + (-eta).exp());
            l += if *yt == 1.0 { p.ln() } else { (1.0 - p).ln() };
        }
        total += weight * l.exp();
    }
    total.ln()
}

/// The expected (Fisher) information of one subject of group `g` over (β, σ_b): every one of
/// the 16 response patterns, weighted by its probability, its score by central differences.
fn binary_information(g: f64) -> [[f64; 5]; 5] {
    let mut info = [[0.0; 5]; 5];
    for pattern in 0..16u32 {
        let y: Vec<f64> = (0..4).map(|t| f64::from((pattern >> t) & 1)).collect();
        let p = binary_log_probability(&y, &BINOMIAL_PARAMETERS, g).exp();
        let mut score = [0.0; 5];
        for (k, s) in score.iter_mut().enumerate() {
            let h = 1e-5;
            let (mut up, mut down) = (BINOMIAL_PARAMETERS, BINOMIAL_PARAMETERS);
            up[k] += h;
            down[k] -= h;
            *s = (binary_log_probability(&y, &up, g) - binary_log_probability(&y, &down, g))
                / (2.0 * h);
        }
        for a in 0..5 {
            for b in 0..5 {
                info[a][b] += p * score[a] * score[b];
            }
        }
    }
    info
}

/// Entry (k, k) of the inverse of a symmetric positive definite matrix, by Gauss–Jordan.
fn inverse_diagonal(m: [[f64; 5]; 5], k: usize) -> f64 {
    let mut a = m;
    let mut inv = [[0.0; 5]; 5];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for c in 0..5 {
        let pivot = a[c][c];
        for j in 0..5 {
            a[c][j] /= pivot;
            inv[c][j] /= pivot;
        }
        for r in 0..5 {
            if r != c {
                let f = a[r][c];
                for j in 0..5 {
                    a[r][j] -= f * a[c][j];
                    inv[r][j] -= f * inv[c][j];
                }
            }
        }
    }
    inv[k][k]
}

/// The large-sample power of the Wald test of the slope difference in a logistic model with
/// a random intercept: `SE² = [I⁻¹]` of the expected information of `N/2` subjects per
/// group, computed exactly over the 2⁴ response patterns of a subject, and
/// `power = Φ(β/SE − z₀.₉₇₅) + Φ(−β/SE − z₀.₉₇₅)`. The simulated power (Laplace fits, Wald
/// z-tests) must agree within 3.5 Monte Carlo standard errors.
#[test]
fn binomial_power_agrees_with_the_expected_information() {
    let curve = &curves(BINOMIAL_DESIGN)[0];
    assert_eq!(curve.statistic, "wald");
    assert_eq!(curve.method, "ML (Laplace)");
    let (a, b) = (binary_information(0.0), binary_information(1.0));
    let z = 1.959963984540054;
    for row in &curve.rows {
        let half = row.subjects as f64 / 2.0;
        let mut total = [[0.0; 5]; 5];
        for i in 0..5 {
            for j in 0..5 {
                total[i][j] = half * (a[i][j] + b[i][j]);
            }
        }
        let se = inverse_diagonal(total, 3).sqrt();
        let expected = phi(0.3 / se - z) + phi(-0.3 / se - z);
        let fitted = (row.simulations - row.failed) as f64;
        let mc_se = (expected * (1.0 - expected) / fitted).sqrt();
        eprintln!(
            "binomial N = {}: simulated {:.4} [{:.4}, {:.4}], large-sample {expected:.4} (SE {se:.4}), MC SE {mc_se:.4}, failed {}, mean estimate {:.4}",
            row.subjects, row.power, row.lower, row.upper, row.failed, row.mean_estimate
        );
        assert!(
            (row.power - expected).abs() < 3.5 * mc_se,
            "N = {}: simulated {} vs large-sample {expected}",
            row.subjects,
            row.power
        );
        assert!(row.failed * 50 < row.simulations, "{} failed", row.failed);
    }
}

/// Residual structures and families simulate with the seed alone: one thread or many give
/// the same curves, for every structure and family, with dropout, and under the
/// likelihood-ratio test.
#[test]
fn structures_and_families_are_reproducible_whatever_the_threads() {
    let spec = [
        AR1_DESIGN
            .replace("simulations 800", "simulations 30")
            .replace(
                "residual sd 1 ar1 0.5",
                "residual sd 1 ar1 0.5\n  dropout 0.3 by end",
            ),
        AR1_DESIGN
            .replace("power ar1", "power car1")
            .replace("simulations 800", "simulations 30, statistic lrt")
            .replace("ar1 0.5", "car1 0.6"),
        AR1_DESIGN
            .replace("power ar1", "power cs")
            .replace("simulations 800", "simulations 30")
            .replace("ar1 0.5", "cs 0.3"),
        AR1_DESIGN
            .replace("power ar1", "power varident")
            .replace("simulations 800", "simulations 30")
            .replace("ar1 0.5", "varident \"b\" 1.5"),
        BINOMIAL_DESIGN
            .replace("simulations 400", "simulations 20")
            .replace("family binomial", "family binomial\n  missed 0.1"),
        BINOMIAL_DESIGN
            .replace("power binary", "power counts")
            .replace("simulations 400", "simulations 20, statistic lrt")
            .replace("family binomial", "family poisson"),
        BINOMIAL_DESIGN
            .replace("power binary", "power overdispersed")
            .replace("simulations 400", "simulations 20")
            .replace("family binomial", "family negative-binomial theta 2"),
    ]
    .join("\n");
    let all = curves(&spec);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| curves(&spec));
    assert_eq!(all, one);
    for curve in &all {
        for r in &curve.rows {
            eprintln!(
                "{} N = {}: power {:.3} failed {} mean {:.4}",
                curve.name, r.subjects, r.power, r.failed, r.mean_estimate
            );
            assert!(
                r.failed * 4 < r.simulations,
                "{}: {} failed",
                curve.name,
                r.failed
            );
        }
    }
    assert_eq!(all[1].statistic, "lrt");
    assert_eq!(all[5].statistic, "lrt");
}

/// Power from a model with an AR(1) residual structure: the fitted φ carries over, each
/// resampled subject's residuals correlated over its own visits.
#[test]
fn power_from_a_model_with_a_residual_structure() {
    let spec = FROM_MODEL
        .replace("[method ML]", "[method ML, residual \"ar1(patient)\"]")
        .replace(
            "subjects 60, 155, 300, simulations 300",
            "subjects 60, 300, simulations 60",
        );
    let curve = &curves(&spec)[0];
    eprintln!("{:?}", curve.rows);
    assert!(curve.rows[0].power < curve.rows[1].power);
    for r in &curve.rows {
        assert!(r.failed * 10 < r.simulations, "{} failed", r.failed);
    }
}

#[test]
fn bad_residual_structures_and_families_are_reported_at_their_words() {
    let design = |residual: &str| {
        format!(
            r#"
power p: y ~ time * group + (time | id) [test "time:groupb"] {{
  subjects 40
  times 0, 1, 2
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3
  {residual}
}}
"#
        )
    };
    for (line, expected) in [
        ("residual sd 1 ar2 0.5", "`ar2` is not a residual structure"),
        (
            "residual sd 1 ar1 1.2",
            "the ar1 correlation must be between",
        ),
        (
            "residual sd 1 car1 0",
            "the car1 correlation must be above 0",
        ),
        (
            "residual sd 1 cs -0.6",
            "compound symmetry needs a correlation above -0.5",
        ),
        ("residual sd 1 ar1", "ar1 takes one number"),
        ("residual sd 1 varident \"a\" 2", "`a` is the first group"),
        (
            "residual sd 1 varident \"c\" 2",
            "`c` is not a group of the design",
        ),
        (
            "residual sd 1 varident \"b\" 0",
            "an SD ratio must be positive",
        ),
        (
            "family binomial\n  residual sd 1",
            "a generalized model has no residual standard deviation",
        ),
        ("family gaussian", "`gaussian` is not a family"),
        (
            "family negative-binomial",
            "the negative binomial needs its θ",
        ),
        (
            "family poisson link logit",
            "family poisson does not take the logit link",
        ),
        (
            "family binomial theta 2",
            "`theta` is not a setting of family binomial",
        ),
    ] {
        let rendered = problems(&design(line));
        assert!(rendered.contains(expected), "{line}:\n{rendered}");
    }
    let lmm_wald = problems(
        &design("residual sd 1").replace("\"time:groupb\"]", "\"time:groupb\", statistic wald]"),
    );
    assert!(
        lmm_wald.contains("Wald's z-test is for generalized models"),
        "{lmm_wald}"
    );
    let glmm_t = problems(&design("family binomial").replace(
        "\"time:groupb\"]",
        "\"time:groupb\", statistic satterthwaite]",
    ));
    assert!(
        glmm_t.contains("Satterthwaite's t-test is for linear models"),
        "{glmm_t}"
    );
    let glmm_reml = problems(
        &design("family poisson").replace("\"time:groupb\"]", "\"time:groupb\", method REML]"),
    );
    assert!(
        glmm_reml.contains("fitted by maximum likelihood"),
        "{glmm_reml}"
    );
    let elsewhere =
        problems(&FROM_MODEL.replace("[method ML]", "[method ML, residual \"ar1(outcome)\"]"));
    assert!(
        elsewhere.contains("residuals not grouped by subject"),
        "{elsewhere}"
    );
}

/// Covariates drawn per subject and simulation: the tested covariate's estimate is unbiased,
/// a binary covariate too, and the curve depends on the seed alone.
#[test]
fn covariates_are_drawn_per_subject() {
    let spec = r#"
power baseline: y ~ time * group + age + smoker + (time | id) [test "age", simulations 200, seed 4] {
  subjects 40, 120
  times 0, 1, 2, 3
  groups group "a" 0.5, "b" 0.5
  covariate age normal 40 10
  covariate smoker binary 0.3
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "age" 0.03, "smoker" -0.5, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3
  residual sd 1
}
"#;
    let all = curves(spec);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| curves(spec));
    assert_eq!(all, one);
    let curve = &all[0];
    for r in &curve.rows {
        eprintln!(
            "covariate N = {}: power {:.3} mean {:.4}",
            r.subjects, r.power, r.mean_estimate
        );
        // SE of age's estimate ≈ √(1 + 0.3²·1.5² + 1/4)/(10 √N) (the subject mean's SD over
        // the covariate's); the mean of 200 within 4 of its SEs.
        let se = (1.0f64 + 0.2 + 0.25).sqrt() / (10.0 * (r.subjects as f64).sqrt());
        assert!(
            (r.mean_estimate - 0.03).abs() < 4.0 * se / 200f64.sqrt(),
            "{}",
            r.mean_estimate
        );
    }
    assert!(curve.rows[0].power < curve.rows[1].power);
    let smoker = curves(&spec.replace("[test \"age\"", "[test \"smoker\""));
    for r in &smoker[0].rows {
        assert!((r.mean_estimate + 0.5).abs() < 0.1, "{}", r.mean_estimate);
    }
    let rendered = problems(&spec.replace(
        "covariate smoker binary 0.3",
        "covariate smoker binary 0.3\n  covariate weight uniform 1 2",
    ));
    assert!(
        rendered.contains("`uniform` is not a covariate's distribution"),
        "{rendered}"
    );
}

/// Kenward–Roger's test on request: for the balanced design both it and Satterthwaite's are
/// the two-sample t-test of the subjects' slopes (N − 2 df), so the same cohorts reject
/// alike; with a residual structure it is refused.
#[test]
fn kenward_roger_tests_on_request() {
    let spec = DESIGN
        .replace("simulations 2000", "simulations 150")
        .replace("subjects 40, 80, 120", "subjects 40");
    let satterthwaite = &curves(&spec)[0];
    let kr = &curves(&spec.replace("seed 11]", "seed 11, statistic kenward-roger]"))[0];
    assert_eq!(kr.statistic, "kenward-roger");
    assert_eq!(kr.method, "REML");
    eprintln!("{:?}\n{:?}", satterthwaite.rows, kr.rows);
    assert!((kr.rows[0].power - satterthwaite.rows[0].power).abs() <= 0.02);
    assert!((kr.rows[0].mean_estimate - satterthwaite.rows[0].mean_estimate).abs() < 1e-5);
    let refused = problems(&AR1_DESIGN.replace("seed 5]", "seed 5, statistic kenward-roger]"));
    assert!(
        refused.contains("not available with a residual structure"),
        "{refused}"
    );
}

/// Power from a generalized model fitted in the spec: remission (GAF ≥ 60) as a logistic
/// growth model of the bundled cohort. Cohorts are drawn from the fitted model's family with
/// its random intercepts, refitted by Laplace and tested by Wald's z (the model's own test);
/// the power of the outcome groups' slope difference grows with the subjects, the
/// estimates centre on the value tested, and the curve is the same whatever the threads.
#[test]
fn power_from_a_generalized_model() {
    let spec = r#"
data "../../data/mbt_cohort.csv" { subject patient; time months }
instrument "gaf"
derive final_gaf = last(if months == 36 then GAF else NA)
derive outcome = if final_gaf >= 60 then "good" else "poor"
derive remission = if GAF >= 60 then 1 else 0
model remission: remission ~ months * outcome + (1 | patient) [family binomial]
power replication from remission [test "months:outcomepoor" = -0.05, subjects 60, 240, simulations 120, seed 5]
"#;
    let curve = &curves(spec)[0];
    assert_eq!(curve.statistic, "wald");
    assert_eq!(curve.method, "ML (Laplace)");
    eprintln!("{:?}", curve.rows);
    assert!(curve.rows[0].power < curve.rows[1].power);
    for r in &curve.rows {
        assert!(r.failed * 10 < r.simulations, "{} failed", r.failed);
    }
    let big = &curve.rows[1];
    assert!(
        (big.mean_estimate + 0.05).abs() < 0.02,
        "{}",
        big.mean_estimate
    );
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| curves(spec));
    assert_eq!(format!("{:?}", one[0].rows), format!("{:?}", curve.rows));
}
