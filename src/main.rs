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
    Fit(commands::fit::FitArgs),
    /// List the instrument and predictor plugins, or run their test vectors.
    #[command(subcommand)]
    Plugins(commands::plugins::PluginsCommand),
    /// Score a questionnaire: write the data plus the instrument's scale columns.
    Score(commands::score::ScoreArgs),
    /// Check a .spec file without fitting: syntax, names, variables and filters against the
    /// data; every problem is reported.
    Check(commands::check::CheckArgs),
    /// Check a .spec file, fit its models and write its reports and plots (Markdown, CSV,
    /// JSON, SVG).
    Run(commands::run::RunArgs),
    /// Simulate a cohort with the seed study's design (CSV or Parquet, one row per patient
    /// and assessment occasion), or print the simulator's parameters.
    Simulate(commands::simulate::SimulateArgs),
    /// Describe a data file as mixspec reads it: each column's type, missing values, and
    /// levels (the first is the reference) or range.
    DescribeData(commands::describe_data::DescribeDataArgs),
    /// Parameter recovery: simulate many cohorts, fit the generating model to each and
    /// report bias, its Monte Carlo SE and the coverage of 95% intervals.
    Recovery(commands::recovery::RecoveryArgs),
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            errln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
