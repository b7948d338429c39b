//! Derivatives with several grouping factors — nested or crossed, scalar or vector terms —
//! from the blocked factor of the last evaluation (the formulas are in [`super`]).
//!
//! With `A = Z'Z`, `Σ = (Λ'AΛ + I)⁻¹` and `L_Z = [L11 0; L21 L22]` (L11 block-diagonal over
//! the first term's levels, L22 the dense block's random part), two identities give every
//! per-level block without inverting any `T` (so they stay exact on the boundary):
//!
//! - `Λ'Z'V⁻¹Z = ΣΛ'A`, so `T'(Z'V⁻¹Z)_ℓℓ = Σₘ Σ_ℓm (Λ'A)_mℓ` needs Σ only where A is
//!   nonzero; with `∂(TT')/∂θ = FT' + TF'`, `tr(Z'V⁻¹Z · D) = 2 tr(T'(Z'V⁻¹Z) F)`.
//! - `Z'V⁻¹[X y] = Z'[X y] − AΛ · ΣΛ'Z'[X y]`, and `ΣΛ'Z'[X y] = L_Z⁻ᵀ L_[Xy]'` is a
//!   back-substitution through the factor: a sparse product with A.
//!
//! Σ where A is nonzero: `Σ22 = L22⁻ᵀL22⁻¹`, `Σ[j, ·] = −L11ⱼ⁻ᵀL21ⱼ'Σ22` and
//! `Σⱼⱼ = L11ⱼ⁻ᵀ(I + L21ⱼ'Σ22L21ⱼ)L11ⱼ⁻¹` for level j of the first term. With `yⱼ = L22⁻¹L21ⱼ`
//! (a few columns of the explicit inverse) and `Yⱼ = Σ22[rowsⱼ, ·]L21ⱼ = L22⁻ᵀ[rowsⱼ, ·]yⱼ`,
//! one pass over the first term's levels gives its blocks and the coupling part of the dense
//! terms' blocks; the rest of theirs are a few entries of Σ22 each (A between dense terms
//! is sparse). The cost is one triangular inversion of L22 (about one factorisation of the
//! dense block) and two sparse products per level of the first term.
//!
//! When the dense block is held as a sparse factor ([`SparseBlock`]), Σ22 is not formed: its
//! selected inverse holds every entry of it where A is nonzero, which is all the above
//! reads (`Yⱼ = Σ22[rowsⱼ, rowsⱼ]L21ⱼ`, `yⱼ'yⱼ = L21ⱼ'Yⱼ`).

use super::{Derivatives, LevelSums};
use crate::fit::blocks::Blocks;
use crate::fit::factor::{left_mul_t_transpose, Factor};
use crate::fit::sparse::SparseBlock;
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

/// Dense blocks from this size use threads.
const PARALLEL_SIZE: usize = 256;
/// Levels of the first factor per parallel task; fixed so that the sums are the same bits
/// on any machine.
const CHUNK_LEVELS: usize = 256;

/// What one chunk of the first term's levels contributes.
struct Partial {
    first: LevelSums,
    /// `−Σⱼ Yⱼ[g] Kⱼ[g]'` per level g of each dense term (q × q, column-major, at
    /// [`DenseIndex::block`]).
    dense: Vec<f64>,
}

/// Where each level of the dense terms keeps its `q × q` block in a flat vector, and, per
/// dense random row, its level (looked up per row in the passes over the levels).
struct DenseIndex {
    base: Vec<usize>,
    len: usize,
    /// Per dense random row: term, its `q`, first dense row and block offset of its level.
    rows: Vec<(usize, usize, usize, usize)>,
}

impl DenseIndex {
    fn new(blocks: &Blocks) -> DenseIndex {
        let mut base = Vec::new();
        let mut rows = Vec::with_capacity(blocks.layout.q_rest);
        let mut len = 0;
        for (k, &(off, q, levels)) in blocks.layout.terms.iter().enumerate() {
            base.push(len);
            for level in 0..levels {
                let first = off + level * q;
                rows.extend(std::iter::repeat_n((k, q, first, len + level * q * q), q));
            }
            len += q * q * levels;
        }
        DenseIndex { base, len, rows }
    }

