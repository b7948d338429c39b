//! A `.spec` file as written: every statement and expression with the byte span of its text,
//! so that every later check, including those that need the data, can point at the words
//! responsible.

pub use crate::formula::ast::Span;

/// A word or quoted text of the file with where it stands (a name, a path, a level).
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    Data(Data),
    /// Statements that change the data set, run in file order.
    Prepare(Prepare),
    Model(Model),
    Compare(Compare),
    Explained(Explained),
    Report(Report),
    Plot(Plot),
    Table(Table),
    Describe(Describe),
    Power(Power),
    Label(Label),
}

/// `data "file.csv" { subject patient; time months }`
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// As written: relative paths are relative to the spec file.
    pub path: Name,
    pub settings: Vec<Setting>,
}

/// `key value` inside a block, e.g. `subject patient`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: Name,
    pub value: Name,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prepare {
    /// `instrument "wai-s" when version == "S"`: score item columns into scale columns.
    Instrument { id: Name, when: Option<Expr> },
    /// `derive name = expression`
    Derive { name: Name, expr: Expr },
    /// `derive name = predictor "id or path"(column, …)`: a predictor plugin's variable,
    /// from data columns bound in order to its inputs.
    Predictor {
        name: Name,
        id: Name,
        columns: Vec<Name>,
        /// From `predictor` to the closing parenthesis: where plugin errors point.
        span: Span,
    },
    /// `factor a, b levels "x", "y" reference "y"`
    Factor {
        names: Vec<Name>,
        levels: Option<Vec<Name>>,
        reference: Option<Name>,
    },
    /// `numeric a, b`
    Numeric { names: Vec<Name> },
}

/// `model name: formula [options] where filter`
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: Name,
    /// The formula's text (trimmed) and span in the file.
    pub formula: Name,
    pub options: Vec<Setting>,
    pub filter: Option<Expr>,
}

/// `compare a, b, c`
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    pub models: Vec<Name>,
    /// `[boundary]`: each model adds one random effect to the one before, whose variance
    /// is zero under the null (on the boundary), so the p-values are Stram & Lee's mixture.
    pub boundary: Option<Span>,
}

/// `explained a, b vs reference`
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub models: Vec<Name>,
    pub reference: Name,
}

/// `report "name" { a, b }`
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: Name,
    pub models: Vec<Name>,
}

/// `plot trajectories model, model by variable, variable as "name"`
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub kind: Name,
    /// One panel per model, side by side on a shared scale.
    pub models: Vec<Name>,
    /// The groups are the combinations of these variables' values.
    pub by: Vec<Name>,
    /// The file's name (without `.svg`), when not derived from the models and variables.
    pub name: Option<Name>,
    /// `[width 900, height 480, font "Times New Roman", font_size 12, palette grey, …]`:
    /// how the figure is drawn (checked by `mixspec_dsl::spec::figure_options`).
    pub options: Vec<Setting>,
}

impl Plot {
    /// The name of the plot's file without `.svg`: its `as` name, or the kind, the models and
    /// the `by` variables joined by `-`, as `trajectories-model-by-group`.
    pub fn file_stem(&self) -> String {
        if let Some(name) = &self.name {
            return name.text.clone();
        }
        let mut parts: Vec<&str> = vec![&self.kind.text];
        parts.extend(self.models.iter().map(|m| m.text.as_str()));
        if !self.by.is_empty() {
            parts.push("by");
            parts.extend(self.by.iter().map(|b| b.text.as_str()));
        }
        parts.join("-")
    }
}

/// `label NAME "TEXT" [unit "UNIT"] [levels "LEVEL" = "TEXT", …]`: what readers see in
/// tables and figures instead of a variable's or a model's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub name: Name,
    pub text: Name,
    /// The unit of a time variable, singular: the tables' "Slope per month".
    pub unit: Option<Name>,
    /// A factor's levels as readers see them (`"good" = "Good outcome"`).
    pub levels: Vec<(Name, Name)>,
}

/// `table "name" { "label": model ref; "label": model }`: one row per model in the layout of
/// the seed study's Tables III and IV.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: Name,
    /// `[ns show]`: estimates with p ≥ .05 printed rather than `ns`.
    pub options: Vec<Setting>,
    pub rows: Vec<TableRow>,
}

