//! Power by simulation (`power` statements; docs/power.md): per number of subjects, many
//! cohorts simulated from a design or from a fitted model, each fitted by the engine and its
//! coefficient tested; the power is the share of tests that reject, with its exact
//! (Clopper–Pearson) 95% interval.
//!
//! Simulation `r` of size `k` draws from its own ChaCha stream under the seed, so a curve
//! depends on the seed alone, not on the number of threads. A design whose subjects make
//! every visit is built once per size and only its response refilled; dropout, missed visits
//! and resampled subjects change the rows, so those cohorts are built one by one.

mod cohort;
mod interval;
mod simulate;

use mixspec_dsl::spec::{
    closest, Diagnostics, ModelDef, PowerDef, PowerDesign, PowerSourceDef, PowerStatistic, Spec,
    SpecDiagnostic, SpecErrorKind,
};
use mixspec_engine::design::{format_bytes, MAX_DENSE_BYTES};
use mixspec_engine::family::Family;
use mixspec_engine::fit::glmm::GlmmOptions;
use mixspec_engine::fit::{Problem, ResidualModel};
use mixspec_engine::spec::ResidualSpec;
use mixspec_engine::{DataFrame, Design, ModelError, ModelSpec};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::fit::{Fit, FittedModel};
use cohort::{allocate, DesignCohort, Subjects};
pub use interval::clopper_pearson;
use simulate::{RandomTerms, Target};

/// One number of subjects of a power curve.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerRow {
    pub subjects: usize,
    /// Share of the fitted simulations whose test rejected at the power statement's alpha.
    pub power: f64,
    /// Clopper–Pearson 95% interval of the power.
    pub lower: f64,
    pub upper: f64,
    pub simulations: usize,
    /// Simulations whose fit failed or did not converge, left out of the power.
    pub failed: usize,
    /// Mean estimate of the tested coefficient over the fitted simulations (NaN for a term
    /// of several coefficients).
    pub mean_estimate: f64,
}

/// A power statement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerCurve {
    pub name: String,
    /// The tested coefficient or term.
    pub test: String,
    /// `satterthwaite` or `lrt`.
    pub statistic: &'static str,
    pub method: &'static str,
    pub alpha: f64,
    pub seed: u64,
    /// What the cohorts are simulated from: `design` or the model's name.
    pub source: String,
    pub rows: Vec<PowerRow>,
}

