//! The blocked Cholesky factor of `Λ'[Z X y]'[Z X y]Λ + I` for one value of θ, and what
//! follows from it: the profiled deviance, β̂, the conditional modes and Var(β̂).
//!
//! All buffers are allocated once in [`Factor::new`]; [`Factor::update`] reuses them, so
//! the optimizer's inner loop allocates nothing.

use super::blocks::Blocks;
use super::levels::{LevelWork, SMALL_DENSE};
use super::sparse::SparseBlock;
use crate::spec::CovarianceType;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::{MatMut, Par};

/// Relative covariance factors `T_k` (lower triangular, column-major) of each term, filled
/// from the covariance parameters θ. For unstructured terms θ is lme4's: each term's lower
/// triangle, column by column. A diagonal term has its `q` diagonal elements; a
/// compound-symmetry term has (relative SD, correlation).
#[derive(Debug, Clone)]
pub struct Lambda {
    pub q: Vec<usize>,
    pub kinds: Vec<CovarianceType>,
    pub t: Vec<Vec<f64>>,
}

impl Lambda {
    pub fn new(q: Vec<usize>, kinds: Vec<CovarianceType>) -> Self {
        let t = q.iter().map(|&q| vec![0.0; q * q]).collect();
        Lambda { q, kinds, t }
    }

    fn n_params(q: usize, kind: CovarianceType) -> usize {
        match kind {
            CovarianceType::Unstructured => q * (q + 1) / 2,
            CovarianceType::Diagonal => q,
            CovarianceType::CompoundSymmetry => q.min(2),
        }
    }

    /// Number of θ parameters.
    pub fn n_theta(&self) -> usize {
        self.q
            .iter()
            .zip(&self.kinds)
            .map(|(&q, &k)| Self::n_params(q, k))
            .sum()
    }

    /// Per θ element: whether it is a relative standard deviation (bounded below by zero,
    /// and a fit with one at zero is singular).
    pub fn sd_mask(&self) -> Vec<bool> {
        let mut mask = Vec::new();
        for (&q, &kind) in self.q.iter().zip(&self.kinds) {
            match kind {
                CovarianceType::Unstructured => {
                    mask.extend((0..q).flat_map(move |c| (c..q).map(move |r| r == c)))
                }
                CovarianceType::Diagonal => mask.extend(std::iter::repeat_n(true, q)),
                CovarianceType::CompoundSymmetry => {
                    mask.push(true);
                    if q > 1 {
                        mask.push(false);
                    }
                }
            }
        }
        mask
    }

