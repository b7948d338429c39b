//! The analytic derivatives of the deviance against central differences of the deviance
//! itself: the gradient the quasi-Newton search follows (ML and REML, each covariance
//! type, one and several grouping factors — nested or crossed, scalar and vector terms —
//! on and off the boundary) and the Jacobian of (R_X R_X')⁻¹ behind Satterthwaite's degrees
//! of freedom. The data in `tests/data/derivatives/` are `benches/make_issue19_data.py
//! tests/data/derivatives small`. With a residual structure (AR(1), CAR(1), compound
//! symmetry, varident) the gradient and Jacobian run over θ and then φ.

use mixspec_engine::fit::Problem;
use mixspec_engine::spec::{CovarianceType, ResidualSpec};
use mixspec_engine::{read_csv, Design};

fn problem(file: &str, formula: &str, kind: CovarianceType, reml: bool) -> Problem {
    problem_in("reference", file, formula, Some(kind), reml)
}

/// The problem for `formula` on `tests/data/{dir}/{file}`, every random term of covariance
/// `kind` if given (else as the formula says).
fn problem_in(
    dir: &str,
    file: &str,
    formula: &str,
    kind: Option<CovarianceType>,
    reml: bool,
) -> Problem {
    with_residual(dir, file, formula, kind, None, reml)
}

/// [`problem_in`] with a residual structure (`ar1(g)`, `car1(t | g)`, `cs(g)`,
/// `varident(f)`).
fn with_residual(
    dir: &str,
    file: &str,
    formula: &str,
    kind: Option<CovarianceType>,
    residual: Option<&str>,
    reml: bool,
) -> Problem {
    let path = format!("{}/tests/data/{dir}/{file}", env!("CARGO_MANIFEST_DIR"));
    let data = read_csv(std::fs::File::open(&path).unwrap(), &path).unwrap();
    let mut spec = mixspec_dsl::parse_formula(formula).unwrap();
    if let Some(kind) = kind {
        spec.random.iter_mut().for_each(|r| r.covariance = kind);
    }
    spec.residual = residual.map(|r| ResidualSpec::parse(r).unwrap());
    let problem = Problem::new(Design::build(&spec, &data).unwrap(), reml).unwrap();
    assert!(problem.has_gradient(), "{formula}");
    problem
}

/// Central difference of `f` along coordinate `i`.
fn central<T>(
    theta: &[f64],
    i: usize,
    h: f64,
    mut f: impl FnMut(&[f64]) -> T,
    diff: impl Fn(T, T) -> Vec<f64>,
) -> Vec<f64> {
    let (mut plus, mut minus) = (theta.to_vec(), theta.to_vec());
    plus[i] += h;
    minus[i] -= h;
    let (fp, fm) = (f(&plus), f(&minus));
    diff(fp, fm).into_iter().map(|d| d / (2.0 * h)).collect()
}

fn assert_close(analytic: f64, numeric: f64, scale: f64, what: &str) {
    assert!(
        (analytic - numeric).abs() <= 1e-5 * scale.max(analytic.abs()) + 1e-7,
        "{what}: analytic {analytic} vs central difference {numeric}"
    );
}

/// Checks the gradient and the Jacobian of (R_X R_X')⁻¹ at `theta`.
fn check(mut problem: Problem, theta: &[f64], what: &str) {
    let n = theta.len();
    let mut grad = vec![0.0; n];
    problem.objective_gradient(theta, &mut grad);
    let scale = grad.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    let vcov = problem.derivatives(theta, true).unwrap().unscaled_vcov;
    let p2 = vcov.len() / n;
    for i in 0..n {
        let h = 1e-5 * theta[i].abs().max(1e-2);
        let g = central(theta, i, h, |t| problem.objective(t), |a, b| vec![a - b]);
        assert_close(grad[i], g[0], scale, &format!("{what}: ∂/∂θ{i}"));
        let j = central(
            theta,
            i,
            h,
            |t| problem.unscaled_vcov_at(t).unwrap(),
            |a, b| a.iter().zip(&b).map(|(x, y)| x - y).collect(),
        );
        let vscale = j.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (e, (a, b)) in vcov[i * p2..(i + 1) * p2].iter().zip(&j).enumerate() {
            assert_close(*a, *b, vscale, &format!("{what}: ∂C[{e}]/∂θ{i}"));
        }
    }
}

