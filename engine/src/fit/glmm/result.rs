//! What a generalized linear mixed-model fit reports, in the terms of glmer's `summary()`.

use super::GlmmProblem;
use crate::error::ModelError;
use crate::family::{Family, Link};
use crate::fit::factor::spd_inverse;
use crate::fit::optimize::{central_hessian, Optimum, BOUNDARY_TOLERANCE};
use crate::fit::{Convergence, RandomEffects, VarCorrRow};

/// A fitted generalized linear mixed model.
#[derive(Debug, Clone)]
pub struct GlmmFit {
    pub family: Family,
    pub link: Link,
    pub nagq: usize,
    pub n_obs: usize,
    pub n_dropped: usize,
    pub theta: Vec<f64>,
    /// The negative binomial's θ (Var(y) = μ + μ²/θ).
    pub nb_theta: Option<f64>,
    /// −2 log-likelihood, with every constant of the family's density.
    pub objective: f64,
    pub loglik: f64,
    pub aic: f64,
    pub bic: f64,
    /// Parameters the information criteria count: θ, β and the negative binomial's θ.
    pub n_parameters: usize,
    /// Pearson's χ² over its residual degrees of freedom (n minus the parameters): well
    /// above 1 signals overdispersion.
    pub dispersion: f64,
    pub fixed_names: Vec<String>,
    pub beta: Vec<f64>,
    /// Var(β̂), row-major p × p, from the Hessian over all parameters (lme4's).
    pub vcov: Vec<f64>,
    pub random: Vec<RandomEffects>,
    pub singular: bool,
    pub convergence: Convergence,
    pub warnings: Vec<String>,
    /// Linear predictor and fitted mean (μ per trial) at the conditional modes: lme4's
    /// `predict(fit)` and `predict(fit, type = "response")`.
    pub eta: Vec<f64>,
    pub fitted: Vec<f64>,
    /// `offset + Xβ̂`, the linear predictor with every random effect at zero: lme4's
    /// `predict(fit, re.form = NA)`.
    pub eta_fixed: Vec<f64>,
    /// `(y − mμ) / √(m V(μ))` at the conditional modes (glmer's "scaled residuals").
    pub pearson_residuals: Vec<f64>,
    pub rows: Vec<usize>,
}

/// A Wald test of one coefficient, as glmer's `summary()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    pub std_error: f64,
    pub z: f64,
    pub p: f64,
}

impl GlmmFit {
    pub fn std_errors(&self) -> Vec<f64> {
        let p = self.beta.len();
        (0..p).map(|j| self.vcov[j * p + j].sqrt()).collect()
    }

    /// The Wald z-test of each coefficient: `z = β/SE`, `p = 2Φ(−|z|)`.
    pub fn z_tests(&self) -> Vec<ZTest> {
        self.beta
            .iter()
            .zip(self.std_errors())
            .map(|(&b, se)| {
                let z = b / se;
                ZTest {
                    std_error: se,
                    z,
                    p: libm::erfc(z.abs() / std::f64::consts::SQRT_2),
                }
            })
            .collect()
    }

    /// Variance components as lme4's `as.data.frame(VarCorr(fit))` (no residual row: the
    /// family fixes the scale).
    pub fn varcorr(&self) -> Vec<VarCorrRow> {
        crate::fit::varcorr_rows(&self.random)
    }

    /// Levels per grouping factor, each factor once, in term order (lme4's `ngrps`).
    pub fn groups(&self) -> Vec<(String, usize)> {
        crate::fit::result::groups(&self.random)
    }
}

