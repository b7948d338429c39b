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
//! relative standard deviations (sd/σ) and correlations give θ = S·chol(R) (S the diagonal
//! of standard deviations, R the correlations), and ln σ is free, so every constraint is a
//! coordinate. A coefficient β_j held at b is the model without its column and with the
//! offset b·x_j, whose ML fit is an ordinary one.
//!
//! Every inner optimisation is the fit's own: projected BFGS on the analytic gradient
//! (the chain rule through S·chol(R) for the covariance parameters), over coordinates scaled
//! as the fit scales θ ([`Problem::parameter_scales`], powers of two), so that intervals do
//! not depend on the units of the response or the predictors.

use super::interval::{parameters, require_plain_residual, values, Interval, Parameter};
use super::sdcor;
use crate::design::Design;
use crate::error::ModelError;
use crate::fit::optimize::{minimise, minimise_smooth, Optimum};
use crate::fit::{fit, residualise, FitOptions, Problem};
use crate::spec::CovarianceType;

/// qnorm(0.975).
pub(crate) const Z: f64 = 1.959_963_984_540_054;
/// Budget of evaluations for one inner optimisation.
const MAX_EVALUATIONS: usize = 20_000;

/// 95% profile-likelihood intervals for every parameter of the model, in `confint`'s order.
pub fn profile_intervals(design: &Design) -> Result<Vec<Interval>, ModelError> {
    require_plain_residual(design, "profile-likelihood intervals")?;
    let terms = profile_terms(design)?;
    let options = FitOptions {
        reml: false,
        satterthwaite: false,
        ..FitOptions::default()
    };
    let ml = fit(design.clone(), &options)?;
    let covariances: Vec<Vec<f64>> = ml.random.iter().map(|r| r.covariance.clone()).collect();
    let estimates = values(design, &covariances, ml.sigma, &ml.beta);
    let n_cov: usize = terms.iter().map(|(_, e)| e.len()).sum();
    let mut relative: Vec<f64> = estimates[..n_cov].to_vec();
    for (r, &(a, b)) in relative.iter_mut().zip(terms.iter().flat_map(|(_, e)| e)) {
        if a == b {
            *r /= ml.sigma;
        }
    }
    relative.push(ml.sigma.ln());
    let problem = Problem::new(design.clone(), false)?;
    // The supported terms have one covariance parameter per θ, in θ's order: a relative
    // standard deviation takes its θ's scale (its column's), a correlation none.
    let scale: Vec<f64> = terms
        .iter()
        .flat_map(|(_, e)| e)
        .zip(problem.parameter_scales())
        .map(|(&(a, b), &s)| if a == b { s } else { 1.0 })
        .chain([1.0])
        .collect();
    let mut profiler = Profiler {
        problem,
        base: ml.objective,
        terms,
        scale,
        relative,
    };
    let se = ml.std_errors();
    let mut intervals = Vec::new();
    for (i, parameter) in parameters(&ml, design).into_iter().enumerate() {
        let estimate = estimates[i];
        let (lower, upper) = match &parameter {
            Parameter::Fixed { .. } => {
                let j = i - n_cov - 1;
                let step = Z * se[j];
                let mut held = HeldCoefficient::new(design, j, &ml.theta)?;
                let base = profiler.base;
                let mut zeta = |b| held.zeta(b, estimate, base);
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
            Parameter::NbTheta => unreachable!("a linear model has no θ_NB"),
        };
        intervals.push(Interval {
            parameter,
            lower,
            upper,
        });
    }
    Ok(intervals)
}

/// The ML deviance of one model and its optimum, for holding one covariance parameter at a
/// time.
struct Profiler {
    problem: Problem,
    /// The ML deviance at the optimum, D̂.
    base: f64,
    /// Per random-effect term: `q` and its covariance parameters ([`sdcor::entries`]).
    terms: Vec<(usize, Vec<(usize, usize)>)>,
    /// Per profiling coordinate, its searched value over its value in `relative`.
    scale: Vec<f64>,
    /// The optimum on the profiling scale: relative standard deviations and correlations in
    /// θ's order, then ln σ.
    relative: Vec<f64>,
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
        let mut warm = self.searched(i, &self.relative);
        let mut zeta = |v| self.covariance_zeta(i, v, estimate, &mut warm);
        let finite = |x: f64| x.is_finite().then_some(x);
        (
            end(&mut zeta, estimate, -1.0, step, finite(range.0)),
            end(&mut zeta, estimate, 1.0, step, finite(range.1)),
        )
    }

    /// The searched coordinates for `relative` with coordinate `i` held: the others, scaled.
    fn searched(&self, i: usize, relative: &[f64]) -> Vec<f64> {
        (0..relative.len())
            .filter(|&k| k != i)
            .map(|k| relative[k] * self.scale[k])
            .collect()
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
        // The profile can have several local optima (a correlation on either side of zero
        // as a standard deviation shrinks): start from the previous point, from the optimum,
        // and from the optimum with each correlation near ±1, and keep the best.
        let at_optimum = self.searched(i, &self.relative);
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
        let held = HeldCovariance {
            i,
            v,
            sd: entries.get(i).map(|&(a, b)| a == b),
            n_sigma,
            scale: &self.scale,
        };
        let (problem, terms) = (&mut self.problem, &self.terms);
        let smooth = problem.has_gradient();
        let mut search = |start: &Vec<f64>| -> Optimum {
            if smooth {
                minimise_smooth(
                    |u, g| {
                        let g = (!g.is_empty()).then_some(g);
                        held.deviance_gradient(problem, terms, u, g)
                    },
                    start,
                    &lower,
                    &upper,
                    MAX_EVALUATIONS,
                    None,
                )
            } else {
                minimise(
                    |u| held.deviance_gradient(problem, terms, u, None),
                    start,
                    &lower,
                    &upper,
                    MAX_EVALUATIONS,
                )
            }
        };
        let optimum = starts
            .iter()
            .map(&mut search)
            .min_by(|a, b| a.objective.total_cmp(&b.objective))
            .expect("at least one start");
        *warm = optimum.theta;
        signed_root(optimum.objective - self.base, v - estimate)
    }
}

