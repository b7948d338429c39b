//! The engine's view of a model formula, after the formula language has expanded it.
//!
//! The DSL crate owns syntax (parsing, `*` `/` `^` expansion, term ordering, R-style labels);
//! the engine owns meaning (which variables are factors, how terms are coded). This module is
//! the contract between the two: everything here is already expanded and ordered as R's
//! `terms()` would order it, so the engine never re-derives formula algebra.

use crate::error::ModelError;

/// A numeric expression over data columns, as found inside `I()`, `log()` and friends.
///
/// [`Expr::Poly`] and [`Expr::Factor`] stand for a whole variable (several columns, or a
/// factor) and appear only at the top of a [`Variable`]'s expression, never inside arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A data column, by name.
    Column(String),
    /// A numeric literal.
    Number(f64),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary arithmetic operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A one-argument function.
    Call(Function, Box<Expr>),
    /// R's `poly(x, degree)`: orthogonal polynomials of degree 1 to `degree`, one column
    /// each, named `1`, `2`, … after the variable's label (`poly(Days, 2)1`).
    Poly { arg: Box<Expr>, degree: usize },
    /// R's `factor(x)`: the values as categories (numbers sorted numerically).
    Factor(Box<Expr>),
}

/// Binary arithmetic operators allowed in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// One-argument functions allowed in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Log,
    Log10,
    Log2,
    Exp,
    Sqrt,
    Abs,
    /// R's `scale()`: centred on the mean and divided by the standard deviation of the
    /// argument's non-missing values. Unlike the others it reads the whole column, so its
    /// value depends on which rows the data set holds.
    Scale,
}

/// A variable of the model: one data column, or an expression yielding one numeric column.
///
/// `label` is the name R would print for it (`months`, `I(age^2)`, `log(dose)`), which is also
/// the prefix of its coefficient names.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub label: String,
    pub expr: Expr,
}

impl Variable {
    /// A plain data column used as a variable.
    pub fn column(name: &str) -> Self {
        Self {
            label: name.to_string(),
            expr: Expr::Column(name.to_string()),
        }
    }
}

/// An interaction of variables (a main effect has one). The variables are listed in the order
/// of their first appearance in the formula, which is the order R uses for labels such as
/// `months:outcome`.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub variables: Vec<Variable>,
}

impl Term {
    /// The R term label: variable labels joined by `:`.
    pub fn label(&self) -> String {
        self.variables
            .iter()
            .map(|v| v.label.as_str())
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// The right-hand side of a formula (or of a random-effect bar) after expansion: whether it has
/// an intercept and its terms in R's order (by interaction order, then by appearance).
#[derive(Debug, Clone, PartialEq)]
pub struct TermList {
    pub intercept: bool,
    pub terms: Vec<Term>,
}

/// One random-effect term `(terms | grouping)` after `||` splitting and `/` expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomTerm {
    pub terms: TermList,
    /// Grouping variables whose interaction defines the levels (`g1:g2` has two). Always
    /// treated as factors, whatever the column type.
    pub grouping: Vec<String>,
    /// The grouping factor's name as lme4 prints it: `Subject`, `cask:batch`, and for deeper
    /// nesting `c:(b:a)`.
    pub name: String,
    /// Structure of the term's random-effect covariance matrix.
    pub covariance: CovarianceType,
}

/// Random-effect covariance structures (SPSS MIXED's COVTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CovarianceType {
    /// Any positive semi-definite matrix (lme4's only choice; SPSS UN).
    #[default]
    Unstructured,
    /// Independent effects with their own variances (SPSS VC/DIAG; lme4's `||`).
    Diagonal,
    /// Equal variances and equal covariances (SPSS CS).
    CompoundSymmetry,
}

impl CovarianceType {
    /// Parses the CLI/spec names: `un`, `diag` (or `vc`), `cs`.
    pub fn parse(text: &str) -> Option<CovarianceType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "un" | "unstructured" => Some(CovarianceType::Unstructured),
            "diag" | "vc" | "diagonal" => Some(CovarianceType::Diagonal),
            "cs" | "compound-symmetry" => Some(CovarianceType::CompoundSymmetry),
            _ => None,
        }
    }
}

impl RandomTerm {
    /// The grouping factor's name as lme4 prints it (`Subject`, `cask:batch`).
    pub fn group_name(&self) -> String {
        self.name.clone()
    }
}

/// Which residual structure, as the user names it.
#[derive(Debug, Clone, PartialEq)]
pub enum ResidualSpec {
    /// AR(1) in row order within each level of `group`.
    Ar1 { group: String },
    /// Continuous-time AR(1): correlation φ^|Δt| in `time` within `group`.
    Car1 { time: String, group: String },
    /// Compound symmetry (exchangeable) within `group`.
    CompoundSymmetry { group: String },
    /// A separate residual variance for each level of `factor` (ratios to the first level).
    VarIdent { factor: String },
}

