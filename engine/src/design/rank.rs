//! Detecting aliased fixed-effect columns, as R's `qr(X, tol = 1e-7)` (LINPACK `dqrdc2`) does:
//! a column whose norm, after projecting out the columns kept before it, falls below
//! `tol` times its original norm is linearly dependent on them and is dropped.

const TOLERANCE: f64 = 1e-7;

/// Indices of the columns to keep, in order.
pub fn independent_columns(columns: &[Vec<f64>]) -> Vec<usize> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut keep = Vec::new();
    for (j, col) in columns.iter().enumerate() {
        let norm0 = dot(col, col).sqrt();
        let mut v = col.clone();
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
}