/// The model matrix's coefficients and random effects of a power statement's model, with
/// what the checks found wrong.
fn target(def: &PowerDef, spec_terms: &[String], built: &Design) -> Result<Target, SpecDiagnostic> {
    let test = &def.test;
    let x_names = &built.x_names;
    if x_names.contains(&test.text) {
        return Ok(Target::Coefficient(test.text.clone()));
    }
    if let Some(i) = spec_terms.iter().position(|t| *t == test.text) {
        if def.statistic == PowerStatistic::LikelihoodRatio {
            return Ok(Target::Term(i + 1));
        }
        let columns: Vec<&str> = (0..built.p())
            .filter(|&j| built.x_origins[j].term == i + 1)
            .map(|j| x_names[j].as_str())
            .collect();
        return Err(SpecDiagnostic::new(
            SpecErrorKind::Power,
            test.span,
            format!("`{}` is a term, not a coefficient: its t-test is of one coefficient", test.text),
            "a whole term",
        )
        .help(format!(
            "test one of its coefficients ({}), or the whole term by its likelihood ratio: `statistic lrt`",
            columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let names: Vec<&str> = x_names.iter().map(String::as_str).collect();
    let help = match closest(&test.text, names.iter().copied()) {
        Some(near) => format!(
            "did you mean `{near}`? The coefficients are {}",
            quoted(&names)
        ),
        None => format!("the coefficients are {}", quoted(&names)),
    };
    Err(SpecDiagnostic::new(
        SpecErrorKind::Power,
        test.span,
        format!("the model has no coefficient `{}`", test.text),
        "not a coefficient of the model",
    )
    .help(help))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a design needs beyond the checks without data: its coefficients and random effects
/// named as the model matrix names them, and every group given subjects at every size.
fn check_design(def: &PowerDef, design: &PowerDesign) -> Result<Design, Vec<SpecDiagnostic>> {
    let mut problems = Vec::new();
    let largest = *def.subjects.iter().max().expect("at least one size");
    let smallest = *def.subjects.iter().min().expect("at least one size");
    let shares: Vec<f64> = design.arms.iter().map(|a| a.share).collect();
    if let Some(empty) = allocate(&shares, smallest).iter().position(|&n| n == 0) {
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::Power,
                def.name.span,
                format!(
                    "with {smallest} subjects, group `{}` gets none",
                    design.arms[empty].level.clone().unwrap_or_default()
                ),
                "too few subjects for the groups",
            )
            .help("simulate more subjects, so that every group has some"),
        );
        return Err(problems);
    }
    let visits = design.arms.iter().map(|a| a.times.len()).max().unwrap_or(1);
    // A column per design variable (subject, time, group, response, covariates) and at
    // least one per coefficient and random effect named.
    let columns = 4 + design.covariates.len() + design.fixed.len() + design.random.len();
    check_cohort_size(def, largest as f64 * visits as f64, columns)?;
    let cohort = DesignCohort::new(design, largest);
    let built = build(&design.spec, &cohort.frame, design.family.is_some()).map_err(|e| {
        vec![SpecDiagnostic::new(
            SpecErrorKind::Power,
            design.formula.span,
            format!("the design's model cannot be built: {e}"),
            "this model",
        )]
    })?;
    let names: Vec<&str> = built.x_names.iter().map(String::as_str).collect();
    for (name, _) in &design.fixed {
        if !names.contains(&name.text.as_str()) {
            let help = match closest(&name.text, names.iter().copied()) {
                Some(near) => format!(
                    "did you mean `{near}`? The model's coefficients are {}",
                    quoted(&names)
                ),
                None => format!("the model's coefficients are {}", quoted(&names)),
            };
            problems.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Power,
                    name.span,
                    format!("the model has no coefficient `{}`", name.text),
                    "not a coefficient of the model",
                )
                .help(help),
            );
        }
    }
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !design.fixed.iter().any(|(f, _)| f.text == *n))
        .collect();
    if !missing.is_empty() {
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::Power,
                design.span,
                format!("the design gives no value to {}", quoted(&missing)),
                "in `fixed`",
            )
            .help("give every coefficient of the model its value on the `fixed` line (0 for none)"),
        );
    }
    let effects: Vec<&str> = built
        .random
        .iter()
        .flat_map(|b| b.names.iter().map(String::as_str))
        .collect();
    for name in &design.random {
        if !effects.contains(&name.text.as_str()) {
            problems.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Power,
                    name.span,
                    format!("the model has no random effect `{}`", name.text),
                    "not a random effect of the model",
                )
                .help(format!(
                    "the random effects of `{}` are {}",
                    design.subject.text,
                    quoted(&effects)
                )),
            );
        }
    }
    let unset: Vec<&str> = effects
        .iter()
        .copied()
        .filter(|e| !design.random.iter().any(|r| r.text == *e))
        .collect();
    if !unset.is_empty() {
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::Power,
                design.subject.span,
                format!(
                    "the design gives no standard deviation to {}",
                    quoted(&unset)
                ),
                "on this line",
            )
            .help("give every random effect of the model its standard deviation after `sd`"),
        );
    }
    // Effects of different terms (`(1 | id) + (0 + time | id)`) are independent in the model.
    let q = design.random.len();
    let position = |name: &str| design.random.iter().position(|r| r.text == name);
    if problems.is_empty() {
        for (a, block) in built.random.iter().enumerate() {
            for other in &built.random[a + 1..] {
                for x in &block.names {
                    for y in &other.names {
                        let (Some(i), Some(j)) = (position(x), position(y)) else {
                            continue;
                        };
                        if design.covariance[i * q + j] != 0.0 {
                            problems.push(SpecDiagnostic::new(SpecErrorKind::Power, design.subject.span, format!("`{x}` and `{y}` are in separate terms of the formula, so uncorrelated, but the design correlates them"), "a correlation the model cannot have")
                                .help("set their correlation to 0, or put them in one term: `(time | id)`"));
                        }
                    }
                }
            }
        }
    }
    if let Err(p) = target(def, &term_labels(&design.spec), &built) {
        problems.push(p);
    }
    if problems.is_empty() {
        Ok(built)
    } else {
        Err(problems)
    }
}