/// The profiling coordinates with covariance parameter `i` held at `v`: how the searched
/// (scaled) coordinates map to relative standard deviations, correlations and ln σ.
struct HeldCovariance<'a> {
    i: usize,
    v: f64,
    /// Whether `i` is a standard deviation (`None`: σ).
    sd: Option<bool>,
    n_sigma: usize,
    scale: &'a [f64],
}

impl HeldCovariance<'_> {
    /// The ML deviance (not profiled over σ) at the searched coordinates `u`, and with
    /// `grad` its gradient over them; +∞ where they make no covariance matrix.
    fn deviance_gradient(
        &self,
        problem: &mut Problem,
        terms: &[(usize, Vec<(usize, usize)>)],
        u: &[f64],
        grad: Option<&mut [f64]>,
    ) -> f64 {
        let mut full: Vec<f64> = (0..=u.len())
            .map(|k| match k.cmp(&self.i) {
                std::cmp::Ordering::Less => u[k] / self.scale[k],
                std::cmp::Ordering::Equal => 0.0,
                std::cmp::Ordering::Greater => u[k - 1] / self.scale[k],
            })
            .collect();
        full[self.i] = match self.sd {
            None => self.v.ln(),
            // A standard deviation held is relative to the σ searched.
            Some(true) => self.v / full[self.n_sigma].exp(),
            Some(false) => self.v,
        };
        let gradient = grad.is_some().then_some(self.i);
        let Some(mut g_full) = deviance(problem, terms, &full, gradient) else {
            if let Some(g) = grad {
                g.fill(f64::NAN);
            }
            return f64::INFINITY;
        };
        let value = g_full.pop().expect("the value follows the gradient");
        if let Some(g) = grad {
            if self.sd == Some(true) {
                // ∂(v/σ)/∂ln σ = −v/σ.
                g_full[self.n_sigma] -= g_full[self.i] * full[self.i];
            }
            let mut at = 0;
            for (k, gk) in g_full.iter().enumerate() {
                if k != self.i {
                    g[at] = gk / self.scale[k];
                    at += 1;
                }
            }
        }
        value
    }
}

/// A coefficient held at a value: the model without its column, with the offset `b·x_j`.
struct HeldCoefficient {
    problem: Problem,
    y: Vec<f64>,
    x_j: Vec<f64>,
    /// θ at the last optimum, where the next search starts.
    warm: Vec<f64>,
}

impl HeldCoefficient {
    fn new(design: &Design, j: usize, theta: &[f64]) -> Result<HeldCoefficient, ModelError> {
        let n = design.n();
        let mut reduced = design.clone();
        let x_j = reduced.x.drain(j * n..(j + 1) * n).collect();
        reduced.x_names.remove(j);
        reduced.x_origins.remove(j);
        // Less its least-squares fit on the other columns (which the likelihood does not
        // see), so that `y − b·x_j` is formed on the residuals' scale: on a response of
        // 1e6 ± 1e-6 it lost the digits that carry the profile.
        let (y, _) = residualise(&reduced);
        Ok(HeldCoefficient {
            problem: Problem::new(reduced, false)?,
            y,
            x_j,
            warm: theta.to_vec(),
        })
    }

