//! Text to [`Formula`]: pest recognises the tokens, then R's operator precedence folds each flat
//! operand/operator sequence into a tree.

use std::iter::Peekable;

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::Parser;
use pest_derive::Parser;

use crate::tokens::{tokens, Dialect};

use super::ast::{BinaryOp, Formula, Node, NodeKind, Span, UnaryOp};
use crate::error::{FormulaErrorKind, Problem};

#[derive(Parser)]
#[grammar = "formula.pest"]
struct FormulaParser;

/// Deepest tree the later passes will walk. They recurse, and a left-nested chain such as
/// `a + a + ... + a` is as deep as it is long, so without a bound a long formula could
/// exhaust the stack. No real formula nests anywhere near this.
const MAX_DEPTH: usize = 400;

pub fn parse(src: &str) -> Result<Formula, Problem> {
    crate::limits::install();
    // Brackets deeper than the tree may be are refused before pest recurses into them.
    let mut open = 0usize;
    for (i, c) in src.char_indices() {
        match c {
            '(' => {
                open += 1;
                if open > MAX_DEPTH {
                    return Err(too_deep(Span::new(i, i + 1)));
                }
            }
            ')' => open = open.saturating_sub(1),
            _ => {}
        }
    }
    let mut pairs =
        FormulaParser::parse(Rule::formula_input, src).map_err(|e| syntax_problem(src, &e))?;
    let formula = pairs.next().expect("formula_input always yields a formula");
    build_formula(formula)
}

fn build_formula(pair: Pair<'_, Rule>) -> Result<Formula, Problem> {
    let mut response = None;
    let mut tilde = None;
    let mut rhs = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::response => {
                let expr = p.into_inner().next().expect("response wraps an expr");
                response = Some(build_expr(expr, 0, false)?.0);
            }
            Rule::tilde => tilde = Some(span_of(&p)),
            Rule::expr => rhs = Some(build_expr(p, 0, true)?.0),
            r => unreachable!("formula holds no {r:?}"),
        }
    }
    Ok(Formula {
        response,
        tilde: tilde.expect("formula has a `~`"),
        rhs: rhs.expect("formula has a right-hand side"),
    })
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    Span::new(pair.as_span().start(), pair.as_span().end())
}

/// Binding power of an infix operator, loosest first, as in R's `?Syntax` (`%any%` is not
/// supported); R's unary minus sits between `:` and `^`.
fn infix(rule: Rule) -> Option<(BinaryOp, u8)> {
    Some(match rule {
        Rule::bar => (BinaryOp::Bar, 1),
        Rule::double_bar => (BinaryOp::DoubleBar, 1),
        Rule::add => (BinaryOp::Add, 2),
        Rule::sub => (BinaryOp::Sub, 2),
        Rule::mul => (BinaryOp::Mul, 3),
        Rule::div => (BinaryOp::Div, 3),
        Rule::colon => (BinaryOp::Colon, 4),
        Rule::pow => (BinaryOp::Pow, 6),
        _ => return None,
    })
}
const UNARY_POWER: u8 = 5;

/// Builds a tree from an `expr` pair, returning it with its height. `algebra` is whether the
/// expression is formula algebra (terms), rather than arithmetic inside a call.
fn build_expr(pair: Pair<'_, Rule>, depth: usize, algebra: bool) -> Result<(Node, usize), Problem> {
    let mut tokens = pair.into_inner().peekable();
    climb(&mut tokens, 0, depth, algebra)
}

