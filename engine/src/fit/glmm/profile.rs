//! Profile-likelihood intervals of a generalized mixed model, as lme4's
//! `confint(fit, method = "profile")` computes them for a glmer fit: the deviance the fit
//! minimised (Laplace or adaptive quadrature) is profiled over the standard deviations and
//! correlations of the random effects and the fixed effects, each held in turn while every
//! other parameter is re-optimised (lme4's `devfun2` for a GLMM), and the interval ends
//! where the signed root ζ(ψ) = sign(ψ − ψ̂)·√(D(ψ) − D̂) reaches ±1.96. The negative
//! binomial's θ is profiled too, as glmmTMB profiles its dispersion parameter for
//! `nbinom2`: on the log scale the fit searches, its ends mapped back to θ (a profile
//! interval follows a monotone transformation exactly).
//!
//! The machinery is the linear engine's ([`crate::inference`]'s profile): covariance
//! parameters reach θ through `S·chol(R)`, ends are found by root-finding on ζ itself
//! rather than by lme4's splines through a grid. Unlike a linear model, a GLMM's fixed
//! effects are parameters of the deviance, so a coefficient is held as one more coordinate
//! (no offset refit is needed). Each inner search is the fit's own second stage: BOBYQA over
//! the other parameters, the fixed effects in units of their standard errors.

use super::{GlmmFit, GlmmOptions, GlmmProblem, NB_LOG_THETA_RANGE};
use crate::design::{Design, GlmResponse};
use crate::error::ModelError;
use crate::fit::optimize::minimise;
use crate::inference::{
    chol_theta, profile_end, profile_terms, random_parameters, random_values, signed_root,
    Interval, Parameter, Z,
};

/// Budget of evaluations for one inner optimisation.
const MAX_EVALUATIONS: usize = 20_000;

/// 95% profile-likelihood intervals for the random effects' standard deviations and
/// correlations, the fixed effects and (negative binomial) θ_NB of `fit`, made from
/// `design` and `response` with `options`.
pub fn profile_intervals(
    design: &Design,
    response: &GlmResponse,
    options: &GlmmOptions,
    fit: &GlmmFit,
) -> Result<Vec<Interval>, ModelError> {
    let terms = profile_terms(design)?;
    let (problem, _) = GlmmProblem::new(design.clone(), response, options)?;
    let covariances: Vec<Vec<f64>> = fit.random.iter().map(|r| r.covariance.clone()).collect();
    let mut estimates = random_values(design, &covariances);
    let n_cov = estimates.len();
    let mut parameters = random_parameters(design, &fit.random);
    parameters.extend(
        fit.fixed_names
            .iter()
            .map(|term| Parameter::Fixed { term: term.clone() }),
    );
    estimates.extend_from_slice(&fit.beta);
    // Bounds and search scale per coordinate: standard deviations from 0, correlations
    // within ±1, coefficients free and searched in units of their standard errors, log θ_NB
    // within the fit's range.
    let mut lower = Vec::with_capacity(estimates.len() + 1);
    let mut upper = Vec::with_capacity(estimates.len() + 1);
    for (_, entries) in &terms {
        for &(a, b) in entries {
            lower.push(if a == b { 0.0 } else { -1.0 });
            upper.push(if a == b { f64::INFINITY } else { 1.0 });
        }
    }
    // A standard deviation in its column's units, as the fit searches θ.
    let mut scale: Vec<f64> = terms
        .iter()
        .flat_map(|(_, e)| e)
        .zip(&problem.unit)
        .map(|(&(a, b), &u)| if a == b { u } else { 1.0 })
        .collect();
    for s in fit.std_errors() {
        lower.push(f64::NEG_INFINITY);
        upper.push(f64::INFINITY);
        scale.push(if s.is_finite() && s > 0.0 { s } else { 1.0 });
    }
    if let Some(nb) = fit.nb_theta {
        parameters.push(Parameter::NbTheta);
        estimates.push(nb.ln());
        lower.push(NB_LOG_THETA_RANGE.0);
        upper.push(NB_LOG_THETA_RANGE.1);
        scale.push(1.0);
    }
    let has_correlations = parameters
        .iter()
        .any(|p| matches!(p, Parameter::Cor { .. }));
    let mut profiler = Profiler {
        problem,
        terms,
        n_cov,
        base: fit.objective,
        estimates,
        lower,
        upper,
        scale,
        has_correlations,
    };
    let mut intervals = Vec::with_capacity(parameters.len());
    for (i, parameter) in parameters.into_iter().enumerate() {
        let estimate = profiler.estimates[i];
        let step = match parameter {
            Parameter::Fixed { .. } => Z * profiler.scale[i],
            Parameter::Cor { .. } => 0.1,
            Parameter::Sd { .. } => 0.25 * estimate.max(0.1 * profiler.scale[i]),
            Parameter::NbTheta => 0.5,
        };
        let finite = |x: f64| x.is_finite().then_some(x);
        let (lo, hi) = (finite(profiler.lower[i]), finite(profiler.upper[i]));
        let mut ends = [(-1.0, lo), (1.0, hi)].map(|(dir, edge)| {
            let mut warm = profiler.searched(i, &profiler.estimates);
            let mut zeta = |v| profiler.zeta(i, v, estimate, &mut warm);
            profile_end(&mut zeta, estimate, dir, step, edge)
        });
        if parameter == Parameter::NbTheta {
            // θ_NB at the search's bound is no end: the likelihood stays within the
            // interval's reach all the way to θ → 0 or θ → ∞ (a Poisson model).
            let open = [0.0, f64::INFINITY];
            for (e, (bound, open)) in ends.iter_mut().zip([lo, hi].into_iter().zip(open)) {
                *e = if Some(*e) == bound { open } else { e.exp() };
            }
        }
        intervals.push(Interval {
            parameter,
            lower: ends[0],
            upper: ends[1],
        });
    }
    Ok(intervals)
}