    /// Bounds of θ: zero below every relative SD; a compound-symmetry correlation stays
    /// where the matrix is positive definite.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        let mut lower = Vec::new();
        for (&q, &kind) in self.q.iter().zip(&self.kinds) {
            let n = Self::n_params(q, kind);
            let start = lower.len();
            lower.extend(std::iter::repeat_n(f64::NEG_INFINITY, n));
            if kind == CovarianceType::CompoundSymmetry && q > 1 {
                lower[start + 1] = -1.0 / (q as f64 - 1.0) + 1e-6;
            }
        }
        for (l, sd) in lower.iter_mut().zip(self.sd_mask()) {
            if sd {
                *l = 0.0;
            }
        }
        let mut upper = vec![f64::INFINITY; lower.len()];
        let mut k = 0;
        for (&q, &kind) in self.q.iter().zip(&self.kinds) {
            if kind == CovarianceType::CompoundSymmetry && q > 1 {
                upper[k + 1] = 1.0 - 1e-6;
            }
            k += Self::n_params(q, kind);
        }
        (lower, upper)
    }

    /// Per θ element, the factor from θ for the columns as given to θ for the columns
    /// divided by `z_scale` (per term, per column): the factor's row `r` grows with the
    /// scale of column `r`, so each element of `T` is multiplied by its row's scale; a
    /// correlation is unchanged.
    pub fn parameter_scales(&self, z_scale: &[Vec<f64>]) -> Vec<f64> {
        let mut out = Vec::new();
        for ((&q, &kind), d) in self.q.iter().zip(&self.kinds).zip(z_scale) {
            match kind {
                CovarianceType::Unstructured => {
                    out.extend((0..q).flat_map(|c| (c..q).map(move |r| d[r])))
                }
                CovarianceType::Diagonal => out.extend_from_slice(&d[..q]),
                CovarianceType::CompoundSymmetry => {
                    out.push(d[0]);
                    if q > 1 {
                        out.push(1.0);
                    }
                }
            }
        }
        out
    }

    /// lme4's start: identity relative covariance factors (zero correlations).
    pub fn start(&self) -> Vec<f64> {
        self.sd_mask()
            .iter()
            .map(|&sd| if sd { 1.0 } else { 0.0 })
            .collect()
    }

    /// Term `k`'s relative covariance `T T'` (symmetric `q × q`): the one place it is formed
    /// from `T`, so fits and simulations agree.
    pub fn covariance(&self, k: usize) -> Vec<f64> {
        let (q, t) = (self.q[k], &self.t[k]);
        let mut m = vec![0.0; q * q];
        for a in 0..q {
            for b in 0..q {
                m[a * q + b] = (0..=a.min(b)).map(|c| t[c * q + a] * t[c * q + b]).sum();
            }
        }
        m
    }

    /// `Fᵢ = ∂T/∂θᵢ` for each parameter θᵢ of term `k` (lower-triangular `q × q`), at the θ
    /// last [`Lambda::set`]; `theta` holds that term's parameters. The derivatives of several
    /// grouping factors need `∂(TT')/∂θᵢ` as `FᵢT' + TFᵢ'` (see `derivatives::blocked`).
    pub fn factor_derivatives(&self, k: usize, theta: &[f64]) -> Vec<Vec<f64>> {
        let q = self.q[k];
        let unit = |r: usize, c: usize| {
            let mut m = vec![0.0; q * q];
            m[c * q + r] = 1.0;
            m
        };
        match self.kinds[k] {
            CovarianceType::Unstructured => (0..q)
                .flat_map(|c| (c..q).map(move |r| (r, c)))
                .map(|(r, c)| unit(r, c))
                .collect(),
            CovarianceType::Diagonal => (0..q).map(|c| unit(c, c)).collect(),
            CovarianceType::CompoundSymmetry => {
                // T = sC with CC' = R = (1−ρ)I + ρJ: ∂T/∂s = C, and ∂T/∂ρ = s·CΦ(C⁻¹(J − I)C⁻ᵀ)
                // (the derivative of a Cholesky factor; Φ keeps the lower triangle and half
                // the diagonal). C is recomputed so that s = 0 needs no division.
                let s = theta[0];
                let rho = if q > 1 { theta[1] } else { 0.0 };
                let mut c: Vec<f64> = (0..q * q)
                    .map(|i| if i % (q + 1) == 0 { 1.0 } else { rho })
                    .collect();
                if !small_cholesky(&mut c, q) {
                    return vec![vec![f64::NAN; q * q]; q.min(2)];
                }
                if q == 1 {
                    return vec![c];
                }
                // Y = C⁻¹(J − I), then X = C⁻¹Y' (= YC⁻ᵀ, symmetric).
                let forward = |b: &[f64]| {
                    let mut y = b.to_vec();
                    for col in 0..q {
                        for r in 0..q {
                            let acc: f64 = (0..r).map(|m| c[m * q + r] * y[col * q + m]).sum();
                            y[col * q + r] = (y[col * q + r] - acc) / c[r * q + r];
                        }
                    }
                    y
                };
                let dr: Vec<f64> = (0..q * q)
                    .map(|i| if i % (q + 1) == 0 { 0.0 } else { 1.0 })
                    .collect();
                let y = forward(&dr);
                let yt: Vec<f64> = (0..q * q).map(|i| y[(i % q) * q + i / q]).collect();
                let x = forward(&yt);
                let mut dc = vec![0.0; q * q];
                for col in 0..q {
                    for r in col..q {
                        // (CΦ(X))[r, col] = Σ_{m ≥ col} C[r, m] Φ(X)[m, col].
                        dc[col * q + r] = (col..=r)
                            .map(|m| {
                                let phi = x[col * q + m] * if m == col { 0.5 } else { 1.0 };
                                c[m * q + r] * phi
                            })
                            .sum::<f64>()
                            * s;
                    }
                }
                vec![c, dc]
            }
        }
    }

    /// `∂(TT')/∂θᵢ = FᵢT' + TFᵢ'` for each parameter θᵢ of term `k` (symmetric `q × q`), at
    /// the θ last [`Lambda::set`]; `theta` holds that term's parameters.
    pub fn covariance_derivatives(&self, k: usize, theta: &[f64]) -> Vec<Vec<f64>> {
        let (q, t) = (self.q[k], &self.t[k]);
        self.factor_derivatives(k, theta)
            .into_iter()
            .map(|f| {
                let mut m = vec![0.0; q * q];
                for a in 0..q {
                    for b in 0..q {
                        m[b * q + a] = (0..q)
                            .map(|c| f[c * q + a] * t[c * q + b] + t[c * q + a] * f[c * q + b])
                            .sum();
                    }
                }
                m
            })
            .collect()
    }

    pub fn set(&mut self, theta: &[f64]) {
        let mut k = 0;
        for ((t, &q), &kind) in self.t.iter_mut().zip(&self.q).zip(&self.kinds) {
            t.iter_mut().for_each(|v| *v = 0.0);
            match kind {
                CovarianceType::Unstructured => {
                    for c in 0..q {
                        for r in c..q {
                            t[c * q + r] = theta[k];
                            k += 1;
                        }
                    }
                }
                CovarianceType::Diagonal => {
                    for c in 0..q {
                        t[c * q + c] = theta[k];
                        k += 1;
                    }
                }
                CovarianceType::CompoundSymmetry => {
                    let s = theta[k];
                    let rho = if q > 1 { theta[k + 1] } else { 0.0 };
                    k += q.min(2);
                    // T = s·chol((1−ρ)I + ρJ); positive definite inside the bounds.
                    for c in 0..q {
                        for r in 0..q {
                            t[c * q + r] = if r == c { 1.0 } else { rho };
                        }
                    }
                    if !small_cholesky(t, q) {
                        t.iter_mut().for_each(|v| *v = f64::NAN);
                    }
                    t.iter_mut().for_each(|v| *v *= s);
                }
            }
        }
    }
}

