//! Fitting a linear mixed model by minimising the profiled deviance (ML) or REML criterion
//! over the relative covariance parameters θ, as in Bates et al. (2015), with a blocked
//! Cholesky factorisation as in MixedModels.jl.

mod blocks;
mod derivatives;
mod factor;
pub mod glmm;
mod levels;
pub(crate) mod optimize;
mod quasi_newton;
mod residual;
mod result;
mod sparse;
mod start;

pub use optimize::BOUNDARY_TOLERANCE;
pub use result::{varcorr_rows, Convergence, LmmFit, RandomEffects, ResidualFit, VarCorrRow};

use crate::design::Design;
use crate::error::ModelError;
use crate::statistics::{Moments, SubjectStatistics};
pub(crate) use blocks::residualise;
use blocks::Blocks;
pub use derivatives::Derivatives;
use factor::{Factor, Lambda};
pub use residual::ResidualModel;

/// How to fit.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// REML (the default, as lme4) or maximum likelihood.
    pub reml: bool,
    /// Budget of objective evaluations for the optimizer.
    pub max_evaluations: usize,
    /// Whether to compute Satterthwaite's t-tests of the coefficients (lmerTest's summary):
    /// `2n + 1` extra factorisations for `n` covariance parameters with analytic
    /// derivatives, `4n(n + 3) + 2` without (see [`crate::inference::Satterthwaite`]).
    pub satterthwaite: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            reml: true,
            max_evaluations: 100_000,
            satterthwaite: true,
        }
    }
}

/// The profiled objective of one model as a function of its covariance parameters — θ,
/// then any residual-structure parameters φ: the problem the optimizer solves, kept apart
/// from the optimizer itself.
pub struct Problem {
    /// The design as built from the data (for fitted values and residuals). For a problem
    /// from per-subject statistics ([`Problem::from_statistics`]) it names the columns and
    /// levels and has no rows: use [`Problem::n`] for the number of observations.
    pub design: Design,
    /// For a problem from per-subject statistics: the observations and the sums R² is
    /// computed from, as there are no rows.
    moments: Option<Moments>,
    residual: Option<Residual>,
    blocks: Blocks,
    factor: Factor,
    pub reml: bool,
    /// The parameters (internal, see `scale`) of the last successful factorisation, which
    /// `factor` still holds (empty when it holds none): a request for the same ones (a
    /// result, then its derivatives) is not factorised again.
    factorised_at: Vec<f64>,
    /// Per random-effect term and column, the power of two its column is divided by in the
    /// cross-products ([`blocks::column_scales`]).
    z_scale: Vec<Vec<f64>>,
    /// Per parameter, its internal value over the one the methods take and return: the
    /// optimizer searches the internal ones, which do not depend on the unit of any
    /// predictor. Powers of two, so the two convert exactly.
    scale: Vec<f64>,
    /// Buffer for the internal parameters.
    internal: Vec<f64>,
}

/// A residual structure with its whitened copy of the design.
struct Residual {
    model: ResidualModel,
    /// The design with `y` replaced by `y − X·location` ([`blocks::residualise`]): what is
    /// whitened. Whitening a response far from zero relative to its spread (Reaction + 1e8)
    /// rounds each whitened value at the response's magnitude, differently for each φ, and
    /// that noise moved the fit, its t and df by up to 3e-5; removed once before, the shift
    /// never reaches W.
    centred: Design,
    /// The least-squares coefficients removed from `y`: β̂ for the response as given is
    /// β̂ of the centred one plus these.
    location: Vec<f64>,
    whitened: Design,
    /// Scratch of the design's shape for `∂W/∂φ·design` (the φ derivatives).
    derivative: Design,
    /// Σᵢ log|Cᵢ| at the last factorisation.
    log_det: f64,
}

impl Problem {
    pub fn new(design: Design, reml: bool) -> Result<Problem, ModelError> {
        let residual = match &design.residual {
            Some(cols) => {
                let (y, location) = blocks::residualise(&design);
                let centred = Design {
                    y,
                    ..design.clone()
                };
                Some(Residual {
                    model: ResidualModel::new(cols, &design)?,
                    whitened: centred.clone(),
                    derivative: centred.clone(),
                    centred,
                    location,
                    log_det: 0.0,
                })
            }
            None => None,
        };
        let z_scale = blocks::column_scales(&design);
        let blocks = Blocks::new(&design, &z_scale);
        let q = design.random.iter().map(|b| b.q()).collect();
        let kinds = design.random.iter().map(|b| b.covariance).collect();
        let lambda = Lambda::new(q, kinds);
        let mut scale = lambda.parameter_scales(&z_scale);
        if let Some(r) = &residual {
            scale.resize(scale.len() + r.model.n_params(), 1.0);
        }
        // With a residual structure every evaluation factorises re-whitened cross-products.
        let factor = Factor::new(&blocks, lambda, residual.is_none());
        Ok(Problem {
            design,
            moments: None,
            residual,
            blocks,
            factor,
            reml,
            factorised_at: Vec::new(),
            z_scale,
            scale,
            internal: Vec::new(),
        })
    }

