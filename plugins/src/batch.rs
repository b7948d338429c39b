//! The one calling convention shared by script and native code: a function over whole
//! columns, so a host pays its set-up cost once per batch rather than once per row.

use crate::PluginError;

pub(crate) trait BatchFunction {
    /// Calls the function on input columns of equal length (NaN = missing) and returns
    /// `outputs` columns of that length.
    fn call(&self, inputs: &[&[f64]], outputs: usize) -> Result<Vec<Vec<f64>>, PluginError>;
}
