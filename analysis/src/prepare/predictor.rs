//! `derive NAME = predictor "ID"(column, …)`: a predictor plugin's variable. What the
//! statement's words can be blamed for (an unknown id, a missing or text column, the wrong
//! number of columns, no subject) is checked here and pointed at; whatever the plugin itself
//! reports is pointed at the call.

use std::path::Path;

use mixspec_dsl::spec::{suggest, Name, Span, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::{Column, DataFrame};
use mixspec_plugins::{Per, Plugin, PluginError, Predictor};

use super::eval::unknown_variable;
use super::instrument::{plugin_problem, reference, Plugins};

/// The statement's parts, as written.
pub(crate) struct Call<'a> {
    pub id: &'a Name,
    pub columns: &'a [Name],
    /// From `predictor` to the closing parenthesis.
    pub span: Span,
}

/// The predictor's column over every row of `frame`. An empty list of problems means a
/// column could not be checked because its own definition failed (already reported).
pub(crate) fn derive(
    plugins: &Plugins,
    base: &Path,
    call: &Call<'_>,
    frame: &DataFrame,
    subject: Option<&Name>,
    unchecked: &[String],
) -> Result<Column, Vec<SpecDiagnostic>> {
    let predictor = plugins
        .catalog
        .predictor(&reference(base, &call.id.text), &plugins.params)
        .map_err(|e| match e {
            PluginError::NotFound { .. } => vec![unknown(plugins, call.id)],
            e => vec![plugin_problem(
                SpecErrorKind::Predictor,
                call.id.span,
                &e,
                "cannot load this predictor",
            )],
        })?;
    let mut problems = Vec::new();
    let mut skipped = false;
    for c in call.columns {
        match frame.column(&c.text) {
            None if unchecked.contains(&c.text) => skipped = true,
            None => problems.push(unknown_variable(&c.text, c.span, frame)),
            Some(Column::Factor(_)) => problems.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Type,
                    c.span,
                    format!("`{}` has text values, but predictors take numbers", c.text),
                    "not numeric",
                )
                .help("declare it `numeric` if its text cells are mistakes, or derive a number from it"),
            ),
            Some(Column::Numeric(_)) => {}
        }
    }
    if let Some(p) = arity(&predictor, call) {
        problems.push(p);
    }
    if predictor.per() == Per::Subject && subject.is_none() {
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::MissingSetting,
                call.span,
                format!(
                    "`{}` derives one value per subject, but the data statement names no subject column",
                    predictor.about().id
                ),
                "needs `subject`",
            )
            .help("name the subject column in the data statement, e.g. `data \"FILE.csv\" { subject patient }`"),
        );
    }
    if !problems.is_empty() || skipped {
        return Err(problems);
    }
    let columns: Vec<&str> = call.columns.iter().map(|c| c.text.as_str()).collect();
    predictor
        .derive(frame, &columns, subject.map(|s| s.text.as_str()))
        .map_err(|e| {
            vec![plugin_problem(
                SpecErrorKind::Predictor,
                call.span,
                &e,
                "cannot derive the variable",
            )]
        })
}

/// The wrong number of columns, pointed at the list.
fn arity(predictor: &Predictor, call: &Call<'_>) -> Option<SpecDiagnostic> {
    let inputs = predictor.inputs();
    if inputs.len() == call.columns.len() {
        return None;
    }
    let first = call.columns.first()?.span;
    let last = call.columns.last()?.span;
    Some(
        SpecDiagnostic::new(
            SpecErrorKind::Arguments,
            first.to(last),
            format!(
                "`{}` takes {} column{} ({}), but {} {} given",
                predictor.about().id,
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" },
                inputs.join(", "),
                call.columns.len(),
                if call.columns.len() == 1 { "is" } else { "are" },
            ),
            "these columns",
        )
        .help("give one data column per input, in the order the predictor declares them"),
    )
}

fn unknown(plugins: &Plugins, id: &Name) -> SpecDiagnostic {
    let ids: Vec<String> = plugins
        .catalog
        .load_all(&plugins.params)
        .into_iter()
        .flat_map(|e| e.plugins.unwrap_or_default())
        .filter_map(|p| match p {
            Plugin::Predictor(p) => Some(p.about().id.clone()),
            Plugin::Instrument(_) => None,
        })
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    SpecDiagnostic::new(
        SpecErrorKind::UnknownPredictor,
        id.span,
        format!("unknown predictor `{}`", id.text),
        "no predictor of this id",
    )
    .help(format!(
        "{}; `mixspec plugins list` shows them all, and a path to a .rhai file or a library works too",
        suggest(&id.text, "predictor", &ids)
    ))
}
