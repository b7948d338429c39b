//! Model formulas in R/lme4 syntax, expanded exactly as `lme4::lFormula()` would expand them.

pub(crate) mod ast;
mod deparse;
mod expand;
mod expr;
mod parse;
mod random;

use mixspec_engine::spec::ModelSpec;

use crate::error::{FormulaError, FormulaErrorKind, Problem};
use ast::{Node, NodeKind, Span};

/// Parses and expands a formula such as `TASKS ~ months * outcome + (months | patient)`.
///
/// The fixed part's terms, their order and their labels are those of R's `terms()` on lme4's
/// bar-free formula; random-effect terms are lme4's, in formula order, with `||` and `/`
/// expanded. A right-hand side that is one unparenthesized bar (`y ~ 1 | g`,
/// `y ~ x + z | g`) is, as in R, one random-effect term with everything left of the bar as
/// its effects and an intercept-only fixed part.
pub fn parse_formula(src: &str) -> Result<ModelSpec, FormulaError> {
    lower(src).map_err(|p| p.into_error(src))
}

/// A data column named in a formula: where, and whether the formula needs it to be a number
/// (the response, and anything inside a function such as `I()` or `log()`).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnUse {
    pub name: String,
    pub span: Span,
    pub numeric: bool,
}

/// Every column a formula names, in order of appearance. Only meaningful for a formula that
/// [`lower`]s without error.
pub(crate) fn column_uses(src: &str) -> Vec<ColumnUse> {
    fn walk(node: &Node, numeric: bool, out: &mut Vec<ColumnUse>) {
        match &node.kind {
            NodeKind::Name(name) => out.push(ColumnUse {
                name: name.clone(),
                span: node.span,
                numeric,
            }),
            NodeKind::Number(_) => {}
            NodeKind::Unary(_, e) | NodeKind::Paren(e) => walk(e, numeric, out),
            NodeKind::Binary(_, a, b) => {
                walk(a, numeric, out);
                walk(b, numeric, out);
            }
            // `factor()` takes text as well as numbers.
            NodeKind::Call { name, args, .. } => {
                let numeric = name != "factor";
                args.iter().for_each(|a| walk(a, numeric, out))
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(formula) = parse::parse(src) {
        if let Some(response) = &formula.response {
            walk(response, true, &mut out);
        }
        walk(&formula.rhs, false, &mut out);
    }
    out
}

/// Parses and expands a formula, reporting problems by span so that a formula embedded in a
/// larger text can be reported against it.
pub(crate) fn lower(src: &str) -> Result<ModelSpec, Problem> {
    let formula = parse::parse(src)?;
    let Some(response) = &formula.response else {
        return Err(Problem::new(
            FormulaErrorKind::MissingResponse,
            formula.tilde,
            "formula has no response",
            "expected the response before `~`",
        )
        .help("name the outcome variable on the left: `y ~ x`"));
    };
    let (response, failures) = expr::response(response)?;
    let mut bars = Vec::new();
    let fixed_rhs = match random::bare(&formula.rhs) {
        Some(bar) => {
            bars.push(bar);
            None
        }
        None => random::split(&formula.rhs, &mut bars)?,
    };
    let fixed = expand::fixed(fixed_rhs.as_ref(), &response)?;
    let mut random = Vec::new();
    for bar in &bars {
        random.extend(random::expand(bar)?);
    }
    Ok(ModelSpec {
        formula: src.trim().to_string(),
        response,
        failures,
        fixed: fixed.terms,
        random,
        offsets: fixed.offsets,
        residual: None,
    })
}
