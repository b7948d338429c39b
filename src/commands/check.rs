//! `mixspec check`: every check of a spec file that can be made without fitting, all of its
//! problems reported at once.

use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, WrapErr};
use mixspec_analysis::{Checked, Plugins};

use super::plugins::PluginArgs;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The .spec file; paths inside it are relative to its folder.
    spec: PathBuf,
    #[command(flatten)]
    plugins: PluginArgs,
}

/// Reads and checks a spec file, with the plugins the command line names.
pub fn checked(spec: &Path, plugins: &PluginArgs) -> miette::Result<Checked> {
    let text = std::fs::read_to_string(spec)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the spec file {}", spec.display()))?;
    let plugins = Plugins {
        catalog: plugins.catalog()?,
        params: plugins.params()?,
    };
    let base = spec.parent().unwrap_or(Path::new(""));
    Ok(mixspec_analysis::check(
        &spec.display().to_string(),
        &text,
        base,
        &plugins,
    )?)
}

/// The name a spec file gives its output (`NAME` of `NAME.spec`: the default report and the
/// folder `out/NAME`). Refused when empty or starting with `.`: `...spec` would name `..`,
/// the spec's own folder, and `.x.spec` hidden files; a report's name is refused alike.
pub fn output_stem(spec: &Path) -> miette::Result<String> {
    let stem = spec
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem.is_empty() || stem.starts_with('.') {
        return Err(miette::miette!(
            help = "rename the spec file, e.g. analysis.spec",
            "the spec file {} cannot name its reports and output folder (`{stem}`)",
            spec.display()
        ));
    }
    Ok(stem)
}

/// "3 models, 1 comparison": what a spec asks for, for the one-line summaries.
pub fn contents(checked: &Checked) -> String {
    let spec = &checked.spec;
    let counts = [
        (spec.models.len(), "model", "models"),
        (spec.comparisons.len(), "comparison", "comparisons"),
        (
            spec.explained.len(),
            "explained-variance statement",
            "explained-variance statements",
        ),
        (spec.reports.len(), "report", "reports"),
        (spec.plots.len(), "plot", "plots"),
        (spec.tables.len(), "table", "tables"),
        (spec.describes.len(), "description", "descriptions"),
    ];
    counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &CheckArgs) -> miette::Result<()> {
    let checked = checked(&args.spec, &args.plugins)?;
    output_stem(&args.spec)?;
    outln!(
        "{}: ok ({}; {} rows of data)",
        args.spec.display(),
        contents(&checked),
        checked.data.n_rows()
    );
    Ok(())
}
