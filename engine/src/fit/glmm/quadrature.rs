//! Gauss–Hermite rules for the standard normal density (lme4's `GHrule`): nodes and weights
//! with `Σ wₖ f(zₖ) ≈ ∫ f(z) φ(z) dz`, exact for polynomials of degree below `2n`.
//!
//! The nodes are the eigenvalues of the Jacobi matrix of the probabilists' Hermite
//! polynomials (zero diagonal, `√k` beside it) and each weight the square of its
//! eigenvector's first component (Golub and Welsch, 1969), found by cyclic Jacobi
//! rotations: for at most 25 nodes that is exact to rounding and needs no library.

/// Nodes (ascending) and weights of the `n`-point rule.
pub fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = vec![0.0; n * n];
    for k in 1..n {
        let s = (k as f64).sqrt();
        a[k * n + k - 1] = s;
        a[(k - 1) * n + k] = s;
    }
    let mut v = vec![0.0; n * n];
    for k in 0..n {
        v[k * n + k] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|r| (0..n).filter(move |&c| c != r).map(move |c| (r, c)))
            .map(|(r, c)| a[r * n + c] * a[r * n + c])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut rule: Vec<(f64, f64)> = (0..n).map(|k| (a[k * n + k], v[k] * v[k])).collect();
    rule.sort_by(|x, y| x.0.total_cmp(&y.0));
    rule.into_iter().unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_normal_moments() {
        for n in [1, 2, 5, 10, 25] {
            let (z, w) = gauss_hermite(n);
            let moment = |k: i32| z.iter().zip(&w).map(|(z, w)| w * z.powi(k)).sum::<f64>();
            assert!((moment(0) - 1.0).abs() < 1e-13, "n = {n}");
            assert!(moment(1).abs() < 1e-13);
            if n >= 2 {
                assert!((moment(2) - 1.0).abs() < 1e-12);
            }
            if n >= 3 {
                assert!((moment(4) - 3.0).abs() < 1e-11);
            }
            if n >= 5 {
                assert!((moment(8) - 105.0).abs() < 1e-9);
            }
        }
        // lme4's GHrule(3): nodes ±√3 and 0, weights 1/6, 2/3, 1/6.
        let (z, w) = gauss_hermite(3);
        assert!((z[2] - 3f64.sqrt()).abs() < 1e-13 && (w[1] - 2.0 / 3.0).abs() < 1e-13);
    }
}
