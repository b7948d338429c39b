//! What a formula's non-operator pieces mean: data columns, `I()` and the maths functions,
//! which become single numeric variables, `factor()` and `poly()`, which make a factor and
//! several columns, and `offset()`. Inside a function's parentheses R evaluates ordinary
//! arithmetic, so `log(a*b)` is the log of a product, not a crossing.

use mixspec_engine::spec::{BinaryOp as ExprOp, Expr, Function, Variable};

use super::ast::{BinaryOp, Node, NodeKind, UnaryOp};
use super::deparse::deparse;
use crate::error::{FormulaErrorKind, Problem};

const SUPPORTED: &str = "supported functions: I(), log(), log10(), log2(), exp(), sqrt(), abs(), \
     scale(), poly(x, k), factor() and offset()";

/// A formula piece that stands for one column of the model frame.
#[derive(Debug, Clone)]
pub enum Atom {
    Variable(Variable),
    /// `offset(expr)`: enters the linear predictor with coefficient one, never as a term.
    Offset(Expr),
}

enum Callee {
    /// `I()`: protects arithmetic from formula algebra and evaluates to its argument.
    Identity,
    Math(Function),
    Offset,
    /// `poly()` and `factor()`: a variable of their own (several columns, or a factor), so
    /// only at the top of a term.
    Poly,
    Factor,
}

fn callee(name: &str) -> Option<Callee> {
    Some(match name {
        "I" => Callee::Identity,
        "log" => Callee::Math(Function::Log),
        "log10" => Callee::Math(Function::Log10),
        "log2" => Callee::Math(Function::Log2),
        "scale" => Callee::Math(Function::Scale),
        "poly" => Callee::Poly,
        "factor" => Callee::Factor,
        "exp" => Callee::Math(Function::Exp),
        "sqrt" => Callee::Math(Function::Sqrt),
        "abs" => Callee::Math(Function::Abs),
        "offset" => Callee::Offset,
        _ => return None,
    })
}

/// A variable or offset as written among the terms: a name or a function call.
pub fn atom(node: &Node) -> Result<Atom, Problem> {
    if let NodeKind::Call { name, args, .. } = &node.kind {
        if let Some(Callee::Offset) = callee(name) {
            return Ok(Atom::Offset(arithmetic(single_argument(
                node, name, args,
            )?)?));
        }
    }
    variable(node).map(Atom::Variable)
}

/// The response: a variable or an expression of variables, or a binomial
/// `cbind(successes, failures)` (returned as the two variables). R rejects a bare number
/// there, and a constant response could not be fitted anyway.
pub fn response(node: &Node) -> Result<(Variable, Option<Variable>), Problem> {
    if let NodeKind::Call { name, args, .. } = &node.kind {
        if name == "cbind" {
            let [successes, failures] = &args[..] else {
                return Err(Problem::new(
                    FormulaErrorKind::WrongArgumentCount,
                    node.span,
                    format!("`cbind()` takes two arguments, found {}", args.len()),
                    "expected successes and failures",
                )
                .help("a binomial count response is `cbind(successes, failures)`"));
            };
            return Ok((data_variable(successes)?, Some(data_variable(failures)?)));
        }
    }
    Ok((data_variable(node)?, None))
}

/// A response column: a variable or an expression that reads data.
fn data_variable(node: &Node) -> Result<Variable, Problem> {
    let response = variable(node)?;
    if matches!(response.expr, Expr::Poly { .. } | Expr::Factor(_)) {
        return Err(Problem::new(
            FormulaErrorKind::NotArithmetic,
            node.span,
            "the response must be one numeric variable",
            "not a single number per row",
        )
        .help("poly() and factor() belong on the right of `~`"));
    }
    let mut reads_data = false;
    response.expr.visit_columns(&mut |_| reads_data = true);
    if !reads_data {
        return Err(Problem::new(
            FormulaErrorKind::NumberTerm,
            node.span,
            "the response is a constant",
            "reads no data column",
        )
        .help("the response must be a variable or an expression of variables, e.g. `log(y)`"));
    }
    Ok(response)
}

/// Any expression as one variable, labelled as R labels it: `factor()` and `poly()` at its
/// top, otherwise arithmetic.
fn variable(node: &Node) -> Result<Variable, Problem> {
    let expr = match &node.kind {
        NodeKind::Call { name, args, .. } => match callee(name) {
            Some(Callee::Factor) => {
                Expr::Factor(Box::new(arithmetic(single_argument(node, name, args)?)?))
            }
            Some(Callee::Poly) => poly(node, args)?,
            _ => arithmetic(node)?,
        },
        _ => arithmetic(node)?,
    };
    Ok(Variable {
        label: deparse(node),
        expr,
    })
}

