//! Text to statements. pest recognises the file; a statement it cannot read becomes a syntax
//! error and parsing goes on with the next statement, so one file yields all of its syntax
//! errors at once.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

use crate::tokens::{tokens, Dialect};

use super::ast::{
    Compare, Data, Describe, DescribeItem, Explained, Label, Model, Name, Plot, Power, PowerItem,
    PowerItemKind, PowerOption, PowerSource, Prepare, Report, ResidualStructureItem, Setting, Span,
    Statement, StatementKind, Table, TableRow,
};
use super::diagnostic::{suggest, Diagnostics, SpecDiagnostic, SpecErrorKind};
use super::expr;

#[derive(Parser)]
#[grammar = "spec.pest"]
pub(super) struct SpecParser;

/// Deepest nesting of brackets of any kind. pest and the checks recurse into brackets;
/// real files nest a few levels.
const MAX_NESTING: usize = 64;

/// The statement keywords, for "did you mean" on a misspelt one.
pub(super) const STATEMENTS: [&str; 14] = [
    "data",
    "instrument",
    "derive",
    "factor",
    "numeric",
    "model",
    "compare",
    "explained",
    "report",
    "plot",
    "table",
    "describe",
    "power",
    "label",
];

/// What parsing found: the statements that could be read, and the names that statements
/// which could not be read were about to define (so that uses of them are not reported as
/// unknown too).
pub(super) struct Parsed {
    pub statements: Vec<Statement>,
    pub broken_models: Vec<String>,
    pub broken_variables: Vec<String>,
    /// Whether a data statement could not be read, or the whole file could not (so the
    /// absence of one is not reported on top).
    pub bad_data: bool,
}

pub(super) fn parse(src: &str, diagnostics: &mut Diagnostics) -> Parsed {
    let mut parsed = Parsed {
        statements: Vec::new(),
        broken_models: Vec::new(),
        broken_variables: Vec::new(),
        bad_data: false,
    };
    crate::limits::install();
    // A file that cannot be read at all may well have a data statement: its absence is not
    // reported on top.
    if let Some(problem) = too_long(src).or_else(|| too_nested(src)) {
        diagnostics.push(problem);
        parsed.bad_data = true;
        return parsed;
    }
    let file = match SpecParser::parse(Rule::spec, src) {
        Ok(mut pairs) => pairs.next().expect("spec yields one pair"),
        // Any line parses as a `bad` statement, so only the resource limit can fail here.
        Err(e) => {
            let at = match e.location {
                InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
            };
            diagnostics.push(too_large(Span::new(at, at)));
            parsed.bad_data = true;
            return parsed;
        }
    };
    for pair in file.into_inner() {
        match pair.as_rule() {
            Rule::EOI => {}
            Rule::bad => {
                parsed.define(defined_name(pair.as_str()));
                parsed.bad_data |= pair.as_str().split_whitespace().next() == Some("data");
                diagnostics.push(syntax_error(&pair));
            }
            _ => {
                let span = span_of(&pair);
                match statement(pair) {
                    Ok(kind) => parsed.statements.push(Statement { kind, span }),
                    Err((problem, defines)) => {
                        diagnostics.push(problem);
                        parsed.define(defines);
                    }
                }
            }
        }
    }
    parsed
}

/// A condition written alone (`mixspec score --when 'version == "S"'`), read as the
/// condition of a `when` is; `None` after reporting why it cannot be read.
pub(super) fn condition(src: &str, diagnostics: &mut Diagnostics) -> Option<super::ast::Expr> {
    crate::limits::install();
    if let Some(problem) = too_long(src).or_else(|| too_nested(src)) {
        diagnostics.push(problem);
        return None;
    }
    match SpecParser::parse(Rule::condition_input, src) {
        Ok(mut pairs) => {
            let pair = pairs.next().expect("a condition holds an expression");
            expr::build(pair).map_err(|e| diagnostics.push(e)).ok()
        }
        Err(e) => {
            let at = match e.location {
                InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
            };
            diagnostics.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Syntax,
                    Span::new(at, (at + 1).min(src.len()).max(at)),
                    "the condition cannot be read",
                    "expected an expression here",
                )
                .help("write a condition as in a spec's `when`, e.g. `version == \"S\"`"),
            );
            None
        }
    }
}

