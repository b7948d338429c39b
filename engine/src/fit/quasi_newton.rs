//! A projected BFGS search within box bounds, for objectives with an analytic gradient.
//!
//! Bounded variables follow the active-set rule of projected quasi-Newton methods: a
//! variable on a bound whose gradient pushes it outward is held there for the step; the
//! others take the BFGS direction, and the trial point is projected back into the box. The
//! deviance of a mixed model has a few parameters and is smooth inside the box, so this
//! converges in tens of evaluations where BOBYQA takes about a hundred.

use super::factor::spd_inverse;

/// Armijo's sufficient-decrease constant.
const ARMIJO: f64 = 1e-4;
/// The search stops when no free variable would move by more than this.
const STEP_TOLERANCE: f64 = 1e-10;
/// The search stops when a step predicts a smaller relative decrease of the objective.
const DECREASE_TOLERANCE: f64 = 1e-13;
/// Step of the forward differences of an analytic gradient that give a Hessian.
pub const HESSIAN_STEP: f64 = 1e-4;
/// Within this distance of a bound a step may be projected onto it.
const NEAR_BOUND: f64 = 1e-3;
/// Largest first step along the steepest descent (the start is at unit scale).
const FIRST_STEP: f64 = 0.5;

/// Where the search stopped.
#[derive(Debug, Clone)]
pub struct Search {
    pub x: Vec<f64>,
    pub f: f64,
    pub evaluations: usize,
    pub status: &'static str,
    pub max_reached: bool,
}