#[test]
fn one_factor_unstructured_ml_and_reml() {
    for reml in [false, true] {
        let p = problem(
            "sleepstudy.csv",
            "Reaction ~ Days + (Days | Subject)",
            CovarianceType::Unstructured,
            reml,
        );
        check(p, &[0.9, 0.05, 0.25], &format!("sleepstudy reml={reml}"));
    }
}

#[test]
fn one_factor_on_the_boundary() {
    // The slope's relative SD at zero: the derivative in it is zero, the others are not.
    let p = problem(
        "sleepstudy.csv",
        "Reaction ~ Days + (Days | Subject)",
        CovarianceType::Unstructured,
        true,
    );
    check(p, &[0.9, 0.05, 0.0], "sleepstudy, θ₃ = 0");
}

#[test]
fn one_factor_diagonal_and_compound_symmetry() {
    let p = problem(
        "sleepstudy.csv",
        "Reaction ~ Days + (Days | Subject)",
        CovarianceType::Diagonal,
        true,
    );
    check(p, &[0.9, 0.25], "sleepstudy, diagonal");
    let p = problem(
        "orthodont.csv",
        "distance ~ age * Sex + (age | Subject)",
        CovarianceType::CompoundSymmetry,
        true,
    );
    check(p, &[0.5, 0.3], "orthodont, compound symmetry");
}

#[test]
fn crossed_and_nested_scalar_terms() {
    let p = problem(
        "penicillin.csv",
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        CovarianceType::Unstructured,
        true,
    );
    check(p, &[1.2, 3.0], "penicillin");
    let p = problem(
        "pastes.csv",
        "strength ~ 1 + (1 | batch/cask)",
        CovarianceType::Unstructured,
        false,
    );
    check(p, &[3.0, 1.0], "pastes");
    let p = problem(
        "cake.csv",
        "angle ~ recipe * temp + (1 | replicate) + (1 | recipe:replicate)",
        CovarianceType::Unstructured,
        true,
    );
    check(p, &[0.8, 0.1], "cake");
}

const KB07: &str = "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj) \
                    + (1 + spkr + prec + load | item)";
const THERAPIST: &str = "y ~ months + (months | therapist) + (months | therapist:patient)";
const STAR: &str = "math ~ yrs + (yrs | id) + (1 | tch) + (yrs | sch)";

fn simulated(file: &str, formula: &str, kind: Option<CovarianceType>, reml: bool) -> Problem {
    problem_in("derivatives", file, formula, kind, reml)
}

#[test]
fn crossed_vector_terms() {
    let subj = [0.4, 0.05, -0.03, 0.02, 0.2, 0.04, -0.01, 0.15, 0.03, 0.1];
    let item = [0.5, -0.04, 0.06, 0.01, 0.12, 0.02, 0.03, 0.2, -0.05, 0.08];
    let theta: Vec<f64> = subj.iter().chain(&item).copied().collect();
    for reml in [false, true] {
        let p = simulated("kb07.csv", KB07, None, reml);
        check(p, &theta, &format!("kb07-shaped reml={reml}"));
    }
    let p = simulated("kb07.csv", KB07, Some(CovarianceType::Diagonal), true);
    check(
        p,
        &[0.4, 0.2, 0.15, 0.1, 0.5, 0.12, 0.2, 0.08],
        "kb07-shaped, diagonal",
    );
}