    /// Term, its `q`, first dense row and block offset of the level owning dense row `r`.
    fn block(&self, r: usize) -> (usize, usize, usize, usize) {
        self.rows[r]
    }
}

/// Buffers of [`Factor::blocked_derivatives`] that grow with the random effects, kept
/// between evaluations so that a gradient does not fault in fresh pages for them.
#[derive(Default)]
pub(in crate::fit) struct Buffers {
    /// `ΛH` of the first term's levels (row-major, p + 1 columns), `H = L_Z⁻ᵀL_[Xy]'`.
    first: Vec<f64>,
    /// `ΛH` of the dense block's random effects, and their `Z'V⁻¹[X y]`.
    dense_lh: Vec<f64>,
    dense_out: Vec<f64>,
}

impl Buffers {
    /// `ΛH` of the first term's levels and of the dense block's random effects (row-major,
    /// `p + 1` columns), as the last [`Factor::blocked_derivatives`] left them: the residual
    /// structures' φ derivatives read its `X` columns ([`super::residual_blocked`]).
    pub(super) fn lambda_h(&self) -> (&[f64], &[f64]) {
        (&self.first, &self.dense_lh)
    }
}

impl Factor {
    /// [`Factor::derivatives`] with several grouping factors.
    pub(super) fn blocked_derivatives(
        &mut self,
        blocks: &Blocks,
        theta: &[f64],
        reml: bool,
        vcov: bool,
    ) -> Derivatives {
        let lay = &blocks.layout;
        let (d, p, nr) = (lay.d(), lay.p, lay.q_rest);
        let (q1, m) = (blocks.q1, p + 1);
        let parallel = nr >= PARALLEL_SIZE;
        let mut buffers = std::mem::take(&mut self.derivative_buffers);
        // H of the dense block's random effects: L22⁻ᵀ times the factor's [X y] rows.
        buffers.dense_lh.clear();
        buffers.dense_lh.resize(nr * m, 0.0);
        match &mut self.sparse {
            Some(sparse) => {
                sparse.selected_inverse();
                sparse.back_substitute_w(&mut buffers.dense_lh);
            }
            None => {
                self.inverse.resize(nr * nr, 0.0);
                invert_lower_triangular(
                    MatMut::from_column_major_slice_mut(&mut self.inverse, nr, nr),
                    MatRef::from_column_major_slice(&self.dense, d, d).submatrix(0, 0, nr, nr),
                    if parallel { Par::rayon(0) } else { Par::Seq },
                );
                for r in 0..nr {
                    let col = &self.inverse[r * nr..(r + 1) * nr];
                    let out = &mut buffers.dense_lh[r * m..(r + 1) * m];
                    for k in r..nr {
                        let (v, lxy) = (col[k], &self.dense[k * d + nr..k * d + nr + m]);
                        out.iter_mut().zip(lxy).for_each(|(o, x)| *o += v * x);
                    }
                }
            }
        }
        // Then ΛH, in place.
        for (k, &(off, q, levels)) in lay.terms.iter().enumerate() {
            let t = &self.lambda.t[k + 1];
            for l in 0..levels {
                let at = (off + l * q) * m;
                lower_times_in_place(t, q, &mut buffers.dense_lh[at..at + q * m], m);
            }
        }
        let this = &*self;
        let beta = this.dense_solution(d)[nr..].to_vec();
        // The REML term alone is summed directly; the Jacobian needs every GℓGℓ'.
        let direct = reml && !vcov;
        let rinv = if direct {
            this.rx_inverse(blocks)
        } else {
            Vec::new()
        };
        let sums_for = |q: usize| {
            if direct {
                LevelSums::with_direct_reml(q, p)
            } else {
                LevelSums::zeros(q, p, vcov)
            }
        };
        let index = DenseIndex::new(blocks);
        let lh2 = &buffers.dense_lh;

        // One pass over the first term's levels: each level's Z'V⁻¹[X y] from its own ΛH
        // (kept for the dense rows', below), and its sums.
        let chunk = |c: usize, lh1: &mut [f64]| {
            let levels = c * CHUNK_LEVELS..((c + 1) * CHUNK_LEVELS).min(blocks.levels1);
            let mut part = Partial {
                first: sums_for(q1),
                dense: vec![0.0; index.len],
            };
            let mut work = LevelScratch::default();
            for (j, lhj) in levels.zip(lh1.chunks_exact_mut(q1 * m)) {
                this.first_level(blocks, &index, j, &mut work, &mut part);
                this.first_level_cross_products(blocks, j, lh2, lhj, &mut work.gy);
                part.first.add_level(&work.gy, &beta, &rinv);
            }
            part
        };
        let n_chunks = blocks.levels1.div_ceil(CHUNK_LEVELS);
        buffers.first.clear();
        buffers.first.resize(blocks.levels1 * q1 * m, 0.0);
        let per_chunk = (CHUNK_LEVELS * q1 * m).max(1);
        let parts: Vec<Partial> = if parallel || n_chunks > 1 {
            buffers
                .first
                .par_chunks_mut(per_chunk)
                .enumerate()
                .map(|(c, lh1)| chunk(c, lh1))
                .collect()
        } else {
            buffers
                .first
                .chunks_mut(per_chunk)
                .enumerate()
                .map(|(c, lh1)| chunk(c, lh1))
                .collect()
        };
        let mut first = sums_for(q1);
        let mut coupling = vec![0.0; index.len];
        for part in &parts {
            first.add(&part.first);
            coupling
                .iter_mut()
                .zip(&part.dense)
                .for_each(|(a, b)| *a += b);
        }
        this.dense_cross_products(blocks, &buffers.first, lh2, &mut buffers.dense_out);
        let gy2 = &buffers.dense_out;
        let mut sums = vec![first];
        for (k, &(off, q, levels)) in lay.terms.iter().enumerate() {
            let mut s = sums_for(q);
            for l in 0..levels {
                let o = off + l * q;
                let block = this.dense_level(blocks, &index, o, q);
                let acc = &coupling[index.base[k] + l * q * q..][..q * q];
                s.zvz
                    .iter_mut()
                    .zip(block.iter().zip(acc))
                    .for_each(|(z, (a, b))| *z += a + b);
                s.add_level(&gy2[o * m..(o + q) * m], &beta, &rinv);
            }
            sums.push(s);
        }

        let c = this.unscaled_vcov(blocks);
        let mut parts = Vec::new();
        let mut at = 0;
        for (k, s) in sums.iter().enumerate() {
            let q = s.q;
            let fs = this.lambda.factor_derivatives(k, &theta[at..]);
            let ds = this.lambda.covariance_derivatives(k, &theta[at..]);
            at += fs.len();
            let gcg = if reml { s.gcg(&c) } else { vec![0.0; q * q] };
            for (f, dm) in fs.iter().zip(&ds) {
                // tr(T'M F) with T'M and F column-major.
                let tmf: f64 = (0..q)
                    .flat_map(|a| (0..q).map(move |b| (a, b)))
                    .map(|(a, b)| s.zvz[b * q + a] * f[a * q + b])
                    .sum();
                let jac = if vcov { s.g_d_g(dm) } else { Vec::new() };
                parts.push((
                    2.0 * tmf - LevelSums::trace(&gcg, dm),
                    -LevelSums::trace(&s.ww, dm),
                    jac,
                ));
            }
        }
        self.derivative_buffers = buffers;
        Derivatives::from_parts(
            &c,
            p,
            vcov,
            parts.into_iter().map(|(a, b, k)| (a, b, move || k)),
        )
    }