/// Minimises `fg` (value; gradient into its second argument) from `start` within
/// `[lower, upper]`, within `max_evals` evaluations; the Hessian it starts from is
/// `start_hessian` when the caller knows one (row-major), else by forward differences of
/// the gradient with step `hessian_step` ([`HESSIAN_STEP`] for an analytic gradient, larger
/// for one by differences, whose rounding the step divides). An empty second argument asks for the
/// value alone: the line search asks for the gradient only at the point it accepts (a
/// gradient costs about as much as the value again, and a rejected trial needs none). It
/// stops where a step predicts a decrease below the objective's rounding, or below
/// `enough` (0 to go to rounding).
#[allow(clippy::too_many_arguments)]
pub fn bfgs(
    fg: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_evals: usize,
    hessian_step: f64,
    start_hessian: Option<&[f64]>,
    enough: f64,
) -> Search {
    let n = start.len();
    let project = |x: &mut [f64]| {
        for i in 0..n {
            x[i] = x[i].clamp(lower[i], upper[i]);
        }
    };
    let mut x = start.to_vec();
    project(&mut x);
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut evaluations = 1;
    let search = |x: Vec<f64>, f: f64, evaluations: usize, status: &'static str| Search {
        x,
        f,
        evaluations,
        status,
        max_reached: evaluations >= max_evals,
    };
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return search(
            x,
            f,
            evaluations,
            "the objective is not finite at the start",
        );
    }
    // Inverse Hessian approximation (row-major): from a difference Hessian at the start (the
    // deviance is badly scaled in θ, and steepest descent from lme4's start wastes
    // evaluations), else scaled after the first step.
    let start_hessian = match start_hessian {
        Some(known) => known.to_vec(),
        None => {
            evaluations += n;
            let all: Vec<usize> = (0..n).collect();
            hessian_from_gradient(fg, &x, &g, &all, hessian_step)
        }
    };
    let mut scaled = false;
    let mut h = match inverse_scaling(&start_hessian, n) {
        Some(inv) => {
            scaled = true;
            inv
        }
        None => identity(n),
    };
    let (mut trial, mut g_trial, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    loop {
        let held: Vec<bool> = (0..n)
            .map(|i| (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0))
            .collect();
        for i in 0..n {
            d[i] = if held[i] {
                0.0
            } else {
                -(0..n)
                    .filter(|&j| !held[j])
                    .map(|j| h[i * n + j] * g[j])
                    .sum::<f64>()
            };
        }
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h = identity(n);
            scaled = false;
            for i in 0..n {
                d[i] = if held[i] { 0.0 } else { -g[i] };
            }
            slope = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        }
        let longest = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if longest <= STEP_TOLERANCE || -slope <= DECREASE_TOLERANCE * (1.0 + f.abs()) {
            return search(
                x,
                f,
                evaluations,
                "the predicted decrease is below rounding",
            );
        }
        if -slope <= enough {
            return search(x, f, evaluations, "the predicted decrease is small enough");
        }
        let mut alpha = if scaled {
            1.0
        } else {
            (FIRST_STEP / longest).min(1.0)
        };
        // A step that would cross a bound from well inside goes half way to it instead: the
        // deviance is far from quadratic near θ = 0, and a projected Newton step lands on
        // the bound and back again. Close to a bound the projection may take it there.
        for i in 0..n {
            let room = if d[i] < 0.0 {
                x[i] - lower[i]
            } else {
                upper[i] - x[i]
            };
            if room > NEAR_BOUND && alpha * d[i].abs() > room {
                alpha = 0.5 * room / d[i].abs();
            }
        }
        // Backtracking along the projected path.
        let f_trial = loop {
            for i in 0..n {
                trial[i] = x[i] + alpha * d[i];
            }
            project(&mut trial);
            let ft = fg(&trial, &mut []);
            evaluations += 1;
            let moved: f64 = (0..n).map(|i| g[i] * (trial[i] - x[i])).sum();
            if ft.is_finite() && ft <= f + ARMIJO * moved {
                fg(&trial, &mut g_trial);
                break Some(ft);
            }
            if evaluations >= max_evals {
                break None;
            }
            alpha *= if ft.is_finite() {
                // Minimiser of the quadratic through f, the slope and ft, kept in [0.1, 0.5].
                let q = -slope * alpha / (2.0 * (ft - f - slope * alpha) / alpha);
                (q / alpha).clamp(0.1, 0.5)
            } else {
                0.1
            };
            if alpha * longest <= STEP_TOLERANCE {
                break None;
            }
        };
        let Some(f_new) = f_trial else {
            let status = if evaluations >= max_evals {
                "maximum number of evaluations reached"
            } else {
                "the line search found no lower point"
            };
            return search(x, f, evaluations, status);
        };
        let s: Vec<f64> = (0..n).map(|i| trial[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_trial[i] - g[i]).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        let yy: f64 = y.iter().map(|v| v * v).sum();
        if sy > 1e-12 * yy.sqrt() * s.iter().map(|v| v * v).sum::<f64>().sqrt() {
            if !scaled {
                h = identity(n);
                h.iter_mut().for_each(|v| *v *= sy / yy);
                scaled = true;
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
        x.copy_from_slice(&trial);
        g.copy_from_slice(&g_trial);
        let decrease = f - f_new;
        f = f_new;
        if evaluations >= max_evals {
            return search(x, f, evaluations, "maximum number of evaluations reached");
        }
        if decrease <= 1e-15 * f.abs() && s.iter().all(|v| v.abs() <= 1e-9) {
            return search(x, f, evaluations, "the objective stopped decreasing");
        }
        // A shortened step that gained no more than the objective's rounding: the direction
        // no longer carries information (a difference gradient at its noise floor; on
        // toenail the search went on for 77 more points gaining 5e-12 in all). The
        // convergence check's Newton steps finish from here.
        if alpha < 1.0 && decrease <= DECREASE_TOLERANCE * (1.0 + f.abs()) {
            return search(x, f, evaluations, "the objective stopped decreasing");
        }
    }
}

/// The Hessian over the coordinates `free` (row-major, symmetrised) by forward differences
/// of the gradient `g` at `x` with step `step`: one evaluation per coordinate.
pub(super) fn hessian_from_gradient(
    fg: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    g: &[f64],
    free: &[usize],
    step: f64,
) -> Vec<f64> {
    let m = free.len();
    let mut hess = vec![0.0; m * m];
    let (mut y, mut moved) = (x.to_vec(), vec![0.0; x.len()]);
    for (a, &i) in free.iter().enumerate() {
        y[i] = x[i] + step;
        fg(&y, &mut moved);
        y[i] = x[i];
        for (b, &j) in free.iter().enumerate() {
            hess[b * m + a] = (moved[j] - g[j]) / step;
        }
    }
    for a in 0..m {
        for b in 0..a {
            let v = 0.5 * (hess[a * m + b] + hess[b * m + a]);
            hess[a * m + b] = v;
            hess[b * m + a] = v;
        }
    }
    hess
}

/// A positive definite inverse of a symmetric matrix (row-major): its inverse where it is
/// positive definite, else the inverse of its diagonal's absolute values (floored at a
/// millionth of the largest), which keeps the scaling. `None` when not finite or zero.
fn inverse_scaling(a: &[f64], n: usize) -> Option<Vec<f64>> {
    if a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if let Some(inv) = spd_inverse(a, n) {
        return Some(inv);
    }
    let largest = (0..n).map(|i| a[i * n + i].abs()).fold(0.0, f64::max);
    if largest == 0.0 {
        return None;
    }
    Some(
        (0..n * n)
            .map(|k| {
                if k % (n + 1) == 0 {
                    1.0 / a[k].abs().max(1e-6 * largest)
                } else {
                    0.0
                }
            })
            .collect(),
    )
}

fn identity(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect()
}

/// `H ← (I − ρsy')H(I − ρys') + ρss'` with `ρ = 1/s'y`.
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
        .collect();
    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] +=
                -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_the_rosenbrock_function() {
        let mut fg = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
            if !g.is_empty() {
                g[0] = -2.0 * a - 400.0 * x[0] * b;
                g[1] = 200.0 * b;
            }
            a * a + 100.0 * b * b
        };
        let s = bfgs(
            &mut fg,
            &[-1.2, 1.0],
            &[-5.0; 2],
            &[5.0; 2],
            1000,
            HESSIAN_STEP,
            None,
            0.0,
        );
        assert!(
            (s.x[0] - 1.0).abs() < 1e-6 && (s.x[1] - 1.0).abs() < 1e-6,
            "{s:?}"
        );
    }

    #[test]
    fn stops_on_an_active_bound() {
        // The unconstrained minimum (−1, 2) lies outside x₀ ≥ 0.
        let mut fg = |x: &[f64], g: &mut [f64]| {
            if !g.is_empty() {
                g[0] = 2.0 * (x[0] + 1.0) + 0.5 * x[1];
                g[1] = 2.0 * (x[1] - 2.0) + 0.5 * x[0];
            }
            (x[0] + 1.0).powi(2) + (x[1] - 2.0).powi(2) + 0.5 * x[0] * x[1]
        };
        let s = bfgs(
            &mut fg,
            &[1.0, 1.0],
            &[0.0, f64::NEG_INFINITY],
            &[f64::INFINITY; 2],
            1000,
            HESSIAN_STEP,
            None,
            0.0,
        );
        assert!(s.x[0] == 0.0 && (s.x[1] - 2.0).abs() < 1e-7, "{s:?}");
    }
}
