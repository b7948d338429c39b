//! Penalized iteratively reweighted least squares: the conditional modes of the random
//! effects at given θ (and β, or with β estimated alongside as in lme4's `nAGQ = 0`), and
//! the Laplace or adaptive-quadrature deviance at them.

use super::quadrature::gauss_hermite;
use super::GlmmOptions;
use crate::design::{Design, GlmResponse};
use crate::error::ModelError;
use crate::family::{Family, Link};
use crate::fit::blocks::Blocks;
use crate::fit::factor::{Factor, Lambda};

/// PIRLS iterations before giving up.
const MAX_ITERATIONS: usize = 200;
/// Halvings of a step that raised the penalized deviance before giving up.
const MAX_HALVINGS: usize = 30;
/// Converged when the penalized deviance changes by less than this, relative.
const TOLERANCE: f64 = 1e-13;

/// A copy of the design whose rows are scaled by `√w`, with its cross-products and factor:
/// one penalized weighted least-squares problem of the linear engine.
struct Weighted {
    design: Design,
    blocks: Blocks,
    factor: Factor,
    /// Every random-effect column's scale: 1.
    unit: Vec<Vec<f64>>,
}

impl Weighted {
    /// `with_x`: β is estimated with `u` (otherwise it is fixed and only `Z` enters).
    fn new(base: &Design, with_x: bool, lambda: Lambda) -> Weighted {
        let mut design = base.clone();
        if !with_x {
            design.x.clear();
            design.x_names.clear();
            design.x_origins.clear();
        }
        // θ is on the scale of the columns as they are (no unit rescaling, unlike the
        // linear problem): the GLMM's own parameters are searched by its own problem.
        let unit: Vec<Vec<f64>> = design.random.iter().map(|b| vec![1.0; b.q()]).collect();
        let blocks = Blocks::new(&design, &unit);
        // PIRLS reweights the cross-products at every step: no sparse analysis of one set.
        let factor = Factor::new(&blocks, lambda, false);
        Weighted {
            design,
            blocks,
            factor,
            unit,
        }
    }

    /// Refills the rows as `√w`-scaled copies of `base`'s with working response `r`, and
    /// factorises at θ; `false` when the factorisation fails.
    fn factorise(&mut self, base: &Design, sw: &[f64], r: &[f64], theta: &[f64]) -> bool {
        let n = base.n();
        for (j, col) in self.design.x.chunks_exact_mut(n).enumerate() {
            let src = &base.x[j * n..(j + 1) * n];
            for i in 0..n {
                col[i] = src[i] * sw[i];
            }
        }
        for (wb, bb) in self.design.random.iter_mut().zip(&base.random) {
            let q = bb.q();
            for i in 0..n {
                for c in 0..q {
                    wb.values[i * q + c] = bb.values[i * q + c] * sw[i];
                }
            }
        }
        for i in 0..n {
            self.design.y[i] = r[i] * sw[i];
        }
        self.blocks.refill(&self.design, &self.unit);
        self.factor.update(&self.blocks, theta)
    }
}

/// The PIRLS state of one model: the last solution is where the next evaluation starts.
pub(super) struct Pirls {
    pub design: Design,
    /// Response counts (successes for the binomial) and trials per observation.
    pub y: Vec<f64>,
    pub trials: Vec<f64>,
    pub family: Family,
    pub link: Link,
    pub nagq: usize,
    pub lambda: Lambda,
    joint: Weighted,
    modes: Weighted,
    /// The last solution: β, spherical random effects `u`, linear predictor η.
    pub beta: Vec<f64>,
    pub u: Vec<f64>,
    pub eta: Vec<f64>,
    started: bool,
    /// Observations of each level of the one scalar term (for quadrature).
    members: Vec<Vec<usize>>,
    rule: (Vec<f64>, Vec<f64>),
}

impl Pirls {
    pub fn new(
        design: Design,
        y: Vec<f64>,
        trials: Vec<f64>,
        options: &GlmmOptions,
        lambda: Lambda,
    ) -> Pirls {
        let joint = Weighted::new(&design, true, lambda.clone());
        let modes = Weighted::new(&design, false, lambda.clone());
        let n_u: usize = design.random.iter().map(|b| b.q() * b.levels.len()).sum();
        let mut members = Vec::new();
        if options.nagq > 1 {
            let b = &design.random[0];
            members = vec![Vec::new(); b.levels.len()];
            for (i, &c) in b.codes.iter().enumerate() {
                members[c as usize].push(i);
            }
        }
        Pirls {
            beta: vec![0.0; design.p()],
            u: vec![0.0; n_u],
            eta: vec![0.0; design.n()],
            y,
            trials,
            family: options.family,
            link: options.link,
            nagq: options.nagq,
            lambda,
            joint,
            modes,
            started: false,
            members,
            rule: gauss_hermite(options.nagq),
            design,
        }
    }

