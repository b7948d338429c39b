//! Fitting from per-subject statistics: the cross-products a linear mixed model with one
//! grouping factor and independent Gaussian residuals depends on.
//!
//! For such a model the likelihood, its derivatives, β̂, Var(β̂), the conditional modes,
//! Satterthwaite's degrees of freedom and Nakagawa's R² need the data only through, per
//! subject `i`, `Zᵢ'Zᵢ`, `Zᵢ'Xᵢ` and `Zᵢ'yᵢ`, and the global `X'X`, `X'y`, `y'y`, `1'X` and
//! `n`. Those are GROUP BY aggregates, so a query engine can compute them where the data
//! lives and hand the engine a table the size of the number of subjects
//! ([`SubjectStatistics`]; the layout is in docs/scale.md).
//!
//! A fit from statistics builds the same cross-product blocks the fit from rows builds
//! ([`crate::fit::Problem::from_statistics`]) and shares everything after them — the
//! factorisation, the optimizer, Satterthwaite's degrees of freedom, the fit's assembly —
//! so there is one fitting path, and a fit from statistics agrees with the fit of the rows
//! they summarise to rounding ([`SubjectStatistics::from_design`] forms them from rows).

use crate::design::{Design, RandomBlock};
use crate::error::StatisticsError;
use crate::fit::{FitOptions, LmmFit};
use crate::spec::{CovarianceType, ModelSpec};

/// R's `qr()` tolerance: a fixed-effect column whose norm, after projecting out the
/// columns before it, is below this fraction of its own is aliased (see `design::rank`).
pub(crate) const ALIAS_TOLERANCE: f64 = 1e-7;

/// The per-subject and global cross-products of a model with one grouping factor.
///
/// Matrices are row-major. With `q` random effects per subject and `p` fixed effects:
/// `ztz` holds `q × q` per subject, `ztx` holds `q × p` per subject (row `a` is random-effect
/// column `a`, column `j` fixed-effect column `j`), `zty` holds `q` per subject. Every sum
/// involving the response is of `y − Xγ` for the `gamma` given (all zeros: the raw response);
/// a producer that knows the response's mean should subtract it (γ on the intercept), as
/// the sums of squares of a response far from zero lose digits (docs/scale.md).
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectStatistics {
    /// The grouping factor's name (`id`) and its random-effect column names
    /// (`(Intercept)`, `time`) in the order of the blocks.
    pub group: String,
    pub z_names: Vec<String>,
    /// The covariance structure of the random effects (lme4's is unstructured).
    pub covariance: CovarianceType,
    /// Fixed-effect column names, in the order of the blocks.
    pub x_names: Vec<String>,
    /// Subject labels, in the order of the per-subject blocks.
    pub subjects: Vec<String>,
    /// Observations per subject (each at least one).
    pub counts: Vec<u64>,
    /// Per subject `Zᵢ'Zᵢ` (`q × q`), `Zᵢ'Xᵢ` (`q × p`), `Zᵢ'(yᵢ − Xᵢγ)` (`q`).
    pub ztz: Vec<f64>,
    pub ztx: Vec<f64>,
    pub zty: Vec<f64>,
    /// `X'X` (`p × p`), `X'(y − Xγ)` (`p`), `(y − Xγ)'(y − Xγ)`, and `1'X` (column sums).
    pub xtx: Vec<f64>,
    pub xty: Vec<f64>,
    pub yty: f64,
    pub x_sums: Vec<f64>,
    /// γ: what was taken out of the response before the sums were formed (length `p`).
    pub gamma: Vec<f64>,
    /// Number of observations (the sum of `counts`).
    pub n: u64,
    /// Rows the producer left out as incomplete, and fixed-effect columns it dropped as
    /// aliased: only reported (as lme4 reports them).
    pub n_dropped: usize,
    pub aliased: Vec<String>,
}

/// What a fit from statistics needs besides the blocks: the number of observations and
/// the sums Nakagawa's R² is formed from ([`crate::inference::r_squared_from_sums`]).
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub n: usize,
    /// `1'X`, `X'X` (row-major `p × p`) and `Σᵢ Zᵢ'Zᵢ` (row-major `q × q`).
    pub x_sums: Vec<f64>,
    pub xtx: Vec<f64>,
    pub ztz: Vec<f64>,
}