/// A name a statement that failed was about to define.
pub(super) enum Defined {
    Model(String),
    Variable(String),
}

impl Parsed {
    fn define(&mut self, defined: Option<Defined>) {
        match defined {
            Some(Defined::Model(m)) => self.broken_models.push(m),
            Some(Defined::Variable(v)) => self.broken_variables.push(v),
            None => {}
        }
    }
}

pub(super) fn span_of(pair: &Pair<'_, Rule>) -> Span {
    Span::new(pair.as_span().start(), pair.as_span().end())
}

/// A `name` pair: the name without backquotes, spanning what was written.
pub(super) fn name(pair: Pair<'_, Rule>) -> Name {
    let span = span_of(&pair);
    let inner = pair.into_inner().next().expect("a name holds text");
    Name {
        text: inner.as_str().to_string(),
        span,
    }
}

/// A `string` pair: the text between the quotes, unescaped, spanning the quotes.
pub(super) fn string(pair: Pair<'_, Rule>) -> Name {
    let span = span_of(&pair);
    let raw = pair.into_inner().next().expect("a string holds its text");
    let mut text = String::with_capacity(raw.as_str().len());
    let mut escaped = false;
    for c in raw.as_str().chars() {
        if c == '\\' && !escaped {
            escaped = true;
        } else {
            text.push(c);
            escaped = false;
        }
    }
    Name { text, span }
}

/// A level of a factor as written: text, or a number as R prints it (`1.0` is level `1`).
fn level(pair: Pair<'_, Rule>) -> Name {
    match pair.as_rule() {
        Rule::string => string(pair),
        _ => Name {
            span: span_of(&pair),
            text: mixspec_engine::data::format_number(
                pair.as_str()
                    .parse()
                    .expect("the grammar admits only decimals"),
            ),
        },
    }
}

fn names(pair: Pair<'_, Rule>) -> Vec<Name> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::name)
        .map(name)
        .collect()
}

fn is_keyword_or_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_data
            | Rule::kw_instrument
            | Rule::kw_derive
            | Rule::kw_factor
            | Rule::kw_numeric
            | Rule::kw_model
            | Rule::kw_compare
            | Rule::kw_explained
            | Rule::kw_report
            | Rule::kw_plot
            | Rule::kw_table
            | Rule::kw_describe
            | Rule::kw_power
            | Rule::kw_label
            | Rule::kw_unit
            | Rule::kw_from
            | Rule::kw_as
            | Rule::kw_when
            | Rule::kw_predictor
            | Rule::kw_where
            | Rule::kw_levels
            | Rule::kw_reference
            | Rule::kw_vs
            | Rule::kw_by
            | Rule::lbrace
            | Rule::rbrace
            | Rule::lbracket
            | Rule::rbracket
            | Rule::comma
            | Rule::colon
            | Rule::assign
    )
}

/// A statement that failed to build, and the name it would have defined.
type Failed = (SpecDiagnostic, Option<Defined>);

