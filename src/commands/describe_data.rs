//! `mixspec describe-data`: what a data file holds as mixspec reads it — each column's type,
//! missing values and levels (the first is the reference level of its contrasts) — to check
//! before writing a spec.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::output::pad;
use mixspec_engine::data::format_number;
use mixspec_engine::{Column, DataFrame};
use mixspec_io::Format;

/// Levels listed per factor before the rest are counted.
const SHOWN_LEVELS: usize = 6;

#[derive(clap::Args)]
pub struct DescribeDataArgs {
    /// Data file, folder of Parquet parts or Parquet pattern (the formats of `fit --data`).
    file: PathBuf,
}

pub fn run(args: &DescribeDataArgs) -> miette::Result<()> {
    let format = Format::detect(&args.file)?;
    let data = mixspec_io::read_data(&args.file)?;
    out!("{}", describe(&data, format));
    Ok(())
}

/// One line per column: name, type, missing count, and levels or range.
fn describe(data: &DataFrame, format: Format) -> String {
    let mut out = format!(
        "{}: {}, {} rows, {} columns\n\n",
        data.source(),
        format.name(),
        data.n_rows(),
        data.names().len()
    );
    let rows: Vec<[String; 4]> = data
        .names()
        .iter()
        .map(|name| {
            let column = data.column(name).expect("a frame's names are its columns");
            let missing = (0..column.len()).filter(|&r| column.is_missing(r)).count();
            let (kind, detail) = match column {
                Column::Numeric(v) => ("numeric".to_string(), range(v)),
                Column::Factor(f) => (format!("factor ({})", f.levels.len()), levels(&f.levels)),
            };
            [name.clone(), kind, missing.to_string(), detail]
        })
        .collect();
    let header = [
        "column",
        "type",
        "missing",
        "levels (first is the reference) or range",
    ];
    // Padded by hand: a column name may be wider than the formatter's widths allow.
    let width = |i: usize| pad::widest(rows.iter().map(|r| r[i].as_str()).chain([header[i]]));
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in std::iter::once(header.map(String::from)).chain(rows) {
        let line = format!(
            "{}  {}  {}  {}",
            pad::left(&r[0], w0),
            pad::left(&r[1], w1),
            pad::right(&r[2], w2),
            r[3]
        );
        writeln!(out, "{}", line.trim_end()).expect("writing to a String cannot fail");
    }
    out
}

fn range(values: &[f64]) -> String {
    let present = values.iter().copied().filter(|v| !v.is_nan());
    let (lo, hi) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        "all missing".into()
    } else {
        format!("{} to {}", format_number(lo), format_number(hi))
    }
}

fn levels(levels: &[String]) -> String {
    let shown: Vec<&str> = levels
        .iter()
        .take(SHOWN_LEVELS)
        .map(String::as_str)
        .collect();
    let rest = levels.len().saturating_sub(SHOWN_LEVELS);
    let mut text = shown.join(", ");
    if rest > 0 {
        write!(text, ", … ({rest} more)").expect("writing to a String cannot fail");
    }
    text
}
