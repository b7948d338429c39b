//! One simulated cohort's response, its fit and its test: `y = Xβ + Zb + ε` with `b` drawn
//! per level of each random-effect term from that term's covariance and `ε ~ N(0, σ²C)`
//! (`C` the residual structure's correlation, the identity without one), the model
//! refitted, and the tested coefficient's Satterthwaite t-test (or a likelihood-ratio test
//! against the model without it). A generalized model draws `y` from its family at the
//! mean `g⁻¹(Xβ + Zb)`, and is tested by Wald's z (or the likelihood ratio).

use mixspec_dsl::spec::{cholesky, PowerStatistic};
use mixspec_engine::design::GlmResponse;
use mixspec_engine::family::{Family, Link};
use mixspec_engine::fit::glmm::{fit_glmm, GlmmOptions};
use mixspec_engine::fit::{Problem, ResidualModel};
use mixspec_engine::inference::{
    add_random_draws, add_random_effects, chi_square_upper_tail, KenwardRoger, Satterthwaite,
};
use mixspec_engine::{Design, FitOptions};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal, StandardUniform};

/// Budget of objective evaluations for one fit, as the bootstrap's refits.
pub(crate) const MAX_EVALUATIONS: usize = 100_000;

/// The covariance of each random-effect term the simulated designs have, by its grouping
/// factor and effects, as a lower Cholesky factor.
pub(crate) struct RandomTerms(pub Vec<(String, Vec<String>, Vec<f64>)>);

impl RandomTerms {
    fn factor(&self, group: &str, names: &[String]) -> &[f64] {
        self.0
            .iter()
            .find(|(g, n, _)| g == group && n == names)
            .map(|(_, _, l)| l.as_slice())
            .expect("every simulated term has its covariance")
    }

    /// The terms of `design`, each with the part of `covariance` (over `effects`) its effects
    /// take; `None` when a term's covariance is not positive definite.
    pub(crate) fn from_covariance(
        design: &Design,
        effects: &[String],
        covariance: &[f64],
    ) -> Option<RandomTerms> {
        let q = effects.len();
        let index = |name: &String| {
            effects
                .iter()
                .position(|e| e == name)
                .expect("checked names")
        };
        let mut out = Vec::new();
        for block in &design.random {
            let at: Vec<usize> = block.names.iter().map(index).collect();
            let sub: Vec<f64> = at
                .iter()
                .flat_map(|&i| at.iter().map(move |&j| covariance[i * q + j]))
                .collect();
            out.push((
                block.group.clone(),
                block.names.clone(),
                cholesky(&sub, at.len())?,
            ));
        }
        Some(RandomTerms(out))
    }
}

/// How a cohort's residuals are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Residuals<'a> {
    /// Independent, `N(0, σ²)`.
    Independent,
    /// Correlated as the refit's residual structure at φ (bound to the cohort's rows).
    Structured(&'a ResidualModel, &'a [f64]),
    /// Independent with a per-row SD ratio (a fitted varident model's, carried to the
    /// resampled rows).
    Scaled(&'a [f64]),
}

/// Adds `Zb + ε` to `mean` (one value per row of `design`), drawing from `rng`: the random
/// effects, then one standard normal per row, in row order, made into `ε` by the residual
/// structure (independent residuals draw exactly as the parametric bootstrap does).
pub(crate) fn response(
    design: &Design,
    terms: &RandomTerms,
    sigma: f64,
    residuals: Residuals<'_>,
    mut y: Vec<f64>,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let factor = |k: usize| {
        let block = &design.random[k];
        terms.factor(&block.group, &block.names)
    };
    if let Residuals::Independent = residuals {
        add_random_draws(design, factor, sigma, &mut y, rng);
        return y;
    }
    add_random_effects(design, factor, &mut y, rng);
    let mut e: Vec<f64> = (0..y.len()).map(|_| StandardNormal.sample(rng)).collect();
    match residuals {
        Residuals::Structured(model, phi) => {
            model
                .colour(phi, &mut e)
                .expect("φ is checked to be admissible");
        }
        Residuals::Scaled(ratio) => e.iter_mut().zip(ratio).for_each(|(e, r)| *e *= r),
        Residuals::Independent => unreachable!("returned above"),
    }
    y.iter_mut().zip(&e).for_each(|(y, e)| *y += sigma * e);
    y
}

/// A generalized model's response: the linear predictor `mean + Zb`, then per row a draw
/// from the family at `μ = g⁻¹(η)` — a 0/1 outcome, a Poisson count, or a negative binomial
/// count as a Poisson of a gamma-distributed rate (shape θ, mean μ).
pub(crate) fn counts(
    design: &Design,
    terms: &RandomTerms,
    family: Family,
    link: Link,
    mut eta: Vec<f64>,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    add_random_effects(
        design,
        |k| {
            let block = &design.random[k];
            terms.factor(&block.group, &block.names)
        },
        &mut eta,
        rng,
    );
    let poisson = |lambda: f64, rng: &mut ChaCha8Rng| -> f64 {
        Poisson::new(lambda).map_or(0.0, |d| d.sample(rng))
    };
    eta.iter()
        .map(|&e| {
            let (mu, _) = link.mean(e);
            match family {
                Family::Binomial => {
                    let u: f64 = StandardUniform.sample(rng);
                    f64::from(u8::from(u < mu))
                }
                Family::Poisson => poisson(mu, rng),
                Family::NegativeBinomial { theta } => {
                    let rate = Gamma::new(theta, mu / theta).map_or(0.0, |g| g.sample(rng));
                    poisson(rate, rng)
                }
            }
        })
        .collect()
}

