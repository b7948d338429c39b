//! Parameter recovery: simulate many cohorts, fit each with the engine, and compare the
//! estimates with the values that generated them (bias, its Monte Carlo SE, and the
//! coverage of 95% intervals).
//!
//! The fitted model is the generating model of one WAI subscale: the terms of the
//! subscale's `Trajectory` whose generating value is not zero, plus intercept and `months`,
//! with `(months | patient)`. The response is either the latent subscale value the items
//! were drawn around (the model the simulator generates exactly), or the subscale scored
//! from the items with the bundled WAI-S/WAI-SR instruments, whose rounding and ceiling at
//! 7 make it a different model: its bias is the discretisation's, not the engine's.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use mixspec_engine::inference::{profile_intervals, t_upper_tail, Parameter};
use mixspec_engine::{fit, Column, DataFrame, Design, FitOptions, LmmFit};
use mixspec_plugins::Catalog;

use crate::error::RecoveryError;
use crate::params::{Params, Trajectory};
use crate::simulate;

/// The WAI subscale whose model is recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Tasks,
    Goals,
    Bonds,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tasks => "TASKS",
            Scale::Goals => "GOALS",
            Scale::Bonds => "BONDS",
        }
    }

    fn trajectory(self, params: &Params) -> &Trajectory {
        match self {
            Scale::Tasks => &params.wai.tasks,
            Scale::Goals => &params.wai.goals,
            Scale::Bonds => &params.wai.bonds,
        }
    }
}

/// What the model is fitted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The latent subscale value (`TASKS_latent`): the generating model exactly.
    Latent,
    /// The subscale scored from the items (`TASKS`), as an analyst sees it.
    Items,
}

#[derive(Debug, Clone)]
pub struct Study {
    pub cohorts: usize,
    pub patients: usize,
    pub seed: u64,
    pub scale: Scale,
    pub response: Response,
    /// Also compute profile-likelihood intervals of the variance components (slow).
    pub profile: bool,
}

/// One parameter's recovery.
#[derive(Debug, Clone)]
pub struct Row {
    /// The coefficient name (R's), or `sd((Intercept))`, `sd(months)`, `cor`, `sigma`, and the
    /// same components as variances and covariance (`var(…)`, `cov(…)`, `sigma^2`).
    pub parameter: String,
    pub generating: f64,
    pub mean: f64,
    pub bias: f64,
    /// Monte Carlo standard error of the bias: SD of the estimates / √cohorts.
    pub mcse: f64,
    /// Share of 95% intervals containing the generating value, where intervals exist.
    pub coverage: Option<f64>,
    /// Cohorts with an estimate (and an interval, for the coverage).
    pub n: usize,
}

#[derive(Debug, Clone)]
pub struct Recovery {
    pub formula: String,
    pub rows: Vec<Row>,
    /// Cohorts whose fit failed, did not converge, or lacks a coefficient (a small cohort
    /// without a patient of some kind), left out.
    pub failed: usize,
    /// Cohorts whose fit was singular (kept).
    pub singular: usize,
}

/// One fitted cohort: per parameter, the estimate and its interval (if any).
type Estimates = Vec<(f64, Option<(f64, f64)>)>;

/// The fixed-effect terms (formula text, R's coefficient name, generating value).
fn fixed_terms(t: &Trajectory) -> Vec<(&'static str, f64)> {
    let mut terms = vec![("(Intercept)", t.intercept)];
    let optional = [
        ("mood_disorder", t.mood_intercept),
        ("months", t.slope),
        ("months:poor", t.poor_slope),
        ("months:age_c", t.age_slope),
        ("months:noncompleted", t.noncompleted_slope),
        ("months:poor:paranoid_pd", t.poor_paranoid_slope),
    ];
    terms.extend(
        optional
            .into_iter()
            .filter(|&(name, value)| name == "months" || value != 0.0),
    );
    terms
}

/// The model formula for a scale and response.
pub fn formula(params: &Params, scale: Scale, response: Response) -> String {
    let y = match response {
        Response::Latent => format!("{}_latent", scale.name()),
        Response::Items => scale.name().to_string(),
    };
    let terms: Vec<&str> = fixed_terms(scale.trajectory(params))
        .into_iter()
        .skip(1)
        .map(|(name, _)| name)
        .collect();
    format!("{y} ~ {} + (months | patient)", terms.join(" + "))
}

