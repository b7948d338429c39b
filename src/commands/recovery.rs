//! `mixspec recovery`: a parameter-recovery study of the simulator and the engine.

use crate::report::format::significant;
use indicatif::{ProgressBar, ProgressStyle};
use mixspec_simulate::recovery::{self, Recovery, Response, Scale, Study};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RecoveryArgs {
    /// Number of simulated cohorts, each fitted once.
    #[arg(long, default_value_t = 200)]
    cohorts: usize,
    /// Patients per cohort.
    #[arg(long, default_value_t = 155)]
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
    if args.cohorts < 2 || args.patients == 0 {
        return Err(miette::miette!(
            "a recovery study needs at least 2 cohorts of at least 1 patient"
        ));
    }
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
    print!("{}", table(&result, &study));
    eprintln!(
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
        "Model `{}`, REML; {} cohorts of {} patients (seed {}); {} fits failed or did not \
         converge and are left out, {} were singular.\n\n",
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
