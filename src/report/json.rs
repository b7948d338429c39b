//! A report as one JSON document: each model in `mixspec fit`'s JSON contract (with its
//! Type III table, and Kenward–Roger's tests and intervals when asked for), plus the
//! comparisons, explained variances and plot files. Missing numbers (NaN) are `null`, as
//! serde_json writes them.

use mixspec_analysis::{Basis, Fit};
use serde_json::{json, Value};

use super::Report;
use crate::output::intervals::add_json;
use crate::output::json::{add_tests, fit_value};

pub fn report(r: &Report) -> String {
    let models: Vec<Value> = r
        .models
        .iter()
        .map(|(def, fitted)| {
            // The model in `mixspec fit --format json`'s contract, with what its options
            // asked for as `fit --kr --profile --bootstrap` adds it.
            let mut fit = match &fitted.fit {
                Fit::Linear(f) => fit_value(f, &def.spec.formula),
                Fit::Generalized(g) => crate::output::glmm::value(g, &def.spec.formula),
            };
            let tests = &fitted.inference;
            let kr = tests.kenward_roger.as_ref().map(|k| {
                (
                    k.coefficients.as_slice(),
                    k.std_errors.as_slice(),
                    k.anova.as_slice(),
                )
            });
            add_tests(&mut fit, kr, &tests.anova);
            add_json(&mut fit, tests.profile.as_deref(), tests.bootstrap.as_ref());
            json!({
                "name": def.name.text,
                "where": r.checked.filter_text(def),
                "fit": fit,
            })
        })
        .collect();
    let comparisons: Vec<Value> = r
        .comparisons
        .iter()
        .map(|(names, c)| {
            let rows: Vec<Value> = c
                .rows
                .iter()
                .map(|row| {
                    json!({
                        "model": row.model,
                        "npar": row.parameters,
                        "aic": row.aic,
                        "bic": row.bic,
                        "loglik": row.loglik,
                        "deviance": row.deviance,
                        "chisq": row.test.map(|t| t.chi_square),
                        "df": row.test.map(|t| t.df),
                        "p": row.test.map(|t| t.p),
                        "delta_aic": row.test.map(|t| t.delta_aic),
                        "delta_bic": row.test.map(|t| t.delta_bic),
                        // The Poisson limit of a negative binomial: p from ½χ²(df−1) + ½χ²(df).
                        "boundary": row.test.map(|t| t.boundary),
                    })
                })
                .collect();
            json!({
                "models": names,
                "boundary": c.boundary,
                "basis": match c.basis {
                    Basis::MaximumLikelihood => "ML",
                    Basis::Reml => "REML",
                    Basis::RefittedMl => "ML (refitted)",
                },
                "rows": rows,
            })
        })
        .collect();
    let explained: Vec<Value> = r
        .explained
        .iter()
        .map(|e| {
            let rows: Vec<Value> = e
                .rows
                .iter()
                .map(|row| {
                    json!({
                        "grp": row.group,
                        "effect": row.effect,
                        "reference_variance": row.reference,
                        "model_variance": row.model,
                        "percent_explained": row.percent,
                    })
                })
                .collect();
            json!({
                "model": e.model,
                "reference": e.reference,
                // Both on the model's observations: the reference refitted to them where its
                // own fit has others.
                "reference_refitted": e.reference_fit.refitted,
                "n_obs": e.reference_fit.n_obs,
                "rows": rows,
            })
        })
        .collect();
    let plots: Vec<&str> = r.plots.iter().map(|(file, _)| file.as_str()).collect();
    let value = json!({
        "report": r.name,
        "spec": r.checked.name(),
        "data": r.checked.spec.data.as_ref().map(|d| d.path.text.clone()),
        "models": models,
        "comparisons": comparisons,
        "explained": explained,
        "plots": plots,
        "power": super::power::json(r.powers),
    });
    serde_json::to_string_pretty(&value).expect("JSON of plain values cannot fail")
}
