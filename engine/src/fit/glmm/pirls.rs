//! Penalized iteratively reweighted least squares: the conditional modes of the random
//! effects at given θ (and β, or with β estimated alongside as in lme4's `nAGQ = 0`), and
//! the Laplace or adaptive-quadrature deviance at them.

mod gradient;

use super::quadrature::gauss_hermite;
use super::GlmmOptions;
use crate::design::{Design, GlmResponse};
use crate::error::ModelError;
use crate::family::{Family, Link};
use crate::fit::blocks::Blocks;
use crate::fit::factor::{Factor, Lambda};
use crate::fit::levels::LogProduct;
use rayon::prelude::*;

/// PIRLS iterations before giving up.
const MAX_ITERATIONS: usize = 200;
/// Halvings of a step that raised the penalized deviance before giving up.
const MAX_HALVINGS: usize = 30;
/// Converged when the penalized deviance changes by less than this, relative, ...
const TOLERANCE: f64 = 1e-13;
/// ... and the last step moved no mode (or coefficient, relative to 1 + its size) by more
/// than this.
const MODE_TOLERANCE: f64 = 1e-9;

/// One penalized weighted least-squares problem of the linear engine on the model's rows:
/// its cross-products, weighted at every step ([`Blocks::refill_weighted`]), and factor.
struct Weighted {
    blocks: Blocks,
    factor: Factor,
    /// Every random-effect column's scale: 1.
    unit: Vec<Vec<f64>>,
}

impl Weighted {
    /// `with_x`: β is estimated with `u` (otherwise it is fixed and only `Z` enters).
    fn new(base: &Design, with_x: bool, lambda: Lambda) -> Weighted {
        // θ is on the scale of the columns as they are (no unit rescaling, unlike the
        // linear problem): the GLMM's own parameters are searched by its own problem.
        let unit: Vec<Vec<f64>> = base.random.iter().map(|b| vec![1.0; b.q()]).collect();
        let mut blocks = if with_x {
            Blocks::new(base, &unit)
        } else {
            // The layout of `[Z y]` alone; the refills then read only the rows' `Z`.
            let mut design = base.clone();
            design.x.clear();
            design.x_names.clear();
            design.x_origins.clear();
            Blocks::new(&design, &unit)
        };
        blocks.locate_response = false;
        // PIRLS reweights the cross-products at every step: no sparse analysis of one set.
        let factor = Factor::new(&blocks, lambda, false);
        Weighted {
            blocks,
            factor,
            unit,
        }
    }

    /// Refills the cross-products of `base`'s rows with weights `w` and working response
    /// `r`, and factorises at θ; `false` when the factorisation fails.
    fn factorise(&mut self, base: &Design, w: &[f64], r: &[f64], theta: &[f64]) -> bool {
        self.blocks.refill_weighted(base, &self.unit, w, r);
        self.factor.update(&self.blocks, theta)
    }
}

/// Per-observation work vectors of PIRLS, kept between evaluations so that the iterations
/// on a large data set allocate nothing.
#[derive(Default)]
struct Scratch {
    /// `offset + Xβ` at the β the run holds fixed (or started from).
    fixed: Vec<f64>,
    /// The linear predictor at the last accepted step, and at the step being tried.
    eta: Vec<f64>,
    trial: Vec<f64>,
    /// Weights and working responses at `eta`, and at `trial`: found with the density at
    /// each step tried, and kept for the next step when it is taken.
    w: Vec<f64>,
    r: Vec<f64>,
    w_trial: Vec<f64>,
    r_trial: Vec<f64>,
    /// The Laplace factorisation's response: ones.
    ones: Vec<f64>,
    /// The last accepted β and `u` while a step is tried, and the step's solution.
    beta: Vec<f64>,
    u: Vec<f64>,
    beta_new: Vec<f64>,
    u_new: Vec<f64>,
    /// `b = Λu` per level of a term ([`add_random_part`]).
    b: Vec<f64>,
}

/// Rows per chunk of the per-observation passes, which run in parallel from two chunks on.
/// The chunks are fixed and their sums added in order, so results do not depend on the
/// number of threads.
const ROW_CHUNK: usize = 16_384;

/// Sets `a[i]` and `b[i]` by `f(i, ..)` for every row and returns `Σ (linear − log factor)`
/// over the `(linear, factor)` that `f` returns, the logarithms taken of products of many
/// factors ([`LogProduct`]), in parallel chunks on large data.
fn sum_rows(
    a: &mut [f64],
    b: &mut [f64],
    f: impl Fn(usize, &mut f64, &mut f64) -> (f64, f64) + Sync,
) -> f64 {
    let run = |start: usize, a: &mut [f64], b: &mut [f64]| -> f64 {
        let (mut sum, mut logs) = (0.0, LogProduct::default());
        for (k, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            let (linear, factor) = f(start + k, x, y);
            sum += linear;
            logs.push(factor);
        }
        sum - logs.ln()
    };
    if a.len() < 2 * ROW_CHUNK {
        run(0, a, b)
    } else {
        let sums: Vec<f64> = a
            .par_chunks_mut(ROW_CHUNK)
            .zip(b.par_chunks_mut(ROW_CHUNK))
            .enumerate()
            .map(|(c, (a, b))| run(c * ROW_CHUNK, a, b))
            .collect();
        sums.iter().sum()
    }
}

