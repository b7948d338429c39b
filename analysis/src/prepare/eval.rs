//! Evaluating the expressions of `derive`, `when` and `where` over every row of the data.
//! The checks that need the data happen on the way, so they see exactly the values the
//! analysis will use: unknown variables, factors where numbers are needed, and levels that
//! never occur; all of an expression's problems are reported, not only the first.

use std::rc::Rc;

use mixspec_dsl::spec::{
    ast::{Aggregate, BinaryOp, ExprKind, Function, UnaryOp, Whole},
    closest, suggest, Expr, SpecDiagnostic, SpecErrorKind,
};
use mixspec_engine::data::{format_number, r_order};
use mixspec_engine::design::mean_and_sd;
use mixspec_engine::{Column, DataFrame, Factor};

/// An expression's values, one per row. Conditions and comparisons are numbers: 1 for true,
/// 0 for false, NaN for missing, so a derived condition is a 0/1 variable.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Number(Vec<f64>),
    Text(Vec<Option<Rc<str>>>),
}

impl Value {
    pub fn from_column(column: &Column) -> Value {
        match column {
            Column::Numeric(v) => Value::Number(v.clone()),
            Column::Factor(f) => {
                let levels: Vec<Rc<str>> = f.levels.iter().map(|l| Rc::from(l.as_str())).collect();
                Value::Text(
                    f.codes
                        .iter()
                        .map(|&c| levels.get(c as usize).cloned())
                        .collect(),
                )
            }
        }
    }

    pub fn into_column(self) -> Column {
        match self {
            Value::Number(v) => Column::Numeric(v),
            Value::Text(t) => Column::Factor(Factor::from_labels(t.iter().map(|l| l.as_deref()))),
        }
    }

    fn is_missing(&self, row: usize) -> bool {
        match self {
            Value::Number(v) => v[row].is_nan(),
            Value::Text(t) => t[row].is_none(),
        }
    }
}

/// `grand_mean()` (on every row), `center()` or `scale()` (missing where `x` is) of `x`, from
/// its non-missing values. A constant `x` scales to NaN (missing), as R's `scale()` gives.
fn whole(w: Whole, mut x: Vec<f64>) -> Vec<f64> {
    let (mean, sd) = mean_and_sd(&x);
    match w {
        Whole::GrandMean => x.iter_mut().for_each(|v| *v = mean),
        Whole::Center => x.iter_mut().for_each(|v| *v -= mean),
        Whole::Scale => x.iter_mut().for_each(|v| *v = (*v - mean) / sd),
    }
    x
}

/// The rows where a condition holds (true, not missing).
pub(crate) fn true_rows(condition: &[f64]) -> Vec<usize> {
    (0..condition.len())
        .filter(|&r| truth(condition[r]) == Some(true))
        .collect()
}

fn truth(x: f64) -> Option<bool> {
    (!x.is_nan()).then_some(x != 0.0)
}

fn logical(b: Option<bool>) -> f64 {
    b.map_or(f64::NAN, |b| if b { 1.0 } else { 0.0 })
}

/// Everything an expression can read: the data as prepared so far and the rows of each
/// subject, in time order.
pub(crate) struct Context<'a> {
    pub frame: &'a DataFrame,
    /// Per subject, its rows with a time, earliest first (ties in file order); rows without
    /// a subject are in none.
    subjects: Option<Vec<Vec<usize>>>,
    /// Per row, the index of its subject in `subjects`.
    subject_of: Vec<Option<usize>>,
    /// The time variable while it is not a column yet (it is derived further down, or
    /// misspelled): rows are not in time order.
    time_pending: Option<String>,
    /// Variables whose definitions had problems: their uses are not reported again.
    unchecked: &'a [String],
}

type Evaluated = Result<Value, Vec<SpecDiagnostic>>;

