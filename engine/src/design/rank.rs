//! Detecting aliased fixed-effect columns, as R's `qr(X, tol = 1e-7)` (LINPACK `dqrdc2`) does:
//! a column whose norm, after projecting out the columns kept before it, falls below
//! `tol` times its original norm is linearly dependent on them and is dropped.

const TOLERANCE: f64 = 1e-7;

/// Indices of the columns to keep, in order.
///
/// Each column is first divided by the power of two nearest its largest |value|: whether
/// columns are dependent does not depend on their units, but the sums of squares do, and
/// a predictor of about 1e200 (whose square overflows) was dropped as aliased.
pub fn independent_columns(columns: &[Vec<f64>]) -> Vec<usize> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut keep = Vec::new();
    for (j, col) in columns.iter().enumerate() {
        let largest = col.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        let unit = if largest > 0.0 && largest.is_finite() {
            (-largest.log2().round()).exp2()
        } else {
            1.0
        };
        let mut v: Vec<f64> = col.iter().map(|x| x * unit).collect();
        let norm0 = dot(&v, &v).sqrt();
        // Two passes of Gram–Schmidt keep the residual orthogonal to working precision.
        for _ in 0..2 {
            for q in &basis {
                let c = dot(q, &v);
                v.iter_mut().zip(q).for_each(|(vi, qi)| *vi -= c * qi);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm0 > 0.0 && norm > TOLERANCE * norm0 {
            v.iter_mut().for_each(|x| *x /= norm);
            basis.push(v);
            keep.push(j);
        }
    }
    keep
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_later_dependent_columns() {
        let a = vec![1.0, 1.0, 1.0, 1.0];
        let b = vec![1.0, 2.0, 3.0, 4.0];
        let c: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 2.0 * x - y).collect();
        let d = vec![0.0, 1.0, 0.0, 1.0];
        assert_eq!(independent_columns(&[a, b, c, d]), [0, 1, 3]);
    }

    #[test]
    fn the_units_of_a_column_do_not_matter() {
        let a = vec![1.0, 1.0, 1.0, 1.0];
        for k in [1e-300, 1e-150, 1.0, 1e150, 1e200, 1e300] {
            let b: Vec<f64> = [1.0, 2.0, 3.0, 4.0].iter().map(|x| x * k).collect();
            let c: Vec<f64> = b.iter().map(|x| 2.0 * x).collect();
            assert_eq!(independent_columns(&[a.clone(), b, c]), [0, 1], "{k}");
        }
    }
}