fn statement(pair: Pair<'_, Rule>) -> Result<StatementKind, Failed> {
    let rule = pair.as_rule();
    let mut parts = pair
        .into_inner()
        .filter(|p| !is_keyword_or_punctuation(p.as_rule()));
    let mut next = || parts.next().expect("the grammar guarantees this part");
    let no_name = |e| (e, None);
    Ok(match rule {
        Rule::data => {
            let path = string(next());
            let settings = parts
                .next()
                .map(|p| settings(p.into_inner()))
                .unwrap_or_default();
            StatementKind::Data(Data { path, settings })
        }
        Rule::instrument => {
            let id = string(next());
            let when = parts.next().map(expr::build).transpose().map_err(no_name)?;
            StatementKind::Prepare(Prepare::Instrument { id, when })
        }
        Rule::derive => {
            let name = name(next());
            let value = next();
            if value.as_rule() == Rule::predictor {
                let span = span_of(&value);
                let mut parts = value
                    .into_inner()
                    .filter(|p| !is_keyword_or_punctuation(p.as_rule()));
                let id = string(parts.next().expect("a predictor has an id"));
                let columns = names(parts.next().expect("a predictor has columns"));
                return Ok(StatementKind::Prepare(Prepare::Predictor {
                    name,
                    id,
                    columns,
                    span,
                }));
            }
            let expr =
                expr::build(value).map_err(|e| (e, Some(Defined::Variable(name.text.clone()))))?;
            StatementKind::Prepare(Prepare::Derive { name, expr })
        }
        Rule::factor => {
            let names = names(next());
            let (mut levels, mut reference) = (None, None);
            for p in parts {
                let clause = p.as_rule();
                let mut values: Vec<Name> = p
                    .into_inner()
                    .filter(|p| matches!(p.as_rule(), Rule::string | Rule::number))
                    .map(level)
                    .collect();
                match clause {
                    Rule::levels => levels = Some(values),
                    _ => reference = values.pop(),
                }
            }
            StatementKind::Prepare(Prepare::Factor {
                names,
                levels,
                reference,
            })
        }
        Rule::numeric => StatementKind::Prepare(Prepare::Numeric {
            names: names(next()),
        }),
        Rule::model => {
            let name = name(next());
            let formula = formula(next());
            let mut options = Vec::new();
            let mut filter = None;
            for p in parts {
                match p.as_rule() {
                    Rule::options => options = settings(p.into_inner()),
                    _ => {
                        let condition = p.into_inner().find(|p| p.as_rule() == Rule::expr);
                        filter = Some(
                            expr::build(condition.expect("where holds an expr"))
                                .map_err(|e| (e, Some(Defined::Model(name.text.clone()))))?,
                        );
                    }
                }
            }
            StatementKind::Model(Model {
                name,
                formula,
                options,
                filter,
            })
        }
        Rule::compare => StatementKind::Compare(Compare {
            models: names(next()),
            boundary: parts.next().map(|b| span_of(&b)),
        }),
        Rule::explained => StatementKind::Explained(Explained {
            models: names(next()),
            reference: name(next()),
        }),
        Rule::report => StatementKind::Report(Report {
            name: string(next()),
            models: parts.map(name).collect(),
        }),
        Rule::plot => {
            let kind = name(next());
            let models = names(next());
            let (mut by, mut as_name, mut options) = (Vec::new(), None, Vec::new());
            for p in parts {
                match p.as_rule() {
                    Rule::options => options = settings(p.into_inner()),
                    Rule::plot_by => {
                        by = p
                            .into_inner()
                            .find(|p| p.as_rule() == Rule::names)
                            .map(names)
                            .unwrap_or_default()
                    }
                    _ => {
                        as_name = p
                            .into_inner()
                            .find(|p| p.as_rule() == Rule::string)
                            .map(string)
                    }
                }
            }
            StatementKind::Plot(Plot {
                kind,
                models,
                by,
                name: as_name,
                options,
            })
        }
        Rule::table => {
            let title = string(next());
            let mut options = Vec::new();
            let mut rows = Vec::new();
            for p in parts {
                if p.as_rule() == Rule::options {
                    options = settings(p.into_inner());
                } else {
                    rows.push(p);
                }
            }
            StatementKind::Table(Table {
                name: title,
                options,
                rows: rows
                    .into_iter()
                    .map(|row| {
                        let mut label = None;
                        let mut model = None;
                        let mut reference = false;
                        for p in row.into_inner() {
                            match p.as_rule() {
                                Rule::string => label = Some(string(p)),
                                Rule::name => model = Some(name(p)),
                                Rule::kw_ref => reference = true,
                                _ => {}
                            }
                        }
                        TableRow {
                            label,
                            model: model.expect("a table row names a model"),
                            reference,
                        }
                    })
                    .collect(),
            })
        }
        Rule::describe => StatementKind::Describe(Describe {
            name: string(next()),
            by: name(next()),
            items: parts
                .map(|item| {
                    let mut inner = item.into_inner();
                    DescribeItem {
                        variable: name(inner.next().expect("an item names a variable")),
                        label: inner.next().map(string),
                    }
                })
                .collect(),
        }),
        Rule::power => StatementKind::Power(power(parts)),
        Rule::label => {
            let (name, text) = (name(next()), string(next()));
            let (mut unit, mut levels) = (None, Vec::new());
            for p in parts {
                match p.as_rule() {
                    Rule::label_unit => {
                        unit = p
                            .into_inner()
                            .find(|p| p.as_rule() == Rule::string)
                            .map(string)
                    }
                    _ => {
                        levels = p
                            .into_inner()
                            .filter(|p| p.as_rule() == Rule::level_label)
                            .map(|l| {
                                let mut inner =
                                    l.into_inner().filter(|p| p.as_rule() != Rule::assign);
                                let value = level(inner.next().expect("a level"));
                                (value, string(inner.next().expect("its text")))
                            })
                            .collect()
                    }
                }
            }
            StatementKind::Label(Label {
                name,
                text,
                unit,
                levels,
            })
        }
        r => unreachable!("{r:?} is not a statement"),
    })
}

