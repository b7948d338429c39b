//! What a fit reports: estimates, variance components, conditional modes and diagnostics.

use super::optimize::{Optimum, BOUNDARY_TOLERANCE};
use super::Problem;
use crate::error::ModelError;
use crate::inference::{DfRule, Satterthwaite, TTest};
use serde::Serialize;

/// One row of lme4's `as.data.frame(VarCorr(fit))`: a variance (`var2` empty), a covariance
/// (`sdcor` then holds the correlation), or the residual (`var1` empty).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VarCorrRow {
    pub group: String,
    pub var1: Option<String>,
    pub var2: Option<String>,
    pub vcov: f64,
    pub sdcor: f64,
}

/// The random effects of one term.
#[derive(Debug, Clone)]
pub struct RandomEffects {
    /// Grouping factor name (`Subject`, `cask:batch`).
    pub group: String,
    /// Name as lme4's `VarCorr` shows it: made unique (`Subject.1`) when a factor repeats.
    pub label: String,
    pub names: Vec<String>,
    pub levels: Vec<String>,
    /// Covariance matrix σ²TT' (row-major q × q).
    pub covariance: Vec<f64>,
    /// Conditional modes (BLUPs), row-major `levels × q`.
    pub modes: Vec<f64>,
}

impl RandomEffects {
    /// The correlation of effects `a` and `b`; `None` when either SD is zero.
    pub fn correlation(&self, a: usize, b: usize) -> Option<f64> {
        crate::inference::sdcor::correlation(&self.covariance, self.names.len(), a, b)
    }
}

/// How the optimisation went.
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    pub converged: bool,
    pub evaluations: usize,
    pub optimizer: &'static str,
    pub status: String,
    /// lme4's scaled gradient at the optimum, over parameters off the boundary.
    pub scaled_gradient: Option<f64>,
}

/// A fitted linear mixed model.
#[derive(Debug, Clone)]
pub struct LmmFit {
    pub reml: bool,
    pub n_obs: usize,
    pub n_dropped: usize,
    pub theta: Vec<f64>,
    /// −2 log-likelihood (ML) or the REML criterion.
    pub objective: f64,
    pub loglik: f64,
    pub aic: f64,
    pub bic: f64,
    /// Parameters counted by the information criteria: fixed effects, covariance and
    /// residual-structure parameters, and σ.
    pub n_parameters: usize,
    /// Nakagawa's marginal and conditional R².
    pub r_squared: crate::inference::RSquared,
    pub sigma: f64,
    pub fixed_names: Vec<String>,
    pub beta: Vec<f64>,
    /// Var(β̂), row-major p × p.
    pub vcov: Vec<f64>,
    /// The t-test of each coefficient with Satterthwaite's degrees of freedom, as lmerTest's
    /// `summary()`; `None` when not asked for ([`crate::FitOptions::satterthwaite`]).
    pub t_tests: Option<Vec<TTest>>,
    /// The derivatives behind `t_tests`, kept so that other contrasts (lmerTest's `anova`)
    /// reuse them instead of repeating their factorisations.
    pub satterthwaite: Option<Satterthwaite>,
    pub random: Vec<RandomEffects>,
    pub singular: bool,
    pub convergence: Convergence,
    /// Plain-language notes: dropped columns, convergence, singularity.
    pub warnings: Vec<String>,
    /// Fitted values and residuals per observation, and the data rows the model used, in
    /// order (indices into the data set): empty for a fit from per-subject statistics
    /// ([`crate::statistics::fit_from_statistics`]), which has no observations at hand.
    pub fitted: Vec<f64>,
    pub residuals: Vec<f64>,
    pub rows: Vec<usize>,
    /// The residual structure's estimates, when the model has one.
    pub residual_structure: Option<ResidualFit>,
}

