//! From the data file to the data set the models use: the data statement's file, then the
//! instruments, derived variables and declarations in file order. Each statement sees the
//! columns defined above it.

pub(crate) mod eval;
pub(crate) mod instrument;
mod predictor;

use std::path::Path;

use mixspec_dsl::spec::{
    suggest, DataSource, Diagnostics, Name, Prepare, Span, Spec, SpecDiagnostic, SpecErrorKind,
};
use mixspec_engine::{Column, DataFrame};

use eval::{true_rows, unknown_variable, Context, Value};
use instrument::Plugins;

/// The units of per-subject summaries of the prepared data (see [`Context::units`]).
pub(crate) fn units(spec: &Spec, frame: &DataFrame, unchecked: &[String]) -> Vec<Vec<usize>> {
    let data = spec.data.as_ref();
    let subject = data
        .and_then(|s| s.subject.as_ref())
        .map(|n| n.text.as_str());
    let time = data.and_then(|s| s.time.as_ref()).map(|n| n.text.as_str());
    Context::new(frame, subject, time, unchecked).units()
}

/// Reads the data statement's file, relative to the spec file's folder `base`, and checks
/// that its subject column exists (the time may be derived: [`prepare`] checks it).
pub(crate) fn load(data: &DataSource, base: &Path, d: &mut Diagnostics) -> Option<DataFrame> {
    let path = base.join(&data.path.text);
    let read = mixspec_io::read_data(&path).map_err(|e| {
        let help = miette::Diagnostic::help(&e).map(|h| format!(": {h}"));
        format!("{e}{}", help.unwrap_or_default())
    });
    let frame = match read {
        Ok(frame) => frame,
        Err(reason) => {
            d.push(
                SpecDiagnostic::new(
                    SpecErrorKind::DataFile,
                    data.path.span,
                    format!("cannot read the data file: {reason}"),
                    "this file",
                )
                .help(format!(
                    "a relative path is relative to the spec file's folder ({})",
                    if base.as_os_str().is_empty() {
                        ".".to_string()
                    } else {
                        base.display().to_string()
                    }
                )),
            );
            return None;
        }
    };
    if let Some(subject) = &data.subject {
        if frame.column(&subject.text).is_none() {
            d.push(unknown_variable(&subject.text, subject.span, &frame));
        }
    }
    Some(frame)
}

/// The time axis, once the data is prepared: a column of the data or a derived variable,
/// and numeric.
fn check_time(data: &DataSource, frame: &DataFrame, unchecked: &[String], d: &mut Diagnostics) {
    let Some(time) = &data.time else { return };
    match frame.column(&time.text) {
        None if unchecked.contains(&time.text) => {}
        None => d.push(unknown_variable(&time.text, time.span, frame)),
        Some(Column::Factor(_)) => d.push(
            SpecDiagnostic::new(
                SpecErrorKind::Type,
                time.span,
                format!("the time variable `{}` is not numeric", time.text),
                "has text values",
            )
            .help("time must be a number, such as months or days since baseline"),
        ),
        Some(Column::Numeric(_)) => {}
    }
}

