//! Type III F-tests of whole model terms with Satterthwaite's denominator degrees of
//! freedom, as lmerTest's `anova(fit)` (`contestMD`; Kuznetsova et al. 2017), or with
//! Kenward–Roger's (`anova(fit, ddf = "Kenward-Roger")`, pbkrtest's `KRmodcomp`).
//!
//! The hypothesis of a term is that its effect, averaged with equal weights over the levels
//! of every factor it interacts with in higher-order terms (and with numeric variables of
//! those terms at zero), vanishes. For treatment-coded models with all marginal terms present
//! this is the hypothesis lmerTest's `get_contrasts_type3` tests: its contrasts, orthogonal to
//! the terms containing the term, span the same rows. A term interacting with a factor whose
//! main effect is absent (indicator-coded) is tested on its own coefficients, where lmerTest
//! may test another hypothesis.
//!
//! For `L` of rank `q`: with `L Var(β̂) Lᵀ = Σ_m d_m v_m v_mᵀ`, `F = Σ_m (v_mᵀLβ̂)²/d_m / q`,
//! each `v_mᵀL` a one-df contrast with Satterthwaite's `ν_m`, and the denominator df
//! `2E/(E − q)` with `E = Σ_m ν_m/(ν_m − 2)` (2 if any `ν_m ≤ 2`).

use super::distributions::f_upper_tail;
use super::kenward_roger::KenwardRoger;
use super::satterthwaite::Satterthwaite;
use crate::design::{ColumnOrigin, Design};
use crate::error::ModelError;
use crate::fit::{LmmFit, Problem};
use crate::spec::TermList;
use serde::Serialize;

/// Eigenvalues of `L Var(β̂) Lᵀ` below this fraction of the largest count as zero
/// (lmerTest's `sqrt(.Machine$double.eps)`).
const RANK_TOLERANCE: f64 = 1.4901161193847656e-8;

/// One row of the ANOVA table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FTest {
    pub term: String,
    pub num_df: usize,
    pub den_df: f64,
    #[serde(rename = "F")]
    pub f: f64,
    pub p: f64,
}

/// The Type III table of the fixed-effect `terms` of `fit` (the term list `design` was built
/// from), one row per term with columns in `X`.
pub fn anova(design: &Design, terms: &TermList, fit: &LmmFit) -> Result<Vec<FTest>, ModelError> {
    let computed;
    let satterthwaite = match &fit.satterthwaite {
        Some(s) => s,
        None => {
            let mut params = fit.theta.clone();
            if let Some(r) = &fit.residual_structure {
                params.extend(&r.values);
            }
            let mut problem = Problem::new(design.clone(), fit.reml)?;
            computed = Satterthwaite::new(&mut problem, &params, fit.sigma);
            &computed
        }
    };
    Ok(type3_tests(design, terms, |term, l, rows| {
        satterthwaite.f_test(term, l, rows, &fit.beta)
    }))
}

/// The same table with Kenward–Roger's F-tests (lmerTest's
/// `anova(fit, ddf = "Kenward-Roger")`), from the adjustment `kr` of the REML fit `fit`.
pub fn anova_kenward_roger(
    design: &Design,
    terms: &TermList,
    fit: &LmmFit,
    kr: &KenwardRoger,
) -> Vec<FTest> {
    type3_tests(design, terms, |term, l, rows| {
        kr.f_test(term, l, rows, &fit.beta)
    })
}

/// One `test` (term label, row-major contrasts, rows) per term with columns in `X`.
fn type3_tests(
    design: &Design,
    terms: &TermList,
    test: impl Fn(&str, &[f64], usize) -> FTest,
) -> Vec<FTest> {
    let p = design.p();
    terms
        .terms
        .iter()
        .enumerate()
        .filter_map(|(ti, term)| {
            let l = type3_contrasts(design, terms, ti + 1);
            (!l.is_empty()).then(|| test(&term.label(), &l, l.len() / p))
        })
        .collect()
}

