//! Derivatives over the residual structure's parameters φ, with one grouping factor or
//! none, from the factor of the whitened problem (the θ derivatives are those of the
//! whitened problem itself: for fixed φ it is an ordinary mixed model).
//!
//! With `M = [Z* X* y*]'[Z* X* y*]` the whitened cross-products (`* = W·`), the objective is
//! `Σᵢ log|Cᵢ|` plus a function of `M`, and `∂M/∂φ = S + S'` with
//! `S = [Z* X* y*]'·∂W[Z X y]`. Then, with `Ω = G'MG + diag(I, 0)` (`G = diag(Λ, I)`):
//!
//! - `∂ log|L_Z|²(+ log|R_X|²) = 2 tr(Ω⁻¹G'SG)` over the `[Z X]` block (`Z` block alone for
//!   ML): `2⟨H, S⟩` with `H = GΩ⁻¹G'`, needed only where `S` is nonzero — per level j its
//!   diagonal block, since a residual group lies within one level — which is
//!   `TΣⱼT' + VⱼCVⱼ'`, `−VⱼC` and `C` (`Σⱼ = Lⱼ⁻ᵀLⱼ⁻¹`, `C = (R_X R_X')⁻¹`,
//!   `Vⱼ = TΣⱼFⱼ = (Lⱼ⁻¹T')'·Lⱼ⁻¹Fⱼ`, `Lⱼ⁻¹Fⱼ` being the factor's coupling rows);
//! - `∂ pwrss = 2 e*'∂W e` for the conditional residual `e = y − Xβ̂ − Zb̂` (β̂ and û are
//!   optimal, so they do not move);
//! - `∂(R_X R_X') = (S_XX + S_XX') − Σⱼ (Vⱼ'S̃ⱼ + S̃ⱼ'Vⱼ) + Σⱼ Vⱼ'(S_ZZ,ⱼ + S_ZZ,ⱼ')Vⱼ` with
//!   `S̃ⱼ = S_ZX,ⱼ + S_XZ,ⱼ'`, so `∂C = −C ∂(R_X R_X') C`.
//!
//! Each φₖ costs one pass over the rows (`∂W` applied to the design, the products with
//! the whitened rows) and one over the levels: O(n), as an evaluation.

use super::Derivatives;
use crate::design::Design;
use crate::fit::blocks::Blocks;
use crate::fit::factor::Factor;
use crate::fit::residual::{Apply, ResidualModel};

/// The residual structure at φ, with the design as built and its whitened copy.
pub(in crate::fit) struct Whitened<'a> {
    pub model: &'a ResidualModel,
    pub phi: &'a [f64],
    pub raw: &'a Design,
    pub white: &'a Design,
    /// Per random-effect term, its column scales ([`crate::fit::blocks::column_scales`]).
    pub z_scale: &'a [Vec<f64>],
}

