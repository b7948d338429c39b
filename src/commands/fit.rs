//! `mixspec fit`: one data file, one formula, one fitted model.

use crate::output::{self, Format};
use miette::{NamedSource, Report};
use mixspec_engine::family::{Family, Link};
use mixspec_engine::fit::glmm::{fit_glmm, nakagawa, GlmmOptions};
use mixspec_engine::inference::{anova, anova_kenward_roger, DfRule, KenwardRoger};
use mixspec_engine::spec::{CovarianceType, ResidualSpec};
use mixspec_engine::{fit, Design, FitOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct FitArgs {
    /// Data file: CSV (a header row; empty cells and NA are missing), SPSS .sav/.zsav,
    /// Parquet (a file, a folder of part files or a pattern such as 'parts/*.parquet') or
    /// Arrow IPC (.arrow, .feather); see docs/data.md.
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
    /// Add Kenward–Roger degrees of freedom and p-values of the coefficients and a Type III
    /// table with Kenward–Roger's F-tests (pbkrtest's; REML only).
    #[arg(long)]
    kr: bool,
    #[command(flatten)]
    intervals: super::intervals::IntervalArgs,
    /// Fit a generalized linear mixed model (glmer's Laplace approximation) with this
    /// response distribution.
    #[arg(long, value_enum)]
    family: Option<FamilyArg>,
    /// Link function of --family (default: logit for binomial, log otherwise).
    #[arg(long, value_parser = parse_link, requires = "family")]
    link: Option<Link>,
    /// Adaptive Gauss–Hermite quadrature nodes (1 = Laplace; up to 25, for one scalar
    /// random effect only, as lme4).
    #[arg(long, default_value_t = 1, requires = "family")]
    nagq: usize,
    /// With --family: write each observation's linear predictor and mean, at the
    /// conditional modes and at the random effects' zero, to this CSV file.
    #[arg(long, value_name = "FILE", requires = "family")]
    predictions: Option<PathBuf>,
    /// With --family: write the conditional modes of the random effects (link and
    /// response scale) to this CSV file.
    #[arg(long, value_name = "FILE", requires = "family")]
    modes: Option<PathBuf>,
    /// Where the cross-products are formed: `memory` reads every row; `datafusion` has
    /// Apache DataFusion compute the per-subject statistics over the Parquet or CSV files,
    /// streaming, and fits from them (one grouping factor, independent Gaussian
    /// residuals; docs/scale.md); `ballista://HOST:PORT` runs the same queries on the
    /// Apache Ballista cluster whose scheduler is there (`mixspec cluster`; the data path
    /// must name the same files on every executor). Needs a build with the `datafusion`
    /// or the `ballista` feature.
    #[arg(long, value_parser = parse_engine, default_value = "memory")]
    engine: Engine,
}

#[derive(Clone, PartialEq, Eq)]
enum Engine {
    Memory,
    Datafusion,
    /// A Ballista cluster, by its scheduler's address.
    Ballista(super::cluster::Address),
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Memory => f.write_str("memory"),
            Engine::Datafusion => f.write_str("datafusion"),
            Engine::Ballista(address) => write!(f, "ballista://{address}"),
        }
    }
}

