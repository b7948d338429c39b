//! Data where users keep it: the same sleepstudy rows as CSV, SPSS (.sav, .zsav), Parquet
//! (a file, a folder of parts, a pattern) and Arrow IPC (.arrow, Feather) give the same fit;
//! labels name coefficients; bad files are refused naming the file and the variable. The
//! files and the R and Python scripts that made them are in tests/data/formats/.

mod common;
use common::{assert_error, assert_refused, fit_json, mixspec, scratch, stderr};

use serde_json::Value;

const DIR: &str = "tests/data/formats";
/// Subject's labels name its fixed effects; Subject also groups the random slopes.
const FORMULA: &str = "Reaction ~ Days + Subject + (0 + Days | Subject)";

fn terms(fit: &Value) -> Vec<String> {
    fit["fixed_effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap().to_string())
        .collect()
}

fn assert_same_fit(fit: &Value, csv: &Value, what: &str) {
    let objective = |v: &Value| v["objective"].as_f64().unwrap();
    assert!(
        (objective(fit) - objective(csv)).abs() <= 1e-9,
        "{what}: objective {} vs {}",
        objective(fit),
        objective(csv)
    );
    assert_eq!(fit["n_obs"], 178, "{what}");
    assert_eq!(terms(fit), terms(csv), "{what}");
    for (a, b) in fit["fixed_effects"]
        .as_array()
        .unwrap()
        .iter()
        .zip(csv["fixed_effects"].as_array().unwrap())
    {
        let (a, b) = (
            a["estimate"].as_f64().unwrap(),
            b["estimate"].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }
}

#[test]
fn every_format_gives_the_csv_fit() {
    let csv = fit_json(&format!("{DIR}/sleepstudy.csv"), FORMULA, &[]);
    assert_eq!(csv["n_obs"], 178);
    assert!(
        terms(&csv).contains(&"SubjectS309".to_string()),
        "{:?}",
        terms(&csv)
    );
    for file in [
        "sleepstudy.sav",
        "sleepstudy.zsav",
        "sleepstudy.parquet",
        "sleepstudy_parts",
        "sleepstudy_parts/part-*.parquet",
        "sleepstudy.arrow",
        "sleepstudy.feather",
    ] {
        let fit = fit_json(&format!("{DIR}/{file}"), FORMULA, &[]);
        assert_same_fit(&fit, &csv, file);
    }
}

/// lme4 on the SPSS file as haven reads it (`make_formats.R`): the same optimum.
#[test]
fn the_spss_fit_is_lme4s() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/sleepstudy_lme4.json")).unwrap(),
    )
    .unwrap();
    let fit = fit_json(&format!("{DIR}/sleepstudy.sav"), FORMULA, &[]);
    assert_eq!(fit["n_obs"], reference["n_obs"]);
    let objective = reference["objective"].as_f64().unwrap();
    assert!((fit["objective"].as_f64().unwrap() - objective).abs() < 1e-6);
    let lme4 = reference["fixed_effects"].as_object().unwrap();
    assert_eq!(terms(&fit), lme4.keys().cloned().collect::<Vec<_>>());
    for t in fit["fixed_effects"].as_array().unwrap() {
        let (ours, theirs) = (
            t["estimate"].as_f64().unwrap(),
            lme4[t["term"].as_str().unwrap()].as_f64().unwrap(),
        );
        assert!((ours - theirs).abs() < 1e-4 * theirs.abs().max(1.0), "{t}");
    }
}

#[test]
fn describe_data_shows_types_levels_and_missing_values() {
    let o = mixspec(&["describe-data", &format!("{DIR}/sleepstudy.sav")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("SPSS, 180 rows, 3 columns"), "{text}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        line("Reaction").starts_with("Reaction numeric 2 "),
        "{text}"
    );
    assert!(
        line("Subject").starts_with("Subject factor (18) 0 S308, S309,"),
        "{text}"
    );
    let o = mixspec(&["describe-data", &format!("{DIR}/sleepstudy.parquet")]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Parquet, 180 rows, 4 columns"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Late", "numeric", "0", "0", "to", "1"]),
        "{text}"
    );
}