/// Everything at the optimum `params = [θ, β, (log θ_NB)]`.
pub(super) fn assemble(
    mut problem: GlmmProblem,
    params: Vec<f64>,
    opt: Optimum,
    mut warnings: Vec<String>,
) -> Result<GlmmFit, ModelError> {
    let n_theta = problem.n_theta;
    let p = problem.p;
    let k = params.len();
    // Var(β̂) = 2 H⁻¹ on β's block, H the deviance's Hessian over every parameter by
    // central differences with the step of the full problem's Hessians. lme4's own deriv12 (step
    // 1e-4) gave standard errors several times too small on this deviance in a trial: its
    // second differences divide by 1e-8 whatever rounding is left in PIRLS's modes. With
    // PIRLS taking its last Newton step ([`super::pirls`]) that rounding is about 1e-9, so
    // a step of 1e-2 leaves about 1e-5 in each entry and a truncation error (h²/12 · f⁗)
    // of the same order, in 1 + 2k² evaluations near the optimum (numDeriv's Richardson
    // extrapolation, used before, took 1 + 4k(k + 1), from as far as a tenth of each value).
    // Over each parameter in its units ([`GlmmProblem::unit`]): the steps are then the same
    // fraction of a standard error whatever a predictor's units. These are the second
    // stage's search coordinates up to a shift, so the convergence check's Hessian (the
    // same step, central values, when no parameter was on a bound) serves when the polish
    // after it moved the parameters by less than the step: the Hessian changes over that
    // distance by no more than its differences' own error.
    let unit = problem.unit.clone();
    let step = problem.steps.1;
    let internal: Vec<f64> = params.iter().zip(&unit).map(|(x, u)| x / u).collect();
    let hessian = match &opt.hessian {
        Some((at, h))
            if at
                .iter()
                .zip(&opt.theta)
                .all(|(a, b)| (a - b).abs() <= step) =>
        {
            h.clone()
        }
        _ => central_hessian(
            |z| {
                let x: Vec<f64> = z.iter().zip(&unit).map(|(z, u)| z * u).collect();
                problem.deviance(&x)
            },
            &internal,
            step,
        ),
    };
    let objective = problem.deviance(&params);
    if !objective.is_finite() {
        return Err(ModelError::Numerical {
            reason: "PIRLS failed at the optimum".into(),
        });
    }
    let vcov = match spd_inverse(&hessian, k) {
        Some(inv) => {
            let mut v = vec![0.0; p * p];
            for a in 0..p {
                for b in 0..p {
                    let (ia, ib) = (n_theta + a, n_theta + b);
                    v[a * p + b] = 2.0 * inv[ia * k + ib] * unit[ia] * unit[ib];
                }
            }
            v
        }
        None => {
            warnings.push(
                "the Hessian of the deviance is not positive definite at the optimum: no \
                 standard errors (the model may be overparameterised, or the fit is not at a \
                 minimum)"
                    .into(),
            );
            vec![f64::NAN; p * p]
        }
    };
    let pirls = &problem.pirls;
    let design = &pirls.design;
    let n = design.n();
    let theta = params[..n_theta].to_vec();
    let beta = params[n_theta..n_theta + p].to_vec();
    let nb_theta = problem.negative_binomial.then(|| params[k - 1].exp());

    let mut random = Vec::new();
    let mut offset = 0;
    let mut seen: Vec<String> = Vec::new();
    for (t_index, block) in design.random.iter().enumerate() {
        let (q, levels) = (block.q(), block.levels.len());
        let t = &pirls.lambda.t[t_index];
        let mut modes = vec![0.0; levels * q];
        for l in 0..levels {
            let ul = &pirls.u[offset + l * q..offset + (l + 1) * q];
            for r in 0..q {
                modes[l * q + r] = (0..=r).map(|c| t[c * q + r] * ul[c]).sum();
            }
        }
        offset += levels * q;
        let repeats = seen.iter().filter(|g| **g == block.group).count();
        seen.push(block.group.clone());
        random.push(RandomEffects {
            group: block.group.clone(),
            label: if repeats == 0 {
                block.group.clone()
            } else {
                format!("{}.{}", block.group, repeats)
            },
            names: block.names.clone(),
            levels: block.levels.clone(),
            covariance: pirls.lambda.covariance(t_index),
            modes,
        });
    }
    let sd_mask = pirls.lambda.sd_mask();
    let singular = theta
        .iter()
        .zip(&sd_mask)
        .any(|(t, &sd)| sd && *t < BOUNDARY_TOLERANCE);
    if !design.aliased.is_empty() {
        warnings.push(format!(
            "fixed-effect model matrix is rank deficient so dropping {} column(s) / coefficient(s): {}",
            design.aliased.len(),
            design.aliased.join(", ")
        ));
    }
    warnings.extend(opt.warnings.iter().cloned());
    if singular {
        warnings.push("boundary (singular) fit: see help('isSingular')".into());
    }
    let fitted: Vec<f64> = pirls.eta.iter().map(|&e| pirls.link.mean(e).0).collect();
    let diverging = diverging_coefficients(&mut problem, &params, objective);
    let pirls = &problem.pirls;
    let design = &pirls.design;
    if !diverging.is_empty() {
        let names: Vec<&str> = diverging
            .iter()
            .map(|&j| design.x_names[j].as_str())
            .collect();
        warnings.push(format!(
            "the likelihood keeps rising as {} move{} further from zero: (quasi-)complete \
             separation, no finite maximum-likelihood estimate; the estimates and standard \
             errors of {} are not meaningful",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            if names.len() == 1 {
                "this coefficient"
            } else {
                "these coefficients"
            },
        ));
    }
    let n_par = k as f64;
    let pearson_residuals = pirls.pearson_residuals();
    let chi2: f64 = pearson_residuals.iter().map(|r| r * r).sum();
    let dispersion = chi2 / (n as f64 - n_par);
    let converged = opt.converged && diverging.is_empty();
    let eta_fixed = super::population_eta(design, &beta);
    Ok(GlmmFit {
        family: pirls.family,
        link: pirls.link,
        nagq: pirls.nagq,
        n_obs: n,
        n_dropped: design.n_dropped,
        theta,
        nb_theta,
        objective,
        loglik: -objective / 2.0,
        aic: objective + 2.0 * n_par,
        bic: objective + (n as f64).ln() * n_par,
        n_parameters: k,
        dispersion,
        fixed_names: design.x_names.clone(),
        beta,
        vcov,
        random,
        singular,
        convergence: Convergence {
            converged,
            evaluations: opt.evaluations,
            optimizer: opt.optimizer,
            status: opt.status,
            scaled_gradient: opt.scaled_gradient,
        },
        warnings,
        eta: pirls.eta.clone(),
        eta_fixed,
        pearson_residuals,
        fitted,
        rows: design.rows.clone(),
    })
}

