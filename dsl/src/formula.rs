//! Model formulas in R/lme4 syntax, expanded exactly as `lme4::lFormula()` would expand them.

pub(crate) mod ast;
mod deparse;
mod expand;
mod expr;
mod parse;
mod random;

use mixspec_engine::spec::ModelSpec;

use crate::error::{FormulaError, FormulaErrorKind, Problem};

/// Parses and expands a formula such as `TASKS ~ months * outcome + (months | patient)`.
///
/// The fixed part's terms, their order and their labels are those of R's `terms()` on lme4's
/// bar-free formula; random-effect terms are lme4's, in formula order, with `||` and `/`
/// expanded.
pub fn parse_formula(src: &str) -> Result<ModelSpec, FormulaError> {
    lower(src).map_err(|p| p.into_error(src))
}

fn lower(src: &str) -> Result<ModelSpec, Problem> {
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
    let response = expr::response(response)?;
    let mut bars = Vec::new();
    let fixed_rhs = random::split(&formula.rhs, &mut bars)?;
    let fixed = expand::fixed(fixed_rhs.as_ref(), &response)?;
    let mut random = Vec::new();
    for bar in &bars {
        random.extend(random::expand(bar)?);
    }
    Ok(ModelSpec {
        formula: src.trim().to_string(),
        response,
        fixed: fixed.terms,
        random,
        offsets: fixed.offsets,
        residual: None,
    })
}
