//! Fitting a linear mixed model by minimising the profiled deviance (ML) or REML criterion
//! over the relative covariance parameters θ, as in Bates et al. (2015), with a blocked
//! Cholesky factorisation as in MixedModels.jl.

mod blocks;
mod factor;
mod optimize;
mod result;

pub use optimize::BOUNDARY_TOLERANCE;
pub use result::{Convergence, LmmFit, RandomEffects, VarCorrRow};

use crate::design::Design;
use crate::error::ModelError;
use blocks::Blocks;
use factor::Factor;

/// How to fit.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// REML (the default, as lme4) or maximum likelihood.
    pub reml: bool,
    /// Budget of objective evaluations for the optimizer.
    pub max_evaluations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            reml: true,
            max_evaluations: 100_000,
        }
    }
}

/// The profiled objective of one model as a function of θ: the problem the optimizer
/// solves, kept apart from the optimizer itself.
pub struct Problem {
    pub design: Design,
    blocks: Blocks,
    factor: Factor,
    pub reml: bool,
}

impl Problem {
    pub fn new(design: Design, reml: bool) -> Problem {
        let blocks = Blocks::new(&design);
        let q = design.random.iter().map(|b| b.q()).collect();
        let factor = Factor::new(&blocks, q);
        Problem {
            design,
            blocks,
            factor,
            reml,
        }
    }

    /// Number of covariance parameters θ.
    pub fn n_theta(&self) -> usize {
        self.factor.lambda.n_theta()
    }

    /// lme4's start: identity relative covariance factors.
    pub fn start(&self) -> Vec<f64> {
        self.factor
            .lambda
            .diagonal_mask()
            .iter()
            .map(|&d| if d { 1.0 } else { 0.0 })
            .collect()
    }

    /// Lower bounds: zero for diagonal elements of each factor, none for the others.
    pub fn lower(&self) -> Vec<f64> {
        let mask = self.factor.lambda.diagonal_mask();
        mask.iter()
            .map(|&d| if d { 0.0 } else { f64::NEG_INFINITY })
            .collect()
    }

    /// The objective (−2 log-likelihood, or the REML criterion) at θ; +∞ where the
    /// factorisation fails.
    pub fn objective(&mut self, theta: &[f64]) -> f64 {
        if !self.factor.update(&self.blocks, theta) {
            return f64::INFINITY;
        }
        self.factor
            .objective(self.reml, self.design.n(), self.design.p())
    }
}

/// Fits the model described by `design`.
pub fn fit(design: Design, options: &FitOptions) -> Result<LmmFit, ModelError> {
    let mut problem = Problem::new(design, options.reml);
    let start = problem.start();
    let lower = problem.lower();
    let optimum = optimize::minimise(
        |t| problem.objective(t),
        &start,
        &lower,
        options.max_evaluations,
    );
    if !optimum.objective.is_finite() {
        return Err(ModelError::Numerical {
            reason: "the objective is not finite at any θ tried; check for constant or \
                     extreme values in the response or predictors"
                .into(),
        });
    }
    result::LmmFit::at_optimum(problem, optimum)
}
