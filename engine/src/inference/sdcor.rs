//! Random-effect covariances on lme4's scale of standard deviations and correlations, the
//! scale on which `confint` reports them: profiling and the bootstrap both move between it
//! and covariance matrices.

use crate::spec::CovarianceType;

/// The covariance parameters of one term as `(a, b)` index pairs into its covariance
/// matrix, in θ's order: `a == b` is the standard deviation of effect `a`, otherwise the
/// correlation of `a` and `b`. Unstructured terms have the lower triangle column by column
/// (lme4's `.sig01`, `.sig02`, …), diagonal terms their standard deviations, and
/// compound-symmetry terms the common standard deviation and correlation.
pub fn entries(q: usize, kind: CovarianceType) -> Vec<(usize, usize)> {
    match kind {
        CovarianceType::Unstructured => (0..q).flat_map(|c| (c..q).map(move |r| (c, r))).collect(),
        CovarianceType::Diagonal => (0..q).map(|a| (a, a)).collect(),
        CovarianceType::CompoundSymmetry => (0..q.min(2)).map(|b| (0, b)).collect(),
    }
}

/// The values of `entries` in the symmetric `q × q` matrix `cov`; a correlation with a zero
/// standard deviation is 0 (any value fits the data equally).
pub fn values(cov: &[f64], q: usize, entries: &[(usize, usize)]) -> Vec<f64> {
    entries
        .iter()
        .map(|&(a, b)| {
            if a == b {
                cov[a * q + a].sqrt()
            } else {
                correlation(cov, q, a, b).unwrap_or(0.0)
            }
        })
        .collect()
}

/// The correlation of effects `a` and `b` in the symmetric `q × q` matrix `cov`; `None` when
/// either standard deviation is zero. The standard deviations are taken before their
/// product: the product of the variances overflowed for data in units of 1e100, and the
/// correlation came out 0.
pub fn correlation(cov: &[f64], q: usize, a: usize, b: usize) -> Option<f64> {
    let d = cov[a * q + a].sqrt() * cov[b * q + b].sqrt();
    (d > 0.0).then(|| cov[a * q + b] / d)
}

/// The lower Cholesky factor `L` (column-major, `L L' = m`) of a positive *semi*-definite
/// symmetric `q × q` matrix: a zero pivot gives a zero column, as a standard deviation at
/// zero needs. `None` if `m` is indefinite beyond rounding.
pub fn cholesky(m: &[f64], q: usize) -> Option<Vec<f64>> {
    let scale = (0..q).map(|a| m[a * q + a].abs()).fold(0.0, f64::max);
    let tol = 1e-12 * scale;
    let mut l = vec![0.0_f64; q * q];
    for c in 0..q {
        let d = m[c * q + c] - (0..c).map(|k| l[k * q + c].powi(2)).sum::<f64>();
        if d < -tol {
            return None;
        }
        let pivot = d.max(0.0).sqrt();
        l[c * q + c] = pivot;
        for r in c + 1..q {
            let x = m[r * q + c] - (0..c).map(|k| l[k * q + r] * l[k * q + c]).sum::<f64>();
            if pivot > tol.sqrt() {
                l[c * q + r] = x / pivot;
            } else if x.abs() > tol.sqrt() * scale.sqrt() {
                return None;
            }
        }
    }
    Some(l)
}

/// The symmetric `q × q` matrix whose `entries` are `values` (standard deviations and
/// correlations); entries not listed are zero correlations.
pub fn covariance(values: &[f64], q: usize, entries: &[(usize, usize)]) -> Vec<f64> {
    let mut sd = vec![0.0; q];
    let mut cor = vec![0.0; q * q];
    for a in 0..q {
        cor[a * q + a] = 1.0;
    }
    for (&(a, b), &v) in entries.iter().zip(values) {
        if a == b {
            sd[a] = v;
        } else {
            cor[a * q + b] = v;
            cor[b * q + a] = v;
        }
    }
    (0..q * q).map(|i| cor[i] * sd[i / q] * sd[i % q]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_cholesky() {
        let e = entries(2, CovarianceType::Unstructured);
        let m = covariance(&[2.0, -0.5, 3.0], 2, &e);
        let l = cholesky(&m, 2).unwrap();
        let back = [l[0] * l[0], l[0] * l[1], l[1] * l[1] + l[3] * l[3]];
        assert!((back[0] - 4.0).abs() < 1e-12);
        assert!((back[1] + 3.0).abs() < 1e-12);
        assert!((back[2] - 9.0).abs() < 1e-12);
        assert_eq!(values(&m, 2, &e), vec![2.0, -0.5, 3.0]);
    }

    #[test]
    fn zero_sd_and_perfect_correlation_are_semidefinite() {
        let e = entries(2, CovarianceType::Unstructured);
        assert!(cholesky(&covariance(&[0.0, 0.7, 1.0], 2, &e), 2).is_some());
        let l = cholesky(&covariance(&[1.0, 1.0, 2.0], 2, &e), 2).unwrap();
        assert_eq!(l[3], 0.0);
        let bad = [1.0, 0.9, 0.9, 0.9, 1.0, -0.9, 0.9, -0.9, 1.0];
        assert!(cholesky(&bad, 3).is_none());
    }
}
