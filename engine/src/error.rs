//! Typed errors of the engine. Each names what was wrong and where, and says what was
//! expected; the CLI renders them with miette.

use miette::Diagnostic;
use thiserror::Error;

/// Problems reading a data set.
#[derive(Debug, Error, Diagnostic)]
pub enum DataError {
    #[error("{source_name}: the file is empty or has no header row")]
    #[diagnostic(
        code(mixspec::data::empty),
        help("the first line must name the columns")
    )]
    Empty { source_name: String },

    #[error("{source_name}: column `{name}` appears twice in the header")]
    #[diagnostic(code(mixspec::data::duplicate_column))]
    DuplicateColumn { source_name: String, name: String },

    #[error("{source_name}: line {line} has {found} fields but the header has {expected}")]
    #[diagnostic(
        code(mixspec::data::ragged),
        help("every row needs one value per column; leave a cell empty or write NA when missing")
    )]
    RaggedRow {
        source_name: String,
        line: u64,
        expected: usize,
        found: usize,
    },

    #[error("{source_name}: line {line} opens a quoted field that is never closed")]
    #[diagnostic(
        code(mixspec::data::unterminated_quote),
        help(
            "a field that starts with `\"` runs to the next lone `\"`; close the quote, or \
             double a quote meant as text (`\"\"`)"
        )
    )]
    UnterminatedQuote { source_name: String, line: u64 },

    #[error("{source_name}: line {line}: {message}")]
    #[diagnostic(code(mixspec::data::malformed))]
    Malformed {
        source_name: String,
        line: u64,
        message: String,
    },
}

/// Problems turning a formula and a data set into a model, or fitting it.
#[derive(Debug, Error, Diagnostic)]
pub enum ModelError {
    #[error("unknown column `{name}` in {source_name}")]
    #[diagnostic(code(mixspec::model::unknown_column), help("{help}"))]
    UnknownColumn {
        name: String,
        source_name: String,
        help: String,
    },

    #[error("the response `{name}` must be numeric, but {source_name} line {line} has `{value}`")]
    #[diagnostic(
        code(mixspec::model::non_numeric_response),
        help("a linear mixed model needs a numeric outcome; check the column or fix that cell")
    )]
    NonNumericResponse {
        name: String,
        source_name: String,
        line: u64,
        value: String,
    },

    #[error("`{variable}` is {value} in {source_name} line {line}")]
    #[diagnostic(
        code(mixspec::model::non_finite),
        help(
            "a model needs finite numbers (lme4 refuses Inf too); fix the cell, or change the \
             expression (e.g. log(0) and 1/0 are infinite)"
        )
    )]
    NonFinite {
        variable: String,
        source_name: String,
        line: u64,
        value: f64,
    },

    #[error(
        "`{variable}` holds numbers in {source_name}, but line {line} has `{value}`: read as \
         text, it would make `{variable}` a factor of {levels} levels"
    )]
    #[diagnostic(
        code(mixspec::model::numbers_with_text),
        help(
            "if `{value}` marks a missing value, write NA or leave the cell empty; if it is a \
             typo (a decimal comma?), fix the cell; if `{variable}` is meant as a factor, \
             write factor({variable}) in the formula"
        )
    )]
    NumbersWithText {
        variable: String,
        source_name: String,
        line: u64,
        value: String,
        levels: usize,
    },

    #[error("{what} would need {needed} of memory, more than the {limit} mixspec allows")]
    #[diagnostic(code(mixspec::model::too_large), help("{help}"))]
    TooLarge {
        what: String,
        needed: String,
        limit: String,
        help: String,
    },

    #[error(
        "varident(`{factor}`) would estimate {parameters} variance ratios (one per level after \
         the first), more than the {max} mixspec allows"
    )]
    #[diagnostic(
        code(mixspec::model::too_many_variance_levels),
        help(
            "varident needs a factor with few levels, each observed several times; a variable \
             with many distinct values is probably continuous"
        )
    )]
    TooManyVarianceLevels {
        factor: String,
        parameters: usize,
        max: usize,
    },

    #[error("`{variable}` is categorical and cannot be used in the expression `{label}`")]
    #[diagnostic(
        code(mixspec::model::factor_in_expression),
        help("arithmetic needs numbers; use the factor on its own as a term")
    )]
    FactorInExpression { variable: String, label: String },

    #[error("`{label}` needs fewer degrees than the {unique} distinct values of its argument")]
    #[diagnostic(
        code(mixspec::model::poly_degree),
        help("R's poly() requires degree < number of unique points; lower the degree")
    )]
    PolyDegree { label: String, unique: usize },

    #[error("`{function}()` inside the expression `{label}`")]
    #[diagnostic(
        code(mixspec::model::whole_variable_in_expression),
        help("poly() and factor() make variables of their own; use them as terms, e.g. `y ~ poly(x, 2)`")
    )]
    WholeVariableInExpression { function: String, label: String },

    #[error(
        "`{variable}` has only one level ({level}) among the rows used, so it has no contrasts"
    )]
    #[diagnostic(
        code(mixspec::model::single_level_factor),
        help("a factor needs at least two levels in the data the model uses")
    )]
    SingleLevelFactor { variable: String, level: String },

    #[error("no random-effects terms in the formula")]
    #[diagnostic(
        code(mixspec::model::no_random_effects),
        help("add a term such as `(1 | subject)`; a mixed model needs at least one")
    )]
    NoRandomEffects,

    #[error("no observations left: all {n_rows} rows miss a value of a model variable")]
    #[diagnostic(code(mixspec::model::no_observations))]
    NoObservations { n_rows: usize },

    #[error("grouping factor `{group}` has only one level ({level}) in the rows used")]
    #[diagnostic(
        code(mixspec::model::one_level_group),
        help("a random effect needs a grouping factor with at least two sampled levels")
    )]
    OneLevelGroup { group: String, level: String },

    #[error(
        "grouping factor `{group}` has {levels} levels for {n_obs} observations: \
         each level needs more than one observation on average"
    )]
    #[diagnostic(
        code(mixspec::model::too_many_levels),
        help("the number of levels of each grouping factor must be less than the number of observations")
    )]
    TooManyLevels {
        group: String,
        levels: usize,
        n_obs: usize,
    },

    #[error(
        "number of observations ({n_obs}) <= number of random effects ({n_random}) for term \
         ({term}); the random-effects parameters and the residual variance are probably \
         unidentifiable"
    )]
    #[diagnostic(
        code(mixspec::model::too_many_random_effects),
        help("simplify the random-effects term, or use more data")
    )]
    TooManyRandomEffects {
        n_obs: usize,
        n_random: usize,
        term: String,
    },

    #[error("cannot read the residual structure `{text}`")]
    #[diagnostic(
        code(mixspec::model::residual_spec),
        help("write ar1(group), car1(time | group), cs(group) or varident(factor)")
    )]
    BadResidualSpec { text: String },

    #[error("residual structure: {reason}")]
    #[diagnostic(code(mixspec::model::residual_data))]
    BadResidualData { reason: String },

    #[error("the model cannot be fitted: {reason}")]
    #[diagnostic(code(mixspec::model::numerical))]
    Numerical { reason: String },

    #[error("{replicates} bootstrap refits: the number must be from {min} to {max}")]
    #[diagnostic(code(mixspec::model::replicates))]
    Replicates {
        replicates: usize,
        min: usize,
        max: usize,
    },

    #[error("the response `cbind({response}, {failures})` needs a binomial family")]
    #[diagnostic(
        code(mixspec::model::cbind_without_binomial),
        help("cbind(successes, failures) is a binomial response: add --family binomial")
    )]
    CbindWithoutBinomial { response: String, failures: String },

    #[error(
        "the binomial response `{name}` is a factor with {} levels ({}); it needs exactly two",
        levels.len(), levels.join(", ")
    )]
    #[diagnostic(
        code(mixspec::model::factor_response_levels),
        help("a factor response is binomial with its first level as failure; recode it to two levels or 0/1")
    )]
    FactorResponseLevels { name: String, levels: Vec<String> },

    #[error("{source_name} line {line}: the {family} response `{name}` is {value}: {reason}")]
    #[diagnostic(code(mixspec::model::bad_glm_response))]
    BadGlmResponse {
        family: String,
        name: String,
        source_name: String,
        line: u64,
        value: String,
        reason: String,
    },

    #[error("{what}")]
    #[diagnostic(code(mixspec::model::glmm_unsupported), help("{help}"))]
    GlmmUnsupported { what: String, help: String },

    #[error("{what}: not available for {model}")]
    #[diagnostic(
        code(mixspec::model::unsupported),
        help(
            "fit the model without it to get these; its standard errors and tests do not need them"
        )
    )]
    Unsupported { what: String, model: String },
}

