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
//! `Dₖ` is block-diagonal, so only the diagonal blocks of these matrices are needed, per
//! level ℓ of each term: `(Z'V⁻¹Z)_ℓℓ`, `Gℓ = (Z'V⁻¹X)_ℓ` and `wℓ = (Z'V⁻¹r)_ℓ`. With one
//! grouping factor every block is a level's and one more pass over the levels gives them
//! ([`one_factor`]); with several, nested or crossed, of any term sizes, they come from the
//! blocked factor and the inverse of its dense block ([`blocked`]).
//!
//! Why analytic: a gradient costs about one evaluation (two with several factors) instead
//! of `2k` (central differences), and a quasi-Newton search needs a fifth of BOBYQA's
//! evaluations.

mod blocked;
mod one_factor;
mod residual;
mod residual_blocked;

use super::blocks::Blocks;
use super::factor::Factor;
use crate::design::Design;
pub(in crate::fit) use blocked::Buffers;
pub(super) use residual::Whitened;

/// The derivatives at one θ (then φ, with a residual structure), split so that σ can be
/// profiled out or held fixed.
#[derive(Debug, Clone, Default)]
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
    /// Whether [`Factor::derivatives`] applies: any random effects.
    pub fn has_derivatives(blocks: &Blocks) -> bool {
        blocks.q1 > 0
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
            self.blocked_derivatives(blocks, theta, reml, vcov)
        }
    }

    /// [`Factor::derivatives`] of a model with a residual structure, over θ then φ, at the
    /// last successful update of its whitened problem (`blocks`): with one grouping factor
    /// or none by [`residual`], with several by [`residual_blocked`] (which reads what the
    /// θ derivatives leave in the factor, so they come first). `scratch` has the design's
    /// shape. `None` for φ outside the admissible range.
    pub(super) fn whitened_derivatives(
        &mut self,
        blocks: &Blocks,
        theta: &[f64],
        (reml, vcov): (bool, bool),
        residual: &Whitened,
        scratch: &mut Design,
    ) -> Option<Derivatives> {
        let mut d = if Factor::has_derivatives(blocks) {
            self.derivatives(blocks, theta, reml, vcov)
        } else {
            Derivatives::default()
        };
        let phi = if blocks.layout.q_rest == 0 {
            self.residual_derivatives(blocks, residual, scratch, reml, vcov)
        } else {
            self.blocked_residual_derivatives(blocks, residual, scratch, reml, vcov)
        }?;
        d.log_det.extend(phi.log_det);
        d.pwrss.extend(phi.pwrss);
        d.unscaled_vcov.extend(phi.unscaled_vcov);
        Some(d)
    }
}

/// Sums over one term's levels from which every derivative in that term's θ follows.
#[derive(Debug, Clone)]
struct LevelSums {
    q: usize,
    p: usize,
    /// `Σℓ (Z'V⁻¹Z)_ℓℓ` ([`one_factor`]) or `Σℓ T'(Z'V⁻¹Z)_ℓℓ` ([`blocked`]) (q × q,
    /// column-major).
    zvz: Vec<f64>,
    /// `Σℓ wℓwℓ'` (q × q).
    ww: Vec<f64>,
    /// `Σℓ vec(Gℓ) vec(Gℓ)'` with `vec(G)[a·p + r] = G[a, r]` (q × p): (qp)² values; empty
    /// when not asked for.
    gg: Vec<f64>,
    /// `Σℓ Gℓ C Gℓ'` (q × q), the REML term, summed directly from `R_X⁻¹` (see
    /// [`LevelSums::add_level`]) when the Jacobian, and so `gg`, is not asked for; empty
    /// otherwise.
    gcg: Vec<f64>,
    /// Scratch of the direct sum: `R_X⁻¹Gℓ'` (p × q).
    z: Vec<f64>,
}

impl LevelSums {
    fn zeros(q: usize, p: usize, with_gg: bool) -> LevelSums {
        let qp = if with_gg { q * p } else { 0 };
        LevelSums {
            q,
            p,
            zvz: vec![0.0; q * q],
            ww: vec![0.0; q * q],
            gg: vec![0.0; qp * qp],
            gcg: Vec::new(),
            z: Vec::new(),
        }
    }

    /// Sums whose REML term `Σℓ Gℓ C Gℓ'` is summed directly (without `gg`): (q·p)² fewer
    /// products per level, for the gradient alone.
    fn with_direct_reml(q: usize, p: usize) -> LevelSums {
        let mut sums = LevelSums::zeros(q, p, false);
        sums.gcg = vec![0.0; q * q];
        sums.z = vec![0.0; q * p];
        sums
    }