impl<'a> Context<'a> {
    /// `subject` and `time` name the data statement's columns, when it has them (and they
    /// exist: that is checked when the data is read).
    pub fn new(
        frame: &'a DataFrame,
        subject: Option<&str>,
        time: Option<&str>,
        unchecked: &'a [String],
    ) -> Self {
        let n = frame.n_rows();
        let mut subject_of = vec![None; n];
        let subjects = subject.and_then(|s| frame.column(s)).map(|column| {
            let factor = column.to_factor();
            let times = match time.and_then(|t| frame.column(t)) {
                Some(Column::Numeric(v)) => Some(v),
                _ => None,
            };
            let mut groups = vec![Vec::new(); factor.levels.len()];
            for (row, &code) in factor.codes.iter().enumerate() {
                if let Some(g) = groups.get_mut(code as usize) {
                    g.push(row);
                    subject_of[row] = Some(code as usize);
                }
            }
            if let Some(times) = times {
                for g in &mut groups {
                    // Stable: equal times keep file order.
                    g.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
                    g.retain(|&r| !times[r].is_nan());
                }
            }
            groups
        });
        Context {
            frame,
            subjects,
            subject_of,
            time_pending: time
                .filter(|t| frame.column(t).is_none())
                .map(str::to_string),
            unchecked,
        }
    }

    fn n(&self) -> usize {
        self.frame.n_rows()
    }

    /// The units of per-subject summaries: each subject's rows, earliest first, or each row
    /// alone when the data has no subject column.
    pub fn units(&self) -> Vec<Vec<usize>> {
        match &self.subjects {
            Some(subjects) => subjects.clone(),
            None => (0..self.n()).map(|r| vec![r]).collect(),
        }
    }

    pub fn eval(&self, e: &Expr) -> Evaluated {
        let n = self.n();
        match &e.kind {
            ExprKind::Number(x) => Ok(Value::Number(vec![*x; n])),
            ExprKind::Text(t) => Ok(Value::Text(vec![Some(Rc::from(t.as_str())); n])),
            ExprKind::Variable(name) => self.variable(name, e),
            ExprKind::Unary(op, a) => {
                let a = self.numbers(a, self.eval(a), op_name(*op))?;
                Ok(Value::Number(match op {
                    UnaryOp::Neg => a.into_iter().map(|x| -x).collect(),
                    UnaryOp::Not => a
                        .into_iter()
                        .map(|x| logical(truth(x).map(|b| !b)))
                        .collect(),
                }))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b),
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => {
                let c = self.numbers(condition, self.eval(condition), "`if`");
                let (t, o) = both(self.eval(then), self.eval(otherwise))?;
                let c = c?;
                let pick = |r: usize| truth(c[r]);
                match (t, o) {
                    (Value::Number(t), Value::Number(o)) => Ok(Value::Number(
                        (0..n)
                            .map(|r| pick(r).map_or(f64::NAN, |b| if b { t[r] } else { o[r] }))
                            .collect(),
                    )),
                    (Value::Text(t), Value::Text(o)) => Ok(Value::Text(
                        (0..n)
                            .map(|r| {
                                pick(r).and_then(|b| if b { t[r].clone() } else { o[r].clone() })
                            })
                            .collect(),
                    )),
                    (t, _) => Err(vec![SpecDiagnostic::new(
                        SpecErrorKind::Type,
                        then.span.to(otherwise.span),
                        "the branches of `if` give different kinds of value",
                        format!(
                            "`then` gives {}, `else` {}",
                            kind(&t),
                            if matches!(t, Value::Number(_)) {
                                "text"
                            } else {
                                "a number"
                            }
                        ),
                    )
                    .help("make both branches numbers, or both quoted texts")]),
                }
            }
            ExprKind::Call { function, args } => {
                let arg = &args[0];
                let value = self.eval(arg)?;
                let name = format!("`{}()`", function.name());
                match function {
                    Function::Missing => Ok(Value::Number(
                        (0..n).map(|r| logical(Some(value.is_missing(r)))).collect(),
                    )),
                    Function::Log | Function::Exp | Function::Sqrt | Function::Abs => {
                        let f: fn(f64) -> f64 = match function {
                            Function::Log => f64::ln,
                            Function::Exp => f64::exp,
                            Function::Sqrt => f64::sqrt,
                            _ => f64::abs,
                        };
                        let x = self.numbers(arg, Ok(value), &name)?;
                        Ok(Value::Number(x.into_iter().map(f).collect()))
                    }
                    Function::Whole(w) => {
                        let x = self.numbers(arg, Ok(value), &name)?;
                        Ok(Value::Number(whole(*w, x)))
                    }
                    Function::Aggregate(a) => {
                        let value = match a {
                            Aggregate::Mean | Aggregate::Min | Aggregate::Max | Aggregate::Sum => {
                                Value::Number(self.numbers(arg, Ok(value), &name)?)
                            }
                            _ => value,
                        };
                        if let (Aggregate::First | Aggregate::Last, Some(time)) =
                            (a, self.time_pending.as_deref())
                        {
                            return Err(vec![SpecDiagnostic::new(
                                SpecErrorKind::Type,
                                e.span,
                                format!("{name} needs each subject's rows in time order"),
                                format!("the time variable `{time}` is not a column yet here"),
                            )
                            .help(format!(
                                "derive `{time}` above this statement (or check its spelling \
                                 in the data statement)"
                            ))]);
                        }
                        self.aggregate(*a, &value)
                    }
                }
            }
        }
    }

