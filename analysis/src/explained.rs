//! Explained variance, as the seed study reports it: how much smaller each random-effect
//! variance (and the residual variance) of a model is than in a reference model, in percent
//! of the reference's. Adding a predictor of the intercept or slope should shrink the
//! corresponding variance of the subjects.

use mixspec_engine::LmmFit;

/// One model against its reference.
#[derive(Debug, Clone)]
pub struct ExplainedVariance {
    pub model: String,
    pub reference: String,
    /// One row per variance component of either model, the reference's first.
    pub rows: Vec<ExplainedRow>,
}

#[derive(Debug, Clone)]
pub struct ExplainedRow {
    /// The grouping factor as lme4 names it, or `Residual`.
    pub group: String,
    /// The random effect (`(Intercept)`, `months`); empty for the residual.
    pub effect: String,
    pub reference: Option<f64>,
    pub model: Option<f64>,
    /// `100 (reference − model) / reference`: the share of the reference's variance the
    /// model explains. Negative when the variance grew.
    pub percent: Option<f64>,
}

/// Variances (not covariances) of a fit, keyed by group and effect.
fn variances(fit: &LmmFit) -> Vec<(String, String, f64)> {
    fit.varcorr()
        .into_iter()
        .filter(|r| r.var2.is_none())
        .map(|r| (r.group, r.var1.unwrap_or_default(), r.vcov))
        .collect()
}

pub(crate) fn explained(
    model: &str,
    fit: &LmmFit,
    reference: &str,
    reference_fit: &LmmFit,
) -> ExplainedVariance {
    let of_model = variances(fit);
    let of_reference = variances(reference_fit);
    let find = |list: &[(String, String, f64)], g: &str, e: &str| {
        list.iter()
            .find(|(lg, le, _)| lg == g && le == e)
            .map(|(_, _, v)| *v)
    };
    let mut keys: Vec<(String, String)> = of_reference
        .iter()
        .map(|(g, e, _)| (g.clone(), e.clone()))
        .collect();
    for (g, e, _) in &of_model {
        if !keys.iter().any(|(kg, ke)| kg == g && ke == e) {
            keys.push((g.clone(), e.clone()));
        }
    }
    // The residual variance last, as in VarCorr, after any component only the model has.
    keys.sort_by_key(|(g, e)| g == "Residual" && e.is_empty());
    let rows = keys
        .into_iter()
        .map(|(group, effect)| {
            let r = find(&of_reference, &group, &effect);
            let m = find(&of_model, &group, &effect);
            let percent = match (r, m) {
                (Some(r), Some(m)) if r > 0.0 => Some(100.0 * (r - m) / r),
                _ => None,
            };
            ExplainedRow {
                group,
                effect,
                reference: r,
                model: m,
                percent,
            }
        })
        .collect();
    ExplainedVariance {
        model: model.to_string(),
        reference: reference.to_string(),
        rows,
    }
}
