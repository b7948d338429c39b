//! Kenward–Roger's small-sample adjustment of Var(β̂) and denominator degrees of freedom
//! for REML fits, as pbkrtest computes them (`vcovAdj`, `Lb_ddf`; Kenward & Roger 1997,
//! Halekoh & Højsgaard 2014) and lmerTest reports them with `ddf = "Kenward-Roger"`.
//!
//! The variance parameters γ are those of `V = Σ_k Z_k G_k Z_kᵀ + σ²I` in pbkrtest's
//! parameterisation — every free element of each `G_k` (variances and covariances), then σ²
//! — not lme4's θ: the adjustment is not invariant to reparameterisation, so only this one
//! reproduces pbkrtest. With `G_i = ∂V/∂γ_i`, `P_i = −XᵀV⁻¹G_iV⁻¹X`,
//! `Q_ij = XᵀV⁻¹G_iV⁻¹G_jV⁻¹X`, `Φ = (XᵀV⁻¹X)⁻¹` and the expected information
//! `I_ij = tr(V⁻¹G_iV⁻¹G_j) − 2 tr(ΦQ_ij) + tr(ΦP_iΦP_j)` (pbkrtest's, half the REML one),
//! `W = 2I⁻¹` and `Φ_A = Φ + 2Φ [Σ_ij W_ij (Q_ij − P_iΦP_j)] Φ`.
//!
//! V is formed densely (n × n): the reference fits are a few hundred rows, and pbkrtest
//! itself works with n × n matrices. They need memory in n², time in n³, so a model whose
//! matrices would pass [`MAX_DENSE_BYTES`] is refused before any is allocated
//! ([`KenwardRoger::check_size`]).

use super::anova::FTest;
use super::distributions::{f_upper_tail, t_two_sided_p};
use super::satterthwaite::TTest;
use crate::design::{format_bytes, Design, RandomBlock, MAX_DENSE_BYTES};
use crate::error::ModelError;
use crate::fit::RandomEffects;
use crate::spec::CovarianceType;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Side};

/// pbkrtest's threshold on the information matrix's smallest |eigenvalue| below which it
/// takes the generalised inverse.
const CONDITION_TOLERANCE: f64 = 1e-10;

/// The adjusted covariance and what the degrees of freedom of any contrast need.
#[derive(Debug, Clone)]
pub struct KenwardRoger {
    /// Var(β̂) = (XᵀV⁻¹X)⁻¹, in the scaled units of [`KenwardRoger::new`].
    phi: Mat<f64>,
    /// Φ_A, the adjusted Var(β̂), row-major p × p, in the data's units.
    pub adjusted: Vec<f64>,
    /// `P_i` per variance parameter, scaled.
    p_mats: Vec<Mat<f64>>,
    /// `W = 2I⁻¹`, scaled.
    w: Mat<f64>,
    /// The power of two each column of `X` was divided by.
    x_scale: Vec<f64>,
}

/// What pbkrtest derives from the approximate mean and variance of the Wald statistic of one
/// hypothesis.
struct Moments {
    /// Denominator degrees of freedom.
    ddf: f64,
    /// λ, the factor that makes the scaled statistic approximately F-distributed.
    scaling: f64,
}

/// `∂V/∂γ_i` for a random-effect variance parameter: `Z_k (I ⊗ E) Z_kᵀ` with `E` the
/// symmetric q × q pattern of the parameter in `G_k`.
struct Generator<'a> {
    block: &'a RandomBlock,
    /// Row-major q × q.
    pattern: Vec<f64>,
}