/// Estimates of a residual correlation or variance structure.
#[derive(Debug, Clone, Serialize)]
pub struct ResidualFit {
    pub description: String,
    /// Parameter names: `Phi` (AR(1), CAR(1)), `Rho` (compound symmetry), or the levels
    /// whose standard-deviation ratio to the reference level is estimated (varident).
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

impl LmmFit {
    pub(super) fn at_optimum(
        mut problem: Problem,
        opt: Optimum,
        satterthwaite: bool,
    ) -> Result<LmmFit, ModelError> {
        let objective = problem.objective(&opt.theta);
        let (n, p) = (problem.n(), problem.design.p());
        let denom = if problem.reml { n - p } else { n } as f64;
        let sigma = (problem.factor.pwrss / denom).sqrt();
        let satterthwaite = satterthwaite.then(|| {
            let s = Satterthwaite::new(&mut problem, &opt.theta, sigma);
            problem.objective(&opt.theta); // back to θ̂
            s
        });
        let sd_mask = problem.sd_mask();
        let n_theta = problem.n_theta();
        // Singular on the scale the search used, so the verdict does not depend on the unit
        // of a predictor.
        let internal: Vec<f64> = opt
            .theta
            .iter()
            .zip(problem.parameter_scales())
            .map(|(t, s)| t * s)
            .collect();
        let residual_structure = problem.residual_model().map(|m| ResidualFit {
            description: m.spec.describe(),
            names: m.param_names(),
            values: opt.theta[n_theta..].to_vec(),
        });
        let (beta, u) = problem.solution();
        let Problem {
            mut design,
            moments,
            blocks,
            factor,
            reml,
            ..
        } = problem;
        // The factor holds T for the scaled columns; b = Λu with the reported θ is the
        // effect per unit of each column as given.
        let mut lambda = factor.lambda.clone();
        lambda.set(&opt.theta[..n_theta]);
        let t_tests = satterthwaite.as_ref().map(|s| s.coefficient_tests(&beta));
        let s2 = sigma * sigma;
        let vcov: Vec<f64> = factor
            .unscaled_vcov(&blocks)
            .iter()
            .map(|v| v * s2)
            .collect();
        // The blocks and their factor are the largest arrays of a fit with many subjects
        // (about 300 bytes a subject): gone before the modes are formed.
        drop((blocks, factor));

        // Random effects b = Λu, per term, and the fitted values.
        let mut fitted = design.offset.clone();
        for (b, col) in beta.iter().zip(design.x.chunks_exact(n)) {
            fitted.iter_mut().zip(col).for_each(|(f, x)| *f += b * x);
        }
        let mut random = Vec::new();
        let mut offset = 0;
        let mut seen: Vec<String> = Vec::new();
        for (k, block) in design.random.iter_mut().enumerate() {
            let (q, levels) = (block.q(), block.levels.len());
            let t = &lambda.t[k];
            let mut modes = vec![0.0; levels * q];
            for l in 0..levels {
                let ul = &u[offset + l * q..offset + (l + 1) * q];
                for r in 0..q {
                    modes[l * q + r] = (0..=r).map(|c| t[c * q + r] * ul[c]).sum();
                }
            }
            offset += levels * q;
            for (i, f) in fitted.iter_mut().enumerate() {
                let l = block.codes[i] as usize;
                let z = &block.values[i * q..(i + 1) * q];
                *f += z
                    .iter()
                    .zip(&modes[l * q..(l + 1) * q])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
            }
            let mut covariance = lambda.covariance(k);
            covariance.iter_mut().for_each(|c| *c *= s2);
            // lme4 makes repeated grouping names unique: Subject, Subject.1, ...
            let repeats = seen.iter().filter(|g| **g == block.group).count();
            seen.push(block.group.clone());
            let label = if repeats == 0 {
                block.group.clone()
            } else {
                format!("{}.{}", block.group, repeats)
            };
            random.push(RandomEffects {
                group: block.group.clone(),
                label,
                names: block.names.clone(),
                // Moved, not copied: ten million labels are half a gigabyte.
                levels: std::mem::take(&mut block.levels),
                covariance,
                modes,
            });
        }
        let residuals: Vec<f64> = design
            .y
            .iter()
            .zip(&design.offset)
            .zip(&fitted)
            .map(|((y, o), f)| y + o - f)
            .collect();

        let singular = internal
            .iter()
            .zip(&sd_mask)
            .any(|(t, &sd)| sd && *t < BOUNDARY_TOLERANCE);
        let n_parameters = p + opt.theta.len() + 1;
        let n_par = n_parameters as f64;
        let r_squared = match &moments {
            Some(m) => crate::inference::r_squared_from_sums(m, n, &beta, &random, sigma),
            None => crate::inference::r_squared(&design, &beta, &random, sigma),
        };
        let mut warnings: Vec<String> = Vec::new();
        if !design.aliased.is_empty() {
            let k = design.aliased.len();
            warnings.push(format!(
                "fixed-effect model matrix is rank deficient so dropping {k} column{} / coefficient{}: {}",
                if k == 1 { "" } else { "s" },
                if k == 1 { "" } else { "s" },
                design.aliased.join(", ")
            ));
        }
        warnings.extend(opt.warnings.iter().cloned());
        if singular {
            warnings.push("boundary (singular) fit: see help('isSingular')".into());
        }
        warnings.extend(satterthwaite.iter().flat_map(Satterthwaite::warnings));
        // One verdict for the flag and the warnings: a failed check anywhere fails it.
        let converged = opt.converged
            && !satterthwaite
                .as_ref()
                .is_some_and(Satterthwaite::not_at_minimum);
        Ok(LmmFit {
            reml,
            n_obs: n,
            n_dropped: design.n_dropped,
            theta: opt.theta[..n_theta].to_vec(),
            residual_structure,
            objective,
            loglik: -objective / 2.0,
            aic: objective + 2.0 * n_par,
            bic: objective + (n as f64).ln() * n_par,
            n_parameters,
            r_squared,
            sigma,
            fixed_names: design.x_names.clone(),
            beta,
            vcov,
            t_tests,
            satterthwaite,
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
            fitted,
            residuals,
            rows: design.rows.clone(),
        })
    }