/// Refuses a model the statistics cannot describe, naming the rule: one random-effect
/// term, independent residuals, a Gaussian response. Front ends call it before computing
/// anything.
pub fn check_scope(spec: &ModelSpec) -> Result<(), StatisticsError> {
    if spec.residual.is_some() {
        return Err(StatisticsError::OutOfScope {
            rule: "residuals must be independent: a residual structure (ar1, car1, cs, \
                   varident) couples the rows of a subject beyond Z'Z"
                .into(),
        });
    }
    if spec.failures.is_some() {
        return Err(StatisticsError::OutOfScope {
            rule: "the response must be Gaussian: a binomial or Poisson model has no \
                   sufficient statistics of this form"
                .into(),
        });
    }
    match spec.random.as_slice() {
        [term] if term.grouping.len() == 1 => Ok(()),
        [term] => Err(StatisticsError::OutOfScope {
            rule: format!(
                "one grouping factor: `{}` groups by an interaction of {} factors",
                term.group_name(),
                term.grouping.len()
            ),
        }),
        terms => Err(StatisticsError::OutOfScope {
            rule: format!(
                "one random-effect term with one grouping factor: the model has {}",
                terms.len()
            ),
        }),
    }
}

impl SubjectStatistics {
    /// Random effects per subject.
    pub fn q(&self) -> usize {
        self.z_names.len()
    }

    /// Fixed effects.
    pub fn p(&self) -> usize {
        self.x_names.len()
    }

    /// The statistics of an in-memory design, with the response less its least-squares
    /// fit on `X` (γ), formed per observation so that no digits are lost to the response's
    /// location. Refuses a design outside the scope (several random-effect terms, a
    /// residual structure).
    pub fn from_design(design: &Design) -> Result<SubjectStatistics, StatisticsError> {
        let block = match (&design.random[..], &design.residual) {
            ([block], None) => block,
            (_, Some(_)) => {
                return Err(StatisticsError::OutOfScope {
                    rule: "residuals must be independent".into(),
                })
            }
            (terms, None) => {
                return Err(StatisticsError::OutOfScope {
                    rule: format!(
                        "one random-effect term with one grouping factor: the model has {}",
                        terms.len()
                    ),
                })
            }
        };
        let (n, p, q) = (design.n(), design.p(), block.q());
        let levels = block.levels.len();
        let (y, gamma) = crate::fit::residualise(design);
        let x = |j: usize, i: usize| design.x[j * n + i];
        let mut counts = vec![0u64; levels];
        let mut ztz = vec![0.0; levels * q * q];
        let mut ztx = vec![0.0; levels * q * p];
        let mut zty = vec![0.0; levels * q];
        let mut xtx = vec![0.0; p * p];
        let mut xty = vec![0.0; p];
        let mut yty = 0.0;
        let mut x_sums = vec![0.0; p];
        for i in 0..n {
            let l = block.codes[i] as usize;
            counts[l] += 1;
            let z = &block.values[i * q..(i + 1) * q];
            for a in 0..q {
                for b in 0..q {
                    ztz[(l * q + a) * q + b] += z[a] * z[b];
                }
                for j in 0..p {
                    ztx[(l * q + a) * p + j] += z[a] * x(j, i);
                }
                zty[l * q + a] += z[a] * y[i];
            }
            for j in 0..p {
                let xj = x(j, i);
                for k in 0..p {
                    xtx[j * p + k] += xj * x(k, i);
                }
                xty[j] += xj * y[i];
                x_sums[j] += xj;
            }
            yty += y[i] * y[i];
        }
        Ok(SubjectStatistics {
            group: block.group.clone(),
            z_names: block.names.clone(),
            covariance: block.covariance,
            x_names: design.x_names.clone(),
            subjects: block.levels.clone(),
            counts,
            ztz,
            ztx,
            zty,
            xtx,
            xty,
            yty,
            x_sums,
            gamma,
            n: n as u64,
            n_dropped: design.n_dropped,
            aliased: design.aliased.clone(),
        })
    }