/// A power statement's parts after its keyword: its name, then `from MODEL [options]` or
/// `: FORMULA [options] { block }`.
fn power<'a>(mut parts: impl Iterator<Item = Pair<'a, Rule>>) -> Power {
    let title = name(parts.next().expect("a power statement has a name"));
    let mut options = Vec::new();
    let mut model = None;
    let mut formula_text = None;
    let mut block = None;
    for p in parts {
        match p.as_rule() {
            Rule::name => model = Some(name(p)),
            Rule::formula => formula_text = Some(formula(p)),
            Rule::power_options => {
                options = p
                    .into_inner()
                    .filter(|o| o.as_rule() == Rule::power_option)
                    .map(power_option)
                    .collect()
            }
            Rule::power_block => block = Some(p),
            r => unreachable!("{r:?} is not part of a power statement"),
        }
    }
    let source = match (model, formula_text, block) {
        (Some(model), _, _) => PowerSource::Model(model),
        (None, Some(formula), Some(block)) => PowerSource::Design {
            formula,
            span: span_of(&block),
            items: block
                .into_inner()
                .filter(|p| !matches!(p.as_rule(), Rule::lbrace | Rule::rbrace))
                .map(power_item)
                .collect(),
        },
        _ => unreachable!("the grammar gives a model or a formula and a block"),
    };
    Power {
        name: title,
        source,
        options,
    }
}

/// A text, a number or a word as written.
fn value(pair: Pair<'_, Rule>) -> Name {
    match pair.as_rule() {
        Rule::string => string(pair),
        Rule::name => name(pair),
        _ => Name {
            span: span_of(&pair),
            text: pair.as_str().to_string(),
        },
    }
}

fn power_option(pair: Pair<'_, Rule>) -> PowerOption {
    let mut key = None;
    let mut values = Vec::new();
    let mut assigned = None;
    let mut after_assign = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::name if key.is_none() => key = Some(name(p)),
            Rule::assign => after_assign = true,
            Rule::comma => after_assign = false,
            _ if after_assign => assigned = Some(value(p)),
            _ => values.push(value(p)),
        }
    }
    PowerOption {
        key: key.expect("an option has a key"),
        values,
        assigned,
    }
}