fn term_labels(spec: &mixspec_engine::ModelSpec) -> Vec<String> {
    spec.fixed.terms.iter().map(|t| t.label()).collect()
}

/// The column identifying the subjects a power statement resamples from `model`: the data
/// statement's `subject`, or the model's only grouping variable.
fn subject_column(spec: &Spec, model: &ModelDef) -> Option<String> {
    if let Some(s) = spec.data.as_ref().and_then(|d| d.subject.as_ref()) {
        return Some(s.text.clone());
    }
    match &model.spec.random[..] {
        [only] if only.grouping.len() == 1 => Some(only.grouping[0].clone()),
        _ => None,
    }
}

/// Refuses a power statement whose largest cohort, of about `rows` rows, would need more
/// memory than a model may ([`MAX_DENSE_BYTES`]) for `columns` columns of data and model
/// matrix alone: it is built once by the checks and once per simulation by the run, and a
/// typo in a number of subjects (up to ten million are allowed) must not exhaust the memory.
fn check_cohort_size(def: &PowerDef, rows: f64, columns: usize) -> Result<(), Vec<SpecDiagnostic>> {
    let bytes = rows * columns as f64 * 8.0;
    if bytes <= MAX_DENSE_BYTES as f64 {
        return Ok(());
    }
    let largest = def.subjects.iter().max().copied().unwrap_or(0);
    Err(vec![SpecDiagnostic::new(
        SpecErrorKind::Power,
        def.name.span,
        format!(
            "the largest cohort ({largest} subjects, about {rows:.0} rows) would need at least {} \
             of memory for its data and model matrix, more than the {} mixspec allows",
            format_bytes(bytes as u128),
            format_bytes(MAX_DENSE_BYTES)
        ),
        "too many subjects",
    )
    .help(
        "simulate fewer subjects: a power curve is settled long before this size",
    )])
}