/// Precedence climbing over `operand (infix operand)*`. `depth` is how deeply the caller is
/// nested, so `depth + height` bounds the finished tree.
///
/// In formula algebra, a run of terms joined by `+` becomes a balanced tree rather than a
/// left-nested chain: `+` of terms is associative (the terms concatenate in order, repeats
/// dropped), and a balanced tree is as deep as the logarithm of the run's length, so a flat
/// list of hundreds of terms is not "nested" past the limit. Arithmetic keeps R's left
/// nesting, which decides the order of floating-point sums.
fn climb(
    tokens: &mut Peekable<Pairs<'_, Rule>>,
    min_power: u8,
    depth: usize,
    algebra: bool,
) -> Result<(Node, usize), Problem> {
    let first = tokens.next().expect("an expr starts with an operand");
    let (mut lhs, mut height) = match first.as_rule() {
        Rule::neg | Rule::pos => {
            let op = if first.as_rule() == Rule::neg {
                UnaryOp::Minus
            } else {
                UnaryOp::Plus
            };
            // Operands of a prefix operator bind at unary strength: `-a^2` is `-(a^2)` and
            // `-a:b` is `(-a):b`.
            let (operand, h) = climb(tokens, UNARY_POWER, deeper(depth, &first)?, algebra)?;
            let span = span_of(&first).to(operand.span);
            (
                Node {
                    kind: NodeKind::Unary(op, Box::new(operand)),
                    span,
                },
                h + 1,
            )
        }
        _ => build_primary(first, depth, algebra)?,
    };
    // The operands after `lhs` of the current run of `+` in formula algebra.
    let mut run: Vec<(Node, usize)> = Vec::new();
    while let Some((op, power)) = tokens.peek().and_then(|p| infix(p.as_rule())) {
        if power < min_power {
            break;
        }
        let op_pair = tokens.next().expect("peeked");
        // `^` is right-associative; everything else associates to the left.
        let next_min = if op == BinaryOp::Pow {
            power
        } else {
            power + 1
        };
        let (rhs, rh) = climb(tokens, next_min, deeper(depth, &op_pair)?, algebra)?;
        if algebra && op == BinaryOp::Add {
            run.push((rhs, rh));
            continue;
        }
        (lhs, height) = sum(lhs, height, std::mem::take(&mut run));
        height = height.max(rh) + 1;
        let span = lhs.span.to(rhs.span);
        lhs = Node {
            kind: NodeKind::Binary(op, Box::new(lhs), Box::new(rhs)),
            span,
        };
        if depth + height > MAX_DEPTH {
            return Err(too_deep(lhs.span));
        }
    }
    let (lhs, height) = sum(lhs, height, run);
    if depth + height > MAX_DEPTH {
        return Err(too_deep(lhs.span));
    }
    Ok((lhs, height))
}

/// `first + run[0] + run[1] + …` as a balanced tree of `+`, with its height.
fn sum(first: Node, height: usize, run: Vec<(Node, usize)>) -> (Node, usize) {
    fn balanced(mut items: Vec<(Node, usize)>) -> (Node, usize) {
        if items.len() == 1 {
            return items.pop().expect("one item");
        }
        let right = items.split_off(items.len() / 2);
        let ((lhs, lh), (rhs, rh)) = (balanced(items), balanced(right));
        let span = lhs.span.to(rhs.span);
        let kind = NodeKind::Binary(BinaryOp::Add, Box::new(lhs), Box::new(rhs));
        (Node { kind, span }, lh.max(rh) + 1)
    }
    let mut items = Vec::with_capacity(run.len() + 1);
    items.push((first, height));
    items.extend(run);
    balanced(items)
}

fn deeper(depth: usize, at: &Pair<'_, Rule>) -> Result<usize, Problem> {
    if depth >= MAX_DEPTH {
        return Err(too_deep(span_of(at)));
    }
    Ok(depth + 1)
}

fn too_deep(span: Span) -> Problem {
    Problem::new(
        FormulaErrorKind::TooComplex,
        span,
        "formula is nested too deeply",
        "nesting limit reached here",
    )
    .help(format!(
        "formulas may nest operators and parentheses at most {MAX_DEPTH} levels deep"
    ))
}

