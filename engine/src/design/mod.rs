//! From a formula and a data set to model matrices: the response, the fixed-effects matrix
//! `X` and one block per random-effect term, on the complete cases only.

mod coding;
mod grouping;
mod rank;
mod variables;

pub use coding::ColumnOrigin;
pub use variables::{lookup, mean_and_sd, Values};

use crate::data::DataFrame;
use crate::error::ModelError;
use crate::spec::{CovarianceType, ModelSpec, RandomTerm, ResidualSpec, Variable};
use std::collections::HashMap;

/// One random-effect term on the rows in use.
#[derive(Debug, Clone)]
pub struct RandomBlock {
    /// The grouping factor's name as lme4 prints it (`Subject`, `cask:batch`).
    pub group: String,
    pub levels: Vec<String>,
    /// Per observation, its level.
    pub codes: Vec<u32>,
    /// The term's model-matrix column names (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// Row-major `n × q`: the term's model-matrix row for each observation.
    pub values: Vec<f64>,
    pub covariance: CovarianceType,
}

impl RandomBlock {
    /// Random effects per level.
    pub fn q(&self) -> usize {
        self.names.len()
    }
}

/// Everything the fitting code needs, and nothing about where it came from.
#[derive(Debug, Clone)]
pub struct Design {
    /// Response minus offsets.
    pub y: Vec<f64>,
    /// Sum of offsets per observation (zeros without offsets).
    pub offset: Vec<f64>,
    /// Column-major `n × p` fixed-effects matrix, aliased columns removed.
    pub x: Vec<f64>,
    pub x_names: Vec<String>,
    /// The term and levels behind each column of `X`.
    pub x_origins: Vec<ColumnOrigin>,
    /// Random-effect terms in lme4's order: by decreasing number of levels.
    pub random: Vec<RandomBlock>,
    /// Rows of the data set used, in order.
    pub rows: Vec<usize>,
    /// Rows dropped for a missing value of a model variable.
    pub n_dropped: usize,
    /// Fixed-effect columns dropped as linearly dependent on earlier ones.
    pub aliased: Vec<String>,
    /// The residual structure's columns on the rows in use, when the model has one.
    pub residual: Option<ResidualColumns>,
}

/// What a residual structure reads, on the rows in use.
#[derive(Debug, Clone)]
pub struct ResidualColumns {
    pub spec: ResidualSpec,
    /// Residual group (or variance level) of each row, and the level names.
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
    /// Time of each row, for continuous-time AR(1).
    pub times: Option<Vec<f64>>,
}

impl Design {
    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn p(&self) -> usize {
        self.x_names.len()
    }

    /// Builds the design, checking the data against the model as lme4 does before a fit.
    pub fn build(spec: &ModelSpec, data: &DataFrame) -> Result<Design, ModelError> {
        Design::build_with_basis(spec, data, data.n_rows())
    }

    /// [`Design::build`] for rows that follow a fit's: functions of whole columns (`scale()`,
    /// `poly()`) take their parameters from the first `basis` rows only, so rows appended
    /// after the fit's are predicted with the fit's columns rather than changing them.
    pub fn build_with_basis(
        spec: &ModelSpec,
        data: &DataFrame,
        basis: usize,
    ) -> Result<Design, ModelError> {
        if let Some(failures) = &spec.failures {
            return Err(ModelError::CbindWithoutBinomial {
                response: spec.response.label.clone(),
                failures: failures.label.clone(),
            });
        }
        Self::build_for(spec, data, basis, false).map(|(design, _)| design)
    }

    /// Builds the design of a generalized linear mixed model: the response may be a
    /// two-level factor or `cbind(successes, failures)` (see [`GlmResponse`]), and lme4's
    /// checks that only make sense with a residual variance (fewer levels than observations,
    /// fewer random effects than observations) are left out, as `glmer` leaves them out, so
    /// that observation-level random effects can model overdispersion.
    pub fn build_glmm(
        spec: &ModelSpec,
        data: &DataFrame,
    ) -> Result<(Design, GlmResponse), ModelError> {
        Self::build_glmm_with_basis(spec, data, data.n_rows())
    }

