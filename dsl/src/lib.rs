//! The mixspec languages: R/lme4 model formulas, parsed with spans for diagnostics and lowered
//! to the engine's [`ModelSpec`](mixspec_engine::spec::ModelSpec), and `.spec` files, which
//! describe a whole analysis around such formulas.

mod error;
mod formula;
mod limits;
pub mod spec;
mod tokens;

pub use error::{FormulaError, FormulaErrorKind};
pub use formula::parse_formula;
