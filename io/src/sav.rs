//! SPSS `.sav` and `.zsav`, through the `ambers` reader: numbers and strings, with SPSS's
//! own meaning applied. System-missing is missing; so are a variable's user-missing values
//! and ranges. A variable with value labels becomes a factor of its labels, in the order of
//! their codes (as SPSS lists them; the lowest code is the reference level), unless its
//! measurement level is scale. Dates are days since 1970-01-01.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ambers::{Measure, MissingSpec, SpssMetadata, Value};
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use mixspec_engine::data::{format_number, NA_CODE};
use mixspec_engine::{Column, Factor};

use crate::columns::{labels, reader_of};
use crate::error::ReadError;

/// Reads an SPSS file into columns.
pub(crate) fn read(path: &Path, shown: &str) -> Result<Vec<(String, Column)>, ReadError> {
    let corrupt = |message: String| ReadError::Corrupt {
        path: shown.into(),
        format: "SPSS",
        message,
    };
    let file = File::open(path).map_err(|e| ReadError::Open {
        path: shown.into(),
        message: e.to_string(),
    })?;
    let (batch, meta) =
        ambers::read_sav_from_reader(BufReader::new(file)).map_err(|e| corrupt(e.to_string()))?;
    // ambers reads what is there and reports where the file disagrees with itself (fewer
    // cases than its header says, a compression bias that shifts values, …): a model must
    // not quietly use part of a file or changed values. Only findings about header fields
    // that readers ignore anyway (SPSS included) are let pass.
    let findings: Vec<&str> = meta
        .warnings
        .iter()
        .map(String::as_str)
        .filter(|w| !is_harmless(w))
        .collect();
    if !findings.is_empty() {
        return Err(corrupt(findings.join("; ")));
    }
    let dictionary = Dictionary {
        meta: &meta,
        path: shown,
    };
    batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(j, field)| {
            let name = field.name();
            let column = dictionary.read(name, field.data_type(), &batch, j)?;
            Ok((name.clone(), column))
        })
        .collect()
}

/// Whether an ambers finding concerns only a header field that the variable list overrides
/// (the case size, which some writers leave at -1) or the sign of a .zsav trailer's bias
/// (which decoding does not use).
fn is_harmless(finding: &str) -> bool {
    finding.contains("values per row")
        || finding.starts_with("zsav trailer declares a compression bias")
}

/// What the file's dictionary says about its variables.
struct Dictionary<'a> {
    meta: &'a SpssMetadata,
    path: &'a str,
}

