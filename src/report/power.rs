//! A power statement's outputs: `NAME_power.csv`, its table in the Markdown report and its
//! entry in the JSON report (the curve itself is drawn by `figure::power_curve`).

use std::fmt::Write;

use mixspec_analysis::PowerCurve;
use serde_json::{json, Value};

use super::format::{cell, estimate};
use super::markdown::table;

/// The curve as CSV, one row per number of subjects.
pub fn csv(curve: &PowerCurve) -> String {
    let mut s = String::from("subjects,power,lower,upper,simulations,failed,mean_estimate\n");
    for r in &curve.rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.subjects,
            cell(r.power),
            cell(r.lower),
            cell(r.upper),
            r.simulations,
            r.failed,
            cell(r.mean_estimate)
        );
    }
    s
}

/// The Markdown section of the report's power curves, with a link to each plot.
pub fn markdown(s: &mut String, curves: &[PowerCurve]) {
    if curves.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Power\n");
    let _ = writeln!(
        s,
        "Share of simulated cohorts whose test rejects, with its exact (Clopper–Pearson) 95% \
         interval; failed fits are left out of the share.\n"
    );
    for c in curves {
        let _ = writeln!(
            s,
            "### {}\n\nTest of `{}` ({}, {} fits, α = {}), cohorts simulated from {}, seed {}.\n",
            c.name, c.test, c.statistic, c.method, c.alpha, c.source, c.seed
        );
        let mut rows = vec![[
            "Subjects",
            "Power",
            "95% interval",
            "Simulations",
            "Failed",
            "Mean estimate",
        ]
        .map(String::from)
        .to_vec()];
        for r in &c.rows {
            rows.push(vec![
                r.subjects.to_string(),
                format!("{:.3}", r.power),
                format!("{:.3}–{:.3}", r.lower, r.upper),
                r.simulations.to_string(),
                r.failed.to_string(),
                if r.mean_estimate.is_nan() {
                    "—".to_string()
                } else {
                    estimate(r.mean_estimate)
                },
            ]);
        }
        table(s, &rows, &[true; 6]);
        let _ = writeln!(s, "![Power curve of {}]({}.svg)\n", c.name, figure_stem(c));
    }
}

/// The curves in the JSON report: the CSV's columns per row, with the test and its settings.
pub fn json(curves: &[PowerCurve]) -> Value {
    curves
        .iter()
        .map(|c| {
            let rows: Vec<Value> = c
                .rows
                .iter()
                .map(|r| {
                    json!({
                        "subjects": r.subjects,
                        "power": r.power,
                        "lower": r.lower,
                        "upper": r.upper,
                        "simulations": r.simulations,
                        "failed": r.failed,
                        "mean_estimate": r.mean_estimate,
                    })
                })
                .collect();
            json!({
                "name": c.name,
                "test": c.test,
                "statistic": c.statistic,
                "method": c.method,
                "alpha": c.alpha,
                "seed": c.seed,
                "source": c.source,
                "rows": rows,
            })
        })
        .collect()
}

pub fn csv_file(curve: &PowerCurve) -> String {
    format!("{}_power.csv", curve.name)
}

pub fn figure_stem(curve: &PowerCurve) -> String {
    format!("{}_power", curve.name)
}
