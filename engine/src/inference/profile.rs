//! Profile-likelihood intervals, as lme4's `confint(fit, method = "profile")` at 95%.
//!
//! lme4 profiles the ML deviance even for a REML fit (`devfun2` refits with ML first), on the
//! scale of standard deviations, correlations, σ and the fixed effects: with one parameter ψ
//! held at a value, the others are re-optimised, and the interval ends where the signed
//! root ζ(ψ) = sign(ψ − ψ̂)·√(D(ψ) − D̂) reaches ±1.96. lme4 interpolates ζ with splines
//! through a grid of profile points; here the ends are found by root-finding on ζ itself,
//! which is as accurate as the inner optimisations. An end that ζ never reaches inside the
//! parameter's range (a standard deviation near zero, a correlation near ±1) is the edge
//! of the range, as lme4 reports it.
//!
//! A covariance parameter is held fixed by re-parameterising the others: each term's
//! relative standard deviations (sd/σ) and correlations give θ through a Cholesky factor,
//! and ln σ is free, so every constraint is a coordinate. A coefficient β_j held at b needs
//! no refit of the design: at a given θ the penalised residual sum of squares with β_j = b
//! and the other coefficients at their optimum is `r² + (b − β̂_j)² / [(R_X R_Xᵀ)⁻¹]_jj`.

use super::interval::{parameters, require_plain_residual, values, Interval, Parameter};
use super::sdcor;
use crate::design::Design;
use crate::error::ModelError;
use crate::fit::optimize::minimise;
use crate::fit::{fit, FitOptions, Problem, SigmaDeviance};
use crate::spec::CovarianceType;

/// qnorm(0.975).
const Z: f64 = 1.959_963_984_540_054;
/// Budget of evaluations for one inner optimisation.
const MAX_EVALUATIONS: usize = 20_000;

/// 95% profile-likelihood intervals for every parameter of the model, in `confint`'s order.
pub fn profile_intervals(design: &Design) -> Result<Vec<Interval>, ModelError> {
    require_plain_residual(design, "profile-likelihood intervals")?;
    if design
        .random
        .iter()
        .any(|b| b.covariance == CovarianceType::CompoundSymmetry && b.q() > 1)
    {
        return Err(ModelError::Unsupported {
            what: "profile-likelihood intervals".into(),
            model: "compound-symmetry random-effect terms".into(),
        });
    }
    let options = FitOptions {
        reml: false,
        satterthwaite: false,
        ..FitOptions::default()
    };
    let ml = fit(design.clone(), &options)?;
    let covariances: Vec<Vec<f64>> = ml.random.iter().map(|r| r.covariance.clone()).collect();
    let estimates = values(design, &covariances, ml.sigma, &ml.beta);
    let terms: Vec<(usize, Vec<(usize, usize)>)> = design
        .random
        .iter()
        .map(|b| (b.q(), sdcor::entries(b.q(), b.covariance)))
        .collect();
    let n_cov: usize = terms.iter().map(|(_, e)| e.len()).sum();
    let mut relative: Vec<f64> = estimates[..n_cov].to_vec();
    for (r, &(a, b)) in relative.iter_mut().zip(terms.iter().flat_map(|(_, e)| e)) {
        if a == b {
            *r /= ml.sigma;
        }
    }
    relative.push(ml.sigma.ln());
    let mut profiler = Profiler {
        problem: Problem::new(design.clone(), false)?,
        base: ml.objective,
        terms,
        relative,
        theta: ml.theta.clone(),
    };
    let se = ml.std_errors();
    Ok(parameters(&ml, design)
        .into_iter()
        .enumerate()
        .map(|(i, parameter)| {
            let estimate = estimates[i];
            let (lower, upper) = match &parameter {
                Parameter::Fixed { .. } => {
                    let j = i - n_cov - 1;
                    let step = Z * se[j];
                    let mut warm = profiler.theta.clone();
                    let mut zeta = |b| profiler.fixed_zeta(j, b, estimate, &mut warm);
                    (
                        end(&mut zeta, estimate, -1.0, step, None),
                        end(&mut zeta, estimate, 1.0, step, None),
                    )
                }
                Parameter::Cor { .. } => profiler.covariance_ends(i, estimate, 0.1, (-1.0, 1.0)),
                Parameter::Sd { .. } => {
                    let step = 0.25 * if estimate > 0.0 { estimate } else { ml.sigma };
                    profiler.covariance_ends(i, estimate, step, (0.0, f64::INFINITY))
                }
            };
            Interval {
                parameter,
                lower,
                upper,
            }
        })
        .collect())
}

