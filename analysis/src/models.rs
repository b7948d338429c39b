//! The checks of each model against the prepared data, before anything is fitted: its
//! variables exist and are numbers where the formula needs numbers, its `where` keeps rows,
//! and some of those rows have every variable. Those complete rows are the sample the model
//! will be fitted to, known before the fit, so statements that need two models on the same
//! sample can be checked here too (`crate::samples`), and so can inference whose size
//! follows from the number of rows (Kenward–Roger's n × n matrices).

use mixspec_dsl::spec::{Diagnostics, ModelDef, Spec, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::inference::KenwardRoger;
use mixspec_engine::{Column, DataFrame};

use crate::prepare::eval::{unknown_variable, Context};
use crate::prepare::no_rows;

/// The rows of one model.
pub(crate) struct ModelRows {
    /// The rows of the data its `where` keeps (all rows without one): what it is fitted to.
    pub kept: Vec<usize>,
    /// Those of them with every variable of the model: the rows its fit will use. `None`
    /// when a variable could not be checked (unknown, of the wrong type, or its filter or
    /// derivation failed).
    pub complete: Option<Vec<usize>>,
}

/// Per model, in spec order, its rows of `frame`.
pub(crate) fn rows(
    spec: &Spec,
    frame: &DataFrame,
    unchecked: &[String],
    d: &mut Diagnostics,
) -> Vec<ModelRows> {
    let data = spec.data.as_ref();
    let subject = data
        .and_then(|s| s.subject.as_ref())
        .map(|n| n.text.as_str());
    let time = data.and_then(|s| s.time.as_ref()).map(|n| n.text.as_str());
    let context = Context::new(frame, subject, time, unchecked);
    let none = || ModelRows {
        kept: Vec::new(),
        complete: None,
    };
    spec.models
        .iter()
        .map(|m| {
            let columns_ok = columns(m, frame, unchecked, d);
            let kept = match &m.filter {
                None => (0..frame.n_rows()).collect(),
                Some(filter) => match context.condition(filter, "`where`") {
                    Ok(rows) if rows.is_empty() => {
                        d.push(no_rows(filter.span, frame, "no row passes this filter"));
                        return none();
                    }
                    Ok(rows) => rows,
                    Err(problems) => {
                        d.extend(problems);
                        return none();
                    }
                },
            };
            let complete = columns_ok.then(|| complete(m, frame, &kept, d));
            if let Some(rows) = &complete {
                kenward_roger_size(m, rows.len(), d);
            }
            ModelRows { kept, complete }
        })
        .collect()
}

/// Refuses `[df kenward-roger]` on more rows than its dense matrices allow
/// ([`KenwardRoger::check_size`]), counting one variance parameter per random term and σ²:
/// a term with more has larger matrices still, which the fit refuses.
fn kenward_roger_size(m: &ModelDef, n: usize, d: &mut Diagnostics) {
    if !m.inference.kenward_roger {
        return;
    }
    if let Err(e) = KenwardRoger::check_size(n, m.spec.random.len() + 1) {
        let problem = SpecDiagnostic::new(
            SpecErrorKind::Fit,
            m.span,
            format!("model `{}`: {e}", m.name.text),
            format!("{n} complete rows"),
        );
        d.push(match miette::Diagnostic::help(&e) {
            Some(help) => problem.help(help.to_string()),
            None => problem,
        });
    }
}

/// Checks that every column of the model exists and is numeric where it must be.
fn columns(m: &ModelDef, frame: &DataFrame, unchecked: &[String], d: &mut Diagnostics) -> bool {
    let mut ok = true;
    let mut reported: Vec<&str> = Vec::new();
    for used in &m.columns {
        if reported.contains(&used.name.as_str()) {
            continue;
        }
        let problem = match frame.column(&used.name) {
            None if unchecked.contains(&used.name) => {
                ok = false;
                continue;
            }
            None => Some(unknown_variable(&used.name, used.span, frame)),
            Some(Column::Factor(f)) if used.numeric => {
                let shown: Vec<&str> = f.levels.iter().take(4).map(String::as_str).collect();
                Some(
                    SpecDiagnostic::new(
                        SpecErrorKind::Type,
                        used.span,
                        format!(
                            "`{}` is a factor, but the model needs a number here",
                            used.name
                        ),
                        format!(
                            "a factor with levels {}{}",
                            shown.join(", "),
                            if f.levels.len() > 4 { ", …" } else { "" }
                        ),
                    )
                    .help("a response, and the variables inside functions such as I() and log(), must be numeric; a factor can only be a term of its own"),
                )
            }
            Some(_) => None,
        };
        if let Some(p) = problem {
            d.push(p);
            reported.push(&used.name);
            ok = false;
        }
    }
    ok
}

/// The rows of `rows` with every variable of the model; reports a model that has none.
fn complete(m: &ModelDef, frame: &DataFrame, rows: &[usize], d: &mut Diagnostics) -> Vec<usize> {
    let mut names: Vec<&str> = Vec::new();
    for c in &m.columns {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let columns: Vec<&Column> = names.iter().filter_map(|n| frame.column(n)).collect();
    let complete: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&r| columns.iter().all(|c| !c.is_missing(r)))
        .collect();
    if !complete.is_empty() {
        return complete;
    }
    let missing: Vec<String> = names
        .iter()
        .zip(&columns)
        .map(|(n, c)| {
            let absent = rows.iter().filter(|&&r| c.is_missing(r)).count();
            format!("`{n}` missing on {absent}")
        })
        .collect();
    d.push(
        SpecDiagnostic::new(
            SpecErrorKind::NoRows,
            m.formula.span,
            format!(
                "model `{}` has no row with all of its variables",
                m.name.text
            ),
            format!("of {} rows, none is complete", rows.len()),
        )
        .help(format!(
            "rows missing any model variable are left out: {}",
            missing.join(", ")
        )),
    );
    complete
}
