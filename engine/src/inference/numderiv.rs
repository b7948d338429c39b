//! Numerical derivatives exactly as R's numDeriv computes them with its defaults (method
//! "Richardson"): central differences at steps `h, h/2, h/4, h/8` with
//! `h = d·|x| + 1e-4·[|x| < 1.78e-5]`, combined by Richardson extrapolation; `d` is 0.1 for
//! `hessian` and 1e-4 for `jacobian`. lmerTest uses `numDeriv::hessian` and
//! `numDeriv::jacobian`; following them step for step keeps our degrees of freedom within
//! rounding of lmerTest's.

/// numDeriv's `d` (the step relative to |x|) in `hessian`.
const HESSIAN_STEP: f64 = 0.1;
/// numDeriv's `d` in `jacobian` (and `grad`).
const JACOBIAN_STEP: f64 = 1e-4;
/// numDeriv's `eps`: the step where |x| is below [`zero_tolerance`].
const ABSOLUTE_STEP: f64 = 1e-4;
/// numDeriv's `r`: central differences at `r` steps, each half the last.
const LEVELS: usize = 4;

/// numDeriv's `zero.tol = sqrt(.Machine$double.eps / 7e-7)`.
fn zero_tolerance() -> f64 {
    (f64::EPSILON / 7e-7).sqrt()
}

fn first_step(x: f64, relative: f64) -> f64 {
    (relative * x).abs()
        + if x.abs() < zero_tolerance() {
            ABSOLUTE_STEP
        } else {
            0.0
        }
}

/// Richardson extrapolation of approximations at steps halving each time (error in h²).
fn richardson(a: &mut [f64; LEVELS]) -> f64 {
    for m in 1..LEVELS {
        let p = 4f64.powi(m as i32);
        for k in 0..LEVELS - m {
            a[k] = (a[k + 1] * p - a[k]) / (p - 1.0);
        }
    }
    a[0]
}

/// The Hessian of a scalar function at `x` (row-major n × n), as `numDeriv::hessian`
/// (numDeriv's `genD` with `d = 0.1`): 1 + 4n(n + 1) evaluations of `f`.
pub fn hessian(mut f: impl FnMut(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let h0: Vec<f64> = x.iter().map(|&v| first_step(v, HESSIAN_STEP)).collect();
    let mut xs = x.to_vec();
    let f0 = f(&xs);
    let mut hess = vec![0.0; n * n];
    let mut approx = [0.0; LEVELS];
    for i in 0..n {
        let mut h = h0[i];
        for a in approx.iter_mut() {
            xs[i] = x[i] + h;
            let f1 = f(&xs);
            xs[i] = x[i] - h;
            let f2 = f(&xs);
            xs[i] = x[i];
            *a = (f1 - 2.0 * f0 + f2) / (h * h);
            h /= 2.0;
        }
        hess[i * n + i] = richardson(&mut approx);
    }
    for i in 0..n {
        for j in 0..i {
            let (mut hi, mut hj) = (h0[i], h0[j]);
            let (dii, djj) = (hess[i * n + i], hess[j * n + j]);
            for a in approx.iter_mut() {
                xs[i] = x[i] + hi;
                xs[j] = x[j] + hj;
                let f1 = f(&xs);
                xs[i] = x[i] - hi;
                xs[j] = x[j] - hj;
                let f2 = f(&xs);
                xs[i] = x[i];
                xs[j] = x[j];
                *a = (f1 - 2.0 * f0 + f2 - dii * hi * hi - djj * hj * hj) / (2.0 * hi * hj);
                hi /= 2.0;
                hj /= 2.0;
            }
            let v = richardson(&mut approx);
            hess[i * n + j] = v;
            hess[j * n + i] = v;
        }
    }
    hess
}

/// The Jacobian of a vector function with `m` outputs at `x`, as `numDeriv::jacobian`:
/// `n` consecutive blocks of `m`, block `i` holding ∂f/∂x_i. `f` writes its value into the
/// slice it is given; 8n evaluations.
pub fn jacobian(mut f: impl FnMut(&[f64], &mut [f64]), x: &[f64], m: usize) -> Vec<f64> {
    let n = x.len();
    let mut h: Vec<f64> = x.iter().map(|&v| first_step(v, JACOBIAN_STEP)).collect();
    let mut xs = x.to_vec();
    let (mut plus, mut minus) = (vec![0.0; m], vec![0.0; m]);
    // a[(i * m + e) * LEVELS + k]: level k of output e's derivative in x_i.
    let mut a = vec![0.0; n * m * LEVELS];
    for k in 0..LEVELS {
        for i in 0..n {
            xs[i] = x[i] + h[i];
            f(&xs, &mut plus);
            xs[i] = x[i] - h[i];
            f(&xs, &mut minus);
            xs[i] = x[i];
            for e in 0..m {
                a[(i * m + e) * LEVELS + k] = (plus[e] - minus[e]) / (2.0 * h[i]);
            }
        }
        h.iter_mut().for_each(|v| *v /= 2.0);
    }
    a.chunks_exact(LEVELS)
        .map(|c| {
            let mut levels = [0.0; LEVELS];
            levels.copy_from_slice(c);
            richardson(&mut levels)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hessian_of_a_smooth_function() {
        // f = x0² x1 + exp(x1) + sin(x0 x2); exact Hessian below.
        let f = |x: &[f64]| x[0] * x[0] * x[1] + x[1].exp() + (x[0] * x[2]).sin();
        let x = [0.7, -1.3, 0.0];
        let h = hessian(f, &x);
        let s = (x[0] * x[2]).sin();
        let c = (x[0] * x[2]).cos();
        let exact = [
            2.0 * x[1] - x[2] * x[2] * s,
            2.0 * x[0],
            c - x[0] * x[2] * s,
            2.0 * x[0],
            x[1].exp(),
            0.0,
            c - x[0] * x[2] * s,
            0.0,
            -x[0] * x[0] * s,
        ];
        for (a, b) in h.iter().zip(exact) {
            assert!((a - b).abs() < 1e-6, "{h:?} vs {exact:?}");
        }
    }

    #[test]
    fn jacobian_of_a_smooth_function() {
        let f = |x: &[f64], out: &mut [f64]| {
            out[0] = x[0] * x[1];
            out[1] = x[1].ln();
        };
        let j = jacobian(f, &[3.0, 2.0], 2);
        let exact = [2.0, 0.0, 3.0, 0.5];
        for (a, b) in j.iter().zip(exact) {
            assert!((a - b).abs() < 1e-9, "{j:?}");
        }
    }
}
