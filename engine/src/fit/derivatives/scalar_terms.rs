//! Derivatives with several grouping factors whose terms are all scalar (`(1 | s) + (1 | d)`,
//! nested intercepts), from the inverse of the dense block's factor (the formulas are in
//! [`super`]).
//!
//! With `Tᵢ = θᵢ` for term `i`, every block of `Dₖ` is `2θₖ` on term k's levels and zero
//! elsewhere, and `Λ'Z'V⁻¹ZΛ = I − Σ` with `Σ = (Λ'Z'ZΛ + I)⁻¹ = L_Z⁻ᵀL_Z⁻¹`. So each
//! derivative is a sum over term k's levels ℓ of
//!
//! - `(1 − Σ_ℓℓ)`, for `∂ log|V|`,
//! - `ũ_ℓ²`, the spherical conditional mode, for `∂ r'V⁻¹r`,
//! - `H_ℓ'H_ℓ` with `H = Λ'Z'V⁻¹X = L_Z⁻ᵀ L_XZ'` (a row of p), for the REML term and `∂C`,
//!
//! times `2/θₖ`; at θₖ = 0 the derivatives in θₖ are zero (the deviance is even in it).
//!
//! With `L_Z = [L11 0; L21 L22]` (L11 diagonal over the first factor's levels, L22 the
//! dense block's random part): `Σ` on the dense part is `L22⁻ᵀL22⁻¹`, whose diagonal is the
//! squared column norms of `L22⁻¹`; on level j of the first factor it is
//! `(1 + |L22⁻¹ L21ⱼ|²) / L11ⱼ²`. One triangular inversion of L22 (about the cost of its
//! factorisation) and a sparse product per level give them all.

use super::Derivatives;
use crate::fit::blocks::Blocks;
use crate::fit::factor::Factor;
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

/// Dense blocks from this size use threads.
const PARALLEL_SIZE: usize = 256;
/// Levels of the first factor per parallel task; fixed so that the sums are the same bits
/// on any machine.
const CHUNK_LEVELS: usize = 256;

/// Per term: Σ(1 − Σ_ℓℓ), Σ ũ_ℓ², and Σ H_ℓ'H_ℓ (row-major p × p).
#[derive(Clone)]
struct TermSums {
    trace: f64,
    modes: f64,
    hh: Vec<f64>,
}

impl TermSums {
    fn zeros(p: usize) -> TermSums {
        TermSums {
            trace: 0.0,
            modes: 0.0,
            hh: vec![0.0; p * p],
        }
    }

    fn add_level(&mut self, sigma_ll: f64, mode: f64, h: &[f64]) {
        let p = h.len();
        self.trace += 1.0 - sigma_ll;
        self.modes += mode * mode;
        for a in 0..p {
            for b in 0..p {
                self.hh[a * p + b] += h[a] * h[b];
            }
        }
    }

    fn add(&mut self, other: &TermSums) {
        self.trace += other.trace;
        self.modes += other.modes;
        self.hh.iter_mut().zip(&other.hh).for_each(|(a, b)| *a += b);
    }
}