/// The largest `|aᵢ − bᵢ| / (1 + |aᵢ|)`: how far a PIRLS step moved.
fn largest_move(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0, f64::max)
}

/// `offset + Xβ` per observation, into `out`.
fn fixed_part(design: &Design, beta: &[f64], out: &mut Vec<f64>) {
    let n = design.n();
    out.clear();
    out.extend_from_slice(&design.offset);
    for (b, col) in beta.iter().zip(design.x.chunks_exact(n)) {
        out.iter_mut().zip(col).for_each(|(o, x)| *o += b * x);
    }
}

/// Adds `Zb`, `b = Λu`, to each observation's entry of `out`; `b` is formed per level
/// first, in `scratch`.
fn add_random_part(
    design: &Design,
    lambda: &Lambda,
    u: &[f64],
    out: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let mut offset = 0;
    for (k, block) in design.random.iter().enumerate() {
        let (q, levels) = (block.q(), block.levels.len());
        let t = &lambda.t[k];
        let uk = &u[offset..offset + levels * q];
        // b_l = T u_l, T lower triangular (column-major).
        scratch.clear();
        for ul in uk.chunks_exact(q) {
            for r in 0..q {
                scratch.push((0..=r).map(|c| t[c * q + r] * ul[c]).sum::<f64>());
            }
        }
        // A literal q unrolls the inlined loop.
        match q {
            1 => add_rows(1, &block.codes, &block.values, scratch, out),
            2 => add_rows(2, &block.codes, &block.values, scratch, out),
            _ => add_rows(q, &block.codes, &block.values, scratch, out),
        }
        offset += levels * q;
    }
}

/// `out[i] += z_i'b_l`, `l` row `i`'s level, for one term's `q` columns `values` (row-major)
/// and per-level `b`.
#[inline(always)]
fn add_rows(q: usize, codes: &[u32], values: &[f64], b: &[f64], out: &mut [f64]) {
    for ((o, &l), z) in out.iter_mut().zip(codes).zip(values.chunks_exact(q)) {
        let bl = &b[l as usize * q..(l as usize + 1) * q];
        let mut zb = 0.0;
        for c in 0..q {
            zb += z[c] * bl[c];
        }
        *o += zb;
    }
}

/// A PIRLS solution: β, the spherical modes `u` and the linear predictor η at them.
pub(super) struct Solution {
    beta: Vec<f64>,
    u: Vec<f64>,
    eta: Vec<f64>,
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
    /// Whether the family's steps are Newton's ([`Family::newton_steps`]).
    pub newton: bool,
    joint: Weighted,
    modes: Weighted,
    /// The last solution: β, spherical random effects `u`, linear predictor η.
    pub beta: Vec<f64>,
    pub u: Vec<f64>,
    pub eta: Vec<f64>,
    started: bool,
    /// Σ of the log-density's μ-free terms ([`Family::log_density_constant`]) and the family
    /// it was summed for: a negative binomial's θ changes between evaluations, not within.
    constant: f64,
    constant_family: Option<Family>,
    scratch: Scratch,
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
            newton: options.family.newton_steps(options.link),
            lambda,
            joint,
            modes,
            started: false,
            constant: 0.0,
            constant_family: None,
            scratch: Scratch::default(),
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
        self.constant_family = None;
        self.started = false;
        self.u.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Sums the log-density's μ-free terms again when the family (θ_NB) or the counts
    /// changed since the last sum.
    fn refresh_constant(&mut self) {
        if self.constant_family != Some(self.family) {
            self.constant = (self.y.iter().zip(&self.trials))
                .map(|(&y, &m)| self.family.log_density_constant(y, m))
                .sum();
            self.constant_family = Some(self.family);
        }
    }

    /// The penalised deviance `−2 Σ log f(y | η) + |u|²` (the conditional deviance with all
    /// constants, summed by [`Pirls::refresh_constant`], which every evaluation calls first),
    /// with each row's PIRLS weight and working response less `held` at `eta` written into
    /// `w` and `r`: the weights of the next step if this one is taken.
    fn penalised(&self, eta: &[f64], u: &[f64], held: &[f64], w: &mut [f64], r: &mut [f64]) -> f64 {
        let (family, link, y, trials) = (self.family, self.link, &self.y, &self.trials);
        let kernel = sum_rows(w, r, |i, w, r| {
            let (linear, factor, weight, inc) =
                family.log_density_and_irls(y[i], trials[i], link, eta[i]);
            *w = weight;
            *r = eta[i] - held[i] + inc;
            (linear, factor)
        });
        -2.0 * (self.constant + kernel) + u.iter().map(|v| v * v).sum::<f64>()
    }