    fn variable(&self, name: &str, e: &Expr) -> Evaluated {
        if let Some(column) = self.frame.column(name) {
            return Ok(Value::from_column(column));
        }
        if self.unchecked.iter().any(|u| u == name) {
            return Err(Vec::new());
        }
        Err(vec![unknown_variable(name, e.span, self.frame)])
    }

    /// Numbers of an operand, or a problem saying it is text where `what` needs numbers.
    fn numbers(
        &self,
        e: &Expr,
        value: Evaluated,
        what: &str,
    ) -> Result<Vec<f64>, Vec<SpecDiagnostic>> {
        match value? {
            Value::Number(v) => Ok(v),
            Value::Text(t) => Err(vec![not_a_number(e, &t, what)]),
        }
    }

    fn binary(&self, op: BinaryOp, a: &Expr, b: &Expr) -> Evaluated {
        let what = format!("`{}`", op.symbol());
        let n = self.n();
        match op {
            BinaryOp::Eq | BinaryOp::Ne => {
                let (va, vb) = both(self.eval(a), self.eval(b))?;
                let problem = never_equal(a, &va, b).or_else(|| never_equal(b, &vb, a));
                if let Some(problem) = problem {
                    return Err(vec![problem]);
                }
                let equal = |r: usize| -> Option<bool> {
                    match (&va, &vb) {
                        (Value::Number(x), Value::Number(y)) => {
                            (!x[r].is_nan() && !y[r].is_nan()).then(|| x[r] == y[r])
                        }
                        (Value::Text(x), Value::Text(y)) => Some(x[r].as_ref()? == y[r].as_ref()?),
                        (Value::Number(x), Value::Text(t)) | (Value::Text(t), Value::Number(x)) => {
                            let label = t[r].as_ref()?;
                            (!x[r].is_nan()).then(|| **label == *format_number(x[r]))
                        }
                    }
                };
                let negate = op == BinaryOp::Ne;
                Ok(Value::Number(
                    (0..n)
                        .map(|r| logical(equal(r).map(|e| e != negate)))
                        .collect(),
                ))
            }
            _ => {
                let (x, y) = both(
                    self.numbers(a, self.eval(a), &what),
                    self.numbers(b, self.eval(b), &what),
                )?;
                let f: fn(f64, f64) -> f64 = match op {
                    BinaryOp::Add => |x, y| x + y,
                    BinaryOp::Sub => |x, y| x - y,
                    BinaryOp::Mul => |x, y| x * y,
                    BinaryOp::Div => |x, y| x / y,
                    BinaryOp::Pow => f64::powf,
                    BinaryOp::Lt => |x, y| compare(x, y, |x, y| x < y),
                    BinaryOp::Le => |x, y| compare(x, y, |x, y| x <= y),
                    BinaryOp::Gt => |x, y| compare(x, y, |x, y| x > y),
                    BinaryOp::Ge => |x, y| compare(x, y, |x, y| x >= y),
                    // R's three-valued logic: a missing side matters only when the other
                    // side does not decide.
                    BinaryOp::And => |x, y| match (truth(x), truth(y)) {
                        (Some(false), _) | (_, Some(false)) => 0.0,
                        (Some(true), Some(true)) => 1.0,
                        _ => f64::NAN,
                    },
                    BinaryOp::Or => |x, y| match (truth(x), truth(y)) {
                        (Some(true), _) | (_, Some(true)) => 1.0,
                        (Some(false), Some(false)) => 0.0,
                        _ => f64::NAN,
                    },
                    BinaryOp::Eq | BinaryOp::Ne => unreachable!("handled above"),
                };
                Ok(Value::Number(
                    x.into_iter().zip(y).map(|(x, y)| f(x, y)).collect(),
                ))
            }
        }
    }