    /// Level j of the first term: its `ΛH` (into `lh`, q1 rows of p + 1, row-major) from
    /// `L11ⱼ'Hⱼ = L_[Xy]ⱼ' − L21ⱼ'H2[rowsⱼ]`, and its random effects' `Z'V⁻¹[X y]` (into
    /// `gy`, the same shape) as `Z'[X y] − AΛH`, from `ΛH` of the dense block's random
    /// effects (`lh2`). As `L21ⱼ = Λ_rest'A21ⱼT₁L11ⱼ⁻ᵀ`, both dense parts come from one
    /// product `S = A21ⱼ'(ΛH)2[rowsⱼ]`: `L21ⱼ'H2 = L11ⱼ⁻¹T₁'S`, and `S` is `A·ΛH`'s.
    fn first_level_cross_products(
        &self,
        blocks: &Blocks,
        j: usize,
        lh2: &[f64],
        lh: &mut [f64],
        gy: &mut Vec<f64>,
    ) {
        let (nr, q1, m) = (blocks.layout.q_rest, blocks.q1, blocks.layout.p + 1);
        let (lo, hi) = (blocks.row_ptr[j], blocks.row_ptr[j + 1]);
        let rows = blocks.rows(j);
        let nrand = rows.partition_point(|&r| r < nr);
        let (random, fixed) = rows.split_at(nrand);
        let l21f = &self.l21[(lo + nrand) * q1..hi * q1];
        let (a21r, a21f) = blocks.a21[lo * q1..hi * q1].split_at(nrand * q1);
        let l = &self.l11[j * q1 * q1..(j + 1) * q1 * q1];
        let a11 = &blocks.a11[j * q1 * q1..(j + 1) * q1 * q1];
        let t1 = &self.lambda.t[0];
        // gy ← −S.
        gy.clear();
        gy.resize(q1 * m, 0.0);
        for (e, &r) in random.iter().enumerate() {
            let lr = &lh2[r * m..(r + 1) * m];
            for a in 0..q1 {
                let v = a21r[e * q1 + a];
                gy[a * m..(a + 1) * m]
                    .iter_mut()
                    .zip(lr)
                    .for_each(|(o, x)| *o -= v * x);
            }
        }
        // lh ← L11ⱼ⁻¹T₁'(−S), row by row (T₁' upper, L11ⱼ lower triangular)…
        let lh = &mut lh[..q1 * m];
        for a in 0..q1 {
            let (done, row) = lh.split_at_mut(a * m);
            let row = &mut row[..m];
            row.fill(0.0);
            for k in a..q1 {
                let v = t1[a * q1 + k];
                row.iter_mut()
                    .zip(&gy[k * m..(k + 1) * m])
                    .for_each(|(o, x)| *o += v * x);
            }
            for k in 0..a {
                let v = l[k * q1 + a];
                row.iter_mut()
                    .zip(&done[k * m..(k + 1) * m])
                    .for_each(|(o, x)| *o -= v * x);
            }
            let inv = 1.0 / l[a * q1 + a];
            row.iter_mut().for_each(|o| *o *= inv);
        }
        // … plus L_[Xy]ⱼ', then through L11ⱼ'⁻¹ and T₁.
        for (e, &r) in fixed.iter().enumerate() {
            for a in 0..q1 {
                lh[a * m + r - nr] += l21f[e * q1 + a];
            }
        }
        for a in (0..q1).rev() {
            let (head, tail) = lh.split_at_mut((a + 1) * m);
            let row = &mut head[a * m..];
            for k in a + 1..q1 {
                let v = l[a * q1 + k];
                row.iter_mut()
                    .zip(&tail[(k - a - 1) * m..(k - a) * m])
                    .for_each(|(o, x)| *o -= v * x);
            }
            let inv = 1.0 / l[a * q1 + a];
            row.iter_mut().for_each(|o| *o *= inv);
        }
        lower_times_in_place(t1, q1, lh, m);
        // gy = Z'[X y]ⱼ − A11ⱼ(ΛH)ⱼ − S.
        for a in 0..q1 {
            let out = &mut gy[a * m..(a + 1) * m];
            for b in 0..q1 {
                let v = a11[b * q1 + a];
                out.iter_mut()
                    .zip(&lh[b * m..(b + 1) * m])
                    .for_each(|(o, x)| *o -= v * x);
            }
        }
        for (e, &r) in fixed.iter().enumerate() {
            for a in 0..q1 {
                gy[a * m + r - nr] += a21f[e * q1 + a];
            }
        }
    }

