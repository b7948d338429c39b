//! Nakagawa & Schielzeth's marginal and conditional R² for linear mixed models, with
//! Johnson's (2014) extension to random slopes — the figures `performance::r2_nakagawa` and
//! `MuMIn::r.squaredGLMM` report.
//!
//! R²m = σ²_f / (σ²_f + σ²_r + σ²), R²c = (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²), where σ²_f is the
//! sample variance of the fixed-effect predictions Xβ̂ and σ²_r sums, over random-effect
//! terms, the mean over observations of zᵢ'Σzᵢ (zᵢ the term's model-matrix row).

use crate::design::Design;
use crate::fit::RandomEffects;
use serde::Serialize;

/// Variance explained by the fixed effects alone, and by fixed and random effects together.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RSquared {
    pub marginal: f64,
    pub conditional: f64,
}

pub fn r_squared(design: &Design, beta: &[f64], random: &[RandomEffects], sigma: f64) -> RSquared {
    let n = design.n();
    let mut eta = vec![0.0; n];
    for (b, col) in beta.iter().zip(design.x.chunks_exact(n.max(1))) {
        eta.iter_mut().zip(col).for_each(|(e, x)| *e += b * x);
    }
    let mean = eta.iter().sum::<f64>() / n as f64;
    let var_fixed = eta.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let var_random: f64 = design
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
        .sum();
    let total = var_fixed + var_random + sigma * sigma;
    RSquared {
        marginal: var_fixed / total,
        conditional: (var_fixed + var_random) / total,
    }
}