fn build_primary(
    pair: Pair<'_, Rule>,
    depth: usize,
    algebra: bool,
) -> Result<(Node, usize), Problem> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::number => {
            // The grammar only admits decimal literals, which always parse (huge ones to
            // infinity, as in R).
            let value = pair
                .as_str()
                .parse::<f64>()
                .expect("grammar admits only decimals");
            Ok((
                Node {
                    kind: NodeKind::Number(value),
                    span,
                },
                1,
            ))
        }
        Rule::name => {
            let inner = pair
                .into_inner()
                .next()
                .expect("a name holds an ident or quoted text");
            let name = inner.as_str().to_string();
            if inner.as_rule() == Rule::ident {
                check_not_reserved(&name, span)?;
            }
            if name == "." {
                return Err(Problem::new(
                    FormulaErrorKind::ReservedName,
                    span,
                    "`.` (all other columns) is not supported",
                    "list the variables instead",
                ));
            }
            Ok((
                Node {
                    kind: NodeKind::Name(name),
                    span,
                },
                1,
            ))
        }
        Rule::paren => {
            let depth = deeper(depth, &pair)?;
            let expr = pair.into_inner().next().expect("a paren holds an expr");
            let (inner, h) = build_expr(expr, depth, algebra)?;
            Ok((
                Node {
                    kind: NodeKind::Paren(Box::new(inner)),
                    span,
                },
                h + 1,
            ))
        }
        Rule::call => {
            let depth = deeper(depth, &pair)?;
            let mut inner = pair.into_inner();
            let callee = inner.next().expect("a call starts with its name");
            check_not_reserved(callee.as_str(), span_of(&callee))?;
            let mut args = Vec::new();
            let mut height = 0;
            for p in inner.filter(|p| p.as_rule() == Rule::expr) {
                let (arg, h) = build_expr(p, depth, false)?;
                height = height.max(h);
                args.push(arg);
            }
            let kind = NodeKind::Call {
                name: callee.as_str().to_string(),
                name_span: span_of(&callee),
                args,
            };
            Ok((Node { kind, span }, height + 1))
        }
        r => unreachable!("{r:?} is not a primary"),
    }
}

/// R's reserved words parse as constants or keywords, never as variables; `...` and `..1`
/// are argument placeholders.
fn check_not_reserved(name: &str, span: Span) -> Result<(), Problem> {
    let dots = name.starts_with("..")
        && (name == "..." || (name.len() > 2 && name[2..].bytes().all(|b| b.is_ascii_digit())));
    if !(super::deparse::is_reserved(name) || dots) {
        return Ok(());
    }
    Err(Problem::new(
        FormulaErrorKind::ReservedName,
        span,
        format!("`{name}` is a reserved word in R, not a variable"),
        "reserved word",
    )
    .help(format!(
        "if a column is called {name}, write it in backquotes: `{name}`"
    )))
}

