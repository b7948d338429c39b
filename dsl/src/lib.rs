//! The mixspec languages: R/lme4 model formulas, parsed with spans for diagnostics and lowered
//! to the engine's [`ModelSpec`](mixspec_engine::spec::ModelSpec).

mod error;
mod formula;

pub use error::{FormulaError, FormulaErrorKind};
pub use formula::parse_formula;