/// The checks of every power statement that need the model matrix or the data; `rows` are
/// each model's rows of `frame` (as [`crate::models::rows`] found them).
pub(crate) fn check(spec: &Spec, frame: &DataFrame, rows: &[Vec<usize>], d: &mut Diagnostics) {
    for def in &spec.powers {
        match &def.source {
            PowerSourceDef::Design(design) => {
                if let Err(problems) = check_design(def, design) {
                    d.extend(problems);
                }
            }
            PowerSourceDef::Model(name) => {
                let Some(i) = spec.models.iter().position(|m| m.name.text == name.text) else {
                    continue;
                };
                let model = &spec.models[i];
                let Some(model_rows) = rows.get(i) else {
                    continue;
                };
                let Some(subject) = subject_column(spec, model) else {
                    d.push(
                        SpecDiagnostic::new(SpecErrorKind::MissingSetting, name.span, format!("power from `{}` resamples subjects, but the data statement names no subject column", model.name.text), "needs `subject`")
                            .help("name the subject column in the data statement: `data \"cohort.csv\" { subject patient }`"),
                    );
                    continue;
                };
                if frame.column(&subject).is_none() {
                    continue;
                }
                // Resampled subjects are relabelled, so a residual structure must group by
                // the subject: a group of its own would join copies of one subject.
                if let Some(group) = model.spec.residual.as_ref().and_then(|r| match r {
                    ResidualSpec::VarIdent { .. } => None,
                    ResidualSpec::Ar1 { group }
                    | ResidualSpec::Car1 { group, .. }
                    | ResidualSpec::CompoundSymmetry { group } => Some(group),
                }) {
                    if *group != subject {
                        d.push(
                            SpecDiagnostic::new(SpecErrorKind::Power, name.span, format!("power from `{}` resamples subjects (`{subject}`), but its residual structure groups by `{group}`", model.name.text), "residuals not grouped by subject")
                                .help(format!("power from a model with a residual correlation needs it within subjects: `residual \"ar1({subject})\"`")),
                        );
                        continue;
                    }
                }
                // A model that cannot be built is reported by its own checks and fit.
                let data = frame.select(model_rows);
                let Ok(built) = Design::build(&model.spec, &data) else {
                    continue;
                };
                // Resampled subjects bring their rows: as many per subject as the model's.
                let subjects = data
                    .column(&subject)
                    .map_or(1, |c| c.to_factor().levels.len())
                    .max(1);
                let largest = def.subjects.iter().max().copied().unwrap_or(0) as f64;
                let rows = largest * model_rows.len() as f64 / subjects as f64;
                let columns = frame.names().len() + built.p() + built.random.len();
                if let Err(problems) = check_cohort_size(def, rows, columns) {
                    d.extend(problems);
                    continue;
                }
                match target(def, &term_labels(&model.spec), &built) {
                    Ok(Target::Term(_)) if def.value.is_some() => d.push(
                        SpecDiagnostic::new(SpecErrorKind::Power, def.value.expect("just matched").1, format!("`{}` is a term of several coefficients: it cannot be set to one value", def.test.text), "one value for several coefficients")
                            .help("set one coefficient: test it by name"),
                    ),
                    Ok(_) => {}
                    Err(p) => d.push(p),
                }
            }
        }
    }
}

/// What a power statement's cohorts are made from, ready to simulate.
enum Source<'a> {
    Design {
        design: &'a PowerDesign,
        beta: Vec<f64>,
    },
    Model {
        subjects: Subjects,
        /// `Xβ` per row of the subjects' data, with the tested coefficient at its value.
        mean: Vec<f64>,
        /// A fitted varident structure's SD ratio per row of the subjects' data.
        ratio: Option<Vec<f64>>,
    },
}

/// How each cohort's response is drawn and refitted: a linear model's residual SD and
/// structure, or a generalized model's family.
enum Model<'a> {
    Linear { sigma: f64, phi: &'a [f64] },
    Generalized(GlmmOptions),
}

/// The model's design on `data`: as `glmer` builds it for a generalized model.
fn build(spec: &ModelSpec, data: &DataFrame, generalized: bool) -> Result<Design, ModelError> {
    if generalized {
        Design::build_glmm(spec, data).map(|(d, _)| d)
    } else {
        Design::build(spec, data)
    }
}

/// `Xβ` plus the offsets (`offset()` terms: exposure) per row of `design`.
fn linear_predictor(design: &Design, beta: &[f64]) -> Vec<f64> {
    let rows = design.n();
    (0..rows)
        .map(|i| {
            design.offset[i]
                + beta
                    .iter()
                    .enumerate()
                    .map(|(j, b)| b * design.x[j * rows + i])
                    .sum::<f64>()
        })
        .collect()
}