/// The Type III contrast rows (row-major, `p` columns) of term `assign` (1-based, as R's
/// `assign`): one per column of the term, that column plus the equal-weight average of the
/// columns of containing terms that extend it by factor levels.
fn type3_contrasts(design: &Design, terms: &TermList, assign: usize) -> Vec<f64> {
    let p = design.p();
    let labels = |t: usize| -> Vec<String> {
        terms.terms[t - 1]
            .variables
            .iter()
            .map(|v| v.label.clone())
            .collect()
    };
    let own = labels(assign);
    let mut rows = Vec::new();
    for (c, origin) in design.x_origins.iter().enumerate() {
        if origin.term != assign {
            continue;
        }
        let mut row = vec![0.0; p];
        row[c] = 1.0;
        for (c2, other) in design.x_origins.iter().enumerate() {
            if other.term == 0 || other.term == assign {
                continue;
            }
            if let Some(weight) = extension_weight(&own, origin, &labels(other.term), other) {
                row[c2] = weight;
            }
        }
        rows.extend(row);
    }
    rows
}

/// When column `other` (of a term with variables `other_labels`) is column `origin` (of a
/// term with variables `own`) at some levels of further factors only: `1/Π(levels)` of those
/// factors, the weight of that cell in an equal-weight average.
fn extension_weight(
    own: &[String],
    origin: &ColumnOrigin,
    other_labels: &[String],
    other: &ColumnOrigin,
) -> Option<f64> {
    if other_labels.len() <= own.len() || !own.iter().all(|v| other_labels.contains(v)) {
        return None;
    }
    let mut weight = 1.0;
    for (label, level) in other_labels.iter().zip(&other.levels) {
        match own.iter().position(|v| v == label) {
            Some(i) if origin.levels[i] == *level => {}
            Some(_) => return None,
            None => weight /= level.map(|(_, n)| n as f64)?,
        }
    }
    Some(weight)
}

impl Satterthwaite {
    /// The F-test that `Lβ = 0` for `L` (row-major, `rows` × p) with Satterthwaite's
    /// denominator df by lmerTest's eigen-decomposition (`contestMD`).
    pub fn f_test(&self, term: &str, l: &[f64], rows: usize, beta: &[f64]) -> FTest {
        let p = beta.len();
        let covariance = faer::Mat::<f64>::from_fn(rows, rows, |a, b| {
            let (la, lb) = (&l[a * p..(a + 1) * p], &l[b * p..(b + 1) * p]);
            (0..p)
                .map(|i| {
                    la[i]
                        * (0..p)
                            .map(|j| self.vcov_beta[i * p + j] * lb[j])
                            .sum::<f64>()
                })
                .sum::<f64>()
        });
        let nan = FTest {
            term: term.to_string(),
            num_df: 0,
            den_df: f64::NAN,
            f: f64::NAN,
            p: f64::NAN,
        };
        let Ok(evd) = covariance.self_adjoint_eigen(faer::Side::Lower) else {
            return nan;
        };
        let (u, s) = (evd.U(), evd.S().column_vector());
        let largest = (0..rows).map(|m| s[m]).fold(0.0, f64::max);
        let directions: Vec<usize> = (0..rows)
            .filter(|&m| s[m] > RANK_TOLERANCE * largest)
            .collect();
        let q = directions.len();
        if q == 0 {
            return nan;
        }
        let mut f = 0.0;
        let mut nu = Vec::with_capacity(q);
        for &m in &directions {
            let contrast: Vec<f64> = (0..p)
                .map(|j| (0..rows).map(|r| u[(r, m)] * l[r * p + j]).sum())
                .collect();
            let (var, df) = self.contrast(&contrast);
            let estimate: f64 = contrast.iter().zip(beta).map(|(a, b)| a * b).sum();
            f += estimate * estimate / var;
            nu.push(df);
        }
        f /= q as f64;
        let den_df = f_statistic_ddf(&nu);
        FTest {
            term: term.to_string(),
            num_df: q,
            den_df,
            f,
            p: f_upper_tail(f, q as f64, den_df),
        }
    }
}

/// lmerTest's `get_Fstat_ddf`: the df of a mean of `q` squared t-statistics with df `ν_m`,
/// by matching the mean of the F distribution.
fn f_statistic_ddf(nu: &[f64]) -> f64 {
    let q = nu.len() as f64;
    if nu.len() == 1 {
        return nu[0];
    }
    if nu.windows(2).all(|w| (w[1] - w[0]).abs() < 1e-8) {
        return nu.iter().sum::<f64>() / q;
    }
    if nu.iter().any(|&v| v <= 2.0) {
        return 2.0;
    }
    let e: f64 = nu.iter().map(|v| v / (v - 2.0)).sum();
    2.0 * e / (e - q)
}
