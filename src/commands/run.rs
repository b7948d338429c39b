//! `mixspec run`: check a spec, fit its models, and write its reports and plots.

use std::path::{Path, PathBuf};

use mixspec_analysis::Results;

use super::check::{checked, contents, output_stem};
use super::plugins::PluginArgs;
use crate::output::pad;
use crate::report::{self, format};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The .spec file; paths inside it are relative to its folder.
    spec: PathBuf,
    /// Folder for the reports and plots [default: out/NAME/ beside the spec file NAME.spec].
    /// Nothing is written unless the whole analysis succeeds.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    plugins: PluginArgs,
}

pub fn run(args: &RunArgs) -> miette::Result<()> {
    let checked = checked(&args.spec, &args.plugins)?;
    let stem = output_stem(&args.spec)?;
    errln!("{}: fitting {}", args.spec.display(), contents(&checked));
    let bar = super::intervals::bootstrap_bar(checked.bootstrap_replicates());
    let power_bar = super::intervals::progress_bar("power", checked.power_simulations());
    let results = checked.run_with_progress(&|| bar.inc(1), &|| power_bar.inc(1));
    bar.finish_and_clear();
    power_bar.finish_and_clear();
    let results = results?;
    let files = report::files(&checked, &results, &stem)?;
    // Each spec gets its own folder, so specs side by side cannot overwrite each other's
    // reports.
    let out = args.out.clone().unwrap_or_else(|| {
        let folder = args.spec.parent().unwrap_or(Path::new(""));
        folder.join("out").join(&stem)
    });
    let written = report::write_all(&out, &files)?;
    // The article's tables first: what the analysis is for.
    for t in &results.descriptives {
        outln!("{}", report::tables::descriptives(t));
    }
    for t in &results.ratio_tables {
        outln!("{}", report::generalized::ratio_table(t));
    }
    for t in &results.tables {
        outln!("{}", report::tables::model_table(t));
    }
    out!("{}", summary(&checked, &results));
    outln!("wrote {} files into {}", written.len(), out.display());
    Ok(())
}

/// A line per model (and each of its warnings) and per test: enough to see at a glance
/// whether the run went as meant.
fn summary(checked: &mixspec_analysis::Checked, results: &Results) -> String {
    let spec = &checked.spec;
    let width = pad::widest(spec.models.iter().map(|m| m.name.text.as_str()));
    let mut s = String::new();
    for (m, f) in spec.models.iter().zip(&results.fits) {
        let fit = &f.fit;
        let warnings = fit.warnings().len();
        let mut flags = if warnings == 0 {
            String::new()
        } else {
            format!(
                "  ({warnings} warning{})",
                if warnings == 1 { "" } else { "s" }
            )
        };
        if !fit.converged() {
            flags += "  NOT CONVERGED";
        }
        if let Some(g) = m.family {
            flags = format!("  {} ({}){flags}", g.family.name(), g.link.name());
        }
        s += &format!(
            "  {}  {:4}  n = {:<6} logLik {:>10}  AIC {:>10}{flags}\n",
            pad::left(&m.name.text, width),
            if m.reml { "REML" } else { "ML" },
            fit.n_obs(),
            format::criterion(fit.loglik()),
            format::criterion(fit.aic()),
        );
        // Each warning in full, under its model: a count alone hides what to look at.
        for w in fit.warnings() {
            s += &format!("    warning ({}): {w}\n", m.name.text);
        }
    }
    for (c, table) in spec.comparisons.iter().zip(&results.comparisons) {
        let names: Vec<&str> = c.models.iter().map(|m| m.text.as_str()).collect();
        let tests: Vec<String> = table
            .rows
            .iter()
            .filter_map(|r| {
                let t = r.test?;
                Some(format!(
                    "{}: Chisq({}) = {:.2}, p = {}{}",
                    r.model,
                    t.df,
                    t.chi_square,
                    format::p_value(t.p),
                    if t.boundary {
                        " (boundary: half chi-square mixture)"
                    } else {
                        ""
                    }
                ))
            })
            .collect();
        s += &format!("  compare {}: {}\n", names.join(", "), tests.join("; "));
    }
    for e in results.explained.iter().flatten() {
        let parts: Vec<String> = e
            .rows
            .iter()
            .filter_map(|r| {
                let p = r.percent?;
                let what = if r.effect.is_empty() {
                    r.group.clone()
                } else {
                    format!("{} {}", r.group, r.effect)
                };
                Some(format!("{what} {p:.1}%"))
            })
            .collect();
        let refitted = if e.reference_fit.refitted {
            format!(
                " (reference refitted to the model's {} rows)",
                e.reference_fit.n_obs
            )
        } else {
            String::new()
        };
        s += &format!(
            "  explained {} vs {}{refitted}: {}\n",
            e.model,
            e.reference,
            parts.join(", ")
        );
    }
    for c in &results.powers {
        let points: Vec<String> = c
            .rows
            .iter()
            .map(|r| format!("{} subjects {:.3}", r.subjects, r.power))
            .collect();
        s += &format!("  power {} of {}: {}\n", c.name, c.test, points.join(", "));
    }
    s
}
