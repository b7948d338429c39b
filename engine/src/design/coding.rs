//! Model matrices from term lists, coded and named exactly as R's `model.matrix` does.

use super::variables::Values;
use crate::error::ModelError;
use crate::spec::{Term, TermList};

/// Columns of a model matrix with their R names.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub names: Vec<String>,
    /// One vector per column, each of the data's length.
    pub values: Vec<Vec<f64>>,
    /// Which term and levels each column codes (for tests of whole terms).
    pub origins: Vec<ColumnOrigin>,
}

/// Where a model-matrix column comes from: its term (R's `assign`: 0 for the intercept,
/// then 1 + the term's index) and, per variable of the term, the factor level it indicates
/// with the factor's number of levels (`None` for a numeric variable).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnOrigin {
    pub term: usize,
    pub levels: Vec<Level>,
}

/// The level a column indicates and the factor's number of levels; `None` for a number.
pub type Level = Option<(usize, usize)>;

/// How a factor enters a term: by treatment contrasts (levels after the first) or by one
/// indicator per level (when the term's margin without it is absent, R's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Contrasts,
    Indicators,
}

/// Builds the model matrix of a term list. `values(label)` gives each variable's values on
/// the rows in use.
pub fn model_matrix<'a>(
    terms: &TermList,
    n: usize,
    values: &dyn Fn(&str) -> &'a Values,
) -> Result<Columns, ModelError> {
    let codings = term_codings(terms, values);
    check_size(terms, &codings, n, values)?;
    let mut out = Columns::default();
    if terms.intercept {
        out.names.push("(Intercept)".into());
        out.values.push(vec![1.0; n]);
        out.origins.push(ColumnOrigin::default());
    }
    for (ti, (term, codes)) in terms.terms.iter().zip(&codings).enumerate() {
        let mut cols: Vec<(String, Vec<f64>, Vec<Level>)> =
            vec![(String::new(), vec![1.0; n], Vec::new())];
        for (var, coding) in term.variables.iter().zip(codes) {
            let parts = variable_columns(&var.label, values(&var.label), *coding)?;
            // R lets the first variable of a term vary fastest.
            let mut next = Vec::with_capacity(cols.len() * parts.len());
            for (pname, pvals, plevel) in &parts {
                for (cname, cvals, clevels) in &cols {
                    let name = if cname.is_empty() {
                        pname.clone()
                    } else {
                        format!("{cname}:{pname}")
                    };
                    let mut levels = clevels.clone();
                    levels.push(*plevel);
                    next.push((
                        name,
                        cvals.iter().zip(pvals).map(|(a, b)| a * b).collect(),
                        levels,
                    ));
                }
            }
            cols = next;
        }
        for (name, vals, levels) in cols {
            out.names.push(name);
            out.values.push(vals);
            out.origins.push(ColumnOrigin {
                term: ti + 1,
                levels,
            });
        }
    }
    Ok(out)
}

/// Refuses, before anything is allocated, a model matrix larger than
/// [`super::MAX_DENSE_BYTES`]: a factor with very many levels (an identifier used as a
/// predictor) would otherwise exhaust memory building `n × p` dense columns.
fn check_size<'a>(
    terms: &TermList,
    codings: &[Vec<Coding>],
    n: usize,
    values: &dyn Fn(&str) -> &'a Values,
) -> Result<(), ModelError> {
    let term_columns = |term: &Term, codes: &[Coding]| -> u128 {
        term.variables
            .iter()
            .zip(codes)
            .map(|(var, coding)| match (values(&var.label), coding) {
                (Values::Numeric(_), _) => 1,
                (Values::Matrix { columns, .. }, _) => columns.len() as u128,
                (Values::Factor(f), Coding::Indicators) => f.levels.len() as u128,
                (Values::Factor(f), Coding::Contrasts) => f.levels.len().saturating_sub(1) as u128,
            })
            .fold(1u128, u128::saturating_mul)
    };
    let per_term: Vec<u128> = terms
        .terms
        .iter()
        .zip(codings)
        .map(|(t, c)| term_columns(t, c))
        .collect();
    let p = per_term
        .iter()
        .fold(u128::from(terms.intercept), |a, &b| a.saturating_add(b));
    let bytes = p.saturating_mul(n as u128).saturating_mul(8);
    if bytes <= super::MAX_DENSE_BYTES {
        return Ok(());
    }
    let widest = terms
        .terms
        .iter()
        .zip(&per_term)
        .max_by_key(|(_, &c)| c)
        .map(|(t, c)| format!("; `{}` alone has {c}", t.label()))
        .unwrap_or_default();
    Err(ModelError::TooLarge {
        what: format!("a dense model matrix of {p} columns for {n} rows"),
        needed: super::format_bytes(bytes),
        limit: super::format_bytes(super::MAX_DENSE_BYTES),
        help: format!(
            "each level of a factor used as a predictor is a column{widest}; an identifier \
             belongs in a random-effect term such as `(1 | id)`"
        ),
    })
}

