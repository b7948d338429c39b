//! Where PIRLS starts at the points of a difference Hessian: from the modes predicted by
//! the points already solved, not from the last point's.
//!
//! The central Hessian of the second stage ([`crate::fit::optimize`]) asks for the deviance
//! at `c ± h eᵢ` and `c ± h(eᵢ + eⱼ)` around a centre `c`, a hundredth of a standard error
//! away. From the last point's modes PIRLS takes three Newton steps and the Laplace
//! factorisation there (the modes move by about 1e-3, 1e-6, 1e-12). The modes are smooth in
//! the parameters, so `û(c − h eᵢ) ≈ 2û(c) − û(c + h eᵢ)` and
//! `û(c + h eᵢ + h eⱼ) ≈ û(c + h eᵢ) + û(c + h eⱼ) − û(c)` are right to the step squared,
//! and one Newton step fewer reaches the same modes (6% of a cbpp fit's instructions). Only
//! the start changes; PIRLS still converges to rounding from it.

/// The most mode values kept (the centre's and one set per coordinate step): beyond this,
/// on a million-level model, the copies would cost more memory than the steps save.
const MAX_KEPT: usize = 1 << 22;

/// Two steps are the same (or opposite) when they agree to this, relative: the search's
/// coordinates are scaled and shifted into the parameters, which rounds `±h` differently.
const SAME_STEP: f64 = 1e-6;

#[derive(Default)]
pub(super) struct Starts {
    /// The last point evaluated more than two coordinates from the centre before it, and
    /// its modes.
    centre: Vec<f64>,
    at_centre: Vec<f64>,
    /// Modes at points one coordinate from the centre: (coordinate, step, modes).
    moved: Vec<(usize, f64, Vec<f64>)>,
}

impl Starts {
    /// The coordinates where `params` differs from the centre, with the differences; `None`
    /// without a centre or when more than two differ.
    fn steps(&self, params: &[f64]) -> Option<Vec<(usize, f64)>> {
        if self.centre.len() != params.len() {
            return None;
        }
        let steps: Vec<(usize, f64)> = (params.iter().zip(&self.centre).enumerate())
            .filter(|(_, (p, c))| p != c)
            .map(|(i, (p, c))| (i, p - c))
            .take(3)
            .collect();
        (steps.len() <= 2).then_some(steps)
    }

    /// The modes found at `step` along coordinate `i`.
    fn at(&self, i: usize, step: f64) -> Option<&[f64]> {
        self.moved
            .iter()
            .find(|(j, s, _)| *j == i && (s - step).abs() <= SAME_STEP * step.abs())
            .map(|(_, _, u)| &u[..])
    }

    /// The modes predicted at `params`, when it is at most two coordinates from the centre:
    /// by the opposite step's or the two single steps' modes where those were found, else
    /// the centre's.
    pub(super) fn predict(&self, params: &[f64]) -> Option<Vec<f64>> {
        let centre = &self.at_centre;
        let predicted = match self.steps(params)?[..] {
            [(i, s)] => self.at(i, -s).map(|opposite| {
                (centre.iter().zip(opposite))
                    .map(|(c, o)| 2.0 * c - o)
                    .collect()
            }),
            [(i, si), (j, sj)] => self.at(i, si).zip(self.at(j, sj)).map(|(a, b)| {
                (centre.iter().zip(a).zip(b))
                    .map(|((c, a), b)| a + b - c)
                    .collect()
            }),
            _ => None,
        };
        Some(predicted.unwrap_or_else(|| centre.clone()))
    }

    /// Keeps the modes `u` found at `params`: as a new centre when it is more than two
    /// coordinates from the last, as a step when one.
    pub(super) fn record(&mut self, params: &[f64], u: &[f64]) {
        match self.steps(params).as_deref() {
            Some(&[(i, s)]) => {
                if (self.moved.len() + 2) * u.len() <= MAX_KEPT {
                    self.moved.push((i, s, u.to_vec()));
                }
            }
            Some(_) => {}
            None => {
                self.moved.clear();
                self.centre.clear();
                self.at_centre.clear();
                if u.len() <= MAX_KEPT {
                    self.centre.extend_from_slice(params);
                    self.at_centre.extend_from_slice(u);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modes linear in the parameters are predicted exactly at the opposite step and at a
    /// pair of steps; other points start from the centre's, and a far point becomes the
    /// centre.
    #[test]
    fn predicts_the_hessian_points_from_the_ones_solved() {
        let modes = |p: &[f64]| vec![p[0] + 2.0 * p[1], 3.0 * p[0] - p[2]];
        let mut starts = Starts::default();
        let centre = [0.5, -1.0, 2.0];
        assert_eq!(starts.predict(&centre), None);
        starts.record(&centre, &modes(&centre));
        let h = 1e-2;
        let plus = |i: usize, j: Option<usize>| {
            let mut p = centre;
            p[i] += h;
            if let Some(j) = j {
                p[j] += h;
            }
            p
        };
        // No opposite step yet: the centre's modes.
        assert_eq!(starts.predict(&plus(0, None)), Some(modes(&centre)));
        for i in 0..3 {
            starts.record(&plus(i, None), &modes(&plus(i, None)));
        }
        let mut minus = centre;
        minus[1] -= h;
        let close = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(starts.predict(&minus).unwrap(), modes(&minus)));
        let pair = plus(0, Some(2));
        assert!(close(starts.predict(&pair).unwrap(), modes(&pair)));
        // Three coordinates away: no prediction, and it becomes the centre.
        let far = [1.0, 1.0, 1.0];
        assert_eq!(starts.predict(&far), None);
        starts.record(&far, &modes(&far));
        assert_eq!(starts.predict(&far), Some(modes(&far)));
    }
}
