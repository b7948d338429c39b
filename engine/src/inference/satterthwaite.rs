//! Satterthwaite's denominator degrees of freedom for t-tests of fixed-effect contrasts, as
//! lmerTest computes them (Kuznetsova, Brockhoff & Christensen 2017, `summary()` with
//! `ddf = "Satterthwaite"`).
//!
//! The variance parameters are `varpar = (θ…, σ)`, θ being all of the [`Problem`]'s
//! covariance parameters (lme4's θ, then any residual-structure parameters). With
//! `D(varpar)` the deviance not profiled over σ ([`Problem::deviance_varpar`]) and `H` its
//! Hessian at the optimum, their asymptotic covariance is `A = 2H⁺` (the Moore–Penrose
//! inverse over eigenvalues above 1e-8, as lmerTest). For a contrast `L`, `v = L Var(β̂) Lᵀ`, `g = ∂v/∂varpar` and
//! `df = 2v² / (gᵀ A g)`.
//!
//! Where the fit has analytic derivatives ([`Problem::derivatives`]), the Jacobian and the
//! σ rows of `H` are exact and the θ block is a central difference of the exact gradient:
//! `2n + 1` factorisations for `n` θs, and closer to the true values than lmerTest's own
//! (they agree to about 1e-6 relative). Elsewhere both derivatives are taken numerically
//! as lmerTest takes them (numDeriv, Richardson extrapolation), over the search's scale so
//! that the degrees of freedom do not depend on the data's units. Either way, boundary
//! fits behave as in lmerTest: at θ = 0 the steps straddle the boundary.
//!
//! A model without random effects (a residual structure alone, nlme's `gls`) has no
//! Satterthwaite approximation in lmerTest; there every contrast is tested on the residual
//! degrees of freedom `N − p`, as `summary.gls` and `anova.gls` do ([`DfRule::Residual`]).

use super::distributions::t_two_sided_p;
use super::numderiv;
use crate::fit::{scale_vcov, Problem};
use serde::Serialize;

/// lmerTest's tolerance on the Hessian's eigenvalues.
const EIGEN_TOLERANCE: f64 = 1e-8;

/// The t-test of one contrast (for a coefficient: that it is zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TTest {
    /// Satterthwaite's denominator degrees of freedom.
    pub df: f64,
    /// `Lβ̂ / √(L Var(β̂) Lᵀ)`.
    pub t: f64,
    /// Two-sided p-value, `2·P(T_df > |t|)`.
    pub p: f64,
}

/// Which denominator degrees of freedom a fit's t- and F-tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DfRule {
    /// Satterthwaite's approximation, as lmerTest.
    Satterthwaite,
    /// The residual degrees of freedom `N − p`, as nlme's `gls` (no random effects).
    Residual,
}

impl DfRule {
    /// The rule in words, for table captions: "Satterthwaite's degrees of freedom".
    pub fn describe(self) -> &'static str {
        match self {
            DfRule::Satterthwaite => "Satterthwaite's degrees of freedom",
            DfRule::Residual => "residual degrees of freedom (N − p, as nlme's gls)",
        }
    }
}

/// What Satterthwaite's approximation needs at the optimum, for any number of contrasts.
#[derive(Debug, Clone)]
pub struct Satterthwaite {
    /// Number of fixed effects.
    p: usize,
    /// Var(β̂) at the optimum, row-major p × p.
    pub vcov_beta: Vec<f64>,
    /// Asymptotic covariance of `varpar = (θ…, σ)`, `2H⁺`, row-major, on the search's scale
    /// ([`crate::fit::Problem::parameter_scales`], σ in units of σ̂).
    pub vcov_varpar: Vec<f64>,
    /// ∂Var(β̂)/∂varpar_i: one row-major p × p matrix per variance parameter, in order, on
    /// the same scale.
    pub jacobian: Vec<f64>,
    /// Eigenvalues of the deviance's Hessian over `varpar` on that scale, ascending.
    pub hessian_eigenvalues: Vec<f64>,
    /// `N − p` for a model without random effects, which every contrast then uses (the
    /// variance-parameter fields are left empty).
    residual_df: Option<f64>,
}

