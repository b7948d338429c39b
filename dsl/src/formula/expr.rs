//! What a formula's non-operator pieces mean: data columns, `I()` and the maths functions,
//! which become single numeric variables, and `offset()`. Inside a function's parentheses R
//! evaluates ordinary arithmetic, so `log(a*b)` is the log of a product, not a crossing.

use mixspec_engine::spec::{BinaryOp as ExprOp, Expr, Function, Variable};

use super::ast::{BinaryOp, Node, NodeKind, UnaryOp};
use super::deparse::deparse;
use crate::error::{FormulaErrorKind, Problem};

const SUPPORTED: &str = "supported functions: I(), log(), exp(), sqrt(), abs() and offset()";

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
}

fn callee(name: &str) -> Option<Callee> {
    Some(match name {
        "I" => Callee::Identity,
        "log" => Callee::Math(Function::Log),
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

/// Any expression as one numeric variable, labelled as R labels it.
fn variable(node: &Node) -> Result<Variable, Problem> {
    Ok(Variable {
        label: deparse(node),
        expr: arithmetic(node)?,
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
                return Err(Problem::new(
                    FormulaErrorKind::UnknownFunction,
                    *name_span,
                    format!("unknown function `{name}()`"),
                    "not a supported function",
                )
                .help(SUPPORTED));
            };
            let arg = single_argument(node, name, args)?;
            match callee {
                Callee::Identity => arithmetic(arg)?,
                Callee::Math(f) => Expr::Call(f, Box::new(arithmetic(arg)?)),
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
                "only natural logarithms are supported: write `log(x)`, or `I(log(x)/log(10))`"
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
