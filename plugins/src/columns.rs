//! Reading the data columns a plugin asks for.

use crate::PluginError;
use mixspec_engine::{Column, DataFrame, Factor};

/// The values of a numeric column (NaN = missing), or an error naming the column and, for
/// a text column, its first text cell.
pub(crate) fn numeric<'d>(
    plugin: &str,
    data: &'d DataFrame,
    name: &str,
) -> Result<&'d [f64], PluginError> {
    match column(plugin, data, name)? {
        Column::Numeric(v) => Ok(v),
        Column::Factor(f) => {
            // The column became text because of some cell that is not a number: name it.
            let label = |r: usize| f.levels.get(f.codes[r] as usize);
            let row = (0..f.codes.len())
                .find(|&r| label(r).is_some_and(|l| l.parse::<f64>().is_err()))
                .unwrap_or(0);
            let value = label(row).cloned();
            Err(PluginError::in_cell(data, row, |source_name, row, line| {
                PluginError::NotNumeric {
                    plugin: plugin.into(),
                    column: name.into(),
                    source_name,
                    row,
                    line,
                    value: value.unwrap_or_else(|| "NA".into()),
                }
            }))
        }
    }
}

/// Any column as groups: its labels, or its distinct numbers.
pub(crate) fn groups(plugin: &str, data: &DataFrame, name: &str) -> Result<Factor, PluginError> {
    Ok(column(plugin, data, name)?.to_factor())
}

fn column<'d>(plugin: &str, data: &'d DataFrame, name: &str) -> Result<&'d Column, PluginError> {
    data.column(name).ok_or_else(|| PluginError::UnknownColumn {
        plugin: plugin.into(),
        column: name.into(),
        source_name: data.source().into(),
        help: format!("the data has: {}", data.names().join(", ")),
    })
}