impl Satterthwaite {
    /// Derivatives at θ̂ and σ̂. Leaves `problem` factorised at some θ near θ̂.
    pub fn new(problem: &mut Problem, theta: &[f64], sigma: f64) -> Satterthwaite {
        let k = theta.len() + 1;
        let p = problem.design.p();
        if problem.design.random.is_empty() {
            let mut vcov_beta = problem
                .unscaled_vcov_at(theta)
                .unwrap_or_else(|| vec![f64::NAN; p * p]);
            scale_vcov(&mut vcov_beta, sigma);
            return Satterthwaite {
                p,
                vcov_beta,
                vcov_varpar: Vec::new(),
                jacobian: Vec::new(),
                hessian_eigenvalues: Vec::new(),
                residual_df: Some(problem.design.n().saturating_sub(p) as f64),
            };
        }
        let analytic = if problem.has_gradient() {
            analytic_derivatives(problem, theta, sigma)
        } else {
            None
        };
        let (mut hessian, mut jacobian, at_optimum) =
            analytic.unwrap_or_else(|| numerical_derivatives(problem, theta, sigma));
        // On the search's scale (θ for predictors of unit scale, σ in units of σ̂), so that
        // the pseudo-inverse's tolerance on eigenvalues, an absolute one, means the same
        // whatever the units of the response and the predictors. The degrees of freedom do
        // not depend on the parameterisation otherwise.
        let mut scale: Vec<f64> = problem.parameter_scales()[..theta.len()].to_vec();
        scale.push(1.0 / sigma);
        for a in 0..k {
            for b in 0..k {
                hessian[a * k + b] /= scale[a] * scale[b];
            }
        }
        for (block, s) in jacobian.chunks_exact_mut((p * p).max(1)).zip(&scale) {
            block.iter_mut().for_each(|v| *v /= s);
        }
        let (vcov_varpar, hessian_eigenvalues) = pseudo_inverse_times_two(&hessian, k);
        let vcov_beta = match at_optimum {
            Some(mut v) => {
                scale_vcov(&mut v, sigma);
                v
            }
            None => vec![f64::NAN; p * p],
        };
        Satterthwaite {
            p,
            vcov_beta,
            vcov_varpar,
            jacobian,
            hessian_eigenvalues,
            residual_df: None,
        }
    }

    /// The degrees of freedom this fit's tests use.
    pub fn rule(&self) -> DfRule {
        match self.residual_df {
            Some(_) => DfRule::Residual,
            None => DfRule::Satterthwaite,
        }
    }

    /// `L Var(β̂) Lᵀ` and its Satterthwaite degrees of freedom (the residual ones without
    /// random effects).
    pub fn contrast(&self, l: &[f64]) -> (f64, f64) {
        let p = self.p;
        let qform = |m: &[f64]| -> f64 {
            (0..p)
                .filter(|&a| l[a] != 0.0)
                .map(|a| l[a] * (0..p).map(|b| m[a * p + b] * l[b]).sum::<f64>())
                .sum()
        };
        let var = qform(&self.vcov_beta);
        if let Some(df) = self.residual_df {
            return (var, df);
        }
        // ν = 2 var² / gᵀAg, taken as 2 / ĝᵀAĝ with ĝ = g / var: var² and gᵀAg scale as
        // the fourth power of the response's or a predictor's units and leave the floating
        // range long before var does (Days × 1e100: 1e-400, 0/0).
        let g: Vec<f64> = self
            .jacobian
            .chunks_exact((p * p).max(1))
            .map(|m| qform(m) / var)
            .collect();
        let k = g.len();
        let denom: f64 = (0..k)
            .map(|i| {
                g[i] * (0..k)
                    .map(|j| self.vcov_varpar[i * k + j] * g[j])
                    .sum::<f64>()
            })
            .sum();
        (var, 2.0 / denom)
    }