impl Generator<'_> {
    /// The patterns of one term's free covariance elements, in pbkrtest's order (lower
    /// triangle by columns) for an unstructured `G_k`.
    fn of(block: &RandomBlock) -> Vec<Generator<'_>> {
        let q = block.q();
        let unit = |a: usize, b: usize| {
            let mut e = vec![0.0; q * q];
            e[a * q + b] = 1.0;
            e[b * q + a] = 1.0;
            e
        };
        let patterns: Vec<Vec<f64>> = match block.covariance {
            CovarianceType::Unstructured => (0..q)
                .flat_map(|b| (b..q).map(move |a| (a, b)))
                .map(|(a, b)| unit(a, b))
                .collect(),
            CovarianceType::Diagonal => (0..q).map(|a| unit(a, a)).collect(),
            CovarianceType::CompoundSymmetry => {
                let diagonal = (0..q * q)
                    .map(|i| f64::from(u8::from(i / q == i % q)))
                    .collect();
                let off = (0..q * q)
                    .map(|i| f64::from(u8::from(i / q != i % q)))
                    .collect();
                if q > 1 {
                    vec![diagonal, off]
                } else {
                    vec![diagonal]
                }
            }
        };
        patterns
            .into_iter()
            .map(|pattern| Generator { block, pattern })
            .collect()
    }

    /// `G_i M` for an n × c matrix `M`, through the sparse `Z_k`: O(n q² c).
    fn apply(&self, m: MatRef<'_, f64>) -> Mat<f64> {
        let b = self.block;
        let q = b.q();
        let (n, c) = (m.nrows(), m.ncols());
        let mut zt_m = Mat::<f64>::zeros(b.levels.len() * q, c);
        let mut out = Mat::<f64>::zeros(n, c);
        for col in 0..c {
            for i in 0..n {
                let l = b.codes[i] as usize * q;
                for (r, z) in b.values[i * q..(i + 1) * q].iter().enumerate() {
                    zt_m[(l + r, col)] += z * m[(i, col)];
                }
            }
            for i in 0..n {
                let l = b.codes[i] as usize * q;
                let z = &b.values[i * q..(i + 1) * q];
                out[(i, col)] = (0..q)
                    .map(|r| {
                        z[r] * (0..q)
                            .map(|s| self.pattern[r * q + s] * zt_m[(l + s, col)])
                            .sum::<f64>()
                    })
                    .sum();
            }
        }
        out
    }
}

impl KenwardRoger {
    /// The memory the adjustment's dense n × n matrices take for `n` observations and `k`
    /// variance parameters (σ² included): V, V⁻¹, one `G_iV⁻¹` per parameter, and a
    /// factorisation's workspace.
    pub fn required_bytes(n: usize, k: usize) -> u128 {
        (k as u128 + 3) * (n as u128) * (n as u128) * 8
    }

    /// The number of variance parameters γ of the model (σ² included), in pbkrtest's
    /// parameterisation.
    pub fn variance_parameters(design: &Design) -> usize {
        design
            .random
            .iter()
            .map(|b| match (b.covariance, b.q()) {
                (CovarianceType::Unstructured, q) => q * (q + 1) / 2,
                (CovarianceType::Diagonal, q) => q,
                (CovarianceType::CompoundSymmetry, q) => q.min(2),
            })
            .sum::<usize>()
            + 1
    }

    /// Refuses, before anything is allocated, an adjustment whose dense matrices would need
    /// more than [`MAX_DENSE_BYTES`] for `n` observations and `k` variance parameters.
    pub fn check_size(n: usize, k: usize) -> Result<(), ModelError> {
        let bytes = Self::required_bytes(n, k);
        if bytes <= MAX_DENSE_BYTES {
            return Ok(());
        }
        Err(ModelError::TooLarge {
            what: format!(
                "Kenward–Roger's adjustment ({} dense {n} × {n} matrices, for {n} observations \
                 and {k} variance parameters)",
                k + 3
            ),
            needed: format_bytes(bytes),
            limit: format_bytes(MAX_DENSE_BYTES),
            help: "Kenward–Roger's adjustment forms n × n matrices; with this many observations \
                   Satterthwaite's degrees of freedom (always reported) are the practical \
                   choice, and the two agree closely when the df are large"
                .into(),
        })
    }

