//! Problems found in a `.spec` file. Every check, the syntax, the names, and those that need
//! the data, adds to one list, so that a file's mistakes are all reported together, each
//! pointing at its own words.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use super::ast::{Name, Span};
use crate::FormulaErrorKind;

/// What went wrong, for callers that react to specific mistakes and for tests; the message,
/// labels and help carry the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// Text that does not fit the grammar.
    Syntax,
    /// A word at the start of a line that is not a statement.
    UnknownStatement,
    /// Input too large or too deeply nested to check safely.
    TooComplex,
    /// No `data` statement, or more than one.
    Data,
    /// The data file cannot be read.
    DataFile,
    /// A setting or option that does not exist or has an invalid value.
    Setting,
    /// A name defined twice (models, reports, derived variables, settings).
    Duplicate,
    UnknownModel,
    UnknownVariable,
    UnknownFunction,
    UnknownInstrument,
    UnknownPredictor,
    UnknownLevel,
    /// A function called with the wrong number of arguments.
    Arguments,
    /// A per-subject aggregate without `subject`, or first/last without `time`.
    MissingSetting,
    /// A formula that cannot be turned into a model.
    Formula(FormulaErrorKind),
    /// A model with neither random effects nor a residual structure.
    NoRandomEffects,
    /// A factor where a number is needed, or any other mismatch of kinds of value.
    Type,
    /// A filter that no row passes, or a model that has no complete row.
    NoRows,
    /// An instrument that cannot score the data.
    Instrument,
    /// A predictor that cannot derive its variable from the columns it is given.
    Predictor,
    /// Models that cannot be compared as asked.
    Comparison,
    /// A plot that cannot be drawn as asked.
    Plot,
    /// A model the engine cannot fit.
    Fit,
    /// A power statement that cannot be simulated as written.
    Power,
}

impl SpecErrorKind {
    fn code(self) -> &'static str {
        match self {
            SpecErrorKind::Syntax => "mixspec::spec::syntax",
            SpecErrorKind::UnknownStatement => "mixspec::spec::unknown_statement",
            SpecErrorKind::TooComplex => "mixspec::spec::too_complex",
            SpecErrorKind::Data => "mixspec::spec::data",
            SpecErrorKind::DataFile => "mixspec::spec::data_file",
            SpecErrorKind::Setting => "mixspec::spec::setting",
            SpecErrorKind::Duplicate => "mixspec::spec::duplicate",
            SpecErrorKind::UnknownModel => "mixspec::spec::unknown_model",
            SpecErrorKind::UnknownVariable => "mixspec::spec::unknown_variable",
            SpecErrorKind::UnknownFunction => "mixspec::spec::unknown_function",
            SpecErrorKind::UnknownInstrument => "mixspec::spec::unknown_instrument",
            SpecErrorKind::UnknownPredictor => "mixspec::spec::unknown_predictor",
            SpecErrorKind::UnknownLevel => "mixspec::spec::unknown_level",
            SpecErrorKind::Arguments => "mixspec::spec::arguments",
            SpecErrorKind::MissingSetting => "mixspec::spec::missing_setting",
            SpecErrorKind::Formula(_) => "mixspec::spec::formula",
            SpecErrorKind::NoRandomEffects => "mixspec::spec::no_random_effects",
            SpecErrorKind::Type => "mixspec::spec::type",
            SpecErrorKind::NoRows => "mixspec::spec::no_rows",
            SpecErrorKind::Instrument => "mixspec::spec::instrument",
            SpecErrorKind::Predictor => "mixspec::spec::predictor",
            SpecErrorKind::Comparison => "mixspec::spec::comparison",
            SpecErrorKind::Plot => "mixspec::spec::plot",
            SpecErrorKind::Fit => "mixspec::spec::fit",
            SpecErrorKind::Power => "mixspec::spec::power",
        }
    }
}

/// One problem: a message, the words it is about, and what to do. Boxed, so that results
/// carrying one stay small.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecDiagnostic(Box<Problem>);

#[derive(Debug, Clone, PartialEq)]
struct Problem {
    kind: SpecErrorKind,
    message: String,
    span: Span,
    label: String,
    /// Further places that explain the problem, e.g. where a name was first defined.
    others: Vec<(Span, String)>,
    help: Option<String>,
}

