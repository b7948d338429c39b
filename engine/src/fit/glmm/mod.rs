//! Generalized linear mixed models as lme4's `glmer` fits them: for each value of the
//! covariance parameters θ (and the fixed effects β), penalized iteratively reweighted least
//! squares (PIRLS) finds the conditional modes of the spherical random effects `u`, and the
//! Laplace approximation (or, for one scalar random effect, adaptive Gauss–Hermite
//! quadrature) gives the deviance
//!
//! ```text
//! −2 log L ≈ −2 Σᵢ log f(yᵢ | ûᵢ) + |û|² + log |L|²,   L L' = Λ'Z'WZΛ + I
//! ```
//!
//! with `f` the family's density *with* its constants (lme4's `aic()` term), so the
//! log-likelihood is the true one. Each PIRLS step is a weighted least-squares problem on
//! the rows of `[Z X]` scaled by `√w`, solved with the linear engine's blocked Cholesky
//! ([`super::factor`]): the same layout, with the working response as `y`.
//!
//! The fit follows lme4: first θ alone with β inside PIRLS (`nAGQ = 0`), then the full
//! problem over (θ, β) from there (β scaled by the first stage's standard errors, so that
//! one step size suits every coefficient), with the negative binomial's log θ joined to it
//! as glmmTMB does: lme4 searches it with BOBYQA, here projected BFGS does, on the exact
//! gradient where the model has one ([`pirls`]'s `gradient`: one term, a canonical pair,
//! Laplace), else on a difference gradient ([`super::optimize::minimise_by_differences`]),
//! in about a fifth or a tenth of the evaluations. The optimizer sees only a function of a
//! vector. Standard errors come, as lme4's, from the Hessian of the deviance over all the
//! parameters (differences of that gradient): `Var(β̂) = 2 H⁻¹` on β's block.

mod bootstrap;
mod pirls;
mod profile;
mod quadrature;
mod r_squared;
mod result;
mod starts;

pub use bootstrap::bootstrap_intervals;
pub use profile::profile_intervals;
pub use r_squared::nakagawa;
pub use result::GlmmFit;

use super::blocks::column_scales;
use super::factor::{spd_inverse, Lambda};
use super::optimize::{self, Optimum};
use crate::design::{Design, GlmResponse};
use crate::error::ModelError;
use crate::family::{Family, Link};
use pirls::Pirls;
use starts::Starts;

/// How to fit a generalized linear mixed model.
#[derive(Debug, Clone)]
pub struct GlmmOptions {
    /// The family; a negative binomial's θ is where its estimation starts.
    pub family: Family,
    pub link: Link,
    /// 1 for the Laplace approximation, up to 25 for adaptive Gauss–Hermite quadrature.
    pub nagq: usize,
    pub max_evaluations: usize,
}

/// The most quadrature nodes, as lme4.
pub const MAX_NAGQ: usize = 25;

/// The range of log θ_NB the fit (and its profile) searches: θ_NB from 6e-6 to 1.6e5, past
/// which the negative binomial is indistinguishable from its limits.
const NB_LOG_THETA_RANGE: (f64, f64) = (-12.0, 12.0);

/// Where the first stage's BOBYQA stops (in θ's units, from a radius of 0.25), and the
/// scaled gradient its convergence check polishes to: its end point only starts the second
/// stage, whose Hessian its check's seeds.
const STAGE1_RHO_END: f64 = 1e-5;
const STAGE1_POLISHED: f64 = 1e-5;

/// Steps of the differences over the full problem's parameters, in the search's units (θ
/// per its column scale, β per standard error): forward differences of the deviance for
/// its gradient, and differences with the larger step for its Hessians (the search's start
/// by differences of that gradient, the convergence check's by central differences of the
/// values, which the standard errors reuse). PIRLS converges to rounding ([`pirls`]), so
/// the deviance is smooth to about 1e-9 absolute on tens of thousands of rows: the
/// gradient's rounding and truncation error (the step times the curvature, a few units
/// here) are both near 1e-5, well under the check's tolerance. The central Hessian's
/// rounding, about 3.5 · 1e-9 / h², and truncation, about h²/12 times the fourth
/// derivative (small over a hundredth of a standard error, where the deviance is nearly
/// quadratic), are both near 1e-5 with h = 1e-2; with 1e-3 rounding left 1e-3 in the
/// standard errors, which then moved with the search's path.
const GRADIENT_STEP: f64 = 1e-5;
const HESSIAN_STEP: f64 = 1e-2;

