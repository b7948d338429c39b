//! Derivatives over the residual structure's parameters φ with several grouping factors —
//! nested or crossed, scalar or vector terms — from the blocked factor of the whitened
//! problem (one factor: [`super::residual`], whose notation this follows).
//!
//! A residual group lies within one level of every term (varident's groups are single
//! rows), so `∂W` mixes only rows that share all their levels: `S = [Z* X*]'·∂W[Z X]` is
//! `Σᵢ sᵢ dsᵢ'` over the observations, `sᵢ = (z*ᵢ, x*ᵢ)` the whitened row and
//! `dsᵢ = (∂W[Z X])ᵢ`, each nonzero only in the columns of the row's own levels. With
//! `H = GΩ⁻¹G'` written through `Σ = L_Z⁻ᵀL_Z⁻¹` and `ΛV = ΛΣΛ'Z*'X*` (the `X` columns of
//! the `ΛH` the θ derivatives form, [`super::blocked`]), `H = [ΛΣΛ' + ΛVCV'Λ', −ΛVC; ·, C]`,
//! and per observation
//!
//! - `sᵢ'H dsᵢ = ζᵢ'Σ dζᵢ + rᵢ'C drᵢ`, with `ζᵢ = Λ'z*ᵢ`, `dζᵢ = Λ'(∂WZ)ᵢ`,
//!   `rᵢ = x*ᵢ − (ΛV)'z*ᵢ` and `drᵢ = (∂WX)ᵢ − (ΛV)'(∂WZ)ᵢ` (the second term for REML only);
//! - `∂(R_X R_X') = Σᵢ (rᵢdrᵢ' + drᵢrᵢ')`, as `R_X R_X' = X*'X* − X*'Z*ΛΣΛ'Z*'X*`.
//!
//! `Σ` is needed only between the levels one observation has. Each observation's levels of
//! the other terms are among the dense rows its first-term level j touches, so per level j
//! ([`LocalSigma`]): `Σⱼⱼ = L11ⱼ⁻ᵀ(I + L21ⱼ'Σ22L21ⱼ)L11ⱼ⁻¹`, `Σ[j, rowsⱼ] = −L11ⱼ⁻ᵀYⱼ'` with
//! `Yⱼ = Σ22[rowsⱼ, rowsⱼ]L21ⱼ`, and `Σ22[rowsⱼ, rowsⱼ]` itself (the identities of
//! [`super::blocked`]). They are formed once per gradient and shared by every φₖ, which then
//! costs one pass over the rows, as with one factor.

use super::residual::Whitened;
use super::Derivatives;
use crate::design::Design;
use crate::fit::blocks::Blocks;
use crate::fit::factor::Factor;

/// Σ among the random effects of each level j of the first term and the dense-block random
/// effects it touches (`rowsⱼ`): local index `a < q₁` is level j's effect a, `q₁ + e` is
/// `rowsⱼ[e]`; `(q₁ + |rowsⱼ|)²` values, column-major, from `start[j]`.
struct LocalSigma {
    start: Vec<usize>,
    size: Vec<usize>,
    sigma: Vec<f64>,
}

