//! The mixspec likelihood engine: data columns, model matrices, fitting and inference.
//!
//! No I/O beyond what callers hand in: CSV parsing takes a reader, never a path.

pub mod data;
pub mod design;
pub mod error;
pub mod family;
pub mod fit;
pub mod inference;
pub mod spec;
pub mod statistics;

pub use data::{read_csv, Column, DataFrame, Factor};
pub use design::Design;
pub use error::{DataError, ModelError, StatisticsError};
pub use fit::{fit, FitOptions, LmmFit};
pub use spec::ModelSpec;
pub use statistics::{fit_from_statistics, SubjectStatistics};
