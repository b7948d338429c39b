//! Analytic first derivatives of the deviance over θ, from the factor of the last
//! evaluation: the gradient (for the quasi-Newton search) and the Jacobian of (R_X R_X')⁻¹
//! (for Satterthwaite's degrees of freedom).
//!
//! With `V = ZΛΛ'Z' + I` (in units of σ²), `r = y − Xβ̂` and `C = (X'V⁻¹X)⁻¹`, each θₖ moves
//! `ΛΛ'` by `Dₖ = ∂(ΛΛ')/∂θₖ`, and
//!
//! - `∂ log|V| / ∂θₖ = tr(Z'V⁻¹Z · Dₖ)`,
//! - `∂ log|X'V⁻¹X| / ∂θₖ = −tr(Z'V⁻¹X C X'V⁻¹Z · Dₖ)` (REML only),
//! - `∂ r'V⁻¹r / ∂θₖ = −(Z'V⁻¹r)' Dₖ (Z'V⁻¹r)` (β̂ is optimal, so it does not move),
//! - `∂C/∂θₖ = C (X'V⁻¹Z Dₖ Z'V⁻¹X) C`.
//!
//! `Dₖ` is block-diagonal, so only the diagonal blocks of these matrices are needed. Two
//! layouts have them cheaply: one grouping factor ([`one_factor`]: every block is a level's)
//! and several factors whose terms are all scalar ([`scalar_terms`]: from the inverse of
//! the dense block's factor). Other models are fitted without derivatives.
//!
//! Why analytic: a gradient costs about one evaluation (two with several factors) instead
//! of `2k` (central differences), and a quasi-Newton search needs a fifth of BOBYQA's
//! evaluations.

mod one_factor;
mod scalar_terms;

use super::blocks::Blocks;
use super::factor::Factor;

/// The derivatives at one θ, split so that σ can be profiled out or held fixed.
#[derive(Debug, Clone)]
pub struct Derivatives {
    /// ∂/∂θₖ of the log-determinants: `log|V|`, plus `log|X'V⁻¹X|` for REML.
    pub log_det: Vec<f64>,
    /// ∂/∂θₖ of the penalised residual sum of squares.
    pub pwrss: Vec<f64>,
    /// ∂(R_X R_X')⁻¹/∂θₖ: one row-major p × p block per θₖ; empty unless asked for.
    pub unscaled_vcov: Vec<f64>,
}

impl Derivatives {
    /// From each θₖ's `(∂ log-det, ∂ pwrss, K)` with `∂(R_X R_X')⁻¹/∂θₖ = C K C`; `K` is
    /// formed only when `vcov` asks for the Jacobian.
    fn from_parts<K: FnOnce() -> Vec<f64>>(
        c: &[f64],
        p: usize,
        vcov: bool,
        parts: impl Iterator<Item = (f64, f64, K)>,
    ) -> Derivatives {
        let mut out = Derivatives {
            log_det: Vec::new(),
            pwrss: Vec::new(),
            unscaled_vcov: Vec::new(),
        };
        for (log_det, pwrss, k) in parts {
            out.log_det.push(log_det);
            out.pwrss.push(pwrss);
            if vcov {
                out.unscaled_vcov.extend(sandwich(c, &k(), p));
            }
        }
        out
    }

    /// The gradient of the deviance at σ (`log_det + pwrss/σ²`); with σ̂² = pwrss/dof it is
    /// the gradient of the profiled deviance.
    pub fn at_sigma2(&self, sigma2: f64, out: &mut [f64]) {
        for ((o, a), b) in out.iter_mut().zip(&self.log_det).zip(&self.pwrss) {
            *o = a + b / sigma2;
        }
    }
}

impl Factor {
    /// Whether [`Factor::derivatives`] applies: one grouping factor (the dense block holds
    /// only `[X y]`), or several whose terms are all scalar.
    pub fn has_derivatives(blocks: &Blocks) -> bool {
        let lay = &blocks.layout;
        blocks.q1 > 0 && (lay.q_rest == 0 || (blocks.q1 == 1 && lay.terms.iter().all(|t| t.1 == 1)))
    }

    /// The derivatives at the last successful [`Factor::update`], at θ. `reml` adds the
    /// REML term; `vcov` also gives ∂(R_X R_X')⁻¹. Needs [`Factor::has_derivatives`].
    pub fn derivatives(
        &mut self,
        blocks: &Blocks,
        theta: &[f64],
        reml: bool,
        vcov: bool,
    ) -> Derivatives {
        if blocks.layout.q_rest == 0 {
            let dcov = self.lambda.covariance_derivatives(0, theta);
            self.one_factor_derivatives(blocks, &dcov, reml, vcov)
        } else {
            self.scalar_terms_derivatives(blocks, theta, reml, vcov)
        }
    }
}

/// `C K C` for row-major `p × p` matrices.
fn sandwich(c: &[f64], k: &[f64], p: usize) -> Vec<f64> {
    let ck: Vec<f64> = (0..p * p)
        .map(|i| (0..p).map(|m| c[(i / p) * p + m] * k[m * p + i % p]).sum())
        .collect();
    (0..p * p)
        .map(|i| (0..p).map(|m| ck[(i / p) * p + m] * c[m * p + i % p]).sum())
        .collect()
}