/// Dense blocks up to this size are factorised by [`small_cholesky`]: for the few fixed
/// effects of a one-factor model, faer's setup costs more than the factorisation.
const SMALL_CHOLESKY: usize = 16;

/// Workspace and result of the blocked factorisation.
pub struct Factor {
    pub lambda: Lambda,
    /// `levels1` lower-triangular `q1 × q1` blocks (column-major).
    pub l11: Vec<f64>,
    /// Same layout as `Blocks::a21`: the coupling rows of the factor.
    pub l21: Vec<f64>,
    /// `d × d` column-major; after `update` its lower triangle holds the dense factor.
    /// Empty when `sparse` holds the dense block instead.
    pub dense: Vec<f64>,
    /// The dense block as a sparse factor, where its random part is sparse enough.
    pub(super) sparse: Option<SparseBlock>,
    buffer: MemBuffer,
    levels: LevelWork,
    /// Small scratch buffers, sized on first use and reused after.
    lam_diag: Vec<f64>,
    scratch: Vec<f64>,
    /// The inverse of the dense block's random part, for derivatives (sized on first use).
    pub(super) inverse: Vec<f64>,
    /// The derivatives' buffers the size of the random effects times `p + 1`, kept so that
    /// each gradient does not fault in fresh pages for them.
    pub(super) derivative_buffers: crate::fit::derivatives::Buffers,
    /// log |L_Z|², summed over both random parts.
    pub ld_l2: f64,
    /// log |R_X|².
    pub ld_rx2: f64,
    /// Penalised weighted residual sum of squares.
    pub pwrss: f64,
}

