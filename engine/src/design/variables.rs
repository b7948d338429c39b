//! Evaluating a model's variables on a data set.

use crate::data::{Column, DataFrame, Factor};
use crate::error::ModelError;
use crate::spec::{BinaryOp, Expr, Function, Variable};

/// A variable's values on the data: numbers (NaN = missing) or a factor.
#[derive(Debug, Clone)]
pub enum Values {
    Numeric(Vec<f64>),
    Factor(Factor),
}

impl Values {
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Values::Numeric(v) => v[row].is_nan(),
            Values::Factor(f) => f.is_missing(row),
        }
    }

    pub fn subset(&self, rows: &[usize]) -> Values {
        match self {
            Values::Numeric(v) => Values::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Values::Factor(f) => Values::Factor(f.subset(rows)),
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

/// Evaluates a variable: a bare column keeps its type, an expression is numeric.
pub fn evaluate(data: &DataFrame, var: &Variable) -> Result<Values, ModelError> {
    if let Some(name) = var.expr.as_column() {
        return Ok(match lookup(data, name)? {
            Column::Numeric(v) => Values::Numeric(v.clone()),
            Column::Factor(f) => Values::Factor(f.clone()),
        });
    }
    numeric(data, &var.expr, &var.label).map(Values::Numeric)
}

/// Evaluates an arithmetic expression row by row. NaN results (log of a negative number,
/// a missing input) mark the row missing, as R's `na.omit` would treat them.
pub fn numeric(data: &DataFrame, expr: &Expr, label: &str) -> Result<Vec<f64>, ModelError> {
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
        Expr::Neg(e) => numeric(data, e, label)?.into_iter().map(|v| -v).collect(),
        Expr::Call(f, e) => {
            let g: fn(f64) -> f64 = match f {
                Function::Log => f64::ln,
                Function::Exp => f64::exp,
                Function::Sqrt => f64::sqrt,
                Function::Abs => f64::abs,
            };
            numeric(data, e, label)?.into_iter().map(g).collect()
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (numeric(data, a, label)?, numeric(data, b, label)?);
            let g: fn(f64, f64) -> f64 = match op {
                BinaryOp::Add => |x, y| x + y,
                BinaryOp::Sub => |x, y| x - y,
                BinaryOp::Mul => |x, y| x * y,
                BinaryOp::Div => |x, y| x / y,
                BinaryOp::Pow => f64::powf,
            };
            a.into_iter().zip(b).map(|(x, y)| g(x, y)).collect()
        }
    })
}
