//! The exact gradient of the Laplace deviance over (θ, β) for one random-effect term and a
//! canonical pair (binomial–logit, Poisson–log), at the modes PIRLS left.
//!
//! A forward-difference gradient costs one PIRLS solution per parameter (three or four
//! factorisations each); this costs two passes over the rows and one small solve per level,
//! about a quarter of one deviance. With `D = −2 Σ log f(yᵢ | ηᵢ) + |û|² + log|M|`,
//! `M = Λ'Z'WZΛ + I`, `η = Xβ + ZΛû` and `W` the information at η (the curvature of
//! `−log f` in η, which the modes' own equation has: that is why only canonical pairs
//! qualify), the modes' derivatives come from differentiating `Λ'Z's = u` (`s` the scores):
//! `M ∂û/∂β = −Λ'Z'WX`. With leverages `ℓᵢ = zᵢ'ΛM⁻¹Λ'zᵢ`, `aᵢ = ℓᵢ ∂wᵢ/∂ηᵢ` and
//! `v = M⁻¹Λ'Z'a`,
//!
//! ```text
//! ∂D/∂β = X'(a − 2s − WZΛv)
//! ∂D/∂θⱼ = Σ_l −2c_l'Fⱼu_l + e_l'Fⱼu_l + 2 tr(M_l⁻¹T'A_lFⱼ) + (Fⱼv_l)'c_l − (Tv_l)'A_l(Fⱼu_l)
//! ```
//!
//! per level `l` of the term, `T` its factor block and `Fⱼ = ∂T/∂θⱼ`, with
//! `c_l = Σ sᵢzᵢ`, `e_l = Σ aᵢzᵢ` and `A_l = Σ wᵢzᵢzᵢ'` over the level's rows (the penalised
//! part is stationary in `u`, so only its explicit dependence enters; `log|M|` changes
//! through `Λ`, through `W` at fixed modes, and through the modes). With one term `M` is
//! block-diagonal, one `q × q` block `L_lL_l'` per level, which the Laplace factorisation
//! holds; several terms couple the levels and would need a selected inverse of `M`.

use super::Pirls;
use crate::fit::factor::{cholesky_solve_in_place, forward_substitute, spd_inverse};

impl Pirls {
    /// Whether [`Pirls::gradient`] applies: the Laplace approximation, one random-effect
    /// term and a canonical pair ([`crate::family::Family::canonical_derivatives`]).
    pub fn has_gradient(&self) -> bool {
        self.nagq == 1
            && self.design.random.len() == 1
            && (self.family)
                .canonical_derivatives(0.0, 1.0, self.link, 0.0)
                .is_some()
    }

    /// The gradient of the Laplace deviance over `[θ, β]` at the last evaluation (`theta`
    /// as given to it), into `g`; `false` where it does not apply ([`Pirls::has_gradient`]).
    pub fn gradient(&self, theta: &[f64], g: &mut [f64]) -> bool {
        self.laplace_gradient(theta, g, false)
    }

    /// The gradient over θ of the first stage's deviance (lme4's `nAGQ = 0`: β at its joint
    /// mode with `u`, [`Pirls::deviance`] with no β) at the last evaluation, into `g`:
    /// [`Pirls::gradient`]'s θ part plus its β part times `∂β̂/∂θ`.
    pub fn profiled_gradient(&self, theta: &[f64], g: &mut [f64]) -> bool {
        self.laplace_gradient(theta, g, true)
    }