    /// The problem of a model's per-subject statistics (validated): the same cross-product
    /// blocks as [`Problem::new`] builds from rows, formed from the sums instead, so that
    /// everything after (factorisation, optimizer, inference, the fit's assembly) is shared.
    pub(crate) fn from_statistics(mut statistics: SubjectStatistics, reml: bool) -> Problem {
        let z_scale = vec![blocks::statistics_scales(&statistics)];
        let blocks = Blocks::from_statistics(&mut statistics, &z_scale[0]);
        let lambda = Lambda::new(vec![statistics.q()], vec![statistics.covariance]);
        // The per-subject arrays are in the blocks now: free them before the factor's own.
        let (design, moments) = statistics.into_columns();
        let scale = lambda.parameter_scales(&z_scale);
        let factor = Factor::new(&blocks, lambda, true);
        Problem {
            design,
            moments: Some(moments),
            residual: None,
            blocks,
            factor,
            reml,
            factorised_at: Vec::new(),
            z_scale,
            scale,
            internal: Vec::new(),
        }
    }

    /// Number of observations.
    pub fn n(&self) -> usize {
        self.moments.as_ref().map_or(self.design.n(), |m| m.n)
    }

    /// Per parameter, the factor from the parameters these methods take to the ones the
    /// optimizer searches (powers of two): a unit-free step is `h / scale[i]` here.
    pub fn parameter_scales(&self) -> &[f64] {
        &self.scale
    }

    fn to_internal(&self, params: &[f64]) -> Vec<f64> {
        params.iter().zip(&self.scale).map(|(p, s)| p * s).collect()
    }

    fn from_internal(&self, params: &[f64]) -> Vec<f64> {
        params.iter().zip(&self.scale).map(|(p, s)| p / s).collect()
    }

    /// Number of random-effect covariance parameters θ.
    pub fn n_theta(&self) -> usize {
        self.factor.lambda.n_theta()
    }

    /// The residual structure's parameters φ, if any: names, start, bounds.
    pub fn residual_model(&self) -> Option<&ResidualModel> {
        self.residual.as_ref().map(|r| &r.model)
    }

    /// Where a fit starts: lme4's start (identity relative covariance factors, then φ's),
    /// or, with one grouping factor, θ from moments (see [`start`]) where its objective is
    /// lower — the moments can mislead when most levels have few observations.
    pub fn start(&mut self) -> Vec<f64> {
        let lme4 = self.lme4_start();
        let moments = match (&self.residual, &self.factor.lambda.kinds[..]) {
            (None, [kind]) => start::moment_start(&self.blocks, *kind, self.n()),
            _ => None,
        };
        let Some(m) = moments else {
            return self.from_internal(&lme4);
        };
        // The moments last, so that when they win the search's first evaluation finds them
        // already factorised.
        let at_lme4 = self.objective_internal(&lme4);
        let best = if self.objective_internal(&m) < at_lme4 {
            m
        } else {
            lme4
        };
        self.from_internal(&best)
    }

    /// lme4's start, for the scaled columns (internal parameters): identity relative
    /// covariance factors, then φ's.
    fn lme4_start(&self) -> Vec<f64> {
        let mut start = self.factor.lambda.start();
        if let Some(r) = &self.residual {
            start.extend(r.model.start());
        }
        start
    }