/// The steps of the differences for a deviance near `objective` summed over `n` rows: at
/// least [`GRADIENT_STEP`] and [`HESSIAN_STEP`], and where the deviance's rounding `ε`
/// (about √n rounding errors of its size) is larger, √ε and ε^¼, which balance a forward
/// difference's rounding against its truncation and a central second difference's. The
/// reference data sets keep the constants; on binary data the gradient's step grows from
/// about 6,000 rows and the Hessians' from about 120,000. On a million patients (3.2
/// million rows, ε ≈ 1e-6) a step of 1e-5 left the gradient noisy at 0.04 (scaled), and
/// two versions of the search left the standard errors 1% apart.
fn difference_steps(objective: f64, n: usize) -> (f64, f64) {
    let rounding = f64::EPSILON * objective.abs().max(1.0) * (n as f64).sqrt();
    (
        GRADIENT_STEP.max(rounding.sqrt()),
        HESSIAN_STEP.max(rounding.sqrt().sqrt()),
    )
}

/// A relative SD below this (in the search's units, where lme4's start is 1) after the first
/// stage starts the second stage from lme4's start instead, and if it is there again at the
/// second stage's optimum, the second stage runs again from the first stage's point
/// ([`fit_glmm`]).
const NEAR_ZERO: f64 = 1e-2;

/// What the optimizer minimises: the deviance as a function of one parameter vector,
/// `θ`, then `β`, then (negative binomial) `log θ_NB`.
pub struct GlmmProblem {
    pirls: Pirls,
    n_theta: usize,
    p: usize,
    negative_binomial: bool,
    /// Per parameter, its value per unit of what the optimizer and the Hessian see:
    /// 1/(its column's power-of-two scale) for θ, as the linear engine's
    /// ([`super::blocks::column_scales`]), and the first stage's standard error for β, so
    /// that neither depends on the units of a predictor (Days × 1e10 left a slope's
    /// coefficient near 1e-11, where an absolute difference step of 1e-4 is a thousand
    /// million standard errors, and the standard errors came out NaN).
    unit: Vec<f64>,
    /// Where PIRLS starts at the points of a difference Hessian.
    starts: Starts,
    /// The steps of the gradient's and the Hessians' differences ([`difference_steps`]).
    steps: (f64, f64),
    /// The parameters PIRLS's state was last solved at, and the deviance there: the search
    /// asks again where the first stage ended, and the summary where the search did.
    evaluated: Option<(Vec<f64>, f64)>,
}

impl GlmmProblem {
    /// The deviance at `params = [θ, β, (log θ_NB)]`; +∞ where PIRLS fails.
    pub fn deviance(&mut self, params: &[f64]) -> f64 {
        if let Some((at, d)) = &self.evaluated {
            if at == params {
                return *d;
            }
        }
        self.evaluated = None;
        if let Some(u) = self.starts.predict(params) {
            self.pirls.start_from(&u);
        }
        let (theta, rest) = params.split_at(self.n_theta);
        let (beta, nb) = rest.split_at(self.p);
        if let Some(&log_nb) = nb.first() {
            self.pirls.family = Family::NegativeBinomial {
                theta: log_nb.exp(),
            };
        }
        let d = self.pirls.deviance(theta, Some(beta));
        if let Some(d) = d {
            self.starts.record(params, &self.pirls.u);
            self.evaluated = Some((params.to_vec(), d));
        }
        d.unwrap_or(f64::INFINITY)
    }