    /// Replaces the response counts (successes, for the binomial; the trials stay), and
    /// forgets the last solution: a bootstrap refit.
    pub fn set_counts(&mut self, y: Vec<f64>) {
        assert_eq!(y.len(), self.y.len(), "one count per observation");
        self.y = y;
        self.started = false;
        self.u.iter_mut().for_each(|v| *v = 0.0);
    }

    /// `Zb` with `b = Λu`, per observation.
    fn z_lambda_u(&self, u: &[f64]) -> Vec<f64> {
        let n = self.design.n();
        let mut out = vec![0.0; n];
        let mut offset = 0;
        for (k, block) in self.design.random.iter().enumerate() {
            let (q, levels) = (block.q(), block.levels.len());
            let t = &self.lambda.t[k];
            let mut b = vec![0.0; levels * q];
            for l in 0..levels {
                let ul = &u[offset + l * q..offset + (l + 1) * q];
                for r in 0..q {
                    b[l * q + r] = (0..=r).map(|c| t[c * q + r] * ul[c]).sum();
                }
            }
            offset += levels * q;
            for (i, o) in out.iter_mut().enumerate() {
                let l = block.codes[i] as usize;
                let z = &block.values[i * q..(i + 1) * q];
                *o += z
                    .iter()
                    .zip(&b[l * q..(l + 1) * q])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
            }
        }
        out
    }

    /// `offset + Xβ` per observation.
    fn fixed_part(&self, beta: &[f64]) -> Vec<f64> {
        let n = self.design.n();
        let mut out = self.design.offset.clone();
        for (b, col) in beta.iter().zip(self.design.x.chunks_exact(n)) {
            out.iter_mut().zip(col).for_each(|(o, x)| *o += b * x);
        }
        out
    }

    fn eta_at(&self, beta: &[f64], u: &[f64]) -> Vec<f64> {
        let mut eta = self.fixed_part(beta);
        eta.iter_mut()
            .zip(self.z_lambda_u(u))
            .for_each(|(e, z)| *e += z);
        eta
    }

    /// −2 Σ log f(y | η): the conditional deviance with all constants.
    pub fn conditional_deviance(&self, eta: &[f64]) -> f64 {
        -2.0 * eta
            .iter()
            .zip(self.y.iter().zip(&self.trials))
            .map(|(&e, (&y, &m))| self.family.log_density(y, m, self.link.mean(e).0))
            .sum::<f64>()
    }

    fn penalised(&self, eta: &[f64], u: &[f64]) -> f64 {
        self.conditional_deviance(eta) + u.iter().map(|v| v * v).sum::<f64>()
    }

    /// The deviance at θ, with β fixed (`Some`) or estimated inside PIRLS (`None`), from
    /// the last solution, or afresh when that fails. `None` when PIRLS fails from both.
    pub fn deviance(&mut self, theta: &[f64], beta: Option<&[f64]>) -> Option<f64> {
        if let Some(d) = self.try_deviance(theta, beta) {
            return Some(d);
        }
        self.started = false;
        self.u.iter_mut().for_each(|v| *v = 0.0);
        self.try_deviance(theta, beta)
    }

    fn try_deviance(&mut self, theta: &[f64], fixed: Option<&[f64]>) -> Option<f64> {
        self.lambda.set(theta);
        if let Some(b) = fixed {
            self.beta.copy_from_slice(b);
        }
        self.solve_modes(theta, fixed.is_some())?;
        // The Laplace factor: weights at the modes.
        let n = self.design.n();
        let mut sw = vec![0.0; n];
        for i in 0..n {
            let (mu, dmu) = self.link.mean(self.eta[i]);
            let w = self
                .family
                .laplace_weight(self.y[i], self.trials[i], mu, dmu);
            sw[i] = w.max(0.0).sqrt();
        }
        // Only log|L|² is needed; any non-zero response keeps the trailing pivot positive.
        let ones = vec![1.0; n];
        if !self.modes.factorise(&self.design, &sw, &ones, theta) {
            return None;
        }
        let d = if self.nagq > 1 {
            self.quadrature_deviance(theta[0])
        } else {
            self.penalised(&self.eta, &self.u) + self.modes.factor.ld_l2
        };
        d.is_finite().then_some(d)
    }