impl Factor {
    /// The workspace for `blocks`. `fixed_blocks`: every evaluation will factorise these
    /// same cross-products (not re-whitened or reweighted copies), so the dense block's
    /// sparsity can be analysed once and used ([`SparseBlock`]) where it pays.
    pub fn new(blocks: &Blocks, lambda: Lambda, fixed_blocks: bool) -> Factor {
        let sparse = fixed_blocks.then(|| SparseBlock::new(blocks)).flatten();
        // The dense factor's size: the whole block, or only [X y]'s with a sparse one.
        let d = match sparse {
            Some(_) => blocks.layout.p + 1,
            None => blocks.layout.d(),
        };
        let req = cholesky_in_place_scratch::<f64>(d, Par::rayon(0), Default::default());
        Factor {
            lambda,
            l11: vec![0.0; blocks.a11.len()],
            l21: vec![0.0; blocks.a21.len()],
            dense: vec![0.0; if sparse.is_some() { 0 } else { d * d }],
            sparse,
            buffer: MemBuffer::new(req),
            levels: LevelWork::new(blocks),
            lam_diag: Vec::with_capacity(blocks.layout.d()),
            scratch: Vec::new(),
            inverse: Vec::new(),
            derivative_buffers: Default::default(),
            ld_l2: 0.0,
            ld_rx2: 0.0,
            pwrss: 0.0,
        }
    }

    /// Factorises at θ. Returns `false` when the matrix is numerically not positive definite.
    pub fn update(&mut self, blocks: &Blocks, theta: &[f64]) -> bool {
        self.lambda.set(theta);
        if self.sparse.is_some() {
            return self.update_sparse(blocks);
        }
        let q1 = blocks.q1;
        let lay = &blocks.layout;
        let d = lay.d();
        let mut ld_l2 = 0.0;

        // Dense block: Λ_rest' A22 Λ_rest + I_rest, to be downdated below. Only the lower
        // triangle is read from here on.
        if lay.terms.iter().all(|&(_, q, _)| q == 1) {
            // Λ_rest is diagonal: one scaled copy of the lower triangle.
            let lam = &mut self.lam_diag;
            lam.clear();
            for (k, &(_, _, levels)) in lay.terms.iter().enumerate() {
                lam.extend(std::iter::repeat_n(self.lambda.t[k + 1][0], levels));
            }
            lam.resize(d, 1.0);
            for c in 0..d {
                let (src, dst) = (
                    &blocks.a22[c * d..(c + 1) * d],
                    &mut self.dense[c * d..(c + 1) * d],
                );
                let lc = lam[c];
                for r in c..d {
                    dst[r] = src[r] * lam[r] * lc;
                }
            }
        } else {
            self.dense.copy_from_slice(&blocks.a22);
            for (k, &(off, q, levels)) in lay.terms.iter().enumerate() {
                let t = &self.lambda.t[k + 1];
                for l in 0..levels {
                    scale_block_sym(&mut self.dense, d, off + l * q, q, t, &mut self.scratch);
                }
            }
        }
        for r in 0..lay.q_rest {
            self.dense[r * d + r] += 1.0;
        }

        let small_dense = d <= SMALL_DENSE;
        match self.levels.factor(
            blocks,
            &self.lambda,
            &mut self.l11,
            &mut self.l21,
            &mut self.dense,
        ) {
            Some(log_det) => ld_l2 += log_det,
            None => return false,
        }
        // Downdate the dense block's lower triangle by Σⱼ L21ⱼ L21ⱼ', column by column, so
        // that writes stay within one cached column (small blocks were done per level).
        for s in (0..d).filter(|_| q1 > 0 && !small_dense) {
            let col = &mut self.dense[s * d..(s + 1) * d];
            for &(es, j) in &blocks.by_row[blocks.by_row_ptr[s]..blocks.by_row_ptr[s + 1]] {
                // Entries of level j after `es` have larger row indices (rows are sorted).
                let end = blocks.row_ptr[j + 1];
                let rows = &blocks.rows(j)[es - blocks.row_ptr[j]..];
                if q1 == 1 {
                    let vs = self.l21[es];
                    for (&r, &ve) in rows.iter().zip(&self.l21[es..end]) {
                        col[r] -= vs * ve;
                    }
                } else {
                    let vs = &self.l21[es * q1..(es + 1) * q1];
                    for (&r, ve) in rows
                        .iter()
                        .zip(self.l21[es * q1..end * q1].chunks_exact(q1))
                    {
                        col[r] -= vs.iter().zip(ve).map(|(x, y)| x * y).sum::<f64>();
                    }
                }
            }
        }

        if !dense_cholesky(&mut self.dense, d, &mut self.buffer) {
            return false;
        }
        for r in 0..lay.q_rest {
            ld_l2 += 2.0 * self.dense[r * d + r].ln();
        }
        self.ld_rx2 = (lay.q_rest..lay.q_rest + lay.p)
            .map(|r| 2.0 * self.dense[r * d + r].ln())
            .sum();
        self.ld_l2 = ld_l2;
        let r_yy = self.dense[(d - 1) * d + d - 1];
        self.pwrss = r_yy * r_yy;
        self.pwrss.is_finite() && self.ld_l2.is_finite()
    }

