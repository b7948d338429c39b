//! Expressions of `derive`, `when` and `where`: pest yields a flat operand/operator sequence,
//! a Pratt parser folds it by precedence (loosest first: or, and, not, comparisons, `+ -`,
//! `* /`, unary minus, `^`, as in R), and calls are resolved to functions here so that a
//! misspelt function is reported where it is written.

use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::{BinaryOp, Expr, ExprKind, Function, Name, Span, UnaryOp};
use super::diagnostic::{closest, quoted_list, SpecDiagnostic, SpecErrorKind};
use super::parse::{name, span_of, string, Rule};

/// Deepest expression tree accepted: the checks and the evaluation recurse over it. No
/// hand-written expression comes near.
const MAX_DEPTH: usize = 200;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::prefix(Rule::not))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::infix(Rule::pow, Assoc::Right))
});

type Built = Result<(Expr, usize), SpecDiagnostic>;

/// Builds the expression of an `expr` pair.
pub fn build(pair: Pair<'_, Rule>) -> Result<Expr, SpecDiagnostic> {
    climb(pair).map(|(e, _)| e)
}

/// The expression and its height.
fn climb(pair: Pair<'_, Rule>) -> Built {
    // The Pratt parser recurses once per prefix and per right-associative operator, before
    // any tree exists to measure: bound the operators first.
    if pair.clone().into_inner().count() > 2 * MAX_DEPTH {
        return Err(too_deep(span_of(&pair)));
    }
    PRATT
        .map_primary(primary)
        .map_prefix(|op, operand| {
            let (operand, height) = operand?;
            let span = span_of(&op).to(operand.span);
            let op = match op.as_rule() {
                Rule::neg => UnaryOp::Neg,
                _ => UnaryOp::Not,
            };
            node(ExprKind::Unary(op, Box::new(operand)), span, height)
        })
        .map_infix(|lhs, op, rhs| {
            let ((lhs, lh), (rhs, rh)) = (lhs?, rhs?);
            let op = binary(op.as_rule());
            let span = lhs.span.to(rhs.span);
            node(
                ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
                lh.max(rh),
            )
        })
        .parse(pair.into_inner())
}

/// A node over children of height `height`, unless that makes the tree too deep.
fn node(kind: ExprKind, span: Span, height: usize) -> Built {
    if height >= MAX_DEPTH {
        return Err(too_deep(span));
    }
    Ok((Expr { kind, span }, height + 1))
}

fn too_deep(span: Span) -> SpecDiagnostic {
    SpecDiagnostic::new(
        SpecErrorKind::TooComplex,
        span,
        "expression is nested too deeply",
        "too deep to check",
    )
    .help(format!(
        "expressions may nest at most {MAX_DEPTH} operators and parentheses deep"
    ))
}

fn binary(rule: Rule) -> BinaryOp {
    match rule {
        Rule::or => BinaryOp::Or,
        Rule::and => BinaryOp::And,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::lt => BinaryOp::Lt,
        Rule::le => BinaryOp::Le,
        Rule::gt => BinaryOp::Gt,
        Rule::ge => BinaryOp::Ge,
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        Rule::div => BinaryOp::Div,
        Rule::pow => BinaryOp::Pow,
        r => unreachable!("{r:?} is not an infix operator"),
    }
}

fn primary(pair: Pair<'_, Rule>) -> Built {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::number => {
            let value = pair
                .as_str()
                .parse()
                .expect("the grammar admits only decimals");
            node(ExprKind::Number(value), span, 0)
        }
        Rule::string => node(ExprKind::Text(string(pair).text), span, 0),
        // R's missing value, as a number (a column named NA is `` `NA` ``).
        Rule::name if pair.as_str() == "NA" => node(ExprKind::Number(f64::NAN), span, 0),
        Rule::name => node(ExprKind::Variable(name(pair).text), span, 0),
        Rule::paren => {
            // The inner expression, spanning its parentheses so labels underline them too.
            let (mut inner, height) = climb(pair.into_inner().next().expect("( expr )"))?;
            inner.span = span;
            Ok((inner, height))
        }
        Rule::conditional => {
            let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
            let mut next = || climb(parts.next().expect("if, then and else each hold an expr"));
            let (condition, a) = next()?;
            let (then, b) = next()?;
            let (otherwise, c) = next()?;
            node(
                ExprKind::If {
                    condition: Box::new(condition),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                },
                span,
                a.max(b).max(c),
            )
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let callee = name(inner.next().expect("a call starts with its name"));
            let mut args = Vec::new();
            let mut height = 0;
            for p in inner.filter(|p| p.as_rule() == Rule::expr) {
                let (arg, h) = climb(p)?;
                height = height.max(h);
                args.push(arg);
            }
            let function = function(&callee)?;
            if args.len() != 1 {
                return Err(SpecDiagnostic::new(
                    SpecErrorKind::Arguments,
                    span,
                    format!(
                        "`{}()` takes one argument, found {}",
                        callee.text,
                        args.len()
                    ),
                    "expected exactly one argument",
                )
                .help(format!("write `{}(x)`", callee.text)));
            }
            node(ExprKind::Call { function, args }, span, height)
        }
        r => unreachable!("{r:?} is not a primary"),
    }
}

fn function(callee: &Name) -> Result<Function, SpecDiagnostic> {
    Function::ALL
        .iter()
        .find(|(n, _)| *n == callee.text)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let names: Vec<&str> = Function::ALL.iter().map(|(n, _)| *n).collect();
            SpecDiagnostic::new(
                SpecErrorKind::UnknownFunction,
                callee.span,
                format!("unknown function `{}()`", callee.text),
                "not a function of the spec language",
            )
            .help(match closest(&callee.text, names.iter().copied()) {
                Some(g) => format!(
                    "did you mean `{g}`? the functions are: {}",
                    quoted_list(&names)
                ),
                None => format!("the functions are: {}", quoted_list(&names)),
            })
        })
}