    /// Makes `solution` PIRLS's state again ([`Pirls::restore`]); the Laplace factor is
    /// still the last evaluation's, so the next evaluation solves afresh.
    fn restore(&mut self, solution: &pirls::Solution) {
        self.pirls.restore(solution);
        self.evaluated = None;
    }

    /// The exact gradient over `params` of the deviance last evaluated there
    /// ([`GlmmProblem::deviance`]), into `g`; `false` (and `g` untouched) where the model
    /// has none ([`Pirls::has_gradient`]).
    pub fn gradient(&self, params: &[f64], g: &mut [f64]) -> bool {
        self.pirls.gradient(&params[..self.n_theta], g)
    }

    /// The deviance and its exact gradient ([`Pirls::gradient`], or with β `profiled`,
    /// [`Pirls::profiled_gradient`] and the first stage's deviance) as
    /// [`optimize::minimise_smooth`] asks for them, over coordinates `x` whose parameters
    /// are `to_params(x)`, each moving by `units` per unit of its coordinate. The search asks
    /// for the gradient where it just had the value: PIRLS's state is still there, so only
    /// the gradient's passes are run.
    fn smooth<'a>(
        &'a mut self,
        to_params: impl Fn(&[f64]) -> Vec<f64> + 'a,
        units: Vec<f64>,
        profiled: bool,
    ) -> impl FnMut(&[f64], &mut [f64]) -> f64 + 'a {
        let mut at: Vec<f64> = Vec::new();
        let mut value = f64::NAN;
        move |x, g| {
            let params = to_params(x);
            if at != x {
                value = if profiled {
                    self.joint_deviance(&params)
                } else {
                    self.deviance(&params)
                };
                at.clear();
                at.extend_from_slice(x);
            }
            if !g.is_empty() {
                let found = value.is_finite()
                    && if profiled {
                        self.joint_gradient(&params, g)
                    } else {
                        self.gradient(&params, g)
                    };
                if found {
                    g.iter_mut().zip(&units).for_each(|(g, u)| *g *= u);
                } else {
                    g.iter_mut().for_each(|g| *g = f64::NAN);
                }
            }
            value
        }
    }

    /// Replaces the response counts (a simulated response), keeping the design and trials.
    fn set_counts(&mut self, y: Vec<f64>) {
        self.pirls.set_counts(y);
        self.starts = Starts::default();
        self.evaluated = None;
    }

    /// The `nAGQ = 0` objective: θ alone, β estimated inside PIRLS. Its solution is also
    /// the full problem's at `[θ, β̂]` (the modes given β̂ are the joint ones), with the same
    /// Laplace deviance, unless quadrature or a negative binomial's θ makes that another, or
    /// PIRLS's steps are Fisher scoring's, whose linear convergence leaves the joint modes
    /// short by more than rounding.
    pub fn joint_deviance(&mut self, theta: &[f64]) -> f64 {
        let d = self.pirls.deviance(theta, None);
        let same = self.pirls.nagq == 1 && !self.negative_binomial && self.pirls.newton;
        self.evaluated = match d {
            Some(d) if same => Some(([theta, &self.pirls.beta].concat(), d)),
            _ => None,
        };
        d.unwrap_or(f64::INFINITY)
    }

    /// The exact gradient of [`GlmmProblem::joint_deviance`] last evaluated at `theta`, into
    /// `g`; `false` where the model has none.
    pub fn joint_gradient(&self, theta: &[f64], g: &mut [f64]) -> bool {
        self.pirls.profiled_gradient(theta, g)
    }
}