impl Factor {
    /// The derivatives over φ at the last successful [`Factor::update`] of the whitened
    /// problem with several grouping factors, after [`Factor::derivatives`] at the same
    /// factor (whose `ΛH` and inverse of the dense block they read); `derivative` is scratch
    /// of the design's shape. `None` for φ outside the admissible range.
    pub(in crate::fit) fn blocked_residual_derivatives(
        &self,
        blocks: &Blocks,
        w: &Whitened,
        derivative: &mut Design,
        reml: bool,
        vcov: bool,
    ) -> Option<Derivatives> {
        let lay = &blocks.layout;
        let (n, p, q1) = (w.raw.n(), lay.p, blocks.q1);
        let m = p + 1;
        let c = self.unscaled_vcov(blocks);
        let local = self.local_sigma(blocks);
        let (lh1, lh2) = self.derivative_buffers.lambda_h();
        debug_assert_eq!(lh1.len(), blocks.levels1 * q1 * m, "θ derivatives first");
        let terms = &w.raw.random;
        let codes1 = &terms[0].codes;

        // Per observation and term after the first: the first local index of its level in
        // its first-term level's LocalSigma, and the level's first dense row.
        let rest = terms.len() - 1;
        let mut slot = vec![0usize; n * rest];
        let mut base = vec![0usize; n * rest];
        for i in 0..n {
            let j = codes1[i] as usize;
            let rows = blocks.rows(j);
            for (k, (term, &(off, q, _))) in terms[1..].iter().zip(&lay.terms).enumerate() {
                let b = off + term.codes[i] as usize * q;
                let e = rows
                    .binary_search(&b)
                    .expect("a level's dense rows hold each of its observations' levels");
                slot[i * rest + k] = q1 + e;
                base[i * rest + k] = b;
            }
        }

        let qt: usize = terms.iter().map(|t| t.q()).sum();
        let with_x = reml || vcov;
        // Per observation: local indices, z* and ∂WZ (scaled), ζ and dζ, r and dr.
        let mut idx = vec![0usize; qt];
        let (mut zs, mut dz) = (vec![0.0; qt], vec![0.0; qt]);
        let (mut zeta, mut dzeta) = (vec![0.0; qt], vec![0.0; qt]);
        let (mut r, mut dr) = (vec![0.0; p], vec![0.0; p]);
        let traces = |derivative: &Design| {
            let mut trace = 0.0;
            let mut dk = vec![0.0; if vcov { p * p } else { 0 }];
            for i in 0..n {
                for col in 0..p {
                    dr[col] = derivative.x[col * n + i];
                }
                let mut at = 0;
                for ((dterm, term), scale) in derivative.random.iter().zip(terms).zip(w.z_scale) {
                    let q = term.q();
                    for a in 0..q {
                        dz[at + a] = dterm.values[i * q + a] / scale[a];
                    }
                    at += q;
                }
                if dr.iter().chain(&dz).all(|v| *v == 0.0) {
                    continue;
                }
                let j = codes1[i] as usize;
                let (sigma, ql) = (&local.sigma[local.start[j]..], local.size[j]);
                let mut at = 0;
                for (k, (term, scale)) in w.white.random.iter().zip(w.z_scale).enumerate() {
                    let (q, t) = (term.q(), &self.lambda.t[k]);
                    let first = if k == 0 { 0 } else { slot[i * rest + k - 1] };
                    for a in 0..q {
                        zs[at + a] = term.values[i * q + a] / scale[a];
                        idx[at + a] = first + a;
                    }
                    // ζ = T'z (T lower triangular, column-major).
                    for a in 0..q {
                        let col = &t[a * q..(a + 1) * q];
                        zeta[at + a] = (a..q).map(|b| col[b] * zs[at + b]).sum();
                        dzeta[at + a] = (a..q).map(|b| col[b] * dz[at + b]).sum();
                    }
                    at += q;
                }
                for (&ib, &db) in idx.iter().zip(&dzeta) {
                    let column = &sigma[ib * ql..(ib + 1) * ql];
                    let s: f64 = idx.iter().zip(&zeta).map(|(&ia, z)| column[ia] * z).sum();
                    trace += s * db;
                }
                if !with_x {
                    continue;
                }
                // r = x* − (ΛV)'z*, dr = ∂WX − (ΛV)'∂WZ.
                for col in 0..p {
                    r[col] = w.white.x[col * n + i];
                }
                let mut at = 0;
                for (k, term) in terms.iter().enumerate() {
                    let q = term.q();
                    let lh = if k == 0 {
                        &lh1[j * q1 * m..(j + 1) * q1 * m]
                    } else {
                        let b = base[i * rest + k - 1];
                        &lh2[b * m..(b + q) * m]
                    };
                    for a in 0..q {
                        let row = &lh[a * m..a * m + p];
                        let (z, d) = (zs[at + a], dz[at + a]);
                        for ((rc, drc), v) in r.iter_mut().zip(dr.iter_mut()).zip(row) {
                            *rc -= z * v;
                            *drc -= d * v;
                        }
                    }
                    at += q;
                }
                if reml {
                    for (a, ra) in r.iter().enumerate() {
                        let row = &c[a * p..(a + 1) * p];
                        trace += ra * row.iter().zip(&dr).map(|(x, y)| x * y).sum::<f64>();
                    }
                }
                if vcov {
                    for a in 0..p {
                        for b in 0..p {
                            dk[a * p + b] += r[a] * dr[b] + dr[a] * r[b];
                        }
                    }
                }
            }
            (trace, dk)
        };
        self.phi_derivatives(blocks, w, derivative, &c, traces)
    }

