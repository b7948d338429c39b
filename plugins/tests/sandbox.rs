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

/// A predictor script with one input, `x`.
fn predictor(body: &str) -> mixspec_plugins::Predictor {
    let text = format!(
        "{body}\n#{{ kind: \"predictor\", id: \"p\", version: \"1\", inputs: [\"x\"], per: \"row\" }}"
    );
    match load(&text) {
        Ok(Plugin::Predictor(p)) => p,
        Ok(_) => panic!("not a predictor"),
        Err(e) => panic!("{e}"),
    }
}

/// The error of calling `p` on `rows` rows of x = 1, 2, …, and how long it took.
fn call_failure(p: &mixspec_plugins::Predictor, rows: usize) -> (PluginError, Duration) {
    let x = (1..=rows).map(|i| i as f64).collect();
    let data = DataFrame::new("d", vec![("x".into(), Column::Numeric(x))]);
    let start = Instant::now();
    let err = p
        .derive(&data, &["x"], None)
        .err()
        .expect("the call should fail");
    (err, start.elapsed())
}

fn script_error(err: &PluginError) -> &mixspec_plugins::ScriptError {
    match err {
        PluginError::Script(e) => e,
        other => panic!("not a script error: {other}"),
    }
}

#[test]
fn a_sort_with_a_slow_comparer_is_stopped_by_the_clock() {
    // Every comparison copies and scans a megabyte in a handful of operations: Rhai counts
    // each comparer call's operations afresh and swallows the stop inside `sort`.
    let p = predictor(
        r#"fn derive(x) {
    let big = "";
    big.pad(1000000, 'x');
    let a = [];
    for i in 0..3000 { a.push(i); }
    a.sort(|p, q| {
        let t = big + p;
        if t.contains("y") { 0 } else { q - p }
    });
    x
}"#,
    );
    let (err, took) = call_failure(&p, 10);
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let e = script_error(&err);
    assert!(e.message.contains("limit of 500 ms"), "{err}");
    // Stopped inside the comparer (lines 6 to 9), not at `fn derive` on line 1: Rhai gives
    // a stop inside a function the position of its call, which the host's call lacks, so
    // the host keeps where the run was.
    assert!((6..=9).contains(&e.line), "the stop's line: {err}");
}

#[test]
fn a_failing_comparer_is_an_error_not_a_misordered_array() {
    for call in [
        "a.sort(f)",
        "a.order(f)",
        "a.dedup(|p, q| f.call(p, q) == 0)",
    ] {
        let p = predictor(&format!(
            r#"fn derive(x) {{
    let a = [3, 1, 2, 2];
    let f = |p, q| {{ if p == 2 && q == 2 {{ throw "broken comparer"; }} p - q }};
    {call};
    x
}}"#
        ));
        let (err, _) = call_failure(&p, 3);
        assert!(err.to_string().contains("broken comparer"), "{call}: {err}");
    }
    let p = predictor(r#"fn derive(x) { let a = [2, 1]; a.sort(|p, q| "later"); x }"#);
    let (err, _) = call_failure(&p, 3);
    assert!(err.to_string().contains("must return a number"), "{err}");
    // A comparer that is no order at all still ends, without a panic.
    let p = predictor(
        r#"fn derive(x) { let a = []; for i in 0..500 { a.push(i); } a.sort(|p, q| if (p * 7 + q) % 3 == 0 { 1 } else { -1 }); if a.len() == 500 { throw "done"; } x }"#,
    );
    let (err, _) = call_failure(&p, 3);
    assert!(err.to_string().contains("done"), "{err}");
}

#[test]
fn sorts_still_sort() {
    let p = predictor(
        r#"fn derive(x) {
    let a = [3, 1, 2];
    a.sort(|p, q| q - p);
    let b = ["b", "a", "c"].order(|p, q| p < q);
    let c = [1, 1, 2, 1];
    c.dedup(|p, q| p == q);
    if a != [3, 2, 1] || b != ["a", "b", "c"] || c != [1, 2, 1] { throw `${a} ${b} ${c}`; }
    x
}"#,
    );
    let data = DataFrame::new("d", vec![("x".into(), Column::Numeric(vec![1.0, 2.0]))]);
    p.derive(&data, &["x"], None).unwrap();
}

#[test]
fn a_script_cannot_hold_more_memory_than_its_limit() {
    // Each element of the map, or of the array, is a copy of the 20,000-row input: Rhai
    // checks the size of the copy, never of what holds them all.
    for body in [
        r#"let m = #{}; for i in 0..2000 { m["k" + i] = x; } m.len()"#,
        "let a = []; a.pad(2000, ()); for i in 0..2000 { a[i] = x; } a.len()",
    ] {
        let p = predictor(&format!("fn derive(x) {{ {body} }}"));
        let (err, took) = call_failure(&p, 20_000);
        let e = script_error(&err);
        assert!(e.message.contains("MiB of memory"), "{body}: {err}");
        assert!(e.line == 1, "{body}: {err}");
        assert!(took < Duration::from_secs(2), "{body}: took {took:?}");
    }
}

#[test]
fn host_helpers_are_bounded_by_what_they_return() {
    for call in [
        "numbered(p, 1, 9999)",
        "let n = []; for i in 0..5000 { n.push(i); } numbered(p, n)",
    ] {
        let (err, took) = failure(&format!(r#"let p = ""; p.pad(100000, 'x'); {call}"#));
        assert!(
            err.contains("numbered") && err.contains("bytes"),
            "{call}: {err}"
        );
        assert!(took < Duration::from_secs(1), "{call}: took {took:?}");
    }
}

#[test]
fn a_stopped_script_names_the_line_it_was_on() {
    let err = load("let x = 1;\n\nloop {\n  x += 1;\n}\n").err().unwrap();
    let e = script_error(&err);
    assert!((3..=4).contains(&e.line), "{err}");
    // Issue 17 item 18: inside `derive`, the line of the loop, not of `fn derive` (nor 0:0).
    let p = predictor("// spins\nfn derive(x) {\n    let i = 0;\n    while true { i += 1; }\n}");
    let (err, _) = call_failure(&p, 3);
    let e = script_error(&err);
    assert_eq!(e.line, 4, "{err}");
    // In a helper that `derive` calls: the helper's line, not the call's.
    let p = predictor(
        "fn spin(n) {\n    let s = \"\";\n    loop {\n        s += n;\n        s = \"\";\n    }\n}\n\
         fn derive(x) {\n    spin(1);\n    x\n}",
    );
    let (err, _) = call_failure(&p, 3);
    let e = script_error(&err);
    assert!((3..=5).contains(&e.line), "{err}");
    // Past a bound of Rhai's own (the string size), also where it happened.
    let p = predictor(
        "fn derive(x) {\n    let s = \"x\";\n    for i in 0..40 {\n        s += s;\n    }\n    x\n}",
    );
    let (err, _) = call_failure(&p, 3);
    let e = script_error(&err);
    assert!((3..=4).contains(&e.line), "{err}");
}