    /// The gradient over `[θ, β]`, or over θ with β `profiled` (see the module's notes).
    fn laplace_gradient(&self, theta: &[f64], g: &mut [f64], profiled: bool) -> bool {
        if !self.has_gradient() {
            return false;
        }
        let block = &self.design.random[0];
        let (q, levels, n, p) = (
            block.q(),
            block.levels.len(),
            self.design.n(),
            self.design.p(),
        );
        let x = &self.design.x;
        let t = &self.lambda.t[0];
        let l11 = &self.modes.factor.l11;
        let (mut c, mut e) = (vec![0.0; levels * q], vec![0.0; levels * q]);
        let mut a = vec![0.0; levels * q * q];
        // Profiled: per level `K_l = Σ wᵢxᵢzᵢ'` (row k of it at `k q`), and `X'WX`.
        let (mut k_sums, mut xwx) = (Vec::new(), Vec::new());
        if profiled {
            k_sums = vec![0.0; levels * p * q];
            xwx = vec![0.0; p * p];
        }
        // Per row `aᵢ − 2sᵢ`, less `wᵢzᵢ'Tv_l` once `v` is known; and `wᵢ`.
        let (mut r, mut w) = (vec![0.0; n], vec![0.0; n]);
        let mut h = vec![0.0; q];
        for i in 0..n {
            let l = block.codes[i] as usize;
            let z = &block.values[i * q..(i + 1) * q];
            let Some([s, wi, slope]) = (self.family).canonical_derivatives(
                self.y[i],
                self.trials[i],
                self.link,
                self.eta[i],
            ) else {
                return false;
            };
            // ℓᵢ = |L_l⁻¹T'zᵢ|².
            let lower = &l11[l * q * q..(l + 1) * q * q];
            transpose_times(t, q, z, &mut h);
            forward_substitute(lower, q, &mut h);
            let ai = h.iter().map(|v| v * v).sum::<f64>() * slope;
            let (cl, el) = (&mut c[l * q..(l + 1) * q], &mut e[l * q..(l + 1) * q]);
            let al = &mut a[l * q * q..(l + 1) * q * q];
            for x in 0..q {
                cl[x] += s * z[x];
                el[x] += ai * z[x];
                for y in 0..q {
                    al[y * q + x] += wi * z[x] * z[y];
                }
            }
            r[i] = ai - 2.0 * s;
            w[i] = wi;
            if profiled {
                let kl = &mut k_sums[l * p * q..(l + 1) * p * q];
                for k in 0..p {
                    let wx = wi * x[k * n + i];
                    for (o, zc) in kl[k * q..(k + 1) * q].iter_mut().zip(z) {
                        *o += wx * zc;
                    }
                    for m in 0..=k {
                        xwx[k * p + m] += wx * x[m * n + i];
                    }
                }
            }
        }
        let n_theta = theta.len();
        let factors = self.lambda.factor_derivatives(0, theta);
        let (g_theta, rest) = g.split_at_mut(n_theta);
        g_theta.iter_mut().for_each(|v| *v = 0.0);
        // Per level `Tv_l`, for the second pass.
        let mut tv = vec![0.0; levels * q];
        let (mut v, mut b, mut fu, mut fv, mut afu) = (
            vec![0.0; q],
            vec![0.0; q * q],
            vec![0.0; q],
            vec![0.0; q],
            vec![0.0; q],
        );
        // Profiled: `G_l = T'K_l'` and `M_l⁻¹G_l` (column k at `k q`), the right-hand side
        // of ∂u/∂θⱼ, and per θⱼ the right-hand side of `S ∂β̂/∂θⱼ`.
        let (mut gl, mut mgl) = (vec![0.0; q * p], vec![0.0; q * p]);
        let (mut rhs, mut tafu) = (vec![0.0; q], vec![0.0; q]);
        let mut by_theta = vec![0.0; if profiled { n_theta * p } else { 0 }];
        for l in 0..levels {
            let lower = &l11[l * q * q..(l + 1) * q * q];
            let (cl, el, al) = (
                &c[l * q..(l + 1) * q],
                &e[l * q..(l + 1) * q],
                &a[l * q * q..(l + 1) * q * q],
            );
            let ul = &self.u[l * q..(l + 1) * q];
            // v_l = M_l⁻¹T'e_l, and B = M_l⁻¹T'A_l column by column.
            transpose_times(t, q, el, &mut v);
            cholesky_solve_in_place(lower, q, &mut v);
            lower_times(t, q, &v, &mut tv[l * q..(l + 1) * q]);
            for col in 0..q {
                let column = &mut b[col * q..(col + 1) * q];
                transpose_times(t, q, &al[col * q..(col + 1) * q], column);
                cholesky_solve_in_place(lower, q, column);
            }
            let kl = if profiled {
                let kl = &k_sums[l * p * q..(l + 1) * p * q];
                for k in 0..p {
                    let column = &mut gl[k * q..(k + 1) * q];
                    transpose_times(t, q, &kl[k * q..(k + 1) * q], column);
                    mgl[k * q..(k + 1) * q].copy_from_slice(column);
                    cholesky_solve_in_place(lower, q, &mut mgl[k * q..(k + 1) * q]);
                }
                // X'WX less Σ G_l'M_l⁻¹G_l is S, the Schur complement of β's block.
                for k in 0..p {
                    for m in 0..=k {
                        xwx[k * p + m] -= dot(&gl[k * q..(k + 1) * q], &mgl[m * q..(m + 1) * q]);
                    }
                }
                kl
            } else {
                &[][..]
            };
            let tvl = &tv[l * q..(l + 1) * q];
            for (j, (gj, f)) in g_theta.iter_mut().zip(&factors).enumerate() {
                lower_times(f, q, ul, &mut fu);
                lower_times(f, q, &v, &mut fv);
                symmetric_times(al, q, &fu, &mut afu);
                // tr(BF) = Σ B[x, y] F[y, x], F lower triangular.
                let trace: f64 = (0..q)
                    .flat_map(|x| (x..q).map(move |y| (x, y)))
                    .map(|(x, y)| b[y * q + x] * f[x * q + y])
                    .sum();
                *gj +=
                    dot(el, &fu) - 2.0 * dot(cl, &fu) + 2.0 * trace + dot(&fv, cl) - dot(tvl, &afu);
                if profiled {
                    // M_l ∂u_l/∂θⱼ = Fⱼ'c_l − T'A_lFⱼu_l − G_l ∂β̂/∂θⱼ, and
                    // S ∂β̂/∂θⱼ = Σ_l −K_lFⱼu_l − (M_l⁻¹G_l)'(Fⱼ'c_l − T'A_lFⱼu_l).
                    transpose_times(f, q, cl, &mut rhs);
                    transpose_times(t, q, &afu, &mut tafu);
                    rhs.iter_mut().zip(&tafu).for_each(|(r, x)| *r -= x);
                    for k in 0..p {
                        by_theta[j * p + k] -=
                            dot(&kl[k * q..(k + 1) * q], &fu) + dot(&mgl[k * q..(k + 1) * q], &rhs);
                    }
                }
            }
        }
        for i in 0..n {
            let l = block.codes[i] as usize;
            let z = &block.values[i * q..(i + 1) * q];
            r[i] -= w[i] * dot(z, &tv[l * q..(l + 1) * q]);
        }
        let mut profiled_beta = Vec::new();
        let g_beta = if profiled {
            profiled_beta.resize(p, 0.0);
            &mut profiled_beta[..]
        } else {
            rest
        };
        for (gk, column) in g_beta.iter_mut().zip(x.chunks_exact(n)) {
            *gk = dot(column, &r);
        }
        if profiled {
            for k in 0..p {
                for m in 0..k {
                    xwx[m * p + k] = xwx[k * p + m];
                }
            }
            let Some(s_inverse) = spd_inverse(&xwx, p) else {
                return false;
            };
            for (j, gj) in g_theta.iter_mut().enumerate() {
                let bj = &by_theta[j * p..(j + 1) * p];
                for k in 0..p {
                    *gj += profiled_beta[k] * dot(&s_inverse[k * p..(k + 1) * p], bj);
                }
            }
        }
        true
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `out = Tx`, `T` lower triangular (column-major).
fn lower_times(t: &[f64], q: usize, x: &[f64], out: &mut [f64]) {
    for k in 0..q {
        out[k] = (0..=k).map(|m| t[m * q + k] * x[m]).sum();
    }
}

/// `out = T'x`, `T` lower triangular (column-major).
fn transpose_times(t: &[f64], q: usize, x: &[f64], out: &mut [f64]) {
    for k in 0..q {
        out[k] = (k..q).map(|m| t[k * q + m] * x[m]).sum();
    }
}

/// `out = Ax`, `A` symmetric with both triangles filled (column-major).
fn symmetric_times(a: &[f64], q: usize, x: &[f64], out: &mut [f64]) {
    for k in 0..q {
        out[k] = (0..q).map(|m| a[m * q + k] * x[m]).sum();
    }
}