    /// `Z'V⁻¹[X y]` of the dense block's random effects (into `out`, row-major, p + 1
    /// columns) as `Z'[X y] − A·ΛH`, from `ΛH` of the first term's levels (`lh1`) and of
    /// the dense block's (`lh2`).
    fn dense_cross_products(&self, blocks: &Blocks, lh1: &[f64], lh2: &[f64], out: &mut Vec<f64>) {
        let lay = &blocks.layout;
        let (d, nr, q1, m) = (lay.d(), lay.q_rest, blocks.q1, lay.p + 1);
        out.clear();
        out.resize(nr * m, 0.0);
        for j in 0..blocks.levels1 {
            let (lo, rows) = (blocks.row_ptr[j], blocks.rows(j));
            let lhj = &lh1[j * q1 * m..(j + 1) * q1 * m];
            for (e, &r) in rows.iter().take_while(|&&r| r < nr).enumerate() {
                let za = &blocks.a21[(lo + e) * q1..(lo + e + 1) * q1];
                let o = &mut out[r * m..(r + 1) * m];
                for (a, &v) in za.iter().enumerate() {
                    o.iter_mut()
                        .zip(&lhj[a * m..(a + 1) * m])
                        .for_each(|(o, x)| *o -= v * x);
                }
            }
        }
        for s in 0..nr {
            let lhs = &lh2[s * m..(s + 1) * m];
            self.for_each_coupling(blocks, s, |r, v| {
                out[r * m..(r + 1) * m]
                    .iter_mut()
                    .zip(lhs)
                    .for_each(|(o, x)| *o -= v * x);
            });
        }
        for r in 0..nr {
            for c in 0..m {
                out[r * m + c] += blocks.a22[(nr + c) * d + r];
            }
        }
    }