    /// ζ with the coefficient at `b`: the ML fit of `y − b·x_j` on the other columns.
    fn zeta(&mut self, b: f64, estimate: f64, base: f64) -> f64 {
        let y = self
            .y
            .iter()
            .zip(&self.x_j)
            .map(|(y, x)| y - b * x)
            .collect();
        self.problem.set_response(y);
        let optimum = self.problem.minimise(&self.warm, MAX_EVALUATIONS);
        if optimum.objective.is_finite() {
            self.warm = optimum.theta;
        }
        signed_root(optimum.objective - base, b - estimate)
    }
}

/// The ML deviance (not profiled over σ) at relative standard deviations and correlations,
/// then ln σ, followed, when `gradient` names the coordinate held (whose derivative is not
/// needed), by its gradient over them: as `[∂…, D]`. `None` where they make no covariance
/// matrix or the factorisation fails.
fn deviance(
    problem: &mut Problem,
    terms: &[(usize, Vec<(usize, usize)>)],
    relative: &[f64],
    gradient: Option<usize>,
) -> Option<Vec<f64>> {
    let (theta, jacobians) = chol_theta(terms, relative, gradient)?;
    let at: usize = terms.iter().map(|(_, e)| e.len()).sum();
    let sigma = relative[at].exp();
    let d = problem.sigma_deviance(&theta)?;
    let value = d.at(sigma);
    if gradient.is_none() {
        return Some(vec![value]);
    }
    let derivatives = problem.derivatives(&theta, false)?;
    let mut d_theta = vec![0.0; theta.len()];
    derivatives.at_sigma2(sigma * sigma, &mut d_theta);
    let mut out: Vec<f64> = Vec::with_capacity(relative.len() + 1);
    let mut at = 0;
    for ((_, entries), jac) in terms.iter().zip(&jacobians) {
        let m = entries.len();
        for k in 0..m {
            out.push((0..m).map(|mi| d_theta[at + mi] * jac[mi * m + k]).sum());
        }
        at += m;
    }
    // ∂D/∂ln σ = 2·dof − 2·pwrss/σ².
    out.push(2.0 * d.dof - 2.0 * d.pwrss / (sigma * sigma));
    out.push(value);
    Some(out)
}

/// θ from standard deviations and correlations (relative to σ in a linear model, absolute
/// in a generalized one, whose scale is fixed): per term `S·chol(R)`, for the leading
/// entries of `relative` in the terms' order ([`profile_terms`]); with `gradient` (the
/// coordinate held, whose derivative is not needed) also each term's Jacobian ∂θ/∂value,
/// row-major. `None` where they make no covariance matrix.
pub(crate) fn chol_theta(
    terms: &[(usize, Vec<(usize, usize)>)],
    relative: &[f64],
    gradient: Option<usize>,
) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let mut theta = Vec::with_capacity(relative.len());
    // Per term: S·chol(R), and the derivatives of θ's entries over its coordinates.
    let mut jacobians = Vec::with_capacity(terms.len());
    let mut at = 0;
    for (q, entries) in terms {
        let q = *q;
        let values = &relative[at..at + entries.len()];
        at += entries.len();
        let sd: Vec<f64> = (0..q)
            .map(|a| {
                entries
                    .iter()
                    .zip(values)
                    .find(|(e, _)| e.0 == a && e.1 == a)
                    .map_or(0.0, |(_, &v)| v)
            })
            .collect();
        let unit: Vec<f64> = entries
            .iter()
            .zip(values)
            .map(|(&(a, b), &v)| if a == b { 1.0 } else { v })
            .collect();
        let r = sdcor::covariance(&unit, q, entries);
        let l = sdcor::cholesky(&r, q)?;
        // θ's entry (c, row) of S·L_R is sd[row]·L_R[row][c] (column-major).
        theta.extend(entries.iter().map(|&(c, row)| sd[row] * l[c * q + row]));
        if let Some(held) = gradient {
            let held = held.checked_sub(at - entries.len());
            let dl = correlation_derivatives(&l, q, entries, held)?;
            // ∂θ_m/∂value_k, row-major over (m, k).
            let m = entries.len();
            let mut jac = vec![0.0; m * m];
            for (mi, &(c, row)) in entries.iter().enumerate() {
                for (k, &(a, b)) in entries.iter().enumerate() {
                    jac[mi * m + k] = if a == b {
                        if a == row {
                            l[c * q + row]
                        } else {
                            0.0
                        }
                    } else {
                        sd[row] * dl[k][c * q + row]
                    };
                }
            }
            jacobians.push(jac);
        }
    }
    Some((theta, jacobians))
}