    /// [`LocalSigma`] of every level of the first term, from the factor and the dense
    /// block's inverse (or selected inverse) the θ derivatives formed.
    fn local_sigma(&self, blocks: &Blocks) -> LocalSigma {
        let (nr, q1) = (blocks.layout.q_rest, blocks.q1);
        let mut out = LocalSigma {
            start: Vec::with_capacity(blocks.levels1),
            size: Vec::with_capacity(blocks.levels1),
            sigma: Vec::new(),
        };
        let (mut s22, mut y, mut yy, mut linv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for j in 0..blocks.levels1 {
            let lo = blocks.row_ptr[j];
            let rows = blocks.rows(j);
            let nrand = rows.partition_point(|&r| r < nr);
            let rows = &rows[..nrand];
            let l21 = &self.l21[lo * q1..(lo + nrand) * q1];
            let l = &self.l11[j * q1 * q1..(j + 1) * q1 * q1];
            // Σ22[rows, rows] (nrand × nrand, symmetric).
            s22.clear();
            s22.resize(nrand * nrand, 0.0);
            match &self.sparse {
                Some(sparse) => {
                    let mut sigma = sparse.level_sigma(j);
                    for a in 0..nrand {
                        for b in 0..=a {
                            let s = sigma.next().expect("one entry per pair of rows");
                            s22[a * nrand + b] = s;
                            s22[b * nrand + a] = s;
                        }
                    }
                }
                None => {
                    for a in 0..nrand {
                        for b in 0..=a {
                            let s = self.sigma22(rows[a], rows[b], nr);
                            s22[a * nrand + b] = s;
                            s22[b * nrand + a] = s;
                        }
                    }
                }
            }
            // Y = Σ22[rows, rows]L21ⱼ (nrand × q1, row-major), yy = I + L21ⱼ'Y (q1 × q1).
            y.clear();
            for e in 0..nrand {
                let srow = &s22[e * nrand..(e + 1) * nrand];
                for c in 0..q1 {
                    y.push((0..nrand).map(|f| srow[f] * l21[f * q1 + c]).sum::<f64>());
                }
            }
            yy.clear();
            for b in 0..q1 {
                for a in 0..q1 {
                    let v: f64 = (0..nrand).map(|e| l21[e * q1 + a] * y[e * q1 + b]).sum();
                    yy.push(v + if a == b { 1.0 } else { 0.0 });
                }
            }
            // L11ⱼ⁻¹ (lower triangular, column-major).
            linv.clear();
            linv.resize(q1 * q1, 0.0);
            for col in 0..q1 {
                for row in col..q1 {
                    let rhs = if row == col { 1.0 } else { 0.0 };
                    let acc: f64 = (col..row)
                        .map(|k| l[k * q1 + row] * linv[col * q1 + k])
                        .sum();
                    linv[col * q1 + row] = (rhs - acc) / l[row * q1 + row];
                }
            }
            let ql = q1 + nrand;
            let at = out.sigma.len();
            out.start.push(at);
            out.size.push(ql);
            out.sigma.resize(at + ql * ql, 0.0);
            let block = &mut out.sigma[at..];
            // Σⱼⱼ = L⁻ᵀ yy L⁻¹.
            for b in 0..q1 {
                for a in 0..q1 {
                    let mut v = 0.0;
                    for r in a..q1 {
                        for s in b..q1 {
                            v += linv[a * q1 + r] * yy[s * q1 + r] * linv[b * q1 + s];
                        }
                    }
                    block[b * ql + a] = v;
                }
            }
            // Σ[j, rows] = −L⁻ᵀY' and its transpose.
            for e in 0..nrand {
                for a in 0..q1 {
                    let v: f64 = -(a..q1)
                        .map(|r| linv[a * q1 + r] * y[e * q1 + r])
                        .sum::<f64>();
                    block[(q1 + e) * ql + a] = v;
                    block[a * ql + q1 + e] = v;
                }
            }
            for f in 0..nrand {
                for e in 0..nrand {
                    block[(q1 + f) * ql + q1 + e] = s22[f * nrand + e];
                }
            }
        }
        out
    }
}