fn parse_engine(text: &str) -> Result<Engine, String> {
    match text {
        "memory" => Ok(Engine::Memory),
        "datafusion" => Ok(Engine::Datafusion),
        _ => match text.strip_prefix("ballista://") {
            Some(address) => Ok(Engine::Ballista(super::cluster::Address::parse(address)?)),
            None => Err(format!(
                "`{text}` is not one of memory, datafusion, ballista://HOST:PORT"
            )),
        },
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FamilyArg {
    Binomial,
    Poisson,
    NegativeBinomial,
}

fn parse_link(text: &str) -> Result<Link, String> {
    Link::parse(text).ok_or_else(|| format!("`{text}` is not one of logit, probit, cloglog, log"))
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
    if args.engine != Engine::Memory {
        return run_statistics(args, &spec, &source);
    }
    let data = mixspec_io::read_data(&args.data)?;
    if let Some(family) = args.family {
        return run_glmm(args, family, &spec, &data, &source);
    }
    let design = Design::build(&spec, &data)?;
    if args.kr && !args.ml && design.residual.is_none() {
        // Before the fit: the adjustment's dense matrices may be beyond any machine.
        KenwardRoger::check_size(design.n(), KenwardRoger::variance_parameters(&design))?;
    }
    let options = FitOptions {
        reml: !args.ml,
        ..FitOptions::default()
    };
    let fit = fit(design.clone(), &options)?;
    for w in &fit.warnings {
        errln!("warning: {w}");
    }
    let table = anova(&design, &spec.fixed, &fit)?;
    let kenward_roger = if !args.kr {
        None
    } else if !fit.reml {
        errln!("warning: Kenward–Roger needs a REML fit; no df_kr or p_kr with --ml");
        None
    } else {
        let kr = match KenwardRoger::new(&design, &fit.random, fit.sigma) {
            Ok(k) => Some(k),
            Err(e) => {
                errln!("warning: no Kenward–Roger adjustment: {e}");
                None
            }
        };
        kr.map(|k| {
            (
                k.coefficient_tests(&fit.beta),
                k.std_errors(),
                anova_kenward_roger(&design, &spec.fixed, &fit, &k),
            )
        })
    };
    let intervals = args.intervals.compute(&design, &fit)?;
    let text = match args.format {
        Format::Text => {
            output::text::summary(&fit, &spec.formula, &source)
                + output::text::anova(
                    &table,
                    match fit.df_rule() {
                        Some(DfRule::Residual) => "residual df (N − p, gls)",
                        _ => "Satterthwaite's",
                    },
                )
                .as_str()
                + kenward_roger
                    .as_ref()
                    .map(|(_, _, table)| output::text::anova(table, "Kenward-Roger's"))
                    .unwrap_or_default()
                    .as_str()
                + output::intervals::text(&intervals).as_str()
        }
        Format::Json => {
            let mut value = output::json::fit_value(&fit, &spec.formula);
            let kr = kenward_roger
                .as_ref()
                .map(|(tests, se, table)| (tests.as_slice(), se.as_slice(), table.as_slice()));
            output::json::add_tests(&mut value, kr, &table);
            output::intervals::add_json(
                &mut value,
                intervals.profile.as_deref(),
                intervals.bootstrap.as_ref(),
            );
            serde_json::to_string_pretty(&value).expect("JSON of plain values cannot fail")
        }
    };
    outln!("{text}");
    Ok(())
}

/// `--engine datafusion` or `ballista://…`: the fit from per-subject statistics computed
/// by DataFusion, in this process or on a Ballista cluster. What needs the rows
/// (intervals, Kenward–Roger, a generalized model) is refused; the Type III table and the
/// residuals' summary are left out, as they need the rows too.
#[cfg(feature = "datafusion")]
fn run_statistics(
    args: &FitArgs,
    spec: &mixspec_engine::ModelSpec,
    source: &str,
) -> miette::Result<()> {
    use crate::distributed::QueryEngine;
    let engine = match &args.engine {
        #[cfg(feature = "ballista")]
        Engine::Ballista(address) => QueryEngine::Ballista(address.to_string()),
        #[cfg(not(feature = "ballista"))]
        Engine::Ballista(_) => return Err(without_ballista()),
        Engine::Memory | Engine::Datafusion => QueryEngine::Local,
    };
    let refuse = |what: &str| -> miette::Result<()> {
        Err(miette::miette!(
            help = "these need every row; fit with --engine memory to get them",
            "{what} is not available with --engine {}",
            args.engine
        ))
    };
    if args.family.is_some() {
        return refuse("--family (the statistics are those of a Gaussian model)");
    }
    if args.kr {
        return refuse("--kr (Kenward–Roger)");
    }
    if args.intervals.requested() {
        return refuse("--profile and --bootstrap");
    }
    let options = FitOptions {
        reml: !args.ml,
        ..FitOptions::default()
    };
    let fit = crate::distributed::fit(spec, &args.data, &engine, &options)?;
    for w in &fit.warnings {
        errln!("warning: {w}");
    }
    let text = match args.format {
        Format::Text => output::text::summary(&fit, &spec.formula, source),
        Format::Json => serde_json::to_string_pretty(&output::json::fit_value(&fit, &spec.formula))
            .expect("JSON of plain values cannot fail"),
    };
    outln!("{text}");
    Ok(())
}

/// Without the `datafusion` feature: say how to get it.
#[cfg(not(feature = "datafusion"))]
fn run_statistics(args: &FitArgs, _: &mixspec_engine::ModelSpec, _: &str) -> miette::Result<()> {
    if let Engine::Ballista(_) = args.engine {
        return Err(without_ballista());
    }
    Err(miette::miette!(
        help = "build mixspec with the feature: cargo build --release --features datafusion",
        "this mixspec was built without the DataFusion engine (--engine datafusion)"
    ))
}

/// The error of `--engine ballista://…` and `mixspec cluster` in a build without the
/// `ballista` feature.
#[cfg(not(feature = "ballista"))]
pub fn without_ballista() -> miette::Report {
    miette::miette!(
        help = "build mixspec with the feature: cargo build --release --features ballista",
        "this mixspec was built without Apache Ballista (--engine ballista://HOST:PORT, \
         mixspec cluster)"
    )
}

/// `--family`: a generalized linear mixed model. Options that belong to linear models are
/// refused rather than ignored.
fn run_glmm(
    args: &FitArgs,
    family: FamilyArg,
    spec: &mixspec_engine::ModelSpec,
    data: &mixspec_engine::DataFrame,
    source: &str,
) -> miette::Result<()> {
    let refuse = |what: &str| -> miette::Result<()> {
        Err(miette::miette!(
            help = "a generalized model is fitted by maximum likelihood with Wald z-tests",
            "{what} is not available with --family"
        ))
    };
    if args.kr {
        return refuse("--kr (Kenward–Roger)");
    }
    let family = match family {
        FamilyArg::Binomial => Family::Binomial,
        FamilyArg::Poisson => Family::Poisson,
        FamilyArg::NegativeBinomial => Family::NegativeBinomial { theta: 1.0 },
    };
    let options = GlmmOptions {
        family,
        link: args.link.unwrap_or(family.default_link()),
        nagq: args.nagq,
        max_evaluations: 100_000,
    };
    let (design, response) = Design::build_glmm(spec, data)?;
    let fit = fit_glmm(design.clone(), response.clone(), &options)?;
    for w in &fit.warnings {
        errln!("warning: {w}");
    }
    if !fit.convergence.converged {
        errln!(
            "warning: the optimizer did not converge ({}); the estimates are not reliable",
            fit.convergence.status
        );
    }
    let r2 = nakagawa(&design, &response, &options, &fit)?;
    let intervals = super::intervals::Intervals {
        profile: args
            .intervals
            .glmm_profile(&design, &response, &options, &fit)?,
        bootstrap: args
            .intervals
            .glmm_bootstrap(&design, &response, &options, &fit)?,
    };
    let text = match args.format {
        Format::Text => {
            output::glmm::summary(&fit, &spec.formula, source)
                + output::glmm::r_squared_text(&r2).as_str()
                + output::intervals::text(&intervals).as_str()
        }
        Format::Json => {
            let mut value = output::glmm::value(&fit, &spec.formula);
            value["r2_marginal"] = r2.marginal.into();
            value["r2_conditional"] = r2.conditional.into();
            output::intervals::add_json(
                &mut value,
                intervals.profile.as_deref(),
                intervals.bootstrap.as_ref(),
            );
            serde_json::to_string_pretty(&value).expect("JSON of plain values cannot fail")
        }
    };
    if let Some(path) = &args.predictions {
        crate::report::write::write_file(path, &output::glmm::predictions_csv(&fit))?;
    }
    if let Some(path) = &args.modes {
        crate::report::write::write_file(path, &output::glmm::modes_csv(&fit))?;
    }
    outln!("{text}");
    Ok(())
}