fn power_item(pair: Pair<'_, Rule>) -> PowerItem {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let parts: Vec<Pair<'_, Rule>> = pair
        .into_inner()
        .filter(|p| {
            matches!(
                p.as_rule(),
                Rule::name
                    | Rule::string
                    | Rule::signed
                    | Rule::p_share
                    | Rule::p_value
                    | Rule::p_cor
                    | Rule::p_by_end
                    | Rule::p_per_visit
                    | Rule::p_structure
                    | Rule::word
                    | Rule::p_family_setting
            )
        })
        .collect();
    // (text, value) pairs of `"a" 0.5` and `"time" 0.3`.
    let pairs = |parts: &[Pair<'_, Rule>], rule: Rule| -> Vec<(Name, Name)> {
        parts
            .iter()
            .filter(|p| p.as_rule() == rule)
            .map(|p| {
                let mut inner = p.clone().into_inner();
                let first = value(inner.next().expect("a pair has a first part"));
                let second = value(inner.next().expect("a pair has a value"));
                (first, second)
            })
            .collect()
    };
    let numbers = |parts: &[Pair<'_, Rule>]| -> Vec<Name> {
        parts
            .iter()
            .filter(|p| p.as_rule() == Rule::signed)
            .cloned()
            .map(value)
            .collect()
    };
    let text = |parts: &[Pair<'_, Rule>]| {
        parts
            .iter()
            .find(|p| p.as_rule() == Rule::string)
            .cloned()
            .map(string)
    };
    let kind = match rule {
        Rule::p_subjects => PowerItemKind::Subjects(numbers(&parts)),
        Rule::p_times => PowerItemKind::Times {
            variable: parts
                .iter()
                .find(|p| p.as_rule() == Rule::name)
                .cloned()
                .map(name),
            level: text(&parts),
            values: numbers(&parts),
        },
        Rule::p_groups => PowerItemKind::Groups {
            variable: name(parts[0].clone()),
            shares: pairs(&parts, Rule::p_share),
        },
        Rule::p_fixed => PowerItemKind::Fixed(pairs(&parts, Rule::p_value)),
        Rule::p_covariate => PowerItemKind::Covariate {
            name: name(parts[0].clone()),
            distribution: value(parts[1].clone()),
            values: numbers(&parts),
        },
        Rule::p_random => PowerItemKind::Random {
            group: name(parts[0].clone()),
            sds: pairs(&parts, Rule::p_value),
            cors: parts
                .iter()
                .find(|p| p.as_rule() == Rule::p_cor)
                .map(|c| {
                    c.clone()
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::signed)
                        .map(value)
                        .collect()
                })
                .unwrap_or_default(),
        },
        Rule::p_residual => PowerItemKind::Residual {
            sd: numbers(&parts).remove(0),
            structure: parts
                .iter()
                .find(|p| p.as_rule() == Rule::p_structure)
                .map(|p| {
                    let inner: Vec<Pair<'_, Rule>> = p.clone().into_inner().collect();
                    ResidualStructureItem {
                        kind: value(inner[0].clone()),
                        value: numbers(&inner).into_iter().next(),
                        ratios: pairs(&inner, Rule::p_value),
                        span: span_of(p),
                    }
                }),
        },
        Rule::p_family => PowerItemKind::Family {
            family: value(parts[0].clone()),
            settings: parts
                .iter()
                .filter(|p| p.as_rule() == Rule::p_family_setting)
                .map(|p| {
                    let mut inner = p.clone().into_inner();
                    let key = value(inner.next().expect("a setting has a key"));
                    let v = value(inner.next().expect("a setting has a value"));
                    (key, v)
                })
                .collect(),
        },
        Rule::p_dropout => PowerItemKind::Dropout {
            level: text(&parts),
            value: numbers(&parts).remove(0),
            by_end: parts.iter().any(|p| p.as_rule() == Rule::p_by_end),
        },
        Rule::p_missed => PowerItemKind::Missed {
            level: text(&parts),
            value: numbers(&parts).remove(0),
        },
        r => unreachable!("{r:?} is not a power item"),
    };
    PowerItem { kind, span }
}

/// `key value` pairs of a block or an option list.
fn settings<'a>(pairs: impl Iterator<Item = Pair<'a, Rule>>) -> Vec<Setting> {
    pairs
        .filter(|p| matches!(p.as_rule(), Rule::setting | Rule::option))
        .map(|p| {
            let mut inner = p.into_inner();
            let key = name(inner.next().expect("a setting has a key"));
            let value = inner.next().expect("a setting has a value");
            let value = match value.as_rule() {
                Rule::string => string(value),
                Rule::name => name(value),
                // Words and numbers of options, as written.
                _ => Name {
                    span: span_of(&value),
                    text: value.as_str().to_string(),
                },
            };
            Setting { key, value }
        })
        .collect()
}