/// The columns one variable contributes to a term, with the level each indicates.
fn variable_columns(
    label: &str,
    values: &Values,
    coding: Coding,
) -> Result<Vec<(String, Vec<f64>, Level)>, ModelError> {
    match values {
        Values::Numeric(v) => Ok(vec![(label.to_string(), v.clone(), None)]),
        // A matrix variable's columns are named by its label and their suffixes.
        Values::Matrix { columns, suffixes } => Ok(columns
            .iter()
            .zip(suffixes)
            .map(|(c, s)| (format!("{label}{s}"), c.clone(), None))
            .collect()),
        Values::Factor(f) => {
            let skip = match coding {
                Coding::Contrasts => 1,
                Coding::Indicators => 0,
            };
            if coding == Coding::Contrasts && f.levels.len() < 2 {
                return Err(ModelError::SingleLevelFactor {
                    variable: label.to_string(),
                    level: f.levels.first().cloned().unwrap_or_default(),
                });
            }
            Ok((skip..f.levels.len())
                .map(|l| {
                    let ind = f
                        .codes
                        .iter()
                        .map(|&c| f64::from(u8::from(c as usize == l)))
                        .collect();
                    (
                        format!("{label}{}", f.levels[l]),
                        ind,
                        Some((l, f.levels.len())),
                    )
                })
                .collect())
        }
    }
}

/// R's `TermCode` rule, per term and variable: a factor is coded by contrasts when the term
/// without it is empty or contained in a preceding term, by indicators otherwise; without an
/// intercept, the first factor of the first term holding one is coded by indicators.
fn term_codings<'a>(terms: &TermList, values: &dyn Fn(&str) -> &'a Values) -> Vec<Vec<Coding>> {
    let labels = |t: &Term| {
        t.variables
            .iter()
            .map(|v| v.label.clone())
            .collect::<Vec<_>>()
    };
    let sets: Vec<Vec<String>> = terms.terms.iter().map(labels).collect();
    let mut codings: Vec<Vec<Coding>> = sets
        .iter()
        .enumerate()
        .map(|(ti, set)| {
            set.iter()
                .map(|drop| {
                    let rest: Vec<&String> = set.iter().filter(|v| *v != drop).collect();
                    let contained = rest.is_empty()
                        || sets[..ti]
                            .iter()
                            .any(|prev| rest.iter().all(|v| prev.contains(v)));
                    if contained {
                        Coding::Contrasts
                    } else {
                        Coding::Indicators
                    }
                })
                .collect()
        })
        .collect();
    if !terms.intercept {
        let is_factor = |label: &str| matches!(values(label), Values::Factor(_));
        'find: for (ti, term) in terms.terms.iter().enumerate() {
            for (vi, var) in term.variables.iter().enumerate() {
                if is_factor(&var.label) {
                    codings[ti][vi] = Coding::Indicators;
                    break 'find;
                }
            }
        }
    }
    codings
}