    /// PIRLS with step halving from the last solution; leaves the modes in `u` (and `beta`
    /// when estimated) and the linear predictor in `eta`.
    fn solve_modes(&mut self, theta: &[f64], beta_fixed: bool) -> Option<()> {
        let n = self.design.n();
        let fixed_part = self.fixed_part(&self.beta);
        let (mut eta, mut pdev) = if self.started {
            let eta = self.eta_at(&self.beta, &self.u);
            let pdev = self.penalised(&eta, &self.u);
            (eta, pdev)
        } else {
            // R's `mustart`: binomial (y + ½)/(m + 1), Poisson and NB y + 0.1.
            let eta = (0..n)
                .map(|i| {
                    let (y, m) = (self.y[i], self.trials[i]);
                    let mu = match self.family {
                        Family::Binomial => (y + 0.5) / (m + 1.0),
                        _ => y + 0.1,
                    };
                    self.link.eta(mu)
                })
                .collect::<Vec<_>>();
            (eta, f64::INFINITY)
        };
        let mut sw = vec![0.0; n];
        let mut r = vec![0.0; n];
        let mut small_steps = 0;
        for _ in 0..MAX_ITERATIONS {
            for i in 0..n {
                let (mu, dmu) = self.link.mean(eta[i]);
                let (w, inc) = self.family.irls(self.y[i], self.trials[i], mu, dmu);
                sw[i] = w.sqrt();
                // The working response less what is held fixed.
                let held = if beta_fixed {
                    fixed_part[i]
                } else {
                    self.design.offset[i]
                };
                r[i] = eta[i] - held + inc;
            }
            let w = if beta_fixed {
                &mut self.modes
            } else {
                &mut self.joint
            };
            if !w.factorise(&self.design, &sw, &r, theta) {
                return None;
            }
            let (beta_new, u_new) = w.factor.solve(&w.blocks);
            let beta_new = if beta_fixed {
                self.beta.clone()
            } else {
                beta_new
            };
            let (beta_old, u_old) = (self.beta.clone(), self.u.clone());
            let mut step = 1.0;
            let mut accepted = None;
            for _ in 0..MAX_HALVINGS {
                let mix = |old: &[f64], new: &[f64]| -> Vec<f64> {
                    old.iter()
                        .zip(new)
                        .map(|(o, n)| o + step * (n - o))
                        .collect()
                };
                let (bc, uc) = (mix(&beta_old, &beta_new), mix(&u_old, &u_new));
                let ec = self.eta_at(&bc, &uc);
                let pc = self.penalised(&ec, &uc);
                if pc.is_finite() && (!self.started || pc <= pdev) {
                    accepted = Some((bc, uc, ec, pc));
                    break;
                }
                // Rounding: no step lowers a deviance already at its minimum.
                if pc.is_finite() && (pc - pdev).abs() <= 1e-10 * (pdev.abs() + 1.0) {
                    self.eta = eta;
                    return Some(());
                }
                step /= 2.0;
            }
            let (bc, uc, ec, pc) = accepted?;
            self.started = true;
            self.beta = bc;
            self.u = uc;
            eta = ec;
            let change = (pdev - pc).abs();
            pdev = pc;
            // Two small changes in a row: PIRLS converges quadratically, so the step after
            // the first small one leaves the modes at rounding. Stopping at the first leaves
            // them a little short, which makes the deviance a slightly noisy function of the
            // parameters, enough to spoil the finite-difference Hessian of the convergence
            // check and the standard errors.
            if change <= TOLERANCE * (pc.abs() + 1.0) {
                small_steps += 1;
                if small_steps == 2 {
                    self.eta = eta;
                    return Some(());
                }
            } else {
                small_steps = 0;
            }
        }
        None
    }

