//! Parametric bootstrap intervals, as lme4's `confint(fit, method = "boot")` with percentile
//! intervals: responses simulated from the fitted model (`y* = Xβ̂ + Zb* + ε*`, with
//! `b* ~ N(0, Σ̂)` per level and `ε* ~ N(0, σ̂²)`), each refitted by the same method, and the
//! 2.5% and 97.5% quantiles of each parameter over the refits.
//!
//! Replicate `r` draws from its own ChaCha stream `r` under the seed, and every refit starts
//! from the original θ̂, so the intervals depend on the seed alone, not on the number of
//! threads or the order in which replicates finish.

use super::interval::{parameters, require_plain_residual, values, Interval, Parameter};
use super::sdcor;
use crate::design::Design;
use crate::error::ModelError;
use crate::fit::{LmmFit, Problem, RandomEffects};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::ops::RangeInclusive;

/// Budget of evaluations for one refit.
const MAX_EVALUATIONS: usize = 100_000;

/// The numbers of refits a bootstrap accepts, in a spec (`bootstrap N`) and on the command
/// line (`--bootstrap N`) alike. Percentiles of fewer than two refits are no interval; past
/// 100,000 the Monte Carlo error of a 2.5% percentile is negligible beside the days of
/// refitting, and the bound keeps a typing slip from asking for terabytes of estimates.
pub const REPLICATES: RangeInclusive<usize> = 2..=100_000;

/// Refuses a replicate count outside [`REPLICATES`]: one rule for the linear and the
/// generalized bootstrap.
pub(crate) fn check_replicates(replicates: usize) -> Result<(), ModelError> {
    if REPLICATES.contains(&replicates) {
        Ok(())
    } else {
        Err(ModelError::Replicates {
            replicates,
            min: *REPLICATES.start(),
            max: *REPLICATES.end(),
        })
    }
}

/// Percentile intervals from a parametric bootstrap.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub replicates: usize,
    pub seed: u64,
    /// Replicates whose refit failed (left out of the intervals).
    pub failed: usize,
    pub intervals: Vec<Interval>,
}

/// 95% percentile intervals of every parameter of `fit` (made from `design`) over
/// `replicates` simulated refits; `progress` is called once per finished refit, from any
/// thread.
pub fn bootstrap_intervals(
    design: &Design,
    fit: &LmmFit,
    replicates: usize,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<Bootstrap, ModelError> {
    check_replicates(replicates)?;
    require_plain_residual(design, "the parametric bootstrap")?;
    // Built once here so that a design the problem refuses is an error, not a worker's panic.
    Problem::new(design.clone(), fit.reml)?;
    let factors = draw_factors(&fit.random)?;
    let mean = linear_predictor(design, &fit.beta);
    let simulate = |r: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(r as u64);
        let mut y = mean.clone();
        add_random_draws(design, |k| &factors[k], fit.sigma, &mut y, &mut rng);
        y
    };
    let results: Vec<Option<Vec<f64>>> = (0..replicates)
        .into_par_iter()
        .map_init(
            || Problem::new(design.clone(), fit.reml).expect("the same design built a problem"),
            |problem, r| {
                let stats = refit(problem, design, simulate(r), &fit.theta);
                progress();
                stats
            },
        )
        .collect();
    Ok(Bootstrap::from_refits(
        seed,
        results,
        parameters(fit, design),
    ))
}

impl Bootstrap {
    /// The percentile intervals of `parameters` from each replicate's refitted values (in
    /// the same order), `None` for a replicate whose refit failed; linear and generalized
    /// bootstraps share it.
    pub(crate) fn from_refits(
        seed: u64,
        results: Vec<Option<Vec<f64>>>,
        parameters: impl IntoIterator<Item = Parameter>,
    ) -> Bootstrap {
        let replicates = results.len();
        let refits: Vec<Vec<f64>> = results.into_iter().flatten().collect();
        let intervals = parameters
            .into_iter()
            .enumerate()
            .map(|(i, parameter)| {
                let mut column: Vec<f64> = refits.iter().map(|s| s[i]).collect();
                column.sort_by(f64::total_cmp);
                Interval {
                    parameter,
                    lower: percentile(&column, 0.025),
                    upper: percentile(&column, 0.975),
                }
            })
            .collect();
        Bootstrap {
            replicates,
            seed,
            failed: replicates - refits.len(),
            intervals,
        }
    }
}

