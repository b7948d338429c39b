//! Parameter files: the default is complete and valid, and a bad file is refused with a
//! message that names the key.

use mixspec_simulate::{simulate, Params, ParamsError, DEFAULT_TOML};

fn error_of(text: &str) -> String {
    match Params::from_toml(text, "bad.toml") {
        Ok(_) => panic!("accepted a bad parameter file"),
        Err(ParamsError::Syntax(e)) => {
            assert!(e.span.is_some(), "a syntax error points into the file");
            e.to_string()
        }
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_default_file_parses_and_round_trips() {
    let params = Params::from_toml(DEFAULT_TOML, "params.toml").unwrap();
    assert_eq!(params.cohort.good_share, 0.57);
    assert_eq!(params.wai.tasks.mood_intercept, -0.54);
}

#[test]
fn a_misspelt_key_is_named() {
    let text = DEFAULT_TOML.replace(
        "poor_paranoid_slope = -0.0438",
        "poor_paranoid_slop = -0.0438",
    );
    let message = error_of(&text);
    assert!(message.contains("poor_paranoid_slop"), "{message}");
}

#[test]
fn a_missing_key_is_named() {
    let text = DEFAULT_TOML.replace("wai_final = 0.74", "");
    let message = error_of(&text);
    assert!(message.contains("wai_final"), "{message}");
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    let text = DEFAULT_TOML.replace("good_share = 0.57", "good_share = \"most\"");
    let message = error_of(&text);
    assert!(message.contains("bad.toml"), "{message}");
}

#[test]
fn an_impossible_value_names_its_key_and_value() {
    for (from, to, key) in [
        ("good_share = 0.57", "good_share = 1.5", "cohort.good_share"),
        (
            "correlation = -0.2\nsd_residual = 4.0",
            "correlation = 1.0\nsd_residual = 4.0",
            "wsas.correlation",
        ),
        (
            "eq5d_mo = [0.80, 0.18, 0.02]",
            "eq5d_mo = [0.80, 0.18, 0.12]",
            "baseline.good.eq5d_mo",
        ),
        (
            "months = [3, 9, 15, 21, 27, 33]",
            "months = [3, 9, 9, 21]",
            "schedule.months[2]",
        ),
        ("n_pd = 1.3", "n_pd = 0.5", "baseline.good.n_pd"),
        // Past the Poisson draw's range: it once panicked in the simulation (issue 17).
        ("n_pd = 1.3", "n_pd = 1e300", "baseline.good.n_pd"),
    ] {
        assert!(DEFAULT_TOML.contains(from), "{from}");
        let message = error_of(&DEFAULT_TOML.replacen(from, to, 1));
        assert!(message.contains(&format!("`{key}`")), "{key}: {message}");
    }
}

#[test]
fn an_unreachable_outcome_is_an_error_not_a_hang() {
    // GAF pinned far below the threshold: nobody can end with a good outcome.
    let text = DEFAULT_TOML
        .replacen("intercept = 49.0", "intercept = 10.0", 1)
        .replacen("slope = 0.47", "slope = 0.0", 1);
    let params = Params::from_toml(&text, "low.toml").unwrap();
    let error = simulate(&params, 20, 1).unwrap_err().to_string();
    assert!(error.contains("gaf_threshold"), "{error}");
}

/// The parameter file's parser and the simulator behind it, fuzzed (issue 17: every parser):
/// the default file with a few spans replaced by short runs of TOML-ish characters is read
/// or refused, and a file that is read simulates a small cohort or refuses to, never a
/// panic.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn mutated(edits: &[(usize, String, usize)]) -> String {
        let mut text = DEFAULT_TOML.to_string();
        for (at, insert, delete) in edits {
            let boundary = |i: usize| {
                (0..=i.min(text.len()))
                    .rev()
                    .find(|&k| text.is_char_boundary(k))
            };
            let start = boundary(at % (text.len() + 1)).unwrap_or(0);
            let end = boundary(start + delete).unwrap_or(start).max(start);
            text.replace_range(start..end, insert);
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn mutated_parameter_files_are_read_or_refused(
            edits in prop::collection::vec(
                (0usize..20_000, "[-+0-9a-z_.=#\\[\\]\" \n]{0,8}", 0usize..12),
                1..4,
            )
        ) {
            let text = mutated(&edits);
            if let Ok(params) = Params::from_toml(&text, "fuzz.toml") {
                let _ = simulate(&params, 6, 1);
            }
        }

        /// Valid TOML with values no study has: the parameters' own checks must refuse them
        /// or the simulator must cope.
        #[test]
        fn extreme_parameter_values_are_simulated_or_refused(
            picks in prop::collection::vec((0usize..1_000, 0usize..EXTREMES.len()), 1..4)
        ) {
            let mut text = DEFAULT_TOML.to_string();
            for (k, v) in picks {
                let numbers = number_spans(&text);
                let (start, end) = numbers[k % numbers.len()];
                text.replace_range(start..end, EXTREMES[v]);
            }
            if let Ok(params) = Params::from_toml(&text, "fuzz.toml") {
                let _ = simulate(&params, 6, 1);
            }
        }
    }

    const EXTREMES: [&str; 10] = [
        "0",
        "-1",
        "0.0",
        "-0.5",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "1000000000",
        "2.5",
    ];

    /// Byte ranges of the numbers in values (after `=` or inside `[...]`) of a TOML text.
    fn number_spans(text: &str) -> Vec<(usize, usize)> {
        let bytes = text.as_bytes();
        let mut spans = Vec::new();
        let mut in_comment = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'#' => in_comment = true,
                b'\n' => in_comment = false,
                b'=' | b'[' | b',' if !in_comment => {
                    let mut j = i + 1;
                    while j < bytes.len() && bytes[j] == b' ' {
                        j += 1;
                    }
                    let start = j;
                    while j < bytes.len()
                        && (bytes[j].is_ascii_digit() || b"-+.eE_".contains(&bytes[j]))
                    {
                        j += 1;
                    }
                    if j > start && bytes[start..j].iter().any(u8::is_ascii_digit) {
                        spans.push((start, j));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        spans
    }
}
