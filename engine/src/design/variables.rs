//! Evaluating a model's variables on a data set.

use crate::data::{Column, DataFrame, Factor};
use crate::error::ModelError;
use crate::spec::{BinaryOp, Expr, Function, Variable};

/// A variable's values on the data: numbers (NaN = missing), a factor, or several numeric
/// columns (`poly()`), each named by the suffix R appends to the variable's label.
#[derive(Debug, Clone)]
pub enum Values {
    Numeric(Vec<f64>),
    Factor(Factor),
    Matrix {
        columns: Vec<Vec<f64>>,
        suffixes: Vec<String>,
    },
}

impl Values {
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Values::Numeric(v) => v[row].is_nan(),
            Values::Factor(f) => f.is_missing(row),
            Values::Matrix { columns, .. } => columns.iter().any(|c| c[row].is_nan()),
        }
    }

    pub fn subset(&self, rows: &[usize]) -> Values {
        let pick = |v: &[f64]| rows.iter().map(|&r| v[r]).collect();
        match self {
            Values::Numeric(v) => Values::Numeric(pick(v)),
            Values::Factor(f) => Values::Factor(f.subset(rows)),
            Values::Matrix { columns, suffixes } => Values::Matrix {
                columns: columns.iter().map(|c| pick(c)).collect(),
                suffixes: suffixes.clone(),
            },
        }
    }
}

/// Looks a column up, or explains which columns exist and which one was probably meant.
pub fn lookup<'a>(data: &'a DataFrame, name: &str) -> Result<&'a Column, ModelError> {
    data.column(name).ok_or_else(|| {
        let suggestion = data
            .names()
            .iter()
            .map(|n| {
                (
                    strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase()),
                    n,
                )
            })
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        ModelError::UnknownColumn {
            name: name.to_string(),
            source_name: data.source().to_string(),
            help: format!("{suggestion}the columns are: {}", data.names().join(", ")),
        }
    })
}

/// Evaluates a variable: a bare column keeps its type, `factor()` makes a factor, `poly()`
/// several columns, any other expression one numeric column.
///
/// Functions of the whole column (`scale()`, `poly()`) take their parameters from the first
/// `basis` rows, as R's `predict()` reuses those of the fit (its `predvars`): the fit's rows
/// come first and rows appended after them are evaluated, not fitted.
pub fn evaluate(data: &DataFrame, var: &Variable, basis: usize) -> Result<Values, ModelError> {
    let label = &var.label;
    match &var.expr {
        Expr::Column(name) => Ok(match lookup(data, name)? {
            Column::Numeric(v) => Values::Numeric(v.clone()),
            Column::Factor(f) => Values::Factor(f.clone()),
        }),
        Expr::Factor(arg) => Ok(Values::Factor(match arg.as_column() {
            Some(name) => lookup(data, name)?.to_factor(),
            None => Factor::from_numbers(&numeric(data, arg, label, basis)?),
        })),
        Expr::Poly { arg, degree } => {
            let x = numeric(data, arg, label, basis)?;
            let columns = orthogonal_polynomials(&x, *degree, basis).map_err(|unique| {
                ModelError::PolyDegree {
                    label: label.clone(),
                    unique,
                }
            })?;
            Ok(Values::Matrix {
                columns,
                suffixes: (1..=*degree).map(|d| d.to_string()).collect(),
            })
        }
        expr => numeric(data, expr, label, basis).map(Values::Numeric),
    }
}