impl SpecDiagnostic {
    pub fn new(
        kind: SpecErrorKind,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        SpecDiagnostic(Box::new(Problem {
            kind,
            message: message.into(),
            span,
            label: label.into(),
            others: Vec::new(),
            help: None,
        }))
    }

    /// `name` given again in one list, where `first` gave it; `what` says what the list holds
    /// ("model", "column"), or is empty when the list says that itself.
    pub fn listed_twice(what: &str, name: &Name, first: &Name) -> Self {
        let named = if what.is_empty() {
            format!("`{}`", name.text)
        } else {
            format!("{what} `{}`", name.text)
        };
        SpecDiagnostic::new(
            SpecErrorKind::Duplicate,
            name.span,
            format!("{named} is listed twice"),
            "listed again here",
        )
        .also(first.span, "first listed here")
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.0.others.push((span, label.into()));
        self
    }

    pub fn kind(&self) -> SpecErrorKind {
        self.0.kind
    }

    pub fn span(&self) -> Span {
        self.0.span
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for SpecDiagnostic {}

fn source_span(span: Span) -> miette::SourceSpan {
    (span.start, span.end - span.start).into()
}

impl Diagnostic for SpecDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let p = &self.0;
        let primary =
            LabeledSpan::new_primary_with_span(Some(p.label.clone()), source_span(p.span));
        let others = p
            .others
            .iter()
            .map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), source_span(*s)));
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}

/// Every problem of one file, in the order they appear in it.
#[derive(Debug)]
pub struct SpecError {
    src: Arc<NamedSource<String>>,
    problems: Vec<SpecDiagnostic>,
}

impl SpecError {
    pub fn problems(&self) -> &[SpecDiagnostic] {
        &self.problems
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} error{}",
            self.src.name(),
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    /// The report as plain text: ASCII art, no colours, 100 columns. Stable across
    /// terminals, for logs and snapshot tests.
    pub fn render_plain(&self) -> String {
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
            .with_width(100)
            .render_report(&mut out, self)
            .expect("rendering into a String cannot fail");
        out
    }
}

impl Diagnostic for SpecError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("mixspec::spec"))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.src)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.problems.iter().map(|p| p as &'a dyn Diagnostic),
        ))
    }
}

/// Problems collected while checking a file.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(Vec<SpecDiagnostic>);

impl Diagnostics {
    pub fn push(&mut self, problem: SpecDiagnostic) {
        self.0.push(problem);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SpecDiagnostic> {
        self.0.iter()
    }

    /// `Ok` when nothing was found; otherwise every problem against the file's text, sorted
    /// by position.
    pub fn finish(self, name: &str, text: &str) -> Result<(), SpecError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut problems = self.0;
        problems.sort_by_key(|p| (p.span().start, p.span().end));
        problems.dedup();
        Err(SpecError {
            src: Arc::new(NamedSource::new(name, text.to_string())),
            problems,
        })
    }
}

impl Extend<SpecDiagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = SpecDiagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// Longest word, in characters, compared for a suggestion: the similarity takes time
/// quadratic in the length, and no name is misspelt at this length.
const LONGEST_COMPARED: usize = 256;

/// The candidate a misspelt word most probably meant, if any is close enough.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let compared = |w: &str| w.chars().nth(LONGEST_COMPARED).is_none();
    if !compared(word) {
        return None;
    }
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| compared(c))
        .map(|c| (strsim::jaro_winkler(&word, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Help text for an unknown name: the closest candidate and, when there are few, all of
/// them.
pub fn suggest(word: &str, what: &str, candidates: &[&str]) -> String {
    let mut candidates = candidates.to_vec();
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(*c));
    let guess = closest(word, candidates.iter().copied());
    let listing = match candidates.len() {
        0 => format!("there are no {what}s"),
        1..=12 => format!("the {what}s are: {}", quoted_list(&candidates)),
        n => format!("there are {n} {what}s"),
    };
    match guess {
        Some(g) => format!("did you mean `{g}`? {listing}"),
        None => listing,
    }
}

/// `` `a`, `b`, `c` ``
pub fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
