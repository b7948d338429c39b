//! Plugins: questionnaires (instruments) and derived model variables (predictors) that a
//! site adds without touching the engine, as sandboxed Rhai scripts or native libraries.
//!
//! Both kinds of plugin work on whole data columns. An instrument checks its items against
//! their theoretical range and derives its scales natively from a declaration; a predictor
//! derives one column from others, per observation or per subject. See `docs/plugins.md`.

mod batch;
mod bundled;
mod catalog;
mod columns;
mod error;
mod instrument;
mod native;
mod plugin;
mod predictor;
mod script;
mod testing;

pub use catalog::{is_path, load_path, Catalog, Entry};
pub use error::{PluginError, ScriptError};
pub use instrument::{Aggregate, Band, CompositeAggregate, Instrument, Lower, MeanSd, Norms};
pub use native::load_library;
pub use plugin::{About, Origin, Plugin};
pub use predictor::{Per, Predictor};
pub use script::{load_script, Params};