/// Runs the data preparation statements on `frame`, then checks the time axis, which may be
/// one of the derived variables. Returns the variables that could not be made, so that their
/// uses are not reported as unknown as well.
///
/// Paths of plugins are relative to `base`, the spec file's folder.
pub(crate) fn prepare(
    spec: &Spec,
    base: &Path,
    frame: &mut DataFrame,
    plugins: &Plugins,
    d: &mut Diagnostics,
) -> Vec<String> {
    let data = spec.data.as_ref();
    let subject_name = data.and_then(|s| s.subject.as_ref());
    let subject = subject_name.map(|n| n.text.clone());
    let time = data.and_then(|s| s.time.as_ref()).map(|n| n.text.clone());
    let mut unchecked = spec.unchecked.clone();
    // The variables some model uses: only there is a constant derived variable a problem.
    let in_models: Vec<String> = spec.models.iter().flat_map(|m| m.spec.columns()).collect();
    for step in &spec.steps {
        let context =
            |frame, unchecked| Context::new(frame, subject.as_deref(), time.as_deref(), unchecked);
        match step {
            Prepare::Instrument { id, when } => {
                let rows = match when {
                    None => Ok((0..frame.n_rows()).collect()),
                    Some(condition) => context(frame, &unchecked).condition(condition, "`when`"),
                };
                let result = match rows {
                    Ok(rows) if rows.is_empty() => Err(vec![no_rows(
                        when.as_ref().map_or(id.span, |w| w.span),
                        frame,
                        "no row is scored: the condition holds for none",
                    )]),
                    Ok(rows) => {
                        instrument::apply(plugins, base, id, frame, &rows).map_err(|p| vec![p])
                    }
                    Err(problems) => Err(problems),
                };
                d.extend(result.err().unwrap_or_default());
            }
            Prepare::Derive { name, expr } => {
                let result = new_column(frame, name)
                    .and_then(|()| context(frame, &unchecked).eval(expr))
                    .map(|value| value.into_column())
                    .and_then(|c| eval::finite_column(c, &name.text, expr.span, frame));
                let used = in_models.contains(&name.text);
                add_derived(frame, name, expr.span, result, used, &mut unchecked, d);
            }
            Prepare::Predictor {
                name,
                id,
                columns,
                span,
            } => {
                let call = predictor::Call {
                    id,
                    columns,
                    span: *span,
                };
                let result = new_column(frame, name)
                    .and_then(|()| {
                        predictor::derive(plugins, base, &call, frame, subject_name, &unchecked)
                    })
                    .and_then(|c| eval::finite_column(c, &name.text, *span, frame));
                let used = in_models.contains(&name.text);
                add_derived(frame, name, *span, result, used, &mut unchecked, d);
            }
            Prepare::Factor {
                names,
                levels,
                reference,
            } => {
                for name in names {
                    if let Some(f) = column(frame, name, &unchecked, d) {
                        match declare_factor(f, name, levels.as_deref(), reference.as_ref()) {
                            Ok(column) => frame.insert(&name.text, column),
                            Err(p) => d.push(p),
                        }
                    }
                }
            }
            Prepare::Numeric { names } => {
                for name in names {
                    if let Some(Column::Factor(f)) = column(frame, name, &unchecked, d) {
                        d.push(not_numeric(frame, name, f));
                    }
                }
            }
        }
    }
    if let Some(data) = data {
        check_time(data, frame, &unchecked, d);
    }
    unchecked
}

/// A derived variable must not replace a column.
fn new_column(frame: &DataFrame, name: &Name) -> Result<(), Vec<SpecDiagnostic>> {
    match frame.column(&name.text) {
        None => Ok(()),
        Some(_) => Err(vec![SpecDiagnostic::new(
            SpecErrorKind::Duplicate,
            name.span,
            format!("`{}` is already a column of the data", name.text),
            "would replace a column",
        )
        .help("give the derived variable a name of its own")]),
    }
}

/// Adds a derived variable, or reports why it could not be made and leaves its uses
/// unchecked. A variable a model uses (`used`) made with one value on every row, or none,
/// is reported at `span` (its definition) and added: as a predictor it explains nothing and
/// would be dropped from the model as aliased with the intercept, without a word. (A
/// constant used only in other definitions, such as a grand mean, is fine; a variable
/// missing on every row never is.)
fn add_derived(
    frame: &mut DataFrame,
    name: &Name,
    span: Span,
    result: Result<Column, Vec<SpecDiagnostic>>,
    used: bool,
    unchecked: &mut Vec<String>,
    d: &mut Diagnostics,
) {
    match result {
        Ok(column) => {
            // Missing on every row is reported wherever it is used, or not: it is a mistake.
            let empty = (0..column.len()).all(|r| column.is_missing(r));
            if let Some(problem) = degenerate(&column).filter(|_| used || empty) {
                d.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Type,
                        span,
                        format!("derived variable `{}` {problem}", name.text),
                        "this definition",
                    )
                    .help(
                        "a variable without two different values cannot be a predictor (R \
                         would drop it as aliased); check the definition, e.g. that `mean()` \
                         and the other aggregates are per subject, so `x - mean(x)` is 0 for \
                         a variable that is constant within subjects",
                    ),
                );
            }
            frame.insert(&name.text, column)
        }
        Err(problems) => {
            d.extend(problems);
            unchecked.push(name.text.clone());
        }
    }
}

/// What makes `column` useless as a variable: missing on every row, or one value on every
/// row where it is not missing (to rounding: an aggregate of equal values need not return
/// them exactly). `None` when it has two values, or no rows.
fn degenerate(column: &Column) -> Option<String> {
    let n = column.len();
    let missing = (0..n).filter(|&r| column.is_missing(r)).count();
    if n > 0 && missing == n {
        return Some("is missing on every row".into());
    }
    let value = match column {
        Column::Numeric(v) => {
            let mut present = v.iter().copied().filter(|x| !x.is_nan());
            let first = present.next()?;
            let (lo, hi) = present.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x)));
            (hi - lo <= 1e-12 * lo.abs().max(hi.abs()))
                .then(|| mixspec_engine::data::format_number(first))?
        }
        Column::Factor(f) => {
            let mut codes = (0..n).filter(|&r| !f.is_missing(r)).map(|r| f.codes[r]);
            let first = codes.next()?;
            codes
                .all(|c| c == first)
                .then(|| format!("`{}`", f.levels[first as usize]))?
        }
    };
    let where_present = if missing > 0 {
        " where it is not missing"
    } else {
        ""
    };
    Some(format!("is {value} on every row{where_present}"))
}

