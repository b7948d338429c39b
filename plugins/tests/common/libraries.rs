//! Builds the workspace's native plugin crates (the example and the test fixtures) once per
//! test process, with the running test's profile, and finds their libraries. `cargo test`
//! does not build cdylib members for integration tests, so a clean clone needs this step.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub const EXAMPLE: &str = "mixspec-example-plugin";
pub const PANICS: &str = "mixspec-fixture-panics";
pub const FUTURE_ABI: &str = "mixspec-fixture-future-abi";

/// The path of a package's library, building all of them on first use.
pub fn library(package: &str) -> PathBuf {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(build)
        .iter()
        .find(|(p, _)| p == package)
        .map(|(_, path)| path.clone())
        .unwrap_or_else(|| panic!("{package} built no library"))
}

fn build() -> Vec<(String, PathBuf)> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--message-format=json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for package in [EXAMPLE, PANICS, FUTURE_ABI] {
        cargo.args(["-p", package]);
    }
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let out = cargo.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building the plugin libraries failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One JSON message per line; each built cdylib is a compiler artifact naming its file.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            let name = m["target"]["name"].as_str()?.replace('_', "-");
            let file = m["filenames"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(std::env::consts::DLL_SUFFIX))?;
            Some((name, PathBuf::from(file)))
        })
        .collect()
}
