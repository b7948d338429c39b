//! `mixspec score`: a data file in, the same data with an instrument's scale columns out.

use super::plugins::PluginArgs;
use crate::report;
use miette::{IntoDiagnostic, WrapErr};
use mixspec_engine::{Column, DataFrame};
use mixspec_io::Format;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Instrument id (see `mixspec plugins list`), or the path of a .rhai file or a plugin
    /// library.
    #[arg(long)]
    instrument: String,
    /// Data file with the instrument's item columns: CSV, SPSS, Parquet or Arrow (see
    /// `mixspec fit --help`).
    #[arg(long)]
    data: PathBuf,
    /// Where to write the input columns plus the scale columns (CSV). Written only when
    /// every row scores.
    #[arg(long)]
    out: PathBuf,
    /// Score only the rows where this condition holds, written as a spec's `instrument …
    /// when` (e.g. 'version == "S"'); the other rows keep the scale column's value in the
    /// data, or get NA.
    #[arg(long, value_name = "CONDITION")]
    when: Option<String>,
    /// The column that says which form of a questionnaire a row was rated on: a warning
    /// names the rows marked with another form of the instrument's family (wai-s, wai-sr).
    #[arg(long, value_name = "COLUMN", default_value = "version")]
    version_column: String,
    #[command(flatten)]
    plugins: PluginArgs,
}

pub fn run(args: &ScoreArgs) -> miette::Result<()> {
    let instrument = args
        .plugins
        .catalog()?
        .instrument(&args.instrument, &args.plugins.params()?)?;
    let source = args.data.display().to_string();
    let data = mixspec_io::read_data(&args.data)?;
    let rows = match &args.when {
        Some(condition) => mixspec_analysis::rows_where(&data, "--when", condition)?,
        None => (0..data.n_rows()).collect(),
    };
    let id = &instrument.about().id;
    if let Some(warning) = other_forms(&args.plugins, id, &data, &args.version_column, &rows)? {
        errln!("warning: {warning}");
    }
    let scores = instrument.score(&data.select(&rows))?;
    let scores: Vec<(String, Column)> = scores
        .into_iter()
        .map(|(name, column)| {
            let full = spread(&column, &rows, data.column(&name), data.n_rows());
            (name, full)
        })
        .collect();
    let mut contents = Vec::new();
    // A CSV input is copied cell for cell; other formats are written from their columns.
    let written = if Format::detect(&args.data)? == Format::Csv {
        let text = std::fs::read(&args.data)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read data file {source}"))?;
        write_scored(&text, &scores, &mut contents)
    } else {
        write_columns(&data, &scores, &mut contents)
    };
    written
        .into_diagnostic()
        .wrap_err("cannot write the scored data")?;
    // Staged under a temporary name and renamed, as every report is: a failure leaves no
    // half-written file.
    report::write_file(&args.out, &contents)?;
    let names: Vec<&str> = scores.iter().map(|(n, _)| n.as_str()).collect();
    errln!(
        "{} {}: scored {} rows{} into {} ({})",
        instrument.about().id,
        instrument.about().version,
        rows.len(),
        if rows.len() < data.n_rows() {
            format!(" of {}", data.n_rows())
        } else {
            String::new()
        },
        args.out.display(),
        names.join(", ")
    );
    Ok(())
}

/// A score column of the scored `rows` spread over all `n` rows: on the other rows the data's
/// own column of that name where it has one (so that two runs with complementary `--when`
/// fill one column, as two `instrument … when` statements do), else missing.
fn spread(scored: &Column, rows: &[usize], existing: Option<&Column>, n: usize) -> Column {
    if rows.len() == n {
        return scored.clone();
    }
    let mut values = match existing {
        Some(Column::Numeric(v)) => v.clone(),
        _ => vec![f64::NAN; n],
    };
    match scored {
        Column::Numeric(v) => {
            for (&r, &x) in rows.iter().zip(v) {
                values[r] = x;
            }
            Column::Numeric(values)
        }
        // Instruments score numbers; a text score is kept on its rows only.
        Column::Factor(f) => {
            let mut labels: Vec<Option<&str>> = vec![None; n];
            for (&r, &c) in rows.iter().zip(&f.codes) {
                labels[r] = f.levels.get(c as usize).map(String::as_str);
            }
            Column::Factor(mixspec_engine::Factor::from_labels(labels.into_iter()))
        }
    }
}