    /// The deviance at θ, with β fixed (`Some`) or estimated inside PIRLS (`None`), from
    /// the last solution, or afresh when that fails. `None` when PIRLS fails from both.
    pub fn deviance(&mut self, theta: &[f64], beta: Option<&[f64]>) -> Option<f64> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut d = self.try_deviance(&mut scratch, theta, beta);
        if d.is_none() {
            self.started = false;
            self.u.iter_mut().for_each(|v| *v = 0.0);
            d = self.try_deviance(&mut scratch, theta, beta);
        }
        self.scratch = scratch;
        d
    }

    fn try_deviance(
        &mut self,
        s: &mut Scratch,
        theta: &[f64],
        fixed: Option<&[f64]>,
    ) -> Option<f64> {
        self.refresh_constant();
        self.lambda.set(theta);
        if let Some(b) = fixed {
            self.beta.copy_from_slice(b);
        }
        let penalised = self.solve_modes(s, theta, fixed.is_some())?;
        // The Laplace factor: weights at the modes, which PIRLS left in `s.w` (lme4's
        // Laplace weights are its PIRLS weights; glmmTMB's observed information, which the
        // negative binomial's steps use, too: [`Family::irls`]).
        s.w.iter_mut().for_each(|w| *w = w.max(0.0));
        // Only log|L|² is needed; any non-zero response keeps the trailing pivot positive.
        s.ones.resize(self.design.n(), 1.0);
        if !self.modes.factorise(&self.design, &s.w, &s.ones, theta) {
            return None;
        }
        let d = if self.nagq > 1 {
            self.quadrature_deviance(theta[0])
        } else {
            penalised + self.modes.factor.ld_l2
        };
        d.is_finite().then_some(d)
    }

    /// PIRLS with step halving from the last solution; leaves the modes in `u` (and `beta`
    /// when estimated), the linear predictor in `eta` and the weights there in `s.w`, and
    /// returns the penalised deviance there.
    fn solve_modes(&mut self, s: &mut Scratch, theta: &[f64], beta_fixed: bool) -> Option<f64> {
        let n = self.design.n();
        fixed_part(&self.design, &self.beta, &mut s.fixed);
        for v in [&mut s.w, &mut s.r, &mut s.w_trial, &mut s.r_trial] {
            v.resize(n, 0.0);
        }
        // The working response less what is held fixed.
        let held = if beta_fixed {
            &s.fixed
        } else {
            &self.design.offset
        };
        s.eta.clear();
        let mut pdev = if self.started {
            s.eta.extend_from_slice(&s.fixed);
            add_random_part(&self.design, &self.lambda, &self.u, &mut s.eta, &mut s.b);
            self.penalised(&s.eta, &self.u, held, &mut s.w, &mut s.r)
        } else {
            // R's `mustart`: binomial (y + ½)/(m + 1), Poisson and NB y + 0.1.
            s.eta.extend((0..n).map(|i| {
                let (y, m) = (self.y[i], self.trials[i]);
                let mu = match self.family {
                    Family::Binomial => (y + 0.5) / (m + 1.0),
                    _ => y + 0.1,
                };
                self.link.eta(mu)
            }));
            // Only the weights: no step is compared with the start.
            self.penalised(&s.eta, &self.u, held, &mut s.w, &mut s.r);
            f64::INFINITY
        };
        let mut small_steps = 0;
        for _ in 0..MAX_ITERATIONS {
            let w = if beta_fixed {
                &mut self.modes
            } else {
                &mut self.joint
            };
            if !w.factorise(&self.design, &s.w, &s.r, theta) {
                return None;
            }
            w.factor
                .solve_into(&w.blocks, &mut s.beta_new, &mut s.u_new);
            s.beta.clone_from(&self.beta);
            s.u.clone_from(&self.u);
            // Candidates are written into `beta` and `u`; the last solution stays in the
            // scratch copies until one is accepted.
            let mut step = 1.0;
            let mut accepted = None;
            for _ in 0..MAX_HALVINGS {
                let mix = |out: &mut [f64], old: &[f64], new: &[f64]| {
                    for (c, (o, n)) in out.iter_mut().zip(old.iter().zip(new)) {
                        *c = o + step * (n - o);
                    }
                };
                mix(&mut self.u, &s.u, &s.u_new);
                s.trial.clear();
                if beta_fixed {
                    s.trial.extend_from_slice(&s.fixed);
                } else {
                    mix(&mut self.beta, &s.beta, &s.beta_new);
                    fixed_part(&self.design, &self.beta, &mut s.trial);
                }
                add_random_part(&self.design, &self.lambda, &self.u, &mut s.trial, &mut s.b);
                let pc = self.penalised(&s.trial, &self.u, held, &mut s.w_trial, &mut s.r_trial);
                if pc.is_finite() && (!self.started || pc <= pdev) {
                    accepted = Some(pc);
                    break;
                }
                // Rounding: no step lowers a deviance already at its minimum.
                if pc.is_finite() && (pc - pdev).abs() <= 1e-10 * (pdev.abs() + 1.0) {
                    if step == 1.0 {
                        // The full Newton step: the penalised deviance, quadratic in the
                        // modes' error, cannot see it at rounding, but the step still moves
                        // them towards the mode (by up to 1e-7 on 64,418 binary rows, where
                        // keeping the old modes left the Laplace deviance 6e-6 apart at one
                        // point from two warm starts, 1e-10 with the step taken).
                        std::mem::swap(&mut self.eta, &mut s.trial);
                        std::mem::swap(&mut s.w, &mut s.w_trial);
                        return Some(pc);
                    }
                    self.beta.clone_from(&s.beta);
                    self.u.clone_from(&s.u);
                    self.eta.clone_from(&s.eta);
                    return Some(pdev);
                }
                step /= 2.0;
            }
            let Some(pc) = accepted else {
                self.beta.clone_from(&s.beta);
                self.u.clone_from(&s.u);
                return None;
            };
            self.started = true;
            std::mem::swap(&mut s.eta, &mut s.trial);
            std::mem::swap(&mut s.w, &mut s.w_trial);
            std::mem::swap(&mut s.r, &mut s.r_trial);
            let change = (pdev - pc).abs();
            pdev = pc;
            let moved = largest_move(&self.u, &s.u).max(if beta_fixed {
                0.0
            } else {
                largest_move(&self.beta, &s.beta)
            });
            // Small changes in a row, the last of them a step that barely moved the modes.
            // A change in the penalised deviance is quadratic in the modes' error, so on its
            // own it can stop them short, and log|L|², linear in their error, then makes the
            // deviance a noisy function of the parameters, enough to spoil the difference
            // gradient of the full problem, the Hessian of the convergence check and the
            // standard errors. Newton's steps converge quadratically, so a full one that
            // moved the modes by at most MODE_TOLERANCE leaves them at rounding (its
            // square): one such step ends it, which saves a factorisation of the few each
            // evaluation of a difference gradient costs. Fisher scoring (probit, cloglog)
            // converges linearly: there two small changes in a row are asked for, the last
            // with such a step. Four small changes end it wherever rounding keeps the modes
            // moving.
            if change <= TOLERANCE * (pc.abs() + 1.0) {
                small_steps += 1;
                let enough = if self.newton && step == 1.0 { 1 } else { 2 };
                if (small_steps >= enough && moved <= MODE_TOLERANCE) || small_steps == 4 {
                    // `s.eta` is rebuilt at the next evaluation's start.
                    std::mem::swap(&mut self.eta, &mut s.eta);
                    return Some(pdev);
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
                        let eta = self.eta[i] + block.values[i] * shift;
                        self.family
                            .log_density_at(self.y[i], self.trials[i], self.link, eta)
                    })
                    .sum();
                terms[k] = w.ln() + ll - 0.5 * u * u + 0.5 * z * z;
            }
            let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = terms.iter().map(|t| (t - top).exp()).sum();
            total += sigma.ln() + top + sum.ln();
        }
        // The μ-free terms factor out of every level's integral.
        -2.0 * (total + self.constant)
    }

    /// The last solution (β, modes, linear predictor), to come back to with
    /// [`Pirls::restore`] after evaluations far from it.
    pub fn snapshot(&self) -> Solution {
        Solution {
            beta: self.beta.clone(),
            u: self.u.clone(),
            eta: self.eta.clone(),
        }
    }

    /// Starts the next evaluation from the modes `u`.
    pub fn start_from(&mut self, u: &[f64]) {
        self.u.copy_from_slice(u);
        self.started = true;
    }

    /// Makes `solution` the last one again, where the next evaluation starts.
    pub fn restore(&mut self, solution: &Solution) {
        self.beta.clone_from(&solution.beta);
        self.u.clone_from(&solution.u);
        self.eta.clone_from(&solution.eta);
        self.started = true;
    }

    /// `Var(β̂) = (R_X R_X')⁻¹` (row-major) from the last `nAGQ = 0` solution: the scale of
    /// the second stage's search and its β block's start ([`super::fit_glmm`]).
    pub fn joint_vcov(&self) -> Vec<f64> {
        self.joint.factor.unscaled_vcov(&self.joint.blocks)
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