    /// AIC with the small-sample correction: AIC + 2k(k+1)/(n−k−1); none with no more
    /// observations than k + 1, where the correction is undefined (it turned negative: 4
    /// observations and 4 parameters gave an AICc 40 below the AIC).
    pub fn aicc(&self) -> Option<f64> {
        let (k, n) = (self.n_parameters as f64, self.n_obs as f64);
        (n > k + 1.0).then(|| self.aic + 2.0 * k * (k + 1.0) / (n - k - 1.0))
    }

    /// Bozdogan's consistent AIC: −2 log L + k(log n + 1).
    pub fn caic(&self) -> f64 {
        let k = self.n_parameters as f64;
        -2.0 * self.loglik + k * ((self.n_obs as f64).ln() + 1.0)
    }

    /// The degrees of freedom of `t_tests` (and of the Type III table): Satterthwaite's, or
    /// the residual ones for a model without random effects. `None` without tests.
    pub fn df_rule(&self) -> Option<DfRule> {
        self.satterthwaite.as_ref().map(Satterthwaite::rule)
    }

    /// Standard errors of β̂.
    pub fn std_errors(&self) -> Vec<f64> {
        let p = self.beta.len();
        (0..p).map(|j| self.vcov[j * p + j].sqrt()).collect()
    }

    /// Levels per grouping factor, each factor once, in term order (lme4's `ngrps`).
    pub fn groups(&self) -> Vec<(String, usize)> {
        groups(&self.random)
    }