/// The fixed effects with no finite estimate (separation): those for which shifting the
/// linear predictor by 10 per standard deviation of the coefficient's column (10 for an
/// intercept), further from zero, raises the deviance by less than 0.01. At a finite
/// optimum such a shift moves fitted probabilities or rates by orders of magnitude and the
/// deviance by far more; where the data are separated the optimizer has only stopped
/// somewhere along a ridge that keeps falling to its limit.
fn diverging_coefficients(problem: &mut GlmmProblem, params: &[f64], objective: f64) -> Vec<usize> {
    let (n_theta, p) = (problem.n_theta, problem.p);
    let n = problem.pirls.design.n();
    let sds: Vec<f64> = problem
        .pirls
        .design
        .x
        .chunks_exact(n.max(1))
        .map(|col| {
            let mean = col.iter().sum::<f64>() / n as f64;
            (col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        })
        .collect();
    // Each shifted evaluation starts from the optimum's modes (nearer than another shift's),
    // and the PIRLS state is left there.
    let optimum = problem.pirls.snapshot();
    let diverging = (0..p)
        .filter(|&j| {
            let beta = params[n_theta + j];
            let unit = if sds[j] > 0.0 { sds[j] } else { 1.0 };
            let mut shifted = params.to_vec();
            shifted[n_theta + j] += beta.signum() * 10.0 / unit;
            problem.restore(&optimum);
            beta != 0.0 && problem.deviance(&shifted) < objective + 1e-2
        })
        .collect();
    problem.restore(&optimum);
    diverging
}
