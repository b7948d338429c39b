//! Where the spec language meets the plugin crate: an `instrument` statement scores item
//! columns into scale columns, on the rows its `when` selects (predictors are in
//! `predictor.rs`), and what both share: the plugins at hand, references, errors.

use std::path::Path;

use mixspec_dsl::spec::{suggest, Name, Span, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::{Column, DataFrame, Factor};
use mixspec_plugins::{is_path, Catalog, Params, PluginError};

/// Where instruments come from: the bundled ones and those in the user's plugin folders,
/// with the parameters some of them need.
pub struct Plugins {
    pub catalog: Catalog,
    pub params: Params,
}

impl Plugins {
    /// The bundled instruments only, without parameters.
    pub fn bundled() -> Result<Plugins, PluginError> {
        Ok(Plugins {
            catalog: Catalog::new(&[])?,
            params: Params::default(),
        })
    }
}

/// Scores `rows` of `frame` with the instrument `id` and writes its outputs into those rows:
/// a new column is missing elsewhere, an existing one (another form of the instrument, say)
/// keeps its other rows.
pub(crate) fn apply(
    plugins: &Plugins,
    base: &Path,
    id: &Name,
    frame: &mut DataFrame,
    rows: &[usize],
) -> Result<(), SpecDiagnostic> {
    let problem = |e: &PluginError| {
        plugin_problem(
            SpecErrorKind::Instrument,
            id.span,
            e,
            "cannot score the data",
        )
    };
    let instrument = plugins
        .catalog
        .instrument(&reference(base, &id.text), &plugins.params)
        .map_err(|e| match e {
            PluginError::NotFound { .. } => unknown(plugins, id),
            e => problem(&e),
        })?;
    let scored = instrument
        .score(&frame.select(rows))
        .map_err(|e| problem(&e))?;
    for (name, column) in scored {
        merge(frame, rows, &name, column).map_err(|(existing, scored)| {
            SpecDiagnostic::new(
                SpecErrorKind::Instrument,
                id.span,
                format!(
                    "`{}` scores `{name}` as {scored}, but the data already has `{name}` as {existing}",
                    id.text,
                ),
                "scores into an existing column",
            )
            .help("rename the data column, or score with an instrument whose outputs do not clash")
        })?;
    }
    Ok(())
}

fn unknown(plugins: &Plugins, id: &Name) -> SpecDiagnostic {
    let ids: Vec<String> = plugins
        .catalog
        .load_all(&plugins.params)
        .into_iter()
        .map(|e| e.name)
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    SpecDiagnostic::new(
        SpecErrorKind::UnknownInstrument,
        id.span,
        format!("unknown instrument `{}`", id.text),
        "no instrument of this id",
    )
    .help(format!(
        "{}; `mixspec plugins list` shows them all",
        suggest(&id.text, "instrument", &ids)
    ))
}

/// A plugin reference as the catalog takes it: a path, like every path of a spec, relative to
/// the spec file's folder `base`; an id as written.
pub(crate) fn reference(base: &Path, text: &str) -> String {
    if is_path(text) {
        base.join(text).display().to_string()
    } else {
        text.to_string()
    }
}

/// A plugin's own error, pointed at `span` with `label`.
pub(crate) fn plugin_problem(
    kind: SpecErrorKind,
    span: Span,
    e: &PluginError,
    label: &str,
) -> SpecDiagnostic {
    let problem = SpecDiagnostic::new(kind, span, e.to_string(), label);
    match miette::Diagnostic::help(e) {
        Some(help) => problem.help(help.to_string()),
        None => problem,
    }
}

/// Writes `scored` (one value per selected row) into `rows` of column `name`; on a clash of
/// kinds, what the existing and the scored column hold.
fn merge(
    frame: &mut DataFrame,
    rows: &[usize],
    name: &str,
    scored: Column,
) -> Result<(), (&'static str, &'static str)> {
    let n = frame.n_rows();
    let merged = match (frame.column(name), scored) {
        (None | Some(Column::Numeric(_)), Column::Numeric(values)) => {
            let mut out = match frame.column(name) {
                Some(Column::Numeric(old)) => old.clone(),
                _ => vec![f64::NAN; n],
            };
            for (&r, v) in rows.iter().zip(values) {
                out[r] = v;
            }
            Column::Numeric(out)
        }
        (None | Some(Column::Factor(_)), Column::Factor(f)) => {
            let label = |f: &Factor, r: usize| f.levels.get(f.codes[r] as usize).cloned();
            let mut out: Vec<Option<String>> = match frame.column(name) {
                Some(Column::Factor(old)) => (0..n).map(|r| label(old, r)).collect(),
                _ => vec![None; n],
            };
            for (i, &r) in rows.iter().enumerate() {
                out[r] = label(&f, i);
            }
            Column::Factor(Factor::from_labels(out.iter().map(|l| l.as_deref())))
        }
        (Some(Column::Numeric(_)), Column::Factor(_)) => return Err(("numbers", "text")),
        (Some(Column::Factor(_)), Column::Numeric(_)) => return Err(("text", "numbers")),
    };
    frame.insert(name, merged);
    Ok(())
}
