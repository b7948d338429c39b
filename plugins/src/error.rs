//! Typed errors of the plugin hosts. Each names the plugin and what was wrong: the file,
//! line and column in a script, or the column, data row and file line in the data.

use miette::{Diagnostic, NamedSource, SourceSpan};
use mixspec_engine::DataFrame;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum PluginError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Script(#[from] Box<ScriptError>),

    #[error("{file}: `{path}`: {message}")]
    #[diagnostic(
        code(mixspec::plugin::declaration),
        help("see docs/plugins.md for the fields of an instrument or a predictor")
    )]
    Declaration {
        file: String,
        path: String,
        message: String,
    },

    #[error("{plugin} needs the parameter `{name}`")]
    #[diagnostic(
        code(mixspec::plugin::params_required),
        help("give a JSON parameter file with --params FILE")
    )]
    ParamsRequired { plugin: String, name: String },

    #[error("{plugin}: {source_name} has no column `{column}`")]
    #[diagnostic(code(mixspec::plugin::unknown_column), help("{help}"))]
    UnknownColumn {
        plugin: String,
        column: String,
        source_name: String,
        help: String,
    },

    #[error(
        "{plugin}: column `{column}` must be numeric, but {source_name} line {line} (data row \
         {row}) has `{value}`"
    )]
    #[diagnostic(
        code(mixspec::plugin::not_numeric),
        help("fix that cell; leave it empty or write NA when the answer is missing")
    )]
    NotNumeric {
        plugin: String,
        column: String,
        source_name: String,
        row: usize,
        line: u64,
        value: String,
    },

    #[error(
        "{plugin}: item `{column}` is {value} in {source_name} line {line} (data row {row}), \
         outside its range {min}–{max}"
    )]
    #[diagnostic(
        code(mixspec::plugin::out_of_range),
        help("fix the value; a code that means `missing` must be declared in `missing_codes`")
    )]
    OutOfRange {
        plugin: String,
        column: String,
        value: f64,
        min: f64,
        max: f64,
        source_name: String,
        row: usize,
        line: u64,
    },

    #[error(
        "{plugin}: item `{column}` is {value} in {source_name} line {line} (data row {row}), \
         not a whole level"
    )]
    #[diagnostic(
        code(mixspec::plugin::not_a_level),
        help("a value-set lookup needs the level numbers themselves")
    )]
    NotALevel {
        plugin: String,
        column: String,
        value: f64,
        source_name: String,
        row: usize,
        line: u64,
    },

    #[error(
        "{plugin}: norm group `{group}` in column `{column}`, {source_name} line {line} (data row \
         {row}), has no norms"
    )]
    #[diagnostic(
        code(mixspec::plugin::unknown_norm_group),
        help("add norms for the group to the parameters, or leave the cell empty for no T-score")
    )]
    UnknownNormGroup {
        plugin: String,
        column: String,
        group: String,
        source_name: String,
        row: usize,
        line: u64,
    },

    #[error("{plugin} takes {expected} input columns, got {found}")]
    #[diagnostic(code(mixspec::plugin::arity))]
    Arity {
        plugin: String,
        expected: usize,
        found: usize,
    },

    #[error("{plugin} derives a value per subject and needs a subject column")]
    #[diagnostic(code(mixspec::plugin::no_subject))]
    NoSubject { plugin: String },

    #[error("{plugin} failed: {message}")]
    #[diagnostic(code(mixspec::plugin::call))]
    Call { plugin: String, message: String },

    #[error("cannot load the plugin library {}: {message}", path.display())]
    #[diagnostic(code(mixspec::plugin::library))]
    Library { path: PathBuf, message: String },

    #[error("{} is not a mixspec plugin: it has no `{symbol}` entry point", path.display())]
    #[diagnostic(
        code(mixspec::plugin::missing_symbol),
        help("build plugins with mixspec-plugin-sdk and its export_plugin! macro")
    )]
    MissingSymbol { path: PathBuf, symbol: String },

    #[error(
        "{} was built for plugin ABI {found}, but this mixspec speaks ABI {expected}",
        path.display()
    )]
    #[diagnostic(
        code(mixspec::plugin::abi_version),
        help("rebuild the plugin against the mixspec-plugin-sdk of this mixspec version")
    )]
    AbiVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    #[error("cannot read {}", path.display())]
    #[diagnostic(code(mixspec::plugin::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no {kind} `{id}`")]
    #[diagnostic(code(mixspec::plugin::not_found), help("{help}"))]
    NotFound {
        kind: &'static str,
        id: String,
        help: String,
    },

    #[error("`{reference}` could mean more than one {kind}: {candidates}")]
    #[diagnostic(
        code(mixspec::plugin::ambiguous),
        help(
            "ids must be unique across bundled and discovered plugins; to use one of several \
              plugins in a library, give its path and the id as PATH#ID, or put the library in \
              a plugin directory and give the id"
        )
    )]
    Ambiguous {
        kind: &'static str,
        reference: String,
        candidates: String,
    },
}

/// A script that does not parse or fails while running, located in its source.
#[derive(Debug, Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
#[diagnostic(code(mixspec::plugin::script))]
pub struct ScriptError {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    #[source_code]
    pub(crate) text: NamedSource<String>,
    #[label("here")]
    pub(crate) span: Option<SourceSpan>,
}

impl PluginError {
    /// The data error for a cell: which row and which line of which file.
    pub(crate) fn in_cell(
        data: &DataFrame,
        row: usize,
        make: impl FnOnce(String, usize, u64) -> PluginError,
    ) -> PluginError {
        make(data.source().to_string(), row + 1, data.line_of(row))
    }
}
