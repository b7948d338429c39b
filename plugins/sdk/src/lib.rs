//! Native mixspec plugins in safe Rust.
//!
//! A plugin library describes its instruments and predictors as static data with batch
//! functions over whole columns, and exports them with [`export_plugin!`]:
//!
//! ```
//! use mixspec_plugin_sdk::{export_plugin, Per, Plugin, Predictor};
//!
//! fn doubled(inputs: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<(), String> {
//!     for (out, x) in outputs[0].iter_mut().zip(inputs[0]) {
//!         *out = 2.0 * x;
//!     }
//!     Ok(())
//! }
//!
//! export_plugin!(Plugin {
//!     instruments: &[],
//!     predictors: &[Predictor {
//!         id: "doubled",
//!         version: "1",
//!         title: "Twice the input",
//!         inputs: &["x"],
//!         per: Per::Row,
//!         tests: &[],
//!         derive: doubled,
//!     }],
//! });
//! ```
//!
//! The SDK turns these into the C ABI of [`abi`], catches panics so they reach mixspec as
//! errors instead of aborting it, and owns the memory of the messages it hands out.
//! Build the crate as a `cdylib` with the default `panic = "unwind"`.

pub mod abi;
mod export;

#[doc(hidden)]
pub use export::export;

/// A batch function over whole columns.
///
/// `inputs` are the input columns in declared order, all of the same length, with NaN for
/// missing values; `outputs` are the declared output columns of that length, filled with NaN.
/// Return `Err` with a message for bad input; a panic is caught and reported the same way.
pub type BatchFn = fn(inputs: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<(), String>;

/// Everything a plugin library offers.
pub struct Plugin {
    pub instruments: &'static [Instrument],
    pub predictors: &'static [Predictor],
}

/// A questionnaire scored by Rust code.
///
/// mixspec checks the items before calling `score`: each column must exist and be numeric,
/// `missing_codes` become NaN, and any other value outside `range` is an error naming the row.
pub struct Instrument {
    pub id: &'static str,
    /// Form version, e.g. the year of the published key.
    pub version: &'static str,
    pub title: &'static str,
    pub items: &'static [&'static str],
    pub range: (f64, f64),
    pub missing_codes: &'static [f64],
    pub outputs: &'static [&'static str],
    /// Run by `mixspec plugins test`; one row per respondent.
    pub tests: &'static [Test],
    pub score: BatchFn,
}

/// A derived column for a model.
pub struct Predictor {
    pub id: &'static str,
    pub version: &'static str,
    pub title: &'static str,
    pub inputs: &'static [&'static str],
    pub per: Per,
    /// Run by `mixspec plugins test`; each is one call of `derive`.
    pub tests: &'static [Test],
    /// Writes one output column.
    pub derive: BatchFn,
}

/// How mixspec batches the rows of a predictor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// One call over all rows.
    Row,
    /// One call per subject with that subject's rows in data order.
    Subject,
}

/// Inputs and expected outputs, one slice per column; NaN expects a missing value.
pub struct Test {
    pub inputs: &'static [&'static [f64]],
    pub expected: &'static [&'static [f64]],
}

/// Exports a [`Plugin`] as the library's entry point. Use once per library.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:expr) => {
        /// The entry point mixspec looks up when it loads this library.
        #[unsafe(no_mangle)]
        pub extern "C" fn mixspec_plugin_entry() -> *const $crate::abi::Plugin {
            static PLUGIN: $crate::Plugin = $plugin;
            $crate::export(&PLUGIN)
        }
    };
}