/// The formula's text without the blanks before whatever ended it.
fn formula(pair: Pair<'_, Rule>) -> Name {
    let span = span_of(&pair);
    let text = pair.as_str().trim_end();
    Name {
        text: text.to_string(),
        span: Span::new(span.start, span.start + text.len()),
    }
}

/// The name a statement that could not be read defines, as far as its first words tell.
fn defined_name(text: &str) -> Option<Defined> {
    let mut words = text.split(|c: char| c.is_whitespace() || c == ':' || c == '=');
    let keyword = words.next()?;
    let name = words.find(|w| !w.is_empty())?.to_string();
    match keyword {
        "derive" => Some(Defined::Variable(name)),
        "model" => Some(Defined::Model(name)),
        _ => None,
    }
}

/// Brackets nested deeper than [`MAX_NESTING`], found before pest recurses into them.
fn too_nested(src: &str) -> Option<SpecDiagnostic> {
    let mut depth = 0usize;
    for (i, c) in src.char_indices() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        SpecDiagnostic::new(
                            SpecErrorKind::TooComplex,
                            Span::new(i, i + 1),
                            "brackets are nested too deeply",
                            "nesting limit reached here",
                        )
                        .help(format!(
                            "brackets may nest at most {MAX_NESTING} levels deep"
                        )),
                    );
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Longest spec file read, in bytes: a hundred times the longest analysis written so far,
/// read and checked within a second or two.
const LONGEST_FILE: usize = 1 << 20;

fn too_long(src: &str) -> Option<SpecDiagnostic> {
    (src.len() > LONGEST_FILE).then(|| {
        SpecDiagnostic::new(
            SpecErrorKind::TooComplex,
            Span::new(0, 0),
            format!(
                "the file is {} bytes long; a spec may be at most {LONGEST_FILE} bytes",
                src.len()
            ),
            "not read",
        )
        .help("split the analysis into several spec files")
    })
}

fn too_large(span: Span) -> SpecDiagnostic {
    SpecDiagnostic::new(
        SpecErrorKind::TooComplex,
        span,
        "the file is too large or complex to parse",
        "parsing stopped",
    )
    .help("split the analysis into several spec files")
}

/// Re-parses a statement that did not parse in its file, alone, to learn where and why.
fn syntax_error(pair: &Pair<'_, Rule>) -> SpecDiagnostic {
    let offset = pair.as_span().start();
    let text = pair.as_str();
    let shift = |s: Span| Span::new(s.start + offset, s.end + offset);
    let err = match SpecParser::parse(Rule::statement_input, text) {
        Err(e) => e,
        // Read alone, the statement parses: what followed it on its line did not fit.
        Ok(_) => {
            return SpecDiagnostic::new(
                SpecErrorKind::Syntax,
                span_of(pair),
                "unexpected text after the statement",
                "not part of any statement",
            )
        }
    };
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => return too_large(span_of(pair)),
    };
    let tokens = tokens(text, Dialect::Spec);
    let at = tokens.iter().position(|t| t.end > pos);
    if pos == 0 || at == Some(0) {
        let word = tokens.first().copied().unwrap_or(Span::new(0, text.len()));
        let written = &text[word.start..word.end];
        return SpecDiagnostic::new(
            SpecErrorKind::UnknownStatement,
            shift(word),
            format!("unknown statement `{written}`"),
            "not a statement",
        )
        .help(suggest(written, "statement", &STATEMENTS));
    }
    let expected = describe_expected(&positives);
    match at {
        Some(i) => {
            let token = Span::new(pos.max(tokens[i].start), tokens[i].end);
            let written = &text[token.start..token.end];
            let shown = if written.starts_with('\n') || written.starts_with('\r') {
                "end of line".to_string()
            } else {
                format!("`{written}`")
            };
            SpecDiagnostic::new(
                SpecErrorKind::Syntax,
                shift(token),
                format!("unexpected {shown}"),
                format!("expected {expected}"),
            )
        }
        None => {
            let last = tokens.last().copied().unwrap_or(Span::new(pos, pos));
            SpecDiagnostic::new(
                SpecErrorKind::Syntax,
                shift(last),
                "unexpected end of statement",
                format!("expected {expected} after this"),
            )
        }
    }
}

