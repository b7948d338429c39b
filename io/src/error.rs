//! Why a data file could not be read or written. Every message names the file and, where
//! one is at fault, the variable, and says what was expected.

use miette::Diagnostic;
use mixspec_engine::DataError;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ReadError {
    #[error("cannot read {path}: {message}")]
    #[diagnostic(code(mixspec::io::open))]
    Open { path: String, message: String },

    /// The CSV reader's own errors, which name the line.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Csv(#[from] DataError),

    #[error("{path}: the name says {format}, but the file does not start as one ({expected})")]
    #[diagnostic(
        code(mixspec::io::not_this_format),
        help("the file may be damaged, or saved in another format under this name")
    )]
    NotThisFormat {
        path: String,
        format: &'static str,
        expected: &'static str,
    },

    #[error("{path}: the SPSS file is encrypted")]
    #[diagnostic(
        code(mixspec::io::encrypted),
        help("save it again from SPSS without a password (File > Save As, Encrypt file unticked)")
    )]
    Encrypted { path: String },

    #[error("{path}: not a readable {format} file: {message}")]
    #[diagnostic(
        code(mixspec::io::corrupt),
        help("the file is damaged or cut short; save or export it again")
    )]
    Corrupt {
        path: String,
        format: &'static str,
        message: String,
    },

    #[error(
        "{path}: variable `{variable}` has value labels, but its value {value} has none \
         ({labelled} values are labelled)"
    )]
    #[diagnostic(
        code(mixspec::io::unlabelled_value),
        help(
            "a labelled variable becomes a factor of its labels: label every value it takes, \
             declare the value user-missing, or set its measurement level to scale to read \
             it as numbers"
        )
    )]
    UnlabelledValue {
        path: String,
        variable: String,
        value: String,
        labelled: usize,
    },

    #[error("{path}: column `{column}` is of type {data_type}, which mixspec cannot use")]
    #[diagnostic(
        code(mixspec::io::unsupported_type),
        help(
            "columns must be numbers, booleans, dates, text or dictionary-encoded text; \
             drop the column or convert it before saving"
        )
    )]
    UnsupportedType {
        path: String,
        column: String,
        data_type: String,
    },

    #[error("{path}: column `{name}` appears twice")]
    #[diagnostic(code(mixspec::io::duplicate_column))]
    DuplicateColumn { path: String, name: String },

    #[error("{path}: no Parquet files match")]
    #[diagnostic(
        code(mixspec::io::no_parts),
        help("a folder is read as the `*.parquet` files in it; a pattern may use * and ? in its last part")
    )]
    NoParts { path: String },

    #[error("{path}: its columns differ from those of {first} ({difference})")]
    #[diagnostic(
        code(mixspec::io::parts_differ),
        help("the part files of one data set must have the same columns, of the same types, in the same order")
    )]
    PartsDiffer {
        path: String,
        first: String,
        difference: String,
    },

    #[error("{path}: this build of mixspec reads CSV only, and the file is {format}")]
    #[diagnostic(
        code(mixspec::io::format_not_built),
        help("build mixspec with its default `columnar` feature to read SPSS, Parquet and Arrow files")
    )]
    NotBuilt { path: String, format: &'static str },
}

/// Why a data set could not be written.
#[derive(Debug, Error, Diagnostic)]
pub enum WriteError {
    #[error("cannot lay out the data as Parquet: {0}")]
    #[diagnostic(code(mixspec::io::write))]
    Parquet(String),

    #[error("this build of mixspec writes CSV only")]
    #[diagnostic(
        code(mixspec::io::format_not_built),
        help("build mixspec with its default `columnar` feature to write Parquet")
    )]
    NotBuilt,
}
