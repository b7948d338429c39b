//! `mixspec plugins`: what plugins there are, and whether they pass their test vectors.

use crate::output::pad;
use miette::{IntoDiagnostic, Report, WrapErr};
use mixspec_plugins::{Catalog, Params, PluginError};
use std::path::PathBuf;

/// Where plugins come from; shared by the commands that use them.
#[derive(clap::Args)]
pub struct PluginArgs {
    /// A directory of plugin scripts (.rhai) and libraries; repeatable. Directories in
    /// MIXSPEC_PLUGIN_PATH are searched too.
    #[arg(long = "plugin-dir", value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// JSON file of parameters for a plugin, e.g. the licensed item keys and norms of sipp-sf.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

impl PluginArgs {
    pub fn catalog(&self) -> miette::Result<Catalog> {
        let mut dirs = self.plugin_dirs.clone();
        if let Some(path) = std::env::var_os("MIXSPEC_PLUGIN_PATH") {
            dirs.extend(std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()));
        }
        Ok(Catalog::new(&dirs)?)
    }

    pub fn params(&self) -> miette::Result<Params> {
        let Some(path) = &self.params else {
            return Ok(Params::default());
        };
        let text = std::fs::read_to_string(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read the parameter file {}", path.display()))?;
        Ok(Params::from_json(&path.display().to_string(), &text)?)
    }
}

#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// List the bundled and discovered instruments and predictors.
    List(PluginArgs),
    /// Run the plugins' test vectors (all, or those named); fails if any test fails.
    Test {
        /// Plugin ids to test; all when none.
        ids: Vec<String>,
        #[command(flatten)]
        plugins: PluginArgs,
    },
}

pub fn run(command: &PluginsCommand) -> miette::Result<()> {
    match command {
        PluginsCommand::List(args) => list(args),
        PluginsCommand::Test { ids, plugins } => test(ids, plugins),
    }
}

fn list(args: &PluginArgs) -> miette::Result<()> {
    let mut rows = vec![["ID", "KIND", "VERSION", "FROM", "TITLE"].map(String::from)];
    for entry in args.catalog()?.load_all(&args.params()?) {
        match entry.plugins {
            Ok(plugins) => rows.extend(plugins.iter().map(|p| {
                let a = p.about();
                [
                    a.id.clone(),
                    p.kind().into(),
                    a.version.clone(),
                    a.origin.to_string(),
                    a.title.clone(),
                ]
            })),
            Err(e) => rows.push([
                entry.name,
                "-".into(),
                "-".into(),
                entry.origin.to_string(),
                format!("({})", not_loaded(&e)),
            ]),
        }
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| pad::widest(rows.iter().map(|r| r[c].as_str())))
        .collect();
    for r in rows {
        let mut line = String::new();
        for (cell, &width) in r.iter().zip(&widths) {
            line.push_str(&pad::left(cell, width));
            line.push_str("  ");
        }
        outln!("{line}{}", r[4]);
    }
    Ok(())
}

/// Why a plugin cannot be used, in one line.
fn not_loaded(e: &PluginError) -> String {
    match e {
        PluginError::ParamsRequired { name, .. } => {
            format!("needs --params FILE with `{name}`")
        }
        e => format!("not loaded: {e}"),
    }
}

fn test(ids: &[String], args: &PluginArgs) -> miette::Result<()> {
    let wanted = |id: &String| ids.is_empty() || ids.contains(id);
    let (mut passed, mut failed) = (0, 0);
    let mut seen = Vec::new();
    for entry in args.catalog()?.load_all(&args.params()?) {
        let name = format!("{} ({})", entry.name, entry.origin);
        let plugins = match entry.plugins {
            Ok(plugins) => plugins,
            Err(_) if !wanted(&entry.name) => continue,
            Err(e @ PluginError::ParamsRequired { .. }) => {
                outln!("skip  {name}: {}", not_loaded(&e));
                seen.push(entry.name);
                continue;
            }
            Err(e) => {
                outln!("FAIL  {name}: cannot be loaded");
                errln!("{:?}", Report::new(e));
                failed += 1;
                seen.push(entry.name);
                continue;
            }
        };
        for p in plugins.iter().filter(|p| wanted(&p.about().id)) {
            let name = format!("{} ({})", p.about().id, p.about().origin);
            let results = p.run_tests();
            let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            if failures.is_empty() {
                outln!("ok    {name}: {} tests", results.len());
            }
            for f in &failures {
                outln!("FAIL  {name}: {f}");
            }
            passed += results.len() - failures.len();
            failed += failures.len();
            seen.push(p.about().id.clone());
        }
    }
    for id in ids.iter().filter(|id| !seen.contains(id)) {
        outln!("FAIL  {id}: no such plugin");
        failed += 1;
    }
    outln!("{passed} passed, {failed} failed");
    if failed > 0 {
        miette::bail!("{failed} plugin tests failed");
    }
    Ok(())
}