impl Factor {
    /// The derivatives over φ at the last successful [`Factor::update`] of the whitened
    /// problem, one grouping factor or none; `derivative` is scratch of the design's shape.
    /// `None` for φ outside the admissible range.
    pub(in crate::fit) fn residual_derivatives(
        &self,
        blocks: &Blocks,
        w: &Whitened,
        derivative: &mut Design,
        reml: bool,
        vcov: bool,
    ) -> Option<Derivatives> {
        debug_assert_eq!(blocks.layout.q_rest, 0, "one grouping factor or none");
        let (n, p, q) = (w.raw.n(), w.raw.p(), blocks.q1);
        let levels = if q == 0 { 0 } else { blocks.levels1 };
        let codes: &[u32] = w.raw.random.first().map_or(&[], |b| &b.codes);
        let z_scale: &[f64] = w.z_scale.first().map_or(&[], |s| &s[..]);
        let c = self.unscaled_vcov(blocks);

        // Per level: P = L⁻¹T' and V = P'·L⁻¹F (q × p), both column-major.
        let t = self.lambda.t.first().map_or(&[][..], |t| &t[..]);
        let mut pmat = vec![0.0; levels * q * q];
        let mut vmat = vec![0.0; levels * q * p];
        for j in 0..levels {
            let l = &self.l11[j * q * q..(j + 1) * q * q];
            let pj = &mut pmat[j * q * q..(j + 1) * q * q];
            for col in 0..q {
                for r in 0..q {
                    let tt = if col >= r { t[r * q + col] } else { 0.0 };
                    let acc: f64 = (0..r).map(|k| l[k * q + r] * pj[col * q + k]).sum();
                    pj[col * q + r] = (tt - acc) / l[r * q + r];
                }
            }
            let vj = &mut vmat[j * q * p..(j + 1) * q * p];
            for (e, &col) in (blocks.row_ptr[j]..).zip(blocks.rows(j)) {
                if col >= p {
                    continue;
                }
                let lf = &self.l21[e * q..(e + 1) * q];
                for a in 0..q {
                    vj[col * q + a] = (0..q).map(|r| pj[a * q + r] * lf[r]).sum();
                }
            }
        }

        let mut szz = vec![0.0; levels * q * q];
        let mut szx = vec![0.0; levels * q * p];
        let mut sxx = vec![0.0; p * p];
        let (mut zs, mut dz) = (vec![0.0; q], vec![0.0; q]);
        let (mut xs, mut dx) = (vec![0.0; p], vec![0.0; p]);
        let traces = |derivative: &Design| {
            // S per level (Z'·∂W Z, and Z'·∂W X + (X'·∂W Z)'), and X'·∂W X.
            szz.fill(0.0);
            szx.fill(0.0);
            sxx.fill(0.0);
            for r in 0..n {
                for c in 0..p {
                    xs[c] = w.white.x[c * n + r];
                    dx[c] = derivative.x[c * n + r];
                }
                for a in 0..q {
                    let v = w.white.random[0].values[r * q + a];
                    let dv = derivative.random[0].values[r * q + a];
                    zs[a] = v / z_scale[a];
                    dz[a] = dv / z_scale[a];
                }
                if dx.iter().chain(&dz).all(|v| *v == 0.0) {
                    continue;
                }
                for (c, &x) in xs.iter().enumerate() {
                    for (d, &y) in dx.iter().enumerate() {
                        sxx[c * p + d] += x * y;
                    }
                }
                if q == 0 {
                    continue;
                }
                let j = codes[r] as usize;
                let zz = &mut szz[j * q * q..(j + 1) * q * q];
                for b in 0..q {
                    for a in 0..q {
                        zz[b * q + a] += zs[a] * dz[b];
                    }
                }
                let zx = &mut szx[j * q * p..(j + 1) * q * p];
                for c in 0..p {
                    for a in 0..q {
                        zx[c * q + a] += zs[a] * dx[c] + dz[a] * xs[c];
                    }
                }
            }

            // ⟨H, S⟩ and, for the Jacobian, ∂(R_X R_X') (row-major p × p).
            let mut trace = 0.0;
            let with_x = reml || vcov;
            let mut dk = vec![0.0; if vcov { p * p } else { 0 }];
            for j in 0..levels {
                let (pj, vj) = (
                    &pmat[j * q * q..(j + 1) * q * q],
                    &vmat[j * q * p..(j + 1) * q * p],
                );
                let (zz, zx) = (
                    &szz[j * q * q..(j + 1) * q * q],
                    &szx[j * q * p..(j + 1) * q * p],
                );
                // TΣT' = P'P.
                for b in 0..q {
                    for a in 0..q {
                        let h: f64 = (0..q).map(|r| pj[a * q + r] * pj[b * q + r]).sum();
                        trace += h * zz[b * q + a];
                    }
                }
                if !with_x {
                    continue;
                }
                // VC (q × p, column-major).
                let vc: Vec<f64> = (0..p * q)
                    .map(|i| {
                        let (a, col) = (i % q, i / q);
                        (0..p).map(|m| vj[m * q + a] * c[m * p + col]).sum()
                    })
                    .collect();
                if reml {
                    for b in 0..q {
                        for a in 0..q {
                            let h: f64 = (0..p).map(|m| vc[m * q + a] * vj[m * q + b]).sum();
                            trace += h * zz[b * q + a];
                        }
                    }
                    trace -= vc.iter().zip(zx).map(|(h, s)| h * s).sum::<f64>();
                }
                if vcov {
                    // −(V'S̃ + S̃'V) + V'(S_ZZ + S_ZZ')V.
                    for r in 0..p {
                        for s in 0..p {
                            let mut v = 0.0;
                            for a in 0..q {
                                v -= vj[r * q + a] * zx[s * q + a] + zx[r * q + a] * vj[s * q + a];
                                for b in 0..q {
                                    let sym = zz[b * q + a] + zz[a * q + b];
                                    v += vj[r * q + a] * sym * vj[s * q + b];
                                }
                            }
                            dk[r * p + s] += v;
                        }
                    }
                }
            }
            if reml {
                trace += c.iter().zip(&sxx).map(|(a, b)| a * b).sum::<f64>();
            }
            if vcov {
                for r in 0..p {
                    for s in 0..p {
                        dk[r * p + s] += sxx[r * p + s] + sxx[s * p + r];
                    }
                }
            }
            (trace, dk)
        };
        self.phi_derivatives(blocks, w, derivative, &c, traces)
    }

