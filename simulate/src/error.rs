//! Errors of the simulator: bad parameter files, parameters no patient can satisfy, and
//! fits that fail in a recovery study.

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ParamsError {
    /// Boxed: the source text makes this variant large, and errors travel by value.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    #[error("{source_name}: `{key}` = {value} {rule}")]
    #[diagnostic(code(simulate::params))]
    Invalid {
        source_name: String,
        key: String,
        value: String,
        rule: &'static str,
    },
}

/// The file is not TOML, or its keys and types are not those of `params.toml`.
#[derive(Debug, Error, Diagnostic)]
#[error("{source_name}: {message}")]
#[diagnostic(
    code(simulate::params),
    help("start from `mixspec simulate --print-params`: every key must be present")
)]
pub struct SyntaxError {
    pub source_name: String,
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

impl ParamsError {
    pub(crate) fn syntax(error: toml::de::Error, text: &str, source: &str) -> ParamsError {
        ParamsError::Syntax(Box::new(SyntaxError {
            source_name: source.to_string(),
            message: error.message().trim().to_string(),
            src: NamedSource::new(source, text.to_string()),
            span: error.span().map(SourceSpan::from),
        }))
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum SimulateError {
    /// Rejection sampling of a patient's GAF series never met the outcome condition.
    #[error(
        "patient {patient}: no GAF series out of {attempts} drawn ended {side} gaf_threshold; \
         the gaf and cohort parameters make this outcome group (almost) impossible"
    )]
    #[diagnostic(code(simulate::outcome))]
    OutcomeUnreachable {
        patient: usize,
        attempts: usize,
        side: &'static str,
    },
    #[error("--patients must be at least 1")]
    #[diagnostic(code(simulate::patients))]
    NoPatients,
}

#[derive(Debug, Error, Diagnostic)]
pub enum RecoveryError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Simulate(#[from] SimulateError),
    /// The bundled WAI instruments could not be loaded or scored.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(#[from] mixspec_plugins::PluginError),
    #[error("the recovery model `{formula}` does not parse: {message}")]
    #[diagnostic(code(simulate::recovery))]
    Formula { formula: String, message: String },
}
