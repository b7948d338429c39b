//! Start values for θ from moments, for one grouping factor with an unstructured or
//! diagonal covariance.
//!
//! lme4 starts every fit at relative standard deviations of 1 and correlations of 0. When a
//! random slope's variance is on another scale than the residual's (sleepstudy's `Days`,
//! any slope on months), that start is far from the optimum, in the region where the
//! deviance is least quadratic, and the quasi-Newton search spends most of its evaluations
//! getting out of it. Per-level least squares give a start close to the optimum from the
//! cross-products already formed: with `β₀` the pooled least-squares fit and, per level,
//! `b̂ⱼ = Aⱼ⁻¹Zⱼ'(y − Xβ₀)` (`Aⱼ = Zⱼ'Zⱼ`),
//!
//! - σ̂² is the pooled within-level residual variance, `(RSS₀ − Σⱼ b̂ⱼ'Zⱼ'(y − Xβ₀)) / dof`,
//! - Ψ̂ = mean(b̂ⱼb̂ⱼ') − σ̂² mean(Aⱼ⁻¹),
//!
//! and θ is the Cholesky factor of Ψ̂/σ̂², in lme4's order. Only levels whose `Aⱼ` is
//! positive definite count. Where any of it fails, or an eigenvalue of Ψ̂ is below σ̂²/10⁴,
//! the start is lme4's.

use super::blocks::Blocks;
use super::factor::{cholesky_solve, small_cholesky};
use crate::spec::CovarianceType;

/// Smallest eigenvalue of Ψ̂/σ̂² taken as an estimate.
const FLOOR: f64 = 1e-4;

/// The moment start for a model with one grouping factor of `kind` and `n` observations,
/// or `None`.
pub(super) fn moment_start(blocks: &Blocks, kind: CovarianceType, n: usize) -> Option<Vec<f64>> {
    let (q, p) = (blocks.q1, blocks.layout.p);
    if blocks.layout.q_rest != 0 || q == 0 || kind == CovarianceType::CompoundSymmetry {
        return None;
    }
    let d = p + 1;
    let a22 = |r: usize, c: usize| blocks.a22[c * d + r];
    // Pooled least squares: X'X β₀ = X'y.
    let mut xtx: Vec<f64> = (0..p * p).map(|i| a22(i % p, i / p)).collect();
    if !small_cholesky(&mut xtx, p) {
        return None;
    }
    let beta = cholesky_solve(&xtx, p, (0..p).map(|r| a22(r, p)).collect());
    let rss0 = a22(p, p) - (0..p).map(|r| beta[r] * a22(r, p)).sum::<f64>();

    let (mut bb, mut inv_sum) = (vec![0.0; q * q], vec![0.0; q * q]);
    let (mut between, mut used) = (0.0, 0usize);
    let (mut l, mut c) = (vec![0.0; q * q], vec![0.0; q]);
    for j in 0..blocks.levels1 {
        l.copy_from_slice(&blocks.a11[j * q * q..(j + 1) * q * q]);
        if !small_cholesky(&mut l, q) {
            continue;
        }
        // Zⱼ'(y − Xβ₀) from the level's coupling rows.
        c.fill(0.0);
        for (e, &r) in (blocks.row_ptr[j]..).zip(blocks.rows(j)) {
            let coef = if r == p { 1.0 } else { -beta[r] };
            for (ci, v) in c.iter_mut().zip(&blocks.a21[e * q..(e + 1) * q]) {
                *ci += coef * v;
            }
        }
        let b = cholesky_solve(&l, q, c.clone());
        between += b.iter().zip(&c).map(|(x, y)| x * y).sum::<f64>();
        for col in 0..q {
            let unit = (0..q).map(|r| if r == col { 1.0 } else { 0.0 }).collect();
            let inv_col = cholesky_solve(&l, q, unit);
            for row in 0..q {
                bb[col * q + row] += b[row] * b[col];
                inv_sum[col * q + row] += inv_col[row];
            }
        }
        used += 1;
    }
    let dof = n.checked_sub(p + used * q).filter(|&f| f > 0)? as f64;
    let sigma2 = (rss0 - between) / dof;
    if used < 2 || !(sigma2 > 0.0 && sigma2.is_finite()) {
        return None;
    }
    let m = used as f64;
    let mut relative: Vec<f64> = (0..q * q)
        .map(|i| (bb[i] - sigma2 * inv_sum[i]) / (m * sigma2))
        .collect();
    // An estimate with a variance near or below zero is mostly noise (levels with few
    // observations): then lme4's start is the better guess. Ψ̂/σ̂² − FLOOR·I positive
    // definite is every eigenvalue above FLOOR.
    let mut shifted = relative.clone();
    (0..q).for_each(|k| shifted[k * q + k] -= FLOOR);
    if !small_cholesky(&mut shifted, q) {
        return None;
    }
    let theta = match kind {
        CovarianceType::Diagonal => (0..q).map(|k| relative[k * q + k].sqrt()).collect(),
        _ => {
            if !small_cholesky(&mut relative, q) {
                return None;
            }
            (0..q)
                .flat_map(|col| (col..q).map(move |r| (r, col)))
                .map(|(r, col)| relative[col * q + r])
                .collect()
        }
    };
    Some(theta).filter(|t: &Vec<f64>| t.iter().all(|v| v.is_finite()))
}
