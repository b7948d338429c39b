//! Scoring a data set: check the items, then run the steps in order over whole columns.

use super::steps::{Norms, Step, TScore};
use super::Instrument;
use crate::{columns, PluginError};
use mixspec_engine::{Column, DataFrame, Factor};

/// An output column while scoring.
enum Value {
    Number(Vec<f64>),
    Bands(Factor),
}

impl Instrument {
    /// Scores every row: the output columns, in order.
    ///
    /// Fails, naming the column, data row and file line, when an item is absent from the
    /// data, not numeric, or outside the theoretical range once missing codes are set aside.
    pub fn score(&self, data: &DataFrame) -> Result<Vec<(String, Column)>, PluginError> {
        let rows = data.n_rows();
        let items = self.checked_items(data)?;
        let mut values: Vec<Value> = Vec::with_capacity(self.outputs.len());
        for step in &self.steps {
            let new = match step {
                Step::Scale(s) => vec![Value::Number(s.score(&items, self.range, rows))],
                Step::Composite(c) => {
                    let components: Vec<&[f64]> =
                        c.components.iter().map(|&i| number(&values, i)).collect();
                    vec![Value::Number(c.score(&components, rows))]
                }
                Step::ValueSet(v) => {
                    let index = v.score(&items, self.range.0, rows).map_err(|(item, row)| {
                        PluginError::in_cell(data, row, |source_name, row_1, line| {
                            PluginError::NotALevel {
                                plugin: self.about.id.clone(),
                                column: self.items[item].clone(),
                                value: items[item][row],
                                source_name,
                                row: row_1,
                                line,
                            }
                        })
                    })?;
                    vec![Value::Number(index)]
                }
                Step::Computed(c) => {
                    let inputs: Vec<&[f64]> = items.iter().map(Vec::as_slice).collect();
                    let columns = c.function.call(&inputs, c.outputs)?;
                    columns.into_iter().map(Value::Number).collect()
                }
                Step::TScore(t) => vec![Value::Number(self.t_score(t, &values, data)?)],
                Step::Bands(b) => vec![Value::Bands(b.score(number(&values, b.scale)))],
            };
            values.extend(new);
        }
        Ok(self
            .outputs
            .iter()
            .zip(values)
            .map(|((name, _), v)| {
                let column = match v {
                    Value::Number(x) => Column::Numeric(x),
                    Value::Bands(f) => Column::Factor(f),
                };
                (name.clone(), column)
            })
            .collect())
    }

    /// The item columns with missing codes turned into NaN, every other value in range.
    fn checked_items(&self, data: &DataFrame) -> Result<Vec<Vec<f64>>, PluginError> {
        let (lo, hi) = self.range;
        self.items
            .iter()
            .map(|name| {
                let raw = columns::numeric(&self.about.id, data, name)?;
                raw.iter()
                    .enumerate()
                    .map(|(row, &x)| {
                        if x.is_nan() || self.missing_codes.contains(&x) {
                            Ok(f64::NAN)
                        } else if (lo..=hi).contains(&x) {
                            Ok(x)
                        } else {
                            Err(PluginError::in_cell(data, row, |source_name, row, line| {
                                PluginError::OutOfRange {
                                    plugin: self.about.id.clone(),
                                    column: name.clone(),
                                    value: x,
                                    min: lo,
                                    max: hi,
                                    source_name,
                                    row,
                                    line,
                                }
                            }))
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn t_score(
        &self,
        t: &TScore,
        values: &[Value],
        data: &DataFrame,
    ) -> Result<Vec<f64>, PluginError> {
        let raw = number(values, t.scale);
        let (column, groups) = match &t.norms {
            Norms::One(m) => return Ok(t.score(raw, |_| Some(*m))),
            Norms::ByGroup { column, groups } => (column, groups),
        };
        let factor = columns::groups(&self.about.id, data, column)?;
        let norms_of_level = factor
            .levels
            .iter()
            .enumerate()
            .map(
                |(level, label)| match groups.iter().find(|(g, _)| g == label) {
                    Some((_, m)) => Ok(*m),
                    None => {
                        let row = factor.codes.iter().position(|&c| c as usize == level);
                        Err(PluginError::in_cell(
                            data,
                            row.unwrap_or(0),
                            |source_name, row, line| PluginError::UnknownNormGroup {
                                plugin: self.about.id.clone(),
                                column: column.clone(),
                                group: label.clone(),
                                source_name,
                                row,
                                line,
                            },
                        ))
                    }
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        Ok(t.score(raw, |row| {
            norms_of_level.get(factor.codes[row] as usize).copied()
        }))
    }
}

/// A numeric output; the instrument's checks guarantee the index is one.
fn number(values: &[Value], index: usize) -> &[f64] {
    match &values[index] {
        Value::Number(x) => x,
        Value::Bands(_) => unreachable!("steps refer only to numeric outputs"),
    }
}
