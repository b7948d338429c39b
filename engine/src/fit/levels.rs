//! The first random-effect term's levels in one factorisation: per level `j`,
//! `L11ⱼ = chol(T₁'A11ⱼT₁ + I)`, the coupling rows `L21ⱼ = Λ_rest'A21ⱼT₁L11ⱼ⁻ᵀ` and, when
//! the dense block is small, its downdate by `L21ⱼL21ⱼ'`.
//!
//! This is the only work per evaluation that grows with the data (one grouping factor with
//! 10⁵–10⁶ levels), and levels are independent but for the downdate. So many levels are cut
//! into fixed chunks run on rayon's pool, each downdating its own zeroed copy of the dense
//! block; the copies are added in chunk order. The chunks depend on the number of levels
//! only, never on the number of threads, so a fit gives the same bits on any machine.

use super::blocks::Blocks;
use super::factor::{congruence, left_mul_t_transpose, small_cholesky, Lambda};
use rayon::prelude::*;

/// Below this many levels the chunking costs more than it saves: one chunk, run inline.
const PARALLEL_LEVELS: usize = 8192;
/// At most this many chunks (each may hold a copy of the dense block).
const MAX_CHUNKS: usize = 64;
/// A dense block this small stays in L1 cache: downdate it level by level (larger ones
/// are downdated column by column afterwards, in [`super::factor::Factor::update`]).
pub(super) const SMALL_DENSE: usize = 64;

/// Per-chunk workspaces, allocated once per model.
pub(super) struct LevelWork {
    /// Levels per chunk.
    size: usize,
    chunks: Vec<Chunk>,
}

struct Chunk {
    /// This chunk's downdate of the dense block (`d × d`, lower triangle); empty when there
    /// is one chunk (it downdates the dense block directly) or the dense block is large.
    acc: Vec<f64>,
    scratch: Vec<f64>,
    log_det: LogProduct,
    ok: bool,
}

impl LevelWork {
    pub(super) fn new(blocks: &Blocks) -> LevelWork {
        let (q1, d) = (blocks.q1, blocks.layout.d());
        let levels = if q1 == 0 { 0 } else { blocks.levels1 };
        let size = if levels < PARALLEL_LEVELS {
            levels.max(1)
        } else {
            levels.div_ceil(MAX_CHUNKS).max(PARALLEL_LEVELS / 8)
        };
        let n_chunks = levels.div_ceil(size).max(1);
        let acc_len = if n_chunks > 1 && d <= SMALL_DENSE {
            d * d
        } else {
            0
        };
        let chunks = (0..n_chunks)
            .map(|_| Chunk {
                acc: vec![0.0; acc_len],
                scratch: Vec::new(),
                log_det: LogProduct::default(),
                ok: true,
            })
            .collect();
        LevelWork { size, chunks }
    }

    /// Fills `l11` and `l21` (layouts of `Blocks::a11` and `Blocks::a21`) and, for a small
    /// dense block, downdates `dense`. Returns `Σⱼ log|L11ⱼ|²`, or `None` when a block is
    /// not positive definite.
    pub(super) fn factor(
        &mut self,
        blocks: &Blocks,
        lambda: &Lambda,
        l11: &mut [f64],
        l21: &mut [f64],
        dense: &mut [f64],
    ) -> Option<f64> {
        if blocks.q1 == 0 {
            return Some(0.0);
        }
        let d = blocks.layout.d();
        let small = d <= SMALL_DENSE;
        if let [chunk] = &mut self.chunks[..] {
            let acc = small.then_some(dense);
            chunk.run(blocks, lambda, 0..blocks.levels1, l11, l21, acc);
            // Σ log|L11ⱼ|²: the determinants pushed are of `L11ⱼ`.
            return chunk.ok.then(|| 2.0 * chunk.log_det.ln());
        }
        // Split the factor's storage at chunk boundaries.
        let (q1, size) = (blocks.q1, self.size);
        let mut jobs = Vec::with_capacity(self.chunks.len());
        let (mut l11, mut l21) = (l11, l21);
        for (c, chunk) in self.chunks.iter_mut().enumerate() {
            let levels = c * size..((c + 1) * size).min(blocks.levels1);
            let n21 = (blocks.row_ptr[levels.end] - blocks.row_ptr[levels.start]) * q1;
            let (a, rest11) = l11.split_at_mut(levels.len() * q1 * q1);
            let (b, rest21) = l21.split_at_mut(n21);
            (l11, l21) = (rest11, rest21);
            jobs.push((chunk, levels, a, b));
        }
        jobs.into_par_iter().for_each(|(chunk, levels, a, b)| {
            // The chunk's accumulator is moved out for the call, which borrows the chunk.
            let mut acc = std::mem::take(&mut chunk.acc);
            acc.fill(0.0);
            chunk.run(blocks, lambda, levels, a, b, small.then_some(&mut acc[..]));
            chunk.acc = acc;
        });
        let mut log_det = 0.0;
        for chunk in &self.chunks {
            if !chunk.ok {
                return None;
            }
            log_det += 2.0 * chunk.log_det.ln();
            if small {
                for c in 0..d {
                    for r in c..d {
                        dense[c * d + r] += chunk.acc[c * d + r];
                    }
                }
            }
        }
        Some(log_det)
    }
}