#[test]
fn nested_vector_terms() {
    for reml in [false, true] {
        let p = simulated("therapist.csv", THERAPIST, None, reml);
        check(
            p,
            &[0.9, 0.05, 0.2, 0.6, 0.02, 0.1],
            &format!("therapist reml={reml}"),
        );
    }
    let p = simulated("therapist.csv", THERAPIST, None, true);
    check(
        p,
        &[0.9, 0.05, 0.2, 0.6, 0.02, 0.0],
        "therapist, slope SD 0",
    );
    let p = simulated("therapist.csv", THERAPIST, None, true);
    check(
        p,
        &[0.9, 0.05, 0.0, 0.6, 0.02, 0.1],
        "therapist, patient slope SD 0",
    );
    let p = simulated(
        "therapist.csv",
        THERAPIST,
        Some(CovarianceType::CompoundSymmetry),
        true,
    );
    check(p, &[0.8, 0.3, 0.5, -0.2], "therapist, compound symmetry");
}

#[test]
fn mixed_scalar_and_vector_terms() {
    for reml in [false, true] {
        let p = simulated("star_like.csv", STAR, None, reml);
        check(
            p,
            &[1.2, 0.05, 0.25, 0.4, 0.5, 0.03, 0.12],
            &format!("STAR-like reml={reml}"),
        );
    }
    let p = simulated("star_like.csv", STAR, None, false);
    check(
        p,
        &[1.2, 0.05, 0.25, 0.0, 0.5, 0.03, 0.12],
        "STAR-like, teacher SD 0",
    );
}

#[test]
fn uncorrelated_vector_terms() {
    let p = simulated(
        "kb07.csv",
        "rt ~ 1 + spkr + (1 + spkr || subj) + (1 + spkr || item)",
        None,
        true,
    );
    let n = p.n_theta();
    let theta: Vec<f64> = (0..n).map(|i| 0.1 + 0.07 * i as f64).collect();
    check(p, &theta, "kb07-shaped ||");
}

fn residual(dir: &str, file: &str, formula: &str, structure: &str, reml: bool) -> Problem {
    with_residual(dir, file, formula, None, Some(structure), reml)
}

const OVARY: &str = "follicles ~ sin2pt + cos2pt + (1 | Mare)";
const ORTHODONT: &str = "distance ~ age * Sex + (age | Subject)";

#[test]
fn ar1_and_car1_residuals() {
    for reml in [false, true] {
        let what = format!("reml={reml}");
        let p = residual("reference/residual", "ovary.csv", OVARY, "ar1(Mare)", reml);
        check(p, &[0.8, 0.5], &format!("ovary AR(1) {what}"));
        let p = residual("reference/residual", "ovary.csv", OVARY, "ar1(Mare)", reml);
        check(p, &[0.3, -0.4], &format!("ovary AR(1), φ < 0 {what}"));
        // Times 0.05 apart: ρ = φ^Δt with Δt < 1.
        let p = residual(
            "reference/residual",
            "ovary.csv",
            OVARY,
            "car1(Time | Mare)",
            reml,
        );
        check(p, &[0.8, 0.2], &format!("ovary CAR(1) {what}"));
        // A vector random term.
        let p = residual(
            "reference/residual",
            "orthodont.csv",
            ORTHODONT,
            "car1(age | Subject)",
            reml,
        );
        check(
            p,
            &[0.9, 0.05, 0.1, 0.4],
            &format!("orthodont CAR(1) {what}"),
        );
    }
    // On the boundary of the random slope's SD.
    let p = residual(
        "reference/residual",
        "orthodont.csv",
        ORTHODONT,
        "car1(age | Subject)",
        true,
    );
    check(p, &[0.9, 0.05, 0.0, 0.4], "orthodont CAR(1), slope SD 0");
}

#[test]
fn compound_symmetry_and_varident_residuals() {
    for reml in [false, true] {
        let what = format!("reml={reml}");
        let p = residual(
            "reference",
            "sleepstudy.csv",
            "Reaction ~ Days + (Days | Subject)",
            "cs(Subject)",
            reml,
        );
        check(p, &[0.9, 0.05, 0.25, 0.3], &format!("sleepstudy CS {what}"));
        let p = residual(
            "reference",
            "orthodont.csv",
            "distance ~ age * Sex + (1 | Subject)",
            "varident(Sex)",
            reml,
        );
        check(p, &[0.7, 1.8], &format!("orthodont varident {what}"));
        // Ten ratios, one per mare but the first.
        let p = residual(
            "reference/residual",
            "ovary.csv",
            OVARY,
            "varident(Mare)",
            reml,
        );
        let ratios = (0..10).map(|i| 0.6 + 0.1 * i as f64);
        let params: Vec<f64> = std::iter::once(0.8).chain(ratios).collect();
        check(p, &params, &format!("ovary varident by mare {what}"));
    }
}

