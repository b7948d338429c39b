//! `mixspec simulate` as a user meets it: the bundled cohort regenerates bit for bit, it
//! scores with the bundled instruments, and bad parameter files are refused by key with
//! nothing written.

mod common;
use common::{mixspec, scratch, stderr};

/// The seed of `data/mbt_cohort.csv` (docs/simulation.md says how it was chosen).
const BUNDLED_SEED: &str = "4";

#[test]
fn the_bundled_cohort_is_regenerated_bit_for_bit() {
    let dir = scratch("bundled");
    let out = dir.join("cohort.csv");
    let o = mixspec(&[
        "simulate",
        "--patients",
        "155",
        "--seed",
        BUNDLED_SEED,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bundled = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mbt_cohort.csv"));
    assert!(
        std::fs::read(&out).unwrap() == bundled.unwrap(),
        "data/mbt_cohort.csv differs from `mixspec simulate --patients 155 --seed {BUNDLED_SEED}`"
    );
}

#[test]
fn the_bundled_cohort_scores_with_every_bundled_instrument() {
    let o = mixspec(&["check", "tests/data/sim/mbt_scoring.spec"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn printed_parameters_read_back_and_give_the_default_cohort() {
    let dir = scratch("print");
    let o = mixspec(&["simulate", "--print-params"]);
    assert!(o.status.success());
    let params = dir.join("params.toml");
    std::fs::write(&params, &o.stdout).unwrap();
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    for (out, extra) in [(&a, None), (&b, Some(&params))] {
        let mut args = vec!["simulate", "--patients", "30", "--seed", "9"];
        args.extend(["--out", out.to_str().unwrap()]);
        if let Some(p) = extra {
            args.extend(["--params", p.to_str().unwrap()]);
        }
        let o = mixspec(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn a_bad_parameter_file_names_the_key_and_writes_nothing() {
    let dir = scratch("bad");
    let defaults = String::from_utf8(mixspec(&["simulate", "--print-params"]).stdout).unwrap();
    for (from, to, expect) in [
        ("sd_item = 0.6", "sd_itme = 0.6", "sd_itme"),
        (
            "completed_poor = 0.58",
            "completed_poor = -0.58",
            "treatment.completed_poor",
        ),
    ] {
        let params = dir.join("bad.toml");
        std::fs::write(&params, defaults.replacen(from, to, 1)).unwrap();
        let out = dir.join("never.csv");
        let o = mixspec(&[
            "simulate",
            "--patients",
            "10",
            "--out",
            out.to_str().unwrap(),
            "--params",
            params.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1));
        let message = stderr(&o);
        assert!(message.contains(expect), "{message}");
        assert!(message.contains("bad.toml"), "{message}");
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only bad.toml");
    }
}

/// `data/therapist_cohort.csv` (specs/therapist_effects.spec) is the simulator's output for
/// its bundled parameter file, bit for bit, with therapists in its last column.
#[test]
fn the_bundled_therapist_cohort_is_regenerated_bit_for_bit() {
    let dir = scratch("therapists");
    let out = dir.join("therapists.csv");
    let root = env!("CARGO_MANIFEST_DIR");
    let params = format!("{root}/data/therapist_params.toml");
    let o = mixspec(&[
        "simulate",
        "--patients",
        "400",
        "--seed",
        "7",
        "--params",
        &params,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let made = std::fs::read(&out).unwrap();
    let bundled = std::fs::read(format!("{root}/data/therapist_cohort.csv")).unwrap();
    assert!(
        made == bundled,
        "data/therapist_cohort.csv differs from `mixspec simulate --patients 400 --seed 7 --params data/therapist_params.toml`"
    );
    let header = String::from_utf8_lossy(&made[..made.iter().position(|&b| b == b'\n').unwrap()])
        .into_owned();
    assert!(header.ends_with(",therapist"), "{header}");
}