/// Turns pest's failure into the most specific diagnosis available: a missing `~` or an
/// unbalanced parenthesis explains most failures better than the position where pest
/// happened to give up.
fn syntax_problem(src: &str, err: &pest::error::Error<Rule>) -> Problem {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        ErrorVariant::CustomError { .. } => {
            // Only pest's resource limits raise custom errors.
            return Problem::new(
                FormulaErrorKind::TooComplex,
                Span::new(0, src.len()),
                "formula is too complex to parse",
                "parsing stopped here",
            )
            .help("simplify the formula; it exceeds the parser's resource limits");
        }
    };
    let spans = tokens(src, Dialect::Formula);
    if !spans.iter().any(|t| &src[t.start..t.end] == "~") {
        let trimmed = trimmed_span(src);
        return Problem::new(
            FormulaErrorKind::MissingTilde,
            trimmed,
            "formula has no `~`",
            "expected `response ~ terms`",
        )
        .help("a model formula names the response, then `~`, then the terms: `y ~ x + (1 | g)`");
    }
    if let Some(problem) = unbalanced_paren(src, &spans) {
        return problem;
    }
    // The token pest stopped in, from where it stopped: in `2x` that is the `x`.
    let at = spans.iter().position(|t| t.end > pos);
    let token = at.map(|i| Span::new(pos.max(spans[i].start), spans[i].end));
    let prev = match at {
        Some(i) => i.checked_sub(1).map(|j| spans[j]),
        None => spans.last().copied(),
    };
    let text = |s: Span| &src[s.start..s.end];
    let expected = describe_expected(positives);
    match (prev, token) {
        (Some(prev), Some(token)) if matches!(text(prev), "|" | "||") && text(token) == ")" => {
            Problem::new(
                FormulaErrorKind::EmptyGrouping,
                prev.to(token),
                "random-effect term has no grouping factor",
                "expected a grouping variable after the bar",
            )
            .help("name the grouping factor after `|`, e.g. `(1 | subject)`")
        }
        (Some(prev), Some(token)) if text(prev) == "(" && matches!(text(token), "|" | "||") => {
            Problem::new(
                FormulaErrorKind::Syntax,
                token,
                format!("unexpected `{}`", text(token)),
                "expected the random effects before the bar",
            )
            .help("write `1` for a random intercept, e.g. `(1 | subject)`")
        }
        (_, Some(token)) if text(token).starts_with('`') => {
            let (message, label) = if text(token) == "``" {
                (
                    "empty backquoted name",
                    "a name needs at least one character",
                )
            } else {
                ("unclosed backquote", "this name has no closing backquote")
            };
            Problem::new(FormulaErrorKind::Syntax, token, message, label)
        }
        (_, Some(token)) => Problem::new(
            FormulaErrorKind::Syntax,
            token,
            format!("unexpected `{}`", text(token)),
            format!("expected {expected}"),
        ),
        // At the end of the input there is no token to underline; the last one is what needs
        // a continuation.
        (prev, None) => Problem::new(
            FormulaErrorKind::Syntax,
            prev.unwrap_or(Span::new(pos, pos)),
            "unexpected end of formula",
            format!("expected {expected} after this"),
        ),
    }
}

fn trimmed_span(src: &str) -> Span {
    let start = src.len() - src.trim_start().len();
    let end = src.trim_end().len().max(start);
    Span::new(start, end)
}

fn unbalanced_paren(src: &str, tokens: &[Span]) -> Option<Problem> {
    let mut open = Vec::new();
    for &t in tokens {
        match &src[t.start..t.end] {
            "(" => open.push(t),
            ")" if open.pop().is_none() => {
                return Some(
                    Problem::new(
                        FormulaErrorKind::UnbalancedParen,
                        t,
                        "unbalanced parenthesis",
                        "this `)` has no matching `(`",
                    )
                    .help("remove the `)` or add the `(` it closes"),
                );
            }
            _ => {}
        }
    }
    open.first().map(|&t| {
        Problem::new(
            FormulaErrorKind::UnbalancedParen,
            t,
            "unbalanced parenthesis",
            "this `(` is never closed",
        )
        .help("add the missing `)`")
    })
}

/// The rules pest was trying at the failure, in words.
fn describe_expected(positives: &[Rule]) -> String {
    let mut items: Vec<&str> = Vec::new();
    let mut push = |s| {
        if !items.contains(&s) {
            items.push(s);
        }
    };
    let mut operand = false;
    let mut operator = false;
    for rule in positives {
        match rule {
            Rule::rparen => push("`)`"),
            Rule::comma => push("`,`"),
            Rule::tilde => push("`~`"),
            Rule::EOI => push("the end of the formula"),
            r if infix(*r).is_some() => operator = true,
            _ => operand = true,
        }
    }
    let mut words: Vec<&str> = Vec::new();
    if operand {
        words.extend(["a variable", "number", "`(`"]);
    }
    if operator {
        words.push("an operator (`+ - * / : ^ |`)");
    }
    words.extend(items);
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "something else".to_string(),
    }
}
