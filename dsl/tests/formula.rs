//! The formula parser against R: every expected value here was produced by R 4.2 `terms()` or
//! lme4 1.1-31 `findbars()`/`nobars()` on the same formula.

mod common;

use miette::Diagnostic;
use mixspec_dsl::{parse_formula, FormulaErrorKind};
use mixspec_engine::spec::{BinaryOp, Expr, Function, ModelSpec, TermList, Variable};

fn parse(src: &str) -> ModelSpec {
    parse_formula(src).unwrap_or_else(|e| panic!("{src}: {e:?}"))
}

fn labels(terms: &TermList) -> Vec<String> {
    terms.terms.iter().map(|t| t.label()).collect()
}

/// `(intercept, term labels, grouping)` per random term.
fn random(spec: &ModelSpec) -> Vec<(bool, Vec<String>, Vec<String>)> {
    spec.random
        .iter()
        .map(|r| (r.terms.intercept, labels(&r.terms), r.grouping.clone()))
        .collect()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn col(name: &str) -> Box<Expr> {
    Box::new(Expr::Column(name.to_string()))
}

#[test]
fn operators_expand_to_r_terms_in_r_order() {
    let cases = [
        ("y ~ a*b*c", true, "a b c a:b a:c b:c a:b:c"),
        ("y ~ (a+b+c)^2", true, "a b c a:b a:c b:c"),
        ("y ~ (a+b)^3 - a:b:c", true, "a b a:b"),
        ("y ~ (a+b+c)^2 - a:b", true, "a b c a:c b:c"),
        ("y ~ (a + b)^2:c", true, "a:c b:c a:b:c"),
        ("y ~ a/b", true, "a a:b"),
        ("y ~ a/b/c", true, "a a:b a:b:c"),
        ("y ~ (a+b)/c", true, "a b a:b:c"),
        ("y ~ a/(b+c)", true, "a a:b a:c"),
        ("y ~ (a*b)/c", true, "a b a:b a:b:c"),
        ("y ~ a/b - a", true, "a:b"),
        ("y ~ a*b - a:b", true, "a b"),
        ("y ~ a*(b+c)", true, "a b c a:b a:c"),
        ("y ~ (a+b)*(c+d)", true, "a b c d a:c a:d b:c b:d"),
        ("y ~ a*b:c", true, "a b:c a:b:c"),
        ("y ~ b:a + a", true, "a b:a"),
        ("y ~ a:b:a + b", true, "b a:b"),
        ("y ~ a:a", true, "a"),
        ("y ~ x - z:w + w:z", true, "x z:w"),
        ("y ~ +a", true, "a"),
        ("y ~ a + +b", true, "a b"),
        // Operands that expand to nothing: `-a` on its own, and R's quirk that crossing or
        // nesting an empty left side gives nothing.
        ("y ~ -a:b + c", true, "c"),
        ("y ~ a:1", true, ""),
        ("y ~ 0 * b / c", false, ""),
    ];
    for (src, intercept, want) in cases {
        let spec = parse(src);
        assert_eq!(labels(&spec.fixed), words(want), "{src}");
        assert_eq!(spec.fixed.intercept, intercept, "{src}");
    }
}

#[test]
fn zero_one_and_minus_set_the_intercept_as_r_does() {
    let cases = [
        ("y ~ a + b - 1", false, "a b"),
        ("y ~ 0 + a", false, "a"),
        ("y ~ a + 0", false, "a"),
        ("y ~ -1 + a", false, "a"),
        ("y ~ a + -1", false, "a"),
        ("y ~ 1 + a", true, "a"),
        ("y ~ 0 + a + 1", true, "a"),
        ("y ~ a - 1 + 1", true, "a"),
        ("y ~ a - 0", true, "a"),
        ("y ~ a*b + 0 - 0", true, "a b a:b"),
        ("y ~ a - (0 + b)", true, "a"),
        ("y ~ a - (1 + b)", false, "a"),
        ("y ~ (a+b)/c - 1", false, "a b a:b:c"),
        ("y ~ a*b*c - a:b:c - 1", false, "a b c a:b a:c b:c"),
        ("y ~ 1", true, ""),
        ("y ~ 0", false, ""),
        ("y ~ -1", false, ""),
    ];
    for (src, intercept, want) in cases {
        let spec = parse(src);
        assert_eq!(spec.fixed.intercept, intercept, "{src}");
        assert_eq!(labels(&spec.fixed), words(want), "{src}");
    }
}

#[test]
fn longitudinal_model_with_correlated_slope() {
    let spec = parse("TASKS ~ months * outcome + (months | patient)");
    assert_eq!(spec.response, Variable::column("TASKS"));
    assert_eq!(labels(&spec.fixed), words("months outcome months:outcome"));
    assert!(spec.fixed.intercept);
    assert_eq!(random(&spec), [(true, words("months"), words("patient"))]);
    assert_eq!(
        spec.fixed.terms[2].variables,
        [Variable::column("months"), Variable::column("outcome")]
    );
    assert!(spec.offsets.is_empty());
}

#[test]
fn double_bar_splits_into_uncorrelated_terms() {
    let spec = parse("Reaction ~ Days + (Days || Subject)");
    assert_eq!(labels(&spec.fixed), words("Days"));
    assert_eq!(
        random(&spec),
        [
            (true, vec![], words("Subject")),
            (false, words("Days"), words("Subject"))
        ]
    );

    let spec = parse("y ~ (a*b || g)");
    assert_eq!(
        random(&spec),
        [
            (true, vec![], words("g")),
            (false, words("a"), words("g")),
            (false, words("b"), words("g")),
            (false, words("a:b"), words("g")),
        ]
    );
    for src in ["y ~ (0 + a || g)", "y ~ (a - 1 || g)"] {
        assert_eq!(
            random(&parse(src)),
            [(false, words("a"), words("g"))],
            "{src}"
        );
    }
    // lme4 rebuilds each piece from its label, which keeps the variable order of the label.
    assert_eq!(random(&parse("y ~ (b:a || g)"))[1].1, words("b:a"));
    assert_eq!(random(&parse("y ~ (I(x^2) || g)"))[1].1, words("I(x^2)"));
}

#[test]
fn nested_grouping_expands_innermost_first() {
    let spec = parse("strength ~ 1 + (1 | batch/cask)");
    assert_eq!(
        spec.fixed,
        TermList {
            intercept: true,
            terms: vec![]
        }
    );
    assert_eq!(
        random(&spec),
        [
            (true, vec![], words("cask batch")),
            (true, vec![], words("batch"))
        ]
    );
    let names: Vec<String> = spec.random.iter().map(|r| r.group_name()).collect();
    assert_eq!(names, ["cask:batch", "batch"]);

    let groupings: Vec<_> = parse("y ~ (1 | a/b/c)")
        .random
        .into_iter()
        .map(|r| r.grouping)
        .collect();
    assert_eq!(groupings, [words("c b a"), words("b a"), words("a")]);
    let groupings: Vec<_> = parse("y ~ (1 | a/b:c)")
        .random
        .into_iter()
        .map(|r| r.grouping)
        .collect();
    assert_eq!(groupings, [words("b c a"), words("a")]);

    // `||` splits first, then each piece is nested.
    assert_eq!(
        random(&parse("y ~ (x || a/b)")),
        [
            (true, vec![], words("b a")),
            (true, vec![], words("a")),
            (false, words("x"), words("b a")),
            (false, words("x"), words("a")),
        ]
    );
}

#[test]
fn interaction_grouping_and_several_bars() {
    let spec = parse("angle ~ recipe * temp + (1 | recipe:replicate)");
    assert_eq!(labels(&spec.fixed), words("recipe temp recipe:temp"));
    assert_eq!(random(&spec), [(true, vec![], words("recipe replicate"))]);
    assert_eq!(spec.random[0].group_name(), "recipe:replicate");

    let spec = parse("y ~ x + (1|g) + (x|h)");
    assert_eq!(
        random(&spec),
        [(true, vec![], words("g")), (true, words("x"), words("h"))]
    );
    let spec = parse("y ~ (1|g/h) + (x||g)");
    assert_eq!(
        random(&spec),
        [
            (true, vec![], words("h g")),
            (true, vec![], words("g")),
            (true, vec![], words("g")),
            (false, words("x"), words("g")),
        ]
    );
    assert_eq!(
        random(&parse("y ~ (x*z | g)")),
        [(true, words("x z x:z"), words("g"))]
    );
}

#[test]
fn random_effects_have_their_own_intercept() {
    for (src, intercept, want) in [
        ("y ~ (months | patient)", true, "months"),
        ("y ~ (1 + months | patient)", true, "months"),
        ("y ~ (0 + months | patient)", false, "months"),
        ("y ~ (months - 1 | patient)", false, "months"),
        ("y ~ (1 | patient)", true, ""),
    ] {
        assert_eq!(
            random(&parse(src)),
            [(intercept, words(want), words("patient"))],
            "{src}"
        );
    }
}

#[test]
fn bars_are_removed_from_the_fixed_part() {
    for (src, intercept, want) in [
        ("y ~ (1|g)", true, ""),
        ("y ~ 0 + (1|g)", false, ""),
        ("y ~ -1 + (1|g)", false, ""),
        ("y ~ x + (1|g) - 1", false, "x"),
        ("y ~ (a + (1|g))", true, "a"),
        ("y ~ ((1|g)) + b", true, "b"),
    ] {
        let spec = parse(src);
        assert_eq!(
            (spec.fixed.intercept, labels(&spec.fixed)),
            (intercept, words(want)),
            "{src}"
        );
        assert_eq!(spec.random.len(), 1, "{src}");
    }
}

#[test]
fn functions_become_numeric_variables_and_offsets_are_set_aside() {
    let spec = parse("y ~ I(age^2) + log(x) + offset(log(t))");
    let age2 = Expr::Binary(BinaryOp::Pow, col("age"), Box::new(Expr::Number(2.0)));
    assert_eq!(
        spec.fixed
            .terms
            .iter()
            .map(|t| t.variables.clone())
            .collect::<Vec<_>>(),
        [
            vec![Variable {
                label: "I(age^2)".into(),
                expr: age2
            }],
            vec![Variable {
                label: "log(x)".into(),
                expr: Expr::Call(Function::Log, col("x"))
            }],
        ]
    );
    assert_eq!(spec.offsets, [Expr::Call(Function::Log, col("t"))]);
    assert_eq!(spec.columns(), ["y", "age", "x", "t"]);

    let spec = parse("y ~ sqrt(abs(x - 1)) + exp(-z)");
    assert_eq!(
        spec.fixed.terms[0].variables[0].expr,
        Expr::Call(
            Function::Sqrt,
            Box::new(Expr::Call(
                Function::Abs,
                Box::new(Expr::Binary(
                    BinaryOp::Sub,
                    col("x"),
                    Box::new(Expr::Number(1.0))
                ))
            ))
        )
    );
    assert_eq!(
        spec.fixed.terms[1].variables[0].expr,
        Expr::Call(Function::Exp, Box::new(Expr::Neg(col("z"))))
    );
    // Inside a function, `*` is multiplication, not crossing.
    let spec = parse("y ~ log(a*b)");
    assert_eq!(labels(&spec.fixed), ["log(a * b)"]);
}

#[test]
fn offsets_follow_r() {
    // R drops any term involving an offset but keeps every offset variable.
    let spec = parse("y ~ a + offset(x) - offset(x)");
    assert_eq!(
        (labels(&spec.fixed), spec.offsets),
        (words("a"), vec![*col("x")])
    );
    let spec = parse("y ~ a:offset(x) + offset(w) + offset(x)");
    assert_eq!(
        (labels(&spec.fixed), spec.offsets),
        (vec![], vec![*col("x"), *col("w")])
    );
    assert_eq!(
        parse("y ~ offset(I(2*t))").offsets,
        [Expr::Binary(
            BinaryOp::Mul,
            Box::new(Expr::Number(2.0)),
            col("t")
        )]
    );
}

#[test]
fn responses_are_variables_or_expressions() {
    let spec = parse("log(y) ~ x");
    assert_eq!(
        spec.response,
        Variable {
            label: "log(y)".into(),
            expr: Expr::Call(Function::Log, col("y"))
        }
    );
    let spec = parse("I(y/10) ~ x");
    assert_eq!(
        spec.response,
        Variable {
            label: "I(y/10)".into(),
            expr: Expr::Binary(BinaryOp::Div, col("y"), Box::new(Expr::Number(10.0)))
        }
    );
    let spec = parse("  y~x  \n");
    assert_eq!(spec.formula, "y~x");
}

#[test]
fn labels_match_r_deparse() {
    let cases = [
        ("I(x*2)", "I(x * 2)"),
        ("I(a/b)", "I(a/b)"),
        ("I(-x)", "I(-x)"),
        ("I(x - -1)", "I(x - -1)"),
        ("I((a+b)^2)", "I((a + b)^2)"),
        ("I(-x^2)", "I(-x^2)"),
        ("I((-x)^2)", "I((-x)^2)"),
        ("I(-(x))", "I(-(x))"),
        ("I(x^-1)", "I(x^-1)"),
        ("I(2^x^y)", "I(2^x^y)"),
        ("I((2^x)^y)", "I((2^x)^y)"),
        ("I(a-(b-c))", "I(a - (b - c))"),
        ("I(a-b-c)", "I(a - b - c)"),
        ("I(a/(b*c))", "I(a/(b * c))"),
        ("I(+x)", "I(+x)"),
        ("I(1e-4 * x)", "I(1e-04 * x)"),
        ("I(100000*x)", "I(1e+05 * x)"),
        ("I(0.5*x)", "I(0.5 * x)"),
        ("I(2.50*x)", "I(2.5 * x)"),
        ("I(.5*x)", "I(0.5 * x)"),
        ("I(1E3*x)", "I(1000 * x)"),
        ("I(123456789012345*x)", "I(123456789012345 * x)"),
        ("I(1234567890123456*x)", "I(1234567890123456 * x)"),
        ("I(1e15*x)", "I(1e+15 * x)"),
        ("I(0.0001234*x)", "I(0.0001234 * x)"),
        ("I(1/3*x)", "I(1/3 * x)"),
        ("log( x )", "log(x)"),
        ("exp(x+1)", "exp(x + 1)"),
        ("sqrt(abs(x))", "sqrt(abs(x))"),
        (
            "log(750000/(x) + (x)^y2 - x)",
            "log(750000/(x) + (x)^y2 - x)",
        ),
        (
            "abs(+-2.12351039721546e+01 ^  (x+ y2))",
            "abs(+-21.2351039721546^(x + y2))",
        ),
        ("exp(0.30000000000000004)", "exp(0.3)"),
        ("`my var`", "`my var`"),
        ("`x`", "x"),
        ("I(`my var`^2)", "I(`my var`^2)"),
        ("`TRUE`", "`TRUE`"),
    ];
    for (term, want) in cases {
        let spec = parse(&format!("y ~ {term}"));
        assert_eq!(labels(&spec.fixed), [want], "{term}");
    }
}

#[test]
fn backquoted_names_are_columns_with_quoted_labels() {
    let spec = parse("`my y` ~ `my var` + a + (1 | `sub id`)");
    assert_eq!(
        spec.response,
        Variable {
            label: "`my y`".into(),
            expr: *col("my y")
        }
    );
    assert_eq!(
        spec.fixed.terms[0].variables[0],
        Variable {
            label: "`my var`".into(),
            expr: *col("my var")
        }
    );
    assert_eq!(spec.random[0].grouping, ["sub id"]);
    assert_eq!(spec.columns(), ["my y", "my var", "a", "sub id"]);
}

#[test]
fn the_same_variable_written_differently_is_one_variable() {
    let spec = parse("y ~ log(x) + log( x ) + `a` + a + I(x*1e5) + I(x*100000)");
    assert_eq!(labels(&spec.fixed), ["log(x)", "a", "I(x * 1e+05)"]);
}

/// `(source, kind, (offset, length))` of the reported span.
#[test]
fn errors_point_at_the_offending_text() {
    use FormulaErrorKind::*;
    let cases = [
        ("y ~ a + ", Syntax, (6, 1)),
        ("y ~ a b", Syntax, (6, 1)),
        ("y ~ a * * b", Syntax, (8, 1)),
        ("y ~ 2x", Syntax, (5, 1)),
        ("y ~ a %in% b", Syntax, (6, 1)),
        ("y ~ a ~ b", Syntax, (6, 1)),
        ("y ~ `a", Syntax, (4, 2)),
        ("y ~ ( | g)", Syntax, (6, 1)),
        ("y + x", MissingTilde, (0, 5)),
        ("  y + x ", MissingTilde, (2, 5)),
        ("~ x", MissingResponse, (0, 1)),
        ("y ~ (a + b", UnbalancedParen, (4, 1)),
        ("y ~ a + b)", UnbalancedParen, (9, 1)),
        ("y ~ log(x", UnbalancedParen, (7, 1)),
        ("y ~ (x | )", EmptyGrouping, (7, 3)),
        ("y ~ x + (1 ||)", EmptyGrouping, (11, 3)),
        ("y ~ (1 | g + h)", InvalidGrouping, (9, 5)),
        ("y ~ (1 | 2)", InvalidGrouping, (9, 1)),
        ("y ~ (1 | a:b/c)", InvalidGrouping, (9, 3)),
        ("y ~ (1 | (a/b)/c)", InvalidGrouping, (9, 5)),
        ("y ~ (0 | g)", EmptyRandomTerm, (5, 1)),
        ("y ~ (1 - 1 || g)", EmptyRandomTerm, (5, 5)),
        ("y ~ a*(1|g)", MisplacedBar, (7, 3)),
        ("y ~ x - (1|g)", MisplacedBar, (9, 3)),
        ("y ~ (1|g) - 1", MisplacedBar, (4, 9)),
        ("y ~ log((1|g))", MisplacedBar, (9, 3)),
        ("y ~ ((1|g) | h)", MisplacedBar, (6, 3)),
        ("y ~ foo(x)", UnknownFunction, (4, 3)),
        ("y ~ I(poly(x))", NotArithmetic, (6, 7)),
        ("y ~ log(factor(g))", NotArithmetic, (8, 9)),
        ("y ~ ns(x, 3)", UnknownFunction, (4, 2)),
        ("y ~ poly(x, 0)", InvalidPower, (12, 1)),
        ("y ~ poly(x, 1.5)", InvalidPower, (12, 3)),
        ("y ~ poly(x, z, 2)", WrongArgumentCount, (4, 13)),
        ("poly(y, 2) ~ x", NotArithmetic, (0, 10)),
        ("factor(y) ~ x", NotArithmetic, (0, 9)),
        ("y ~ 1 | g | h", MisplacedBar, (4, 5)),
        ("y ~ log(x, 2)", WrongArgumentCount, (4, 9)),
        ("y ~ log()", WrongArgumentCount, (4, 5)),
        ("y ~ x^2", InvalidPower, (4, 3)),
        ("y ~ log(x)^2", InvalidPower, (4, 8)),
        ("y ~ (a+b)^2.5", InvalidPower, (10, 3)),
        ("y ~ (a+b)^1", InvalidPower, (10, 1)),
        ("y ~ (a+b)^(2)", InvalidPower, (10, 3)),
        ("y ~ x + (offset(t) | g)", MisplacedOffset, (9, 9)),
        ("y ~ I(offset(t))", MisplacedOffset, (6, 9)),
        ("offset(y) ~ x", MisplacedOffset, (0, 9)),
        ("y ~ a + 2", NumberTerm, (8, 1)),
        ("2 ~ x", NumberTerm, (0, 1)),
        ("y ~ I(a:b)", NotArithmetic, (6, 3)),
        ("y ~ TRUE", ReservedName, (4, 4)),
        ("y ~ log(NA)", ReservedName, (8, 2)),
        ("y ~ .", ReservedName, (4, 1)),
        ("y ~ y + a", ResponseOnRhs, (4, 1)),
        ("log(y) ~ a:log(y)", ResponseOnRhs, (11, 6)),
        (
            "y ~ (a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p)^16",
            TooComplex,
            (4, 36),
        ),
    ];
    for (src, kind, (offset, len)) in cases {
        let err = match parse_formula(src) {
            Ok(spec) => panic!("{src}: expected an error, got {spec:?}"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), kind, "{src}: {err:?}");
        assert_eq!(
            (err.span().offset(), err.span().len()),
            (offset, len),
            "{src}: {err:?}"
        );
        assert!(err.source_code().is_some(), "{src}");
        assert_eq!(err.labels().into_iter().flatten().count(), 1, "{src}");
    }
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let label = |src: &str| {
        let err = parse_formula(src).unwrap_err();
        let label = err.labels().unwrap().next().unwrap();
        (err.to_string(), label.label().unwrap().to_string())
    };
    assert_eq!(
        label("y ~ log(*)"),
        (
            "unexpected `*`".into(),
            "expected a variable, number, `(` or `)`".into()
        )
    );
    assert_eq!(
        label("y ~ a b"),
        (
            "unexpected `b`".into(),
            "expected an operator (`+ - * / : ^ |`) or the end of the formula".into()
        )
    );
    assert_eq!(
        label("y ~ a +"),
        (
            "unexpected end of formula".into(),
            "expected a variable, number or `(` after this".into()
        )
    );
    let err = parse_formula("y ~ foo(x)").unwrap_err();
    let help = err.help().unwrap().to_string();
    assert!(
        help.contains("I(), log(), log10(), log2(), exp(), sqrt(), abs()"),
        "{help}"
    );
    let help = parse_formula("y ~ bs(x)")
        .unwrap_err()
        .help()
        .unwrap()
        .to_string();
    assert!(
        help.contains("splines::bs()") && help.contains("poly(x, k)"),
        "{help}"
    );
}

#[test]
fn diagnostics_render_with_the_formula() {
    let err = parse_formula("y ~ x + (offset(t) | g)").unwrap_err();
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    for want in [
        "`offset()` inside a random-effect term",
        "y ~ x + (offset(t) | g)",
        "formula:1:10",
        "offsets belong to the fixed part",
        "help:",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

/// Re-parsing the expanded term labels, joined by `+`, gives the same terms. Only the set of
/// variables of each term is compared: R orders a term's variables by first appearance, so
/// `b:a + a` expands to `a, b:a` but `a + b:a` to `a, a:b`.
#[test]
fn expanded_labels_reparse_to_the_same_terms() {
    let sets = |t: &TermList| -> Vec<Vec<String>> {
        t.terms
            .iter()
            .map(|t| {
                let mut v: Vec<String> = t.variables.iter().map(|v| v.label.clone()).collect();
                v.sort();
                v
            })
            .collect()
    };
    let mut rng = common::Rng::new(7);
    let generated = (0..500).map(|_| format!("y ~ {}", common::fixed_expr(&mut rng, 4)));
    let written = [
        "y ~ a*b*c",
        "y ~ (a+b+c)^2 - a:b",
        "y ~ b:a + a",
        "y ~ I(age^2) + log(x + 1) + `my var`*g",
        "y ~ 0 + a/b",
    ]
    .map(String::from);
    for src in written.into_iter().chain(generated) {
        let spec = parse(&src);
        let mut rhs = labels(&spec.fixed);
        rhs.push(if spec.fixed.intercept { "1" } else { "0" }.to_string());
        let again = parse(&format!("y ~ {}", rhs.join(" + ")));
        assert_eq!(again.fixed.intercept, spec.fixed.intercept, "{src}");
        assert_eq!(sets(&again.fixed), sets(&spec.fixed), "{src}");
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = common::Rng::new(42);
    let alphabet: Vec<char> = "ab y~+-*/:^|()`,.01e5_I og\u{e9}\u{2211}\t\n\0%"
        .chars()
        .collect();
    for _ in 0..20_000 {
        let src: String = if rng.chance(0.5) {
            (0..rng.below(40))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        } else {
            // Near-misses of valid formulas: one character deleted, replaced or inserted.
            let mut chars: Vec<char> = common::formula(&mut rng).chars().collect();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(chars.len() + 1);
                let c = alphabet[rng.below(alphabet.len())];
                match rng.below(3) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 if at < chars.len() => chars[at] = c,
                    _ => chars.insert(at, c),
                }
            }
            chars.into_iter().collect()
        };
        if let Err(e) = parse_formula(&src) {
            let end = e.span().offset() + e.span().len();
            assert!(
                end <= src.len() && src.is_char_boundary(e.span().offset()),
                "{src:?}: {e:?}"
            );
        }
    }
}

#[test]
fn pathological_input_is_refused_not_fatal() {
    let n = 100_000;
    let cases = [
        format!("y ~ {}a{}", "(".repeat(n), ")".repeat(n)),
        format!("y ~ {}a", "(".repeat(n)),
        format!("y ~ {}a", "-".repeat(n)),
        format!("y ~ a{}", "-a".repeat(n)),
        format!("y ~ I(x{})", "+x".repeat(n)),
        format!("y ~ I(x{})", "^x".repeat(n)),
        format!("y ~ {}x{}", "log(".repeat(n), ")".repeat(n)),
        format!("y ~ (1|{}g{})", "(".repeat(n), ")".repeat(n)),
        format!("{}y ~ x", "y+".repeat(n)),
        "y ~ a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p".to_string(),
        "y ~ (a+b)^100000000000".to_string(),
    ];
    for src in cases {
        let err = parse_formula(&src).expect_err(&src[..src.len().min(40)]);
        assert!(
            matches!(
                err.kind(),
                FormulaErrorKind::TooComplex | FormulaErrorKind::InvalidPower
            ),
            "{}: {:?}",
            &src[..src.len().min(40)],
            err.kind()
        );
    }
    // Large but reasonable inputs still parse (a flat sum of terms is not nesting, however
    // long), and high powers stop at the full expansion.
    assert_eq!(
        parse(&format!("y ~ a{}", "+a".repeat(n))).fixed.terms.len(),
        1
    );
    assert_eq!(parse("y ~ (a+b+c)^1000000").fixed.terms.len(), 7);
}

/// lme4 1.1-31 on a right-hand side that is one unparenthesized bar: `findbars()` gives one
/// term with everything left of the bar as effects, `nobars()` the fixed part `~ 1`.
#[test]
fn an_unparenthesized_bar_is_one_random_term() {
    for (src, want) in [
        ("Yield ~ 1|Batch", (true, vec![], words("Batch"))),
        ("y ~ (x1 + x2)|ff", (true, words("x1 x2"), words("ff"))),
        ("y ~ x + z | g", (true, words("x z"), words("g"))),
        ("y ~ 0 + x | g", (false, words("x"), words("g"))),
        ("y ~ x | a:b", (true, words("x"), words("a b"))),
    ] {
        let spec = parse(src);
        assert_eq!(random(&spec), [want], "{src}");
        assert!(spec.fixed.intercept && spec.fixed.terms.is_empty(), "{src}");
    }
    // `||` splits as it does in parentheses; `/` nests.
    assert_eq!(
        random(&parse("y ~ x || g")),
        [(true, vec![], words("g")), (false, words("x"), words("g"))]
    );
    assert_eq!(
        random(&parse("y ~ 1 | a/b")),
        [(true, vec![], words("b a")), (true, vec![], words("a"))]
    );
}

/// Labels and column names from R 4.2 (`colnames(model.matrix(~ poly(x, 2) + scale(x) +
/// log10(x + 1) + log2(x + 1)))`, in `tests/data/reference/formula_columns.json`).
#[test]
fn poly_factor_scale_and_logarithms_are_r_s() {
    let spec = parse("log2(y) ~ poly(Days, 2) + factor(g) + scale(x) + log10(x + 1) + poly(t)");
    assert_eq!(
        labels(&spec.fixed),
        [
            "poly(Days, 2)",
            "factor(g)",
            "scale(x)",
            "log10(x + 1)",
            "poly(t)"
        ]
    );
    let exprs: Vec<&Expr> = spec
        .fixed
        .terms
        .iter()
        .map(|t| &t.variables[0].expr)
        .collect();
    assert_eq!(
        exprs,
        [
            &Expr::Poly {
                arg: col("Days"),
                degree: 2
            },
            &Expr::Factor(col("g")),
            &Expr::Call(Function::Scale, col("x")),
            &Expr::Call(
                Function::Log10,
                Box::new(Expr::Binary(
                    BinaryOp::Add,
                    col("x"),
                    Box::new(Expr::Number(1.0))
                ))
            ),
            &Expr::Poly {
                arg: col("t"),
                degree: 1
            },
        ]
    );
    assert_eq!(spec.response.expr, Expr::Call(Function::Log2, col("y")));
    assert_eq!(spec.columns(), ["y", "Days", "g", "x", "t"]);
    // Inside random terms too, and in arithmetic for the numeric ones.
    let spec = parse("y ~ poly(Days, 2) + (poly(Days, 2) | Subject) + I(scale(x)^2)");
    assert_eq!(labels(&spec.random[0].terms), ["poly(Days, 2)"]);
    assert_eq!(labels(&spec.fixed), ["poly(Days, 2)", "I(scale(x)^2)"]);
    // `factor(x):z` crosses a factor as any factor column would.
    assert_eq!(
        labels(&parse("y ~ factor(x)*z + (1|g)").fixed),
        ["factor(x)", "z", "factor(x):z"]
    );
}
