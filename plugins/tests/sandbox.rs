//! The script sandbox: runaway scripts are stopped quickly with a clear error, and a script
//! has no way to reach files, processes or the terminal.

use mixspec_engine::{Column, DataFrame};
use mixspec_plugins::{load_script, Origin, Params, Plugin, PluginError};
use std::time::{Duration, Instant};

fn load(text: &str) -> Result<Plugin, PluginError> {
    load_script(
        "test.rhai",
        text,
        Origin::Script("test.rhai".into()),
        &Params::default(),
    )
}

/// The script's error, and how long it took to get it.
fn failure(text: &str) -> (String, Duration) {
    let start = Instant::now();
    let err = load(text).err().expect("the script should fail");
    (err.to_string(), start.elapsed())
}

#[test]
fn an_endless_loop_is_stopped_within_a_second() {
    for script in [
        "loop {}",
        "let i = 0; while true { i += 1; }",
        "fn f() { loop {} } f()",
    ] {
        let (err, took) = failure(script);
        assert!(took < Duration::from_secs(1), "{script}: took {took:?}");
        assert!(
            err.contains("stopped") && err.contains("endless loop"),
            "{err}"
        );
    }
}

#[test]
fn a_loop_of_slow_operations_is_stopped_by_the_clock() {
    // Each `contains` scans a 1 MB string: few operations, much time.
    let (err, took) =
        failure(r#"let s = ""; s.pad(1000000, 'x'); loop { if s.contains("y") { break; } }"#);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(err.contains("limit of 500 ms"), "{err}");
}

#[test]
fn an_endless_loop_in_a_predictor_call_is_stopped_within_a_second() {
    let Plugin::Predictor(p) = load(
        r#"fn derive(x) { loop { x.push(0.0); x.pop(); } }
           #{ kind: "predictor", id: "spin", version: "1", inputs: ["x"], per: "row" }"#,
    )
    .unwrap() else {
        panic!("not a predictor")
    };
    let data = DataFrame::new("d", vec![("x".into(), Column::Numeric(vec![1.0; 100]))]);
    let start = Instant::now();
    let err = p.derive(&data, &["x"], None).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn deep_recursion_and_huge_values_are_errors() {
    let (err, _) = failure("fn f(n) { f(n + 1) } f(0)");
    assert!(err.to_string().contains("Stack overflow"), "{err}");
    let (err, _) = failure(r#"let s = "x"; loop { s += s; }"#);
    assert!(
        err.contains("too large") || err.contains("Length of string"),
        "{err}"
    );
    let (err, _) = failure("let a = [1]; loop { a += a; }");
    assert!(
        err.contains("too large") || err.contains("Size of array"),
        "{err}"
    );
    let (err, _) = failure(r#"numbered("x", 1, 1000000000)"#);
    assert!(err.contains("at most"), "{err}");
}

#[test]
fn a_script_cannot_read_files_or_start_processes() {
    let secret = std::env::temp_dir().join(format!("mixspec-secret-{}", std::process::id()));
    std::fs::write(&secret, "top secret").unwrap();
    let path = secret.display();
    for call in [
        format!(r#"open("{path}")"#),
        format!(r#"read_file("{path}")"#),
        format!(r#"File::open("{path}")"#),
        format!(r#"fs::read_to_string("{path}")"#),
        r#"system("touch /tmp/mixspec-pwned")"#.to_string(),
        r#"exec("sh", ["-c", "true"])"#.to_string(),
        r#"spawn("sh")"#.to_string(),
        r#"command("sh")"#.to_string(),
        "sleep(10)".to_string(),
        "timestamp()".to_string(),
    ] {
        let (err, _) = failure(&call);
        assert!(
            err.contains("Function not found") || err.contains("syntax error"),
            "{call}: {err}"
        );
        assert!(!err.contains("top secret"));
    }
    // Neither modules nor eval are there to load code from elsewhere.
    for script in [
        format!(r#"import "{path}" as m;"#),
        r#"eval("1 + 1")"#.to_string(),
    ] {
        let (err, _) = failure(&script);
        assert!(err.contains("syntax error"), "{script}: {err}");
    }
    std::fs::remove_file(&secret).unwrap();
    assert!(!std::path::Path::new("/tmp/mixspec-pwned").exists());
}

#[test]
fn script_errors_give_file_line_and_column() {
    let err = load("let x = 1;\nlet y = ;\n").err().unwrap();
    let PluginError::Script(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (e.file.as_str(), e.line, e.column),
        ("test.rhai", 2, 9),
        "{err}"
    );

    let err = load("let x = 1;\n\n  throw \"broken key\";\n")
        .err()
        .unwrap();
    let PluginError::Script(e) = &err else {
        panic!("{err}")
    };
    assert_eq!((e.line, e.column), (3, 3), "{err}");
    assert!(e.message.contains("broken key"));
}

#[test]
fn errors_inside_derive_point_into_the_function() {
    let Plugin::Predictor(p) = load(
        "fn derive(x) {\n    let y = x[0];\n    y.no_such_method()\n}\n\
         #{ kind: \"predictor\", id: \"bad\", version: \"1\", inputs: [\"x\"], per: \"row\" }",
    )
    .unwrap() else {
        panic!("not a predictor")
    };
    let data = DataFrame::new("d", vec![("x".into(), Column::Numeric(vec![1.0]))]);
    let err = p.derive(&data, &["x"], None).unwrap_err();
    let PluginError::Script(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.line, 3, "{err}");
    assert!(e.message.contains("no_such_method"), "{err}");
}
