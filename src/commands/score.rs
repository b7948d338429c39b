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
    let scores = instrument.score(&data)?;
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
        "{} {}: scored {} rows into {} ({})",
        instrument.about().id,
        instrument.about().version,
        data.n_rows(),
        args.out.display(),
        names.join(", ")
    );
    Ok(())
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
