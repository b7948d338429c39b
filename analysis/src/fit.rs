//! Fitting a model of the spec to its rows of the prepared data.

use mixspec_dsl::spec::{ModelDef, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::{fit, DataFrame, Design, FitOptions, LmmFit, ModelError};

/// A model of the spec, fitted.
#[derive(Debug, Clone)]
pub struct FittedModel {
    pub fit: LmmFit,
    /// The rows of the prepared data the fit used: those its `where` keeps that have every
    /// model variable. (`fit.rows` counts within the kept rows.)
    pub rows: Vec<usize>,
}

/// Fits `model` to `rows` of `frame`, by REML or ML; Satterthwaite's t-tests only when asked,
/// as refits for comparisons need none.
pub(crate) fn fit_model(
    model: &ModelDef,
    frame: &DataFrame,
    rows: &[usize],
    reml: bool,
    t_tests: bool,
) -> Result<FittedModel, SpecDiagnostic> {
    let fitted = Design::build(&model.spec, &frame.select(rows)).and_then(|design| {
        fit(
            design,
            &FitOptions {
                reml,
                satterthwaite: t_tests,
                ..FitOptions::default()
            },
        )
    });
    match fitted {
        Ok(fit) => Ok(FittedModel {
            rows: fit.rows.iter().map(|&r| rows[r]).collect(),
            fit,
        }),
        Err(e) => Err(cannot_fit(model, &e)),
    }
}

fn cannot_fit(model: &ModelDef, e: &ModelError) -> SpecDiagnostic {
    let problem = SpecDiagnostic::new(
        SpecErrorKind::Fit,
        model.formula.span,
        format!("model `{}` cannot be fitted: {e}", model.name.text),
        "this model",
    );
    match miette::Diagnostic::help(e) {
        Some(help) => problem.help(help.to_string()),
        None => problem,
    }
}