    /// Bounds of every parameter: zero below relative standard deviations, the admissible
    /// range of φ.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut lower, mut upper) = self.factor.lambda.bounds();
        if let Some(r) = &self.residual {
            let (l, u) = r.model.bounds();
            lower.extend(l);
            upper.extend(u);
        }
        (lower, upper)
    }

    /// Which parameters are relative standard deviations (a fit with one at zero is
    /// singular).
    pub fn sd_mask(&self) -> Vec<bool> {
        let mut mask = self.factor.lambda.sd_mask();
        mask.resize(self.bounds().0.len(), false);
        mask
    }

    /// Whitens (with a residual structure) and factorises at `params`.
    fn factorise(&mut self, params: &[f64]) -> bool {
        let mut internal = std::mem::take(&mut self.internal);
        internal.clear();
        internal.extend(params.iter().zip(&self.scale).map(|(p, s)| p * s));
        let ok = self.factorise_internal(&internal);
        self.internal = internal;
        ok
    }

    /// [`Problem::factorise`] at internal parameters.
    fn factorise_internal(&mut self, params: &[f64]) -> bool {
        if !params.is_empty() && self.factorised_at == params {
            return true;
        }
        self.factorised_at.clear();
        let (theta, phi) = params.split_at(self.n_theta());
        if let Some(r) = &mut self.residual {
            match r.model.whiten(phi, &r.centred, &mut r.whitened) {
                Some(log_det) => r.log_det = log_det,
                None => return false,
            }
            self.blocks.refill(&r.whitened, &self.z_scale);
        }
        let ok = self.factor.update(&self.blocks, theta);
        if ok {
            self.factorised_at.extend_from_slice(params);
        }
        ok
    }

    fn residual_log_det(&self) -> f64 {
        self.residual.as_ref().map_or(0.0, |r| r.log_det)
    }

    /// The objective (−2 log-likelihood, or the REML criterion) at `params`; +∞ where the
    /// factorisation fails.
    pub fn objective(&mut self, params: &[f64]) -> f64 {
        if !self.factorise(params) {
            return f64::INFINITY;
        }
        self.objective_here()
    }

    /// [`Problem::objective`] at internal parameters.
    fn objective_internal(&mut self, params: &[f64]) -> f64 {
        if !self.factorise_internal(params) {
            return f64::INFINITY;
        }
        self.objective_here()
    }

    /// The objective at the last factorisation.
    fn objective_here(&self) -> f64 {
        self.factor.objective(self.reml, self.n(), self.design.p()) + self.residual_log_det()
    }

    /// Whether the dense block (the random effects after the first term, `X` and `y`) is
    /// factorised as a sparse matrix (`fit/sparse.rs`) rather than a dense one: the same
    /// results either way, so this only tells tests and benchmarks which path ran.
    pub fn sparse_dense_block(&self) -> bool {
        self.factor.sparse.is_some()
    }

    /// Whether [`Problem::derivatives`] is available: random effects, or a residual
    /// structure (with any random effects or none).
    pub fn has_gradient(&self) -> bool {
        self.residual.is_some() || Factor::has_derivatives(&self.blocks)
    }

    /// Factorises at θ and returns the analytic derivatives there (see [`Derivatives`]);
    /// `vcov` also asks for ∂(R_X R_X')⁻¹/∂θ. `None` without [`Problem::has_gradient`] or
    /// where the factorisation fails.
    pub fn derivatives(&mut self, theta: &[f64], vcov: bool) -> Option<Derivatives> {
        let internal = self.to_internal(theta);
        let mut d = self.derivatives_internal(&internal, vcov)?;
        // ∂/∂θ = scale · ∂/∂θ_internal.
        let per_theta = d.unscaled_vcov.len() / theta.len().max(1);
        for (k, s) in self.scale.iter().enumerate().take(theta.len()) {
            d.log_det[k] *= s;
            d.pwrss[k] *= s;
            if per_theta > 0 {
                d.unscaled_vcov[k * per_theta..(k + 1) * per_theta]
                    .iter_mut()
                    .for_each(|v| *v *= s);
            }
        }
        Some(d)
    }

    /// [`Problem::derivatives`] over the internal parameters.
    fn derivatives_internal(&mut self, params: &[f64], vcov: bool) -> Option<Derivatives> {
        if !self.has_gradient() || !self.factorise_internal(params) {
            return None;
        }
        let (theta, phi) = params.split_at(self.n_theta());
        let Some(r) = &mut self.residual else {
            return Some(
                self.factor
                    .derivatives(&self.blocks, theta, self.reml, vcov),
            );
        };
        let whitened = derivatives::Whitened {
            model: &r.model,
            phi,
            raw: &r.centred,
            white: &r.whitened,
            z_scale: &self.z_scale,
        };
        self.factor.whitened_derivatives(
            &self.blocks,
            theta,
            (self.reml, vcov),
            &whitened,
            &mut r.derivative,
        )
    }

    /// The objective (as [`Problem::objective`]) and its gradient, written into `grad`;
    /// +∞ where the factorisation fails. Needs [`Problem::has_gradient`].
    pub fn objective_gradient(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let internal = self.to_internal(theta);
        let f = self.objective_gradient_internal(&internal, grad);
        grad.iter_mut().zip(&self.scale).for_each(|(g, s)| *g *= s);
        f
    }

    /// [`Problem::objective_gradient`] over the internal parameters; an empty `grad` asks
    /// for the value alone (the searches' trial points).
    fn objective_gradient_internal(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        if grad.is_empty() {
            return self.objective_internal(theta);
        }
        let Some(d) = self.derivatives_internal(theta, false) else {
            grad.fill(f64::NAN);
            return f64::INFINITY;
        };
        let (n, p) = (self.n(), self.design.p());
        let dof = if self.reml { n - p } else { n } as f64;
        d.at_sigma2(self.factor.pwrss / dof, grad);
        self.objective_here()
    }

    /// Minimises the objective from `start`: by quasi-Newton steps on the analytic gradient
    /// where there is one, else by BOBYQA; when the convergence check fails, again from the
    /// point reached and from lme4's start (see [`optimize::with_restarts`]).
    ///
    /// The search runs over the internal parameters (see [`Problem::parameter_scales`]);
    /// the bounds, zero or infinite for the scaled ones, are the same there, and lme4's start
    /// is taken there too (θ = 1 on units of the data's own size).
    pub fn minimise(&mut self, start: &[f64], max_evaluations: usize) -> optimize::Optimum {
        let (lower, upper) = self.bounds();
        let start = self.to_internal(start);
        let lme4 = self.lme4_start();
        let smooth = self.has_gradient();
        let mut optimum = optimize::with_restarts(
            |from| {
                if smooth {
                    optimize::minimise_smooth(
                        |t, g| self.objective_gradient_internal(t, g),
                        from,
                        &lower,
                        &upper,
                        max_evaluations,
                        None,
                    )
                } else {
                    optimize::minimise(
                        |t| self.objective_internal(t),
                        from,
                        &lower,
                        &upper,
                        max_evaluations,
                    )
                }
            },
            &start,
            &lme4,
        );
        optimum.theta = self.from_internal(&optimum.theta);
        optimum
    }

    /// The deviance at θ and the residual standard deviation σ, *not* profiled over σ
    /// (lmerTest's `devfun_vp`); see [`SigmaDeviance`]. At σ̂ it equals
    /// [`Problem::objective`]. +∞ where the factorisation fails. Allocates nothing.
    pub fn deviance_varpar(&mut self, theta: &[f64], sigma: f64) -> f64 {
        self.sigma_deviance(theta)
            .map_or(f64::INFINITY, |d| d.at(sigma))
    }

    /// The deviance at θ as a closed-form function of σ, or `None` where the factorisation
    /// fails. Allocates nothing.
    pub fn sigma_deviance(&mut self, theta: &[f64]) -> Option<SigmaDeviance> {
        if !self.factorise(theta) {
            return None;
        }
        let residual_log_det = self.residual_log_det();
        let (n, p) = (self.n(), self.design.p());
        let f = &self.factor;
        Some(if self.reml {
            SigmaDeviance {
                dof: (n - p) as f64,
                log_det: f.ld_l2 + f.ld_rx2 + residual_log_det,
                pwrss: f.pwrss,
            }
        } else {
            SigmaDeviance {
                dof: n as f64,
                log_det: f.ld_l2 + residual_log_det,
                pwrss: f.pwrss,
            }
        })
    }

    /// Var(β̂) = σ²(R_X R_Xᵀ)⁻¹ at θ and σ (row-major p × p), or `None` where the
    /// factorisation fails.
    pub fn vcov_at(&mut self, theta: &[f64], sigma: f64) -> Option<Vec<f64>> {
        let mut v = self.unscaled_vcov_at(theta)?;
        scale_vcov(&mut v, sigma);
        Some(v)
    }

    /// The deviance as a function of σ, β̂ and (R_X R_Xᵀ)⁻¹ at θ, from one factorisation, or
    /// `None` where it fails: what profiling a coefficient and refitting a simulated
    /// response need.
    pub fn conditional_at(&mut self, theta: &[f64]) -> Option<Conditional> {
        let deviance = self.sigma_deviance(theta)?;
        let (beta, _) = self.solution();
        let unscaled_vcov = self.factor.unscaled_vcov(&self.blocks);
        Some(Conditional {
            deviance,
            beta,
            unscaled_vcov,
        })
    }

    /// Each term's relative covariance `T T'` at θ (symmetric `q × q`).
    pub fn relative_covariances(&self, theta: &[f64]) -> Vec<Vec<f64>> {
        let mut lambda = self.factor.lambda.clone();
        lambda.set(&theta[..self.n_theta()]);
        (0..lambda.q.len()).map(|k| lambda.covariance(k)).collect()
    }

    /// Replaces the response (minus offsets), keeping everything else: a refit to a
    /// simulated response needs only the cross-products rebuilt.
    ///
    /// Only for a problem built from rows.
    pub fn set_response(&mut self, y: Vec<f64>) {
        assert!(
            self.moments.is_none(),
            "a refit to a new response needs the problem's rows"
        );
        assert_eq!(y.len(), self.design.n(), "one response per observation");
        self.design.y = y;
        self.factorised_at.clear();
        match &mut self.residual {
            Some(r) => {
                let (y, location) = blocks::residualise(&self.design);
                (r.centred.y, r.location) = (y, location);
            }
            None => self.blocks.refill(&self.design, &self.z_scale),
        }
    }

    /// β̂ (for the response as given) and the spherical random effects u at the last
    /// factorisation.
    fn solution(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut beta, u) = self.factor.solve(&self.blocks);
        if let Some(r) = &self.residual {
            beta.iter_mut().zip(&r.location).for_each(|(b, l)| *b += l);
        }
        (beta, u)
    }

    /// (R_X R_Xᵀ)⁻¹ at θ, Var(β̂)/σ² (row-major p × p), or `None` where the factorisation
    /// fails.
    pub fn unscaled_vcov_at(&mut self, theta: &[f64]) -> Option<Vec<f64>> {
        if !self.factorise(theta) {
            return None;
        }
        Some(self.factor.unscaled_vcov(&self.blocks))
    }
}

