//! Native plugins: the example loads and works, and a plugin that panics, fails or speaks
//! another ABI gives an error while the host keeps running.

#[path = "common/libraries.rs"]
mod libraries;

use libraries::{library, EXAMPLE, FUTURE_ABI, PANICS};
use mixspec_engine::{read_csv, Column, DataFrame};
use mixspec_plugins::{load_library, Catalog, Params, Per, Plugin, PluginError};

fn data(csv: &str) -> DataFrame {
    read_csv(csv.as_bytes(), "data.csv").unwrap()
}

fn numeric(c: &Column) -> &[f64] {
    match c {
        Column::Numeric(v) => v,
        Column::Factor(_) => panic!("expected numbers"),
    }
}

fn example() -> Vec<Plugin> {
    load_library(&library(EXAMPLE)).unwrap()
}

#[test]
fn the_example_offers_an_instrument_and_two_predictors_that_pass_their_tests() {
    let plugins = example();
    let ids: Vec<(&str, &str)> = plugins
        .iter()
        .map(|p| (p.kind(), p.about().id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("instrument", "phq-9"),
            ("predictor", "subject-mean"),
            ("predictor", "within-subject")
        ]
    );
    for p in &plugins {
        let results = p.run_tests();
        assert_eq!(results.len(), 1);
        results[0]
            .clone()
            .unwrap_or_else(|e| panic!("{}: {e}", p.about().id));
    }
}

#[test]
fn a_native_instrument_is_scored_after_the_host_checks_its_items() {
    let catalog = Catalog::new(&[]).unwrap();
    let path = library(EXAMPLE).display().to_string();
    let phq9 = catalog.instrument(&path, &Params::default()).unwrap();
    let out = phq9
        .score(&data(
            "phq1,phq2,phq3,phq4,phq5,phq6,phq7,phq8,phq9\n\
             1,1,1,1,1,1,1,1,1\n3,2,1,0,3,2,1,0,3\n3,2,1,,3,2,1,0,3\n",
        ))
        .unwrap();
    assert_eq!(out[0].0, "PHQ9");
    let total = numeric(&out[0].1);
    assert_eq!(&total[..2], [9.0, 15.0]);
    assert!(total[2].is_nan());

    let err = phq9
        .score(&data(
            "phq1,phq2,phq3,phq4,phq5,phq6,phq7,phq8,phq9\n1,1,1,1,4,1,1,1,1\n",
        ))
        .unwrap_err();
    assert!(matches!(err, PluginError::OutOfRange { ref column, .. } if column == "phq5"));
}

#[test]
fn a_native_predictor_is_called_per_subject() {
    let [_, Plugin::Predictor(mean), Plugin::Predictor(within)] = &example()[..] else {
        panic!("unexpected plugins")
    };
    assert_eq!(within.per(), Per::Subject);
    let d = data("id,stress\na,1\nb,10\na,3\nb,\n,7\nb,20\n");
    let m = mean.derive(&d, &["stress"], Some("id")).unwrap();
    let w = within.derive(&d, &["stress"], Some("id")).unwrap();
    // a: 1, 3 → mean 2; b: 10, 20 (one missing) → 15; the row without a subject: missing.
    let expect_m = [2.0, 15.0, 2.0, 15.0, f64::NAN, 15.0];
    let expect_w = [-1.0, -5.0, 1.0, f64::NAN, f64::NAN, 5.0];
    for (got, want) in [(numeric(&m), expect_m), (numeric(&w), expect_w)] {
        for (g, w) in got.iter().zip(want) {
            assert!((g.is_nan() && w.is_nan()) || g == &w, "{got:?}");
        }
    }
    let err = within.derive(&d, &["stress"], None).unwrap_err();
    assert!(matches!(err, PluginError::NoSubject { .. }), "{err}");
}

#[test]
fn a_panic_in_a_plugin_is_an_error_and_the_host_keeps_running() {
    let plugins = load_library(&library(PANICS)).unwrap();
    let [Plugin::Instrument(refuses), Plugin::Predictor(panics)] = &plugins[..] else {
        panic!("unexpected plugins")
    };
    let d = data("x,a\n1,0\n2,1\n");
    for _ in 0..2 {
        let err = panics.derive(&d, &["x"], None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("deliberate panic on 2 rows") && text.contains("src/lib.rs"),
            "{text}"
        );
    }
    let err = refuses.score(&d).unwrap_err();
    assert!(err.to_string().contains("refuses to score"), "{err}");
    // Still running, and other plugins still work.
    assert!(example()[0].run_tests()[0].is_ok());
}

#[test]
fn a_library_of_another_abi_version_is_refused() {
    let path = library(FUTURE_ABI);
    let Err(err) = load_library(&path) else {
        panic!("loaded a library of ABI 999")
    };
    assert!(
        matches!(
            err,
            PluginError::AbiVersion {
                found: 999,
                expected: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ABI 999"), "{err}");
}

#[test]
fn a_file_that_is_no_library_is_an_error() {
    let path = std::env::temp_dir().join(format!("not-a-plugin-{}.so", std::process::id()));
    std::fs::write(&path, "not a shared library").unwrap();
    let err = load_library(&path).err().expect("an error");
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, PluginError::Library { .. }), "{err}");
}

#[test]
fn discovered_libraries_are_found_by_id() {
    let dir = std::env::temp_dir().join(format!("mixspec-plugin-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = library(EXAMPLE);
    std::fs::copy(&lib, dir.join(lib.file_name().unwrap())).unwrap();
    let catalog = Catalog::new(std::slice::from_ref(&dir)).unwrap();
    let params = Params::default();
    let found = catalog
        .predictor("within-subject", &params)
        .map(|p| p.about().clone());
    let wrong_kind = catalog.instrument("within-subject", &params).err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(found.unwrap().title.contains("Within-subject"));
    assert!(matches!(wrong_kind, Some(PluginError::NotFound { .. })));
}