/// Dates are days since 1970-01-01, timestamps with a fraction, durations seconds, decimals
/// scaled, nulls missing (`make_formats.py` wrote one known value and one null per type).
#[test]
fn arrow_types_map_to_numbers_and_factors() {
    let o = mixspec(&["describe-data", &format!("{DIR}/types.parquet")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let expected: [&[&str]; 7] = [
        &["date", "numeric", "1", "10", "to", "10"],
        &["stamp", "numeric", "1", "1.5", "to", "1.5"],
        &["wait", "numeric", "1", "90", "to", "90"],
        &["price", "numeric", "1", "12.5", "to", "12.5"],
        &["count", "numeric", "1", "7", "to", "7"],
        &["ratio", "numeric", "1", "0.5", "to", "0.5"],
        &["code", "factor", "(1)", "1", "b"],
    ];
    assert_eq!(rows, expected, "{text}");
}

#[test]
fn bad_files_name_the_file_and_the_variable() {
    let fit = |file: &str| {
        mixspec(&[
            "fit",
            "--data",
            &format!("{DIR}/{file}"),
            "--formula",
            FORMULA,
        ])
    };
    assert_error(&fit("truncated.sav"), &["truncated.sav", "SPSS"]);
    assert_error(
        &fit("unlabelled_value.sav"),
        &["unlabelled_value.sav", "`Subject`", "value 3 has none"],
    );
    assert_error(
        &fit("list_column.parquet"),
        &["list_column.parquet", "`Readings`", "cannot use"],
    );
    assert_error(&fit("nothing-*.parquet"), &["no Parquet files match"]);

    let dir = scratch("bad");
    let text_as_sav = dir.join("text.sav");
    std::fs::write(&text_as_sav, "Reaction,Days\n1,2\n").unwrap();
    let encrypted = dir.join("locked.sav");
    let mut header = vec![0x1c, 0, 0, 0, 0, 0, 0, 0];
    header.extend_from_slice(b"ENCRYPTEDSAV");
    header.resize(64, 0);
    std::fs::write(&encrypted, header).unwrap();
    // Part files whose columns differ: one cohort with the latent columns, one without.
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    for (name, latent) in [("a.parquet", true), ("b.parquet", false)] {
        let out = parts.join(name);
        let mut args = vec![
            "simulate",
            "--patients",
            "5",
            "--out",
            out.to_str().unwrap(),
        ];
        if latent {
            args.push("--latent");
        }
        assert!(mixspec(&args).status.success());
    }
    assert_error(
        &mixspec(&["describe-data", parts.to_str().unwrap()]),
        &[
            "b.parquet",
            "a.parquet",
            "columns differ",
            "no TASKS_latent",
        ],
    );
    for (file, needles) in [
        (&text_as_sav, ["text.sav", "$FL2"]),
        (&encrypted, ["locked.sav", "encrypted"]),
    ] {
        let o = mixspec(&["describe-data", file.to_str().unwrap()]);
        assert_error(&o, &needles);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Damaged files on which the Arrow, Parquet and SPSS crates panic rather than return an
/// error (tests/data/formats/damaged/README.md): refused as damaged, naming the file, with
/// no panic message.
#[test]
fn damaged_files_are_refused_not_a_panic() {
    for (file, format) in [
        ("negative_offset.parquet", "Parquet"),
        ("overflowing_record.sav", "SPSS"),
        ("buffer_past_end.arrow", "Arrow"),
        ("short_validity.arrow", "Arrow"),
    ] {
        let path = format!("{DIR}/damaged/{file}");
        let o = mixspec(&["describe-data", &path]);
        assert_error(&o, &[file, format, "not a readable"]);
    }
}

/// A compressed Arrow buffer starts with its uncompressed length, which arrow-ipc allocates
/// before decompressing: a forged length of 2⁴⁶ bytes aborted the program (no panic to
/// catch). The LZ4-compressed Feather file with the first such length overwritten is
/// refused by a check of every declared length before arrow-ipc reads.
#[test]
fn a_forged_uncompressed_length_is_refused_not_an_abort() {
    let dir = scratch("forged");
    let mut bytes = std::fs::read(format!("{DIR}/sleepstudy.feather")).unwrap();
    // The first LZ4 frame; its buffer's 8-byte length is just before it.
    let frame = bytes
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x4d, 0x18])
        .unwrap();
    for (k, declared) in [1i64 << 46, 1 << 62].into_iter().enumerate() {
        bytes[frame - 8..frame].copy_from_slice(&declared.to_le_bytes());
        let path = dir.join(format!("forged{k}.feather"));
        std::fs::write(&path, &bytes).unwrap();
        let o = mixspec(&["describe-data", path.to_str().unwrap()]);
        assert_refused(
            &o,
            &[
                &format!("forged{k}.feather"),
                &format!("declares {declared} bytes"),
            ],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies of every binary format with a few bytes overwritten or the end cut off (from a
/// fixed seed), through `describe-data`: each is read or refused, never a panic.
#[test]
fn randomly_damaged_files_never_panic() {
    const COPIES: usize = 30;
    let dir = scratch("damaged");
    // xorshift64: enough to scatter the damage, and the same in every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut below = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    // Words that make lengths and offsets absurd.
    let words: [[u8; 4]; 4] = [[0xff, 0xff, 0xff, 0x7f], [0; 4], [0xff; 4], [0, 0, 0, 0x80]];
    for ext in ["parquet", "sav", "zsav", "arrow", "feather"] {
        let original = std::fs::read(format!("{DIR}/sleepstudy.{ext}")).unwrap();
        for copy in 0..COPIES {
            let mut bytes = original.clone();
            for _ in 0..1 + below(4) {
                let at = below(bytes.len());
                match below(4) {
                    0 | 1 => bytes[at] = below(256) as u8,
                    2 => {
                        for (k, &b) in words[below(4)].iter().enumerate() {
                            if let Some(x) = bytes.get_mut(at + k) {
                                *x = b;
                            }
                        }
                    }
                    _ => bytes.truncate(at.max(1)),
                }
            }
            let path = dir.join(format!("{copy}.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            let o = mixspec(&["describe-data", path.to_str().unwrap()]);
            let err = stderr(&o);
            assert!(
                matches!(o.status.code(), Some(0 | 1)) && !err.contains("panicked"),
                "{ext} copy {copy}: {:?}\n{err}",
                o.status
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_writes_parquet_that_fits_as_its_csv() {
    let dir = scratch("simulate");
    let (csv, parquet) = (dir.join("cohort.csv"), dir.join("cohort.parquet"));
    for out in [&csv, &parquet] {
        let o = mixspec(&[
            "simulate",
            "--patients",
            "40",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    let formula = "gaf ~ months + version + (months | patient)";
    let a = fit_json(csv.to_str().unwrap(), formula, &[]);
    let b = fit_json(parquet.to_str().unwrap(), formula, &[]);
    assert_eq!(a["objective"], b["objective"]);
    assert_eq!(a["n_obs"], b["n_obs"]);
    assert_eq!(terms(&a), terms(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example spec reading the bundled cohort from SPSS fits as the same spec reading the
/// CSV: value labels stand where the CSV has text.
#[test]
fn the_cohort_from_spss_fits_as_from_csv() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = std::fs::read_to_string(root.join("specs/mbt_cohort_sav.spec")).unwrap();
    let data = |file: &str| format!("data \"{}\"", root.join("data").join(file).display());
    let dir = scratch("cohort");
    let mut reports = Vec::new();
    for file in ["mbt_cohort.sav", "mbt_cohort.csv"] {
        let text = spec.replace("data \"../data/mbt_cohort.sav\"", &data(file));
        assert!(text.contains(file), "the spec reads ../data/mbt_cohort.sav");
        let path = dir.join(format!("{file}.spec"));
        std::fs::write(&path, text).unwrap();
        let out = dir.join(file);
        let o = mixspec(&[
            "run",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let json = std::fs::read_to_string(out.join("mbt-cohort-sav.json")).unwrap();
        reports.push(serde_json::from_str::<Value>(&json).unwrap());
    }
    let models = |v: &Value| v["models"].as_array().unwrap().clone();
    assert_eq!(models(&reports[0]).len(), models(&reports[1]).len());
    for (a, b) in models(&reports[0]).iter().zip(&models(&reports[1])) {
        assert_eq!(a["fit"]["objective"], b["fit"]["objective"]);
        assert_eq!(a["fit"]["n_obs"], b["fit"]["n_obs"]);
        assert_eq!(terms(&a["fit"]), terms(&b["fit"]));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn score_reads_spss_and_writes_csv() {
    let dir = scratch("score");
    let out = dir.join("scored.csv");
    let o = mixspec(&[
        "score",
        "--instrument",
        "gaf",
        "--data",
        "data/mbt_cohort.sav",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("patient,months,version,") && header.contains(",GAF,"),
        "{header}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("P001,0,NA,"),
        "{text:.200}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