    /// [`Factor::update`] with the sparse dense block: the first term's levels, then
    /// `L_A`, `W` and `C − W'W` ([`SparseBlock::update`]), then `L_C` here.
    fn update_sparse(&mut self, blocks: &Blocks) -> bool {
        let Some(sparse) = self.sparse.as_mut() else {
            return false;
        };
        let Some(ld_first) =
            self.levels
                .factor(blocks, &self.lambda, &mut self.l11, &mut self.l21, &mut [])
        else {
            return false;
        };
        let Some(ld_rest) = sparse.update(blocks, &self.lambda, &self.l21) else {
            return false;
        };
        let (m, c) = sparse.fixed_part();
        if !dense_cholesky(c, m, &mut self.buffer) {
            return false;
        }
        let p = m - 1;
        self.ld_l2 = ld_first + ld_rest;
        self.ld_rx2 = (0..p).map(|r| 2.0 * c[r * m + r].ln()).sum();
        self.pwrss = c[p * m + p] * c[p * m + p];
        self.pwrss.is_finite() && self.ld_l2.is_finite()
    }

    /// The profiled deviance (ML) or REML criterion at the last `update`.
    pub fn objective(&self, reml: bool, n: usize, p: usize) -> f64 {
        let two_pi = 2.0 * std::f64::consts::PI;
        if reml {
            let nmp = (n - p) as f64;
            self.ld_l2 + self.ld_rx2 + nmp * (1.0 + (two_pi * self.pwrss / nmp).ln())
        } else {
            let nf = n as f64;
            self.ld_l2 + nf * (1.0 + (two_pi * self.pwrss / nf).ln())
        }
    }

    /// β̂ and the spherical random effects `u` (first term's levels, then the dense part),
    /// by back-substitution through the factor; β̂ adds back the γ taken out of `y` by
    /// [`Blocks::new`].
    pub fn solve(&self, blocks: &Blocks) -> (Vec<f64>, Vec<f64>) {
        let (mut beta, mut u) = (Vec::new(), Vec::new());
        self.solve_into(blocks, &mut beta, &mut u);
        (beta, u)
    }