/// `poly(x)` or `poly(x, k)`: R's orthogonal polynomials of one variable, degree `k` (1 by
/// default).
fn poly(call: &Node, args: &[Node]) -> Result<Expr, Problem> {
    let (arg, degree) = match args {
        [arg] => (arg, 1),
        [arg, k] => match k.kind {
            NodeKind::Number(x) if x.fract() == 0.0 && (1.0..=100.0).contains(&x) => {
                (arg, x as usize)
            }
            _ => {
                return Err(Problem::new(
                    FormulaErrorKind::InvalidPower,
                    k.span,
                    "the degree of `poly()` must be a whole number from 1 to 100",
                    "not a degree",
                )
                .help("write the degree as a number, e.g. `poly(months, 2)`"))
            }
        },
        _ => {
            return Err(Problem::new(
                FormulaErrorKind::WrongArgumentCount,
                call.span,
                format!("`poly()` takes a variable and a degree, found {} arguments", args.len()),
                "expected `poly(x, k)`",
            )
            .help("polynomials of several variables (`poly(x, z, degree = 2)`) and `raw = TRUE` are not supported; \
                   for raw powers write `x + I(x^2)`"))
        }
    };
    Ok(Expr::Poly {
        arg: Box::new(arithmetic(arg)?),
        degree,
    })
}

/// An expression R would evaluate arithmetically.
fn arithmetic(node: &Node) -> Result<Expr, Problem> {
    Ok(match &node.kind {
        NodeKind::Name(name) => Expr::Column(name.clone()),
        NodeKind::Number(x) => Expr::Number(*x),
        NodeKind::Unary(UnaryOp::Minus, e) => Expr::Neg(Box::new(arithmetic(e)?)),
        NodeKind::Unary(UnaryOp::Plus, e) | NodeKind::Paren(e) => arithmetic(e)?,
        NodeKind::Binary(op, lhs, rhs) => {
            let op = match op {
                BinaryOp::Add => ExprOp::Add,
                BinaryOp::Sub => ExprOp::Sub,
                BinaryOp::Mul => ExprOp::Mul,
                BinaryOp::Div => ExprOp::Div,
                BinaryOp::Pow => ExprOp::Pow,
                BinaryOp::Bar | BinaryOp::DoubleBar => return Err(misplaced_bar(node)),
                BinaryOp::Colon => {
                    return Err(Problem::new(
                        FormulaErrorKind::NotArithmetic,
                        node.span,
                        "`:` is not arithmetic",
                        "R would evaluate this as a sequence",
                    )
                    .help("inside I() and functions only `+ - * / ^` are supported"))
                }
            };
            Expr::Binary(op, Box::new(arithmetic(lhs)?), Box::new(arithmetic(rhs)?))
        }
        NodeKind::Call {
            name,
            name_span,
            args,
        } => {
            let Some(callee) = callee(name) else {
                let help = match name.as_str() {
                    "ns" | "bs" => format!(
                        "regression splines are not supported: there is no well-kept \
                         implementation of R's splines::{name}() to match; use orthogonal \
                         polynomials, `poly(x, k)`, or add the spline basis to the data as columns"
                    ),
                    _ => SUPPORTED.to_string(),
                };
                return Err(Problem::new(
                    FormulaErrorKind::UnknownFunction,
                    *name_span,
                    format!("unknown function `{name}()`"),
                    "not a supported function",
                )
                .help(help));
            };
            if matches!(callee, Callee::Poly | Callee::Factor) {
                return Err(Problem::new(
                    FormulaErrorKind::NotArithmetic,
                    node.span,
                    format!("`{name}()` inside an expression"),
                    "makes a variable of its own",
                )
                .help(format!(
                    "use `{name}()` as a term by itself, e.g. `y ~ {name}(x{})`",
                    if name == "poly" { ", 2" } else { "" }
                )));
            }
            let arg = single_argument(node, name, args)?;
            match callee {
                Callee::Identity => arithmetic(arg)?,
                Callee::Math(f) => Expr::Call(f, Box::new(arithmetic(arg)?)),
                Callee::Poly | Callee::Factor => unreachable!("refused above"),
                Callee::Offset => {
                    return Err(Problem::new(
                        FormulaErrorKind::MisplacedOffset,
                        node.span,
                        "`offset()` inside an expression",
                        "offsets cannot be nested",
                    )
                    .help("add offsets to the fixed part: `y ~ x + offset(log(t))`"))
                }
            }
        }
    })
}

fn single_argument<'a>(call: &Node, name: &str, args: &'a [Node]) -> Result<&'a Node, Problem> {
    match args {
        [arg] => Ok(arg),
        _ => Err(Problem::new(
            FormulaErrorKind::WrongArgumentCount,
            call.span,
            format!("`{name}()` takes one argument, found {}", args.len()),
            "expected exactly one argument",
        )
        .help(match name {
            "log" => {
                "R's second argument (the base) is not supported: write `log10(x)`, `log2(x)`, or `I(log(x)/log(b))`"
            }
            _ => "pass a single expression, e.g. `log(x + 1)`",
        })),
    }
}

pub fn misplaced_bar(node: &Node) -> Problem {
    Problem::new(
        FormulaErrorKind::MisplacedBar,
        node.span,
        "random-effect term in an unsupported position",
        "random-effect term",
    )
    .help("random-effect terms `(effects | group)` can only be added to a formula with `+`")
}