impl GlmmProblem {
    /// The problem of a model, after checking it and its response against the family.
    /// Also returns the warnings the response raised.
    pub fn new(
        design: Design,
        response: &GlmResponse,
        options: &GlmmOptions,
    ) -> Result<(GlmmProblem, Vec<String>), ModelError> {
        check_model(&design, options)?;
        let (y, trials, warnings) = pirls::checked_response(response, &options.family)?;
        let q = design.random.iter().map(|b| b.q()).collect();
        let kinds = design.random.iter().map(|b| b.covariance).collect();
        let lambda = Lambda::new(q, kinds);
        let negative_binomial = matches!(options.family, Family::NegativeBinomial { .. });
        let unit = lambda
            .parameter_scales(&column_scales(&design))
            .iter()
            .map(|s| 1.0 / s)
            .chain(std::iter::repeat_n(
                1.0,
                design.p() + usize::from(negative_binomial),
            ))
            .collect();
        let problem = GlmmProblem {
            n_theta: lambda.n_theta(),
            p: design.p(),
            negative_binomial,
            unit,
            starts: Starts::default(),
            steps: (GRADIENT_STEP, HESSIAN_STEP),
            evaluated: None,
            pirls: Pirls::new(design, y, trials, options, lambda),
        };
        Ok((problem, warnings))
    }
}

/// Fits a generalized linear mixed model.
pub fn fit_glmm(
    design: Design,
    response: GlmResponse,
    options: &GlmmOptions,
) -> Result<GlmmFit, ModelError> {
    let (mut problem, mut warnings) = GlmmProblem::new(design, &response, options)?;
    let (theta_lower, theta_upper) = problem.pirls.lambda.bounds();
    // lme4's start, for the scaled columns (as the linear engine's).
    let start = problem.pirls.lambda.start();
    let theta_unit = problem.unit[..problem.n_theta].to_vec();
    let from_internal =
        |t: &[f64]| -> Vec<f64> { t.iter().zip(&theta_unit).map(|(t, u)| t * u).collect() };

    // Stage 1 (lme4's nAGQ = 0): θ with β inside PIRLS, by lme4's BOBYQA or, from two
    // covariance parameters on, on its exact gradient where the model has one. With one,
    // BOBYQA's quadratic model needs about as many values as BFGS needs values and
    // gradients (cbpp: 11 against 10 and 10); with three it needed 102 values where BFGS
    // needs 30 (the 20,000-patient binary cohort).
    let mut stage1 = if problem.pirls.has_gradient() && problem.n_theta > 1 {
        optimize::minimise_smooth_roughly(
            problem.smooth(from_internal, theta_unit.clone(), true),
            &start,
            &theta_lower,
            &theta_upper,
            options.max_evaluations,
        )
    } else {
        optimize::minimise_to(
            |t| problem.joint_deviance(&from_internal(t)),
            &start,
            &theta_lower,
            &theta_upper,
            options.max_evaluations,
            STAGE1_RHO_END,
            STAGE1_POLISHED,
        )
    };
    stage1.theta = from_internal(&stage1.theta);
    if !stage1.objective.is_finite() {
        return Err(ModelError::Numerical {
            reason: "PIRLS found no conditional modes at any value of the covariance \
                     parameters tried (the linear predictor diverges; check for complete \
                     separation or a response the family cannot take)"
                .into(),
        });
    }
    problem.joint_deviance(&stage1.theta);
    problem.steps = difference_steps(stage1.objective, problem.pirls.design.n());
    let mut x0 = stage1.theta.clone();
    x0.extend_from_slice(&problem.pirls.beta);
    if let Family::NegativeBinomial { theta } = options.family {
        x0.push(theta.ln());
    }
    let vcov = problem.pirls.joint_vcov();
    let p = problem.p;
    let scale: Vec<f64> = (0..p).map(|j| step_scale(vcov[j * p + j].sqrt())).collect();
    let n_theta = problem.n_theta;
    problem.unit[n_theta..n_theta + p].copy_from_slice(&scale);
    // The Laplace deviance is even in each relative SD, so at zero its gradient vanishes
    // whether or not the optimum is interior: a search that starts near zero (the first
    // stage often shrinks a binary outcome's slope SD there) may stay on that ridge (on the
    // 20,000-patient binary cohort it stopped there, 3.45 above the optimum). Such
    // components start from lme4's start instead; if the search takes one of them back near
    // zero, it runs again from the first stage's point and the lower optimum is kept.
    let near_zero = |x: &[f64], i: usize| theta_lower[i] == 0.0 && x[i] / theta_unit[i] < NEAR_ZERO;
    let shrunk: Vec<usize> = (0..n_theta).filter(|&i| near_zero(&x0, i)).collect();
    let mut lifted = x0.clone();
    for &i in &shrunk {
        lifted[i] = start[i] * theta_unit[i];
    }
    // The first stage's Hessians describe its own end point, not a lifted one.
    let seed = match (&stage1.hessian, problem.negative_binomial) {
        (Some((_, theta_block)), false) if shrunk.is_empty() => {
            start_hessian(n_theta, theta_block, &vcov, &scale)
        }
        _ => None,
    };
    let (mut params, mut stage2) =
        problem.optimise(&lifted, &scale, seed.as_deref(), options.max_evaluations);
    if shrunk.iter().any(|&i| near_zero(&params, i)) {
        let (other, again) = problem.optimise(&x0, &scale, None, options.max_evaluations);
        let evaluations = stage2.evaluations + again.evaluations;
        if again.objective < stage2.objective {
            (params, stage2) = (other, again);
        }
        stage2.evaluations = evaluations;
    }
    if !stage2.objective.is_finite() {
        return Err(ModelError::Numerical {
            reason: "PIRLS failed at the fixed effects of the first stage".into(),
        });
    }
    warnings.extend(
        stage1
            .warnings
            .iter()
            .map(|w| format!("first stage (nAGQ = 0): {w}")),
    );
    result::assemble(problem, params, stage2, warnings)
}