/// The family of instrument `id`: the instruments whose ids share its stem before the last
/// `-` (`wai-s` and `wai-sr`), each with its form, the part after it (`s`, `sr`). A warning
/// when rows about to be scored are marked in `column` (`version`) with the form of another
/// member: those rows would be scored with this form's items and keys (WAI-S reverse-keys
/// items 4 and 10, WAI-SR none), and nothing else would tell.
fn other_forms(
    plugins: &super::plugins::PluginArgs,
    id: &str,
    data: &DataFrame,
    column: &str,
    rows: &[usize],
) -> miette::Result<Option<String>> {
    let Some(versions) = data.column(column) else {
        return Ok(None);
    };
    let Some((stem, _)) = id.rsplit_once('-') else {
        return Ok(None);
    };
    let family: Vec<String> = plugins
        .catalog()?
        .load_all(&plugins.params()?)
        .into_iter()
        .map(|e| e.name)
        .filter(|name| name != id && name.rsplit_once('-').is_some_and(|(s, _)| s == stem))
        .collect();
    let versions = versions.to_factor();
    let mut marked: Vec<(String, &str, usize)> = Vec::new();
    for other in &family {
        let form = other.rsplit_once('-').map_or("", |(_, f)| f);
        let Some(code) = versions
            .levels
            .iter()
            .position(|l| l.trim().eq_ignore_ascii_case(form))
        else {
            continue;
        };
        let n = rows
            .iter()
            .filter(|&&r| versions.codes[r] as usize == code)
            .count();
        if n > 0 {
            marked.push((versions.levels[code].clone(), other.as_str(), n));
        }
    }
    if marked.is_empty() {
        return Ok(None);
    }
    let described: Vec<String> = marked
        .iter()
        .map(|(level, other, n)| format!("{n} with {column} == \"{level}\" (the form of {other})"))
        .collect();
    let (level, other, _) = &marked[0];
    Ok(Some(format!(
        "of the rows scored with {id}, {} — they are scored with {id}'s items and reverse keys; \
         score each form's rows with its own instrument: --instrument {id} --when '{column} != \"{level}\"', \
         then --instrument {other} --when '{column} == \"{level}\"' on the output",
        described.join(", ")
    )))
}

/// The input file's cells exactly as they were, plus the scores: a score column replaces
/// an input column of the same name, or is appended. Scores are written as R's `write.csv`
/// writes them: 15 significant digits, `NA` for missing.
fn write_scored(
    input: &[u8],
    scores: &[(String, Column)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // The same reader settings as `read_csv`, so rows match the scored data one to one.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let mut header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let positions: Vec<usize> = scores
        .iter()
        .map(|(name, _)| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .unwrap_or_else(|| {
                    header.push(name.clone());
                    header.len() - 1
                })
        })
        .collect();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(&header)?;
    for (row, record) in reader.records().enumerate() {
        let mut cells: Vec<String> = record?.iter().map(String::from).collect();
        cells.resize(header.len(), String::new());
        for (&at, (_, column)) in positions.iter().zip(scores) {
            cells[at] = cell(column, row);
        }
        writer.write_record(&cells)?;
    }
    writer.flush()
}

/// The data's columns and the scores as CSV, in the same layout as [`write_scored`]: a
/// score replaces a column of the same name, or is appended.
fn write_columns(
    data: &DataFrame,
    scores: &[(String, Column)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut columns: Vec<(&str, &Column)> = data
        .names()
        .iter()
        .map(|n| {
            (
                n.as_str(),
                data.column(n).expect("a frame's names are its columns"),
            )
        })
        .collect();
    for (name, score) in scores {
        match columns.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = score,
            None => columns.push((name, score)),
        }
    }
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(columns.iter().map(|(n, _)| n))?;
    for row in 0..data.n_rows() {
        writer.write_record(columns.iter().map(|(_, c)| cell(c, row)))?;
    }
    writer.flush()
}

fn cell(column: &Column, row: usize) -> String {
    match column {
        _ if column.is_missing(row) => "NA".into(),
        Column::Numeric(v) => number(v[row]),
        Column::Factor(f) => f.levels[f.codes[row] as usize].clone(),
    }
}

fn number(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "Inf" } else { "-Inf" }.into();
    }
    // Round to 15 significant digits, then print the shortest text for that value.
    let rounded: f64 = format!("{v:.14e}").parse().unwrap_or(v);
    format!("{rounded}")
}