#[test]
fn residual_structures_without_random_effects() {
    for reml in [false, true] {
        let what = format!("reml={reml}");
        let p = residual(
            "reference",
            "sleepstudy.csv",
            "Reaction ~ Days",
            "ar1(Subject)",
            reml,
        );
        check(p, &[0.6], &format!("gls AR(1) {what}"));
        let p = residual(
            "reference",
            "orthodont.csv",
            "distance ~ age * Sex",
            "car1(age | Subject)",
            reml,
        );
        check(p, &[0.5], &format!("gls CAR(1) {what}"));
        let p = residual(
            "reference",
            "sleepstudy.csv",
            "Reaction ~ Days",
            "cs(Subject)",
            reml,
        );
        check(p, &[0.4], &format!("gls CS {what}"));
        let p = residual(
            "reference",
            "orthodont.csv",
            "distance ~ age",
            "varident(Sex)",
            reml,
        );
        check(p, &[1.5], &format!("gls varident {what}"));
    }
}

/// Residual structures with several grouping factors: patients nested in therapists (a
/// vector term on each; `case` is therapist.patient, the residual group), intercepts written
/// as two terms, and subjects crossed with items (varident, whose groups are single rows).
/// The data are `benches/make_issue19_data.py DIR small`'s `therapist_ar1.csv` and
/// `kb07.csv` with a factor `speaker` added.
#[test]
fn residual_structures_with_several_factors() {
    let theta = [0.9, 0.05, 0.2, 0.6, 0.02, 0.1];
    let with = |phi: &[f64]| -> Vec<f64> { theta.iter().chain(phi).copied().collect() };
    for reml in [false, true] {
        let what = format!("reml={reml}");
        let nested = |structure| {
            residual(
                "derivatives",
                "therapist_ar1.csv",
                THERAPIST,
                structure,
                reml,
            )
        };
        check(
            nested("ar1(case)"),
            &with(&[0.4]),
            &format!("therapist AR(1) {what}"),
        );
        check(
            nested("ar1(case)"),
            &with(&[-0.3]),
            &format!("therapist AR(1), φ < 0 {what}"),
        );
        check(
            nested("car1(months | case)"),
            &with(&[0.5]),
            &format!("therapist CAR(1) {what}"),
        );
        check(
            nested("cs(case)"),
            &with(&[0.3]),
            &format!("therapist CS {what}"),
        );
        check(
            nested("varident(months)"),
            &with(&[1.4, 0.7, 1.1, 0.9, 1.2]),
            &format!("therapist varident {what}"),
        );
        let p = residual(
            "derivatives",
            "therapist_ar1.csv",
            "y ~ months + (1 | therapist) + (1 | case)",
            "cs(case)",
            reml,
        );
        check(p, &[0.7, 0.5, -0.1], &format!("two intercepts, CS {what}"));
        let p = residual(
            "derivatives",
            "kb07_residual.csv",
            "rt ~ 1 + spkr + prec + load + (1 + spkr | subj) + (1 + prec | item)",
            "varident(speaker)",
            reml,
        );
        check(
            p,
            &[0.4, 0.05, 0.2, 0.5, -0.04, 0.12, 1.3],
            &format!("crossed, varident {what}"),
        );
    }
    // On the boundary of the patients' slope SD, and of the therapists'.
    check(
        residual(
            "derivatives",
            "therapist_ar1.csv",
            THERAPIST,
            "ar1(case)",
            true,
        ),
        &[0.9, 0.05, 0.0, 0.6, 0.02, 0.1, 0.4],
        "therapist AR(1), a slope SD 0",
    );
    check(
        residual(
            "derivatives",
            "therapist_ar1.csv",
            THERAPIST,
            "car1(months | case)",
            false,
        ),
        &[0.9, 0.05, 0.2, 0.6, 0.02, 0.0, 0.5],
        "therapist CAR(1), the other slope SD 0",
    );
}

