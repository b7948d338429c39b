//! The `.spec` language: a whole analysis in one file. Parsing and the checks that need no
//! data happen here; the checks that need the data, and running the analysis, belong to the
//! caller, which reports its findings against the same file through [`Diagnostics`].

pub mod ast;
mod check;
mod diagnostic;
mod expr;
mod figure;
mod parse;
mod power;

use mixspec_engine::family::{Family, Link};
use mixspec_engine::spec::ModelSpec;

pub use crate::formula::ColumnUse;
pub use ast::{
    Compare, Describe, DescribeItem, Explained, Expr, Label, Name, Plot, Prepare, Report, Setting,
    Span, Table, TableRow,
};
pub use diagnostic::{
    closest, quoted_list, suggest, Diagnostics, SpecDiagnostic, SpecError, SpecErrorKind,
};
pub use figure::{
    figure_options, FigureOptions, Palette, FIGURE_OPTIONS, MAX_PNG_PIXELS, PALETTES,
};
pub use power::{
    cholesky, Arm, Covariate, CovariateDistribution, PowerDef, PowerDesign, PowerSourceDef,
    PowerStatistic,
};

/// A spec file after parsing and the checks that need no data. Statements with problems are
/// left out; their problems are in the [`Diagnostics`] returned beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub data: Option<DataSource>,
    /// Statements that change the data set, in file order.
    pub steps: Vec<Prepare>,
    pub models: Vec<ModelDef>,
    pub comparisons: Vec<Compare>,
    pub explained: Vec<Explained>,
    pub reports: Vec<Report>,
    pub plots: Vec<Plot>,
    /// Tables of models in the layout of the seed study's Tables III and IV.
    pub tables: Vec<Table>,
    /// Descriptives of two groups with tests (the seed study's Table II).
    pub describes: Vec<Describe>,
    /// Power by simulation, a priori or from a model.
    pub powers: Vec<PowerDef>,
    /// What readers see instead of names: `label NAME "TEXT" [unit …] [levels …]`.
    pub labels: Vec<Label>,
    /// Variables defined by statements that could not be read: checks that need the data
    /// skip uses of these instead of reporting them unknown.
    pub unchecked: Vec<String>,
}

impl Spec {
    /// The label statement of a variable or a model.
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name.text == name)
    }

    /// A variable or a model as readers see it: its label, else its name.
    pub fn text<'a>(&'a self, name: &'a str) -> &'a str {
        self.label(name).map_or(name, |l| l.text.text.as_str())
    }

    /// A level of a factor as readers see it: its label, else the level.
    pub fn level_text<'a>(&'a self, variable: &str, level: &'a str) -> &'a str {
        self.label(variable)
            .and_then(|l| l.levels.iter().find(|(v, _)| v.text == level))
            .map_or(level, |(_, t)| t.text.as_str())
    }

    /// The unit of a time variable (`unit "month"`), for "per month".
    pub fn unit(&self, name: &str) -> Option<&str> {
        self.label(name)?.unit.as_ref().map(|u| u.text.as_str())
    }
}

/// Where the data comes from and what its rows are.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// As written: a relative path is relative to the spec file.
    pub path: Name,
    /// The column identifying subjects: the groups of per-subject aggregates.
    pub subject: Option<Name>,
    /// The time column: the order of first() and last(), the x axis of trajectory plots.
    pub time: Option<Name>,
}

/// A model statement, with its formula expanded and its options applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDef {
    pub name: Name,
    /// The whole statement.
    pub span: Span,
    pub formula: Name,
    pub spec: ModelSpec,
    /// REML; always `false` for a generalized model (fitted by maximum likelihood).
    pub reml: bool,
    /// `[family …, link …, nagq …]`: a generalized linear mixed model; `None` for a linear
    /// one.
    pub family: Option<Generalized>,
    /// What the model's results include beyond Satterthwaite's tests.
    pub inference: Inference,
    /// `where`: the rows this model is fitted to.
    pub filter: Option<Expr>,
    /// Every data column the model reads (formula and residual structure), with where it is
    /// named.
    pub columns: Vec<ColumnUse>,
}

/// The inference a model's options ask for (`[df kenward-roger, intervals profile,
/// bootstrap 1000, seed 1]`). Satterthwaite's tests, the Type III table and R² come with
/// every model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inference {
    /// Kenward–Roger's t-tests and Type III table besides Satterthwaite's.
    pub kenward_roger: bool,
    /// 95% profile-likelihood intervals.
    pub profile: bool,
    /// 95% parametric-bootstrap percentile intervals.
    pub bootstrap: Option<BootstrapOptions>,
}

/// A generalized model's options, as `mixspec fit --family --link --nagq` takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generalized {
    /// A negative binomial's θ here is only where its estimation starts.
    pub family: Family,
    pub link: Link,
    /// 1: Laplace; more: adaptive Gauss–Hermite quadrature with that many nodes.
    pub nagq: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapOptions {
    pub replicates: usize,
    pub seed: u64,
}

/// Parses a condition written outside a spec file (`mixspec score --when`), as a `when`
/// condition is read; the problems are against `src`.
pub fn parse_condition(src: &str) -> (Option<Expr>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let condition = parse::condition(src, &mut diagnostics);
    (condition, diagnostics)
}

/// Parses a spec file and runs the checks that need no data.
///
/// Never fails: whatever could be read is returned, with every problem found.
pub fn parse_spec(src: &str) -> (Spec, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let parsed = parse::parse(src, &mut diagnostics);
    let spec = check::check(src, parsed, &mut diagnostics);
    (spec, diagnostics)
}
