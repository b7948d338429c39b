//! Inference on the fixed effects of a fitted model: Satterthwaite's denominator degrees of
//! freedom and p-values, as lmerTest reports them, and the Student-t distribution they use.

mod distributions;
mod numderiv;
mod satterthwaite;

pub use distributions::{beta_inc, t_two_sided_p, t_upper_tail};
pub use satterthwaite::{satterthwaite, Satterthwaite, TTest};
