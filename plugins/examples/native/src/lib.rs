//! An example native plugin, and the template for writing one: copy this crate, rename it,
//! and replace the descriptions and functions.
//!
//! It offers one instrument (the PHQ-9 total, whose scoring rule is public) and two
//! predictors that split a time-varying covariate into its between-subject part (the
//! subject's mean) and its within-subject part (the deviation from that mean), the usual
//! way to separate the two effects in a longitudinal mixed model.
//!
//! Build with `cargo build --release -p mixspec-example-plugin`, then
//! `mixspec score --instrument target/release/libmixspec_example_plugin.so ...`.

use mixspec_plugin_sdk::{export_plugin, Instrument, Per, Plugin, Predictor, Test};

export_plugin!(Plugin {
    instruments: &[Instrument {
        id: "phq-9",
        version: "2001",
        title: "PHQ-9 total (Kroenke, Spitzer & Williams 2001)",
        items: &["phq1", "phq2", "phq3", "phq4", "phq5", "phq6", "phq7", "phq8", "phq9",],
        range: (0.0, 3.0),
        missing_codes: &[],
        outputs: &["PHQ9"],
        tests: &[Test {
            // Three respondents: all 0, all 3, and a mixed one summing to 13.
            inputs: &[
                &[0.0, 3.0, 1.0],
                &[0.0, 3.0, 2.0],
                &[0.0, 3.0, 3.0],
                &[0.0, 3.0, 0.0],
                &[0.0, 3.0, 1.0],
                &[0.0, 3.0, 2.0],
                &[0.0, 3.0, 3.0],
                &[0.0, 3.0, 0.0],
                &[0.0, 3.0, 1.0],
            ],
            expected: &[&[0.0, 27.0, 13.0]],
        }],
        score: phq9_total,
    }],
    predictors: &[
        Predictor {
            id: "subject-mean",
            version: "1",
            title: "Between-subject part: the subject's mean of x",
            inputs: &["x"],
            per: Per::Subject,
            tests: &[Test {
                inputs: &[&[1.0, f64::NAN, 5.0]],
                expected: &[&[3.0, 3.0, 3.0]],
            }],
            derive: subject_mean,
        },
        Predictor {
            id: "within-subject",
            version: "1",
            title: "Within-subject part: x minus the subject's mean of x",
            inputs: &["x"],
            per: Per::Subject,
            tests: &[Test {
                inputs: &[&[1.0, f64::NAN, 5.0]],
                expected: &[&[-2.0, f64::NAN, 2.0]],
            }],
            derive: within_subject,
        },
    ],
});

/// PHQ-9 total: the sum of the nine items (0–27), missing when any item is (NaN
/// propagates through the sum). mixspec has already checked the 0–3 range.
fn phq9_total(items: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<(), String> {
    for (row, total) in outputs[0].iter_mut().enumerate() {
        *total = items.iter().map(|item| item[row]).sum();
    }
    Ok(())
}

/// Called once per subject: every row gets the mean of the subject's present values.
fn subject_mean(inputs: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<(), String> {
    outputs[0].fill(mean_of_present(inputs[0]));
    Ok(())
}

/// Called once per subject: each value minus the subject's mean; missing stays missing.
fn within_subject(inputs: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<(), String> {
    let mean = mean_of_present(inputs[0]);
    for (out, x) in outputs[0].iter_mut().zip(inputs[0]) {
        *out = x - mean;
    }
    Ok(())
}

/// NaN when no value is present.
fn mean_of_present(x: &[f64]) -> f64 {
    let (sum, n) = x
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}