/// Evaluates an arithmetic expression row by row (whole columns for `scale()`, see
/// [`evaluate`] for `basis`). NaN results (log of a negative number, a missing input) mark
/// the row missing, as R's `na.omit` would treat them.
pub fn numeric(
    data: &DataFrame,
    expr: &Expr,
    label: &str,
    basis: usize,
) -> Result<Vec<f64>, ModelError> {
    let n = data.n_rows();
    Ok(match expr {
        Expr::Column(name) => match lookup(data, name)? {
            Column::Numeric(v) => v.clone(),
            Column::Factor(_) => {
                return Err(ModelError::FactorInExpression {
                    variable: name.clone(),
                    label: label.to_string(),
                })
            }
        },
        Expr::Number(x) => vec![*x; n],
        Expr::Neg(e) => numeric(data, e, label, basis)?
            .into_iter()
            .map(|v| -v)
            .collect(),
        Expr::Call(Function::Scale, e) => standardise(numeric(data, e, label, basis)?, basis),
        Expr::Call(f, e) => {
            let g: fn(f64) -> f64 = match f {
                Function::Log => f64::ln,
                Function::Log10 => f64::log10,
                Function::Log2 => f64::log2,
                Function::Exp => f64::exp,
                Function::Sqrt => f64::sqrt,
                Function::Abs => f64::abs,
                Function::Scale => unreachable!("matched above"),
            };
            numeric(data, e, label, basis)?.into_iter().map(g).collect()
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (
                numeric(data, a, label, basis)?,
                numeric(data, b, label, basis)?,
            );
            let g: fn(f64, f64) -> f64 = match op {
                BinaryOp::Add => |x, y| x + y,
                BinaryOp::Sub => |x, y| x - y,
                BinaryOp::Mul => |x, y| x * y,
                BinaryOp::Div => |x, y| x / y,
                BinaryOp::Pow => f64::powf,
            };
            a.into_iter().zip(b).map(|(x, y)| g(x, y)).collect()
        }
        Expr::Poly { .. } | Expr::Factor(_) => {
            return Err(ModelError::WholeVariableInExpression {
                function: if matches!(expr, Expr::Poly { .. }) {
                    "poly"
                } else {
                    "factor"
                }
                .to_string(),
                label: label.to_string(),
            })
        }
    })
}

/// R's `scale(x)`: `(x − mean) / sd` with the mean and the standard deviation of the
/// non-missing values among the first `basis` rows. A constant column gives NaN, as in R.
fn standardise(mut x: Vec<f64>, basis: usize) -> Vec<f64> {
    let (mean, sd) = mean_and_sd(&x[..basis]);
    x.iter_mut().for_each(|v| *v = (*v - mean) / sd);
    x
}

