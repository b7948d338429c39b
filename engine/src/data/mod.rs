//! Data columns as the engine sees them: numbers with NaN for missing, or factors.
//!
//! A column's type is decided once, when the data is read: a column is a factor when any
//! non-missing value is not a number, as R's `read.csv(stringsAsFactors = TRUE)` decides.
//! Grouping variables are turned into factors on demand whatever their type.

mod collate;
mod csv;

pub(crate) use self::csv::parse_r_number;
pub use self::csv::read_csv;
pub use collate::r_order;
use collate::{byte_order_is_r_order, sort_key};

/// Labels coded in order of first appearance, each distinct label stored once: a factor
/// under construction. The labels share one string (no allocation per label) and are
/// found by hash, or without hashing when a label repeats the row before's (long data
/// lists a patient's visits together).
#[derive(Default)]
pub(crate) struct Interner {
    first_row: usize,
    /// The distinct labels, concatenated; label `c` ends at `ends[c]`.
    text: String,
    ends: Vec<usize>,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    codes: Vec<u32>,
}

impl Interner {
    /// An interner for the rows from `row` on (see [`Interner::prepend`]).
    pub(crate) fn starting_at(row: usize) -> Interner {
        Interner {
            first_row: row,
            ..Interner::default()
        }
    }

    /// The row of the first label pushed.
    pub(crate) fn first_row(&self) -> usize {
        self.first_row
    }

    /// Labels pushed so far.
    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }

    fn label(&self, code: u32) -> &str {
        label_in(&self.text, &self.ends, code)
    }

    /// Puts the labels of the rows before this interner's first in front of its own.
    pub(crate) fn prepend(&mut self, earlier: Interner) {
        let mut all = earlier;
        for &c in &self.codes {
            all.push((c != NA_CODE).then(|| self.label(c)));
        }
        *self = all;
    }

    pub(crate) fn push(&mut self, label: Option<&str>) {
        let code = match label {
            None => NA_CODE,
            Some(l) => match self.codes.last() {
                Some(&last) if last != NA_CODE && self.label(last) == l => last,
                _ => self.code_of(l),
            },
        };
        self.codes.push(code);
    }

    fn code_of(&mut self, l: &str) -> u32 {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(l);
        let (text, ends) = (&self.text, &self.ends);
        if let Some(&c) = self.table.find(hash, |&c| label_in(text, ends, c) == l) {
            return c;
        }
        let c = self.ends.len() as u32;
        self.text.push_str(l);
        self.ends.push(self.text.len());
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.table
            .insert_unique(hash, c, |&k| hasher.hash_one(label_in(text, ends, k)));
        c
    }

    /// The factor, its levels in R's sort order.
    pub(crate) fn into_factor(self) -> Factor {
        let n = self.ends.len() as u32;
        let mut order: Vec<u32> = (0..n).collect();
        if byte_order_is_r_order((0..n).map(|c| self.label(c))) {
            order.sort_unstable_by(|&a, &b| self.label(a).cmp(self.label(b)));
        } else {
            order.sort_by_cached_key(|&c| sort_key(self.label(c)));
        }
        let mut recode = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            recode[old as usize] = new as u32;
        }
        let codes = self
            .codes
            .iter()
            .map(|&c| {
                if c == NA_CODE {
                    NA_CODE
                } else {
                    recode[c as usize]
                }
            })
            .collect();
        let levels = order.iter().map(|&c| self.label(c).to_string()).collect();
        Factor { codes, levels }
    }
}

/// Label `code` of an [`Interner`]'s concatenated labels.
fn label_in<'a>(text: &'a str, ends: &[usize], code: u32) -> &'a str {
    let c = code as usize;
    &text[if c == 0 { 0 } else { ends[c - 1] }..ends[c]]
}

/// Code of a missing value in a [`Factor`].
pub const NA_CODE: u32 = u32::MAX;

/// A categorical column: integer codes into a sorted level set.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// Per row, an index into `levels`, or [`NA_CODE`].
    pub codes: Vec<u32>,
    /// Level labels in R's sort order; the first is the reference level.
    pub levels: Vec<String>,
}