/// Per random-effect term of `design`, `q` and its covariance parameters
/// ([`sdcor::entries`]): the coordinates [`chol_theta`] maps to θ. Compound-symmetry terms
/// (one correlation shared by every pair) are refused: their θ is not `S·chol(R)` entry by
/// entry.
pub(crate) fn profile_terms(
    design: &Design,
) -> Result<Vec<(usize, Vec<(usize, usize)>)>, ModelError> {
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
    Ok(design
        .random
        .iter()
        .map(|b| (b.q(), sdcor::entries(b.q(), b.covariance)))
        .collect())
}

/// Per entry of `entries`, `∂L/∂value` of the Cholesky factor `l` (column-major) of a
/// correlation matrix: zeros for the standard deviations, on which R does not depend, and
/// for the entry `held`; forward differentiation of the factorisation for the others. `None`
/// when one is needed and the matrix is only semidefinite (a correlation at ±1, the range's edge,
/// where the derivative is infinite).
fn correlation_derivatives(
    l: &[f64],
    q: usize,
    entries: &[(usize, usize)],
    held: Option<usize>,
) -> Option<Vec<Vec<f64>>> {
    entries
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            if a == b || held == Some(k) {
                return Some(vec![0.0; q * q]);
            }
            let mut dr = vec![0.0; q * q];
            dr[a * q + b] = 1.0;
            dr[b * q + a] = 1.0;
            cholesky_tangent(l, &dr, q)
        })
        .collect()
}

/// The derivative along `dm` of the Cholesky factor `l` (column-major lower) of a symmetric
/// matrix; `None` at a pivot that is not positive.
fn cholesky_tangent(l: &[f64], dm: &[f64], q: usize) -> Option<Vec<f64>> {
    let mut out = vec![0.0_f64; q * q];
    for c in 0..q {
        let pivot = l[c * q + c];
        if pivot <= 0.0 {
            return None;
        }
        let dd = dm[c * q + c]
            - (0..c)
                .map(|k| 2.0 * l[k * q + c] * out[k * q + c])
                .sum::<f64>();
        out[c * q + c] = dd / (2.0 * pivot);
        for r in c + 1..q {
            let dx = dm[r * q + c]
                - (0..c)
                    .map(|k| out[k * q + r] * l[k * q + c] + l[k * q + r] * out[k * q + c])
                    .sum::<f64>();
            out[c * q + r] = (dx - l[c * q + r] * out[c * q + c]) / pivot;
        }
    }
    Some(out)
}

/// sign(direction)·√(excess deviance), the excess clamped at zero (an optimum a rounding
/// error below D̂).
pub(crate) fn signed_root(excess: f64, direction: f64) -> f64 {
    excess.max(0.0).sqrt().copysign(direction)
}

/// Where ζ reaches `dir`·Z on the side `dir` (±1) of `estimate`, or the `edge` of the
/// parameter's range if ζ stays short of it there. Steps out from `estimate` (extrapolating
/// ζ linearly, the shape it has near the optimum) until the end is bracketed, then closes in
/// by regula falsi.
pub(crate) fn end(
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
            return regula_falsi(&mut g, a, ga, v, gv, step);
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
/// falsi: superlinear on the nearly linear ζ, and never leaving the bracket. The bracket is
/// closed to a fraction of `scale` (the first step, about the interval's half-width), not
/// of |root|: an interval far from zero (a shifted response's intercept) is as precise as
/// one near it, up to the doubles between its ends.
fn regula_falsi(
    g: &mut impl FnMut(f64) -> f64,
    mut a: f64,
    mut ga: f64,
    mut b: f64,
    mut gb: f64,
    scale: f64,
) -> f64 {
    let mut side = 0;
    for _ in 0..100 {
        let c = if gb.is_finite() {
            (a * gb - b * ga) / (gb - ga)
        } else {
            0.5 * (a + b)
        };
        if c == a || c == b {
            // No double left between the ends.
            return c;
        }
        let gc = g(c);
        if gc.abs() < 1e-9 || (b - a).abs() <= 1e-12 * scale {
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