/// A column a declaration names; reports it unknown unless its definition failed.
fn column<'f>(
    frame: &'f DataFrame,
    name: &Name,
    unchecked: &[String],
    d: &mut Diagnostics,
) -> Option<&'f Column> {
    let column = frame.column(&name.text);
    if column.is_none() && !unchecked.contains(&name.text) {
        d.push(unknown_variable(&name.text, name.span, frame));
    }
    column
}

/// The column as a factor with the declared levels, in the declared order, and the reference
/// level first.
fn declare_factor(
    column: &Column,
    name: &Name,
    levels: Option<&[Name]>,
    reference: Option<&Name>,
) -> Result<Column, SpecDiagnostic> {
    let mut factor = column.to_factor();
    let mut order: Vec<String> = match levels {
        None => factor.levels.clone(),
        Some(declared) => {
            let unlisted: Vec<&str> = factor
                .levels
                .iter()
                .filter(|l| !declared.iter().any(|d| d.text == **l))
                .map(String::as_str)
                .collect();
            if !unlisted.is_empty() {
                let span = declared[0].span.to(declared[declared.len() - 1].span);
                return Err(SpecDiagnostic::new(
                    SpecErrorKind::UnknownLevel,
                    span,
                    format!(
                        "`{}` has values that are not among its levels: {}",
                        name.text,
                        mixspec_dsl::spec::quoted_list(&unlisted)
                    ),
                    "the declared levels",
                )
                .also(name.span, "this variable")
                .help("list every value the variable takes, in the order wanted"));
            }
            declared.iter().map(|d| d.text.clone()).collect()
        }
    };
    if let Some(r) = reference {
        let Some(at) = order.iter().position(|l| *l == r.text) else {
            let candidates: Vec<&str> = order.iter().map(String::as_str).collect();
            return Err(SpecDiagnostic::new(
                SpecErrorKind::UnknownLevel,
                r.span,
                format!("`{}` has no level \"{}\"", name.text, r.text),
                "not a level",
            )
            .help(suggest(&r.text, "level", &candidates)));
        };
        let first = order.remove(at);
        order.insert(0, first);
    }
    let position: Vec<u32> = factor
        .levels
        .iter()
        .map(|l| {
            order
                .iter()
                .position(|o| o == l)
                .expect("every level is listed") as u32
        })
        .collect();
    for code in &mut factor.codes {
        if let Some(&p) = position.get(*code as usize) {
            *code = p;
        }
    }
    factor.levels = order;
    Ok(Column::Factor(factor))
}

fn not_numeric(frame: &DataFrame, name: &Name, f: &mixspec_engine::Factor) -> SpecDiagnostic {
    let label = |r: usize| f.levels.get(f.codes[r] as usize);
    let row = (0..f.codes.len())
        .find(|&r| label(r).is_some_and(|l| l.parse::<f64>().is_err()))
        .unwrap_or(0);
    let value = label(row).cloned().unwrap_or_default();
    SpecDiagnostic::new(
        SpecErrorKind::Type,
        name.span,
        format!(
            "`{}` is declared numeric, but {} line {} has \"{value}\"",
            name.text,
            frame.source(),
            frame.line_of(row)
        ),
        "not numeric in the data",
    )
    .help(
        "fix that cell (leave it empty or write NA when missing), or declare the variable a factor",
    )
}

/// "No row is left" at `span`.
pub(crate) fn no_rows(span: Span, frame: &DataFrame, message: &str) -> SpecDiagnostic {
    SpecDiagnostic::new(
        SpecErrorKind::NoRows,
        span,
        message.to_string(),
        format!("false or missing on all {} rows", frame.n_rows()),
    )
    .help("check the condition against the data; missing values never pass a condition")
}

impl Context<'_> {
    /// The rows where a condition holds; `what` names its statement in messages.
    pub fn condition(
        &self,
        e: &mixspec_dsl::spec::Expr,
        what: &str,
    ) -> Result<Vec<usize>, Vec<SpecDiagnostic>> {
        match self.eval(e)? {
            Value::Number(v) => Ok(true_rows(&v)),
            Value::Text(_) => Err(vec![SpecDiagnostic::new(
                SpecErrorKind::Type,
                e.span,
                format!("{what} needs a condition, but this gives text"),
                "text, not true or false",
            )
            .help("compare the text with a value, e.g. `outcome == \"poor\"`")]),
        }
    }
}