/// Each term's lower Cholesky factor of its estimated covariance, row-major as
/// [`add_random_draws`] takes it.
pub(crate) fn draw_factors(random: &[RandomEffects]) -> Result<Vec<Vec<f64>>, ModelError> {
    random
        .iter()
        .map(|r| {
            let q = r.names.len();
            sdcor::cholesky(&r.covariance, q)
                .map(|l| (0..q * q).map(|k| l[(k % q) * q + k / q]).collect())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| ModelError::Numerical {
            reason: "the estimated random-effect covariance is not positive semi-definite".into(),
        })
}

/// `Xβ`.
pub(crate) fn linear_predictor(design: &Design, beta: &[f64]) -> Vec<f64> {
    let n = design.n();
    let mut eta = vec![0.0; n];
    for (b, col) in beta.iter().zip(design.x.chunks_exact(n)) {
        eta.iter_mut().zip(col).for_each(|(e, x)| *e += b * x);
    }
    eta
}

/// The parameters refitted to response `y`, or `None` if the refit fails.
fn refit(problem: &mut Problem, design: &Design, y: Vec<f64>, start: &[f64]) -> Option<Vec<f64>> {
    problem.set_response(y);
    let optimum = problem.minimise(start, MAX_EVALUATIONS);
    if !optimum.objective.is_finite() {
        return None;
    }
    let c = problem.conditional_at(&optimum.theta)?;
    let sigma = (c.deviance.pwrss / c.deviance.dof).sqrt();
    let covariances: Vec<Vec<f64>> = problem
        .relative_covariances(&optimum.theta)
        .into_iter()
        .map(|m| m.into_iter().map(|v| v * sigma * sigma).collect())
        .collect();
    Some(values(design, &covariances, sigma, &c.beta))
}

/// The `p` quantile of ascending `sorted` as the boot package's percentile interval takes
/// it: order statistic `(R + 1)p`, interpolated linearly between neighbours and clamped to
/// the sample; NaN for an empty sample.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let rank = ((n + 1) as f64 * p).clamp(1.0, n as f64);
    let below = rank.floor() as usize;
    let frac = rank - below as f64;
    let lo = sorted[below - 1];
    let hi = sorted[below.min(n - 1)];
    lo + frac * (hi - lo)
}

/// Adds one draw of `Zb + ε` to `y` (a value per row of `design`): per random-effect term, in
/// the design's order, `b = L u` for each level with `u` standard normal and `L = factor(k)`
/// the term's lower Cholesky factor (row-major: entry (a, c) at `a·q + c`); then
/// `ε ~ N(0, σ²)` per row. The draws come from `rng` in this order, so one seed gives one
/// response wherever a model is simulated: the parametric bootstrap and the power
/// simulations share this.
pub fn add_random_draws<'a>(
    design: &Design,
    factor: impl Fn(usize) -> &'a [f64],
    sigma: f64,
    y: &mut [f64],
    rng: &mut ChaCha8Rng,
) {
    add_random_effects(design, factor, y, rng);
    for yi in y.iter_mut() {
        let e: f64 = StandardNormal.sample(rng);
        *yi += sigma * e;
    }
}

/// Adds one draw of `Zb` alone (the first part of [`add_random_draws`], the same draws in
/// the same order): what a generalized model's linear predictor and a residual structure's
/// correlated `ε` are added to.
pub fn add_random_effects<'a>(
    design: &Design,
    factor: impl Fn(usize) -> &'a [f64],
    y: &mut [f64],
    rng: &mut ChaCha8Rng,
) {
    for (k, block) in design.random.iter().enumerate() {
        let q = block.q();
        let factor = factor(k);
        let mut b = vec![0.0; block.levels.len() * q];
        let mut u = vec![0.0; q];
        for level in b.chunks_exact_mut(q) {
            u.iter_mut().for_each(|x| *x = StandardNormal.sample(rng));
            for (a, out) in level.iter_mut().enumerate() {
                *out = (0..=a).map(|c| factor[a * q + c] * u[c]).sum();
            }
        }
        for (i, yi) in y.iter_mut().enumerate() {
            let level = block.codes[i] as usize;
            let z = &block.values[i * q..(i + 1) * q];
            *yi += z
                .iter()
                .zip(&b[level * q..])
                .map(|(z, b)| z * b)
                .sum::<f64>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_interpolates_order_statistics() {
        let x: Vec<f64> = (1..=999).map(f64::from).collect();
        assert_eq!(percentile(&x, 0.025), 25.0);
        assert_eq!(percentile(&x, 0.975), 975.0);
        assert_eq!(percentile(&[1.0, 2.0], 0.975), 2.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