    /// The adjustment at the fitted variance components (`random[k].covariance` of
    /// `design.random[k]`, and σ). Refused for a model with a residual structure (outside
    /// pbkrtest's scope), for one whose dense matrices would be too large
    /// ([`KenwardRoger::check_size`]),
    /// and where V or the information matrix cannot be inverted.
    pub fn new(
        design: &Design,
        random: &[RandomEffects],
        sigma: f64,
    ) -> Result<KenwardRoger, ModelError> {
        if let Some(r) = &design.residual {
            return Err(ModelError::Unsupported {
                what: "Kenward–Roger's adjustment".into(),
                model: format!("models with a residual structure ({})", r.spec.describe()),
            });
        }
        let singular = |what: &str| ModelError::Numerical {
            reason: format!("Kenward–Roger's adjustment cannot be computed ({what} is singular)"),
        };
        if random.len() != design.random.len() {
            return Err(ModelError::Numerical {
                reason: "Kenward–Roger's adjustment needs the fit of this design".into(),
            });
        }
        let (n, p) = (design.n(), design.p());
        Self::check_size(n, Self::variance_parameters(design))?;
        // pbkrtest's tolerances are absolute (an eigenvalue of the information below 1e-10
        // is dropped): on the data's scale they meant something else for Days × 1e-8 (df
        // 4271 instead of 17). So V is taken in units of σ² and each column of X and Z in
        // units of its own size (a power of two, exactly); the adjustment is invariant to
        // such linear changes of the parameters, and only the tolerances see the difference.
        let x_scale: Vec<f64> = design.x.chunks_exact(n.max(1)).map(unit_scale).collect();
        let mut blocks: Vec<RandomBlock> = Vec::with_capacity(design.random.len());
        let mut covariances: Vec<Vec<f64>> = Vec::with_capacity(design.random.len());
        for (block, effects) in design.random.iter().zip(random) {
            let (scaled, t) = scaled_block(block);
            let q = block.q();
            // Z G Zᵀ = (Z T⁻¹)(T G T)(T⁻¹ Zᵀ), over σ².
            covariances.push(
                (0..q * q)
                    .map(|e| effects.covariance[e] * t[e / q] * t[e % q] / (sigma * sigma))
                    .collect(),
            );
            blocks.push(scaled);
        }
        let v = covariance(n, &blocks, &covariances);
        let v_inv = v.llt(Side::Lower).map_err(|_| singular("V"))?.inverse();
        let x = Mat::from_fn(n, p, |i, j| design.x[j * n + i] / x_scale[j]);
        let t = &v_inv * &x;
        let phi = (x.transpose() * &t)
            .llt(Side::Lower)
            .map_err(|_| singular("X'V⁻¹X"))?
            .inverse();

        let generators: Vec<Generator> = blocks.iter().flat_map(Generator::of).collect();
        // H_i = G_i V⁻¹ and O_i = G_i V⁻¹ X; σ²'s generator is the identity.
        let mut h: Vec<Mat<f64>> = generators.iter().map(|g| g.apply(v_inv.as_ref())).collect();
        h.push(v_inv.clone());
        let o: Vec<Mat<f64>> = h.iter().map(|hi| hi * &x).collect();
        let k = h.len();
        let p_mats: Vec<Mat<f64>> = o.iter().map(|oi| -(oi.transpose() * &t)).collect();
        let v_inv_o: Vec<Mat<f64>> = o.iter().map(|oi| &v_inv * oi).collect();
        let q_mat = |i: usize, j: usize| o[i].transpose() * &v_inv_o[j];

        let mut information = Mat::<f64>::zeros(k, k);
        let mut q_all = Vec::with_capacity(k * k);
        for i in 0..k {
            for j in 0..k {
                q_all.push(q_mat(i, j));
            }
        }
        for i in 0..k {
            let phi_p = &phi * &p_mats[i];
            for j in i..k {
                let trace_hh: f64 = (0..n)
                    .map(|a| (0..n).map(|b| h[i][(b, a)] * h[j][(a, b)]).sum::<f64>())
                    .sum();
                let value = trace_hh - 2.0 * frobenius(phi.as_ref(), q_all[i * k + j].as_ref())
                    + frobenius(phi_p.as_ref(), (&p_mats[j] * &phi).as_ref());
                information[(i, j)] = value;
                information[(j, i)] = value;
            }
        }
        let w =
            two_times_inverse(&information).ok_or_else(|| singular("the information matrix"))?;

        let mut u = Mat::<f64>::zeros(p, p);
        for i in 0..k {
            for j in 0..k {
                u += (&q_all[i * k + j] - &p_mats[i] * &phi * &p_mats[j]) * faer::Scale(w[(i, j)]);
            }
        }
        let adjusted_mat = &phi + (&phi * &u * &phi) * faer::Scale(2.0);
        // Back to the data's units: Var(β) = σ² S⁻¹ Var(Sβ) S⁻¹.
        let adjusted = (0..p * p)
            .map(|e| {
                let (a, b) = (e / p, e % p);
                adjusted_mat[(a, b)] * sigma * sigma / (x_scale[a] * x_scale[b])
            })
            .collect();
        Ok(KenwardRoger {
            phi,
            adjusted,
            p_mats,
            w,
            x_scale,
        })
    }

    /// Kenward–Roger's denominator degrees of freedom for the hypothesis `Lβ = 0`, `L`
    /// row-major with `rows` rows of full row rank (pbkrtest's `Lb_ddf`).
    pub fn ddf(&self, l: &[f64], rows: usize) -> f64 {
        self.moments(l, rows).map_or(f64::NAN, |m| m.ddf)
    }

