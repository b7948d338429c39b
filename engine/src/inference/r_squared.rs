//! Nakagawa & Schielzeth's marginal and conditional R² for linear mixed models, with
//! Johnson's (2014) extension to random slopes — the figures `performance::r2_nakagawa` and
//! `MuMIn::r.squaredGLMM` report.
//!
//! R²m = σ²_f / (σ²_f + σ²_r + σ²), R²c = (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²), where σ²_f is the
//! sample variance of the fixed-effect predictions Xβ̂ and σ²_r sums, over random-effect
//! terms, the mean over observations of zᵢ'Σzᵢ (zᵢ the term's model-matrix row).

use crate::design::Design;
use crate::fit::RandomEffects;
use crate::statistics::Moments;
use serde::Serialize;

/// Variance explained by the fixed effects alone, and by fixed and random effects together.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RSquared {
    pub marginal: f64,
    pub conditional: f64,
}

/// R² from the rows of `design`.
pub fn r_squared(design: &Design, beta: &[f64], random: &[RandomEffects], sigma: f64) -> RSquared {
    RSquared::from_variances(
        fixed_variance(design, beta),
        random_variance(design, random),
        sigma * sigma,
    )
}

impl RSquared {
    /// From σ²_f, σ²_r and the residual (or, for a generalized model, distribution-specific)
    /// variance.
    pub fn from_variances(fixed: f64, random: f64, residual: f64) -> RSquared {
        let total = fixed + random + residual;
        RSquared {
            marginal: fixed / total,
            conditional: (fixed + random) / total,
        }
    }
}

/// σ²_f: the sample variance (n − 1) of the fixed-effect predictions Xβ.
pub(crate) fn fixed_variance(design: &Design, beta: &[f64]) -> f64 {
    let n = design.n();
    let mut eta = vec![0.0; n];
    for (b, col) in beta.iter().zip(design.x.chunks_exact(n.max(1))) {
        eta.iter_mut().zip(col).for_each(|(e, x)| *e += b * x);
    }
    let mean = eta.iter().sum::<f64>() / n as f64;
    eta.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)
}

/// σ²_r: over random-effect terms, the mean over observations of zᵢ'Σzᵢ.
pub(crate) fn random_variance(design: &Design, random: &[RandomEffects]) -> f64 {
    let n = design.n();
    design
        .random
        .iter()
        .zip(random)
        .map(|(block, re)| {
            let q = block.q();
            let quad: f64 = block
                .values
                .chunks_exact(q)
                .map(|z| {
                    (0..q)
                        .map(|a| {
                            (0..q)
                                .map(|b| z[a] * re.covariance[a * q + b] * z[b])
                                .sum::<f64>()
                        })
                        .sum::<f64>()
                })
                .sum();
            quad / n as f64
        })
        .sum()
}

/// R² from sums (a model with one grouping factor fitted from per-subject statistics):
/// Σ(Xβ̂ − mean)² is β̂'(X'X − 1'X'1'X/n)β̂, formed with the centring inside so that a large
/// intercept does not cancel; the mean of zᵢ'Σzᵢ is tr(Σ·ΣᵢZᵢ'Zᵢ)/n.
pub(crate) fn r_squared_from_sums(
    sums: &Moments,
    n: usize,
    beta: &[f64],
    random: &[RandomEffects],
    sigma: f64,
) -> RSquared {
    let p = beta.len();
    let nf = n as f64;
    let centred = |a: usize, b: usize| sums.xtx[a * p + b] - sums.x_sums[a] * sums.x_sums[b] / nf;
    let ss_fixed: f64 = (0..p)
        .map(|a| {
            (0..p)
                .map(|b| beta[a] * centred(a, b) * beta[b])
                .sum::<f64>()
        })
        .sum();
    let random_variance: f64 = random
        .iter()
        .map(|re| {
            re.covariance
                .iter()
                .zip(&sums.ztz)
                .map(|(c, z)| c * z)
                .sum::<f64>()
                / nf
        })
        .sum();
    RSquared::from_variances(
        ss_fixed.max(0.0) / (nf - 1.0),
        random_variance,
        sigma * sigma,
    )
}