    /// [`Design::build_glmm`] for rows that follow a fit's, as [`Design::build_with_basis`]:
    /// predictions of a generalized model on the fit's own `scale()` and `poly()` columns.
    pub fn build_glmm_with_basis(
        spec: &ModelSpec,
        data: &DataFrame,
        basis: usize,
    ) -> Result<(Design, GlmResponse), ModelError> {
        Self::build_for(spec, data, basis, true)
    }

    fn build_for(
        spec: &ModelSpec,
        data: &DataFrame,
        basis: usize,
        glmm: bool,
    ) -> Result<(Design, GlmResponse), ModelError> {
        // Without random effects only a residual structure makes it a model we fit (gls).
        if spec.random.is_empty() && spec.residual.is_none() {
            return Err(ModelError::NoRandomEffects);
        }
        // Every variable once, by label; grouping columns are variables too.
        let mut vars: Vec<Variable> = vec![spec.response.clone()];
        vars.extend(spec.failures.iter().cloned());
        let term_lists = std::iter::once(&spec.fixed).chain(spec.random.iter().map(|r| &r.terms));
        for tl in term_lists {
            for t in &tl.terms {
                vars.extend(t.variables.iter().cloned());
            }
        }
        for r in &spec.random {
            vars.extend(r.grouping.iter().map(|g| Variable::column(g)));
        }
        if let Some(res) = &spec.residual {
            vars.extend(res.columns().into_iter().map(Variable::column));
        }
        let mut labels: Vec<String> = Vec::new();
        let mut full: Vec<Values> = Vec::new();
        for v in &vars {
            if !labels.contains(&v.label) {
                full.push(variables::evaluate(data, v, basis)?);
                labels.push(v.label.clone());
            }
        }
        let response_values = &full[0];
        if let Values::Matrix { .. } = response_values {
            return Err(ModelError::WholeVariableInExpression {
                function: "poly".into(),
                label: spec.response.label.clone(),
            });
        }
        let two_level = |f: &crate::data::Factor| f.levels.len() == 2;
        if let (true, Values::Factor(f)) = (glmm, response_values) {
            if !two_level(f) {
                return Err(ModelError::FactorResponseLevels {
                    name: spec.response.label.clone(),
                    levels: f.levels.clone(),
                });
            }
        } else if let Values::Factor(f) = response_values {
            // Name the first cell that is not a number (the column may mix both).
            let label = |r: usize| f.levels.get(f.codes[r] as usize).map(String::as_str);
            let row = (0..data.n_rows())
                .find(|&r| label(r).is_some_and(|l| crate::data::parse_r_number(l).is_none()))
                .unwrap_or(0);
            return Err(ModelError::NonNumericResponse {
                name: spec.response.label.clone(),
                source_name: data.source().to_string(),
                line: data.line_of(row),
                value: label(row).unwrap_or_default().to_string(),
            });
        }
        let offsets: Vec<Vec<f64>> = spec
            .offsets
            .iter()
            .map(|e| variables::numeric(data, e, "offset()", basis))
            .collect::<Result<_, _>>()?;

        let rows: Vec<usize> = (0..data.n_rows())
            .filter(|&r| {
                full.iter().all(|v| !v.is_missing(r)) && offsets.iter().all(|o| !o[r].is_nan())
            })
            .collect();
        let n = rows.len();
        if n == 0 {
            return Err(ModelError::NoObservations {
                n_rows: data.n_rows(),
            });
        }
        check_finite(spec, data, &rows, &labels, &full, &offsets)?;
        let used: HashMap<&str, Values> = labels
            .iter()
            .map(String::as_str)
            .zip(full.iter().map(|v| v.subset(&rows)))
            .collect();
        let values = |label: &str| &used[label];

        // A two-level factor response is 0 for its first level and 1 for its second (R's
        // binomial family).
        let (y_raw, response_levels) = match values(&spec.response.label) {
            Values::Numeric(v) => (v.clone(), None),
            Values::Factor(f) => (
                f.codes.iter().map(|&c| f64::from(c)).collect(),
                Some(f.levels.clone()),
            ),
            Values::Matrix { .. } => unreachable!("a matrix response is refused above"),
        };
        let failures = match spec.failures.as_ref().map(|v| values(&v.label)) {
            None => None,
            Some(Values::Numeric(v)) => Some(v.clone()),
            Some(Values::Factor(_) | Values::Matrix { .. }) => {
                return Err(ModelError::FactorInExpression {
                    variable: spec
                        .failures
                        .as_ref()
                        .map(|v| v.label.clone())
                        .unwrap_or_default(),
                    label: spec.response.label.clone(),
                })
            }
        };
        let offset: Vec<f64> = rows
            .iter()
            .map(|&r| offsets.iter().map(|o| o[r]).sum::<f64>())
            .collect();
        let y: Vec<f64> = y_raw.iter().zip(&offset).map(|(a, o)| a - o).collect();

        let fixed = coding::model_matrix(&spec.fixed, n, &values)?;
        let keep = rank::independent_columns(&fixed.values);
        let aliased: Vec<String> = (0..fixed.names.len())
            .filter(|j| !keep.contains(j))
            .map(|j| fixed.names[j].clone())
            .collect();
        let x_names: Vec<String> = keep.iter().map(|&j| fixed.names[j].clone()).collect();
        let x_origins = keep.iter().map(|&j| fixed.origins[j].clone()).collect();
        let x: Vec<f64> = keep
            .iter()
            .flat_map(|&j| fixed.values[j].iter().copied())
            .collect();

        let mut random = spec
            .random
            .iter()
            .map(|term| random_block(term, n, &values))
            .collect::<Result<Vec<_>, _>>()?;
        order_terms(&mut random);
        check_identifiable(&random, n, glmm)?;
        check_dense_block(&random, x_names.len())?;

        let residual = spec.residual.as_ref().map(|res| {
            let (group, time) = match res {
                ResidualSpec::Car1 { time, group } => (group, Some(time)),
                ResidualSpec::Ar1 { group } | ResidualSpec::CompoundSymmetry { group } => {
                    (group, None)
                }
                ResidualSpec::VarIdent { factor } => (factor, None),
            };
            let factor = grouping::interaction(&[values(group)]);
            if let ResidualSpec::VarIdent { factor: name } = res {
                let parameters = factor.levels.len().saturating_sub(1);
                if parameters > MAX_VARIANCE_PARAMETERS {
                    return Err(ModelError::TooManyVarianceLevels {
                        factor: name.clone(),
                        parameters,
                        max: MAX_VARIANCE_PARAMETERS,
                    });
                }
            }
            let times = time.map(|t| match values(t) {
                Values::Numeric(v) => Ok(v.clone()),
                Values::Factor(_) | Values::Matrix { .. } => Err(ModelError::FactorInExpression {
                    variable: t.clone(),
                    label: res.describe(),
                }),
            });
            Ok::<_, ModelError>(ResidualColumns {
                spec: res.clone(),
                codes: factor.codes,
                levels: factor.levels,
                times: times.transpose()?,
            })
        });
        let response = GlmResponse {
            name: spec.response.label.clone(),
            source_name: data.source().to_string(),
            lines: rows.iter().map(|&r| data.line_of(r)).collect(),
            counts: y_raw,
            failures,
            levels: response_levels,
        };
        let design = Design {
            residual: residual.transpose()?,
            y,
            offset,
            x,
            x_names,
            x_origins,
            random,
            rows,
            n_dropped: data.n_rows() - n,
            aliased,
        };
        Ok((design, response))
    }
}