/// The Hessian the second stage's search starts from, in its coordinates, when the first
/// stage tells it without more evaluations (instead of k(k + 1) values differencing the
/// gradient): θ's block from the first stage's convergence check (the `nAGQ = 0` deviance,
/// β profiled out), β's from its PIRLS solution, `2 diag(s) Var(β̂)⁻¹ diag(s)` in units `s`
/// of β's standard errors, the blocks uncoupled (a GLMM's fixed effects and covariance
/// parameters are nearly orthogonal; the search learns what coupling there is). `None`, and
/// the search differences its gradient, when `Var(β̂)` is not positive definite.
fn start_hessian(
    n_theta: usize,
    theta_block: &[f64],
    vcov: &[f64],
    scale: &[f64],
) -> Option<Vec<f64>> {
    let p = scale.len();
    let k = n_theta + p;
    let inv = spd_inverse(vcov, p)?;
    let mut h = vec![0.0; k * k];
    for a in 0..n_theta {
        h[a * k..a * k + n_theta].copy_from_slice(&theta_block[a * n_theta..(a + 1) * n_theta]);
    }
    for a in 0..p {
        for b in 0..p {
            h[(n_theta + a) * k + n_theta + b] = 2.0 * scale[a] * scale[b] * inv[a * p + b];
        }
    }
    Some(h)
}

/// The step of the second stage's search in a coefficient, its standard error `se`: 1 where
/// that is not a positive number (an unidentified coefficient), so the search still moves.
fn step_scale(se: f64) -> f64 {
    if se.is_finite() && se > 0.0 {
        se
    } else {
        1.0
    }
}