/// The ML deviance of one model and its optimum, for holding one parameter at a time.
struct Profiler {
    problem: Problem,
    /// The ML deviance at the optimum, D̂.
    base: f64,
    /// Per random-effect term: `q` and its covariance parameters ([`sdcor::entries`]).
    terms: Vec<(usize, Vec<(usize, usize)>)>,
    /// The optimum on the profiling scale: relative standard deviations and correlations in
    /// θ's order, then ln σ.
    relative: Vec<f64>,
    /// θ at the optimum.
    theta: Vec<f64>,
}

impl Profiler {
    /// Both ends for covariance parameter `i` (or σ, after the terms' parameters), given
    /// a first step and the parameter's range.
    fn covariance_ends(
        &mut self,
        i: usize,
        estimate: f64,
        step: f64,
        range: (f64, f64),
    ) -> (f64, f64) {
        let mut warm: Vec<f64> = self.relative.clone();
        warm.remove(i);
        let mut zeta = |v| self.covariance_zeta(i, v, estimate, &mut warm);
        let finite = |x: f64| x.is_finite().then_some(x);
        (
            end(&mut zeta, estimate, -1.0, step, finite(range.0)),
            end(&mut zeta, estimate, 1.0, step, finite(range.1)),
        )
    }

    /// ζ with covariance parameter `i` at `v`, re-optimising the others from `warm` (left at
    /// their new optimum for the next, nearby, value).
    fn covariance_zeta(&mut self, i: usize, v: f64, estimate: f64, warm: &mut Vec<f64>) -> f64 {
        let n_sigma = self.relative.len() - 1;
        let entries: Vec<(usize, usize)> = self.terms.iter().flat_map(|(_, e)| e.clone()).collect();
        let (mut lower, mut upper): (Vec<f64>, Vec<f64>) = entries
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    (0.0, f64::INFINITY)
                } else {
                    (-1.0, 1.0)
                }
            })
            .chain([(f64::NEG_INFINITY, f64::INFINITY)])
            .unzip();
        lower.remove(i);
        upper.remove(i);
        let held = |free: &[f64]| {
            let mut full = free.to_vec();
            full.insert(i, 0.0);
            full[i] = match entries.get(i) {
                None => v.ln(),
                Some((a, b)) if a == b => v / full[n_sigma].exp(),
                Some(_) => v,
            };
            full
        };
        // The profile can have several local optima (a correlation on either side of zero
        // as a standard deviation shrinks): start from the previous point, from the optimum,
        // and from the optimum with each correlation near ±1, and keep the best.
        let mut at_optimum = self.relative.clone();
        at_optimum.remove(i);
        let mut starts = vec![warm.clone(), at_optimum.clone()];
        for (k, &(a, b)) in entries.iter().enumerate().filter(|&(k, _)| k != i) {
            if a != b {
                let k = if k > i { k - 1 } else { k };
                for rho in [-0.95, 0.95] {
                    let mut start = at_optimum.clone();
                    start[k] = rho;
                    starts.push(start);
                }
            }
        }
        let (problem, terms) = (&mut self.problem, &self.terms);
        let optimum = starts
            .iter()
            .map(|start| {
                minimise(
                    |free| deviance(problem, terms, &held(free)),
                    start,
                    &lower,
                    &upper,
                    MAX_EVALUATIONS,
                )
            })
            .min_by(|a, b| a.objective.total_cmp(&b.objective))
            .expect("at least one start");
        *warm = optimum.theta;
        signed_root(optimum.objective - self.base, v - estimate)
    }

    /// ζ with coefficient `j` at `b`, re-optimising θ from `warm`.
    fn fixed_zeta(&mut self, j: usize, b: f64, estimate: f64, warm: &mut Vec<f64>) -> f64 {
        let (lower, upper) = self.problem.bounds();
        let p = self.problem.design.p();
        let problem = &mut self.problem;
        let optimum = minimise(
            |theta| match problem.conditional_at(theta) {
                Some(c) => {
                    let shift = b - c.beta[j];
                    let pwrss = c.deviance.pwrss + shift * shift / c.unscaled_vcov[j * p + j];
                    let held = SigmaDeviance {
                        pwrss,
                        ..c.deviance
                    };
                    held.at((pwrss / held.dof).sqrt())
                }
                None => f64::INFINITY,
            },
            warm,
            &lower,
            &upper,
            MAX_EVALUATIONS,
        );
        *warm = optimum.theta;
        signed_root(optimum.objective - self.base, b - estimate)
    }
}

