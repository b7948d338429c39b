//! The sample each model is fitted to, and the statements that set one model beside another.
//!
//! A likelihood ratio, an AIC difference or an explained variance between two fits means
//! something only when both are fits to the same rows: a variable missing on some rows drops
//! them from the models that use it only. A model's rows (those its `where` keeps that have
//! every one of its variables) are known before anything is fitted (`crate::models`), so
//! [`check`] finds mismatches without fitting. `compare` refuses them, as lme4's `anova()`
//! does; `explained` and `table` refit the reference model to each compared model's rows,
//! which needs the reference to have every variable on those rows and its `where` to keep
//! them, and refuse otherwise.

use mixspec_dsl::spec::{Diagnostics, Name, Spec, SpecDiagnostic, SpecErrorKind, Table};

use crate::models::ModelRows;

/// What `compare` tells a user whose models have different rows.
const COMPARE_HELP: &str = "a likelihood-ratio test needs the same observations in every model; rows missing a variable of one model are left out of that model only: drop them from all with `where not missing(VARIABLE)`";

/// A model set beside a reference by `explained` or a `table` row, as the statement names
/// them.
pub(crate) struct Pairing<'a> {
    pub model: &'a Name,
    pub reference: &'a Name,
}

/// Per row of a table, the reference it is set beside: the nearest `ref` row above it;
/// `None` on reference rows (and on a first row without one, which the spec check refuses).
pub(crate) fn table_references(table: &Table) -> Vec<Option<&Name>> {
    let mut reference = None;
    table
        .rows
        .iter()
        .map(|row| {
            if row.reference {
                reference = Some(&row.model);
                None
            } else {
                reference
            }
        })
        .collect()
}

/// Every model the spec sets beside a reference, in `explained` and `table` statements.
pub(crate) fn pairings(spec: &Spec) -> Vec<Pairing<'_>> {
    let explained = spec.explained.iter().flat_map(|x| {
        x.models.iter().map(|model| Pairing {
            model,
            reference: &x.reference,
        })
    });
    let tables = spec.tables.iter().flat_map(|t| {
        t.rows
            .iter()
            .zip(table_references(t))
            .filter_map(|(row, reference)| {
                Some(Pairing {
                    model: &row.model,
                    reference: reference?,
                })
            })
    });
    explained.chain(tables).collect()
}

/// `model` (named at its span) is fitted to `n` observations, `first` to `n_first`: a
/// comparison of the two would compare different samples.
pub(crate) fn different_observations(
    model: &Name,
    n: usize,
    first: &Name,
    n_first: usize,
) -> SpecDiagnostic {
    SpecDiagnostic::new(
        SpecErrorKind::Comparison,
        model.span,
        format!(
            "`{}` is fitted to {n} observations and `{}` to {n_first}",
            model.text, first.text
        ),
        "other observations",
    )
    .also(first.span, "than this model")
    .help(COMPARE_HELP)
}

/// The reference cannot be refitted to the model's `n` observations: it lacks `outside` of
/// them (a variable of its own is missing there, or its `where` leaves them out).
pub(crate) fn reference_lacks_rows(
    pairing: &Pairing<'_>,
    n: usize,
    outside: usize,
) -> SpecDiagnostic {
    SpecDiagnostic::new(
        SpecErrorKind::Comparison,
        pairing.model.span,
        format!(
            "`{}` is fitted to {n} observations, {outside} of which reference `{}` cannot be fitted to",
            pairing.model.text, pairing.reference.text
        ),
        "set beside its reference here",
    )
    .help(format!(
        "explained variance and a table's AIC compare a model with its reference on the same observations, so the reference is refitted to the model's rows; on {outside} of them a variable of `{}` is missing or its `where` leaves them out: drop them from `{}` with `where not missing(VARIABLE)` or the same `where`",
        pairing.reference.text, pairing.model.text
    ))
}

/// The mismatches of samples that can be found before fitting: a `compare` of models with
/// different rows, and a model whose rows its reference cannot be refitted to.
pub(crate) fn check(spec: &Spec, rows: &[ModelRows], d: &mut Diagnostics) {
    let complete = |name: &Name| {
        let i = spec.models.iter().position(|m| m.name.text == name.text)?;
        rows.get(i)?.complete.as_ref()
    };
    for statement in &spec.comparisons {
        let Some((first, first_rows)) = statement
            .models
            .first()
            .and_then(|n| Some((n, complete(n)?)))
        else {
            continue;
        };
        for name in &statement.models[1..] {
            match complete(name) {
                Some(r) if r != first_rows => {
                    d.push(different_observations(
                        name,
                        r.len(),
                        first,
                        first_rows.len(),
                    ));
                    // One problem per statement, as the run reports it.
                    break;
                }
                _ => {}
            }
        }
    }
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for pairing in pairings(spec) {
        let key = (pairing.model.text.as_str(), pairing.reference.text.as_str());
        let (Some(model), Some(reference)) = (complete(pairing.model), complete(pairing.reference))
        else {
            continue;
        };
        if reported.contains(&key) {
            continue;
        }
        // Both lists are sorted: rows of the model the reference lacks.
        let outside = model
            .iter()
            .filter(|r| reference.binary_search(r).is_err())
            .count();
        if outside > 0 {
            d.push(reference_lacks_rows(&pairing, model.len(), outside));
            reported.push(key);
        }
    }
}
