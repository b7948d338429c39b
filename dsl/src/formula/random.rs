//! Random-effect bars, handled as lme4 does before any formula algebra: `nobars()` leaves the
//! fixed-effect formula, `findbars()` collects the bars in formula order, `||` is split into
//! uncorrelated terms and `g1/g2` grouping is expanded into one bar per nesting level.

use mixspec_engine::spec::{RandomTerm, TermList};

use super::ast::{BinaryOp, Node, NodeKind, UnaryOp};
use super::expand::random_effects;
use crate::error::{FormulaErrorKind, Problem};

/// One `(effects | grouping)` as written.
pub struct Bar<'a> {
    /// `||`: no correlation between the effects.
    uncorrelated: bool,
    effects: &'a Node,
    grouping: &'a Node,
}

/// The right-hand side as one bar when it is an unparenthesized `effects | grouping`: R's
/// `|` binds loosest, so `y ~ x + z | g` is `y ~ (x + z | g)`, and lme4's `findbars()` and
/// `nobars()` leave one random term and the fixed part `~ 1`.
pub fn bare(rhs: &Node) -> Option<Bar<'_>> {
    match &rhs.kind {
        NodeKind::Binary(op @ (BinaryOp::Bar | BinaryOp::DoubleBar), effects, grouping) => {
            Some(Bar {
                uncorrelated: *op == BinaryOp::DoubleBar,
                effects,
                grouping,
            })
        }
        _ => None,
    }
}

/// Removes the bars from the right-hand side, collecting them in `bars`; `None` means nothing
/// but bars was written.
///
/// Bars are only looked for where lme4's removal of them agrees with what the formula says:
/// in parentheses, added with `+`. lme4 also finds bars elsewhere but then mangles the fixed
/// part (`(1 | g) - x` has `x` as a fixed effect and `a * (1 | g)` drops the crossing), so a bar
/// anywhere else is left in place for the term expansion to reject. (A right-hand side that
/// is a bar as a whole is [`bare`].)
pub fn split<'a>(node: &'a Node, bars: &mut Vec<Bar<'a>>) -> Result<Option<Node>, Problem> {
    let rebuild = |kind| {
        Some(Node {
            kind,
            span: node.span,
        })
    };
    Ok(match &node.kind {
        NodeKind::Paren(inner) => match inner.as_bar() {
            Some((uncorrelated, effects, grouping)) => {
                bars.push(Bar {
                    uncorrelated,
                    effects,
                    grouping,
                });
                None
            }
            None => split(inner, bars)?.and_then(|n| rebuild(NodeKind::Paren(Box::new(n)))),
        },
        NodeKind::Binary(BinaryOp::Bar | BinaryOp::DoubleBar, ..) => {
            return Err(Problem::new(
                FormulaErrorKind::MisplacedBar,
                node.span,
                "random-effect term without parentheses",
                "this bar takes everything on its left as effects",
            )
            .help("put each random-effect term in parentheses: `y ~ x + (1 + x | g)`"))
        }
        NodeKind::Unary(UnaryOp::Plus, inner) => {
            split(inner, bars)?.and_then(|n| rebuild(NodeKind::Unary(UnaryOp::Plus, Box::new(n))))
        }
        NodeKind::Binary(BinaryOp::Add, lhs, rhs) => match (split(lhs, bars)?, split(rhs, bars)?) {
            (Some(l), Some(r)) => {
                rebuild(NodeKind::Binary(BinaryOp::Add, Box::new(l), Box::new(r)))
            }
            (l, r) => l.or(r),
        },
        NodeKind::Binary(BinaryOp::Sub, lhs, rhs) => match split(lhs, bars)? {
            Some(l) => rebuild(NodeKind::Binary(BinaryOp::Sub, Box::new(l), rhs.clone())),
            // lme4 would keep the right operand as if it had been added: `(1 | g) - 1` keeps
            // the intercept.
            None => return Err(Problem::new(
                FormulaErrorKind::MisplacedBar,
                node.span,
                "`-` directly after random-effect terms",
                "lme4 would add what this subtracts",
            )
            .help(
                "write the fixed part first, e.g. `y ~ x - 1 + (1 | g)` or `y ~ 0 + x + (1 | g)`",
            )),
        },
        _ => Some(node.clone()),
    })
}

