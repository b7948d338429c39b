//! A model's design compiled to SQL over the registered table `data`: each variable an
//! expression, the complete-case rule a `WHERE` clause, each model-matrix column a product
//! of numeric expressions and level indicators, with the columns' coding and names from the
//! engine's own rules ([`mixspec_engine::design::column_layout`]).

use std::collections::HashMap;

use datafusion::arrow::datatypes::DataType;
use mixspec_engine::data::Factor;
use mixspec_engine::design::{column_layout, ColumnOrigin, Values};
use mixspec_engine::spec::{BinaryOp, Expr, Function, TermList, Variable};

use super::error::DistributedError;

/// How a data column can be used: as a number, or as text (a factor's labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Number,
    Text,
}

impl ColumnKind {
    /// The kind of an Arrow type, or `None` for types the engine would not read as these
    /// (dates and times: the in-memory reader turns them into day counts, which this
    /// engine does not reproduce).
    pub(crate) fn of(data_type: &DataType) -> Option<ColumnKind> {
        use DataType as T;
        match data_type {
            T::Boolean
            | T::Int8
            | T::Int16
            | T::Int32
            | T::Int64
            | T::UInt8
            | T::UInt16
            | T::UInt32
            | T::UInt64
            | T::Float16
            | T::Float32
            | T::Float64
            | T::Decimal128(..)
            | T::Decimal256(..)
            | T::Null => Some(ColumnKind::Number),
            T::Utf8 | T::LargeUtf8 | T::Utf8View => Some(ColumnKind::Text),
            T::Dictionary(_, value) => match ColumnKind::of(value) {
                Some(ColumnKind::Text) => Some(ColumnKind::Text),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The table's columns: name → (kind, Arrow type as shown in messages).
pub(crate) struct Schema {
    pub path: String,
    pub columns: Vec<(String, Option<ColumnKind>, String)>,
}

impl Schema {
    fn kind(&self, name: &str, label: &str) -> Result<ColumnKind, DistributedError> {
        let Some((_, kind, data_type)) = self.columns.iter().find(|(n, ..)| n == name) else {
            return Err(DistributedError::UnknownColumn {
                path: self.path.clone(),
                name: name.to_string(),
                columns: self
                    .columns
                    .iter()
                    .map(|(n, ..)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        kind.ok_or_else(|| DistributedError::ColumnType {
            path: self.path.clone(),
            name: name.to_string(),
            data_type: data_type.clone(),
            label: label.to_string(),
            help: "the DataFusion engine reads numbers and text; convert dates and times to \
                   numbers first"
                .into(),
        })
    }
}

/// A model variable as SQL.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    /// A numeric expression (DOUBLE).
    Number(String),
    /// A factor: the SQL of its key (VARCHAR for text, DOUBLE for `factor()` of numbers)
    /// and, once the first pass has found them, its levels in R's order with the SQL
    /// literal of each.
    Factor {
        key: String,
        text: bool,
        levels: Vec<(String, String)>,
    },
}

impl Compiled {
    /// The condition that a row has this variable (R's complete-case rule: NA and NaN are
    /// missing; infinite values are refused separately).
    pub(crate) fn present(&self) -> String {
        match self {
            Compiled::Number(e) => format!("({e}) IS NOT NULL AND NOT isnan({e})"),
            Compiled::Factor {
                key, text: true, ..
            } => format!("({key}) IS NOT NULL"),
            Compiled::Factor { key, .. } => format!("({key}) IS NOT NULL AND NOT isnan({key})"),
        }
    }
}

/// `"name"` with quotes doubled: any column name as an SQL identifier.
pub(crate) fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with quotes doubled.
fn text_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A number as an SQL literal that reads back to the same double.
pub(crate) fn number_literal(x: f64) -> String {
    format!("CAST({x:?} AS DOUBLE)")
}

/// Compiles a variable (its label names it in messages).
pub(crate) fn variable(schema: &Schema, var: &Variable) -> Result<Compiled, DistributedError> {
    match &var.expr {
        Expr::Column(name) => match schema.kind(name, &var.label)? {
            ColumnKind::Number => Ok(Compiled::Number(number(schema, &var.expr, &var.label)?)),
            ColumnKind::Text => Ok(Compiled::Factor {
                key: format!("CAST({} AS VARCHAR)", identifier(name)),
                text: true,
                levels: Vec::new(),
            }),
        },
        Expr::Factor(arg) => match arg.as_column() {
            Some(name) if schema.kind(name, &var.label)? == ColumnKind::Text => {
                Ok(Compiled::Factor {
                    key: format!("CAST({} AS VARCHAR)", identifier(name)),
                    text: true,
                    levels: Vec::new(),
                })
            }
            _ => Ok(Compiled::Factor {
                key: number(schema, arg, &var.label)?,
                text: false,
                levels: Vec::new(),
            }),
        },
        _ => Ok(Compiled::Number(number(schema, &var.expr, &var.label)?)),
    }
}

/// A grouping column as a factor, whether it holds text or numbers (subject numbers are
/// levels, ordered numerically, as the in-memory engine makes them).
pub(crate) fn grouping(schema: &Schema, name: &str) -> Result<Compiled, DistributedError> {
    let key = match schema.kind(name, name)? {
        ColumnKind::Text => format!("CAST({} AS VARCHAR)", identifier(name)),
        ColumnKind::Number => format!("CAST({} AS DOUBLE)", identifier(name)),
    };
    Ok(Compiled::Factor {
        text: schema.kind(name, name)? == ColumnKind::Text,
        key,
        levels: Vec::new(),
    })
}

/// A numeric expression as SQL over DOUBLEs, with R's arithmetic (NaN where R gives NaN).
pub(crate) fn number(
    schema: &Schema,
    expr: &Expr,
    label: &str,
) -> Result<String, DistributedError> {
    let recurse = |e: &Expr| number(schema, e, label);
    Ok(match expr {
        Expr::Column(name) => match schema.kind(name, label)? {
            ColumnKind::Number => format!("CAST({} AS DOUBLE)", identifier(name)),
            ColumnKind::Text => {
                return Err(DistributedError::ColumnType {
                    path: schema.path.clone(),
                    name: name.clone(),
                    data_type: "text".into(),
                    label: label.to_string(),
                    help: "text is a factor; it cannot enter arithmetic".into(),
                })
            }
        },
        Expr::Number(x) => number_literal(*x),
        Expr::Neg(e) => format!("(-({}))", recurse(e)?),
        Expr::Binary(op, a, b) => {
            let (a, b) = (recurse(a)?, recurse(b)?);
            match op {
                BinaryOp::Add => format!("(({a}) + ({b}))"),
                BinaryOp::Sub => format!("(({a}) - ({b}))"),
                BinaryOp::Mul => format!("(({a}) * ({b}))"),
                BinaryOp::Div => format!("(({a}) / ({b}))"),
                BinaryOp::Pow => format!("power({a}, {b})"),
            }
        }
        Expr::Call(f, e) => {
            let name = match f {
                Function::Log => "ln",
                Function::Log10 => "log10",
                Function::Log2 => "log2",
                Function::Exp => "exp",
                Function::Sqrt => "sqrt",
                Function::Abs => "abs",
                Function::Scale => {
                    return Err(DistributedError::Unsupported {
                        what: format!("scale() in `{label}`"),
                    })
                }
            };
            format!("{name}({})", recurse(e)?)
        }
        Expr::Poly { .. } => {
            return Err(DistributedError::Unsupported {
                what: format!("poly() in `{label}`"),
            })
        }
        Expr::Factor(_) => {
            return Err(DistributedError::Unsupported {
                what: format!("factor() inside an expression in `{label}`"),
            })
        }
    })
}

/// Sets a factor's levels from the distinct keys the first pass found: text in R's
/// collation order, numbers numerically with R's labels (as the in-memory engine orders
/// them).
pub(crate) fn set_levels(compiled: &mut Compiled, text: Vec<String>, numbers: Vec<f64>) {
    if let Compiled::Factor {
        text: is_text,
        levels,
        ..
    } = compiled
    {
        *levels = if *is_text {
            Factor::from_labels(text.iter().map(|s| Some(s.as_str())))
                .levels
                .into_iter()
                .map(|l| {
                    let literal = text_literal(&l);
                    (l, literal)
                })
                .collect()
        } else {
            let mut distinct = numbers;
            distinct.sort_by(|a, b| a.total_cmp(b));
            distinct.dedup();
            let labels = Factor::from_numbers(&distinct).levels;
            labels
                .into_iter()
                .zip(&distinct)
                .map(|(l, v)| (l, number_literal(*v)))
                .collect()
        };
    }
}

/// The model-matrix columns of `terms` as SQL, with their names and origins: each column
/// the product of its variables' parts (a numeric expression, or the indicator of the
/// level its origin names).
pub(crate) fn columns(
    terms: &TermList,
    compiled: &HashMap<String, Compiled>,
) -> Result<(Vec<String>, Vec<String>, Vec<ColumnOrigin>), DistributedError> {
    let values: HashMap<&str, Values> = compiled
        .iter()
        .map(|(label, c)| {
            let v = match c {
                Compiled::Number(_) => Values::Numeric(Vec::new()),
                Compiled::Factor { levels, .. } => Values::Factor(Factor {
                    codes: Vec::new(),
                    levels: levels.iter().map(|(l, _)| l.clone()).collect(),
                }),
            };
            (label.as_str(), v)
        })
        .collect();
    let (names, origins) = column_layout(terms, &|label| &values[label])?;
    let sql = origins
        .iter()
        .map(|origin| {
            if origin.term == 0 {
                return "CAST(1.0 AS DOUBLE)".to_string();
            }
            let term = &terms.terms[origin.term - 1];
            let parts: Vec<String> = term
                .variables
                .iter()
                .zip(&origin.levels)
                .map(|(var, level)| match (&compiled[&var.label], level) {
                    (Compiled::Number(e), _) => format!("({e})"),
                    (Compiled::Factor { key, levels, .. }, Some((l, _))) => format!(
                        "CASE WHEN ({key}) = {} THEN CAST(1.0 AS DOUBLE) ELSE CAST(0.0 AS DOUBLE) END",
                        levels[*l].1
                    ),
                    (Compiled::Factor { .. }, None) => {
                        unreachable!("a factor's column names its level")
                    }
                })
                .collect();
            parts.join(" * ")
        })
        .collect();
    Ok((names, sql, origins))
}
