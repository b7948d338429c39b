//! Properties of the `.spec` parser over generated input: it never panics and every
//! diagnostic points inside the text; formulas embedded in a spec expand exactly as the
//! formula parser expands them, however the model line is laid out; and generated specs
//! parse back into the statements they were printed from.

mod common;

use mixspec_dsl::parse_formula;
use mixspec_dsl::spec::parse_spec;
use proptest::prelude::*;

/// Parses, then checks that every problem's span lies on character boundaries of `src`
/// and that the whole report renders.
fn parse_and_render(src: &str) {
    let (_, d) = parse_spec(src);
    for p in d.iter() {
        let s = p.span();
        assert!(
            s.start <= s.end && s.end <= src.len(),
            "{src:?}: span {s:?} of {p}"
        );
        assert!(
            src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
            "{src:?}: span {s:?} of {p}"
        );
    }
    if let Err(e) = d.finish("fuzz.spec", src) {
        assert!(!e.render_plain().is_empty());
    }
}

const VALID: &str = r#"data "d.csv" { subject patient; time months }
instrument "wai-s" when version == "S"
derive outcome = if last(gaf) >= 60 then "good" else "poor"
derive n = count(TASKS)
factor outcome levels "good", "poor" reference "good"
numeric age
model linear: TASKS ~ months + (months | patient)  [method ML]
model by_outcome: TASKS ~ months * outcome +
    (months | patient) [method ML]
model poor: TASKS ~ months + (months | patient) where outcome == "poor" and not missing(age)
compare linear, by_outcome
explained by_outcome vs linear
report "t" { linear, by_outcome }
plot trajectories by_outcome by outcome
"#;

fn alphabet() -> impl Strategy<Value = char> {
    prop::sample::select(
        "adefilmnoprstuvwxy ~+-*/:^|()[]{}\"`,.;=<>!&#01e5_\t\n\r\u{e9}\u{2211}\0"
            .chars()
            .collect::<Vec<_>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(chars in prop::collection::vec(alphabet(), 0..160)) {
        let src: String = chars.into_iter().collect();
        parse_and_render(&src);
    }

    #[test]
    fn near_misses_of_a_valid_spec_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, alphabet()), 1..6)
    ) {
        let mut chars: Vec<char> = VALID.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0 if i < chars.len() => { chars.remove(i); }
                1 if i < chars.len() => chars[i] = c,
                _ => chars.insert(i, c),
            }
        }
        parse_and_render(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn embedded_formulas_expand_as_the_formula_parser(seed in any::<u64>(), layout in 0..4u8) {
        let formula = common::formula(&mut common::Rng::new(seed));
        let Ok(mut expected) = parse_formula(&formula) else { return Ok(()) };
        // Lay the model line out as people do: aligned, with a comment, or broken after an
        // operator onto an indented line.
        let line = match layout {
            0 => format!("model m: {formula}\n"),
            1 => format!("model   m :   {formula}   # note\n"),
            2 => match formula.find(" + ") {
                Some(at) => format!("model m: {} +\n      {}\n", &formula[..at], &formula[at + 3..]),
                None => format!("model m: {formula}\n"),
            },
            _ => format!("model m: {formula} [method ML]\n"),
        };
        let src = format!("data \"d.csv\"\n{line}");
        let (spec, d) = parse_spec(&src);
        if expected.random.is_empty() {
            // A model needs random effects; the spec says so instead of expanding it.
            prop_assert!(spec.models.is_empty());
            return Ok(());
        }
        prop_assert!(d.is_empty(), "{src}: {:?}", d.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        expected.formula = expected.formula.split_whitespace().collect::<Vec<_>>().join(" ");
        prop_assert_eq!(&spec.models[0].spec, &expected, "{}", src);
        prop_assert_eq!(spec.models[0].reml, layout != 3);
    }

    #[test]
    fn generated_specs_parse_back_into_their_statements(
        names in prop::collection::btree_set("[a-z][a-z0-9_]{0,6}", 2..6),
        predictor in "[a-z][a-z0-9_.]{0,5}",
        ml in any::<bool>(),
        level in "[A-Za-z ]{1,8}",
    ) {
        let names: Vec<String> = names.into_iter()
            .filter(|n| !matches!(n.as_str(), "if" | "then" | "else" | "and" | "or" | "not"))
            .collect();
        prop_assume!(names.len() >= 2);
        let predictor = if matches!(predictor.as_str(), "if" | "then" | "else" | "and" | "or" | "not") {
            "x".to_string()
        } else {
            predictor
        };
        let method = if ml { " [method ML]" } else { "" };
        let mut src = String::from("data \"d.csv\" { subject g; time t }\n");
        src += &format!("derive {predictor}_d = if {predictor} == \"{level}\" then 1 else 0\n");
        for n in &names {
            src += &format!("model {n}: y ~ t * {predictor}_d + (t | g){method}\n");
        }
        src += &format!("compare {}\n", names.join(", "));
        src += &format!("explained {} vs {}\n", names[1..].join(", "), names[0]);
        src += &format!("report \"r\" {{ {} }}\n", names.join("\n  "));
        src += &format!("plot trajectories {} by {predictor}_d\n", names[0]);
        let (spec, d) = parse_spec(&src);
        prop_assert!(d.is_empty(), "{src}: {:?}", d.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        let parsed: Vec<&str> = spec.models.iter().map(|m| m.name.text.as_str()).collect();
        prop_assert_eq!(&parsed, &names.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert!(spec.models.iter().all(|m| m.reml != ml));
        prop_assert_eq!(spec.comparisons[0].models.len(), names.len());
        prop_assert_eq!(&spec.explained[0].reference.text, &names[0]);
        prop_assert_eq!(spec.reports[0].models.len(), names.len());
        prop_assert_eq!(spec.plots[0].by.first().map(|b| b.text.clone()), Some(format!("{predictor}_d")));
    }
}

#[test]
fn pathological_input_is_refused_not_fatal() {
    let n = 100_000;
    let cases = [
        format!(
            "data \"d\"\nderive x = {}1{}\n",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!("data \"d\"\nderive x = {}1\n", "-".repeat(n)),
        format!("data \"d\"\nderive x = 1{}\n", " + 1".repeat(n)),
        format!("data \"d\"\nderive x = 2{}\n", "^2".repeat(n)),
        format!("data \"d\"\nderive x = {}1\n", "not ".repeat(n)),
        format!(
            "data \"d\"\n{}",
            "model m: y ~ x + (1 | g)\n".repeat(n / 10)
        ),
        format!("{}\n", "\"".repeat(n)),
        "x\n".repeat(n),
    ];
    for src in cases {
        let (_, d) = parse_spec(&src);
        assert!(!d.is_empty(), "{}", &src[..40]);
    }
}
