//! What the command-line tests share: running the binary as a user would, and scratch folders.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

#[cfg(feature = "datafusion")]
pub mod scale;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `mixspec` from the package root, without colour and without plugins from the
/// environment, so that the output is the same on every machine.
pub fn mixspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixspec"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("MIXSPEC_PLUGIN_PATH")
        .output()
        .expect("the binary runs")
}

/// The JSON of `mixspec fit --data DATA --formula FORMULA --format json EXTRA…`, run as a
/// user runs it; the test fails with the command's error unless it succeeds.
pub fn fit_json(data: &str, formula: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "fit",
        "--data",
        data,
        "--formula",
        formula,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = mixspec(&args);
    assert!(
        out.status.success(),
        "{data}: {formula} {extra:?}: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty folder for one test, unique to the test binary and the process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mixspec-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An error as users must meet it: exit code 1, no panic, and a message containing each of
/// `needles`.
pub fn assert_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic:\n{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in:\n{err}");
    }
}

/// An error as [`assert_error`] checks it, with `needles` sought in the message as if on one
/// line: miette wraps long messages at the terminal's width, within words and paths too, so
/// both are compared without their whitespace and the wrapped lines' margins.
pub fn assert_refused(o: &Output, needles: &[&str]) {
    assert_error(o, &[]);
    let err = stderr(o);
    let squeeze = |text: &str| -> String { text.chars().filter(|c| !c.is_whitespace()).collect() };
    let joined: String = err
        .lines()
        .map(|l| {
            squeeze(
                l.trim_start()
                    .trim_start_matches(['|', '×'])
                    .trim_start_matches("x "),
            )
        })
        .collect();
    for n in needles {
        assert!(joined.contains(&squeeze(n)), "missing {n:?} in:\n{err}");
    }
}