    /// The φ derivatives from each φₖ's traces: `traces(∂W·design)` gives `⟨H, S⟩` and, for
    /// the Jacobian (else empty), `∂(R_X R_X')` (row-major p × p); the rest — `∂ Σᵢ log|Cᵢ|`,
    /// `∂ pwrss` from the conditional residuals, `∂C = −C ∂(R_X R_X') C` — is the same for
    /// one grouping factor or several. `c` is `(R_X R_X')⁻¹`.
    pub(super) fn phi_derivatives(
        &self,
        blocks: &Blocks,
        w: &Whitened,
        derivative: &mut Design,
        c: &[f64],
        mut traces: impl FnMut(&Design) -> (f64, Vec<f64>),
    ) -> Option<Derivatives> {
        let (n, p) = (w.raw.n(), w.raw.p());
        // The conditional residual e (in the data's units), W e and, per φₖ, ∂W e.
        let [e, we] = self.conditional_residuals(blocks, w);
        let mut dwe = vec![0.0; n];
        let n_phi = w.phi.len();
        let mut out = Derivatives {
            log_det: Vec::with_capacity(n_phi),
            pwrss: Vec::with_capacity(n_phi),
            unscaled_vcov: Vec::new(),
        };
        for k in 0..n_phi {
            let d_log_c = w.model.whiten_derivative(w.phi, k, w.raw, derivative)?;
            w.model
                .apply_to(w.phi, Apply::Derivative(k), &e, &mut dwe)?;
            let pwrss = 2.0 * we.iter().zip(&dwe).map(|(a, b)| a * b).sum::<f64>();
            let (trace, mut dk) = traces(derivative);
            out.log_det.push(d_log_c + 2.0 * trace);
            out.pwrss.push(pwrss);
            if !dk.is_empty() {
                // ∂C = −C ∂(R_X R_X') C.
                dk.iter_mut().for_each(|v| *v = -*v);
                out.unscaled_vcov.extend(super::sandwich(c, &dk, p));
            }
        }
        Some(out)
    }

    /// `e = y − Xβ̂ − Zb̂` in the data's units and `W e` (the same from the whitened
    /// design), from the factor of the whitened problem: every random-effect term's
    /// `b̂ = Λû`.
    fn conditional_residuals(&self, blocks: &Blocks, w: &Whitened) -> [Vec<f64>; 2] {
        let n = w.raw.n();
        let (beta, u) = self.solve(blocks);
        // b = Λu per term and level, in the units of the columns as given; u holds the
        // terms one after another, as the design does.
        let mut at = 0;
        let b: Vec<Vec<f64>> = w
            .raw
            .random
            .iter()
            .zip(&self.lambda.t)
            .zip(w.z_scale)
            .map(|((term, t), scale)| {
                let (q, levels) = (term.q(), term.levels.len());
                let u = &u[at..at + levels * q];
                at += levels * q;
                (0..levels * q)
                    .map(|i| {
                        let (j, a) = (i / q, i % q);
                        let tu: f64 = (0..=a).map(|c| t[c * q + a] * u[j * q + c]).sum();
                        tu / scale[a]
                    })
                    .collect()
            })
            .collect();
        [w.raw, w.white].map(|design| {
            let mut e = design.y.clone();
            for (c, beta) in beta.iter().enumerate() {
                e.iter_mut()
                    .zip(&design.x[c * n..(c + 1) * n])
                    .for_each(|(v, x)| *v -= beta * x);
            }
            for (term, b) in design.random.iter().zip(&b) {
                let q = term.q();
                for (r, v) in e.iter_mut().enumerate() {
                    let j = term.codes[r] as usize;
                    *v -= (0..q)
                        .map(|a| term.values[r * q + a] * b[j * q + a])
                        .sum::<f64>();
                }
            }
            e
        })
    }
}
