//! `mixspec simulate`: a cohort with the seed study's design, written as one CSV or Parquet
//! file.

use crate::report;
use miette::{IntoDiagnostic, WrapErr};
use mixspec_simulate::{simulate, Params, Summary, DEFAULT_TOML};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// The cohort sizes `simulate` and `recovery` accept: a million patients is a CSV file of
/// gigabytes; past it a typing slip would run until memory runs out.
pub const PATIENTS: RangeInclusive<usize> = 1..=1_000_000;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Number of patients (1 to 1000000).
    #[arg(long, required_unless_present = "print_params", value_parser = super::count(PATIENTS))]
    patients: Option<usize>,
    /// Seed of the random numbers: the same seed and parameters give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the cohort, long format: one row per patient and occasion. CSV, or
    /// Parquet when the name ends in .parquet.
    #[arg(long, required_unless_present = "print_params")]
    out: Option<PathBuf>,
    /// Parameter file (TOML, every key present; start from --print-params).
    #[arg(long)]
    params: Option<PathBuf>,
    /// Print the default parameters, with their documentation, and exit.
    #[arg(long)]
    print_params: bool,
    /// Add the latent WAI subscale values the items were drawn around (TASKS_latent,
    /// GOALS_latent, BONDS_latent).
    #[arg(long)]
    latent: bool,
    /// Print the cohort's design figures beside the article's (Markdown tables).
    #[arg(long)]
    summary: bool,
}

/// Reads `--params`, or the defaults.
pub fn load_params(path: Option<&Path>) -> miette::Result<Params> {
    match path {
        None => Ok(Params::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read parameter file {}", path.display()))?;
            Ok(Params::from_toml(&text, &path.display().to_string())?)
        }
    }
}

/// Whether `--out` names a Parquet file.
fn is_parquet(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

pub fn run(args: &SimulateArgs) -> miette::Result<()> {
    if args.print_params {
        out!("{DEFAULT_TOML}");
        return Ok(());
    }
    let (Some(patients), Some(out)) = (args.patients, &args.out) else {
        unreachable!("clap requires --patients and --out without --print-params");
    };
    let params = load_params(args.params.as_deref())?;
    let start = std::time::Instant::now();
    let cohort = simulate(&params, patients, args.seed)?;
    let contents = if is_parquet(out) {
        mixspec_io::to_parquet(&cohort.to_data_frame(args.latent))?
    } else {
        let mut contents = Vec::new();
        cohort
            .write_csv(args.latent, &mut contents)
            .into_diagnostic()
            .wrap_err("cannot lay out the cohort as CSV")?;
        contents
    };
    let rows: usize = cohort.patients.iter().map(|p| p.occasions.len()).sum();
    report::write_file(out, &contents)?;
    errln!(
        "simulated {patients} patients ({rows} rows, seed {}) into {} in {:.2} s",
        args.seed,
        out.display(),
        start.elapsed().as_secs_f64()
    );
    if args.summary {
        let threshold = params.cohort.gaf_threshold;
        let discharge = params.schedule.discharge_month;
        out!("{}", Summary::of(&cohort, threshold, discharge));
    }
    Ok(())
}