/// The dense block as a sparse factor (`engine/src/fit/sparse.rs`: over 128 random effects
/// after the first term, coupled to few of each other — teachers crossed with students
/// within schools, therapists): the gradient and Jacobian against differences, on and off
/// the boundary, and the optimum against lme4's (`sparse_reference.R` and `.txt` there).
#[test]
fn sparse_dense_block() {
    use mixspec_engine::fit::{fit, FitOptions};
    let star = [1.3, 0.1, 0.1, 0.35, 0.5, 0.03, 0.1];
    let therapist = [1.3, 0.14, 0.16, 0.6, 0.08, 0.09];
    let cases = [
        (
            "star_sparse.csv",
            STAR,
            &star[..],
            [13426.579307, 13430.378617],
        ),
        (
            "therapist_sparse.csv",
            THERAPIST,
            &therapist[..],
            [4775.535311, 4772.893177],
        ),
    ];
    for (file, formula, theta, lme4) in cases {
        for (reml, lme4) in [(true, lme4[0]), (false, lme4[1])] {
            let p = simulated(file, formula, None, reml);
            assert!(p.sparse_dense_block(), "{file}: the sparse path");
            check(
                simulated(file, formula, None, reml),
                theta,
                &format!("{file} reml={reml}"),
            );
            let mut at_zero = theta.to_vec();
            at_zero[3] = 0.0;
            let what = format!("{file} reml={reml}, a later SD at 0");
            check(simulated(file, formula, None, reml), &at_zero, &what);

            let design = p.design;
            let options = FitOptions {
                reml,
                ..FitOptions::default()
            };
            let fitted = fit(design, &options).unwrap();
            assert!(
                fitted.objective <= lme4 + 1e-6 && fitted.objective > lme4 - 1e-3,
                "{file} reml={reml}: objective {} vs lme4's {lme4}",
                fitted.objective
            );
        }
    }
}

/// Issue 19 item 3: on the several-factor models (STAR-, therapist- and kb07-shaped)
/// Satterthwaite's degrees of freedom come from the analytic derivatives — the problems
/// have a gradient (`simulated` asserts it), so `Satterthwaite::new` takes them — and
/// agree with lmerTest's (`satterthwaite_reference.R`), to well within the 1% the other
/// references allow: the fits are at lme4's optimum, and lmerTest's numerical Hessian
/// differs from the analytic one by its own truncation error.
#[test]
fn satterthwaite_several_factors() {
    use mixspec_engine::fit::{fit, FitOptions};
    let path = format!(
        "{}/tests/data/derivatives/satterthwaite_reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let formula = case["formula"].as_str().unwrap();
        let reml = case["reml"].as_bool().unwrap();
        let problem = simulated(file, formula, None, reml);
        let options = FitOptions {
            reml,
            ..FitOptions::default()
        };
        let fitted = fit(problem.design, &options).unwrap();
        let lme4 = case["objective"].as_f64().unwrap();
        assert!(
            fitted.objective <= lme4 + 1e-6,
            "{file}: objective {} vs lme4's {lme4}",
            fitted.objective
        );
        let tests = fitted.t_tests.as_ref().expect("Satterthwaite t-tests");
        for (j, c) in case["coefficients"].as_array().unwrap().iter().enumerate() {
            let name = c["name"].as_str().unwrap();
            assert_eq!(fitted.fixed_names[j], name, "{file}");
            let df = c["df"].as_f64().unwrap();
            assert!(
                (tests[j].df / df - 1.0).abs() < 2e-3,
                "{file} {name}: df {} vs lmerTest's {df}",
                tests[j].df
            );
            let p = c["p"].as_f64().unwrap();
            assert!(
                (tests[j].p.log10() - p.log10()).abs() < 1e-2,
                "{file} {name}: p {} vs lmerTest's {p}",
                tests[j].p
            );
        }
    }
}