    /// Checks shapes, finiteness, symmetry, counts, identifiability (lme4's checks: at least
    /// two subjects, fewer subjects than observations and fewer random effects than
    /// observations) and that no fixed-effect column is aliased (R's `qr` tolerance on
    /// `X'X`).
    pub fn validate(&self) -> Result<(), StatisticsError> {
        let (q, p, m) = (self.q(), self.p(), self.subjects.len());
        let shape = |what: &str, expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(StatisticsError::Shape {
                    what: what.to_string(),
                    expected,
                    found,
                })
            }
        };
        if q == 0 {
            return Err(StatisticsError::NoRandomEffects);
        }
        shape("counts (one per subject)", m, self.counts.len())?;
        shape("ztz (q × q per subject)", m * q * q, self.ztz.len())?;
        shape("ztx (q × p per subject)", m * q * p, self.ztx.len())?;
        shape("zty (q per subject)", m * q, self.zty.len())?;
        shape("xtx (p × p)", p * p, self.xtx.len())?;
        shape("xty (p)", p, self.xty.len())?;
        shape("x_sums (p)", p, self.x_sums.len())?;
        shape("gamma (p)", p, self.gamma.len())?;
        let arrays: [(&str, &[f64]); 8] = [
            ("ztz", &self.ztz[..]),
            ("ztx", &self.ztx[..]),
            ("zty", &self.zty[..]),
            ("xtx", &self.xtx[..]),
            ("xty", &self.xty[..]),
            ("yty", std::slice::from_ref(&self.yty)),
            ("x_sums", &self.x_sums[..]),
            ("gamma", &self.gamma[..]),
        ];
        for (name, values) in arrays {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(StatisticsError::NonFinite {
                    what: name.to_string(),
                    subject: self.subject_of(name, index, q, p),
                    index,
                    value: values[index],
                });
            }
        }
        if let Some(s) = self.counts.iter().position(|&c| c == 0) {
            return Err(StatisticsError::EmptySubject {
                subject: self.subjects[s].clone(),
            });
        }
        let total: u64 = self.counts.iter().sum();
        if total != self.n {
            return Err(StatisticsError::Count { n: self.n, total });
        }
        let symmetric = |values: &[f64], k: usize| -> Option<(usize, usize)> {
            let tolerance = |a: f64, b: f64| 1e-10 * (a.abs() + b.abs()).max(f64::MIN_POSITIVE);
            (0..k)
                .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
                .find(|&(a, b)| {
                    let (u, v) = (values[a * k + b], values[b * k + a]);
                    (u - v).abs() > tolerance(u, v)
                })
        };
        if let Some((a, b)) = symmetric(&self.xtx, p) {
            return Err(StatisticsError::NotSymmetric {
                what: "xtx".into(),
                subject: None,
                row: a,
                column: b,
            });
        }
        for (s, block) in self.ztz.chunks_exact(q * q).enumerate() {
            if let Some((a, b)) = symmetric(block, q) {
                return Err(StatisticsError::NotSymmetric {
                    what: "ztz".into(),
                    subject: Some(self.subjects[s].clone()),
                    row: a,
                    column: b,
                });
            }
        }
        let n = self.n;
        if m < 2 {
            return Err(StatisticsError::Identifiability {
                reason: format!(
                    "the grouping factor `{}` needs at least two levels",
                    self.group
                ),
            });
        }
        if m as u64 >= n {
            return Err(StatisticsError::Identifiability {
                reason: format!(
                    "{m} levels of `{}` for {n} observations: each level needs more than one \
                     observation on average, or the random effects are unidentifiable",
                    self.group
                ),
            });
        }
        if (q * m) as u64 >= n {
            return Err(StatisticsError::Identifiability {
                reason: format!(
                    "{} random effects for {n} observations: the term ({} | {}) needs more \
                     observations",
                    q * m,
                    self.z_names.join(" + "),
                    self.group
                ),
            });
        }
        if let Err(j) = NormalEquations::new(p, |a, b| self.xtx[a * p + b], ALIAS_TOLERANCE) {
            return Err(StatisticsError::Aliased {
                column: self.x_names[j].clone(),
            });
        }
        Ok(())
    }

    /// What a fit reports of the statistics' columns — their names, the subjects, what the
    /// producer dropped — as a [`Design`] without rows, and the sums R² needs. Consumes
    /// the statistics once their blocks are built, so the subjects' labels are not copied.
    pub(crate) fn into_columns(self) -> (Design, Moments) {
        let q = self.q();
        let mut ztz = vec![0.0; q * q];
        for block in self.ztz.chunks_exact(q * q) {
            ztz.iter_mut().zip(block).for_each(|(t, v)| *t += v);
        }
        let moments = Moments {
            n: self.n as usize,
            x_sums: self.x_sums,
            xtx: self.xtx,
            ztz,
        };
        let design = Design {
            y: Vec::new(),
            offset: Vec::new(),
            x: Vec::new(),
            x_names: self.x_names,
            x_origins: Vec::new(),
            random: vec![RandomBlock {
                group: self.group,
                levels: self.subjects,
                codes: Vec::new(),
                names: self.z_names,
                values: Vec::new(),
                covariance: self.covariance,
            }],
            rows: Vec::new(),
            n_dropped: self.n_dropped,
            aliased: self.aliased,
            residual: None,
        };
        (design, moments)
    }

    /// The subject a flat index of a per-subject array belongs to.
    fn subject_of(&self, name: &str, index: usize, q: usize, p: usize) -> Option<String> {
        let per = match name {
            "ztz" => q * q,
            "ztx" => q * p,
            "zty" => q,
            _ => return None,
        };
        self.subjects.get(index / per.max(1)).cloned()
    }
}

