//! The formula as written: R's expression tree restricted to formula syntax, with the byte span
//! of every node so later passes can point diagnostics at the exact text.
//!
//! Nothing is interpreted yet. Formula operators and arithmetic share one tree because R decides
//! their meaning by context (`a*b` crosses factors on the right of `~` but multiplies inside
//! `I()`), exactly as `terms()` and `I()` see the same parsed call.

/// Byte offsets into the formula source, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A name, without backquotes if it was written with them.
    Name(String),
    Number(f64),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// Explicit parentheses: kept because R's `deparse()` prints them, so `I((a + b)^2)` keeps
    /// its label.
    Paren(Box<Node>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Minus,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Colon,
    Pow,
    Bar,
    DoubleBar,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Colon => ":",
            BinaryOp::Pow => "^",
            BinaryOp::Bar => "|",
            BinaryOp::DoubleBar => "||",
        }
    }
}

/// `response ~ rhs`; the response is optional in the syntax so that its absence can be reported
/// as a missing response rather than a syntax error.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    pub response: Option<Node>,
    pub tilde: Span,
    pub rhs: Node,
}

impl Node {
    /// The node with any enclosing parentheses removed.
    pub fn unparen(&self) -> &Node {
        match &self.kind {
            NodeKind::Paren(inner) => inner.unparen(),
            _ => self,
        }
    }

    /// `(lhs | rhs)` or `(lhs || rhs)` seen through parentheses, as lme4's `isBar()` sees it.
    pub fn as_bar(&self) -> Option<(bool, &Node, &Node)> {
        match &self.unparen().kind {
            NodeKind::Binary(BinaryOp::Bar, l, r) => Some((false, l, r)),
            NodeKind::Binary(BinaryOp::DoubleBar, l, r) => Some((true, l, r)),
            _ => None,
        }
    }
}