    /// Variance components in the shape of lme4's `as.data.frame(VarCorr(fit))`.
    pub fn varcorr(&self) -> Vec<VarCorrRow> {
        let mut rows = varcorr_rows(&self.random);
        rows.push(VarCorrRow {
            group: "Residual".into(),
            var1: None,
            var2: None,
            vcov: self.sigma * self.sigma,
            sdcor: self.sigma,
        });
        rows
    }
}

/// The random-effect rows of lme4's `as.data.frame(VarCorr(fit))`: each term's variances,
/// then its covariances (with the correlation in `sdcor`).
pub fn varcorr_rows(random: &[RandomEffects]) -> Vec<VarCorrRow> {
    let mut rows = Vec::new();
    for r in random {
        let q = r.names.len();
        let cov = |a: usize, b: usize| r.covariance[a * q + b];
        for a in 0..q {
            rows.push(VarCorrRow {
                group: r.label.clone(),
                var1: Some(r.names[a].clone()),
                var2: None,
                vcov: cov(a, a),
                sdcor: cov(a, a).sqrt(),
            });
        }
        for a in 0..q {
            for b in a + 1..q {
                rows.push(VarCorrRow {
                    group: r.label.clone(),
                    var1: Some(r.names[a].clone()),
                    var2: Some(r.names[b].clone()),
                    vcov: cov(a, b),
                    sdcor: r.correlation(a, b).unwrap_or(f64::NAN),
                });
            }
        }
    }
    rows
}

/// Levels per grouping factor of `random`, each factor once, in term order (lme4's
/// `ngrps`): for linear and generalized fits alike.
pub(crate) fn groups(random: &[RandomEffects]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for r in random {
        if !out.iter().any(|(g, _)| *g == r.group) {
            out.push((r.group.clone(), r.levels.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CovarianceType, ModelSpec, RandomTerm, Term, TermList, Variable};
    use crate::{read_csv, Design};

    /// `Reaction ~ Days + (Days | Subject)` on sleepstudy, as a problem to evaluate anywhere.
    fn sleepstudy_problem() -> Problem {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/reference/sleepstudy.csv"
        );
        let data = read_csv(std::fs::File::open(path).unwrap(), "sleepstudy.csv").unwrap();
        let days = || TermList {
            intercept: true,
            terms: vec![Term {
                variables: vec![Variable::column("Days")],
            }],
        };
        let spec = ModelSpec {
            formula: "Reaction ~ Days + (Days | Subject)".into(),
            response: Variable::column("Reaction"),
            failures: None,
            fixed: days(),
            random: vec![RandomTerm {
                terms: days(),
                grouping: vec!["Subject".into()],
                name: "Subject".into(),
                covariance: CovarianceType::Unstructured,
            }],
            offsets: Vec::new(),
            residual: None,
        };
        Problem::new(Design::build(&spec, &data).unwrap(), true).unwrap()
    }

    /// Issue 17 item 4: where the optimizer's own check passed but the deviance's Hessian
    /// over (θ, σ) has negative eigenvalues (lmerTest's "Model failed to converge with 2
    /// negative eigenvalues"), the fit is not converged: the flag (JSON's `converged`) and the
    /// warnings (the text summary's and JSON's) say the same. It once said `converged: true`
    /// beside the warning.
    #[test]
    fn a_negative_eigenvalue_of_the_hessian_is_not_convergence() {
        let mut problem = sleepstudy_problem();
        // Far past the optimum (θ̂ ≈ (0.97, 0.015, 0.23)): the deviance is concave there.
        let theta = vec![20.0, 0.0, 20.0];
        let objective = problem.objective(&theta);
        let opt = Optimum {
            theta,
            objective,
            evaluations: 1,
            optimizer: "bfgs",
            status: "stopped here by the test".into(),
            scaled_gradient: Some(0.0),
            converged: true,
            warnings: Vec::new(),
            hessian: None,
        };
        let fit = LmmFit::at_optimum(problem, opt, true).unwrap();
        assert!(
            fit.satterthwaite.as_ref().unwrap().not_at_minimum(),
            "{:?}",
            fit.satterthwaite.as_ref().unwrap().hessian_eigenvalues
        );
        assert!(!fit.convergence.converged);
        assert!(
            fit.warnings
                .iter()
                .any(|w| w.starts_with("Model failed to converge with 2 negative eigenvalues")),
            "{:?}",
            fit.warnings
        );
    }
}
