//! The cohorts a power simulation fits: for a design, its subjects allocated to groups with
//! every visit and their covariates drawn, less the visits lost to dropout and missed
//! visits; for a model, its subjects drawn with replacement, each with its own rows
//! (covariates and visits) of the data.

use mixspec_dsl::spec::{CovariateDistribution, PowerDesign};
use mixspec_engine::{Column, DataFrame, Factor};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StandardUniform};

/// The subject labels of a simulated cohort: zero-padded so that byte order is R's order.
fn subject_factor(per_row: Vec<u32>, n: usize) -> Factor {
    let width = n.to_string().len();
    Factor {
        codes: per_row,
        levels: (1..=n).map(|i| format!("{i:0width$}")).collect(),
    }
}

/// Subjects per group for `n` subjects: the shares' largest remainders, so that the groups'
/// sizes add up to `n` and differ from `n × share` by less than one.
pub(crate) fn allocate(shares: &[f64], n: usize) -> Vec<usize> {
    let exact: Vec<f64> = shares.iter().map(|s| s * n as f64).collect();
    let mut sizes: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let left = n.saturating_sub(sizes.iter().sum::<usize>());
    for &g in order.iter().take(left) {
        sizes[g] += 1;
    }
    sizes
}

/// A design's cohort of one size with every visit made: the data a simulation starts from.
pub(crate) struct DesignCohort {
    pub frame: DataFrame,
    /// Per row: its subject's group (index into the design's arms), its visit's index and
    /// its subject.
    pub arm: Vec<usize>,
    pub visit: Vec<usize>,
    pub subject: Vec<usize>,
    pub subjects: usize,
}

impl DesignCohort {
    pub(crate) fn new(design: &PowerDesign, n: usize) -> DesignCohort {
        let sizes = allocate(&design.arms.iter().map(|a| a.share).collect::<Vec<_>>(), n);
        let (mut arm, mut visit, mut subject, mut time) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut next = 0u32;
        for (a, (spec, &size)) in design.arms.iter().zip(&sizes).enumerate() {
            for _ in 0..size {
                for (v, &t) in spec.times.iter().enumerate() {
                    arm.push(a);
                    visit.push(v);
                    subject.push(next);
                    time.push(t);
                }
                next += 1;
            }
        }
        let rows = arm.len();
        let subjects: Vec<usize> = subject.iter().map(|&s| s as usize).collect();
        let mut columns = vec![
            (
                design.subject.text.clone(),
                Column::Factor(subject_factor(subject, n)),
            ),
            (design.time.clone(), Column::Numeric(time)),
            (
                design.spec.response.label.clone(),
                Column::Numeric(vec![0.0; rows]),
            ),
        ];
        if let Some(group) = &design.group {
            let levels = design
                .arms
                .iter()
                .map(|a| a.level.clone().unwrap_or_default())
                .collect();
            let codes = arm.iter().map(|&a| a as u32).collect();
            columns.push((group.clone(), Column::Factor(Factor { codes, levels })));
        }
        // Covariates vary over the subjects here, so that the model matrix this template
        // builds has their columns; each simulation draws its own (`draw`).
        for c in &design.covariates {
            let values = subjects
                .iter()
                .map(|&s| match c.distribution {
                    CovariateDistribution::Normal { mean, sd } => mean + sd * (s % 3) as f64 - sd,
                    CovariateDistribution::Binary(_) => (s % 2) as f64,
                })
                .collect();
            columns.push((c.name.clone(), Column::Numeric(values)));
        }
        DesignCohort {
            frame: DataFrame::new("<power design>", columns),
            arm,
            visit,
            subject: subjects,
            subjects: n,
        }
    }

    /// Whether every simulation has the same rows and predictors: every subject makes every
    /// visit and there are no covariates to draw.
    pub(crate) fn fixed(design: &PowerDesign) -> bool {
        design.covariates.is_empty()
            && design
                .arms
                .iter()
                .all(|a| a.dropout == 0.0 && a.missed == 0.0)
    }

