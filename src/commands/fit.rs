//! `mixspec fit`: one CSV file, one formula, one fitted model.

use crate::output::{self, Format};
use miette::{IntoDiagnostic, NamedSource, Report, WrapErr};
use mixspec_engine::spec::{CovarianceType, ResidualSpec};
use mixspec_engine::{fit, read_csv, Design, FitOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct FitArgs {
    /// CSV file with a header row; empty cells and NA are missing.
    #[arg(long)]
    data: PathBuf,
    /// lme4 formula, e.g. "Reaction ~ Days + (Days | Subject)".
    #[arg(long)]
    formula: String,
    /// Maximum likelihood instead of REML.
    #[arg(long)]
    ml: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Residual correlation within groups: "ar1(g)", "car1(time | g)", "cs(g)", or a
    /// variance per level of a factor: "varident(f)".
    #[arg(long)]
    residual: Option<String>,
    /// Covariance structure of every random-effect term: un (default), diag, cs.
    #[arg(long, value_parser = parse_covariance)]
    covariance: Option<CovarianceType>,
}

fn parse_covariance(text: &str) -> Result<CovarianceType, String> {
    CovarianceType::parse(text).ok_or_else(|| format!("`{text}` is not one of un, diag, cs"))
}

pub fn run(args: &FitArgs) -> miette::Result<()> {
    let mut spec = mixspec_dsl::parse_formula(&args.formula).map_err(|e| {
        Report::new(e).with_source_code(NamedSource::new("formula", args.formula.clone()))
    })?;
    if let Some(text) = &args.residual {
        spec.residual = Some(ResidualSpec::parse(text)?);
    }
    if let Some(kind) = args.covariance {
        spec.random.iter_mut().for_each(|r| r.covariance = kind);
    }
    let source = args.data.display().to_string();
    let file = std::fs::File::open(&args.data)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot open data file {source}"))?;
    let data = read_csv(std::io::BufReader::new(file), &source)?;
    let design = Design::build(&spec, &data)?;
    let options = FitOptions {
        reml: !args.ml,
        ..FitOptions::default()
    };
    let fit = fit(design, &options)?;
    for w in &fit.warnings {
        eprintln!("warning: {w}");
    }
    let text = match args.format {
        Format::Text => output::text::summary(&fit, &spec.formula, &source),
        Format::Json => output::json::fit(&fit, &spec.formula),
    };
    println!("{text}");
    Ok(())
}