    /// [`Factor::solve`] into `beta` and `u`, reusing their storage: PIRLS solves at every
    /// step, and on a small model the allocations were a visible part of a step.
    pub fn solve_into(&self, blocks: &Blocks, beta: &mut Vec<f64>, u: &mut Vec<f64>) {
        let lay = &blocks.layout;
        // The dense solution [u_rest; β̂] goes to the end of `u` first, so that the first
        // term's back-substitution can read it without a buffer of its own.
        let q1 = blocks.q1;
        let n1 = blocks.levels1 * q1;
        u.clear();
        u.resize(n1, 0.0);
        self.dense_solution_into(lay.d(), u);
        let (u1, s) = u.split_at_mut(n1);
        match q1 {
            1 => solve_levels::<1>(self, blocks, q1, s, u1),
            2 => solve_levels::<2>(self, blocks, q1, s, u1),
            _ => solve_levels::<0>(self, blocks, q1, s, u1),
        }
        beta.clear();
        beta.extend(
            s[lay.q_rest..]
                .iter()
                .zip(&blocks.gamma)
                .map(|(b, g)| b + g),
        );
        u.truncate(n1 + lay.q_rest);
    }

    /// `[u_rest; β̂]`: `L_D' s = l_y` solved over the dense block (without y's row).
    pub(super) fn dense_solution(&self, d: usize) -> Vec<f64> {
        let mut s = Vec::new();
        self.dense_solution_into(d, &mut s);
        s
    }

    /// [`Factor::dense_solution`] appended to `out`.
    fn dense_solution_into(&self, d: usize, out: &mut Vec<f64>) {
        if let Some(sparse) = &self.sparse {
            out.extend_from_slice(&sparse.solution());
            return;
        }
        let l = |r: usize, c: usize| self.dense[c * d + r];
        let m = d - 1;
        let start = out.len();
        out.extend((0..m).map(|c| l(d - 1, c)));
        let s = &mut out[start..];
        for c in (0..m).rev() {
            let acc: f64 = (c + 1..m).map(|r| l(r, c) * s[r]).sum();
            s[c] = (s[c] - acc) / l(c, c);
        }
    }

    /// (R_X R_X')⁻¹, the unscaled covariance of β̂ (row-major p × p).
    pub fn unscaled_vcov(&self, blocks: &Blocks) -> Vec<f64> {
        let p = blocks.layout.p;
        let inv = self.rx_inverse(blocks);
        // (L L')⁻¹ = L⁻ᵀ L⁻¹
        let mut v = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                v[a * p + b] = (a.max(b)..p).map(|k| inv[k * p + a] * inv[k * p + b]).sum();
            }
        }
        v
    }

    /// R_X⁻¹ (lower triangular, row-major p × p): (R_X R_X')⁻¹ = R_X⁻ᵀR_X⁻¹.
    pub(super) fn rx_inverse(&self, blocks: &Blocks) -> Vec<f64> {
        let lay = &blocks.layout;
        let p = lay.p;
        // R_X: the fixed-effect rows and columns of the dense factor, or of L_C.
        let (l, d, o) = match &self.sparse {
            Some(sparse) => (sparse.l_c(), p + 1, 0),
            None => (&self.dense[..], lay.d(), lay.q_rest),
        };
        // Inverse of the lower-triangular R_X block, column by column.
        let mut inv = vec![0.0; p * p];
        for c in 0..p {
            for r in c..p {
                let rhs = if r == c { 1.0 } else { 0.0 };
                let acc: f64 = (c..r)
                    .map(|k| l[(o + k) * d + o + r] * inv[k * p + c])
                    .sum();
                inv[r * p + c] = (rhs - acc) / l[(o + r) * d + o + r];
            }
        }
        inv
    }
}

