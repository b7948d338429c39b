//! `mixspec recovery`: a parameter-recovery study of the simulator and the engine.

use crate::report::format::significant;
use indicatif::{ProgressBar, ProgressStyle};
use mixspec_simulate::recovery::{self, Recovery, Response, Scale, Study};
use std::io::IsTerminal;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use super::simulate::PATIENTS;

/// The numbers of cohorts a study accepts: a bias needs at least two to have a Monte Carlo
/// error; 100,000 gives coverage to ±0.0007, and past it a typing slip would run for weeks.
const COHORTS: RangeInclusive<usize> = 2..=100_000;

#[derive(clap::Args)]
pub struct RecoveryArgs {
    /// Number of simulated cohorts, each fitted once (2 to 100000).
    #[arg(long, default_value_t = 200, value_parser = super::count(COHORTS))]
    cohorts: usize,
    /// Patients per cohort (1 to 1000000).
    #[arg(long, default_value_t = 155, value_parser = super::count(PATIENTS))]
    patients: usize,
    /// Seed of the study: cohort r is simulated with a seed drawn from stream r.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The WAI subscale whose generating model is fitted.
    #[arg(long, value_enum, default_value_t = ScaleArg::Tasks)]
    scale: ScaleArg,
    /// Fit the latent subscale (the generating model) or the subscale scored from the
    /// items with the bundled WAI-S/WAI-SR instruments.
    #[arg(long, value_enum, default_value_t = ResponseArg::Latent)]
    response: ResponseArg,
    /// Profile-likelihood intervals for the variance components too (slow).
    #[arg(long)]
    profile: bool,
    /// Parameter file of the simulator (see `mixspec simulate --print-params`).
    #[arg(long)]
    params: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScaleArg {
    Tasks,
    Goals,
    Bonds,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ResponseArg {
    Latent,
    Items,
}

pub fn run(args: &RecoveryArgs) -> miette::Result<()> {
    let params = super::simulate::load_params(args.params.as_deref())?;
    let study = Study {
        cohorts: args.cohorts,
        patients: args.patients,
        seed: args.seed,
        scale: match args.scale {
            ScaleArg::Tasks => Scale::Tasks,
            ScaleArg::Goals => Scale::Goals,
            ScaleArg::Bonds => Scale::Bonds,
        },
        response: match args.response {
            ResponseArg::Latent => Response::Latent,
            ResponseArg::Items => Response::Items,
        },
        profile: args.profile,
    };
    // A progress bar only where someone watches: not in pipes, files or CI logs.
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(args.cohorts as u64).with_style(
            ProgressStyle::with_template("cohorts {bar:40} {pos}/{len} {eta}")
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let start = std::time::Instant::now();
    let result = recovery::run(&params, &study, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let fitted = args.cohorts - result.failed;
    if fitted < 2 {
        return Err(miette::miette!(
            help = "use more patients per cohort: a small cohort may lack a kind of patient \
                    (no poor outcome, no paranoid PD), and then the coefficient of that kind \
                    cannot be estimated",
            "only {fitted} of {} cohorts could be fitted (the others failed, did not converge \
             or lacked a coefficient): a bias and its Monte Carlo SE need at least 2",
            args.cohorts
        ));
    }
    out!("{}", table(&result, &study));
    errln!(
        "{} cohorts of {} patients in {:.1} s",
        args.cohorts,
        args.patients,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The study as a Markdown table, with what it is about above it.
fn table(result: &Recovery, study: &Study) -> String {
    let mut out = format!(
        "Model `{}`, REML; {} cohorts of {} patients (seed {}); {} fits failed, did not \
         converge or lacked a coefficient (no patient of its kind in the cohort) and are left \
         out, {} were singular.\n\n",
        result.formula, study.cohorts, study.patients, study.seed, result.failed, result.singular
    );
    out.push_str(
        "| parameter | generating | mean estimate | bias | MCSE | bias/MCSE | 95% coverage |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for row in &result.rows {
        let coverage = match row.coverage {
            Some(c) => {
                let se = (c * (1.0 - c) / row.n as f64).sqrt();
                format!("{c:.3} ± {se:.3}")
            }
            None => "—".into(),
        };
        // Significant digits, not decimals: the variance of a slope is of order 1e-3.
        let bias = significant(row.bias, 3);
        let sign = if row.bias > 0.0 { "+" } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {sign}{bias} | {} | {:+.2} | {} |\n",
            row.parameter,
            row.generating,
            significant(row.mean, 5),
            significant(row.mcse, 3),
            row.bias / row.mcse,
            coverage
        ));
    }
    out
}