    /// Level j of the first term: adds `T₁'(Z'V⁻¹Z)ⱼⱼ` to `part.first` and the coupling part
    /// `−Yⱼ[g]Kⱼ[g]'` of each dense level g it touches to `part.dense` (`Kⱼ = A21ⱼT₁L11ⱼ⁻ᵀ`,
    /// the coupling rows before `Λ_rest'`).
    fn first_level(
        &self,
        blocks: &Blocks,
        index: &DenseIndex,
        j: usize,
        w: &mut LevelScratch,
        part: &mut Partial,
    ) {
        let lay = &blocks.layout;
        let (nr, q1) = (lay.q_rest, blocks.q1);
        let t1 = &self.lambda.t[0];
        let l = &self.l11[j * q1 * q1..(j + 1) * q1 * q1];
        let a11 = &blocks.a11[j * q1 * q1..(j + 1) * q1 * q1];
        let lo = blocks.row_ptr[j];
        let rows = blocks.rows(j);
        let nrand = rows.partition_point(|&r| r < nr);
        let rows = &rows[..nrand];
        let l21 = &self.l21[lo * q1..(lo + nrand) * q1];
        let a21 = &blocks.a21[lo * q1..(lo + nrand) * q1];

        // Yⱼ = Σ22[rows, rows] L21ⱼ (nrand × q1, row-major) and yⱼ'yⱼ = L21ⱼ'Yⱼ (q1 × q1).
        match &self.sparse {
            None => self.coupling_dense(rows, l21, q1, nr, w),
            Some(sparse) => coupling_sparse(sparse, j, rows.len(), l21, q1, w),
        }
        // Λ_rest'A21ⱼ and Kⱼ = A21ⱼT₁L11ⱼ⁻ᵀ (nrand × q1, row-major).
        w.ta21.clear();
        w.ta21.extend_from_slice(a21);
        w.k.clear();
        w.k.resize(nrand * q1, 0.0);
        let mut e = 0;
        while e < nrand {
            let (k, q, _, _) = index.block(rows[e]);
            let group = &mut w.ta21[e * q1..(e + q) * q1];
            left_mul_t_transpose(group, q, q1, &self.lambda.t[k + 1], &mut w.src);
            e += q;
        }
        for (row, s) in w.k.chunks_exact_mut(q1).zip(a21.chunks_exact(q1)) {
            for c in 0..q1 {
                row[c] = (c..q1).map(|cp| s[cp] * t1[c * q1 + cp]).sum();
            }
            for c in 0..q1 {
                let acc: f64 = (0..c).map(|cp| row[cp] * l[cp * q1 + c]).sum();
                row[c] = (row[c] - acc) / l[c * q1 + c];
            }
        }

        // T₁'Mⱼⱼ = (ΣΛ'A)ⱼⱼ = L11⁻ᵀ[(I + yⱼ'yⱼ)L11⁻¹T₁'A11ⱼ − Yⱼ'Λ_rest'A21ⱼ] (column-major).
        let q = q1;
        w.z.clear();
        w.z.resize(q * q, 0.0);
        for b in 0..q {
            for a in 0..q {
                w.z[b * q + a] = (a..q).map(|k| t1[a * q + k] * a11[b * q + k]).sum();
            }
            for a in 0..q {
                let acc: f64 = (0..a).map(|k| l[k * q + a] * w.z[b * q + k]).sum();
                w.z[b * q + a] = (w.z[b * q + a] - acc) / l[a * q + a];
            }
        }
        let (z, yy, big_y, ta21) = (&w.z, &w.yy, &w.big_y, &w.ta21);
        let tm = &mut w.tm;
        tm.clear();
        tm.resize(q * q, 0.0);
        for b in 0..q {
            for a in 0..q {
                let mut v = z[b * q + a];
                v += (0..q).map(|k| yy[k * q + a] * z[b * q + k]).sum::<f64>();
                v -= (0..nrand)
                    .map(|e| big_y[e * q + a] * ta21[e * q + b])
                    .sum::<f64>();
                tm[b * q + a] = v;
            }
            for a in (0..q).rev() {
                let acc: f64 = (a + 1..q).map(|k| l[a * q + k] * tm[b * q + k]).sum();
                tm[b * q + a] = (tm[b * q + a] - acc) / l[a * q + a];
            }
        }
        part.first
            .zvz
            .iter_mut()
            .zip(tm.iter())
            .for_each(|(o, v)| *o += v);

        // The dense levels this one touches: −Yⱼ[g]Kⱼ[g]'.
        let mut e = 0;
        while e < nrand {
            let (_, qg, _, at) = index.block(rows[e]);
            let block = &mut part.dense[at..at + qg * qg];
            for b in 0..qg {
                for a in 0..qg {
                    block[b * qg + a] -= (0..q1)
                        .map(|c| w.big_y[(e + a) * q1 + c] * w.k[(e + b) * q1 + c])
                        .sum::<f64>();
                }
            }
            e += qg;
        }
    }