/// The deviance at a fixed θ as a function of σ, `dof·log(2πσ²) + log_det + pwrss/σ²`:
/// for ML `dof = n` and `log_det = log|L_Z|²`; for REML `dof = n − p` and
/// `log_det = log|L_Z|² + log|R_X|²`; `pwrss` is the penalised residual sum of squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaDeviance {
    pub dof: f64,
    pub log_det: f64,
    pub pwrss: f64,
}

impl SigmaDeviance {
    pub fn at(&self, sigma: f64) -> f64 {
        let s2 = sigma * sigma;
        self.dof * (2.0 * std::f64::consts::PI * s2).ln() + self.log_det + self.pwrss / s2
    }
}

/// The deviance as a function of σ, β̂ and (R_X R_Xᵀ)⁻¹ at one θ.
#[derive(Debug, Clone)]
pub struct Conditional {
    pub deviance: SigmaDeviance,
    pub beta: Vec<f64>,
    /// (R_X R_Xᵀ)⁻¹, row-major p × p.
    pub unscaled_vcov: Vec<f64>,
}

/// `v ← σ² v`: Var(β̂) from (R_X R_Xᵀ)⁻¹ (the one place this product is formed, so that
/// every path gives the same bits).
pub fn scale_vcov(v: &mut [f64], sigma: f64) {
    let s2 = sigma * sigma;
    v.iter_mut().for_each(|x| *x *= s2);
}