    /// One value per subject, on every row of the subject; missing for rows without one.
    fn aggregate(&self, aggregate: Aggregate, value: &Value) -> Evaluated {
        let Some(subjects) = &self.subjects else {
            // No subject column: reported with the data statement.
            return Err(Vec::new());
        };
        let present = |rows: &[usize]| -> Vec<usize> {
            rows.iter()
                .copied()
                .filter(|&r| !value.is_missing(r))
                .collect()
        };
        let per_subject = |s: usize| -> Option<usize> {
            let rows = present(&subjects[s]);
            match aggregate {
                Aggregate::First => rows.first().copied(),
                _ => rows.last().copied(),
            }
        };
        let n = self.n();
        Ok(match (aggregate, value) {
            (Aggregate::First | Aggregate::Last, Value::Text(t)) => {
                let picked: Vec<Option<usize>> = (0..subjects.len()).map(per_subject).collect();
                Value::Text(
                    (0..n)
                        .map(|r| t[picked[self.subject_of[r]?]?].clone())
                        .collect(),
                )
            }
            (Aggregate::First | Aggregate::Last, Value::Number(x)) => {
                let picked: Vec<f64> = (0..subjects.len())
                    .map(|s| per_subject(s).map_or(f64::NAN, |r| x[r]))
                    .collect();
                self.broadcast(&picked)
            }
            (Aggregate::Count, _) => {
                let counts: Vec<f64> = subjects
                    .iter()
                    .map(|rows| present(rows).len() as f64)
                    .collect();
                self.broadcast(&counts)
            }
            (_, Value::Number(x)) => {
                let summary: Vec<f64> = subjects
                    .iter()
                    .map(|rows| {
                        let values: Vec<f64> = present(rows).iter().map(|&r| x[r]).collect();
                        summarise(aggregate, &values)
                    })
                    .collect();
                self.broadcast(&summary)
            }
            (_, Value::Text(_)) => unreachable!("numeric aggregates are given numbers"),
        })
    }

    fn broadcast(&self, per_subject: &[f64]) -> Value {
        Value::Number(
            self.subject_of
                .iter()
                .map(|s| s.map_or(f64::NAN, |s| per_subject[s]))
                .collect(),
        )
    }
}

/// Mean, minimum, maximum or sum of a subject's values; missing when it has none (a sum of
/// none is 0, as R's `sum(x, na.rm = TRUE)`).
fn summarise(aggregate: Aggregate, values: &[f64]) -> f64 {
    if values.is_empty() {
        return if aggregate == Aggregate::Sum {
            0.0
        } else {
            f64::NAN
        };
    }
    match aggregate {
        Aggregate::Sum => values.iter().sum(),
        Aggregate::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => unreachable!("first, last and count are not summaries of numbers"),
    }
}

fn compare(x: f64, y: f64, f: fn(f64, f64) -> bool) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        logical(Some(f(x, y)))
    }
}

fn op_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "`-`",
        UnaryOp::Not => "`not`",
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "a number",
        Value::Text(_) => "text",
    }
}

/// Both results, or the problems of either or both.
fn both<A, B>(
    a: Result<A, Vec<SpecDiagnostic>>,
    b: Result<B, Vec<SpecDiagnostic>>,
) -> Result<(A, B), Vec<SpecDiagnostic>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let mut problems = a.err().unwrap_or_default();
            problems.extend(b.err().unwrap_or_default());
            Err(problems)
        }
    }
}