/// Generating values of every reported parameter, fixed effects first.
fn generating(params: &Params, study: &Study) -> Vec<(String, f64)> {
    let t = study.scale.trajectory(params);
    let mut out: Vec<(String, f64)> = fixed_terms(t)
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    out.push(("sd((Intercept))".into(), t.sd_intercept));
    out.push(("sd(months)".into(), t.sd_slope));
    out.push(("cor((Intercept),months)".into(), t.correlation));
    out.push(("sigma".into(), t.sd_residual));
    // REML estimates (co)variances; their standard deviations and correlation are nonlinear
    // transforms, biased in small samples by Jensen's inequality alone. Both scales are
    // reported so that a bias of the method can be told from one of the transform.
    out.push(("var((Intercept))".into(), t.sd_intercept.powi(2)));
    out.push(("var(months)".into(), t.sd_slope.powi(2)));
    out.push((
        "cov((Intercept),months)".into(),
        t.correlation * t.sd_intercept * t.sd_slope,
    ));
    out.push(("sigma^2".into(), t.sd_residual.powi(2)));
    out
}

/// qt(0.975, df), by bisection on the engine's t distribution.
fn t_975(df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 200.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if t_upper_tail(mid, df) > 0.025 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The analyst's variables: the outcome group from the last observed GAF, centred age and
/// non-completion; with `Items`, the subscale scored by the form each row was given on.
fn prepare(
    params: &Params,
    cohort: &crate::Cohort,
    study: &Study,
) -> Result<DataFrame, RecoveryError> {
    let mut data = cohort.to_data_frame(true);
    let mut poor = Vec::new();
    let mut age_c = Vec::new();
    let mut noncompleted = Vec::new();
    for p in &cohort.patients {
        let last = p.occasions.iter().rev().find_map(|o| o.gaf);
        let last = f64::from(last.expect("every patient has a baseline GAF"));
        let is_poor = f64::from(u8::from(last < params.cohort.gaf_threshold));
        let centred = p.characteristics.age - params.cohort.age_center;
        let not_completed = f64::from(u8::from(!p.completed));
        for _ in &p.occasions {
            poor.push(is_poor);
            age_c.push(centred);
            noncompleted.push(not_completed);
        }
    }
    data.insert("poor", Column::Numeric(poor));
    data.insert("age_c", Column::Numeric(age_c));
    data.insert("noncompleted", Column::Numeric(noncompleted));
    if study.response == Response::Items {
        let catalog = Catalog::new(&[])?;
        let plugin_params = mixspec_plugins::Params::default();
        let mut scored: Vec<Vec<f64>> = Vec::new();
        for id in ["wai-s", "wai-sr"] {
            let columns = catalog.instrument(id, &plugin_params)?.score(&data)?;
            let (_, column) = columns
                .into_iter()
                .find(|(name, _)| name == study.scale.name())
                .expect("both WAI forms score every subscale");
            let Column::Numeric(values) = column else {
                unreachable!("a mean scale is numeric")
            };
            scored.push(values);
        }
        let version = match data.column("version") {
            Some(Column::Factor(f)) => f.clone(),
            _ => unreachable!("the simulator writes the version column as text"),
        };
        let values = (0..data.n_rows())
            .map(|row| match version.codes.get(row) {
                _ if version.is_missing(row) => f64::NAN,
                Some(&code) if version.levels[code as usize] == "S" => scored[0][row],
                _ => scored[1][row],
            })
            .collect();
        data.insert(study.scale.name(), Column::Numeric(values));
    }
    Ok(data)
}

/// Fits one cohort; `None` when the fit fails or does not converge.
fn fit_cohort(
    params: &Params,
    study: &Study,
    spec: &mixspec_engine::ModelSpec,
    index: usize,
) -> Result<Option<(Estimates, bool)>, RecoveryError> {
    let mut stream = ChaCha8Rng::seed_from_u64(study.seed);
    stream.set_stream(index as u64);
    let cohort = simulate(params, study.patients, stream.next_u64())?;
    let data = prepare(params, &cohort, study)?;
    let Ok(design) = Design::build(spec, &data) else {
        return Ok(None);
    };
    let options = FitOptions {
        reml: true,
        ..FitOptions::default()
    };
    let Ok(fitted) = fit(design.clone(), &options) else {
        return Ok(None);
    };
    if !fitted.convergence.converged {
        return Ok(None);
    }
    let profile = if study.profile {
        profile_intervals(&design).ok()
    } else {
        None
    };
    Ok(estimates(&fitted, profile.as_deref(), params, study)
        .map(|estimates| (estimates, fitted.singular)))
}

/// The estimates of every parameter [`generating`] lists, in its order; `None` when the fit
/// lacks one: a small cohort without a patient of some kind (no poor outcome, no paranoid
/// PD) leaves its coefficient aliased and dropped, and the cohort counts as failed.
fn estimates(
    fitted: &LmmFit,
    profile: Option<&[mixspec_engine::inference::Interval]>,
    params: &Params,
    study: &Study,
) -> Option<Estimates> {
    let se = fitted.std_errors();
    let tests = fitted.t_tests.as_ref();
    let mut out: Estimates = fixed_terms(study.scale.trajectory(params))
        .into_iter()
        .map(|(name, _)| {
            let j = fitted.fixed_names.iter().position(|n| n == name)?;
            let interval = tests.map(|t| {
                let half = t_975(t[j].df) * se[j];
                (fitted.beta[j] - half, fitted.beta[j] + half)
            });
            Some((fitted.beta[j], interval))
        })
        .collect::<Option<_>>()?;
    let varcorr = fitted.varcorr();
    let profiled = |wanted: &dyn Fn(&Parameter) -> bool| {
        profile.and_then(|p| {
            p.iter()
                .find(|i| wanted(&i.parameter))
                .map(|i| (i.lower, i.upper))
        })
    };
    let mut variances = Vec::with_capacity(varcorr.len());
    for row in &varcorr {
        let interval = match (row.var1.as_deref(), row.var2.as_deref()) {
            (Some(v), None) => profiled(
                &|p| matches!(p, Parameter::Sd { group, var1: Some(x) } if group == &row.group && x == v),
            ),
            (Some(_), Some(_)) => profiled(&|p| matches!(p, Parameter::Cor { .. })),
            (None, _) => profiled(&|p| matches!(p, Parameter::Sd { var1: None, .. })),
        };
        out.push((row.sdcor, interval));
        // A profile interval of a standard deviation squares into one of its variance; a
        // correlation's does not give one of the covariance.
        let variance_interval = match row.var2 {
            None => interval.map(|(lo, hi)| (lo * lo, hi * hi)),
            Some(_) => None,
        };
        variances.push((row.vcov, variance_interval));
    }
    out.extend(variances);
    // Four standard deviations and correlation, four variances and covariance, after the
    // fixed effects: the layout of `generating`.
    (out.len() == fixed_terms(study.scale.trajectory(params)).len() + 8).then_some(out)
}

/// Runs the study; `progress` is called after each cohort.
pub fn run(
    params: &Params,
    study: &Study,
    progress: &(dyn Fn() + Sync),
) -> Result<Recovery, RecoveryError> {
    let formula = formula(params, study.scale, study.response);
    let spec = mixspec_dsl::parse_formula(&formula).map_err(|e| RecoveryError::Formula {
        formula: formula.clone(),
        message: e.to_string(),
    })?;
    let fits = (0..study.cohorts)
        .into_par_iter()
        .map(|r| {
            let result = fit_cohort(params, study, &spec, r);
            progress();
            result
        })
        .collect::<Result<Vec<_>, _>>()?;
    let failed = fits.iter().filter(|f| f.is_none()).count();
    let fits: Vec<(Estimates, bool)> = fits.into_iter().flatten().collect();
    let singular = fits.iter().filter(|(_, s)| *s).count();
    let rows = generating(params, study)
        .into_iter()
        .enumerate()
        .map(|(k, (parameter, truth))| {
            let values: Vec<f64> = fits.iter().map(|(e, _)| e[k].0).collect();
            let intervals: Vec<(f64, f64)> = fits.iter().filter_map(|(e, _)| e[k].1).collect();
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let coverage = (!intervals.is_empty()).then(|| {
                let hits = intervals
                    .iter()
                    .filter(|(lo, hi)| *lo <= truth && truth <= *hi)
                    .count();
                hits as f64 / intervals.len() as f64
            });
            Row {
                parameter,
                generating: truth,
                mean,
                bias: mean - truth,
                mcse: sd / n.sqrt(),
                coverage,
                n: values.len(),
            }
        })
        .collect();
    Ok(Recovery {
        formula,
        rows,
        failed,
        singular,
    })
}