    fn add(&mut self, other: &LevelSums) {
        for (a, b) in [
            (&mut self.zvz, &other.zvz),
            (&mut self.ww, &other.ww),
            (&mut self.gg, &other.gg),
            (&mut self.gcg, &other.gcg),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }

    /// Adds one level's `wℓwℓ'` and `vec(Gℓ)vec(Gℓ)'` (or, with a direct REML term,
    /// `Gℓ C Gℓ' = (R_X⁻¹Gℓ')'(R_X⁻¹Gℓ')` with `rinv` = R_X⁻¹, lower triangular, row-major)
    /// from `Z'V⁻¹[X y]` (`gy`, q rows of p + 1, row-major): `wℓ = Z'V⁻¹y − Gℓβ̂`.
    fn add_level(&mut self, gy: &[f64], beta: &[f64], rinv: &[f64]) {
        let (q, p) = (self.q, self.p);
        let m = p + 1;
        let gy = &gy[..q * m];
        let w = |a: usize| {
            let row = &gy[a * m..(a + 1) * m];
            row[p] - row[..p].iter().zip(beta).map(|(g, b)| g * b).sum::<f64>()
        };
        for c in 0..q {
            let wc = w(c);
            for r in 0..q {
                self.ww[c * q + r] += w(r) * wc;
            }
        }
        if !self.gcg.is_empty() {
            for a in 0..q {
                let g = &gy[a * m..a * m + p];
                let z = &mut self.z[a * p..(a + 1) * p];
                for (r, zr) in z.iter_mut().enumerate() {
                    *zr = rinv[r * p..r * p + r + 1]
                        .iter()
                        .zip(g)
                        .map(|(x, y)| x * y)
                        .sum();
                }
            }
            for a in 0..q {
                for b in 0..=a {
                    let v: f64 = self.z[a * p..(a + 1) * p]
                        .iter()
                        .zip(&self.z[b * p..(b + 1) * p])
                        .map(|(x, y)| x * y)
                        .sum();
                    self.gcg[b * q + a] += v;
                    if a != b {
                        self.gcg[a * q + b] += v;
                    }
                }
            }
        }
        if self.gg.is_empty() {
            return;
        }
        let qp = q * p;
        for a1 in 0..q {
            for r1 in 0..p {
                let x = gy[a1 * m + r1];
                if x == 0.0 {
                    continue;
                }
                let row = &mut self.gg[(a1 * p + r1) * qp..(a1 * p + r1 + 1) * qp];
                for a2 in 0..q {
                    for r2 in 0..p {
                        row[a2 * p + r2] += x * gy[a2 * m + r2];
                    }
                }
            }
        }
    }

    /// `tr(S D)` for symmetric `q × q` matrices.
    fn trace(s: &[f64], d: &[f64]) -> f64 {
        s.iter().zip(d).map(|(a, b)| a * b).sum()
    }

    /// `Σℓ Gℓ C Gℓ'` (q × q) for row-major `p × p` `C`: the REML term, summed directly or
    /// from `gg`.
    fn gcg(&self, c: &[f64]) -> Vec<f64> {
        if !self.gcg.is_empty() {
            return self.gcg.clone();
        }
        let (q, p) = (self.q, self.p);
        let qp = q * p;
        let mut m = vec![0.0; q * q];
        for a in 0..q {
            for b in 0..q {
                m[b * q + a] = (0..p)
                    .flat_map(|r| (0..p).map(move |s| (r, s)))
                    .map(|(r, s)| c[r * p + s] * self.gg[(a * p + r) * qp + b * p + s])
                    .sum();
            }
        }
        m
    }

    /// `K[r, s] = Σ_ab D[a, b] GG[(a, r), (b, s)]`, i.e. `Σℓ Gℓ' D Gℓ` (p × p).
    fn g_d_g(&self, d: &[f64]) -> Vec<f64> {
        let (q, p) = (self.q, self.p);
        let qp = q * p;
        let mut k = vec![0.0; p * p];
        for a in 0..q {
            for b in 0..q {
                let dab = d[b * q + a];
                if dab == 0.0 {
                    continue;
                }
                for r in 0..p {
                    for s in 0..p {
                        k[r * p + s] += dab * self.gg[(a * p + r) * qp + b * p + s];
                    }
                }
            }
        }
        k
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