/// The deviance of one fitted model and its optimum, for holding one parameter at a time.
struct Profiler {
    problem: GlmmProblem,
    /// Per random-effect term: `q` and its covariance parameters ([`profile_terms`]).
    terms: Vec<(usize, Vec<(usize, usize)>)>,
    /// How many leading coordinates are covariance parameters.
    n_cov: usize,
    /// The deviance at the optimum, D̂.
    base: f64,
    /// The optimum: standard deviations and correlations, β, (log θ_NB).
    estimates: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Per coordinate, its value over its searched value.
    scale: Vec<f64>,
    has_correlations: bool,
}

impl Profiler {
    /// The searched coordinates for `values` with coordinate `i` held: the others, scaled.
    fn searched(&self, i: usize, values: &[f64]) -> Vec<f64> {
        (0..values.len())
            .filter(|&k| k != i)
            .map(|k| values[k] / self.scale[k])
            .collect()
    }

    /// The deviance with coordinate `i` at `v` and the others at the searched `u`; +∞ where
    /// they make no covariance matrix or PIRLS fails.
    fn deviance(&mut self, i: usize, v: f64, u: &[f64]) -> f64 {
        let full: Vec<f64> = (0..=u.len())
            .map(|k| match k.cmp(&i) {
                std::cmp::Ordering::Less => u[k] * self.scale[k],
                std::cmp::Ordering::Equal => v,
                std::cmp::Ordering::Greater => u[k - 1] * self.scale[k],
            })
            .collect();
        let Some((mut params, _)) = chol_theta(&self.terms, &full[..self.n_cov], None) else {
            return f64::INFINITY;
        };
        params.extend_from_slice(&full[self.n_cov..]);
        self.problem.deviance(&params)
    }

    /// ζ with coordinate `i` at `v`, re-optimising the others from `warm` (left at their new
    /// optimum for the next, nearby, value).
    fn zeta(&mut self, i: usize, v: f64, estimate: f64, warm: &mut Vec<f64>) -> f64 {
        let scaled = |b: &[f64]| -> Vec<f64> {
            (0..b.len())
                .filter(|&k| k != i)
                .map(|k| b[k] / self.scale[k])
                .collect()
        };
        let (lower, upper) = (scaled(&self.lower), scaled(&self.upper));
        // With correlations the profile can have several local optima (a correlation on
        // either side of zero as a standard deviation shrinks): as the linear profile, also
        // start from the optimum and from each correlation near ±1, and keep the best.
        let mut starts = vec![warm.clone()];
        if self.has_correlations {
            let at_optimum = self.searched(i, &self.estimates);
            for (k, &(a, b)) in self
                .terms
                .iter()
                .flat_map(|(_, e)| e)
                .enumerate()
                .filter(|&(k, _)| k != i)
            {
                if a != b {
                    let k = if k > i { k - 1 } else { k };
                    for rho in [-0.95, 0.95] {
                        let mut start = at_optimum.clone();
                        start[k] = rho;
                        starts.push(start);
                    }
                }
            }
            starts.push(at_optimum);
        }
        let optimum = starts
            .iter()
            .map(|start| {
                minimise(
                    |u| self.deviance(i, v, u),
                    start,
                    &lower,
                    &upper,
                    MAX_EVALUATIONS,
                )
            })
            .min_by(|a, b| a.objective.total_cmp(&b.objective))
            .expect("at least one start");
        if optimum.objective.is_finite() {
            *warm = optimum.theta;
        }
        signed_root(optimum.objective - self.base, v - estimate)
    }
}
