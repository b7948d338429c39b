//! Likelihood-ratio tests between models, laid out as lme4's `anova()`: the models ordered by
//! their number of parameters, each tested against the one before it.
//!
//! Likelihoods are comparable only on the same observations, and REML likelihoods only
//! between models with the same fixed effects; otherwise the REML fits are refitted by
//! maximum likelihood first, as `anova()` does.
//!
//! Generalized models are fitted by maximum likelihood, so their likelihoods compare
//! directly. A Poisson model tested against a negative binomial one is the boundary case
//! θ_NB → ∞ of the latter: its statistic is referred to the 50:50 mixture of χ² with one
//! degree of freedom fewer and χ² with the difference, as glmmTMB users do (Self and Liang,
//! 1987), which for a pure test of overdispersion halves the χ²₁ p-value.

use mixspec_dsl::spec::{Compare, ModelDef, Span, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::family::Family;
use mixspec_engine::inference::chi_square_upper_tail;

use crate::fit::{Fit, FittedModel};
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
    /// `[boundary]`: every test adds one random effect, and its p-value is the boundary
    /// mixture's (see [`lrt_p`]).
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
    /// Upper tail of χ²(df), or of the boundary mixture (see `boundary`); `NaN` when `df`
    /// is 0.
    pub p: f64,
    /// The simpler model is on the boundary of the richer one's parameter space (the
    /// Poisson limit θ_NB → ∞ of a negative binomial, or, with `[boundary]`, a random
    /// effect's variance at zero): `p` is that of ½χ²(df − 1) + ½χ²(df) (half χ²₁'s for
    /// df = 1).
    pub boundary: bool,
    /// AIC and BIC minus those of the row before: negative when this model is better.
    pub delta_aic: f64,
    pub delta_bic: f64,
}

/// Number of estimated parameters of a fit: lme4's `npar` plus a residual structure's
/// (glmer's and glmmTMB's `df` of `logLik` for a generalized one).
pub fn parameters(fit: &Fit) -> usize {
    match fit {
        Fit::Linear(fit) => {
            fit.beta.len()
                + fit.theta.len()
                + fit
                    .residual_structure
                    .as_ref()
                    .map_or(0, |r| r.values.len())
                + 1
        }
        Fit::Generalized(fit) => fit.n_parameters,
    }
}

/// Whether `simpler` is the Poisson limit of the negative binomial `richer`, so that the
/// test of the two is on the boundary of the richer model's parameter space.
fn poisson_in_negative_binomial(simpler: &Fit, richer: &Fit) -> bool {
    matches!(
        (simpler.generalized(), richer.generalized()),
        (Some(s), Some(r)) if s.family == Family::Poisson
            && matches!(r.family, Family::NegativeBinomial { .. })
    )
}

/// The p-value of a likelihood-ratio statistic on `df` degrees of freedom, where
/// `boundary` says one of them is tested at its bound (the negative binomial's 1/θ, or a
/// random effect's variance whose `df − 1` covariances go with it): the 50:50 mixture of
/// χ²(df − 1) and χ²(df) (Self & Liang 1987; Stram & Lee 1994), χ²(0) being a point mass
/// at zero. Half the naive χ²(df) p-value or less.
fn lrt_p(chi_square: f64, df: usize, boundary: bool) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    let tail = |k: usize| {
        if k == 0 {
            if chi_square > 0.0 {
                0.0
            } else {
                1.0
            }
        } else {
            chi_square_upper_tail(chi_square, k as f64)
        }
    };
    if boundary {
        0.5 * tail(df - 1) + 0.5 * tail(df)
    } else {
        tail(df)
    }
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
        .all(|(_, f)| f.fit.fixed_names() == first.fit.fixed_names());
    if models.iter().all(|(m, _)| !m.reml) {
        Basis::MaximumLikelihood
    } else if same_fixed && models.iter().all(|(m, _)| m.reml) {
        Basis::Reml
    } else {
        Basis::RefittedMl
    }
}

/// Number of random effects of a fit (columns of Z per level, over every term).
pub(crate) fn random_effects(fit: &Fit) -> usize {
    let random = match fit {
        Fit::Linear(f) => &f.random,
        Fit::Generalized(f) => &f.random,
    };
    random.iter().map(|r| r.names.len()).sum()
}

/// The table for `fits` (by the likelihood of `basis`), named `names`; with `boundary`
/// (`[boundary]`) every p-value is the boundary mixture's.
pub(crate) fn table(names: &[&str], fits: &[&Fit], basis: Basis, boundary: bool) -> Comparison {
    let mut order: Vec<usize> = (0..fits.len()).collect();
    order.sort_by_key(|&i| parameters(fits[i]));
    let rows: Vec<ComparisonRow> = order
        .iter()
        .map(|&i| {
            let fit = fits[i];
            ComparisonRow {
                model: names[i].to_string(),
                parameters: parameters(fit),
                aic: fit.aic(),
                bic: fit.bic(),
                loglik: fit.loglik(),
                deviance: fit.objective(),
                test: None,
            }
        })
        .collect();
    let mut rows = rows;
    for i in 1..rows.len() {
        let (before, row) = (&rows[i - 1], &rows[i]);
        let chi_square = (2.0 * (row.loglik - before.loglik)).max(0.0);
        let df = row.parameters - before.parameters;
        let on_bound = boundary || poisson_in_negative_binomial(fits[order[i - 1]], fits[order[i]]);
        let p = lrt_p(chi_square, df, on_bound);
        rows[i].test = Some(LikelihoodRatio {
            chi_square,
            df,
            p,
            boundary: on_bound,
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
        .any(|(_, f)| f.fit.fixed_names() != first.fit.fixed_names())
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

#[cfg(test)]
mod tests {
    use super::lrt_p;
    use mixspec_engine::inference::chi_square_upper_tail;

    #[test]
    fn boundary_mixture_halves_one_df() {
        // R: pchisq(81.0353422651272, 1, lower.tail = FALSE) / 2 (epil_nbinom2.json).
        let p = lrt_p(81.0353422651272, 1, true);
        assert!((p / 1.10858395615471e-19 - 1.0).abs() < 1e-6, "{p}");
        assert_eq!(lrt_p(0.0, 1, true), 1.0);
        // Two df, one on the boundary: ½χ²₁ + ½χ²₂.
        let mixed = lrt_p(4.0, 2, true);
        let expected =
            0.5 * chi_square_upper_tail(4.0, 1.0) + 0.5 * chi_square_upper_tail(4.0, 2.0);
        assert!((mixed - expected).abs() < 1e-15);
        assert_eq!(lrt_p(4.0, 2, false), chi_square_upper_tail(4.0, 2.0));
        assert!(lrt_p(1.0, 0, true).is_nan());
    }
}