/// What is tested in each simulated cohort.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A column of the model matrix, by name.
    Coefficient(String),
    /// Every column of a fixed-effect term (R's `assign` index: 1 + the term's position).
    Term(usize),
}

/// One simulated cohort's test: whether it rejected, and the tested coefficient's estimate
/// (NaN for a term of several columns). `None` when a fit failed or did not converge, or the
/// coefficient could not be estimated.
pub(crate) type Outcome = Option<(bool, f64)>;

/// θ̂ of the problem's fit from its own start, or `None` when the fit failed or did not
/// converge.
fn fitted(problem: &mut Problem) -> Option<Vec<f64>> {
    let start = problem.start();
    let optimum = problem.minimise(&start, MAX_EVALUATIONS);
    (optimum.objective.is_finite() && optimum.converged).then_some(optimum.theta)
}

/// The columns of `design` the target names; empty when the cohort lost them (a group no
/// subject was drawn from, an aliased column).
fn columns(design: &Design, target: &Target) -> Vec<usize> {
    match target {
        Target::Coefficient(name) => design
            .x_names
            .iter()
            .position(|n| n == name)
            .into_iter()
            .collect(),
        Target::Term(term) => (0..design.p())
            .filter(|&j| design.x_origins[j].term == *term)
            .collect(),
    }
}

/// The design without the given columns of `X`: the model without the tested term.
fn without(design: &Design, drop: &[usize]) -> Design {
    let n = design.n();
    let keep: Vec<usize> = (0..design.p()).filter(|j| !drop.contains(j)).collect();
    let mut reduced = design.clone();
    reduced.x = keep
        .iter()
        .flat_map(|&j| design.x[j * n..(j + 1) * n].iter().copied())
        .collect();
    reduced.x_names = keep.iter().map(|&j| design.x_names[j].clone()).collect();
    reduced.x_origins = keep.iter().map(|&j| design.x_origins[j].clone()).collect();
    reduced
}

/// Fits a generalized model's cohort (`design` with the simulated `counts`) and tests
/// `target` by Wald's z or the likelihood ratio at level `alpha`. `None` when a fit fails or
/// does not converge.
pub(crate) fn test_glmm(
    design: Design,
    counts: Vec<f64>,
    options: &GlmmOptions,
    target: &Target,
    statistic: PowerStatistic,
    alpha: f64,
) -> Outcome {
    let cols = columns(&design, target);
    if cols.is_empty() {
        return None;
    }
    let response = GlmResponse {
        name: "simulated response".into(),
        source_name: "<power design>".into(),
        lines: (1..=counts.len() as u64).collect(),
        counts,
        failures: None,
        levels: None,
    };
    let reduced = (statistic == PowerStatistic::LikelihoodRatio).then(|| without(&design, &cols));
    let full = fit_glmm(design, response.clone(), options)
        .ok()
        .filter(|f| f.convergence.converged)?;
    let estimate = if cols.len() == 1 {
        full.beta[cols[0]]
    } else {
        f64::NAN
    };
    let p = match reduced {
        Some(reduced) => {
            let fit0 = fit_glmm(reduced, response, options)
                .ok()
                .filter(|f| f.convergence.converged)?;
            let chi_square = (fit0.objective - full.objective).max(0.0);
            chi_square_upper_tail(chi_square, cols.len() as f64)
        }
        None => full.z_tests()[cols[0]].p,
    };
    p.is_finite().then_some((p < alpha, estimate))
}

/// Fits the cohort in `problem` (whose response is already set) and tests `target` at level
/// `alpha`.
pub(crate) fn test(
    problem: &mut Problem,
    target: &Target,
    statistic: PowerStatistic,
    alpha: f64,
) -> Outcome {
    let cols = columns(&problem.design, target);
    if cols.is_empty() {
        return None;
    }
    let estimate_of = |beta: &[f64]| {
        if cols.len() == 1 {
            beta[cols[0]]
        } else {
            f64::NAN
        }
    };
    match statistic {
        PowerStatistic::KenwardRoger => {
            // pbkrtest's adjustment needs the fit's variance components: a whole REML fit.
            let options = FitOptions {
                reml: true,
                max_evaluations: MAX_EVALUATIONS,
                satterthwaite: false,
            };
            let fit = mixspec_engine::fit(problem.design.clone(), &options)
                .ok()
                .filter(|f| f.convergence.converged)?;
            let kr = KenwardRoger::new(&problem.design, &fit.random, fit.sigma).ok()?;
            let t = kr.coefficient_tests(&fit.beta)[cols[0]];
            t.p.is_finite().then(|| (t.p < alpha, fit.beta[cols[0]]))
        }
        PowerStatistic::Satterthwaite | PowerStatistic::Wald => {
            let theta = fitted(problem)?;
            let c = problem.conditional_at(&theta)?;
            let sigma = (c.deviance.pwrss / c.deviance.dof).sqrt();
            let mut l = vec![0.0; problem.design.p()];
            l[cols[0]] = 1.0;
            let t = Satterthwaite::new(problem, &theta, sigma).t_test(&l, &c.beta);
            t.p.is_finite().then(|| (t.p < alpha, estimate_of(&c.beta)))
        }
        PowerStatistic::LikelihoodRatio => {
            let theta = fitted(problem)?;
            let full = problem.objective(&theta);
            let beta = problem.conditional_at(&theta)?.beta;
            let mut reduced = Problem::new(without(&problem.design, &cols), false).ok()?;
            let theta0 = fitted(&mut reduced)?;
            let chi_square = (reduced.objective(&theta0) - full).max(0.0);
            let p = chi_square_upper_tail(chi_square, cols.len() as f64);
            p.is_finite().then(|| (p < alpha, estimate_of(&beta)))
        }
    }
}