/// Fits a linear mixed model from its per-subject statistics: the same optimisation and
/// inference as [`crate::fit()`] of the rows they summarise. The fit has no per-observation
/// outputs — `fitted`, `residuals` and `rows` are empty — as no observation is at hand.
pub fn fit_from_statistics(
    statistics: SubjectStatistics,
    options: &FitOptions,
) -> Result<LmmFit, StatisticsError> {
    statistics.validate()?;
    let problem = crate::fit::Problem::from_statistics(statistics, options.reml);
    crate::fit::fit_problem(problem, options).map_err(StatisticsError::Model)
}

/// The normal equations `X'X γ = X'y` with the columns scaled to unit length (so that the
/// scale of a predictor does not matter), factorised once by Cholesky.
pub(crate) struct NormalEquations {
    p: usize,
    /// 1/‖xⱼ‖ per column.
    scale: Vec<f64>,
    /// Lower Cholesky factor of the scaled `X'X`, row-major.
    l: Vec<f64>,
}

impl NormalEquations {
    /// Factorises the scaled Gram matrix `gram(a, b) = xₐ'x_b`, or returns the first column
    /// whose pivot (its norm, after projecting out the columns before it, relative to its
    /// own) is at most `tolerance`.
    pub(crate) fn new(
        p: usize,
        gram: impl Fn(usize, usize) -> f64,
        tolerance: f64,
    ) -> Result<NormalEquations, usize> {
        let scale: Vec<f64> = (0..p).map(|j| 1.0 / gram(j, j).sqrt()).collect();
        let mut l = vec![0.0; p * p];
        for a in 0..p {
            if !scale[a].is_finite() {
                return Err(a);
            }
            for b in 0..=a {
                let mut v = gram(a, b) * scale[a] * scale[b];
                v -= (0..b).map(|k| l[a * p + k] * l[b * p + k]).sum::<f64>();
                if a == b {
                    if v.is_nan() || v <= 0.0 || v.sqrt() <= tolerance {
                        return Err(a);
                    }
                    l[a * p + a] = v.sqrt();
                } else {
                    l[a * p + b] = v / l[b * p + b];
                }
            }
        }
        Ok(NormalEquations { p, scale, l })
    }

    /// The solution of the normal equations for the right-hand side `X'y`.
    pub(crate) fn solve(&self, xty: &[f64]) -> Vec<f64> {
        let (p, l) = (self.p, &self.l);
        let mut z: Vec<f64> = xty.iter().zip(&self.scale).map(|(v, s)| v * s).collect();
        for r in 0..p {
            z[r] = (z[r] - (0..r).map(|k| l[r * p + k] * z[k]).sum::<f64>()) / l[r * p + r];
        }
        for r in (0..p).rev() {
            z[r] = (z[r] - (r + 1..p).map(|k| l[k * p + r] * z[k]).sum::<f64>()) / l[r * p + r];
        }
        z.iter().zip(&self.scale).map(|(z, s)| z * s).collect()
    }
}
