//! `derive NAME = predictor "ID"(columns)`: the example Rhai predictor by id (from a plugin
//! folder) and by path, the example native library by path (`PATH#ID`, as it offers
//! several), each checked against the same variable written as an expression; and the
//! statement's problems, located.

#[path = "../../plugins/tests/common/libraries.rs"]
mod libraries;

use std::path::{Path, PathBuf};

use mixspec_analysis::{check, Checked, Plugins};
use mixspec_dsl::spec::{SpecError, SpecErrorKind};
use mixspec_engine::Column;
use mixspec_plugins::{Catalog, Params};

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The bundled plugins and the example scripts' folder.
fn plugins() -> Plugins {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/scripts");
    Plugins {
        catalog: Catalog::new(&[scripts]).unwrap(),
        params: Params::default(),
    }
}

fn run(src: &str) -> Result<Checked, SpecError> {
    check("test.spec", src, &base(), &plugins())
}

fn numbers(c: &Checked, name: &str) -> Vec<f64> {
    match c.data.column(name) {
        Some(Column::Numeric(v)) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// Equal, with missing values in the same rows.
fn assert_same(ours: &[f64], expected: &[f64]) {
    assert_eq!(ours.len(), expected.len());
    for (row, (a, b)) in ours.iter().zip(expected).enumerate() {
        assert!(
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "row {row}: {a} vs {b}"
        );
    }
}

const WAI: &str = "data \"data/wai.csv\" { subject patient; time months }\n";

#[test]
fn the_rhai_baseline_by_id_and_by_path_is_the_first_value() {
    let c = run(&format!(
        "{WAI}derive by_id = predictor \"baseline\"(gaf, months)
derive by_path = predictor \"../../plugins/examples/scripts/baseline.rhai\"(gaf, months)
derive expected = first(gaf)
model m: gaf ~ months + by_id + (1 | patient) [method ML]
"
    ))
    .unwrap_or_else(|e| panic!("{}", e.render_plain()));
    let expected = numbers(&c, "expected");
    assert_same(&numbers(&c, "by_id"), &expected);
    assert_same(&numbers(&c, "by_path"), &expected);
}

#[test]
fn the_native_within_subject_predictor_by_path() {
    let library = libraries::library(libraries::EXAMPLE);
    let c = run(&format!(
        "{WAI}derive within = predictor \"{}#within-subject\"(gaf)
derive expected = gaf - mean(gaf)
",
        library.display()
    ))
    .unwrap_or_else(|e| panic!("{}", e.render_plain()));
    assert_same(&numbers(&c, "within"), &numbers(&c, "expected"));
}

#[test]
fn predictor_problems_point_at_the_statement() {
    let src = format!(
        "{WAI}derive a = predictor \"baselin\"(gaf, months)
derive b = predictor \"baseline\"(gaf)
derive c = predictor \"baseline\"(gaf, monhts)
derive gaf = predictor \"baseline\"(wai1, months)
derive e = predictor \"baseline\"(version, months)
derive f = predictor \"baseline\"(gaf, gaf)
model m: wai1 ~ a + (1 | patient)
"
    );
    let e = run(&src).err().expect("problems");
    let kinds: Vec<SpecErrorKind> = e.problems().iter().map(|p| p.kind()).collect();
    let rendered = e.render_plain();
    assert_eq!(
        kinds,
        // In file order, the data-free check of `f` (a column listed twice) with the rest.
        [
            SpecErrorKind::UnknownPredictor,
            SpecErrorKind::Arguments,
            SpecErrorKind::UnknownVariable,
            SpecErrorKind::Duplicate,
            SpecErrorKind::Type,
            SpecErrorKind::Duplicate,
        ],
        "{rendered}"
    );
    for needle in [
        "unknown predictor `baselin`",
        "did you mean `baseline`?",
        "`baseline` takes 2 columns (x, time), but 1 is given",
        "did you mean `months`?",
        "`gaf` is already a column of the data",
        "`version` has text values",
        "column `gaf` is listed twice",
    ] {
        assert!(
            rendered.contains(needle),
            "missing {needle:?} in\n{rendered}"
        );
    }
    // `a` could not be made: its use in a model is not reported again.
    assert!(!rendered.contains("unknown variable `a`"), "{rendered}");
}

#[test]
fn a_per_subject_predictor_needs_the_subject_column() {
    let e = run("data \"data/wai.csv\"\nderive b = predictor \"baseline\"(gaf, months)\n")
        .err()
        .expect("a problem");
    let kinds: Vec<SpecErrorKind> = e.problems().iter().map(|p| p.kind()).collect();
    assert_eq!(
        kinds,
        [SpecErrorKind::MissingSetting],
        "{}",
        e.render_plain()
    );
    assert!(e
        .render_plain()
        .contains("predictor \"baseline\"(gaf, months)"));
}
