//! Nakagawa's marginal and conditional R² for generalized mixed models, as
//! `performance::r2_nakagawa` computes them (insight 0.19's `get_variance`): the linear
//! model's σ²_f (variance of Xβ̂) and σ²_r (mean zᵢ'Σzᵢ, Johnson's extension to slopes) on the
//! link scale, with the residual variance replaced by the family's distribution-specific
//! variance on that scale (Nakagawa, Johnson & Schielzeth 2017):
//!
//! * binomial: the variance of the link's standard distribution, π²/3 (logit), 1 (probit),
//!   π²/6 (cloglog);
//! * Poisson: the lognormal approximation `ln(1 + 1/λ)`, NB2 `ln(1 + 1/λ + 1/θ)`, with λ
//!   `exp(β₀)` of the null model — the same random effects and offset with an intercept
//!   only — refitted, as insight does.

use super::{fit_glmm, GlmmFit, GlmmOptions};
use crate::design::{ColumnOrigin, Design, GlmResponse};
use crate::error::ModelError;
use crate::family::{Family, Link};
use crate::inference::{fixed_variance, random_variance, RSquared};
use std::f64::consts::PI;

/// R² of `fit`, made from `design` and `response` with `options`.
pub fn nakagawa(
    design: &Design,
    response: &GlmResponse,
    options: &GlmmOptions,
    fit: &GlmmFit,
) -> Result<RSquared, ModelError> {
    let distribution = match (fit.family, fit.link) {
        (Family::Binomial, Link::Logit) => PI * PI / 3.0,
        (Family::Binomial, Link::Probit) => 1.0,
        (Family::Binomial, Link::Cloglog) => PI * PI / 6.0,
        (family, _) => {
            let lambda = null_intercept(design, response, options)?.exp();
            let nb = match family {
                Family::NegativeBinomial { .. } => 1.0 / fit.nb_theta.unwrap_or(f64::INFINITY),
                _ => 0.0,
            };
            (1.0 / lambda + nb).ln_1p()
        }
    };
    Ok(RSquared::from_variances(
        fixed_variance(design, &fit.beta),
        random_variance(design, &fit.random),
        distribution,
    ))
}

/// β₀ of the intercept-only model with the same random effects, offset and family.
fn null_intercept(
    design: &Design,
    response: &GlmResponse,
    options: &GlmmOptions,
) -> Result<f64, ModelError> {
    let mut null = design.clone();
    null.x = vec![1.0; design.n()];
    null.x_names = vec!["(Intercept)".into()];
    null.x_origins = vec![ColumnOrigin::default()];
    null.aliased.clear();
    let fit = fit_glmm(null, response.clone(), options)?;
    Ok(fit.beta[0])
}
