//! `mixspec score` and `mixspec plugins` as a user meets them: scored files written whole
//! or not at all, and bad items named by column and line with exit code 1.

mod common;
use common::{mixspec, scratch, stderr};

use std::path::Path;
use std::process::Output;

fn score(instrument: &str, data: &Path, out: &Path) -> Output {
    mixspec(&[
        "score",
        "--instrument",
        instrument,
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn score_writes_the_input_columns_plus_the_scales() {
    let dir = scratch("ok");
    let data = dir.join("wsas.csv");
    std::fs::write(
        &data,
        "id,wsas1,wsas2,wsas3,wsas4,wsas5,note\n007,1,2,3,2,1,\"a, b\"\n008,8,7,NA,6,5,\n",
    )
    .unwrap();
    let out = dir.join("scored.csv");
    let o = score("wsas", &data, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "id,wsas1,wsas2,wsas3,wsas4,wsas5,note,WSAS,WSAS_BAND\n\
         007,1,2,3,2,1,\"a, b\",9,subclinical\n\
         008,8,7,NA,6,5,,NA,NA\n"
    );
    // Nothing but the output is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_item_out_of_range_fails_and_writes_nothing() {
    let dir = scratch("range");
    let data = dir.join("wai.csv");
    std::fs::write(
        &data,
        "id,wai1,wai2,wai3,wai4,wai5,wai6,wai7,wai8,wai9,wai10,wai11,wai12\n\
         1,5,6,7,1,6,5,7,4,6,2,5,3\n\
         2,5,6,7,1,6,5,7,4,6,2,5,3\n\
         3,5,6,7,1,6,5,9,4,6,2,5,3\n",
    )
    .unwrap();
    let out = dir.join("scored.csv");
    let o = score("wai-s", &data, &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in [
        "`wai7` is 9",
        "line 4",
        "data row 3",
        "outside its range 1–7",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    // An existing output is left as it was.
    std::fs::write(&out, "old").unwrap();
    let o = score("wai-s", &data, &out);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_instrument_lists_the_known_ones() {
    let dir = scratch("unknown");
    let o = score("wai", &dir.join("d.csv"), &dir.join("o.csv"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no plugin `wai`") && err.contains("wai-s, wai-sr"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_script_instrument_is_given_by_path() {
    let dir = scratch("path");
    let script = dir.join("mood.rhai");
    std::fs::write(
        &script,
        r#"#{ kind: "instrument", id: "mood", version: "1", items: ["m1", "m2"], range: [0, 4],
              missing_codes: [-9],
              scales: [#{ name: "MOOD", items: ["m1", "m2"], reverse: ["m2"], aggregate: "sum" }] }"#,
    )
    .unwrap();
    let data = dir.join("d.csv");
    std::fs::write(&data, "m1,m2\n3,1\n-9,0\n").unwrap();
    let out = dir.join("o.csv");
    let o = score(script.to_str().unwrap(), &data, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    // 3 + (0 + 4 − 1) = 6; −9 is a missing code.
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "m1,m2,MOOD\n3,1,6\n-9,0,NA\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_script_error_points_at_the_line() {
    let dir = scratch("syntax");
    let script = dir.join("broken.rhai");
    std::fs::write(&script, "#{\n  kind: \"instrument\",\n  id: ,\n}\n").unwrap();
    let o = score(
        script.to_str().unwrap(),
        &dir.join("d.csv"),
        &dir.join("o.csv"),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("broken.rhai:3:"), "{err}");
    assert!(err.contains("id: ,"), "the source line is shown:\n{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plugins_list_and_test_cover_the_bundled_instruments() {
    let o = mixspec(&["plugins", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = String::from_utf8_lossy(&o.stdout);
    for id in [
        "wai-s", "wai-sr", "gaf", "wsas", "bsi-18", "eq-5d-3l", "sipp-sf",
    ] {
        assert!(list.contains(id), "{id} missing from:\n{list}");
    }
    assert!(list.contains("needs --params"), "{list}");

    let o = mixspec(&["plugins", "test"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("ok    eq-5d-3l (bundled): 7 tests"), "{out}");
    assert!(
        out.contains("skip  sipp-sf (bundled): needs --params"),
        "{out}"
    );
    assert!(out.trim_end().ends_with(", 0 failed"), "{out}");
}

#[test]
fn plugins_test_fails_when_a_vector_fails() {
    let dir = scratch("failing");
    std::fs::write(
        dir.join("off.rhai"),
        r#"#{ kind: "instrument", id: "off", version: "1", items: ["a"], range: [0, 3],
              scales: [#{ name: "A", items: ["a"], aggregate: "sum" }],
              tests: [#{ items: [2], expect: #{ A: 3 } }] }"#,
    )
    .unwrap();
    let o = mixspec(&[
        "plugins",
        "test",
        "off",
        "--plugin-dir",
        dir.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL  off") && out.contains("`A` is 2, expected 3"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Twelve WAI items per row, rated on the WAI-S (version S) or the WAI-SR (version SR).
const MIXED_FORMS: &str =
    "id,version,wai1,wai2,wai3,wai4,wai5,wai6,wai7,wai8,wai9,wai10,wai11,wai12\n\
                           1,S,7,7,7,7,7,7,7,7,7,7,7,7\n\
                           2,SR,7,7,7,7,7,7,7,7,7,7,7,7\n\
                           3,SR,7,7,7,7,7,7,7,7,7,7,7,7\n";

#[test]
fn scoring_mixed_forms_with_one_form_warns_with_the_counts() {
    let dir = scratch("mixed");
    let data = dir.join("wai.csv");
    std::fs::write(&data, MIXED_FORMS).unwrap();
    let out = dir.join("scored.csv");
    let o = score("wai-s", &data, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning:")
            && err.contains("2 with version == \"SR\" (the form of wai-sr)")
            && err.contains("--when"),
        "{err}"
    );
    // Rows of one form scored with their own instrument: no warning.
    let o = mixspec(&[
        "score",
        "--instrument",
        "wai-s",
        "--data",
        data.to_str().unwrap(),
        "--when",
        "version == \"S\"",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert!(stderr(&o).contains("scored 1 rows of 3"), "{}", stderr(&o));
}

#[test]
fn two_forms_fill_one_scale_with_when_as_a_spec_does() {
    let dir = scratch("when");
    let data = dir.join("wai.csv");
    std::fs::write(&data, MIXED_FORMS).unwrap();
    let first = dir.join("s.csv");
    let both = dir.join("both.csv");
    for (instrument, input, condition, out) in [
        ("wai-s", &data, "version == \"S\"", &first),
        ("wai-sr", &first, "version == \"SR\"", &both),
    ] {
        let o = mixspec(&[
            "score",
            "--instrument",
            instrument,
            "--data",
            input.to_str().unwrap(),
            "--when",
            condition,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // After the WAI-S alone, the SR rows have no scores.
    let s = std::fs::read_to_string(&first).unwrap();
    assert!(s.lines().nth(2).unwrap().ends_with(",NA,NA,NA"), "{s}");
    // All 7: WAI-S reverse-keys items 4 and 10 (GOALS 4), WAI-SR none (GOALS 7).
    let both = std::fs::read_to_string(&both).unwrap();
    let lines: Vec<&str> = both.lines().collect();
    assert!(lines[0].ends_with(",GOALS,BONDS,TASKS"), "{both}");
    assert!(lines[1].ends_with(",4,7,7"), "{both}");
    assert!(
        lines[2].ends_with(",7,7,7") && lines[3].ends_with(",7,7,7"),
        "{both}"
    );
}

#[test]
fn a_bad_when_is_refused_and_nothing_is_written() {
    let dir = scratch("bad-when");
    let data = dir.join("wai.csv");
    std::fs::write(&data, MIXED_FORMS).unwrap();
    let out = dir.join("scored.csv");
    for (condition, needle) in [
        ("version == \"X\"", "its values are: `S`, `SR`"),
        ("versoin == \"S\"", "unknown variable `versoin`"),
        ("version ==", "the condition cannot be read"),
        ("id > 10", "no row of the data passes the condition"),
    ] {
        let o = mixspec(&[
            "score",
            "--instrument",
            "wai-s",
            "--data",
            data.to_str().unwrap(),
            "--when",
            condition,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{condition}");
        assert!(stderr(&o).contains(needle), "{condition}: {}", stderr(&o));
        assert!(!out.exists());
    }
}
