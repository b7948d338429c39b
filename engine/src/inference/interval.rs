//! Confidence intervals for every parameter of a fit, named and ordered as lme4's `confint`:
//! each term's standard deviations and correlations, the residual standard deviation, then
//! the fixed effects.

use super::sdcor;
use crate::design::Design;
use crate::error::ModelError;
use crate::fit::{LmmFit, RandomEffects};

/// A parameter on lme4's reporting scale.
#[derive(Debug, Clone, PartialEq)]
pub enum Parameter {
    /// A standard deviation: of effect `var1` of a term (lme4's `.sigNN`), or the residual
    /// standard deviation (`group` "Residual", no `var1`; lme4's `.sigma`).
    Sd {
        group: String,
        var1: Option<String>,
    },
    /// The correlation of two effects of one term.
    Cor {
        group: String,
        var1: String,
        var2: String,
    },
    Fixed {
        term: String,
    },
    /// The negative binomial's θ (Var(y) = μ + μ²/θ; glmmTMB's `sigma` of `nbinom2`).
    NbTheta,
}

/// A two-sided interval for one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub parameter: Parameter,
    pub lower: f64,
    pub upper: f64,
}

/// The parameters of a fit in `confint`'s order.
pub(crate) fn parameters(fit: &LmmFit, design: &Design) -> Vec<Parameter> {
    let mut out = random_parameters(design, &fit.random);
    out.push(Parameter::Sd {
        group: "Residual".into(),
        var1: None,
    });
    out.extend(
        fit.fixed_names
            .iter()
            .map(|term| Parameter::Fixed { term: term.clone() }),
    );
    out
}

/// Each random-effect term's standard deviations and correlations, in `confint`'s order.
pub(crate) fn random_parameters(design: &Design, random: &[RandomEffects]) -> Vec<Parameter> {
    let mut out = Vec::new();
    for (block, effects) in design.random.iter().zip(random) {
        for (a, b) in sdcor::entries(block.q(), block.covariance) {
            let group = effects.label.clone();
            out.push(if a == b {
                Parameter::Sd {
                    group,
                    var1: Some(block.names[a].clone()),
                }
            } else {
                Parameter::Cor {
                    group,
                    var1: block.names[a].clone(),
                    var2: block.names[b].clone(),
                }
            });
        }
    }
    out
}

/// The values of [`parameters`] from each term's covariance matrix, σ and β.
pub(crate) fn values(
    design: &Design,
    covariances: &[Vec<f64>],
    sigma: f64,
    beta: &[f64],
) -> Vec<f64> {
    let mut out = random_values(design, covariances);
    out.push(sigma);
    out.extend_from_slice(beta);
    out
}

/// The values of [`random_parameters`] from each term's covariance matrix.
pub(crate) fn random_values(design: &Design, covariances: &[Vec<f64>]) -> Vec<f64> {
    let mut out = Vec::new();
    for (block, cov) in design.random.iter().zip(covariances) {
        let q = block.q();
        out.extend(sdcor::values(cov, q, &sdcor::entries(q, block.covariance)));
    }
    out
}

/// Residual structures change what σ means, so intervals on lme4's scale do not apply.
pub(crate) fn require_plain_residual(design: &Design, what: &str) -> Result<(), ModelError> {
    match &design.residual {
        Some(r) => Err(ModelError::Unsupported {
            what: what.into(),
            model: format!("models with a residual structure ({})", r.spec.describe()),
        }),
        None => Ok(()),
    }
}
