//! Likelihood-ratio tests between models, laid out as lme4's `anova()`: the models ordered by
//! their number of parameters, each tested against the one before it.
//!
//! Likelihoods are comparable only on the same observations, and REML likelihoods only
//! between models with the same fixed effects; otherwise the REML fits are refitted by
//! maximum likelihood first, as `anova()` does.

use mixspec_dsl::spec::{Compare, ModelDef, SpecDiagnostic};
use mixspec_engine::inference::chi_square_upper_tail;
use mixspec_engine::LmmFit;

use crate::fit::FittedModel;
use crate::samples::different_observations;

/// Which likelihood the test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Every model was fitted by maximum likelihood.
    MaximumLikelihood,
    /// Every model was fitted by REML and they share their fixed effects, so the REML
    /// criteria are comparable (a test of the random effects).
    Reml,
    /// The fixed effects differ (or the methods do): REML fits were refitted by maximum
    /// likelihood for the test.
    RefittedMl,
}

/// One `compare` statement's table.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub basis: Basis,
    /// By increasing number of parameters (ties in the order written).
    pub rows: Vec<ComparisonRow>,
}

#[derive(Debug, Clone)]
pub struct ComparisonRow {
    pub model: String,
    /// Fixed effects, covariance parameters and residual parameters, as lme4's `npar`.
    pub parameters: usize,
    pub aic: f64,
    pub bic: f64,
    pub loglik: f64,
    /// −2 log-likelihood (ML), or the REML criterion.
    pub deviance: f64,
    /// The test against the row before; `None` on the first row.
    pub test: Option<LikelihoodRatio>,
}

#[derive(Debug, Clone, Copy)]
pub struct LikelihoodRatio {
    /// `2 (logLik − logLik of the row before)`, at least 0.
    pub chi_square: f64,
    /// Difference in the number of parameters.
    pub df: usize,
    /// Upper tail of χ²(df); `NaN` when `df` is 0.
    pub p: f64,
    /// AIC and BIC minus those of the row before: negative when this model is better.
    pub delta_aic: f64,
    pub delta_bic: f64,
}

/// Number of estimated parameters of a fit: lme4's `npar` plus a residual structure's.
pub fn parameters(fit: &LmmFit) -> usize {
    fit.beta.len()
        + fit.theta.len()
        + fit
            .residual_structure
            .as_ref()
            .map_or(0, |r| r.values.len())
        + 1
}

/// Reports models of a comparison fitted to different observations (a variable missing on
/// some rows drops them from one model only). `check` finds these before fitting where it
/// can; this catches what only the fit shows.
pub(crate) fn same_observations(
    statement: &Compare,
    models: &[(&ModelDef, &FittedModel)],
) -> Result<(), SpecDiagnostic> {
    let (_, first_fit) = models[0];
    for ((_, f), name) in models.iter().zip(&statement.models).skip(1) {
        if f.rows != first_fit.rows {
            return Err(different_observations(
                name,
                f.rows.len(),
                &statement.models[0],
                first_fit.rows.len(),
            ));
        }
    }
    Ok(())
}

/// Which likelihood a comparison of these models uses.
pub(crate) fn basis(models: &[(&ModelDef, &FittedModel)]) -> Basis {
    let (_, first) = models[0];
    let same_fixed = models
        .iter()
        .all(|(_, f)| f.fit.fixed_names == first.fit.fixed_names);
    if models.iter().all(|(m, _)| !m.reml) {
        Basis::MaximumLikelihood
    } else if same_fixed && models.iter().all(|(m, _)| m.reml) {
        Basis::Reml
    } else {
        Basis::RefittedMl
    }
}

/// The table for `fits` (by the likelihood of `basis`), named `names`.
pub(crate) fn table(names: &[&str], fits: &[&LmmFit], basis: Basis) -> Comparison {
    let mut rows: Vec<ComparisonRow> = names
        .iter()
        .zip(fits)
        .map(|(name, fit)| ComparisonRow {
            model: name.to_string(),
            parameters: parameters(fit),
            aic: fit.aic,
            bic: fit.bic,
            loglik: fit.loglik,
            deviance: fit.objective,
            test: None,
        })
        .collect();
    rows.sort_by_key(|r| r.parameters);
    for i in 1..rows.len() {
        let (before, row) = (&rows[i - 1], &rows[i]);
        let chi_square = (2.0 * (row.loglik - before.loglik)).max(0.0);
        let df = row.parameters - before.parameters;
        let p = if df == 0 {
            f64::NAN
        } else {
            chi_square_upper_tail(chi_square, df as f64)
        };
        rows[i].test = Some(LikelihoodRatio {
            chi_square,
            df,
            p,
            delta_aic: row.aic - before.aic,
            delta_bic: row.bic - before.bic,
        });
    }
    Comparison { basis, rows }
}