impl Chunk {
    /// The levels `levels`, whose blocks are `l11` and `l21` (already cut to them);
    /// downdates `acc` (a `d × d` lower triangle) when given.
    fn run(
        &mut self,
        blocks: &Blocks,
        lambda: &Lambda,
        levels: std::ops::Range<usize>,
        l11: &mut [f64],
        l21: &mut [f64],
        mut acc: Option<&mut [f64]>,
    ) {
        let q1 = blocks.q1;
        let lay = &blocks.layout;
        let d = lay.d();
        let t1 = &lambda.t[0][..];
        let base = blocks.row_ptr[levels.start];
        self.log_det = LogProduct::default();
        self.ok = true;
        for (j, l) in levels.zip(l11.chunks_exact_mut(q1 * q1)) {
            // L11ⱼ = chol(T₁' A11ⱼ T₁ + I), formed in place.
            let a = &blocks.a11[j * q1 * q1..(j + 1) * q1 * q1];
            congruence(a, t1, q1, l, &mut self.scratch);
            for c in 0..q1 {
                l[c * q1 + c] += 1.0;
            }
            if !small_cholesky(l, q1) {
                self.ok = false;
                return;
            }
            self.log_det.push((0..q1).map(|c| l[c * q1 + c]).product());

            // L21ⱼ = Λ_rest' A21ⱼ T₁ L11ⱼ⁻ᵀ. First each row of A21ⱼ times T₁L11ⱼ⁻ᵀ, written
            // straight into L21ⱼ; the common one- and two-effect terms in closed form with
            // one reciprocal per diagonal (divisions dominate otherwise).
            let (lo, hi) = (blocks.row_ptr[j], blocks.row_ptr[j + 1]);
            let rows = blocks.rows(j);
            let src = &blocks.a21[lo * q1..hi * q1];
            let out = &mut l21[(lo - base) * q1..(hi - base) * q1];
            match q1 {
                1 => {
                    let f = t1[0] / l[0];
                    out.iter_mut().zip(src).for_each(|(o, s)| *o = s * f);
                }
                2 => {
                    let (t00, t10, t11) = (t1[0], t1[1], t1[3]);
                    let (i0, l10, i1) = (1.0 / l[0], l[1], 1.0 / l[3]);
                    for (row, s) in out.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
                        let y0 = (s[0] * t00 + s[1] * t10) * i0;
                        row[1] = (s[1] * t11 - y0 * l10) * i1;
                        row[0] = y0;
                    }
                }
                _ => {
                    for (row, s) in out.chunks_exact_mut(q1).zip(src.chunks_exact(q1)) {
                        for c in 0..q1 {
                            row[c] = (c..q1).map(|cp| s[cp] * t1[c * q1 + cp]).sum();
                        }
                        for c in 0..q1 {
                            let s: f64 = (0..c).map(|cp| row[cp] * l[cp * q1 + c]).sum();
                            row[c] = (row[c] - s) / l[c * q1 + c];
                        }
                    }
                }
            }
            // Then Λ_rest' from the left (it commutes with the right factor). With one
            // grouping factor there are no other random effects to scale.
            let mut e = 0;
            while e < rows.len() && lay.q_rest > 0 {
                match lay.term_of(rows[e]) {
                    Some(k) => {
                        let q = lay.terms[k].1;
                        let t = &lambda.t[k + 1];
                        let group = &mut out[e * q1..(e + q) * q1];
                        left_mul_t_transpose(group, q, q1, t, &mut self.scratch);
                        e += q;
                    }
                    None => e += 1,
                }
            }
            if let Some(acc) = acc.as_deref_mut() {
                match q1 {
                    1 => downdate_level::<1>(acc, d, rows, out),
                    2 => downdate_level::<2>(acc, d, rows, out),
                    3 => downdate_level::<3>(acc, d, rows, out),
                    _ => downdate_level_any(acc, d, rows, out, q1),
                }
            }
        }
    }
}

/// `Σ log xᵢ` for many `xᵢ ≥ 1` with one logarithm per run of factors rather than one per
/// factor (a logarithm costs as much as a level's other work, or as a row's in PIRLS): the
/// product is folded into the sum before it could overflow.
#[derive(Default)]
pub(crate) struct LogProduct {
    sum: f64,
    product: Option<f64>,
}

impl LogProduct {
    /// Folding threshold: a product below it times a factor below it stays finite.
    const FOLD: f64 = 1e150;

    pub(crate) fn push(&mut self, x: f64) {
        self.product = Some(match self.product {
            Some(p) if p < Self::FOLD && x < Self::FOLD => p * x,
            Some(p) => {
                self.sum += p.ln();
                x
            }
            None => x,
        });
    }

    /// `Σ log xᵢ`.
    pub(crate) fn ln(&self) -> f64 {
        self.sum + self.product.map_or(0.0, f64::ln)
    }
}

/// The dense block's lower triangle downdated by one level's coupling rows `out`
/// (row-major, `Q` values per row, for ascending dense rows `rows`):
/// `D[r, s] −= out_r · out_s`. `Q` is a constant so that the inner products unroll.
fn downdate_level<const Q: usize>(dense: &mut [f64], d: usize, rows: &[usize], out: &[f64]) {
    for (ra, &r) in out.chunks_exact(Q).zip(rows) {
        for (rb, &s) in out.chunks_exact(Q).zip(rows).take_while(|&(_, &s)| s <= r) {
            let dot: f64 = (0..Q).map(|c| ra[c] * rb[c]).sum();
            dense[s * d + r] -= dot;
        }
    }
}

/// [`downdate_level`] for any number of values per row.
fn downdate_level_any(dense: &mut [f64], d: usize, rows: &[usize], out: &[f64], q: usize) {
    for (ra, &r) in out.chunks_exact(q).zip(rows) {
        for (rb, &s) in out.chunks_exact(q).zip(rows).take_while(|&(_, &s)| s <= r) {
            dense[s * d + r] -= ra.iter().zip(rb).map(|(x, y)| x * y).sum::<f64>();
        }
    }
}