impl Factor {
    /// [`Factor::derivatives`] when every term is scalar; `theta[i]` is term i's.
    pub(super) fn scalar_terms_derivatives(
        &mut self,
        blocks: &Blocks,
        theta: &[f64],
        reml: bool,
        vcov: bool,
    ) -> Derivatives {
        let lay = &blocks.layout;
        let (d, p, nr) = (lay.d(), lay.p, lay.q_rest);
        let (_, u) = self.solve(blocks);
        let (u1, u_rest) = u.split_at(blocks.levels1);

        // L22⁻¹, column-major nr × nr (lower triangle).
        // Threads pay off only on large blocks (as in the factorisation).
        let parallel = nr >= PARALLEL_SIZE;
        self.inverse.resize(nr * nr, 0.0);
        invert_lower_triangular(
            MatMut::from_column_major_slice_mut(&mut self.inverse, nr, nr),
            MatRef::from_column_major_slice(&self.dense, d, d).submatrix(0, 0, nr, nr),
            if parallel { Par::rayon(0) } else { Par::Seq },
        );
        let linv = &self.inverse;
        // H on the dense part: L22' H2 = L_X2', i.e. H2 = L22⁻ᵀ L_X2' (row-major nr × p).
        let lx2 = |r: usize, c: usize| self.dense[r * d + nr + c];
        let h2_row = |r: usize| {
            let col = &linv[r * nr..(r + 1) * nr];
            (0..p).map(move |c| (r..nr).map(|k| col[k] * lx2(k, c)).sum::<f64>())
        };
        let h2: Vec<f64> = if parallel {
            (0..nr).into_par_iter().flat_map_iter(h2_row).collect()
        } else {
            (0..nr).flat_map(h2_row).collect()
        };

        let mut sums = vec![TermSums::zeros(p); 1 + lay.terms.len()];
        // The first factor's levels.
        let first_factor = |c: usize| {
            let levels = c * CHUNK_LEVELS..((c + 1) * CHUNK_LEVELS).min(blocks.levels1);
            let mut acc = TermSums::zeros(p);
            let (mut y, mut h) = (vec![0.0; nr], vec![0.0; p]);
            for j in levels {
                let (lo, hi) = (blocks.row_ptr[j], blocks.row_ptr[j + 1]);
                let l = self.l11[j];
                // y = L22⁻¹ L21ⱼ over the random rows; h = (L_X1ⱼ − L21ⱼ'H2) / L11ⱼ.
                y.fill(0.0);
                let mut first = nr;
                for e in lo..hi {
                    let (r, v) = (blocks.row_idx[e], self.l21[e]);
                    if r < nr {
                        first = first.min(r);
                        let col = &linv[r * nr..(r + 1) * nr];
                        y[r..]
                            .iter_mut()
                            .zip(&col[r..])
                            .for_each(|(a, b)| *a += v * b);
                    } else if r < nr + p {
                        h[r - nr] = v;
                    }
                }
                for e in lo..hi {
                    let (r, v) = (blocks.row_idx[e], self.l21[e]);
                    if r < nr {
                        h.iter_mut()
                            .zip(&h2[r * p..(r + 1) * p])
                            .for_each(|(a, b)| *a -= v * b);
                    }
                }
                h.iter_mut().for_each(|a| *a /= l);
                let norm2: f64 = y[first.min(nr)..].iter().map(|v| v * v).sum();
                acc.add_level((1.0 + norm2) / (l * l), u1[j], &h);
                h.fill(0.0);
            }
            acc
        };
        let n_chunks = blocks.levels1.div_ceil(CHUNK_LEVELS);
        let chunks: Vec<TermSums> = if parallel || n_chunks > 1 {
            (0..n_chunks).into_par_iter().map(first_factor).collect()
        } else {
            (0..n_chunks).map(first_factor).collect()
        };
        chunks.iter().for_each(|c| sums[0].add(c));
        // The dense block's terms.
        for (t, &(off, _, levels)) in lay.terms.iter().enumerate() {
            for r in off..off + levels {
                let col = &linv[r * nr + r..(r + 1) * nr];
                let sigma_rr: f64 = col.iter().map(|v| v * v).sum();
                sums[t + 1].add_level(sigma_rr, u_rest[r], &h2[r * p..(r + 1) * p]);
            }
        }

        let c = self.unscaled_vcov(blocks);
        let trace_c = |hh: &[f64]| -> f64 { c.iter().zip(hh).map(|(a, b)| a * b).sum() };
        let scale = |i: usize| if theta[i] == 0.0 { 0.0 } else { 2.0 / theta[i] };
        Derivatives::from_parts(
            &c,
            p,
            vcov,
            sums.iter().enumerate().map(|(i, s)| {
                let reml_term = if reml { trace_c(&s.hh) } else { 0.0 };
                (
                    scale(i) * (s.trace - reml_term),
                    -scale(i) * s.modes,
                    move || s.hh.iter().map(|v| scale(i) * v).collect(),
                )
            }),
        )
    }
}
