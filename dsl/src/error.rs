//! Diagnostics for formulas, rendered by miette with the offending text underlined.

use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use crate::formula::ast::Span;

/// What went wrong, for callers that react to specific mistakes and for tests; the message and
/// help carry the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormulaErrorKind {
    /// Text that does not fit the formula grammar.
    Syntax,
    /// No `~` anywhere.
    MissingTilde,
    /// `~ x` with nothing on the left.
    MissingResponse,
    /// A `(` never closed or a `)` never opened.
    UnbalancedParen,
    /// `(x | )`: a random-effect term without a grouping factor.
    EmptyGrouping,
    /// A grouping factor that is not a variable, `g1:g2` or `g1/g2`.
    InvalidGrouping,
    /// A random-effect term with no intercept and no terms, e.g. `(0 | g)`.
    EmptyRandomTerm,
    /// A random-effect bar anywhere other than added to the right-hand side in parentheses.
    MisplacedBar,
    /// A function other than those the engine can evaluate.
    UnknownFunction,
    /// A supported function called with other than one argument.
    WrongArgumentCount,
    /// Formula `^` on something other than a parenthesised sum, or a power that is not a
    /// whole number of at least 2.
    InvalidPower,
    /// `offset()` anywhere other than added to the fixed part.
    MisplacedOffset,
    /// A number other than `0` or `1` used as a term, or a response that reads no data.
    NumberTerm,
    /// A formula operator where arithmetic is expected, e.g. `:` inside `I()`.
    NotArithmetic,
    /// An R reserved word (`TRUE`, `if`, ...) or `.` used as a variable.
    ReservedName,
    /// The response also appears among the fixed-effect terms.
    ResponseOnRhs,
    /// Nesting or expansion too large to process safely.
    TooComplex,
}

/// A formula that cannot be turned into a model, pointing at the text responsible.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(mixspec::formula))]
pub struct FormulaError {
    kind: FormulaErrorKind,
    message: String,
    /// Shared so that the error stays small to return.
    #[source_code]
    src: Arc<NamedSource<String>>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

impl FormulaError {
    pub fn kind(&self) -> FormulaErrorKind {
        self.kind
    }

    /// The byte range of the formula text the error is about.
    pub fn span(&self) -> SourceSpan {
        self.span
    }
}

/// A formula error before it is attached to its source text, so the passes that find problems
/// only deal in spans, and a formula embedded in a larger file can be reported against it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub kind: FormulaErrorKind,
    pub span: Span,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(
        kind: FormulaErrorKind,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            span,
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn into_error(self, src: &str) -> FormulaError {
        FormulaError {
            kind: self.kind,
            message: self.message,
            src: Arc::new(NamedSource::new("formula", src.to_string())),
            span: SourceSpan::new(self.span.start.into(), self.span.end - self.span.start),
            label: self.label,
            help: self.help,
        }
    }
}