    /// pbkrtest's `.KR_adjust` for `Lβ = 0` (`L` row-major, `rows` × p, full row rank):
    /// the denominator df and the scaling λ of the Wald F statistic, both from the
    /// approximate moments of that statistic. `None` when `LΦLᵀ` cannot be inverted.
    fn moments(&self, l: &[f64], rows: usize) -> Option<Moments> {
        let p = self.phi.nrows();
        // The hypothesis on the scaled coefficients Sβ: L S⁻¹.
        let l = Mat::from_fn(rows, p, |r, c| l[r * p + c] / self.x_scale[c]);
        let middle = (&l * &self.phi * l.transpose()).llt(Side::Lower).ok()?;
        let theta_phi = l.transpose() * middle.inverse() * &l * &self.phi;
        let u: Vec<Mat<f64>> = self
            .p_mats
            .iter()
            .map(|pi| &theta_phi * pi * &self.phi)
            .collect();
        let trace = |m: &Mat<f64>| (0..p).map(|a| m[(a, a)]).sum::<f64>();
        let (mut a1, mut a2) = (0.0, 0.0);
        for (i, ui) in u.iter().enumerate() {
            for (j, uj) in u.iter().enumerate() {
                a1 += self.w[(i, j)] * trace(ui) * trace(uj);
                a2 += self.w[(i, j)] * frobenius(ui.as_ref(), uj.transpose());
            }
        }
        let q = rows as f64;
        let b = (a1 + 6.0 * a2) / (2.0 * q);
        let g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2);
        let denominator = 3.0 * q + 2.0 * (1.0 - g);
        let (c1, c2, c3) = (
            g / denominator,
            (q - g) / denominator,
            (q + 2.0 - g) / denominator,
        );
        let v0 = 1.0 + c1 * b;
        let v0 = if v0.abs() < 1e-10 { 0.0 } else { v0 };
        let (v1, v2) = (1.0 - c2 * b, 1.0 - c3 * b);
        let ratio = div_zero(1.0 - a2 / q, v1);
        let rho = ratio * ratio * v0 / (q * v2);
        let ddf = 4.0 + (q + 2.0) / (q * rho - 1.0);
        // pbkrtest leaves the statistic unscaled when ddf is (near) 2, where λ has a pole.
        let scaling = if (ddf - 2.0).abs() < 1e-2 {
            1.0
        } else {
            ddf * (1.0 - a2 / q) / (ddf - 2.0)
        };
        Some(Moments { ddf, scaling })
    }

    /// The Kenward–Roger F-test of `Lβ = 0` (`L` row-major, `rows` × p, full row rank), as
    /// pbkrtest's `KRmodcomp` and lmerTest's `anova(fit, ddf = "Kenward-Roger")`:
    /// `F = λ (Lβ̂)ᵀ(LΦ_ALᵀ)⁻¹(Lβ̂) / q` on `q` and Kenward–Roger's df.
    pub fn f_test(&self, term: &str, l: &[f64], rows: usize, beta: &[f64]) -> FTest {
        let p = beta.len();
        let wald = || -> Option<f64> {
            let lm = Mat::from_fn(rows, p, |r, c| l[r * p + c]);
            let adjusted = Mat::from_fn(p, p, |a, b| self.adjusted[a * p + b]);
            let b = Mat::from_fn(p, 1, |j, _| beta[j]);
            let lb = &lm * &b;
            let inverse = (&lm * &adjusted * lm.transpose())
                .llt(Side::Lower)
                .ok()?
                .inverse();
            Some((lb.transpose() * inverse * &lb)[(0, 0)])
        };
        let (Some(moments), Some(wald)) = (self.moments(l, rows), wald()) else {
            return FTest {
                term: term.to_string(),
                num_df: rows,
                den_df: f64::NAN,
                f: f64::NAN,
                p: f64::NAN,
            };
        };
        let q = rows as f64;
        let f = moments.scaling * wald / q;
        FTest {
            term: term.to_string(),
            num_df: rows,
            den_df: moments.ddf,
            f,
            p: f_upper_tail(f, q, moments.ddf),
        }
    }

    /// The adjusted standard error of each coefficient, √diag(Φ_A) (the `Std. Error` of
    /// lmerTest's `summary(fit, ddf = "Kenward-Roger")`): the one its t-tests divide by.
    pub fn std_errors(&self) -> Vec<f64> {
        let p = self.phi.nrows();
        (0..p).map(|j| self.adjusted[j * p + j].sqrt()).collect()
    }

    /// The t-test of each coefficient with the adjusted standard error and Kenward–Roger's
    /// degrees of freedom (lmerTest's `summary(fit, ddf = "Kenward-Roger")`).
    pub fn coefficient_tests(&self, beta: &[f64]) -> Vec<TTest> {
        let p = beta.len();
        let mut l = vec![0.0; p];
        (0..p)
            .map(|j| {
                l.fill(0.0);
                l[j] = 1.0;
                let df = self.ddf(&l, 1);
                let t = beta[j] / self.adjusted[j * p + j].sqrt();
                TTest {
                    df,
                    t,
                    p: t_two_sided_p(t, df),
                }
            })
            .collect()
    }
}

