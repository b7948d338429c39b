//! Derivatives with one grouping factor, from the factor of the last evaluation and one
//! more pass over the levels (the formulas are in [`super`]).
//!
//! Every `Z'V⁻¹·` is block-diagonal over the levels: for level `j`, with
//! `Bⱼ = Aⱼ T Lⱼ⁻ᵀ` (`Aⱼ = Zⱼ'Zⱼ`, `Lⱼ` the level's factor), `Zⱼ'V⁻¹Zⱼ = Aⱼ − BⱼBⱼ'` and
//! `Zⱼ'V⁻¹[X y] = Zⱼ'[X y] − Bⱼ L21ⱼ'`. No inverse of T is taken, so the derivatives stay
//! exact on the boundary (θ = 0), where the optimizer and Satterthwaite's steps go.

use super::{Derivatives, LevelSums};
use crate::fit::blocks::Blocks;
use crate::fit::factor::Factor;
use rayon::prelude::*;

/// Below this many levels one thread does the pass (as in the factorisation).
const PARALLEL_LEVELS: usize = 8192;
/// Levels per parallel chunk; fixed so that the sums are the same bits on any machine.
const CHUNK_LEVELS: usize = 4096;

impl Factor {
    /// [`Factor::derivatives`] with one grouping factor; `dcov[k]` is `∂(TT')/∂θₖ` (q × q).
    pub(super) fn one_factor_derivatives(
        &self,
        blocks: &Blocks,
        dcov: &[Vec<f64>],
        reml: bool,
        vcov: bool,
    ) -> Derivatives {
        let (q, p) = (blocks.q1, blocks.layout.p);
        let beta = self.dense_solution(blocks.layout.d());
        let with_gg = reml || vcov;
        let levels = blocks.levels1;
        // The pass over levels for this q: unrolled for the common small ones.
        let level_sums = match q {
            1 => Factor::level_sums_q::<1>,
            2 => Factor::level_sums_q::<2>,
            3 => Factor::level_sums_q::<3>,
            _ => Factor::level_sums_q::<0>,
        };
        let sums = if levels < PARALLEL_LEVELS {
            level_sums(self, blocks, &beta, 0..levels, with_gg)
        } else {
            let parts: Vec<LevelSums> = (0..levels.div_ceil(CHUNK_LEVELS))
                .into_par_iter()
                .map(|c| {
                    let range = c * CHUNK_LEVELS..((c + 1) * CHUNK_LEVELS).min(levels);
                    level_sums(self, blocks, &beta, range, with_gg)
                })
                .collect();
            let mut total = LevelSums::zeros(q, p, with_gg);
            parts.iter().for_each(|s| total.add(s));
            total
        };
        let c = if with_gg {
            self.unscaled_vcov(blocks)
        } else {
            Vec::new()
        };
        // Σⱼ Gⱼ C Gⱼ' (q × q), the REML term.
        let gcg = if reml { sums.gcg(&c) } else { vec![0.0; q * q] };
        Derivatives::from_parts(
            &c,
            p,
            vcov,
            dcov.iter().map(|d| {
                (
                    LevelSums::trace(&sums.zvz, d) - LevelSums::trace(&gcg, d),
                    -LevelSums::trace(&sums.ww, d),
                    || sums.g_d_g(d),
                )
            }),
        )
    }

    /// The sums over `levels`; `Q` is `q` when it is a small constant (so that the inner
    /// loops unroll), 0 otherwise.
    fn level_sums_q<const Q: usize>(
        &self,
        blocks: &Blocks,
        beta: &[f64],
        levels: std::ops::Range<usize>,
        with_gg: bool,
    ) -> LevelSums {
        let q = if Q > 0 { Q } else { blocks.q1 };
        let p = blocks.layout.p;
        let w_cols = p + 1;
        let t = &self.lambda.t[0];
        let mut sums = LevelSums::zeros(q, p, with_gg);
        let qp = q * p;
        // Per-level scratch: A T, B, and Zⱼ'V⁻¹[X y] (q × (p+1), column-major).
        let mut at = vec![0.0; q * q];
        let mut b = vec![0.0; q * q];
        let mut g = vec![0.0; q * w_cols];
        let mut w = vec![0.0; q];
        for j in levels {
            let a = &blocks.a11[j * q * q..(j + 1) * q * q];
            let l = &self.l11[j * q * q..(j + 1) * q * q];
            // A T (T lower triangular).
            for c in 0..q {
                for r in 0..q {
                    at[c * q + r] = (c..q).map(|k| a[k * q + r] * t[c * q + k]).sum();
                }
            }
            // B = A T L⁻ᵀ: each row solves L bᵣ' = (A T)ᵣ'.
            for r in 0..q {
                for c in 0..q {
                    let s: f64 = (0..c).map(|k| l[k * q + c] * b[k * q + r]).sum();
                    b[c * q + r] = (at[c * q + r] - s) / l[c * q + c];
                }
            }
            // Z'V⁻¹Z = A − BB'.
            for c in 0..q {
                for r in 0..q {
                    let bb: f64 = (0..q).map(|k| b[k * q + r] * b[k * q + c]).sum();
                    sums.zvz[c * q + r] += a[c * q + r] - bb;
                }
            }
            // Z'V⁻¹[X y]: columns of dense rows this level touches; the rest stay zero.
            g.fill(0.0);
            for (e, &col) in (blocks.row_ptr[j]..).zip(blocks.rows(j)) {
                let (zx, lx) = (
                    &blocks.a21[e * q..(e + 1) * q],
                    &self.l21[e * q..(e + 1) * q],
                );
                for r in 0..q {
                    let bl: f64 = (0..q).map(|k| b[k * q + r] * lx[k]).sum();
                    g[col * q + r] = zx[r] - bl;
                }
            }
            // w = Z'V⁻¹(y − Xβ̂).
            for r in 0..q {
                w[r] = g[p * q + r] - (0..p).map(|c| g[c * q + r] * beta[c]).sum::<f64>();
            }
            for c in 0..q {
                for r in 0..q {
                    sums.ww[c * q + r] += w[r] * w[c];
                }
            }
            if with_gg {
                // vec(G)[a·p + r] = G[a, r] = g[r·q + a].
                for a1 in 0..q {
                    for r1 in 0..p {
                        let x = g[r1 * q + a1];
                        if x == 0.0 {
                            continue;
                        }
                        let row = &mut sums.gg[(a1 * p + r1) * qp..(a1 * p + r1 + 1) * qp];
                        for a2 in 0..q {
                            for r2 in 0..p {
                                row[a2 * p + r2] += x * g[r2 * q + a2];
                            }
                        }
                    }
                }
            }
        }
        sums
    }
}