/// Problems with per-subject statistics handed to [`crate::statistics::fit_from_statistics`],
/// or with a model they cannot describe.
#[derive(Debug, Error, Diagnostic)]
pub enum StatisticsError {
    #[error("this model cannot be fitted from per-subject statistics: the rule is {rule}")]
    #[diagnostic(
        code(mixspec::statistics::out_of_scope),
        help("fit it with the in-memory engine (--engine memory)")
    )]
    OutOfScope { rule: String },

    #[error("per-subject statistics: {what} has {found} values, expected {expected}")]
    #[diagnostic(code(mixspec::statistics::shape))]
    Shape {
        what: String,
        expected: usize,
        found: usize,
    },

    #[error("per-subject statistics: the model has no random effects")]
    #[diagnostic(code(mixspec::statistics::no_random_effects))]
    NoRandomEffects,

    #[error(
        "per-subject statistics: {what}[{index}]{} is {value}",
        subject.as_ref().map(|s| format!(" (subject `{s}`)")).unwrap_or_default()
    )]
    #[diagnostic(
        code(mixspec::statistics::non_finite),
        help("every sum must be a finite number; check the data for infinite values")
    )]
    NonFinite {
        what: String,
        subject: Option<String>,
        index: usize,
        value: f64,
    },

    #[error(
        "per-subject statistics: {what}{} is not symmetric at row {row}, column {column}",
        subject.as_ref().map(|s| format!(" of subject `{s}`")).unwrap_or_default()
    )]
    #[diagnostic(code(mixspec::statistics::not_symmetric))]
    NotSymmetric {
        what: String,
        subject: Option<String>,
        row: usize,
        column: usize,
    },

    #[error("per-subject statistics: subject `{subject}` has no observations")]
    #[diagnostic(code(mixspec::statistics::empty_subject))]
    EmptySubject { subject: String },

    #[error("per-subject statistics: n is {n} but the subjects' counts add up to {total}")]
    #[diagnostic(code(mixspec::statistics::count))]
    Count { n: u64, total: u64 },

    #[error("per-subject statistics: {reason}")]
    #[diagnostic(code(mixspec::statistics::identifiability))]
    Identifiability { reason: String },

    #[error("per-subject statistics: the fixed-effect column `{column}` is aliased with the columns before it")]
    #[diagnostic(
        code(mixspec::statistics::aliased),
        help("R's qr() would drop it (tolerance 1e-7); leave the column out of the statistics")
    )]
    Aliased { column: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(ModelError),
}