    /// The adaptive Gauss–Hermite deviance for one scalar random-effect term (relative SD
    /// `theta`), at the modes `u` and the Laplace factor in `modes`: per level `j`,
    /// `∫ f(y_j | u) φ(u) du ≈ σⱼ Σₖ wₖ f(y_j | ûⱼ + σⱼzₖ) φ(ûⱼ + σⱼzₖ) / φ(zₖ)` with
    /// `σⱼ = 1/Lⱼⱼ`, the curvature of the integrand's logarithm at the mode.
    fn quadrature_deviance(&self, theta: f64) -> f64 {
        let block = &self.design.random[0];
        let (nodes, weights) = &self.rule;
        let mut total = 0.0;
        let mut terms = vec![0.0; nodes.len()];
        for (j, obs) in self.members.iter().enumerate() {
            let sigma = 1.0 / self.modes.factor.l11[j];
            let u_hat = self.u[j];
            for (k, (&z, &w)) in nodes.iter().zip(weights).enumerate() {
                let u = u_hat + sigma * z;
                let shift = theta * (u - u_hat);
                let ll: f64 = obs
                    .iter()
                    .map(|&i| {
                        let mu = self.link.mean(self.eta[i] + block.values[i] * shift).0;
                        self.family.log_density(self.y[i], self.trials[i], mu)
                    })
                    .sum();
                terms[k] = w.ln() + ll - 0.5 * u * u + 0.5 * z * z;
            }
            let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = terms.iter().map(|t| (t - top).exp()).sum();
            total += sigma.ln() + top + sum.ln();
        }
        -2.0 * total
    }

    /// Standard errors of β from the last `nAGQ = 0` solution, `√diag (R_X R_X')⁻¹`: the
    /// scale of the second stage's search.
    pub fn joint_standard_errors(&self) -> Vec<f64> {
        let v = self.joint.factor.unscaled_vcov(&self.joint.blocks);
        let p = self.design.p();
        (0..p)
            .map(|j| {
                let s = v[j * p + j].sqrt();
                if s.is_finite() && s > 0.0 {
                    s
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// Pearson residuals at the modes: `(y − mμ) / √(m V(μ))`.
    pub fn pearson_residuals(&self) -> Vec<f64> {
        (0..self.design.n())
            .map(|i| {
                let mu = self.link.mean(self.eta[i]).0;
                let m = self.trials[i];
                (self.y[i] - m * mu) / (m * self.family.variance(mu)).sqrt()
            })
            .collect()
    }
}

/// The response as counts and trials, checked against the family: a binomial 0/1 (or
/// factor) response or non-negative whole counts in `cbind()`; non-negative counts for
/// Poisson and negative binomial (non-integer counts only warn, as R's do).
pub(super) fn checked_response(
    response: &GlmResponse,
    family: &Family,
) -> Result<(Vec<f64>, Vec<f64>, Vec<String>), ModelError> {
    let mut warnings = Vec::new();
    let bad = |i: usize, value: f64, reason: &str| ModelError::BadGlmResponse {
        family: family.name().into(),
        name: response.name.clone(),
        source_name: response.source_name.clone(),
        line: response.lines[i],
        value: format!("{value}"),
        reason: reason.into(),
    };
    let y = response.counts.clone();
    let whole = |v: f64| v >= 0.0 && v.fract() == 0.0;
    let trials = match (family, &response.failures) {
        (Family::Binomial, Some(failures)) => {
            for (i, (&s, &f)) in y.iter().zip(failures).enumerate() {
                if !whole(s) {
                    return Err(bad(i, s, "cbind() successes must be whole numbers ≥ 0"));
                }
                if !whole(f) {
                    return Err(bad(i, f, "cbind() failures must be whole numbers ≥ 0"));
                }
            }
            y.iter().zip(failures).map(|(s, f)| s + f).collect()
        }
        (Family::Binomial, None) => {
            if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
                return Err(bad(
                    i,
                    y[i],
                    "a binomial response must be 0 or 1 (or a two-level factor, or cbind(successes, failures))",
                ));
            }
            vec![1.0; y.len()]
        }
        (_, Some(_)) => {
            return Err(ModelError::GlmmUnsupported {
                what: format!("a cbind() response with the {} family", family.name()),
                help: "cbind(successes, failures) is for --family binomial".into(),
            })
        }
        (_, None) => {
            if let Some(i) = y.iter().position(|&v| v < 0.0) {
                return Err(bad(i, y[i], "counts cannot be negative"));
            }
            let fractional = y.iter().filter(|v| v.fract() != 0.0).count();
            if fractional > 0 {
                warnings.push(format!(
                    "{fractional} non-integer count{} in a {} response (R warns the same): the \
                     likelihood treats them through the gamma function",
                    if fractional == 1 { "" } else { "s" },
                    family.name()
                ));
            }
            vec![1.0; y.len()]
        }
    };
    Ok((y, trials, warnings))
}
