//! The exact (Clopper–Pearson) interval of a binomial proportion, as R's `binom.test` gives
//! it and simr reports a power's: the beta quantiles `qbeta(0.025, x, n − x + 1)` and
//! `qbeta(0.975, x + 1, n − x)`.

use mixspec_engine::inference::beta_inc;

/// The 95% interval of `x` successes in `n` trials; (NaN, NaN) without trials.
pub fn clopper_pearson(x: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (x, n) = (x as f64, n as f64);
    let lower = if x == 0.0 {
        0.0
    } else {
        beta_quantile(0.025, x, n - x + 1.0)
    };
    let upper = if x == n {
        1.0
    } else {
        beta_quantile(0.975, x + 1.0, n - x)
    };
    (lower, upper)
}

/// The `p` quantile of the Beta(a, b) distribution, by bisection on the regularised
/// incomplete beta function (monotone in x): 100 halvings reach the f64 grain.
fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if beta_inc(a, b, mid, 1.0 - mid).0 < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::clopper_pearson;

    #[test]
    fn matches_r_binom_test() {
        // R: binom.test(x, n)$conf.int
        for (x, n, lo, hi) in [
            (860, 2000, 0.408168859734, 0.452036672111),
            (0, 50, 0.0, 0.0711217364642),
            (50, 50, 0.928878263536, 1.0),
            (7, 10, 0.347547149940, 0.933260488822),
        ] {
            let (l, u) = clopper_pearson(x, n);
            assert!(
                (l - lo).abs() < 1e-9 && (u - hi).abs() < 1e-9,
                "{x}/{n}: ({l}, {u})"
            );
        }
    }
}