/// The rules pest was trying where it stopped, in words.
fn describe_expected(positives: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut push = |s: &'static str| {
        if !words.contains(&s) {
            words.push(s);
        }
    };
    for rule in positives {
        match rule {
            Rule::name | Rule::ident | Rule::names | Rule::word => push("a name"),
            Rule::string => push("a quoted text"),
            Rule::number => push("a number"),
            Rule::expr | Rule::neg | Rule::not | Rule::conditional | Rule::call | Rule::paren => {
                push("an expression")
            }
            Rule::or
            | Rule::and
            | Rule::eq
            | Rule::ne
            | Rule::le
            | Rule::ge
            | Rule::lt
            | Rule::gt
            | Rule::add
            | Rule::sub
            | Rule::mul
            | Rule::div
            | Rule::pow => push("an operator"),
            Rule::formula => push("a formula"),
            Rule::settings | Rule::lbrace => push("`{`"),
            Rule::rbrace => push("`}`"),
            Rule::options | Rule::lbracket => push("`[`"),
            Rule::rbracket => push("`]`"),
            Rule::rparen => push("`)`"),
            Rule::comma => push("`,`"),
            Rule::colon => push("`:`"),
            Rule::assign => push("`=`"),
            Rule::filter | Rule::kw_where => push("`where`"),
            Rule::kw_when => push("`when`"),
            Rule::predictor | Rule::kw_predictor => push("`predictor`"),
            Rule::levels | Rule::kw_levels => push("`levels`"),
            Rule::reference | Rule::kw_reference => push("`reference`"),
            Rule::kw_vs => push("`vs`"),
            Rule::kw_by | Rule::plot_by => push("`by`"),
            Rule::kw_as | Rule::plot_as => push("`as`"),
            Rule::kw_ref => push("`ref`"),
            Rule::label_unit | Rule::kw_unit => push("`unit`"),
            Rule::label_levels => push("`levels`"),
            Rule::level_label => push("a level and its text (`\"good\" = \"Good outcome\"`)"),
            Rule::table_row => push("a table row (`\"label\": model`)"),
            Rule::describe_item => push("a variable"),
            Rule::kw_from => push("`from`"),
            Rule::signed => push("a number"),
            Rule::power_options | Rule::power_option => push("`[` and the test's options"),
            Rule::power_block => push("`{`"),
            Rule::p_subjects
            | Rule::p_times
            | Rule::p_groups
            | Rule::p_fixed
            | Rule::p_random
            | Rule::p_residual
            | Rule::p_family
            | Rule::p_covariate
            | Rule::p_dropout
            | Rule::p_missed => push("a design line (`subjects`, `times`, `groups`, `fixed`, `random`, `residual`, `family`, `covariate`, `dropout` or `missed`)"),
            Rule::p_structure => push("a residual structure (`ar1`, `car1`, `cs` or `varident`)"),
            Rule::p_family_setting => push("`theta` or `link` and its value"),
            Rule::p_share | Rule::p_value => push("a quoted name and a number"),
            Rule::p_cor | Rule::kw_cor => push("`cor`"),
            Rule::kw_sd => push("`sd`"),
            Rule::p_per_visit | Rule::p_by_end | Rule::kw_per => push("`per visit` or `by end`"),
            Rule::kw_visit => push("`visit`"),
            Rule::kw_end => push("`end`"),
            Rule::kw_then => push("`then`"),
            Rule::kw_else => push("`else`"),
            Rule::setting | Rule::option => push("a setting"),
            Rule::EOI => push("the end of the line"),
            _ => {}
        }
    }
    if words.contains(&"an expression") {
        words.retain(|w| !matches!(*w, "a name" | "a quoted text" | "a number"));
    }
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "something else".to_string(),
    }
}
