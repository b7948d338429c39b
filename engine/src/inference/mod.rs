//! Inference on the fixed effects of a fitted model: Satterthwaite's denominator degrees of
//! freedom and p-values, as lmerTest reports them, and the Student-t distribution they use;
//! the chi-square distribution of likelihood-ratio tests between models.

mod anova;
mod bootstrap;
mod chi_square;
mod distributions;
mod interval;
mod kenward_roger;
pub(crate) mod numderiv;
mod profile;
mod r_squared;
mod satterthwaite;
pub(crate) mod sdcor;

pub use anova::{anova, anova_kenward_roger, FTest};
pub use bootstrap::{
    add_random_draws, add_random_effects, bootstrap_intervals, Bootstrap, REPLICATES,
};
pub(crate) use bootstrap::{check_replicates, draw_factors, linear_predictor};
pub use chi_square::chi_square_upper_tail;
pub use distributions::{beta_inc, f_upper_tail, t_two_sided_p, t_upper_tail};
pub(crate) use interval::{random_parameters, random_values};
pub use interval::{Interval, Parameter};
pub use kenward_roger::KenwardRoger;
pub use profile::profile_intervals;
pub(crate) use profile::{chol_theta, end as profile_end, profile_terms, signed_root, Z};
pub(crate) use r_squared::{fixed_variance, r_squared_from_sums, random_variance};
pub use r_squared::{r_squared, RSquared};
pub use satterthwaite::{satterthwaite, DfRule, Satterthwaite, TTest};
