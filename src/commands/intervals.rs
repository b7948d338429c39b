//! The interval options of `mixspec fit`: profile likelihood and parametric bootstrap.

use indicatif::{ProgressBar, ProgressStyle};
use mixspec_engine::design::GlmResponse;
use mixspec_engine::fit::glmm::{self, GlmmFit, GlmmOptions};
use mixspec_engine::inference::{
    bootstrap_intervals, profile_intervals, Bootstrap, Interval, REPLICATES,
};
use mixspec_engine::{Design, LmmFit};
use std::io::IsTerminal;

#[derive(clap::Args)]
pub struct IntervalArgs {
    /// Add 95% profile-likelihood intervals (lme4's `confint(method = "profile")`).
    #[arg(long)]
    profile: bool,
    /// Add 95% parametric-bootstrap percentile intervals from N simulated refits (2 to
    /// 100000, as a spec's `bootstrap N`).
    #[arg(long, value_name = "N", value_parser = super::count(REPLICATES))]
    bootstrap: Option<usize>,
    /// Seed of the bootstrap's random numbers: the same seed gives the same intervals.
    #[arg(long, default_value_t = 1, requires = "bootstrap")]
    seed: u64,
}

impl IntervalArgs {
    /// Whether any interval (profile or bootstrap) was asked for (`--engine datafusion`
    /// refuses both).
    #[cfg_attr(not(feature = "datafusion"), allow(dead_code))]
    pub fn requested(&self) -> bool {
        self.profile || self.bootstrap.is_some()
    }
}

/// A bar counting `n` bootstrap refits on stderr, only where someone watches: hidden in
/// pipes, files and CI logs.
pub fn bootstrap_bar(n: usize) -> ProgressBar {
    progress_bar("bootstrap", n)
}

/// A bar counting `n` steps of what `label` names (bootstrap refits, power simulations), on
/// a terminal only.
pub fn progress_bar(label: &str, n: usize) -> ProgressBar {
    if n > 0 && std::io::stderr().is_terminal() {
        ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template(&format!("{label} {{bar:40}} {{pos}}/{{len}} {{eta}}"))
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    }
}

impl IntervalArgs {
    /// `--profile` of a generalized model: lme4's `confint(method = "profile")` of a glmer
    /// fit.
    pub fn glmm_profile(
        &self,
        design: &Design,
        response: &GlmResponse,
        options: &GlmmOptions,
        fit: &GlmmFit,
    ) -> miette::Result<Option<Vec<Interval>>> {
        if !self.profile {
            return Ok(None);
        }
        Ok(Some(glmm::profile_intervals(
            design, response, options, fit,
        )?))
    }

    /// `--bootstrap` of a generalized model: the refits of lme4's `bootMer`.
    pub fn glmm_bootstrap(
        &self,
        design: &Design,
        response: &GlmResponse,
        options: &GlmmOptions,
        fit: &GlmmFit,
    ) -> miette::Result<Option<Bootstrap>> {
        let Some(n) = self.bootstrap else {
            return Ok(None);
        };
        let bar = bootstrap_bar(n);
        let result =
            glmm::bootstrap_intervals(design, response, options, fit, n, self.seed, &|| {
                bar.inc(1)
            })?;
        bar.finish_and_clear();
        warn_failed(&result, n);
        Ok(Some(result))
    }
}

/// Refits that failed are left out of the intervals: say how many.
fn warn_failed(result: &Bootstrap, n: usize) {
    if result.failed > 0 {
        errln!(
            "warning: {} of {n} bootstrap refits failed and are left out",
            result.failed
        );
    }
}

/// The intervals asked for.
pub struct Intervals {
    pub profile: Option<Vec<Interval>>,
    pub bootstrap: Option<Bootstrap>,
}

impl IntervalArgs {
    pub fn compute(&self, design: &Design, fit: &LmmFit) -> miette::Result<Intervals> {
        let profile = if self.profile {
            Some(profile_intervals(design)?)
        } else {
            None
        };
        let bootstrap = match self.bootstrap {
            Some(n) => {
                let bar = bootstrap_bar(n);
                let result = bootstrap_intervals(design, fit, n, self.seed, &|| bar.inc(1))?;
                bar.finish_and_clear();
                warn_failed(&result, n);
                Some(result)
            }
            None => None,
        };
        Ok(Intervals { profile, bootstrap })
    }
}