/// The names and origins of the model-matrix columns of `terms`, without data: `kind(label)`
/// gives each variable as `Values` with no rows — `Numeric(vec![])`, or a `Factor` with
/// its levels (in R's order) and no codes. A front end that forms the cross-products
/// elsewhere (a query engine) compiles each column from its origin, and gets R's coding
/// and names from the same rules as [`Design::build`].
pub fn column_layout<'a>(
    terms: &crate::spec::TermList,
    kind: &dyn Fn(&str) -> &'a Values,
) -> Result<(Vec<String>, Vec<ColumnOrigin>), ModelError> {
    let columns = coding::model_matrix(terms, 0, kind)?;
    Ok((columns.names, columns.origins))
}

/// Refuses an infinite value of a variable used as a number (the response, a term's
/// numeric variable, an offset, a CAR(1) time) on the rows in use, naming the first, and
/// a bare column that is numbers but for a few text cells
/// ([`check_not_mostly_numbers`]).
///
/// NaN marks a value missing (as R's `na.omit`), but ±Inf is a number no fit can use: left
/// in, it turned its column into NaN and the column was dropped as aliased. lme4 refuses
/// too. This is the one place every numeric input passes — cells, expressions such as
/// `log(0)` or `I(1/x)`, and columns derived by a spec or a plugin — so it is checked here.
fn check_finite(
    spec: &ModelSpec,
    data: &DataFrame,
    rows: &[usize],
    labels: &[String],
    full: &[Values],
    offsets: &[Vec<f64>],
) -> Result<(), ModelError> {
    let infinite = |v: &[f64]| rows.iter().copied().find(|&r| v[r].is_infinite());
    let refuse = |variable: String, v: &[f64], r: usize| ModelError::NonFinite {
        variable,
        source_name: data.source().to_string(),
        line: data.line_of(r),
        value: v[r],
    };
    // Grouping and varident factors are labels, even when read from numbers.
    let mut numeric: Vec<&str> = vec![spec.response.label.as_str()];
    let term_lists = std::iter::once(&spec.fixed).chain(spec.random.iter().map(|r| &r.terms));
    for tl in term_lists {
        numeric.extend(
            tl.terms
                .iter()
                .flat_map(|t| t.variables.iter().map(|v| v.label.as_str())),
        );
    }
    if let Some(ResidualSpec::Car1 { time, .. }) = &spec.residual {
        numeric.push(time);
    }
    for (label, values) in labels.iter().zip(full) {
        if !numeric.contains(&label.as_str()) {
            continue;
        }
        match values {
            Values::Numeric(v) => {
                if let Some(r) = infinite(v) {
                    return Err(refuse(label.clone(), v, r));
                }
            }
            Values::Factor(f) if data.column(label).is_some() => {
                check_not_mostly_numbers(label, f, data, rows)?
            }
            _ => {}
        }
    }
    for (k, o) in offsets.iter().enumerate() {
        if let Some(r) = infinite(o) {
            return Err(refuse(format!("offset number {}", k + 1), o, r));
        }
    }
    Ok(())
}