/// The power of two nearest the root mean square of `values` (1 for zeros): dividing by it
/// is exact.
fn unit_scale(values: &[f64]) -> f64 {
    let mean_square = values.iter().map(|v| v * v).sum::<f64>() / values.len().max(1) as f64;
    let scale = mean_square.sqrt().log2().round().exp2();
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// `block` with each column divided by its [`unit_scale`], and those scales. A compound
/// symmetry term's columns share one scale, so that `T G T` keeps its pattern.
fn scaled_block(block: &RandomBlock) -> (RandomBlock, Vec<f64>) {
    let q = block.q();
    let column =
        |c: usize| -> Vec<f64> { block.values.iter().skip(c).step_by(q).copied().collect() };
    let t: Vec<f64> = match block.covariance {
        CovarianceType::CompoundSymmetry => vec![unit_scale(&block.values); q],
        _ => (0..q).map(|c| unit_scale(&column(c))).collect(),
    };
    let mut scaled = block.clone();
    for (e, v) in scaled.values.iter_mut().enumerate() {
        *v /= t[e % q];
    }
    (scaled, t)
}

/// `V = Σ_k Z_k G_k Z_kᵀ + I` (in units of σ²), dense, for the random-effect terms `blocks`
/// with covariances `g` (row-major q × q each).
fn covariance(n: usize, blocks: &[RandomBlock], g: &[Vec<f64>]) -> Mat<f64> {
    let mut v = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        v[(i, i)] = 1.0;
    }
    for (block, g) in blocks.iter().zip(g) {
        let q = block.q();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); block.levels.len()];
        for (i, &c) in block.codes.iter().enumerate() {
            members[c as usize].push(i);
        }
        for rows in &members {
            for &i in rows {
                let zi = &block.values[i * q..(i + 1) * q];
                let gz: Vec<f64> = (0..q)
                    .map(|b| (0..q).map(|a| zi[a] * g[a * q + b]).sum())
                    .collect();
                for &j in rows {
                    let zj = &block.values[j * q..(j + 1) * q];
                    v[(i, j)] += gz.iter().zip(zj).map(|(a, b)| a * b).sum::<f64>();
                }
            }
        }
    }
    v
}

/// `Σ_ab A_ab B_ab`, i.e. `tr(AᵀB)`.
fn frobenius(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    (0..a.ncols())
        .map(|c| (0..a.nrows()).map(|r| a[(r, c)] * b[(r, c)]).sum::<f64>())
        .sum()
}

/// pbkrtest's `.divZero`: 1 when both are (near) zero.
fn div_zero(x: f64, y: f64) -> f64 {
    if x.abs() < 1e-14 && y.abs() < 1e-14 {
        1.0
    } else {
        x / y
    }
}

/// `2I⁻¹` of the symmetric information matrix, or twice its Moore–Penrose inverse when its
/// smallest |eigenvalue| is below [`CONDITION_TOLERANCE`], as pbkrtest. `None` when not
/// finite.
fn two_times_inverse(information: &Mat<f64>) -> Option<Mat<f64>> {
    let k = information.nrows();
    let evd = information.self_adjoint_eigen(Side::Lower).ok()?;
    let (u, s) = (evd.U(), evd.S().column_vector());
    let values: Vec<f64> = (0..k).map(|i| s[i]).collect();
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let smallest = values.iter().map(|v| v.abs()).fold(f64::INFINITY, f64::min);
    // MASS::ginv keeps singular values above √ε times the largest.
    let largest = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let keep = |v: f64| smallest > CONDITION_TOLERANCE || v.abs() > f64::EPSILON.sqrt() * largest;
    Some(Mat::from_fn(k, k, |i, j| {
        (0..k)
            .filter(|&c| keep(values[c]))
            .map(|c| 2.0 * u[(i, c)] * u[(j, c)] / values[c])
            .sum()
    }))
}