/// The first term's modes from the dense solution `s` (`[u_rest; β̂]`): per level `j`,
/// `L11ⱼ' u₁ⱼ = l_yⱼ − L21ⱼ's`, into `u1`. `Q` is `q1` as a constant where it is a common
/// one (so the loops unroll), 0 otherwise.
fn solve_levels<const Q: usize>(f: &Factor, blocks: &Blocks, q1: usize, s: &[f64], u1: &mut [f64]) {
    let q1 = if Q == 0 { q1 } else { Q };
    let d = blocks.layout.d();
    for j in 0..blocks.levels1 {
        let lo = blocks.row_ptr[j];
        let lj = &f.l11[j * q1 * q1..(j + 1) * q1 * q1];
        let uj = &mut u1[j * q1..(j + 1) * q1];
        for (e, &r) in blocks.rows(j).iter().enumerate() {
            let row = &f.l21[(lo + e) * q1..(lo + e + 1) * q1];
            let coef = if r == d - 1 { 1.0 } else { -s[r] };
            for c in 0..q1 {
                uj[c] += coef * row[c];
            }
        }
        for c in (0..q1).rev() {
            let acc: f64 = (c + 1..q1).map(|r| lj[c * q1 + r] * uj[r]).sum();
            uj[c] = (uj[c] - acc) / lj[c * q1 + c];
        }
    }
}

/// In-place lower Cholesky factor of a dense `n × n` column-major block (the lower
/// triangle is read and written); `false` when it is not positive definite.
fn dense_cholesky(m: &mut [f64], n: usize, buffer: &mut MemBuffer) -> bool {
    if n <= SMALL_CHOLESKY {
        return small_cholesky(m, n);
    }
    let stack = MemStack::new(buffer);
    let mat = MatMut::from_column_major_slice_mut(m, n, n);
    // Threads pay off only once the dense block is large (many crossed random effects).
    let par = if n >= 256 { Par::rayon(0) } else { Par::Seq };
    cholesky_in_place(mat, Default::default(), par, stack, Default::default()).is_ok()
}

/// `out = T' A T` for symmetric `A` and lower-triangular `T`, both `q × q` column-major.
#[inline]
pub(super) fn congruence(a: &[f64], t: &[f64], q: usize, out: &mut [f64], at: &mut Vec<f64>) {
    match q {
        1 => {
            out[0] = t[0] * t[0] * a[0];
            return;
        }
        2 => {
            let (t00, t10, t11) = (t[0], t[1], t[3]);
            let (a00, a10, a11) = (a[0], a[1], a[3]);
            out[0] = t00 * t00 * a00 + 2.0 * t00 * t10 * a10 + t10 * t10 * a11;
            out[1] = t11 * (t00 * a10 + t10 * a11);
            out[2] = out[1];
            out[3] = t11 * t11 * a11;
            return;
        }
        _ => {}
    }
    at.resize(q * q, 0.0);
    for c in 0..q {
        for r in 0..q {
            at[c * q + r] = (c..q).map(|k| a[k * q + r] * t[c * q + k]).sum();
        }
    }
    for c in 0..q {
        for r in 0..q {
            out[c * q + r] = (r..q).map(|k| t[r * q + k] * at[c * q + k]).sum();
        }
    }
}

/// In-place lower Cholesky of a small column-major SPD matrix; upper part zeroed. The
/// one- and two-effect blocks, one per level of a grouping factor at every evaluation, are
/// done here in closed form, inlined into the level loop; larger ones by
/// [`cholesky_any`].
#[inline(always)]
pub(super) fn small_cholesky(m: &mut [f64], q: usize) -> bool {
    match q {
        1 => {
            let ok = m[0] > 0.0;
            m[0] = m[0].sqrt();
            ok
        }
        2 => {
            let l00 = m[0].sqrt();
            let l10 = m[1] / l00;
            let d11 = m[3] - l10 * l10;
            m[0] = l00;
            m[1] = l10;
            m[2] = 0.0;
            m[3] = d11.sqrt();
            m[0] > 0.0 && d11 > 0.0
        }
        _ => cholesky_any(m, q),
    }
}