/// Refuses a derived variable with an infinite value (`1/0`, `log(0)`, a predictor
/// returning inf), naming its first row: no analysis can use it, and left in it would make
/// a model's column "rank deficient" and be dropped. NaN stays missing, as in R.
pub(crate) fn finite_column(
    column: Column,
    name: &str,
    span: mixspec_dsl::spec::Span,
    frame: &DataFrame,
) -> Result<Column, Vec<SpecDiagnostic>> {
    let Column::Numeric(values) = &column else {
        return Ok(column);
    };
    let Some(row) = values.iter().position(|v| v.is_infinite()) else {
        return Ok(column);
    };
    Err(vec![SpecDiagnostic::new(
        SpecErrorKind::Type,
        span,
        format!(
            "`{name}` is {} on {} line {}",
            values[row],
            frame.source(),
            frame.line_of(row)
        ),
        "gives an infinite value",
    )
    .help("a derived variable must be finite or missing; guard the expression, e.g. `if x == 0 then NA else 1 / x`")])
}

pub(crate) fn unknown_variable(
    name: &str,
    span: mixspec_dsl::spec::Span,
    frame: &DataFrame,
) -> SpecDiagnostic {
    let names: Vec<&str> = frame.names().iter().map(String::as_str).collect();
    SpecDiagnostic::new(
        SpecErrorKind::UnknownVariable,
        span,
        format!("unknown variable `{name}`"),
        "not a column of the data or a derived variable",
    )
    .help(suggest(name, "variable", &names))
}

/// Distinct labels of a text value, in R's sort order (the order of a factor's levels).
fn distinct(t: &[Option<Rc<str>>]) -> Vec<&str> {
    let mut out: Vec<&str> = t.iter().flatten().map(|l| &**l).collect();
    out.sort_unstable();
    out.dedup();
    out.sort_by(|a, b| r_order(a, b));
    out
}

fn not_a_number(e: &Expr, t: &[Option<Rc<str>>], what: &str) -> SpecDiagnostic {
    let levels = distinct(t);
    let shown: Vec<&str> = levels.iter().take(4).copied().collect();
    let more = if levels.len() > 4 { ", …" } else { "" };
    let (message, label) = match &e.kind {
        ExprKind::Variable(name) => (
            format!("`{name}` is a factor, but {what} needs a number"),
            format!("a factor with levels {}{more}", shown.join(", ")),
        ),
        _ => (
            format!("text where {what} needs a number"),
            "this gives text".to_string(),
        ),
    };
    let example = match &e.kind {
        ExprKind::Variable(name) => format!(
            "compare it with a level instead, e.g. `{name} == \"{}\"`",
            levels.first().copied().unwrap_or("level")
        ),
        _ => "use numbers here, or compare the text with `==`".to_string(),
    };
    SpecDiagnostic::new(SpecErrorKind::Type, e.span, message, label).help(example)
}

/// A comparison of a variable with a quoted text that no row can satisfy: a level that does
/// not occur, or text compared with a numeric variable.
fn never_equal(var: &Expr, value: &Value, lit: &Expr) -> Option<SpecDiagnostic> {
    let (ExprKind::Variable(name), ExprKind::Text(text)) = (&var.kind, &lit.kind) else {
        return None;
    };
    match value {
        Value::Text(t) => {
            let levels = distinct(t);
            if levels.contains(&text.as_str()) {
                return None;
            }
            let guess = closest(text, levels.iter().copied());
            let listing = if levels.len() <= 12 {
                format!(
                    "its values are: {}",
                    mixspec_dsl::spec::quoted_list(&levels)
                )
            } else {
                format!("it has {} values", levels.len())
            };
            Some(
                SpecDiagnostic::new(
                    SpecErrorKind::UnknownLevel,
                    lit.span,
                    format!("`{name}` is never \"{text}\""),
                    "no row has this value",
                )
                .also(var.span, "compared here")
                .help(match guess {
                    Some(g) => format!("did you mean \"{g}\"? {listing}"),
                    None => listing,
                }),
            )
        }
        Value::Number(_) if text.trim().parse::<f64>().is_err() => Some(
            SpecDiagnostic::new(
                SpecErrorKind::Type,
                lit.span,
                format!("`{name}` is numeric, so it is never the text \"{text}\""),
                "text",
            )
            .also(var.span, "a numeric variable")
            .help(format!("compare it with a number, e.g. `{name} == 1`")),
        ),
        Value::Number(_) => None,
    }
}