impl GlmmProblem {
    /// The full problem (lme4's second stage) from `x0 = [θ, β, (log θ_NB)]`, searched over
    /// (θ/u, δ) with β = β₀ + s∘δ, `s` the scale of each coefficient (its standard error) and
    /// `u` θ's units ([`GlmmProblem::unit`]), so that one trust-region radius suits every
    /// parameter, from the Hessian `seed` when known ([`start_hessian`]). Returns the
    /// optimum's parameters in the unscaled form, and the optimizer's report.
    fn optimise(
        &mut self,
        x0: &[f64],
        scale: &[f64],
        seed: Option<&[f64]>,
        max_evaluations: usize,
    ) -> (Vec<f64>, Optimum) {
        let (n_theta, p) = (self.n_theta, self.p);
        let (mut lower, mut upper) = self.pirls.lambda.bounds();
        lower.extend(std::iter::repeat_n(f64::NEG_INFINITY, p));
        upper.extend(std::iter::repeat_n(f64::INFINITY, p));
        if self.negative_binomial {
            lower.push(NB_LOG_THETA_RANGE.0);
            upper.push(NB_LOG_THETA_RANGE.1);
        }
        let beta0 = &x0[n_theta..n_theta + p];
        let theta_unit = self.unit[..n_theta].to_vec();
        let unscale = |x: &[f64]| -> Vec<f64> {
            let mut out = x.to_vec();
            for (t, u) in out.iter_mut().zip(&theta_unit) {
                *t *= u;
            }
            for j in 0..p {
                out[n_theta + j] = beta0[j] + scale[j] * x[n_theta + j];
            }
            out
        };
        let mut start = x0.to_vec();
        for (t, u) in start.iter_mut().zip(&theta_unit) {
            *t /= u;
        }
        start[n_theta..n_theta + p]
            .iter_mut()
            .for_each(|d| *d = 0.0);
        let optimum = if self.pirls.has_gradient() {
            let units: Vec<f64> = theta_unit.iter().chain(scale).copied().collect();
            optimize::minimise_smooth(
                self.smooth(unscale, units, false),
                &start,
                &lower,
                &upper,
                max_evaluations,
                seed,
            )
        } else {
            let (gradient_step, hessian_step) = self.steps;
            optimize::minimise_by_differences(
                |x| self.deviance(&unscale(x)),
                &start,
                &lower,
                &upper,
                max_evaluations,
                gradient_step,
                hessian_step,
                seed,
            )
        };
        (unscale(&optimum.theta), optimum)
    }
}

/// `offset + Xβ` per observation: the linear predictor with the random effects at zero.
fn population_eta(design: &Design, beta: &[f64]) -> Vec<f64> {
    let mut eta = crate::inference::linear_predictor(design, beta);
    eta.iter_mut()
        .zip(&design.offset)
        .for_each(|(e, o)| *e += o);
    eta
}

/// What a generalized model cannot have: a residual structure (there is no residual
/// variance to correlate), quadrature beyond one scalar random effect, or more nodes than
/// lme4 allows.
fn check_model(design: &Design, options: &GlmmOptions) -> Result<(), ModelError> {
    if let Some(res) = &design.residual {
        return Err(ModelError::GlmmUnsupported {
            what: format!(
                "a residual structure ({}) is not offered with a {} family",
                res.spec.describe(),
                options.family.name()
            ),
            help: "a generalized model has no residual variance to correlate; model the \
                   dependence with random effects instead, e.g. (1 | subject)"
                .into(),
        });
    }
    if design.random.is_empty() {
        return Err(ModelError::NoRandomEffects);
    }
    if !options.family.allows(options.link) {
        return Err(ModelError::GlmmUnsupported {
            what: format!(
                "the {} family does not take the {} link",
                options.family.name(),
                options.link.name()
            ),
            help: "binomial takes logit, probit or cloglog; poisson and negative-binomial take log"
                .into(),
        });
    }
    if options.nagq == 0 || options.nagq > MAX_NAGQ {
        return Err(ModelError::GlmmUnsupported {
            what: format!("--nagq {} is out of range", options.nagq),
            help: format!("use 1 (Laplace) up to {MAX_NAGQ} quadrature nodes"),
        });
    }
    if options.nagq > 1 {
        let scalar_one = design.random.len() == 1 && design.random[0].q() == 1;
        if !scalar_one {
            let terms: Vec<String> = design
                .random
                .iter()
                .map(|b| format!("({} | {})", b.names.join(" + "), b.group))
                .collect();
            return Err(ModelError::GlmmUnsupported {
                what: format!(
                    "adaptive quadrature (--nagq {}) needs exactly one random-effect term with \
                     one random effect per level, but the model has {}",
                    options.nagq,
                    terms.join(", ")
                ),
                help: "lme4's rule: nAGQ > 1 only for a single scalar random effect; use --nagq 1 \
                       (Laplace) for this model"
                    .into(),
            });
        }
    }
    Ok(())
}
