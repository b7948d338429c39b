//! R's formula algebra, as `terms.formula()` implements it in C (`src/library/stats/src/
//! model.c`): each subformula expands to a list of terms, a term being a set of variables, and
//! `+ - * / : ^` combine those lists. Following the C code step by step, down to the order in
//! which lists are concatenated and the global intercept flag that `0`, `1` and `-` toggle, is
//! what makes term order and labels agree with R rather than merely the term sets.

use std::collections::HashSet;

use mixspec_engine::spec::{Expr, Term, TermList, Variable};

use super::ast::{BinaryOp, Node, NodeKind, Span, UnaryOp};
use super::deparse::deparse;
use super::expr::{atom, misplaced_bar, Atom};
use crate::error::{FormulaErrorKind, Problem};

/// Most terms one subformula may expand to; `a*b*c*...` doubles per factor, and past this the
/// model could not be fitted anyway.
const MAX_TERMS: usize = 10_000;

/// A term as the indices of its variables, ascending, i.e. in order of first appearance.
type Bits = Vec<usize>;

/// The fixed part, expanded: its terms and the offsets found among them.
pub struct Fixed {
    pub terms: TermList,
    pub offsets: Vec<Expr>,
}

/// Expands the bar-free right-hand side (`None` when only random terms were written, which
/// lme4 treats as `~ 1`). `response` is registered first, as R does, so that it can be
/// recognised if it reappears among the terms.
pub fn fixed(rhs: Option<&Node>, response: &Variable) -> Result<Fixed, Problem> {
    let mut enc = Encoder::new(true);
    enc.vars.push(Var {
        label: response.label.clone(),
        atom: Atom::Variable(response.clone()),
    });
    let bits = match rhs {
        Some(node) => enc.encode(node)?,
        None => Vec::new(),
    };
    if let Some(span) = enc
        .response_seen
        .filter(|_| bits.iter().any(|t| t.contains(&0)))
    {
        return Err(Problem::new(
            FormulaErrorKind::ResponseOnRhs,
            span,
            format!(
                "the response `{}` also appears on the right-hand side",
                response.label
            ),
            "response used as a predictor",
        )
        .help("a variable cannot predict itself; remove it from the terms"));
    }
    let is_offset: Vec<bool> = enc
        .vars
        .iter()
        .map(|v| matches!(v.atom, Atom::Offset(_)))
        .collect();
    // R drops every term that involves an offset; the offsets themselves are all offset
    // variables of the formula, in variable order, even ones whose terms were subtracted.
    let bits = bits
        .into_iter()
        .filter(|t| !t.iter().any(|&i| is_offset[i]))
        .collect();
    let terms = enc.term_list(bits);
    let offsets = enc
        .vars
        .into_iter()
        .filter_map(|v| match v.atom {
            Atom::Offset(e) => Some(e),
            Atom::Variable(_) => None,
        })
        .collect();
    Ok(Fixed { terms, offsets })
}

/// Expands the left of a random-effect bar as lme4 does, via `model.matrix(~ effects)`: a
/// formula of its own, with its own variable order and an implicit intercept.
pub fn random_effects(effects: &Node) -> Result<TermList, Problem> {
    let mut enc = Encoder::new(false);
    let bits = enc.encode(effects)?;
    Ok(enc.term_list(bits))
}

struct Var {
    label: String,
    atom: Atom,
}

struct Encoder {
    vars: Vec<Var>,
    /// R's global `intercept` flag: the last `0` or `1` seen decides it.
    intercept: bool,
    /// R's `parity`: false inside the right operand of `-`, where `1` removes the intercept.
    parity: bool,
    /// Whether this is the fixed part, the only place offsets may be added and the one that
    /// shares its variable list with the response.
    fixed: bool,
    /// Where the response first reappeared on the right-hand side.
    response_seen: Option<Span>,
}

impl Encoder {
    fn new(fixed: bool) -> Self {
        Self {
            vars: Vec::new(),
            intercept: true,
            parity: true,
            fixed,
            response_seen: None,
        }
    }

    /// R's `EncodeVars()`.
    fn encode(&mut self, node: &Node) -> Result<Vec<Bits>, Problem> {
        match &node.kind {
            NodeKind::Number(x) if *x == 1.0 => {
                self.intercept = self.parity;
                Ok(Vec::new())
            }
            NodeKind::Number(x) if *x == 0.0 => {
                self.intercept = !self.parity;
                Ok(Vec::new())
            }
            NodeKind::Number(_) => Err(Problem::new(
                FormulaErrorKind::NumberTerm,
                node.span,
                "a number cannot be a term",
                "only `0` and `1` may stand alone",
            )
            .help(
                "`1` adds and `0` removes the intercept; for arithmetic use I(), e.g. `I(2 * x)`",
            )),
            NodeKind::Paren(inner) | NodeKind::Unary(UnaryOp::Plus, inner) => self.encode(inner),
            NodeKind::Unary(UnaryOp::Minus, inner) => self.delete(Vec::new(), inner),
            NodeKind::Name(_) | NodeKind::Call { .. } => Ok(vec![vec![self.install(node)?]]),
            NodeKind::Binary(op, lhs, rhs) => match op {
                BinaryOp::Add => {
                    let mut terms = self.encode(lhs)?;
                    terms.extend(self.encode(rhs)?);
                    Ok(trim(terms))
                }
                BinaryOp::Sub => {
                    let left = self.encode(lhs)?;
                    self.delete(left, rhs)
                }
                BinaryOp::Colon => {
                    let left = self.encode(lhs)?;
                    let right = self.encode(rhs)?;
                    Ok(trim(interact(&left, &right, node.span)?))
                }
                // R's `CrossTerms()` and `NestTerms()` append to the left list in place, so
                // when the left side expands to nothing (`0 * b`, `(-a)/b`) so does the result.
                BinaryOp::Mul => {
                    let mut left = self.encode(lhs)?;
                    let right = self.encode(rhs)?;
                    if left.is_empty() {
                        return Ok(left);
                    }
                    let products = interact(&left, &right, node.span)?;
                    left.extend(right);
                    left.extend(products);
                    Ok(trim(left))
                }
                BinaryOp::Div => {
                    // `a/b`: `b` within each level of everything on the left.
                    let mut left = self.encode(lhs)?;
                    let right = self.encode(rhs)?;
                    if left.is_empty() {
                        return Ok(left);
                    }
                    let all: Bits = left.iter().fold(Vec::new(), |acc, t| union(&acc, t));
                    left.extend(right.iter().map(|t| union(&all, t)));
                    Ok(trim(left))
                }
                BinaryOp::Pow => self.power(node, lhs, rhs),
                BinaryOp::Bar | BinaryOp::DoubleBar => Err(misplaced_bar(node)),
            },
        }
    }

