//! Parametric bootstrap intervals for a generalized mixed model, as lme4's
//! `confint(fit, method = "boot")` (`bootMer` with percentile intervals): responses
//! simulated from the fitted model — `b* ~ N(0, Σ̂)` per level, `η* = offset + Xβ̂ + Zb*`,
//! then `y*` drawn from the family at `μ* = g⁻¹(η*)` (binomial with the row's trials,
//! Poisson, or NB2 as a gamma–Poisson mixture with the fitted θ) — each refitted, and the
//! 2.5% and 97.5% quantiles of each parameter over the refits.
//!
//! The random effects are drawn by the linear engine's [`add_random_draws`] (with no
//! residual), and every replicate draws from its own ChaCha stream under the seed and is
//! refitted from the original estimates, so the intervals depend on the seed alone, not on
//! the number of threads. A refit is lme4's second stage from (θ̂, β̂), with β searched in
//! units of its standard errors.

use super::{GlmmFit, GlmmOptions, GlmmProblem};
use crate::design::{Design, GlmResponse};
use crate::error::ModelError;
use crate::family::Family;
use crate::inference::{
    add_random_draws, check_replicates, draw_factors, random_parameters, random_values, Bootstrap,
    Parameter,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Gamma, Poisson};
use rayon::prelude::*;

/// 95% percentile intervals of the standard deviations and correlations of the random
/// effects and of the fixed effects of `fit` (made from `design` and `response` with
/// `options`) over `replicates` simulated refits; `progress` is called once per finished
/// refit, from any thread.
pub fn bootstrap_intervals(
    design: &Design,
    response: &GlmResponse,
    options: &GlmmOptions,
    fit: &GlmmFit,
    replicates: usize,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<Bootstrap, ModelError> {
    check_replicates(replicates)?;
    let factors = draw_factors(&fit.random)?;
    // Built once here so that a model the problem refuses is an error, not a worker's panic.
    let (base, _) = GlmmProblem::new(design.clone(), response, options)?;
    let trials = base.pirls.trials;
    let eta0 = super::population_eta(design, &fit.beta);
    let mut start = fit.theta.clone();
    start.extend_from_slice(&fit.beta);
    start.extend(fit.nb_theta.map(f64::ln));
    let scale: Vec<f64> = fit
        .std_errors()
        .into_iter()
        .map(super::step_scale)
        .collect();
    let (family, link) = (fit.family, fit.link);
    let nb_theta = fit.nb_theta;
    let simulate = |r: usize| -> Option<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(r as u64);
        let mut eta = eta0.clone();
        add_random_draws(design, |k| &factors[k], 0.0, &mut eta, &mut rng);
        eta.iter()
            .zip(&trials)
            .map(|(&e, &m)| {
                let mu = link.mean(e).0;
                draw(family, nb_theta, mu, m, &mut rng)
            })
            .collect()
    };
    let results: Vec<Option<Vec<f64>>> = (0..replicates)
        .into_par_iter()
        .map_init(
            || {
                let mut problem = GlmmProblem::new(design.clone(), response, options)
                    .expect("the same model built a problem")
                    .0;
                problem.steps = super::difference_steps(fit.objective, design.n());
                problem
            },
            |problem, r| {
                let stats = simulate(r).and_then(|y| {
                    problem.set_counts(y);
                    let (params, optimum) =
                        problem.optimise(&start, &scale, None, options.max_evaluations);
                    optimum
                        .objective
                        .is_finite()
                        .then(|| problem.reported_values(design, &params))
                });
                progress();
                stats
            },
        )
        .collect();
    let parameters = random_parameters(design, &fit.random).into_iter().chain(
        fit.fixed_names
            .iter()
            .map(|term| Parameter::Fixed { term: term.clone() }),
    );
    Ok(Bootstrap::from_refits(seed, results, parameters))
}

/// One response from the family at mean `mu` (per trial) with `m` trials; `None` where the
/// mean is not a valid parameter (an overflowing linear predictor).
fn draw(
    family: Family,
    nb_theta: Option<f64>,
    mu: f64,
    m: f64,
    rng: &mut ChaCha8Rng,
) -> Option<f64> {
    let poisson = |lambda: f64, rng: &mut ChaCha8Rng| -> Option<f64> {
        if lambda == 0.0 {
            return Some(0.0);
        }
        Poisson::new(lambda).ok().map(|d| d.sample(rng))
    };
    match family {
        Family::Binomial => Binomial::new(m as u64, mu)
            .ok()
            .map(|d| d.sample(rng) as f64),
        Family::Poisson => poisson(mu, rng),
        Family::NegativeBinomial { .. } => {
            let theta = nb_theta?;
            let lambda = Gamma::new(theta, mu / theta).ok()?.sample(rng);
            poisson(lambda, rng)
        }
    }
}

impl GlmmProblem {
    /// The parameters the bootstrap reports at `params = [θ, β, (log θ_NB)]`: each term's
    /// standard deviations and correlations, then β.
    fn reported_values(&mut self, design: &Design, params: &[f64]) -> Vec<f64> {
        let lambda = &mut self.pirls.lambda;
        lambda.set(&params[..self.n_theta]);
        let covariances: Vec<Vec<f64>> =
            (0..lambda.q.len()).map(|k| lambda.covariance(k)).collect();
        let mut out = random_values(design, &covariances);
        out.extend_from_slice(&params[self.n_theta..self.n_theta + self.p]);
        out
    }
}