/// The ML deviance (not profiled over σ) at relative standard deviations and correlations,
/// then ln σ; +∞ where they make no covariance matrix.
fn deviance(
    problem: &mut Problem,
    terms: &[(usize, Vec<(usize, usize)>)],
    relative: &[f64],
) -> f64 {
    let mut theta = Vec::with_capacity(relative.len());
    let mut at = 0;
    for (q, entries) in terms {
        let values = &relative[at..at + entries.len()];
        at += entries.len();
        let Some(l) = sdcor::cholesky(&sdcor::covariance(values, *q, entries), *q) else {
            return f64::INFINITY;
        };
        theta.extend(entries.iter().map(|&(a, b)| l[a * q + b]));
    }
    let sigma = relative[at].exp();
    problem
        .sigma_deviance(&theta)
        .map_or(f64::INFINITY, |d| d.at(sigma))
}

/// sign(direction)·√(excess deviance), the excess clamped at zero (an optimum a rounding
/// error below D̂).
fn signed_root(excess: f64, direction: f64) -> f64 {
    excess.max(0.0).sqrt().copysign(direction)
}

/// Where ζ reaches `dir`·Z on the side `dir` (±1) of `estimate`, or the `edge` of the
/// parameter's range if ζ stays short of it there. Steps out from `estimate` (extrapolating
/// ζ linearly, the shape it has near the optimum) until the end is bracketed, then closes in
/// by regula falsi.
fn end(
    zeta: &mut impl FnMut(f64) -> f64,
    estimate: f64,
    dir: f64,
    step: f64,
    edge: Option<f64>,
) -> f64 {
    if edge == Some(estimate) {
        return estimate;
    }
    let mut g = |v: f64| dir * zeta(v) - Z;
    let (mut a, mut ga) = (estimate, -Z);
    let mut distance = step;
    for _ in 0..60 {
        let mut v = estimate + dir * distance;
        if let Some(e) = edge {
            if (v - e) * dir >= 0.0 {
                v = e;
            }
        }
        let gv = g(v);
        if gv.is_nan() {
            return f64::NAN;
        }
        if gv >= 0.0 {
            return regula_falsi(&mut g, a, ga, v, gv);
        }
        if Some(v) == edge {
            return v;
        }
        let slope = (gv - ga) / (v - a);
        let aimed = (v - 1.1 * gv / slope - estimate).abs();
        let far = (v - estimate).abs();
        distance = if aimed.is_finite() && slope * dir > 0.0 {
            aimed.clamp(1.5 * far, 4.0 * far)
        } else {
            2.0 * far
        };
        (a, ga) = (v, gv);
    }
    f64::NAN
}

/// The root of `g` between `a` (g < 0) and `b` (g ≥ 0), by the Illinois variant of regula
/// falsi: superlinear on the nearly linear ζ, and never leaving the bracket.
fn regula_falsi(
    g: &mut impl FnMut(f64) -> f64,
    mut a: f64,
    mut ga: f64,
    mut b: f64,
    mut gb: f64,
) -> f64 {
    let mut side = 0;
    for _ in 0..100 {
        let c = if gb.is_finite() {
            (a * gb - b * ga) / (gb - ga)
        } else {
            0.5 * (a + b)
        };
        let gc = g(c);
        if gc.abs() < 1e-9 || (b - a).abs() <= 1e-12 * (1.0 + c.abs()) {
            return c;
        }
        if gc < 0.0 {
            (a, ga) = (c, gc);
            if side == -1 {
                gb *= 0.5;
            }
            side = -1;
        } else {
            (b, gb) = (c, gc);
            if side == 1 {
                ga *= 0.5;
            }
            side = 1;
        }
    }
    (a * gb - b * ga) / (gb - ga)
}
