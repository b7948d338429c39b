//! Likelihood-ratio tests between models, laid out as lme4's `anova()`: the models ordered by
//! their number of parameters, each tested against the one before it.
//!
//! Likelihoods are comparable only on the same observations, and REML likelihoods only
//! between models with the same fixed effects; otherwise the REML fits are refitted by
//! maximum likelihood first, as `anova()` does.

use mixspec_dsl::spec::{Compare, ModelDef, Span, SpecDiagnostic, SpecErrorKind};
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
    /// `[boundary]`: p-values from the boundary mixture (see [`boundary_p`]).
    pub boundary: bool,
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
    /// Upper tail of χ²(df), or with `[boundary]` of the mixture ½χ²(df − 1) + ½χ²(df);
    /// `NaN` when `df` is 0.
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

/// The p-value of a likelihood-ratio statistic `x` for adding one random effect to a term
/// of `df − 1` others (its variance and its `df − 1` covariances): the variance is zero
/// under the null, on the boundary of its parameter space, and the statistic's null
/// distribution is the 50:50 mixture of χ²(df − 1) and χ²(df) (Self & Liang 1987; Stram &
/// Lee 1994), χ²(0) being the point mass at zero. Half the naive χ²(df) p-value or less.
pub fn boundary_p(x: f64, df: usize) -> f64 {
    let lower = if df == 1 {
        if x > 0.0 {
            0.0
        } else {
            1.0
        }
    } else {
        chi_square_upper_tail(x, (df - 1) as f64)
    };
    0.5 * lower + 0.5 * chi_square_upper_tail(x, df as f64)
}

/// Number of random effects of a fit (columns of Z per level, over every term).
pub(crate) fn random_effects(fit: &LmmFit) -> usize {
    fit.random.iter().map(|r| r.names.len()).sum()
}

/// The table for `fits` (by the likelihood of `basis`), named `names`; with `boundary` the
/// p-values are [`boundary_p`]'s.
pub(crate) fn table(names: &[&str], fits: &[&LmmFit], basis: Basis, boundary: bool) -> Comparison {
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
        } else if boundary {
            boundary_p(chi_square, df)
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
    Comparison {
        basis,
        boundary,
        rows,
    }
}

/// The boundary mixture holds when the models share their fixed effects and each, by its
/// number of parameters, adds exactly one random effect (with its covariances) to the one
/// before: otherwise `[boundary]` is refused at its span.
pub(crate) fn boundary_applies(
    statement: &Compare,
    models: &[(&ModelDef, &FittedModel)],
    at: Span,
) -> Result<(), SpecDiagnostic> {
    let (_, first) = models[0];
    if models
        .iter()
        .any(|(_, f)| f.fit.fixed_names != first.fit.fixed_names)
    {
        return Err(SpecDiagnostic::new(SpecErrorKind::Comparison, at, "a boundary test compares random effects, but these models' fixed effects differ", "not a test of random effects")
            .help("give the models the same fixed effects, or leave out `[boundary]` for ordinary χ² tests"));
    }
    let mut sorted: Vec<(usize, usize, &str)> = models
        .iter()
        .zip(&statement.models)
        .map(|((_, f), n)| (parameters(&f.fit), random_effects(&f.fit), n.text.as_str()))
        .collect();
    sorted.sort_by_key(|(p, ..)| *p);
    for pair in sorted.windows(2) {
        let ((_, before, a), (_, after, b)) = (pair[0], pair[1]);
        if after != before + 1 {
            return Err(SpecDiagnostic::new(SpecErrorKind::Comparison, at, format!("`{b}` has {after} random effects and `{a}` {before}: the boundary mixture is for adding one at a time"), "not one random effect more")
                .help("compare the models in steps of one random effect (e.g. `(1 | therapist)` then `(months | therapist)`), or leave out `[boundary]`"));
        }
    }
    Ok(())
}