    /// R's `DeleteTerms()`: the right operand is expanded with the parity flipped, so that
    /// `- 1` and `- 0` flip their effect on the intercept.
    fn delete(&mut self, left: Vec<Bits>, rhs: &Node) -> Result<Vec<Bits>, Problem> {
        self.parity = !self.parity;
        let right = self.encode(rhs);
        self.parity = !self.parity;
        let right: HashSet<Bits> = right?.into_iter().collect();
        Ok(left.into_iter().filter(|t| !right.contains(t)).collect())
    }

    /// R's `PowerTerms()`, restricted to a parenthesised left operand: R accepts `x^2` and
    /// silently reads it as `x`, which is never what was meant.
    fn power(&mut self, node: &Node, lhs: &Node, rhs: &Node) -> Result<Vec<Bits>, Problem> {
        if !matches!(lhs.kind, NodeKind::Paren(_)) {
            return Err(Problem::new(
                FormulaErrorKind::InvalidPower,
                node.span,
                "`^` in a formula applies to a parenthesised sum of terms",
                "formula power of a single term",
            )
            .help(format!(
                "for an arithmetic power write `I({})`; for interactions up to order k write `(a + b + c)^k`",
                deparse(node)
            )));
        }
        let power = match rhs.kind {
            NodeKind::Number(x) if x.fract() == 0.0 && (2.0..=i32::MAX as f64).contains(&x) => {
                x as usize
            }
            _ => {
                return Err(Problem::new(
                    FormulaErrorKind::InvalidPower,
                    rhs.span,
                    "invalid power in formula",
                    "expected a whole number of at least 2",
                )
                .help("`(a + b + c)^2` gives the main effects and all two-way interactions"))
            }
        };
        let left = self.encode(lhs)?;
        let mut right = left.clone();
        // Once every combination is present, further powers change nothing (R would keep
        // multiplying), so stop at the fixed point rather than loop `power` times.
        for _ in 1..power {
            let next = trim(interact(&left, &right, node.span)?);
            if next == right {
                break;
            }
            right = next;
        }
        Ok(right)
    }

    /// R's `InstallVar()`: the variable's index, registering it on first sight. Variables are
    /// identified by their deparsed text, as R compares them structurally.
    fn install(&mut self, node: &Node) -> Result<usize, Problem> {
        let label = deparse(node);
        if let Some(i) = self.vars.iter().position(|v| v.label == label) {
            if i == 0 && self.fixed && self.response_seen.is_none() {
                self.response_seen = Some(node.span);
            }
            return Ok(i);
        }
        let atom = atom(node)?;
        if matches!(atom, Atom::Offset(_)) && !self.fixed {
            return Err(Problem::new(
                FormulaErrorKind::MisplacedOffset,
                node.span,
                "`offset()` inside a random-effect term",
                "offsets belong to the fixed part",
            )
            .help("move the offset out of the bar: `y ~ x + offset(log(t)) + (1 | g)`"));
        }
        self.vars.push(Var { label, atom });
        Ok(self.vars.len() - 1)
    }

    /// Orders terms as R's `terms()` does with `keep.order = FALSE`: by number of variables,
    /// otherwise as they came.
    fn term_list(&self, mut bits: Vec<Bits>) -> TermList {
        bits.sort_by_key(Vec::len);
        let terms = bits
            .into_iter()
            .map(|t| Term {
                variables: t
                    .into_iter()
                    .map(|i| match &self.vars[i].atom {
                        Atom::Variable(v) => v.clone(),
                        Atom::Offset(_) => unreachable!("terms with offsets are dropped"),
                    })
                    .collect(),
            })
            .collect();
        TermList {
            intercept: self.intercept,
            terms,
        }
    }
}

fn union(a: &Bits, b: &Bits) -> Bits {
    let mut out: Bits = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Every term of `left` crossed with every term of `right`, left-major as R loops.
fn interact(left: &[Bits], right: &[Bits], span: Span) -> Result<Vec<Bits>, Problem> {
    if left.len().saturating_mul(right.len()) > MAX_TERMS {
        return Err(Problem::new(
            FormulaErrorKind::TooComplex,
            span,
            "formula expands to too many terms",
            format!("this expands to more than {MAX_TERMS} terms"),
        )
        .help("cross fewer variables, or limit the interaction order with `(a + b + ...)^2`"));
    }
    Ok(left
        .iter()
        .flat_map(|l| right.iter().map(|r| union(l, r)))
        .collect())
}

/// R's `TrimRepeats()`: drops empty terms and later duplicates.
fn trim(terms: Vec<Bits>) -> Vec<Bits> {
    let mut seen = HashSet::new();
    terms
        .into_iter()
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .collect()
}