/// The simulations of one power statement, `progress` called once per simulation.
pub(crate) fn run(
    def: &PowerDef,
    spec: &Spec,
    frame: &DataFrame,
    fitted: Option<(&ModelDef, &FittedModel)>,
    progress: &(dyn Fn() + Sync),
) -> Result<PowerCurve, SpecDiagnostic> {
    let failed = |reason: String| {
        SpecDiagnostic::new(
            SpecErrorKind::Power,
            def.name.span,
            format!("power `{}` cannot be simulated: {reason}", def.name.text),
            "this power statement",
        )
    };
    let (source, model_spec, terms, model, reml, source_name, template) = match (
        &def.source,
        fitted,
    ) {
        (PowerSourceDef::Design(design), _) => {
            let largest = *def.subjects.iter().max().expect("at least one size");
            let generalized = design.family.is_some();
            let built = build(
                &design.spec,
                &DesignCohort::new(design, largest).frame,
                generalized,
            )
            .map_err(|e| failed(e.to_string()))?;
            let beta = built
                .x_names
                .iter()
                .map(|n| {
                    design
                        .fixed
                        .iter()
                        .find(|(f, _)| f.text == *n)
                        .map_or(0.0, |(_, v)| *v)
                })
                .collect();
            let effects: Vec<String> = design.random.iter().map(|r| r.text.clone()).collect();
            let terms = RandomTerms::from_covariance(&built, &effects, &design.covariance)
                .ok_or_else(|| {
                    failed("a random-effect covariance is not positive definite".into())
                })?;
            let model = match design.family {
                Some((family, link)) => Model::Generalized(GlmmOptions {
                    family,
                    link,
                    nagq: 1,
                    max_evaluations: simulate::MAX_EVALUATIONS,
                }),
                None => Model::Linear {
                    sigma: design.residual_sd,
                    phi: &design.residual_phi,
                },
            };
            (
                Source::Design { design, beta },
                &design.spec,
                terms,
                model,
                def.reml.unwrap_or(!generalized),
                "design".to_string(),
                built,
            )
        }
        (PowerSourceDef::Model(_), Some((model, fitted))) => {
            let subject = subject_column(spec, model).expect("checked");
            let data = frame.select(&fitted.rows);
            let generalized = fitted.fit.generalized();
            let built = build(&model.spec, &data, generalized.is_some())
                .map_err(|e| failed(e.to_string()))?;
            let mut beta = fitted.fit.beta().to_vec();
            if let Some((value, _)) = def.value {
                let j = built
                    .x_names
                    .iter()
                    .position(|n| *n == def.test.text)
                    .expect("checked to be a coefficient");
                beta[j] = value;
            }
            let mut mean = vec![f64::NAN; data.n_rows()];
            for (i, m) in linear_predictor(&built, &beta).into_iter().enumerate() {
                mean[built.rows[i]] = m;
            }
            let random = match &fitted.fit {
                Fit::Linear(f) => &f.random,
                Fit::Generalized(f) => &f.random,
            };
            let mut terms = Vec::new();
            for r in random {
                let q = r.names.len();
                let l = mixspec_dsl::spec::cholesky(&r.covariance, q)
                    .or_else(|| (q == 1 && r.covariance[0] == 0.0).then(|| vec![0.0]))
                    .ok_or_else(|| failed(format!("the fitted covariance of `{}` is singular; simulate from a model whose random effects are estimated away from the boundary", r.group)))?;
                terms.push((r.group.clone(), r.names.clone(), l));
            }
            let phi: &[f64] = fitted
                .fit
                .linear()
                .and_then(|f| f.residual_structure.as_ref())
                .map_or(&[], |r| r.values.as_slice());
            // A varident structure's levels may be missing from a resampled cohort, so its
            // SD ratios travel with the rows rather than as φ.
            let ratio = match (&model.spec.residual, &built.residual) {
                (Some(ResidualSpec::VarIdent { .. }), Some(columns)) => {
                    let structure =
                        ResidualModel::new(columns, &built).map_err(|e| failed(e.to_string()))?;
                    let mut per_row = vec![1.0; built.n()];
                    structure.colour(phi, &mut per_row).ok_or_else(|| {
                        failed("the fitted variance ratios are not positive".into())
                    })?;
                    let mut ratio = vec![f64::NAN; data.n_rows()];
                    for (i, r) in per_row.into_iter().enumerate() {
                        ratio[built.rows[i]] = r;
                    }
                    Some(ratio)
                }
                _ => None,
            };
            let subjects = Subjects::new(data, &subject);
            (
                Source::Model {
                    subjects,
                    mean,
                    ratio,
                },
                &model.spec,
                RandomTerms(terms),
                match (&fitted.fit, generalized) {
                    (Fit::Linear(fit), _) => Model::Linear {
                        sigma: fit.sigma,
                        phi,
                    },
                    // Cohorts are drawn with the fitted negative binomial θ, and refitted as
                    // the model was (its quadrature too).
                    (_, Some(g)) => Model::Generalized(GlmmOptions {
                        family: match (g.family, g.nb_theta) {
                            (Family::NegativeBinomial { .. }, Some(theta)) => {
                                Family::NegativeBinomial { theta }
                            }
                            (family, _) => family,
                        },
                        link: g.link,
                        nagq: g.nagq,
                        max_evaluations: simulate::MAX_EVALUATIONS,
                    }),
                    (Fit::Generalized(_), None) => unreachable!("a generalized fit"),
                },
                def.reml.unwrap_or(model.reml),
                model.name.text.clone(),
                built,
            )
        }
        (PowerSourceDef::Model(_), None) => unreachable!("power from a model runs after its fit"),
    };
    // Likelihood-ratio tests compare ML fits; Kenward–Roger's needs REML.
    let reml = match def.statistic {
        PowerStatistic::LikelihoodRatio => false,
        PowerStatistic::KenwardRoger => true,
        _ => reml,
    };
    let target = target(def, &term_labels(model_spec), &template)?;
    // One cohort's response drawn, its model refitted and tested.
    let simulate_linear = |built: Design,
                           mean: Vec<f64>,
                           ratio: Option<Vec<f64>>,
                           sigma: f64,
                           phi: &[f64],
                           rng: &mut ChaCha8Rng| {
        let mut problem = Problem::new(built, reml).ok()?;
        let residuals = match (&ratio, problem.residual_model()) {
            (Some(r), _) => simulate::Residuals::Scaled(r),
            (None, Some(structure)) => simulate::Residuals::Structured(structure, phi),
            (None, None) => simulate::Residuals::Independent,
        };
        let y = simulate::response(&problem.design, &terms, sigma, residuals, mean, rng);
        problem.set_response(y);
        simulate::test(&mut problem, &target, def.statistic, def.alpha)
    };
    let simulate_cohort = |built: Design,
                           mean: Vec<f64>,
                           ratio: Option<Vec<f64>>,
                           rng: &mut ChaCha8Rng| match &model {
        Model::Linear { sigma, phi } => simulate_linear(built, mean, ratio, *sigma, phi, rng),
        Model::Generalized(options) => {
            let counts = simulate::counts(&built, &terms, options.family, options.link, mean, rng);
            simulate::test_glmm(built, counts, options, &target, def.statistic, def.alpha)
        }
    };
    let mut rows = Vec::new();
    for (k, &n) in def.subjects.iter().enumerate() {
        let stream = |r: usize| {
            let mut rng = ChaCha8Rng::seed_from_u64(def.seed);
            rng.set_stream(((k as u64) << 32) | r as u64);
            rng
        };
        let outcomes: Vec<simulate::Outcome> = match &source {
            Source::Design { design, beta } => {
                let cohort = DesignCohort::new(design, n);
                let generalized = design.family.is_some();
                if DesignCohort::fixed(design) && !generalized {
                    let built = Design::build(model_spec, &cohort.frame)
                        .map_err(|e| failed(e.to_string()))?;
                    Problem::new(built.clone(), reml).map_err(|e| failed(e.to_string()))?;
                    let mean = linear_predictor(&built, beta);
                    let Model::Linear { sigma, phi } = &model else {
                        unreachable!("a linear design")
                    };
                    (0..def.simulations)
                        .into_par_iter()
                        .map_init(
                            || {
                                Problem::new(built.clone(), reml)
                                    .expect("the same design built a problem")
                            },
                            |problem, r| {
                                let mut rng = stream(r);
                                let residuals = match problem.residual_model() {
                                    Some(structure) => {
                                        simulate::Residuals::Structured(structure, phi)
                                    }
                                    None => simulate::Residuals::Independent,
                                };
                                let y = simulate::response(
                                    &built,
                                    &terms,
                                    *sigma,
                                    residuals,
                                    mean.clone(),
                                    &mut rng,
                                );
                                problem.set_response(y);
                                let outcome =
                                    simulate::test(problem, &target, def.statistic, def.alpha);
                                progress();
                                outcome
                            },
                        )
                        .collect()
                } else {
                    let response = design.spec.response.label.clone();
                    let fixed = DesignCohort::fixed(design);
                    (0..def.simulations)
                        .into_par_iter()
                        .map(|r| {
                            let mut rng = stream(r);
                            let data = if fixed {
                                cohort.frame.clone()
                            } else {
                                cohort.draw(design, &response, &mut rng)
                            };
                            let outcome =
                                build(model_spec, &data, generalized)
                                    .ok()
                                    .and_then(|built| {
                                        let mean = linear_predictor(&built, beta);
                                        simulate_cohort(built, mean, None, &mut rng)
                                    });
                            progress();
                            outcome
                        })
                        .collect()
                }
            }
            Source::Model {
                subjects,
                mean,
                ratio,
            } => (0..def.simulations)
                .into_par_iter()
                .map(|r| {
                    let mut rng = stream(r);
                    let (data, source) = subjects.draw(n, &mut rng);
                    let generalized = matches!(model, Model::Generalized(_));
                    let outcome = build(model_spec, &data, generalized)
                        .ok()
                        .and_then(|built| {
                            let eta = built.rows.iter().map(|&i| mean[source[i]]).collect();
                            let ratio = ratio
                                .as_ref()
                                .map(|r| built.rows.iter().map(|&i| r[source[i]]).collect());
                            simulate_cohort(built, eta, ratio, &mut rng)
                        });
                    progress();
                    outcome
                })
                .collect(),
        };
        rows.push(summarise(n, &outcomes));
    }
    Ok(PowerCurve {
        name: def.name.text.clone(),
        test: def.test.text.clone(),
        statistic: match def.statistic {
            PowerStatistic::Satterthwaite => "satterthwaite",
            PowerStatistic::LikelihoodRatio => "lrt",
            PowerStatistic::Wald => "wald",
            PowerStatistic::KenwardRoger => "kenward-roger",
        },
        method: match (&model, reml) {
            (Model::Generalized(_), _) => "ML (Laplace)",
            (_, true) => "REML",
            (_, false) => "ML",
        },
        alpha: def.alpha,
        seed: def.seed,
        source: source_name,
        rows,
    })
}

/// The power at one size from its simulations' outcomes.
fn summarise(subjects: usize, outcomes: &[simulate::Outcome]) -> PowerRow {
    let fitted: Vec<(bool, f64)> = outcomes.iter().flatten().copied().collect();
    let rejected = fitted.iter().filter(|(r, _)| *r).count();
    let (lower, upper) = clopper_pearson(rejected, fitted.len());
    PowerRow {
        subjects,
        power: rejected as f64 / fitted.len() as f64,
        lower,
        upper,
        simulations: outcomes.len(),
        failed: outcomes.len() - fitted.len(),
        mean_estimate: fitted.iter().map(|(_, e)| e).sum::<f64>() / fitted.len() as f64,
    }
}