    /// This simulation's cohort: first each covariate's value per subject (in subject order,
    /// covariate by covariate), then the missed visits, whose responses are made missing so
    /// that the design leaves them out. Per subject, each visit after the first is lost when
    /// the subject has dropped out (at that visit or before: monotone), or else missed.
    pub(crate) fn draw(
        &self,
        design: &PowerDesign,
        response: &str,
        rng: &mut ChaCha8Rng,
    ) -> DataFrame {
        let mut frame = self.frame.clone();
        for c in &design.covariates {
            let per_subject: Vec<f64> = (0..self.subjects)
                .map(|_| match c.distribution {
                    CovariateDistribution::Normal { mean, sd } => {
                        let z: f64 = StandardNormal.sample(rng);
                        mean + sd * z
                    }
                    CovariateDistribution::Binary(p) => {
                        let u: f64 = StandardUniform.sample(rng);
                        f64::from(u8::from(u < p))
                    }
                })
                .collect();
            let values = self.subject.iter().map(|&s| per_subject[s]).collect();
            frame.insert(&c.name, Column::Numeric(values));
        }
        let mut y = vec![0.0; self.arm.len()];
        let mut dropped = false;
        for (i, yi) in y.iter_mut().enumerate() {
            if self.visit[i] == 0 {
                dropped = false;
                continue;
            }
            let arm = &design.arms[self.arm[i]];
            // Two draws per visit whatever the outcome, so each visit's numbers stay in place.
            let d: f64 = StandardUniform.sample(rng);
            let m: f64 = StandardUniform.sample(rng);
            dropped |= d < arm.dropout;
            if dropped || m < arm.missed {
                *yi = f64::NAN;
            }
        }
        frame.insert(response, Column::Numeric(y));
        frame
    }
}

/// A model's subjects, each with its rows of the data the model was fitted to.
pub(crate) struct Subjects {
    /// The fitted rows of the data (complete in every model variable).
    pub frame: DataFrame,
    /// Per subject, its rows of `frame`.
    pub rows: Vec<Vec<usize>>,
    /// The subject column, relabelled per cohort.
    pub column: String,
}

impl Subjects {
    /// Groups the rows of `frame` by their value of `column`.
    pub(crate) fn new(frame: DataFrame, column: &str) -> Subjects {
        let factor = frame
            .column(column)
            .expect("the subject column is checked to exist")
            .to_factor();
        let mut rows = vec![Vec::new(); factor.levels.len()];
        for (r, &c) in factor.codes.iter().enumerate() {
            if let Some(list) = rows.get_mut(c as usize) {
                list.push(r);
            }
        }
        rows.retain(|r| !r.is_empty());
        Subjects {
            frame,
            rows,
            column: column.to_string(),
        }
    }

    /// `n` subjects drawn with replacement, each a new subject: the cohort's data and, per
    /// row, the row of `frame` it copies.
    pub(crate) fn draw(&self, n: usize, rng: &mut ChaCha8Rng) -> (DataFrame, Vec<usize>) {
        let mut source = Vec::new();
        let mut codes = Vec::new();
        for s in 0..n {
            let u: f64 = StandardUniform.sample(rng);
            let k = ((u * self.rows.len() as f64) as usize).min(self.rows.len() - 1);
            let drawn = &self.rows[k];
            source.extend_from_slice(drawn);
            codes.extend(std::iter::repeat_n(s as u32, drawn.len()));
        }
        let mut frame = self.frame.select(&source);
        frame.insert(&self.column, Column::Factor(subject_factor(codes, n)));
        (frame, source)
    }
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn allocation_adds_up_and_follows_the_shares() {
        assert_eq!(allocate(&[0.5, 0.5], 41), vec![21, 20]);
        assert_eq!(allocate(&[0.3, 0.7], 10), vec![3, 7]);
        assert_eq!(allocate(&[1.0 / 3.0; 3], 100), vec![34, 33, 33]);
        assert_eq!(allocate(&[0.2, 0.3, 0.5], 7).iter().sum::<usize>(), 7);
    }
}