    /// The t-test that `L β = 0`.
    pub fn t_test(&self, l: &[f64], beta: &[f64]) -> TTest {
        let (var, df) = self.contrast(l);
        let estimate: f64 = l.iter().zip(beta).map(|(a, b)| a * b).sum();
        let t = estimate / var.sqrt();
        TTest {
            df,
            t,
            p: t_two_sided_p(t, df),
        }
    }

    /// The t-test of each coefficient, in order (lmerTest's `summary()` table).
    pub fn coefficient_tests(&self, beta: &[f64]) -> Vec<TTest> {
        let mut l = vec![0.0; self.p];
        (0..self.p)
            .map(|j| {
                l.fill(0.0);
                l[j] = 1.0;
                self.t_test(&l, beta)
            })
            .collect()
    }

    /// Whether the deviance's Hessian over `varpar` has a negative eigenvalue: the fit is not
    /// at a minimum (lmerTest's "Model failed to converge"), so it is not converged.
    pub fn not_at_minimum(&self) -> bool {
        self.hessian_eigenvalues
            .iter()
            .any(|&v| v < -EIGEN_TOLERANCE)
    }

    /// lmerTest's warnings about the Hessian of the deviance over `varpar`, in its words:
    /// negative eigenvalues (not at a minimum) or eigenvalues close to zero (directions left
    /// out of `A`).
    pub fn warnings(&self) -> Vec<String> {
        let ev = &self.hessian_eigenvalues;
        if ev.iter().any(|v| !v.is_finite()) {
            return vec![
                "the deviance's Hessian over (θ, σ) is not finite: no Satterthwaite \
                         degrees of freedom"
                    .into(),
            ];
        }
        let list = |keep: &dyn Fn(f64) -> bool| -> Vec<String> {
            ev.iter()
                .copied()
                .filter(|&v| keep(v))
                .map(r_exponential)
                .collect()
        };
        let plural = |n: usize| if n > 1 { "eigenvalues" } else { "eigenvalue" };
        let mut out = Vec::new();
        let negative = list(&|v| v < -EIGEN_TOLERANCE);
        if !negative.is_empty() {
            out.push(format!(
                "Model failed to converge with {} negative {}: {}",
                negative.len(),
                plural(negative.len()),
                negative.join(" ")
            ));
        }
        let zero = list(&|v| v.abs() < EIGEN_TOLERANCE);
        if !zero.is_empty() {
            out.push(format!(
                "Model may not have converged with {} {} close to zero: {}",
                zero.len(),
                plural(zero.len()),
                zero.join(" ")
            ));
        }
        out
    }
}

