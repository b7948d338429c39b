//! Explained variance, as the seed study reports it: how much smaller each random-effect
//! variance (and the residual variance) of a model is than in a reference model, in percent
//! of the reference's. Adding a predictor of the intercept or slope should shrink the
//! corresponding variance of the subjects.
//!
//! Both fits must be to the same observations (a smaller sample alone changes the
//! variances): where the model has fewer rows than its reference, the reference is refitted
//! to the model's rows (`crate::samples`), and the result says so.

use mixspec_engine::LmmFit;

/// One model against its reference.
#[derive(Debug, Clone)]
pub struct ExplainedVariance {
    pub model: String,
    pub reference: String,
    /// The reference fit the model is set beside.
    pub reference_fit: ReferenceFit,
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

/// The fit of a reference model a model is set beside: always on the model's observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceFit {
    /// The reference as the spec fits it has other rows, so it was refitted to the model's.
    pub refitted: bool,
    pub n_obs: usize,
    /// Levels of the first grouping factor (the subjects).
    pub n_subjects: usize,
    pub aic: f64,
}

impl ReferenceFit {
    pub(crate) fn of(fit: &LmmFit, refitted: bool) -> ReferenceFit {
        ReferenceFit {
            refitted,
            n_obs: fit.n_obs,
            n_subjects: subjects(fit),
            aic: fit.aic,
        }
    }
}

/// Levels of the first grouping factor: the subjects, in the models of a longitudinal study.
pub(crate) fn subjects(fit: &LmmFit) -> usize {
    fit.groups().first().map_or(0, |(_, n)| *n)
}

/// Variances (not covariances) of a fit, keyed by group and effect.
fn variances(fit: &LmmFit) -> Vec<(String, String, f64)> {
    fit.varcorr()
        .into_iter()
        .filter(|r| r.var2.is_none())
        .map(|r| (r.group, r.var1.unwrap_or_default(), r.vcov))
        .collect()
}

/// `reference_fit` is the reference's fit to the observations of `fit`; `refitted` when it
/// is not the reference's own.
pub(crate) fn explained(
    model: &str,
    fit: &LmmFit,
    reference: &str,
    reference_fit: &LmmFit,
    refitted: bool,
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
        reference_fit: ReferenceFit::of(reference_fit, refitted),
        rows,
    }
}