/// Refuses a column read as a factor because a minority of its cells are not numbers (`.`
/// or `n/a` for a missing value, `7,5` with a decimal comma): most of its rows in use hold
/// numbers, and the fit would silently have turned a covariate such as `Days` into a factor
/// with a coefficient per distinct value. `factor(x)` in the formula says a factor is meant.
fn check_not_mostly_numbers(
    label: &str,
    f: &crate::data::Factor,
    data: &DataFrame,
    rows: &[usize],
) -> Result<(), ModelError> {
    let is_number: Vec<bool> = f
        .levels
        .iter()
        .map(|l| crate::data::parse_r_number(l).is_some())
        .collect();
    // One pass: how many rows in use hold a number, and the first that holds text.
    let (mut numbers, mut text) = (0, None);
    for &r in rows {
        match f.codes[r] {
            crate::data::NA_CODE => {}
            c if is_number[c as usize] => numbers += 1,
            _ => text = text.or(Some(r)),
        }
    }
    match text {
        Some(r) if 2 * numbers > rows.len() => Err(ModelError::NumbersWithText {
            variable: label.to_string(),
            source_name: data.source().to_string(),
            line: data.line_of(r),
            value: f.levels[f.codes[r] as usize].clone(),
            levels: f.levels.len(),
        }),
        _ => Ok(()),
    }
}

/// lme4's term order (`mkReTrms`, 1.1-31): only when some term has more levels than the term
/// before it are the terms reordered, by `rev(order(nl))` — decreasing numbers of levels, and
/// terms with equal numbers in the reverse of their formula order. Already non-increasing
/// terms keep their order, ties included. θ follows this order.
fn order_terms(random: &mut [RandomBlock]) {
    if random
        .windows(2)
        .any(|w| w[1].levels.len() > w[0].levels.len())
    {
        random.sort_by_key(|b| b.levels.len());
        random.reverse();
    }
}