impl ResidualSpec {
    /// Parses the CLI form: `ar1(g)`, `car1(time | g)`, `cs(g)`, `varident(f)`.
    pub fn parse(text: &str) -> Result<ResidualSpec, ModelError> {
        let bad = || ModelError::BadResidualSpec {
            text: text.to_string(),
        };
        let t = text.trim();
        let open = t.find('(').ok_or_else(bad)?;
        let inner = t.strip_suffix(')').ok_or_else(bad)?[open + 1..].trim();
        let name = |s: &str| {
            let s = s.trim();
            (!s.is_empty() && !s.contains(char::is_whitespace))
                .then(|| s.to_string())
                .ok_or_else(bad)
        };
        match t[..open].trim().to_ascii_lowercase().as_str() {
            "ar1" => Ok(ResidualSpec::Ar1 {
                group: name(inner)?,
            }),
            "cs" => Ok(ResidualSpec::CompoundSymmetry {
                group: name(inner)?,
            }),
            "varident" => Ok(ResidualSpec::VarIdent {
                factor: name(inner)?,
            }),
            "car1" => {
                let (time, group) = inner.split_once('|').ok_or_else(bad)?;
                Ok(ResidualSpec::Car1 {
                    time: name(time)?,
                    group: name(group)?,
                })
            }
            _ => Err(bad()),
        }
    }

    /// The columns the structure reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            ResidualSpec::Ar1 { group } | ResidualSpec::CompoundSymmetry { group } => vec![group],
            ResidualSpec::Car1 { time, group } => vec![time, group],
            ResidualSpec::VarIdent { factor } => vec![factor],
        }
    }

    /// Short description for reports (`AR(1) within Mare`).
    pub fn describe(&self) -> String {
        match self {
            ResidualSpec::Ar1 { group } => format!("AR(1) within {group}"),
            ResidualSpec::Car1 { time, group } => {
                format!("continuous AR(1) in {time} within {group}")
            }
            ResidualSpec::CompoundSymmetry { group } => format!("compound symmetry within {group}"),
            ResidualSpec::VarIdent { factor } => format!("variance by {factor}"),
        }
    }
}

/// A whole model formula, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The formula as written, for reports.
    pub formula: String,
    pub response: Variable,
    /// The second column of a `cbind(successes, failures)` response (binomial models only);
    /// `response` is then the first.
    pub failures: Option<Variable>,
    pub fixed: TermList,
    /// Random-effect terms in formula order; the engine reorders them as lme4 does.
    pub random: Vec<RandomTerm>,
    /// `offset(expr)` terms: added to the linear predictor with coefficient one.
    pub offsets: Vec<Expr>,
    /// Residual correlation or variance structure; `None` for independent residuals.
    pub residual: Option<ResidualSpec>,
}

impl ModelSpec {
    /// Every data column the model reads, in first-use order without repeats; rows missing
    /// any of them are dropped.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |name: &str| {
            if !out.iter().any(|c| c == name) {
                out.push(name.to_string());
            }
        };
        let visit_expr = |e: &Expr, push: &mut dyn FnMut(&str)| e.visit_columns(push);
        visit_expr(&self.response.expr, &mut push);
        if let Some(f) = &self.failures {
            visit_expr(&f.expr, &mut push);
        }
        let term_lists = std::iter::once(&self.fixed).chain(self.random.iter().map(|r| &r.terms));
        for tl in term_lists {
            for t in &tl.terms {
                for v in &t.variables {
                    visit_expr(&v.expr, &mut push);
                }
            }
        }
        for r in &self.random {
            for g in &r.grouping {
                push(g);
            }
        }
        for o in &self.offsets {
            visit_expr(o, &mut push);
        }
        for c in self.residual.iter().flat_map(ResidualSpec::columns) {
            push(c);
        }
        out
    }
}

impl Expr {
    /// Calls `f` with every column name the expression reads.
    pub fn visit_columns(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Expr::Column(c) => f(c),
            Expr::Number(_) => {}
            Expr::Neg(e) | Expr::Call(_, e) | Expr::Factor(e) => e.visit_columns(f),
            Expr::Poly { arg, .. } => arg.visit_columns(f),
            Expr::Binary(_, a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
        }
    }

    /// Whether the expression is exactly one data column (so it keeps the column's type,
    /// factor or numeric); anything else is numeric.
    pub fn as_column(&self) -> Option<&str> {
        match self {
            Expr::Column(c) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_residual_forms() {
        let parse = |s| ResidualSpec::parse(s).unwrap();
        assert_eq!(
            parse("ar1(Mare)"),
            ResidualSpec::Ar1 {
                group: "Mare".into()
            }
        );
        assert_eq!(
            parse("car1(age | Subject)"),
            ResidualSpec::Car1 {
                time: "age".into(),
                group: "Subject".into()
            }
        );
        assert_eq!(
            parse(" cs(g) "),
            ResidualSpec::CompoundSymmetry { group: "g".into() }
        );
        assert_eq!(
            parse("varident(f)"),
            ResidualSpec::VarIdent { factor: "f".into() }
        );
        assert!(ResidualSpec::parse("ar2(g)").is_err());
        assert!(ResidualSpec::parse("car1(g)").is_err());
    }
}