    /// With the dense factor, `Yⱼ` (into `w.big_y`) and `yⱼ'yⱼ` (into `w.yy`) from the columns of L22⁻¹:
    /// `yⱼ = L22⁻¹L21ⱼ` (nr × q1, nonzero from the first row touched), `Yⱼ = L22⁻ᵀ[rows, ·]yⱼ`.
    fn coupling_dense(
        &self,
        rows: &[usize],
        l21: &[f64],
        q1: usize,
        nr: usize,
        w: &mut LevelScratch,
    ) {
        let linv = &self.inverse;
        let first = rows.first().copied().unwrap_or(nr);
        w.y.clear();
        w.y.resize(q1 * nr, 0.0);
        for (e, &r) in rows.iter().enumerate() {
            let col = &linv[r * nr + r..(r + 1) * nr];
            for a in 0..q1 {
                let v = l21[e * q1 + a];
                w.y[a * nr + r..(a + 1) * nr]
                    .iter_mut()
                    .zip(col)
                    .for_each(|(o, x)| *o += v * x);
            }
        }
        w.big_y.clear();
        for &r in rows {
            let col = &linv[r * nr + r..(r + 1) * nr];
            for a in 0..q1 {
                let ya = &w.y[a * nr + r..(a + 1) * nr];
                w.big_y.push(col.iter().zip(ya).map(|(x, y)| x * y).sum());
            }
        }
        w.yy.clear();
        for i in 0..q1 * q1 {
            let (a, k) = (i % q1, i / q1);
            let v = w.y[a * nr + first..(a + 1) * nr]
                .iter()
                .zip(&w.y[k * nr + first..(k + 1) * nr])
                .map(|(x, y)| x * y)
                .sum();
            w.yy.push(v);
        }
    }

    /// `Σ22[x, y]` for dense rows x, y that A couples (or equal).
    pub(super) fn sigma22(&self, x: usize, y: usize, nr: usize) -> f64 {
        match &self.sparse {
            Some(sparse) => sparse.sigma(x, y),
            None => {
                let (linv, from) = (&self.inverse, x.max(y));
                linv[x * nr + from..(x + 1) * nr]
                    .iter()
                    .zip(&linv[y * nr + from..(y + 1) * nr])
                    .map(|(a, b)| a * b)
                    .sum()
            }
        }
    }