impl Factor {
    /// Builds a factor from labels, sorting the distinct labels as R's `factor()` does.
    pub fn from_labels<'a>(labels: impl Iterator<Item = Option<&'a str>>) -> Self {
        let mut interner = Interner::default();
        labels.for_each(|l| interner.push(l));
        interner.into_factor()
    }

    /// A factor of the distinct values of a numeric column, ordered numerically and labelled
    /// as R's `as.character()` would print them.
    pub fn from_numbers(values: &[f64]) -> Self {
        let mut distinct: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        distinct.sort_by(|a, b| a.total_cmp(b));
        distinct.dedup();
        let codes = values
            .iter()
            .map(|v| {
                if v.is_nan() {
                    NA_CODE
                } else {
                    distinct
                        .binary_search_by(|d| d.total_cmp(v))
                        .map_or(NA_CODE, |i| i as u32)
                }
            })
            .collect();
        Factor {
            codes,
            levels: distinct.iter().map(|v| format_number(*v)).collect(),
        }
    }

    /// Keeps the given rows and drops levels that no longer occur, as R's
    /// `model.frame(drop.unused.levels = TRUE)` does; missing values stay missing.
    pub fn subset(&self, rows: &[usize]) -> Factor {
        let mut used = vec![false; self.levels.len()];
        for &r in rows {
            if let Some(u) = used.get_mut(self.codes[r] as usize) {
                *u = true;
            }
        }
        let mut remap = vec![NA_CODE; self.levels.len()];
        let mut levels = Vec::new();
        for (i, l) in self.levels.iter().enumerate() {
            if used[i] {
                remap[i] = levels.len() as u32;
                levels.push(l.clone());
            }
        }
        Factor {
            codes: rows
                .iter()
                .map(|&r| remap.get(self.codes[r] as usize).map_or(NA_CODE, |&c| c))
                .collect(),
            levels,
        }
    }

    pub fn is_missing(&self, row: usize) -> bool {
        self.codes[row] == NA_CODE
    }
}

/// Formats a number as R prints it in labels: integers without a decimal point.
pub fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// One column of a data set.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; NaN marks a missing value.
    Numeric(Vec<f64>),
    Factor(Factor),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Factor(f) => f.codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Numeric(v) => v[row].is_nan(),
            Column::Factor(f) => f.is_missing(row),
        }
    }

    /// The column as a factor: itself, or its distinct numbers as levels.
    pub fn to_factor(&self) -> Factor {
        match self {
            Column::Numeric(v) => Factor::from_numbers(v),
            Column::Factor(f) => f.clone(),
        }
    }
}

/// A data set: named columns of equal length.
#[derive(Debug, Clone, Default)]
pub struct DataFrame {
    names: Vec<String>,
    columns: Vec<Column>,
    /// For each row, the line of the source file it came from (for messages).
    lines: Vec<u64>,
    /// Where the data came from, for messages (a file name or "<memory>").
    source: String,
}

impl DataFrame {
    /// Builds a data set from columns of equal length; rows are numbered from line 2, as if
    /// they came from a CSV file with a header.
    pub fn new(source: &str, columns: Vec<(String, Column)>) -> Self {
        let n = columns.first().map_or(0, |c| c.1.len());
        assert!(
            columns.iter().all(|c| c.1.len() == n),
            "columns of unequal length"
        );
        let (names, columns) = columns.into_iter().unzip();
        DataFrame {
            names,
            columns,
            lines: (2..n as u64 + 2).collect(),
            source: source.into(),
        }
    }

    pub(crate) fn with_lines(mut self, lines: Vec<u64>) -> Self {
        self.lines = lines;
        self
    }

    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The source line of a row (1-based, the header being line 1).
    pub fn line_of(&self, row: usize) -> u64 {
        self.lines[row]
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// The given rows in the given order (repeats allowed), each keeping its source line so
    /// that messages about a subset still name lines of the file. Factors keep only the
    /// levels that occur, as R's `subset()` followed by `droplevels()`.
    pub fn select(&self, rows: &[usize]) -> DataFrame {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
                Column::Factor(f) => Column::Factor(f.subset(rows)),
            })
            .collect();
        DataFrame {
            names: self.names.clone(),
            columns,
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
            source: self.source.clone(),
        }
    }

    /// Adds a column, replacing any of the same name.
    pub fn insert(&mut self, name: &str, column: Column) {
        assert_eq!(
            column.len(),
            self.n_rows(),
            "column length must match the data"
        );
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.columns[i] = column,
            None => {
                self.names.push(name.to_string());
                self.columns.push(column);
            }
        }
    }
}