/// Fits the model described by `design`.
pub fn fit(design: Design, options: &FitOptions) -> Result<LmmFit, ModelError> {
    check_not_exact(&design)?;
    fit_problem(Problem::new(design, options.reml)?, options)
}

/// Minimises a problem's objective and assembles the fit: what a fit from rows and a fit
/// from per-subject statistics ([`crate::statistics::fit_from_statistics`]) share.
pub(crate) fn fit_problem(
    mut problem: Problem,
    options: &FitOptions,
) -> Result<LmmFit, ModelError> {
    let start = problem.start();
    let optimum = problem.minimise(&start, options.max_evaluations);
    if !optimum.objective.is_finite() {
        return Err(ModelError::Numerical {
            reason: "the objective is not finite at any θ tried; check for constant or \
                     extreme values in the response or predictors"
                .into(),
        });
    }
    result::LmmFit::at_optimum(problem, optimum, options.satterthwaite)
}

/// Refuses a response the fixed effects fit exactly — a constant, or `y = 2x + 1` — up to
/// the rounding of the values themselves: σ̂ is then zero and every t, p-value and interval
/// is rounding noise (a constant response gave `t = 2.00, p = 0.055` for its predictor).
/// lme4 fits such a response with a REML criterion of −∞ and convergence warnings. The
/// bound is a few units in the last place of the largest |y|, far below any real spread (a
/// response of 1e6 ± 1e-6 fits).
fn check_not_exact(design: &Design) -> Result<(), ModelError> {
    let largest = design.y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (residual, _) = blocks::residualise(design);
    let spread = residual.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if design.n() == 0 || spread > 64.0 * f64::EPSILON * largest {
        return Ok(());
    }
    Err(ModelError::Numerical {
        reason: "the fixed effects fit the response exactly (it is constant, or a linear \
                 function of the predictors): its residual variance is zero, so no test or \
                 interval would mean anything"
            .into(),
    })
}
