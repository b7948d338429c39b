//! `label` statements against the data: each names a model or a variable of the prepared
//! data, and the levels it labels are that variable's values.

use mixspec_dsl::spec::{suggest, Spec, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::DataFrame;

pub(crate) fn check(spec: &Spec, frame: &DataFrame, unchecked: &[String]) -> Vec<SpecDiagnostic> {
    let mut problems = Vec::new();
    for label in &spec.labels {
        let name = &label.name.text;
        if unchecked.contains(name) {
            continue;
        }
        let model = spec.models.iter().any(|m| &m.name.text == name);
        let Some(column) = frame.column(name) else {
            if !model {
                let mut names: Vec<&str> = frame.names().iter().map(String::as_str).collect();
                names.extend(spec.models.iter().map(|m| m.name.text.as_str()));
                problems.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::UnknownVariable,
                        label.name.span,
                        format!("`{name}` is labelled but is neither a variable nor a model"),
                        "not a column, derived variable or model",
                    )
                    .help(suggest(name, "name", &names)),
                );
            }
            continue;
        };
        if label.levels.is_empty() {
            continue;
        }
        let levels = column.to_factor().levels;
        for (level, _) in &label.levels {
            if !levels.contains(&level.text) {
                let known: Vec<&str> = levels.iter().map(String::as_str).collect();
                problems.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::UnknownLevel,
                        level.span,
                        format!("`{name}` has no value `{}`", level.text),
                        "not a value of the variable",
                    )
                    .help(suggest(&level.text, "value", &known)),
                );
            }
        }
    }
    problems
}
