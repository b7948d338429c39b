//! Typed errors of computing statistics with DataFusion, and of the Ballista cluster's
//! services.

use miette::Diagnostic;
use mixspec_engine::StatisticsError;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum DistributedError {
    /// The data could not be registered or queried (a missing file, a corrupt Parquet
    /// file, a type DataFusion cannot read).
    #[error("{path}: {message}")]
    #[diagnostic(code(mixspec::distributed::query))]
    Query { path: String, message: String },

    #[error("{path}: no column `{name}` (the columns are: {columns})")]
    #[diagnostic(code(mixspec::distributed::unknown_column))]
    UnknownColumn {
        path: String,
        name: String,
        columns: String,
    },

    #[error("{path}: column `{name}` is {data_type}, which the DataFusion engine cannot use in `{label}`")]
    #[diagnostic(code(mixspec::distributed::column_type), help("{help}"))]
    ColumnType {
        path: String,
        name: String,
        data_type: String,
        label: String,
        help: String,
    },

    #[error("`{what}` is not supported by the DataFusion engine (--engine datafusion or ballista://) yet")]
    #[diagnostic(
        code(mixspec::distributed::unsupported),
        help("fit the model with --engine memory, or write the variable into the data first")
    )]
    Unsupported { what: String },

    #[error("{path}: `{variable}` is infinite in {rows} complete row(s)")]
    #[diagnostic(
        code(mixspec::distributed::non_finite),
        help("an infinite value (log(0), a division by zero) cannot be fitted; R refuses it too")
    )]
    NonFinite {
        path: String,
        variable: String,
        rows: u64,
    },

    #[error("{path}: no complete rows: every row misses a value of a model variable")]
    #[diagnostic(code(mixspec::distributed::no_rows))]
    NoRows { path: String },

    /// A Ballista scheduler or executor could not be reached or started, or stopped with an
    /// error.
    #[cfg(feature = "ballista")]
    #[error("{address}: {message}")]
    #[diagnostic(code(mixspec::distributed::cluster), help("{help}"))]
    Cluster {
        address: String,
        message: String,
        help: String,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Statistics(#[from] StatisticsError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] mixspec_engine::ModelError),
}
