//! Input at the edges of size: long flat lists, long files and long names are read in time
//! proportional to their size, and what is refused is refused with one clear message.

use std::time::{Duration, Instant};

use mixspec_dsl::parse_formula;
use mixspec_dsl::spec::{closest, parse_spec, SpecErrorKind};

fn problems(src: &str) -> Vec<(SpecErrorKind, String)> {
    let (_, d) = parse_spec(src);
    match d.finish("t.spec", src) {
        Ok(()) => Vec::new(),
        Err(e) => {
            let rendered = e.render_plain();
            e.problems()
                .iter()
                .map(|p| (p.kind(), rendered.clone()))
                .collect()
        }
    }
}

#[test]
fn a_formula_of_hundreds_of_flat_terms_parses() {
    let formula = format!(
        "Reaction ~ Days{} + (Days | Subject)",
        " + Days".repeat(500)
    );
    let spec = parse_formula(&formula).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(spec.fixed.terms.len(), 1);
    // Distinct terms keep their order, and `-` after a long run still removes.
    let many: String = (0..600).map(|i| format!(" + x{i}")).collect();
    let spec = parse_formula(&format!("y ~ a{many} - a + (1 | g)")).unwrap();
    let labels: Vec<String> = spec.fixed.terms.iter().map(|t| t.label()).collect();
    assert_eq!(labels.len(), 600);
    assert_eq!((labels[0].as_str(), labels[599].as_str()), ("x0", "x599"));
    // Arithmetic inside a call keeps R's left nesting, and its limit.
    let deep = format!("y ~ I(x{}) + (1 | g)", " + x".repeat(600));
    let err = parse_formula(&deep).unwrap_err();
    assert!(err.to_string().contains("nested too deeply"), "{err}");
}

#[test]
fn a_spec_of_hundreds_of_kilobytes_parses() {
    let mut src = String::from("data \"d.csv\" { subject patient; time months }\n");
    for i in 0..4000 {
        src.push_str(&format!(
            "derive v{i} = if GAF > {i} then \"high\" else \"low\"\n"
        ));
    }
    src.push_str(&format!(
        "model m: GAF ~ months{} + (months | patient)\n",
        " + v1".repeat(500)
    ));
    assert!(src.len() > 200_000);
    let start = Instant::now();
    let found = problems(&src);
    assert!(found.is_empty(), "{:?}", found.first());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_spec_too_long_to_read_is_one_short_problem() {
    let line = "derive x = 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14\n";
    let src = format!("data \"d.csv\"\n{}", line.repeat((2 << 20) / line.len()));
    let found = problems(&src);
    assert_eq!(
        found.len(),
        1,
        "{:?}",
        found.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    assert_eq!(found[0].0, SpecErrorKind::TooComplex);
    assert!(found[0].1.len() < 2_000, "the report prints the file");
}

#[test]
fn did_you_mean_on_a_huge_name_is_quick() {
    let long = "a".repeat(100_000);
    let start = Instant::now();
    assert_eq!(closest(&long, ["a", "aaaa", "b"]), None);
    assert_eq!(closest("linaer", ["linear", &long]), Some("linear"));
    let src = format!("data \"d.csv\"\nmodel linear: y ~ x + (1 | g)\ncompare linear, {long}\n");
    let found = problems(&src);
    assert_eq!(found.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
