//! Confidence intervals in the JSON contract (`profile_ci`, `bootstrap_ci`) and as text.

use super::pad;
use crate::commands::intervals::Intervals;
use mixspec_engine::inference::{Bootstrap, Interval, Parameter};
use serde_json::{json, Value};

/// Adds `profile_ci`, and `bootstrap_ci` with `bootstrap` ({replicates, seed, failed}), for
/// the intervals computed.
pub fn add_json(value: &mut Value, profile: Option<&[Interval]>, bootstrap: Option<&Bootstrap>) {
    if let Some(rows) = profile {
        value["profile_ci"] = rows.iter().map(|i| row(i, None)).collect();
    }
    if let Some(b) = bootstrap {
        value["bootstrap_ci"] = b
            .intervals
            .iter()
            .map(|i| row(i, Some("percentile")))
            .collect();
        value["bootstrap"] = json!({
            "replicates": b.replicates,
            "seed": b.seed,
            "failed": b.failed,
        });
    }
}

/// The interval's parameter as `kind`, `group`, `var1`, `var2`, `term` (null where they do
/// not apply), the same columns for every kind.
pub fn parameter_columns(p: &Parameter) -> [Option<&str>; 5] {
    match p {
        Parameter::Fixed { term } => [Some("fixed"), None, None, None, Some(term)],
        Parameter::Sd { group, var1 } => [Some("sd"), Some(group), var1.as_deref(), None, None],
        Parameter::Cor { group, var1, var2 } => {
            [Some("cor"), Some(group), Some(var1), Some(var2), None]
        }
        Parameter::NbTheta => [Some("nb_theta"), None, None, None, None],
    }
}

fn row(interval: &Interval, method: Option<&str>) -> Value {
    let mut v = match &interval.parameter {
        Parameter::Fixed { term } => json!({ "kind": "fixed", "term": term }),
        Parameter::Sd { group, var1 } => {
            json!({ "kind": "sd", "group": group, "var1": var1, "var2": null })
        }
        Parameter::Cor { group, var1, var2 } => {
            json!({ "kind": "cor", "group": group, "var1": var1, "var2": var2 })
        }
        Parameter::NbTheta => json!({ "kind": "nb_theta" }),
    };
    v["lower"] = Value::from(interval.lower);
    v["upper"] = Value::from(interval.upper);
    if let Some(m) = method {
        v["method"] = Value::from(m);
    }
    v
}

/// The intervals as blocks like R's `confint` print.
pub fn text(intervals: &Intervals) -> String {
    let mut out = String::new();
    if let Some(rows) = &intervals.profile {
        out += &block(
            "Profile-likelihood confidence intervals (ML deviance):",
            rows,
        );
    }
    if let Some(b) = &intervals.bootstrap {
        let title = format!(
            "Parametric bootstrap percentile intervals ({}):",
            bootstrap_run(b)
        );
        out += &block(&title, &b.intervals);
    }
    out
}

fn block(title: &str, rows: &[Interval]) -> String {
    let labels: Vec<String> = rows.iter().map(|i| label(&i.parameter)).collect();
    let width = pad::widest(labels.iter().map(String::as_str));
    let mut out = format!(
        "\n{title}\n{} {:>12} {:>12}\n",
        " ".repeat(width),
        "2.5 %",
        "97.5 %"
    );
    for (l, i) in labels.iter().zip(rows) {
        out += &format!(
            "{} {:>12.6} {:>12.6}\n",
            pad::left(l, width),
            i.lower,
            i.upper
        );
    }
    out
}

/// A parameter in a few words: the term, `sd EFFECT | GROUP`, `cor A, B | GROUP` or `sigma`.
pub fn label(p: &Parameter) -> String {
    match p {
        Parameter::Fixed { term } => term.clone(),
        Parameter::Sd {
            group,
            var1: Some(v),
        } => format!("sd {v} | {group}"),
        Parameter::Sd { var1: None, .. } => "sigma".into(),
        Parameter::Cor { group, var1, var2 } => format!("cor {var1}, {var2} | {group}"),
        Parameter::NbTheta => "nb_theta".into(),
    }
}

/// What a bootstrap was: "N refits, seed S" and the refits that failed, if any; the caption
/// of its intervals wherever they are shown.
pub fn bootstrap_run(b: &Bootstrap) -> String {
    let mut text = format!("{} refits, seed {}", b.replicates, b.seed);
    if b.failed > 0 {
        text += &format!(", {} failed", b.failed);
    }
    text
}
