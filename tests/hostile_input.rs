//! The command line against the inputs a hostile review tried (issue 17): a closed pipe,
//! names too long for a format width, counts that would overflow an allocation, cohorts too
//! small to have every kind of patient, output paths that do not exist or are folders, and
//! runs that meet the leftovers of killed runs. Each must end in a result or a clear
//! refusal, never a panic, and outputs appear whole or not at all.

mod common;
use common::{assert_error, assert_refused, mixspec, scratch, stderr};

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const SLEEP: &str = "tests/data/reference/sleepstudy.csv";

fn sleepstudy() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(SLEEP)
        .display()
        .to_string()
}

/// A clap usage error: exit code 2, no panic, and each of `needles` in the message.
fn assert_usage_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic:\n{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in:\n{err}");
    }
}

/// `mixspec fit … | head`: the reader is gone before the summary is printed.
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixspec"))
        .args([
            "fit",
            "--data",
            SLEEP,
            "--formula",
            "Reaction ~ Days + (Days | Subject)",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the fit is done: every write then fails with EPIPE.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
}

/// Writes `csv` to `path` and fits it with `fit --data path --formula …` (`args` = the formula
/// and further options), which must succeed.
fn fit_written(path: &Path, csv: &str, args: &[&str]) -> Output {
    std::fs::write(path, csv).unwrap();
    let mut all = vec!["fit", "--data", path.to_str().unwrap(), "--formula"];
    all.extend_from_slice(args);
    let o = mixspec(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// A factor level of 70,000 bytes becomes a coefficient name longer than any format width.
#[test]
fn names_longer_than_a_format_width_are_printed() {
    let dir = scratch("long-names");
    // After `short` in R's order, so that it is the level with a coefficient.
    let long = "z".repeat(70_000);
    let text = std::fs::read_to_string(SLEEP).unwrap();
    let mut csv = String::new();
    for (i, line) in text.lines().enumerate() {
        let extra = match i {
            0 => "\"group\"".to_string(),
            _ if i % 2 == 0 => long.clone(),
            _ => "short".to_string(),
        };
        csv += &format!("{line},{extra}\n");
    }
    let data = dir.join("long.csv");
    let o = fit_written(
        &data,
        &csv,
        &["Reaction ~ Days + group + (1 | Subject)", "--profile"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    // The coefficient's row, its name padded to the widest name and its numbers beside it.
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("group{long}")))
        .unwrap_or_else(|| panic!("no coefficient row"));
    assert!(
        row.len() > 70_005
            && row
                .trim_end()
                .ends_with(|c: char| c.is_ascii_digit() || c == '*' || c == '.')
    );
    // Rows are aligned: the intercept's row is as long up to its numbers.
    let intercept = out.lines().find(|l| l.starts_with("(Intercept)")).unwrap();
    assert!(intercept.len() > 70_005, "{}", intercept.len());
    // `describe-data` lists the long level as the factor's second, and a long column name.
    let wide = dir.join("wide.csv");
    std::fs::write(&wide, format!("{long},y\n1,2\n3,4\n")).unwrap();
    for file in [&data, &wide] {
        let o = mixspec(&["describe-data", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = mixspec(&["describe-data", wide.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().any(|l| l.starts_with(&long)), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A response in units of 1e100 (the hardening's scale tests) fits; its summary printed the
/// intercept's 103 digits in fixed notation (past 1e15 a number is now printed as R prints
/// it) and a correlation of 0.
#[test]
fn huge_estimates_are_printed_in_scientific_notation() {
    let dir = scratch("huge-numbers");
    let mut csv = String::new();
    for (i, line) in std::fs::read_to_string(SLEEP).unwrap().lines().enumerate() {
        let (y, rest) = line.split_once(',').unwrap();
        let y = if i == 0 {
            y.to_string()
        } else {
            format!("{y}e100")
        };
        csv += &format!("{y},{rest}\n");
    }
    let o = fit_written(
        &dir.join("huge.csv"),
        &csv,
        &["Reaction ~ Days + (Days | Subject)"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let intercept = out.lines().find(|l| l.starts_with("(Intercept)")).unwrap();
    assert!(intercept.contains("2.514e+102"), "{out}");
    assert!(out.lines().all(|l| l.len() < 120), "{out}");
    // The correlation of the random effects is unit-free: 0.07 as in lme4's sleepstudy fit
    // (the product of the two variances, 2e404, overflowed and printed 0.00).
    let days = out
        .lines()
        .find(|l| l.trim_start().starts_with("Days "))
        .unwrap();
    assert!(days.trim_end().ends_with("0.07"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn counts_past_their_limits_are_refused_by_fit_and_specs_alike() {
    for n in ["18446744073709551615", "1000000000000", "100001", "0", "1"] {
        let o = mixspec(&[
            "fit",
            "--data",
            SLEEP,
            "--formula",
            "Reaction ~ Days + (Days | Subject)",
            "--bootstrap",
            n,
        ]);
        assert_usage_error(&o, &["--bootstrap", "2..=100000"]);
    }
    let dir = scratch("bootstrap-spec");
    for n in ["5000000000", "100001", "1", "0"] {
        let spec = dir.join("boot.spec");
        std::fs::write(
            &spec,
            format!(
                "data \"{}\" {{ subject Subject }}\nmodel m: Reaction ~ Days + (Days | Subject) [bootstrap {n}]\n",
                sleepstudy()
            ),
        )
        .unwrap();
        for command in ["check", "run"] {
            let o = mixspec(&[command, spec.to_str().unwrap()]);
            assert_error(&o, &["from 2 to 100000", n]);
        }
    }
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let o = mixspec(&["recovery", "--cohorts", "1000000000000"]);
    assert_usage_error(&o, &["--cohorts", "2..=100000"]);
    let o = mixspec(&["recovery", "--cohorts", "1"]);
    assert_usage_error(&o, &["--cohorts", "2..=100000"]);
    let o = mixspec(&["recovery", "--patients", "18446744073709551615"]);
    assert_usage_error(&o, &["--patients", "1..=1000000"]);
    for n in ["0", "1000001", "18446744073709551615"] {
        let o = mixspec(&["simulate", "--patients", n, "--out", "never.csv"]);
        assert_usage_error(&o, &["--patients", "1..=1000000"]);
    }
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("never.csv")
        .exists());
}

/// A power curve up to ten million subjects of twenty visits (each count within its own
/// limit) built a 200-million-row cohort and aborted out of memory in `check`; it is refused
/// with the memory it would need, from a design and from a fitted model alike.
#[test]
fn a_power_cohort_past_the_memory_limit_is_refused_up_front() {
    let dir = scratch("power-size");
    let spec = dir.join("power.spec");
    let design = r#"power big: y ~ time * group + (time | id) [test "time:groupb", simulations 1] {
  subjects 10000000
  times 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3 cor 0
  residual sd 1
}
"#;
    let from_model = format!(
        "data \"{}\" {{ subject Subject; time Days }}\nmodel m: Reaction ~ Days + (Days | Subject)\n\
         power again from m [test \"Days\", subjects 10000000, simulations 1]\n",
        sleepstudy()
    );
    for text in [design.to_string(), from_model] {
        std::fs::write(&spec, text).unwrap();
        for command in ["check", "run"] {
            let o = mixspec(&[command, spec.to_str().unwrap()]);
            assert_refused(&o, &["largest cohort", "10000000 subjects", "GiB"]);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A figure at the largest size and resolution each option allows (10000 × 10000 pixels
/// at 1200 dpi) was drawn as a 125,000-pixel-square PNG: 58 GiB, an abort.
#[test]
fn a_figure_too_large_to_draw_is_refused_by_check() {
    let dir = scratch("figure-size");
    let spec = dir.join("figure.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{}\" {{ subject Subject; time Days }}\nmodel a: Reaction ~ Days + (Days | Subject)\n\
             plot trajectories a as \"big\" [width 10000, height 10000, dpi 1200]\n",
            sleepstudy()
        ),
    )
    .unwrap();
    for command in ["check", "run"] {
        let o = mixspec(&[command, spec.to_str().unwrap()]);
        assert_refused(&o, &["pixels", "too large to draw"]);
    }
    assert!(!dir.join("figure").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cohorts of 20 patients: some lack a kind of patient, so a coefficient is aliased and
/// dropped; those cohorts count as failed.
#[test]
fn recovery_counts_cohorts_without_every_coefficient_as_failed() {
    let o = mixspec(&[
        "recovery",
        "--cohorts",
        "5",
        "--patients",
        "20",
        "--seed",
        "1",
    ]);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    match o.status.code() {
        Some(0) => {
            let failed: usize = out
                .split(" fits failed")
                .next()
                .and_then(|s| s.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{out}"));
            assert!((1..=3).contains(&failed), "{out}");
        }
        _ => assert_refused(&o, &["cohorts could be fitted", "need at least 2"]),
    }
}

fn score(data: &Path, out: &Path) -> Output {
    mixspec(&[
        "score",
        "--instrument",
        "wsas",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn score_needs_an_existing_folder_and_a_file_name() {
    let dir = scratch("score-out");
    let data = dir.join("wsas.csv");
    std::fs::write(&data, "id,wsas1,wsas2,wsas3,wsas4,wsas5\n1,1,2,3,2,1\n").unwrap();
    let missing = dir.join("missing").join("deeper");
    let o = score(&data, &missing.join("x.csv"));
    assert_refused(
        &o,
        &[&format!("the folder {} does not exist", missing.display())],
    );
    assert!(!dir.join("missing").exists(), "the folders were created");
    // A folder is named as what it is.
    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let o = score(&data, &folder);
    assert_refused(
        &o,
        &[&format!(
            "cannot write {}: it is a folder",
            folder.display()
        )],
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
    // A temporary of a killed run is cleaned up by the next write of the same file.
    let stale = dir.join(".x.csv.4194305.tmp");
    std::fs::write(&stale, "half").unwrap();
    let o = score(&data, &dir.join("x.csv"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn sleep_spec() -> String {
    format!(
        "data \"{}\" {{ subject Subject; time Days }}\nmodel m: Reaction ~ Days + (Days | Subject)\n",
        sleepstudy()
    )
}

/// `...spec` has the stem `..`: its default output folder would be the spec's own.
#[test]
fn a_spec_whose_name_cannot_name_its_output_is_refused() {
    let dir = scratch("dots");
    for name in ["...spec", ".hidden.spec"] {
        let spec = dir.join(name);
        std::fs::write(&spec, sleep_spec()).unwrap();
        for command in ["check", "run"] {
            let o = mixspec(&[command, spec.to_str().unwrap()]);
            assert_refused(
                &o,
                &[
                    "cannot name its reports and output folder",
                    "rename the spec file",
                ],
            );
        }
        std::fs::remove_file(&spec).unwrap();
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A run replaces its folder whole: reports of an earlier run that this one does not write
/// are gone, leftovers of killed runs are cleaned up, and a folder with files a run did not
/// write is left alone.
#[test]
fn a_run_replaces_its_output_folder_whole() {
    let dir = scratch("swap");
    let spec = dir.join("sleep.spec");
    std::fs::write(&spec, sleep_spec()).unwrap();
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("old-report.md"), "an earlier run's report").unwrap();
    std::fs::write(
        out.join(".sleep.md.31.tmp"),
        "an earlier version's leftover",
    )
    .unwrap();
    // Leftovers of a killed run: its staged folder, and one renamed aside (pid 4194305 is
    // above Linux's largest).
    let staged = dir.join(".out.4194305.new");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("sleep.md"), "half").unwrap();
    let run = || {
        mixspec(&[
            "run",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    let written = entries(&out);
    assert!(written.contains(&"sleep.md".to_string()), "{written:?}");
    assert!(
        !written
            .iter()
            .any(|f| f == "old-report.md" || f.ends_with(".tmp")),
        "{written:?}"
    );
    assert_eq!(entries(&dir), ["out", "sleep.spec"]);
    // An old output renamed aside by a run killed before it put the new one in place is put
    // back, then replaced.
    std::fs::rename(&out, dir.join(".out.4194305.old")).unwrap();
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(entries(&dir), ["out", "sleep.spec"]);
    assert_eq!(entries(&out), written);
    // A folder holding anything else is not replaced.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = run();
    assert_refused(
        &o,
        &["holds files a run did not write; nothing was written"],
    );
    assert!(out.join("notes.txt").is_file() && out.join("sleep.md").is_file());
    assert_eq!(entries(&dir), ["out", "sleep.spec"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// sleepstudy's rows repeated under new subject names until there are `n` rows.
fn large_sleepstudy(dir: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(sleepstudy()).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let rows: Vec<&str> = lines.collect();
    for i in 0..n {
        let row = rows[i % rows.len()];
        let (rest, subject) = row.rsplit_once(',').unwrap();
        out.push_str(&format!(
            "{rest},{}_{}\n",
            subject.trim_matches('"'),
            i / rows.len()
        ));
    }
    let path = dir.join("large.csv");
    std::fs::write(&path, out).unwrap();
    path.display().to_string()
}

/// Kenward–Roger's adjustment forms dense n × n matrices: on 10,000 rows (5.2 GiB) it used
/// to allocate them and run for hours; it is refused before the fit, by `check` too.
#[test]
fn kenward_roger_past_its_memory_limit_is_refused_up_front() {
    let dir = scratch("kr-size");
    let data = large_sleepstudy(&dir, 10_000);
    let started = std::time::Instant::now();
    let o = mixspec(&[
        "fit",
        "--data",
        &data,
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--kr",
    ]);
    assert_refused(
        &o,
        &[
            "Kenward–Roger's adjustment",
            "10000 observations",
            "5.2 GiB",
            "2.0 GiB",
        ],
    );
    let spec = dir.join("kr.spec");
    std::fs::write(
        &spec,
        format!(
            "data \"{data}\" {{ subject Subject }}\nmodel big: Reaction ~ Days + (Days | Subject) [df kenward-roger]\n"
        ),
    )
    .unwrap();
    let o = mixspec(&["check", spec.to_str().unwrap()]);
    assert_refused(
        &o,
        &[
            "model `big`",
            "Kenward–Roger's adjustment",
            "10000 complete rows",
        ],
    );
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