/// R's `sprintf("%1.1e", v)`: `-1.2e-03`.
fn r_exponential(v: f64) -> String {
    let s = format!("{v:.1e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// The t-test of each coefficient of the model at θ̂ and σ̂ (see [`Satterthwaite`]).
pub fn satterthwaite(problem: &mut Problem, theta: &[f64], sigma: f64, beta: &[f64]) -> Vec<TTest> {
    Satterthwaite::new(problem, theta, sigma).coefficient_tests(beta)
}

/// The Hessian of the deviance over `varpar`, the Jacobian of Var(β̂) and (R_X R_X')⁻¹ at
/// θ̂, as numDeriv takes them (see the module's documentation), but over the search's
/// scale (θ times [`Problem::parameter_scales`], σ in units of σ̂) and returned in θ and σ:
/// numDeriv's steps are relative except near zero, where they are absolute (1e-4), so in
/// the data's units they would depend on the units of the response and the predictors.
///
/// σ enters the deviance and Var(β̂) in closed form, so `problem` is factorised once per
/// distinct θ the derivatives visit rather than once per evaluation: for `n` θs,
/// `1 + 4n(n + 1)` of the Hessian's `1 + 4(n + 1)(n + 2)` evaluations and `8n` of the
/// Jacobian's `8(n + 1)`, with bit-for-bit the same values.
fn numerical_derivatives(problem: &mut Problem, theta: &[f64], sigma: f64) -> Derivatives {
    let n_theta = theta.len();
    let p = problem.design.p();
    // Searched value over value, per varpar: powers of two for θ, 1/σ̂ for σ.
    let mut scale: Vec<f64> = problem.parameter_scales()[..n_theta].to_vec();
    scale.push(1.0 / sigma);
    let mut scaled: Vec<f64> = theta.iter().zip(&scale).map(|(t, s)| t * s).collect();
    scaled.push(1.0);
    let unscale = |v: &[f64], theta: &mut Vec<f64>| -> f64 {
        theta.clear();
        theta.extend(v[..n_theta].iter().zip(&scale).map(|(t, s)| t / s));
        v[n_theta] * sigma
    };
    let mut visited = Memo::new(n_theta, 1 + 4 * n_theta * (n_theta + 1));
    let mut t = Vec::with_capacity(n_theta);
    let mut hessian = numderiv::hessian(
        |v: &[f64]| {
            let s = unscale(v, &mut t);
            visited
                .get_or_insert_with(&t, |t| problem.sigma_deviance(t))
                .map_or(f64::INFINITY, |d| d.at(s))
        },
        &scaled,
    );
    let at_optimum = problem.unscaled_vcov_at(theta);
    let mut jacobian = numderiv::jacobian(
        |v: &[f64], out: &mut [f64]| {
            let s = unscale(v, &mut t);
            let elsewhere;
            let unscaled = if t == theta {
                at_optimum.as_deref()
            } else {
                elsewhere = problem.unscaled_vcov_at(&t);
                elsewhere.as_deref()
            };
            match unscaled {
                Some(u) => {
                    out.copy_from_slice(u);
                    scale_vcov(out, s);
                }
                None => out.fill(f64::NAN),
            }
        },
        &scaled,
        p * p,
    );
    // Back to θ and σ: ∂/∂x = scale · ∂/∂(scaled x).
    let k = n_theta + 1;
    for a in 0..k {
        for b in 0..k {
            hessian[a * k + b] *= scale[a] * scale[b];
        }
    }
    for (block, s) in jacobian.chunks_exact_mut((p * p).max(1)).zip(&scale) {
        block.iter_mut().for_each(|v| *v *= s);
    }
    (hessian, jacobian, at_optimum)
}

/// The same from the analytic derivatives ([`Problem::derivatives`]): the Jacobian and the
/// σ rows of the Hessian in closed form, the θ block by central differences of the
/// gradient — `2n + 1` factorisations instead of about `4n² + 12n`. `None` where a
/// factorisation fails.
fn analytic_derivatives(problem: &mut Problem, theta: &[f64], sigma: f64) -> Option<Derivatives> {
    let n = theta.len();
    let k = n + 1;
    let p = problem.design.p();
    let s2 = sigma * sigma;
    let c = problem.conditional_at(theta)?;
    let at = problem.derivatives(theta, true)?;
    let mut hessian = vec![0.0; k * k];
    let mut step = theta.to_vec();
    let (mut plus, mut minus) = (vec![0.0; n], vec![0.0; n]);
    for l in 0..n {
        // The step on the search's scale (unit-free), expressed in θ.
        let w = problem.parameter_scales()[l];
        let h = (GRADIENT_STEP * (theta[l] * w).abs() + GRADIENT_STEP / 10.0) / w;
        step[l] = theta[l] + h;
        problem.derivatives(&step, false)?.at_sigma2(s2, &mut plus);
        step[l] = theta[l] - h;
        problem.derivatives(&step, false)?.at_sigma2(s2, &mut minus);
        step[l] = theta[l];
        for m in 0..n {
            hessian[m * k + l] = (plus[m] - minus[m]) / (2.0 * h);
        }
    }
    for a in 0..n {
        for b in 0..a {
            let v = 0.5 * (hessian[a * k + b] + hessian[b * k + a]);
            hessian[a * k + b] = v;
            hessian[b * k + a] = v;
        }
        // ∂²D/∂θ∂σ = −2 (∂pwrss/∂θ) / σ³.
        let v = -2.0 * (at.pwrss[a] / s2) / sigma;
        hessian[a * k + n] = v;
        hessian[n * k + a] = v;
    }
    // ∂²D/∂σ² = −2·dof/σ² + 6·pwrss/σ⁴, without forming σ⁴ (past the floating range for a
    // response in units of 1e100).
    let dev = c.deviance;
    hessian[n * k + n] = (-2.0 * dev.dof + 6.0 * dev.pwrss / s2) / s2;
    // ∂Var(β̂)/∂θ = σ² ∂C/∂θ and ∂Var(β̂)/∂σ = 2σC.
    let mut jacobian: Vec<f64> = at.unscaled_vcov.iter().map(|v| v * s2).collect();
    jacobian.extend(c.unscaled_vcov.iter().map(|v| 2.0 * sigma * v));
    debug_assert_eq!(jacobian.len(), k * p * p);
    Some((hessian, jacobian, Some(c.unscaled_vcov)))
}

/// Relative step of the central differences of the gradient (plus a tenth of it absolute,
/// for θ at zero): truncation error about its square, well under lmerTest's own.
const GRADIENT_STEP: f64 = 1e-4;

/// Hessian over `varpar` (row-major), Jacobian of Var(β̂) (one p × p block per `varpar`)
/// and (R_X R_X')⁻¹ at θ̂.
type Derivatives = (Vec<f64>, Vec<f64>, Option<Vec<f64>>);

/// `2H⁺` over the eigenvalues of the symmetric `h` above [`EIGEN_TOLERANCE`], and all the
/// eigenvalues (ascending). All `NaN` where `h` is not finite.
fn pseudo_inverse_times_two(h: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let nan = || (vec![f64::NAN; k * k], vec![f64::NAN; k]);
    if h.iter().any(|v| !v.is_finite()) {
        return nan();
    }
    let m = faer::Mat::from_fn(k, k, |i, j| h[i * k + j]);
    let Ok(evd) = m.self_adjoint_eigen(faer::Side::Lower) else {
        return nan();
    };
    let (u, s) = (evd.U(), evd.S().column_vector());
    let values: Vec<f64> = (0..k).map(|i| s[i]).collect();
    let mut inv = vec![0.0; k * k];
    for (c, &lambda) in values.iter().enumerate() {
        if lambda > EIGEN_TOLERANCE {
            for i in 0..k {
                for j in 0..k {
                    inv[i * k + j] += 2.0 * u[(i, c)] * u[(j, c)] / lambda;
                }
            }
        }
    }
    (inv, values)
}

/// Values of a function of θ already computed, found by θ itself (compared exactly): the
/// numerical derivatives revisit each θ with only σ moved. Linear search: the number of
/// distinct θ is small (`1 + 4n(n + 1)`) next to the cost of one factorisation.
struct Memo<T> {
    n: usize,
    keys: Vec<f64>,
    values: Vec<T>,
}

impl<T: Copy> Memo<T> {
    fn new(n: usize, capacity: usize) -> Self {
        Memo {
            n,
            keys: Vec::with_capacity(n * capacity),
            values: Vec::with_capacity(capacity),
        }
    }

    fn get_or_insert_with(&mut self, theta: &[f64], f: impl FnOnce(&[f64]) -> T) -> T {
        let n = self.n;
        if let Some(i) =
            (0..self.values.len()).position(|i| &self.keys[i * n..(i + 1) * n] == theta)
        {
            return self.values[i];
        }
        let value = f(theta);
        self.keys.extend_from_slice(theta);
        self.values.push(value);
        value
    }
}