impl Dictionary<'_> {
    fn read(
        &self,
        name: &str,
        data_type: &DataType,
        batch: &RecordBatch,
        j: usize,
    ) -> Result<Column, ReadError> {
        let missing = self
            .meta
            .variable_missing_values
            .get(name)
            .map_or(&[][..], Vec::as_slice);
        let labelled = self
            .meta
            .value_labels(name)
            .filter(|l| !l.is_empty() && self.meta.measure(name) != Some(Measure::Scale));
        let array = batch.column(j).as_ref();
        match data_type {
            DataType::Utf8View | DataType::Utf8 | DataType::LargeUtf8 => {
                let user_missing = |v: &str| {
                    v.is_empty()
                        || missing
                            .iter()
                            .any(|m| matches!(m, MissingSpec::StringValue(s) if s.trim_end() == v))
                };
                let values =
                    labels(array).map(|v| v.map(str::trim_end).filter(|v| !user_missing(v)));
                let mut coded: Vec<(&str, &str)> = labelled
                    .into_iter()
                    .flatten()
                    .filter_map(|(value, label)| match value {
                        Value::String(s) if !user_missing(s.trim_end()) => {
                            Some((s.trim_end(), label.as_str()))
                        }
                        _ => None,
                    })
                    .collect();
                if coded.is_empty() {
                    return Ok(Column::Factor(Factor::from_labels(values)));
                }
                coded.sort_by(|a, b| a.0.cmp(b.0));
                let (codes, levels) = levels(&coded);
                let rows = values.map(|v| {
                    v.map_or(Ok(NA_CODE), |v| {
                        coded
                            .binary_search_by(|c| c.0.cmp(v))
                            .map(|i| codes[i])
                            .map_err(|_| v.to_string())
                    })
                });
                self.factor(name, rows, levels, coded.len())
            }
            DataType::Float64 => {
                let Some(mut values) = reader_of(name, data_type, self.path)?.numbers(array) else {
                    unreachable!("a Float64 array reads as numbers")
                };
                let user_missing = |x: f64| {
                    missing.iter().any(|m| match *m {
                        MissingSpec::Value(v) => x == v,
                        MissingSpec::Range { lo, hi } => lo <= x && x <= hi,
                        MissingSpec::StringValue(_) => false,
                    })
                };
                values
                    .iter_mut()
                    .filter(|x| user_missing(**x))
                    .for_each(|x| *x = f64::NAN);
                let Some(labels) = labelled else {
                    return Ok(Column::Numeric(values));
                };
                // Labels of user-missing codes ("refused", "not asked") name no level.
                let mut coded: Vec<(f64, &str)> = labels
                    .iter()
                    .filter_map(|(value, label)| match value {
                        Value::Numeric(v) if !user_missing(*v) => Some((*v, label.as_str())),
                        _ => None,
                    })
                    .collect();
                // Only missing-value codes labelled ("-99 refused" on an age): a number.
                if coded.is_empty() {
                    return Ok(Column::Numeric(values));
                }
                coded.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (codes, levels) = levels(&coded);
                let rows = values.iter().map(|&x| {
                    if x.is_nan() {
                        Ok(NA_CODE)
                    } else {
                        coded
                            .binary_search_by(|c| c.0.total_cmp(&x))
                            .map(|i| codes[i])
                            .map_err(|_| format_number(x))
                    }
                });
                self.factor(name, rows, levels, coded.len())
            }
            // Dates, date-times and durations: their SPSS missing values are in seconds
            // since 1582 and their labels rare; neither is applied to the converted values.
            _ if !missing.is_empty() || labelled.is_some() => Err(ReadError::UnsupportedType {
                path: self.path.into(),
                column: name.into(),
                data_type: format!("{data_type} with user-missing values or value labels"),
            }),
            _ => Ok(
                match reader_of(name, data_type, self.path)?.numbers(array) {
                    Some(values) => Column::Numeric(values),
                    None => Column::Factor(Factor::from_labels(labels(array))),
                },
            ),
        }
    }

    /// A factor from each row's level code, or the first value without a label.
    fn factor(
        &self,
        name: &str,
        rows: impl Iterator<Item = Result<u32, String>>,
        levels: Vec<String>,
        labelled: usize,
    ) -> Result<Column, ReadError> {
        let codes = rows
            .collect::<Result<Vec<u32>, String>>()
            .map_err(|value| ReadError::UnlabelledValue {
                path: self.path.into(),
                variable: name.into(),
                value,
                labelled,
            })?;
        Ok(Column::Factor(Factor { codes, levels }))
    }
}

/// The levels of labels sorted by code, and each code's level: codes that share a label
/// share its level, placed at the lowest of them.
fn levels<T>(coded: &[(T, &str)]) -> (Vec<u32>, Vec<String>) {
    let mut seen: HashMap<&str, u32> = HashMap::with_capacity(coded.len());
    let mut levels: Vec<String> = Vec::new();
    let codes = coded
        .iter()
        .map(|&(_, label)| {
            *seen.entry(label).or_insert_with(|| {
                levels.push(label.to_string());
                levels.len() as u32 - 1
            })
        })
        .collect();
    (codes, levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_sharing_a_label_share_its_level() {
        let (codes, levels) = levels(&[(1.0, "low"), (2.0, "high"), (3.0, "low")]);
        assert_eq!(codes, [0, 1, 0]);
        assert_eq!(levels, ["low", "high"]);
    }

    #[test]
    fn only_header_findings_pass() {
        assert!(is_harmless(
            "header declares 3 values per row but the variable list defines 4; used 4"
        ));
        assert!(!is_harmless(
            "header declares 180 rows but 136 rows were read"
        ));
    }
}