/// The response of a generalized linear mixed model on the rows in use, before offsets.
#[derive(Debug, Clone)]
pub struct GlmResponse {
    /// The response's label and the data set's name, and each row's source line: for
    /// errors that point at the cell.
    pub name: String,
    pub source_name: String,
    pub lines: Vec<u64>,
    /// The response (successes, for `cbind()`; 0/1 for a two-level factor).
    pub counts: Vec<f64>,
    /// `cbind(successes, failures)`'s second column.
    pub failures: Option<Vec<f64>>,
    /// A factor response's two levels: the first is failure (0), as in R.
    pub levels: Option<Vec<String>>,
}

fn random_block<'a>(
    term: &RandomTerm,
    n: usize,
    values: &dyn Fn(&str) -> &'a Values,
) -> Result<RandomBlock, ModelError> {
    let parts: Vec<&Values> = term.grouping.iter().map(|g| values(g)).collect();
    let factor = grouping::interaction(&parts);
    let cols = coding::model_matrix(&term.terms, n, values)?;
    let q = cols.names.len();
    let mut flat = vec![0.0; n * q];
    for (j, col) in cols.values.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            flat[i * q + j] = *v;
        }
    }
    Ok(RandomBlock {
        group: term.group_name(),
        levels: factor.levels,
        codes: factor.codes,
        names: cols.names,
        values: flat,
        covariance: term.covariance,
    })
}

/// The most variance ratios a `varident` structure may estimate (levels after the first).
/// Each is a parameter of the derivative-free search, whose cost grows about with the cube
/// of their number: 89 took over a minute on 180 rows. A factor with more levels is
/// almost always a continuous variable read as labels.
pub const MAX_VARIANCE_PARAMETERS: usize = 30;

/// The largest dense matrix a model may need, in bytes (2 GiB): the fixed-effects matrix
/// `X` (`n × p`), or the dense block of the factorisation (`d × d`, `d` = the random effects
/// beyond the first term's, plus `p + 1`). Past it a fit would exhaust the memory of most
/// machines; it is refused before anything is allocated.
pub const MAX_DENSE_BYTES: u128 = 2 << 30;

/// `bytes` in binary units, for messages.
pub fn format_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Refuses a model whose dense block (see [`MAX_DENSE_BYTES`]) would be too large: a second
/// grouping factor with very many levels.
fn check_dense_block(random: &[RandomBlock], p: usize) -> Result<(), ModelError> {
    let rest: u128 = random
        .iter()
        .skip(1)
        .map(|b| (b.q() * b.levels.len()) as u128)
        .sum();
    let d = rest + p as u128 + 1;
    let bytes = d * d * 8;
    if bytes <= MAX_DENSE_BYTES {
        return Ok(());
    }
    Err(ModelError::TooLarge {
        what: format!(
            "the factorisation's dense block ({d} × {d}: the random effects of every term after \
             the first, with the fixed effects)"
        ),
        needed: format_bytes(bytes),
        limit: format_bytes(MAX_DENSE_BYTES),
        help: "mixspec keeps the term with most levels sparse and the others dense; a second \
               grouping factor with this many levels is beyond it"
            .into(),
    })
}

/// lme4's pre-fit checks: at least two levels, and (linear models only) fewer levels than
/// observations and fewer random effects per term than observations.
fn check_identifiable(random: &[RandomBlock], n: usize, glmm: bool) -> Result<(), ModelError> {
    for b in random {
        if b.levels.len() < 2 {
            return Err(ModelError::OneLevelGroup {
                group: b.group.clone(),
                level: b.levels.first().cloned().unwrap_or_default(),
            });
        }
        if glmm {
            continue;
        }
        if b.levels.len() >= n {
            return Err(ModelError::TooManyLevels {
                group: b.group.clone(),
                levels: b.levels.len(),
                n_obs: n,
            });
        }
        let n_random = b.q() * b.levels.len();
        if n_random >= n {
            return Err(ModelError::TooManyRandomEffects {
                n_obs: n,
                n_random,
                term: format!("{} | {}", b.names.join(" + "), b.group),
            });
        }
    }
    Ok(())
}