/// The mean and standard deviation (denominator n − 1, or 1 for a single value) of the
/// non-missing values, as R's `scale()` computes them.
pub fn mean_and_sd(x: &[f64]) -> (f64, f64) {
    let seen: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let m = seen.len() as f64;
    let mean = seen.iter().sum::<f64>() / m;
    let sd = (seen.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
    (mean, sd)
}

/// R's `poly(x, degree)`: the polynomials of degree 1 to `degree` orthonormal over the
/// non-missing values among the first `basis` rows, evaluated at every row (NaN where `x` is
/// missing). R builds them from a QR decomposition and evaluates new points by the
/// three-term recurrence its `predict()` uses; the recurrence (Stieltjes' procedure,
/// on x centred at its mean) gives both. `Err` holds the number of distinct values when
/// there are not more of them than `degree`, which R refuses too.
fn orthogonal_polynomials(x: &[f64], degree: usize, basis: usize) -> Result<Vec<Vec<f64>>, usize> {
    let points: Vec<f64> = x[..basis].iter().copied().filter(|v| !v.is_nan()).collect();
    let mut distinct = points.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if degree == 0 || degree >= distinct.len() {
        return Err(distinct.len());
    }
    let mean = points.iter().sum::<f64>() / points.len() as f64;
    let centred: Vec<f64> = points.iter().map(|v| v - mean).collect();
    // Recurrence P₀ = 1, P₁ = t − a₀, P_{j+1} = (t − a_j)P_j − (‖P_j‖²/‖P_{j−1}‖²)P_{j−1},
    // with a_j = Σ t P_j² / ‖P_j‖² over the points.
    let mut shift = Vec::with_capacity(degree);
    let mut norm2 = vec![points.len() as f64];
    let (mut previous, mut current) = (vec![0.0; points.len()], vec![1.0; points.len()]);
    for j in 0..degree {
        let a = centred
            .iter()
            .zip(&current)
            .map(|(t, p)| t * p * p)
            .sum::<f64>()
            / norm2[j];
        let b = if j == 0 { 0.0 } else { norm2[j] / norm2[j - 1] };
        let next: Vec<f64> = (0..points.len())
            .map(|i| (centred[i] - a) * current[i] - b * previous[i])
            .collect();
        norm2.push(next.iter().map(|v| v * v).sum());
        shift.push(a);
        previous = std::mem::replace(&mut current, next);
    }
    let mut columns = vec![Vec::with_capacity(x.len()); degree];
    for &v in x {
        let t = v - mean;
        let (mut before, mut p) = (0.0, 1.0);
        for j in 0..degree {
            let b = if j == 0 { 0.0 } else { norm2[j] / norm2[j - 1] };
            let next = (t - shift[j]) * p - b * before;
            before = p;
            p = next;
            columns[j].push(p / norm2[j + 1].sqrt());
        }
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R 4.2's `poly(x, 3)` and `scale(x)` (from `tests/data/reference/formula_cases.R`,
    /// which writes them to `formula_columns.json`).
    const X: [f64; 8] = [0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0];
    const POLY3: [[f64; 3]; 8] = [
        [-0.348262402807109, 0.412647813212293, -0.458462945055686],
        [-0.295694492949432, 0.239817390219012, -0.102421819708415],
        [-0.243126583091755, 0.0847409972649618, 0.151316764610219],
        [-0.190558673234078, -0.0525813656498609, 0.3137791670544],
        [-0.0854228535187248, -0.27396400136182, 0.408980862936133],
        [0.0722808760543057, -0.472882729635542, 0.142871021554909],
        [0.33512042534269, -0.449333342640503, -0.655987797678449],
        [0.755663704204104, 0.511555238591457, 0.19992474628689],
    ];
    const SCALE: [f64; 8] = [
        -0.921415708821413,
        -0.782334092395539,
        -0.643252475969666,
        -0.504170859543792,
        -0.226007626692045,
        0.191237222585576,
        0.886645304714945,
        1.99929823612193,
    ];

    #[test]
    fn poly_and_scale_are_r_s() {
        let ours = orthogonal_polynomials(&X, 3, X.len()).unwrap();
        for (i, row) in POLY3.iter().enumerate() {
            for (j, want) in row.iter().enumerate() {
                assert!((ours[j][i] - want).abs() < 1e-13, "poly [{i}, {j}]");
            }
        }
        let scaled = standardise(X.to_vec(), X.len());
        for (ours, want) in scaled.iter().zip(SCALE) {
            assert!((ours - want).abs() < 1e-13);
        }
    }

    #[test]
    fn new_rows_use_the_basis_rows_parameters() {
        let x = [1.0, 2.0, 4.0, 7.0, 2.0, 100.0];
        let fitted = orthogonal_polynomials(&x[..4], 2, 4).unwrap();
        let with_new = orthogonal_polynomials(&x, 2, 4).unwrap();
        for j in 0..2 {
            assert_eq!(with_new[j][..4], fitted[j][..]);
            // The repeated value 2.0 gets the same basis values as at row 1.
            assert_eq!(with_new[j][4], with_new[j][1]);
        }
        assert_eq!(orthogonal_polynomials(&[1.0, 1.0, 2.0], 2, 3), Err(2));
        let scaled = standardise(vec![1.0, 3.0, f64::NAN, 5.0], 2);
        assert_eq!(scaled[..2], [-1.0_f64 / 2f64.sqrt(), 1.0 / 2f64.sqrt()]);
        assert!(scaled[2].is_nan());
    }
}