    /// For the dense level whose rows are `o..o+q`: `Σ22[g, ·](Λ_rest'A)[·, g]`
    /// (q × q, column-major), over the few dense rows A couples with g.
    fn dense_level(&self, blocks: &Blocks, index: &DenseIndex, o: usize, q: usize) -> Vec<f64> {
        let nr = blocks.layout.q_rest;
        let sigma = |x: usize, y: usize| self.sigma22(x, y, nr);
        let mut out = vec![0.0; q * q];
        for b in 0..q {
            self.for_each_coupling(blocks, o + b, |s, v| {
                // A[s, c] reaches (Λ'A)[s', c] = Σ_{s ≥ s'} T[s, s'] A[s, c] for s' ≤ s in s's level.
                let (h, qh, start, _) = index.block(s);
                let t = &self.lambda.t[h + 1];
                for sp in start..=s {
                    let coef = t[(sp - start) * qh + (s - start)] * v;
                    if coef == 0.0 {
                        continue;
                    }
                    for a in 0..q {
                        out[b * q + a] += sigma(o + a, sp) * coef;
                    }
                }
            });
        }
        out
    }

    /// Calls `f(r, A[r, c])` for every random row r that `Z'Z` couples with random row `c`.
    fn for_each_coupling(&self, blocks: &Blocks, c: usize, mut f: impl FnMut(usize, f64)) {
        match &self.sparse {
            Some(sparse) => sparse.coupling(c).iter().for_each(|&(r, v)| f(r, v)),
            None => {
                let (d, nr) = (blocks.layout.d(), blocks.layout.q_rest);
                let col = &blocks.a22[c * d..c * d + nr];
                for (r, &v) in col.iter().enumerate() {
                    if v != 0.0 {
                        f(r, v);
                    }
                }
            }
        }
    }
}

/// With the sparse factor, `Yⱼ = Σ22[rows, rows]L21ⱼ` (into `w.big_y`) and `yⱼ'yⱼ = L21ⱼ'Yⱼ`
/// (into `w.yy`)
/// from the selected inverse: the few entries of Σ22 between the rows level j touches.
fn coupling_sparse(
    sparse: &SparseBlock,
    j: usize,
    n: usize,
    l21: &[f64],
    q1: usize,
    w: &mut LevelScratch,
) {
    w.y.clear();
    w.y.resize(n * n, 0.0);
    let mut sigma = sparse.level_sigma(j);
    for a in 0..n {
        for b in 0..=a {
            let s = sigma.next().expect("one entry per pair of rows");
            w.y[a * n + b] = s;
            w.y[b * n + a] = s;
        }
    }
    w.big_y.clear();
    for a in 0..n {
        for c in 0..q1 {
            w.big_y
                .push((0..n).map(|f| w.y[a * n + f] * l21[f * q1 + c]).sum());
        }
    }
    w.yy.clear();
    w.yy.resize(q1 * q1, 0.0);
    for k in 0..q1 {
        for a in 0..q1 {
            w.yy[k * q1 + a] = (0..n).map(|e| l21[e * q1 + a] * w.big_y[e * q1 + k]).sum();
        }
    }
}

/// Per-level scratch of [`Factor::first_level`], reused across levels.
#[derive(Default)]
struct LevelScratch {
    /// `yⱼ` with the dense factor, `Σ22[rows, rows]` with the sparse one.
    y: Vec<f64>,
    big_y: Vec<f64>,
    ta21: Vec<f64>,
    k: Vec<f64>,
    z: Vec<f64>,
    src: Vec<f64>,
    /// The level's `Z'V⁻¹[X y]`, `T₁'Mⱼⱼ` and `yⱼ'yⱼ`.
    gy: Vec<f64>,
    tm: Vec<f64>,
    yy: Vec<f64>,
}

/// `rows ← T·rows` for lower-triangular `T` (`q × q`, column-major) and `rows`, q rows of
/// width `m` (row-major): from the last row up, as row `a` reads rows `b ≤ a` only.
fn lower_times_in_place(t: &[f64], q: usize, rows: &mut [f64], m: usize) {
    for a in (0..q).rev() {
        let (head, row) = rows.split_at_mut(a * m);
        let row = &mut row[..m];
        let taa = t[a * q + a];
        row.iter_mut().for_each(|v| *v *= taa);
        for b in 0..a {
            let v = t[b * q + a];
            row.iter_mut()
                .zip(&head[b * m..(b + 1) * m])
                .for_each(|(o, x)| *o += v * x);
        }
    }
}
