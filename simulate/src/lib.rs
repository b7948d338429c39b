//! Simulated cohorts with the design of mixspec's seed study (a mentalization-based
//! treatment unit; see docs/simulation.md): parameters and a seed in, columns out, with no
//! I/O of its own.

pub mod cohort;
pub mod error;
pub mod params;
pub mod patient;
pub mod recovery;
pub mod summary;

pub use cohort::{column_names, simulate, Cohort};
pub use error::{ParamsError, RecoveryError, SimulateError};
pub use params::{Params, DEFAULT_TOML};
pub use summary::Summary;