/// The random terms one bar stands for, in lme4's order: `||` splits first, then each piece
/// is expanded over the nesting levels of its grouping.
pub fn expand(bar: &Bar<'_>) -> Result<Vec<RandomTerm>, Problem> {
    let effects = random_effects(bar.effects)?;
    if !effects.intercept && effects.terms.is_empty() {
        return Err(Problem::new(
            FormulaErrorKind::EmptyRandomTerm,
            bar.effects.span,
            "random-effect term has no effects",
            "no intercept and no terms",
        )
        .help("use `1` for a random intercept, e.g. `(1 | g)`"));
    }
    let groupings = groupings(bar.grouping)?;
    let pieces = if bar.uncorrelated {
        uncorrelated(effects)
    } else {
        vec![effects]
    };
    Ok(pieces
        .iter()
        .flat_map(|terms| {
            groupings.iter().map(|(g, name)| RandomTerm {
                terms: terms.clone(),
                grouping: g.clone(),
                name: name.clone(),
                covariance: Default::default(),
            })
        })
        .collect())
}

/// lme4's `expandDoubleVerts()`: `(1 | g)` for the intercept if present, then `(0 + t | g)` for
/// each term `t`.
fn uncorrelated(effects: TermList) -> Vec<TermList> {
    let intercept = effects.intercept.then(|| TermList {
        intercept: true,
        terms: Vec::new(),
    });
    intercept
        .into_iter()
        .chain(effects.terms.into_iter().map(|t| TermList {
            intercept: false,
            terms: vec![t],
        }))
        .collect()
}

/// lme4's `expandSlash()`: `a/b/c` is nested as `c:b:a`, `b:a`, `a`, each the interaction of a
/// level with all levels it is nested in, innermost first. Each comes with the name lme4
/// deparses for it: `c:(b:a)`, `b:a`, `a`.
fn groupings(node: &Node) -> Result<Vec<(Vec<String>, String)>, Problem> {
    if !contains_slash(node) {
        let vars = interaction(node)?;
        let name = vars.join(":");
        return Ok(vec![(vars, name)]);
    }
    let pieces = slash_pieces(node)?;
    // lme4's `makeInteraction()` only handles a plain name as the outermost level.
    if !matches!(pieces[0].kind, NodeKind::Name(_)) {
        return Err(invalid_grouping(pieces[0])
            .help("lme4 cannot nest within an interaction; write the levels out, e.g. `(1 | a:b) + (1 | a:b:c)`"));
    }
    let names = pieces
        .iter()
        .map(|p| interaction(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut labels: Vec<String> = Vec::with_capacity(names.len());
    for (k, level) in names.iter().enumerate() {
        let level = level.join(":");
        labels.push(match k {
            0 => level,
            1 => format!("{level}:{}", labels[0]),
            _ => format!("{level}:({})", labels[k - 1]),
        });
    }
    Ok((1..=names.len())
        .rev()
        .map(|k| {
            (
                names[..k].iter().rev().flatten().cloned().collect(),
                labels[k - 1].clone(),
            )
        })
        .collect())
}

/// lme4's `slashTerms()`: the levels of a left-nested `a/b/c`.
fn slash_pieces(node: &Node) -> Result<Vec<&Node>, Problem> {
    match &node.kind {
        NodeKind::Binary(BinaryOp::Div, lhs, rhs) if !contains_slash(rhs) => {
            let mut pieces = if contains_slash(lhs) {
                slash_pieces(lhs)?
            } else {
                vec![&**lhs]
            };
            pieces.push(rhs);
            Ok(pieces)
        }
        _ => Err(invalid_grouping(node).help("nest grouping factors left to right: `(1 | a/b/c)`")),
    }
}

fn contains_slash(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Binary(op, lhs, rhs) => {
            *op == BinaryOp::Div || contains_slash(lhs) || contains_slash(rhs)
        }
        NodeKind::Paren(inner) | NodeKind::Unary(_, inner) => contains_slash(inner),
        NodeKind::Call { args, .. } => args.iter().any(contains_slash),
        NodeKind::Name(_) | NodeKind::Number(_) => false,
    }
}

/// The variables of `g` or `g1:g2:...`, whose interaction's levels define the groups.
fn interaction(node: &Node) -> Result<Vec<String>, Problem> {
    match &node.kind {
        NodeKind::Name(name) => Ok(vec![name.clone()]),
        NodeKind::Paren(inner) => interaction(inner),
        NodeKind::Binary(BinaryOp::Colon, lhs, rhs) => {
            let mut names = interaction(lhs)?;
            names.extend(interaction(rhs)?);
            Ok(names)
        }
        _ => Err(invalid_grouping(node).help(
            "a grouping factor is a variable (`g`), an interaction (`g1:g2`) or nested (`g1/g2`)",
        )),
    }
}

fn invalid_grouping(node: &Node) -> Problem {
    Problem::new(
        FormulaErrorKind::InvalidGrouping,
        node.span,
        "invalid grouping factor",
        "cannot group by this",
    )
}