impl Table {
    /// Whether estimates with p ≥ .05 are printed (`[ns show]`) rather than as `ns`.
    pub fn show_ns(&self) -> bool {
        self.options
            .iter()
            .any(|o| o.key.text == "ns" && o.value.text == "show")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The row's text; the model's name when not given.
    pub label: Option<Name>,
    pub model: Name,
    /// `ref`: the reference of the rows below it, until the next `ref`.
    pub reference: bool,
}

/// `describe "name" by group { variable "label"; … }`: per-subject descriptives of two
/// groups with tests of their difference (the seed study's Table II).
#[derive(Debug, Clone, PartialEq)]
pub struct Describe {
    pub name: Name,
    pub by: Name,
    pub items: Vec<DescribeItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeItem {
    pub variable: Name,
    pub label: Option<Name>,
}

/// `power NAME: FORMULA [OPTIONS] { DESIGN }` or `power NAME from MODEL [OPTIONS]`: power by
/// simulation, of a design written in the block or of a model fitted in the same spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Power {
    pub name: Name,
    pub source: PowerSource,
    pub options: Vec<PowerOption>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PowerSource {
    /// A priori: the model's formula and the design of the cohorts to simulate.
    Design {
        formula: Name,
        items: Vec<PowerItem>,
        /// The block, from `{` to `}`.
        span: Span,
    },
    /// A model of the spec: its estimates, its subjects and their visits.
    Model(Name),
}

/// `key value`, `key "text" = value` or `key n, n, n` in a power statement's brackets.
/// Numbers are kept as written, with their spans, for the checks to read.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerOption {
    pub key: Name,
    /// The first value (a text, a number or a word), then any numbers after commas.
    pub values: Vec<Name>,
    /// `= value`: the value the tested coefficient is set to.
    pub assigned: Option<Name>,
}

/// A line of a power block, numbers as written.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerItem {
    pub kind: PowerItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PowerItemKind {
    /// `subjects 40, 80, 120`
    Subjects(Vec<Name>),
    /// `times [variable] ["level"] 0, 1, 2`
    Times {
        variable: Option<Name>,
        level: Option<Name>,
        values: Vec<Name>,
    },
    /// `groups variable "a" 0.5, "b" 0.5`: (level, share) pairs.
    Groups {
        variable: Name,
        shares: Vec<(Name, Name)>,
    },
    /// `covariate age normal 40 10` or `covariate smoker binary 0.3`: a per-subject
    /// covariate, its distribution and its parameters.
    Covariate {
        name: Name,
        distribution: Name,
        values: Vec<Name>,
    },
    /// `fixed "(Intercept)" 0, "time" 0.5`
    Fixed(Vec<(Name, Name)>),
    /// `random id sd "(Intercept)" 1, "time" 0.3 cor 0`
    Random {
        group: Name,
        sds: Vec<(Name, Name)>,
        cors: Vec<Name>,
    },
    /// `residual sd 1 [ar1 0.5 | varident "b" 1.5, …]`: the SD, then the structure's name
    /// and its parameters (one number, or level–ratio pairs).
    Residual {
        sd: Name,
        structure: Option<ResidualStructureItem>,
    },
    /// `family negative-binomial theta 2 [link log]`: the family, then `key value` pairs.
    Family {
        family: Name,
        settings: Vec<(Name, Name)>,
    },
    /// `dropout ["level"] 0.1 per visit` or `dropout ["level"] 0.3 by end`.
    Dropout {
        level: Option<Name>,
        value: Name,
        by_end: bool,
    },
    /// `missed ["level"] 0.1`
    Missed { level: Option<Name>, value: Name },
}

impl PowerItemKind {
    /// The keyword the line starts with.
    pub fn keyword(&self) -> &'static str {
        match self {
            PowerItemKind::Subjects(_) => "subjects",
            PowerItemKind::Times { .. } => "times",
            PowerItemKind::Groups { .. } => "groups",
            PowerItemKind::Fixed(_) => "fixed",
            PowerItemKind::Random { .. } => "random",
            PowerItemKind::Residual { .. } => "residual",
            PowerItemKind::Family { .. } => "family",
            PowerItemKind::Covariate { .. } => "covariate",
            PowerItemKind::Dropout { .. } => "dropout",
            PowerItemKind::Missed { .. } => "missed",
        }
    }
}

/// A design's residual structure as written: `ar1 0.5`, `varident "b" 1.5, "c" 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualStructureItem {
    pub kind: Name,
    pub value: Option<Name>,
    pub ratios: Vec<(Name, Name)>,
    pub span: Span,
}

/// An expression of derive, `when` and `where`, evaluated per row of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Text(String),
    Variable(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Call {
        function: Function,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
        }
    }
}

/// The functions an expression may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// One value per subject (the `subject` of the data statement), repeated on each of its
    /// rows.
    Aggregate(Aggregate),
    Log,
    Exp,
    Sqrt,
    Abs,
    /// `missing(x)`: whether the value is missing.
    Missing,
    /// A summary over every row of the data rather than per subject.
    Whole(Whole),
}

/// Functions of a whole column, over the rows where the argument is not missing (every row
/// of the data, whatever the subject): grand-mean centring and standardising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    /// `grand_mean(x)`: the mean over all rows, on every row.
    GrandMean,
    /// `center(x)`: `x − grand_mean(x)`.
    Center,
    /// `scale(x)`: `center(x)` divided by the standard deviation over all rows (n − 1), as
    /// R's `scale()`.
    Scale,
}

/// Per-subject summaries over the rows where the argument is not missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The value at the earliest time (the `time` of the data statement).
    First,
    /// The value at the latest time.
    Last,
    Count,
    Mean,
    Min,
    Max,
    Sum,
}

impl Function {
    /// Every function by the name it is called with.
    pub const ALL: [(&'static str, Function); 15] = [
        ("first", Function::Aggregate(Aggregate::First)),
        ("last", Function::Aggregate(Aggregate::Last)),
        ("count", Function::Aggregate(Aggregate::Count)),
        ("mean", Function::Aggregate(Aggregate::Mean)),
        ("min", Function::Aggregate(Aggregate::Min)),
        ("max", Function::Aggregate(Aggregate::Max)),
        ("sum", Function::Aggregate(Aggregate::Sum)),
        ("log", Function::Log),
        ("exp", Function::Exp),
        ("sqrt", Function::Sqrt),
        ("abs", Function::Abs),
        ("missing", Function::Missing),
        ("grand_mean", Function::Whole(Whole::GrandMean)),
        ("center", Function::Whole(Whole::Center)),
        ("scale", Function::Whole(Whole::Scale)),
    ];

    pub fn name(self) -> &'static str {
        Function::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(n, _)| *n)
            .expect("every function is listed")
    }
}

impl Expr {
    /// Calls `f` with this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Number(_) | ExprKind::Text(_) | ExprKind::Variable(_) => {}
            ExprKind::Unary(_, e) => e.walk(f),
            ExprKind::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => {
                condition.walk(f);
                then.walk(f);
                otherwise.walk(f);
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
        }
    }
}
