//! Script plugins: predictors over whole columns, declarations checked field by field, and
//! discovery of scripts by id.

use mixspec_engine::{read_csv, Column, DataFrame};
use mixspec_plugins::{load_path, load_script, Catalog, Origin, Params, Plugin, PluginError};
use std::path::{Path, PathBuf};

fn load(text: &str) -> Result<Plugin, PluginError> {
    load_script(
        "test.rhai",
        text,
        Origin::Script("test.rhai".into()),
        &Params::default(),
    )
}

fn declaration_error(text: &str) -> (String, String) {
    match load(text) {
        Err(PluginError::Declaration { path, message, .. }) => (path, message),
        Err(e) => panic!("not a declaration error: {e}"),
        Ok(_) => panic!("loaded"),
    }
}

fn numeric(c: &Column) -> Vec<f64> {
    match c {
        Column::Numeric(v) => v.clone(),
        Column::Factor(_) => panic!("expected numbers"),
    }
}

fn example_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scripts/baseline.rhai")
}

#[test]
fn the_example_predictor_passes_its_tests_and_works_per_subject() {
    let mut plugins = load_path(&example_script(), &Params::default()).unwrap();
    let Some(Plugin::Predictor(baseline)) = plugins.pop() else {
        panic!("not a predictor")
    };
    for r in Plugin::Predictor(baseline).run_tests() {
        r.unwrap();
    }
    let catalog = Catalog::new(&[example_script().parent().unwrap().to_path_buf()]).unwrap();
    let baseline = catalog.predictor("baseline", &Params::default()).unwrap();
    let data = read_csv(
        "id,week,score\na,1,20\nb,0,31\na,0,24\nb,1,29\nc,0,\nc,1,12\n".as_bytes(),
        "d.csv",
    )
    .unwrap();
    let out = numeric(
        &baseline
            .derive(&data, &["score", "week"], Some("id"))
            .unwrap(),
    );
    // a's earliest week is 0 (24); b's is 0 (31); c's week-0 score is missing, so week 1.
    assert_eq!(out, [24.0, 31.0, 24.0, 31.0, 12.0, 12.0]);
    let err = baseline.derive(&data, &["score"], Some("id")).unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::Arity {
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_row_predictor_gets_whole_columns_once() {
    let Plugin::Predictor(p) = load(
        r#"fn derive(dose) { dose.map(|d| if d > 0.0 { d.ln() } else { () }) }
           #{ kind: "predictor", id: "log-dose", version: "1", inputs: ["dose"], per: "row",
              tests: [#{ inputs: #{ dose: [1.0, 0.0] }, expect: [0.0, ()] }] }"#,
    )
    .unwrap() else {
        panic!("not a predictor")
    };
    let data = DataFrame::new(
        "d",
        vec![(
            "mg".into(),
            Column::Numeric(vec![1.0, f64::NAN, 0.0, 100.0]),
        )],
    );
    let out = numeric(&p.derive(&data, &["mg"], None).unwrap());
    assert_eq!(out[0], 0.0);
    assert!(out[1].is_nan() && out[2].is_nan());
    assert!((out[3] - 100f64.ln()).abs() < 1e-12);
}

#[test]
fn a_predictor_must_return_one_value_per_row() {
    let Plugin::Predictor(p) = load(
        r#"fn derive(x) { [1, 2] }
           #{ kind: "predictor", id: "short", version: "1", inputs: ["x"], per: "row" }"#,
    )
    .unwrap() else {
        panic!("not a predictor")
    };
    let data = DataFrame::new("d", vec![("x".into(), Column::Numeric(vec![1.0; 3]))]);
    let err = p.derive(&data, &["x"], None).unwrap_err();
    assert!(
        err.to_string().contains("returned 2 values for 3 rows"),
        "{err}"
    );
}

#[test]
fn failing_test_vectors_say_what_differed() {
    let plugin = load(
        r#"#{ kind: "instrument", id: "t", version: "1", items: ["a", "b"], range: [0, 3],
              scales: [#{ name: "S", items: ["a", "b"], aggregate: "sum" }],
              tests: [#{ items: [1, 2], expect: #{ S: 3 } }, #{ items: [1, 2], expect: #{ S: 4 } }] }"#,
    )
    .unwrap();
    let results = plugin.run_tests();
    assert!(results[0].is_ok());
    assert_eq!(
        results[1],
        Err("test 2: row 1: `S` is 3, expected 4".to_string())
    );
}

const HEADER: &str =
    r#"kind: "instrument", id: "t", version: "1", items: ["a", "b", "c"], range: [1, 5],"#;

#[test]
fn declarations_are_checked_field_by_field() {
    let cases = [
        (
            "scales: [#{ name: \"S\", items: [\"a\"], aggregate: \"sum\", min_vaild: 1 }]",
            "scales[0]",
            "unknown field `min_vaild`",
        ),
        (
            "scales: [#{ name: \"S\", items: [\"a\", \"b\"], reverse: [\"c\"], aggregate: \"sum\" }]",
            "scales[0]",
            "`c` is not an item of this scale",
        ),
        (
            "scales: [#{ name: \"S\", items: [\"a\", \"x\"], aggregate: \"mean\" }]",
            "scales[0]",
            "`x` is not an item of this instrument",
        ),
        (
            "scales: [#{ name: \"S\", items: [\"a\"], aggregate: \"median\" }]",
            "scales[0].aggregate",
            "expected one of sum, mean",
        ),
        (
            "composites: [#{ name: \"C\", of: [\"S\"], aggregate: \"sum\" }]",
            "composites[0]",
            "`S` is not an output declared before this one",
        ),
        (
            "scales: [#{ name: \"S\", items: [\"a\"], aggregate: \"mean\", prorate: true }]",
            "scales[0]",
            "only a sum can be prorated",
        ),
        (
            "bands: [#{ name: \"B\", of: \"a\", bands: [] }]",
            "bands[0]",
            "`a` is not an output",
        ),
        (
            "scales: [#{ name: \"a\", items: [\"a\"], aggregate: \"sum\" }]",
            "scales[0]",
            "would overwrite the item column",
        ),
        (
            "value_sets: [#{ name: \"V\", start: 1.0, decrements: #{ a: [0.0, 0.1] } }]",
            "value_sets[0]",
            "one per level 1–5 makes 5",
        ),
    ];
    for (fields, path, message) in cases {
        let (p, m) = declaration_error(&format!("#{{ {HEADER} {fields} }}"));
        assert_eq!(p, path, "{fields}: {m}");
        assert!(m.contains(message), "{fields}: {m}");
    }
    // A range of more levels than a machine word counts is refused, not overflowed.
    let (p, m) = declaration_error(
        r#"#{ kind: "instrument", id: "t", version: "1", items: ["a"], range: [-1e19, 1e19],
              value_sets: [#{ name: "V", start: 1.0, decrements: #{ a: [0.0] } }] }"#,
    );
    assert_eq!(p, "value_sets[0]", "{m}");
    assert!(m.contains("has 1 decrements, one per level"), "{m}");
    let (p, m) = declaration_error(r#"#{ kind: "questionnaire", id: "t", version: "1" }"#);
    assert_eq!((p.as_str(), m.contains("`questionnaire`")), ("kind", true));
    let (p, m) = declaration_error("42");
    assert_eq!(
        (p.as_str(), m.contains("must end with its declaration")),
        ("declaration", true)
    );
    let (p, m) = declaration_error(
        r#"#{ kind: "predictor", id: "p", version: "1", inputs: ["x", "y"], per: "row" }"#,
    );
    assert_eq!((p.as_str(), m.contains("2 parameters")), ("derive", true));
}

#[test]
fn discovered_scripts_are_named_for_their_ids() {
    let dir = std::env::temp_dir().join(format!("mixspec-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |file: &str, id: &str| {
        let text = format!(
            r#"#{{ kind: "instrument", id: "{id}", version: "1", items: ["a"], range: [0, 1],
                   scales: [#{{ name: "A", items: ["a"], aggregate: "sum" }}] }}"#
        );
        std::fs::write(dir.join(file), text).unwrap();
    };
    write("site-scale.rhai", "site-scale");
    write("misnamed.rhai", "other");
    write("wai-s.rhai", "wai-s");
    let catalog = Catalog::new(std::slice::from_ref(&dir)).unwrap();
    let params = Params::default();
    let site = catalog
        .instrument("site-scale", &params)
        .map(|i| i.about().clone());
    let misnamed = catalog.instrument("misnamed", &params).err();
    let twice = catalog.instrument("wai-s", &params).err();
    let unknown = catalog.instrument("wai", &params).err();
    let listed = catalog.load_all(&params).len();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(
        site.unwrap().origin,
        Origin::Script(dir.join("site-scale.rhai"))
    );
    assert!(misnamed
        .unwrap()
        .to_string()
        .contains("must be named other.rhai"));
    assert!(matches!(twice, Some(PluginError::Ambiguous { .. })));
    let unknown = unknown.unwrap();
    let help = format!("{:?}", miette::Report::new(unknown));
    assert!(help.contains("wai-s, wai-sr"), "{help}");
    assert_eq!(listed, 7 + 3);
}

#[test]
fn a_bad_parameter_file_is_located() {
    let err = Params::from_json("keys.json", "{\n  \"range\": [1, 5,\n}").unwrap_err();
    let PluginError::Script(e) = &err else {
        panic!("{err}")
    };
    assert_eq!((e.file.as_str(), e.line), ("keys.json", 3), "{err}");
}
