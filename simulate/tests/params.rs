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