/// [`small_cholesky`] of any size, column by column.
#[inline(never)]
fn cholesky_any(m: &mut [f64], q: usize) -> bool {
    for c in 0..q {
        let diag = m[c * q + c] - (0..c).map(|k| m[k * q + c] * m[k * q + c]).sum::<f64>();
        if diag.is_nan() || diag <= 0.0 {
            return false;
        }
        let lcc = diag.sqrt();
        m[c * q + c] = lcc;
        for r in c + 1..q {
            let s: f64 = (0..c).map(|k| m[k * q + r] * m[k * q + c]).sum();
            m[c * q + r] = (m[c * q + r] - s) / lcc;
        }
        for r in 0..c {
            m[c * q + r] = 0.0;
        }
    }
    true
}

/// Solves `LL'x = b` for a column-major lower-triangular `L` (`q × q`).
pub(super) fn cholesky_solve(l: &[f64], q: usize, mut b: Vec<f64>) -> Vec<f64> {
    cholesky_solve_in_place(l, q, &mut b);
    b
}

/// [`cholesky_solve`] into `b`, for loops over many small blocks.
pub(super) fn cholesky_solve_in_place(l: &[f64], q: usize, b: &mut [f64]) {
    forward_substitute(l, q, b);
    for r in (0..q).rev() {
        let s: f64 = (r + 1..q).map(|k| l[r * q + k] * b[k]).sum();
        b[r] = (b[r] - s) / l[r * q + r];
    }
}

/// `b ← L⁻¹b` for a column-major lower-triangular `L` (`q × q`).
pub(super) fn forward_substitute(l: &[f64], q: usize, b: &mut [f64]) {
    for r in 0..q {
        let s: f64 = (0..r).map(|k| l[k * q + r] * b[k]).sum();
        b[r] = (b[r] - s) / l[r * q + r];
    }
}

/// The inverse of a symmetric positive-definite `n × n` matrix (either storage order: both
/// it and its inverse are symmetric); `None` if it is not positive definite.
pub(super) fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = a.to_vec();
    if !small_cholesky(&mut l, n) {
        return None;
    }
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        let mut e = vec![0.0; n];
        e[c] = 1.0;
        let col = cholesky_solve(&l, n, e);
        for r in 0..n {
            inv[r * n + c] = col[r];
        }
    }
    Some(inv)
}

/// `rows ← T' rows` for a group of `q` consecutive rows of width `w` (row-major).
pub(super) fn left_mul_t_transpose(
    rows: &mut [f64],
    q: usize,
    w: usize,
    t: &[f64],
    src: &mut Vec<f64>,
) {
    src.clear();
    src.extend_from_slice(rows);
    for c in 0..q {
        for x in 0..w {
            rows[c * w + x] = (c..q).map(|k| t[c * q + k] * src[k * w + x]).sum();
        }
    }
}

/// `A ← T' A T` restricted to the rows and columns `b..b+q` of a full symmetric `d × d`
/// column-major matrix, applied to every row (columns) and column (rows) they touch.
fn scale_block_sym(a: &mut [f64], d: usize, b: usize, q: usize, t: &[f64], col: &mut Vec<f64>) {
    if q == 1 {
        let s = t[0];
        for r in 0..d {
            a[b * d + r] *= s;
        }
        for c in 0..d {
            a[c * d + b] *= s;
        }
        return;
    }
    col.resize(q, 0.0);
    for r in 0..d {
        for c in 0..q {
            col[c] = (c..q).map(|k| a[(b + k) * d + r] * t[c * q + k]).sum();
        }
        for c in 0..q {
            a[(b + c) * d + r] = col[c];
        }
    }
    for cidx in 0..d {
        for c in 0..q {
            col[c] = (c..q).map(|k| t[c * q + k] * a[cidx * d + b + k]).sum();
        }
        for c in 0..q {
            a[cidx * d + b + c] = col[c];
        }
    }
}
