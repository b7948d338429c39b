//! `mixspec`: linear mixed models from the command line.
//!
//! The binary only parses arguments, reads files, and renders results and errors; all
//! modelling lives in the library crates.

/// `print!` to standard output that ends quietly when the pipe's reader has gone, and never
/// panics (`output::console`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::console::write($crate::output::console::Stream::Out, &format!($($arg)*))
    };
}

/// `println!`, as [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::console::write(
            $crate::output::console::Stream::Out,
            &format!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `eprintln!`, as [`out!`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::console::write(
            $crate::output::console::Stream::Err,
            &format!("{}\n", format_args!($($arg)*)),
        )
    };
}

mod commands;
#[cfg(feature = "datafusion")]
mod distributed;
mod output;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mixspec",
    version,
    about = "Longitudinal linear mixed models, checked against lme4"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit one linear mixed model to a data file (REML unless --ml).
    #[command(
        after_help = "Examples:\n  mixspec fit --data data/mbt_cohort.csv --formula \"gaf ~ months + (months | patient)\"\n  mixspec fit --data sleep.csv --formula \"Reaction ~ Days + (Days | Subject)\" --kr --format json\n  mixspec fit --data counts.csv --formula \"y ~ x + (1 | g)\" --family poisson"
    )]
    Fit(commands::fit::FitArgs),
    /// List the instrument and predictor plugins, or run their test vectors.
    #[command(
        subcommand,
        after_help = "Examples:\n  mixspec plugins list\n  mixspec plugins list --plugin-dir plugins/examples/scripts\n  mixspec plugins test wai-s wai-sr"
    )]
    Plugins(commands::plugins::PluginsCommand),
    /// Score a questionnaire: write the data plus the instrument's scale columns.
    #[command(
        after_help = "Examples:\n  mixspec score --instrument wsas --data data/mbt_cohort.csv --out scored.csv\n  mixspec score --instrument wai-s --data data/mbt_cohort.csv --when 'version == \"S\"' --out wai.csv\n  mixspec score --instrument wai-sr --data wai.csv --when 'version == \"SR\"' --out wai.csv"
    )]
    Score(commands::score::ScoreArgs),
    /// Check a .spec file without fitting: syntax, names, variables and filters against the
    /// data; every problem is reported.
    #[command(
        after_help = "Examples:\n  mixspec check specs/mbt_alliance.spec\n  mixspec check analysis.spec --plugin-dir my-plugins"
    )]
    Check(commands::check::CheckArgs),
    /// Check a .spec file, fit its models and write its reports and plots (Markdown, CSV,
    /// JSON, SVG, PNG, PDF, HTML).
    #[command(
        after_help = "Examples:\n  mixspec run specs/mbt_alliance.spec            # into specs/out/mbt_alliance/\n  mixspec run specs/sleepstudy.spec --out results"
    )]
    Run(commands::run::RunArgs),
    /// Simulate a cohort with the seed study's design (CSV or Parquet, one row per patient
    /// and assessment occasion), or print the simulator's parameters.
    #[command(
        after_help = "Examples:\n  mixspec simulate --patients 155 --seed 4 --out data/mbt_cohort.csv\n  mixspec simulate --patients 20000 --seed 1 --latent --out cohort_20k.csv\n  mixspec simulate --print-params > my.toml"
    )]
    Simulate(commands::simulate::SimulateArgs),
    /// Describe a data file as mixspec reads it: each column's type, missing values, and
    /// levels (the first is the reference) or range.
    #[command(
        after_help = "Examples:\n  mixspec describe-data data/mbt_cohort.csv\n  mixspec describe-data data/mbt_cohort.sav"
    )]
    DescribeData(commands::describe_data::DescribeDataArgs),
    /// Parameter recovery: simulate many cohorts, fit the generating model to each and
    /// report bias, its Monte Carlo SE and the coverage of 95% intervals.
    #[command(
        after_help = "Examples:\n  mixspec recovery --cohorts 200 --patients 155 --seed 1\n  mixspec recovery --cohorts 1000 --patients 155 --seed 1 --scale goals --response items"
    )]
    Recovery(commands::recovery::RecoveryArgs),
    /// Start an Apache Ballista scheduler or executor for `fit --engine ballista://HOST:PORT`
    /// (built with the `ballista` feature; docs/scale.md).
    #[command(
        subcommand,
        after_help = "Examples:\n  mixspec cluster scheduler --bind 127.0.0.1:50050\n  mixspec cluster executor --scheduler 127.0.0.1:50050 --bind 127.0.0.1:50051\n  mixspec fit --data /data/cohort --formula \"y ~ t + (t | id)\" --engine ballista://127.0.0.1:50050"
    )]
    Cluster(commands::cluster::ClusterCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(args) => commands::fit::run(&args),
        Command::Plugins(command) => commands::plugins::run(&command),
        Command::Score(args) => commands::score::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::DescribeData(args) => commands::describe_data::run(&args),
        Command::Recovery(args) => commands::recovery::run(&args),
        Command::Cluster(command) => commands::cluster::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            errln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
