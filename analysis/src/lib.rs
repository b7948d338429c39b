//! Running a `.spec` analysis: the checks that need the data, data preparation, fits,
//! likelihood-ratio comparisons, explained variance and trajectories.
//!
//! [`check`] does everything but fit: a file that passes it has no mistake left that the
//! spec's author could have been told about before the fits. [`Checked::run`] fits. Both
//! report problems as one [`SpecError`] listing all of them against the spec's text; what is
//! returned is data for the caller to render and write.

mod compare;
mod describe;
mod explained;
mod fit;
mod labels;
mod models;
mod power;
mod prepare;
mod samples;
mod table;
mod trajectory;

use std::path::Path;

use mixspec_dsl::spec::{parse_spec, Diagnostics, ModelDef, PowerSourceDef, Spec, SpecError};
use mixspec_engine::{DataFrame, LmmFit};

pub use compare::{parameters, Basis, Comparison, ComparisonRow, LikelihoodRatio};
pub use describe::{DescribedVariable, Descriptives, Summary, TTest};
pub use explained::{ExplainedRow, ExplainedVariance, ReferenceFit};
use fit::Purpose;
pub use fit::{Fit, FittedModel, KenwardRogerTests, Tests};
pub use power::{clopper_pearson, PowerCurve, PowerRow};
pub use prepare::instrument::Plugins;
pub use table::{
    Coefficient, ModelTable, RatioCoefficient, RatioLine, RatioTable, TableEffect, TableLine,
    TestMethod,
};
pub use trajectory::{ObservedMean, PredictedMean, Trajectories, TrajectoryGroup, Z_95};

/// A spec that passed every check, with its data prepared: ready to fit.
pub struct Checked {
    pub spec: Spec,
    /// The data after the instruments, derived variables and declarations.
    pub data: DataFrame,
    /// Per model, the rows of `data` its `where` keeps.
    rows: Vec<Vec<usize>>,
    /// One per `describe`: they need the data, not the fits.
    descriptives: Vec<Descriptives>,
    name: String,
    text: String,
}

/// Parses and checks a spec file against its data without fitting anything.
///
/// `name` names the file in messages; `base` is the folder its relative paths start from.
pub fn check(name: &str, text: &str, base: &Path, plugins: &Plugins) -> Result<Checked, SpecError> {
    let (spec, mut d) = parse_spec(text);
    let mut data = None;
    let mut rows = Vec::new();
    let mut descriptives = Vec::new();
    if let Some(source) = &spec.data {
        if let Some(mut frame) = prepare::load(source, base, &mut d) {
            let unchecked = prepare::prepare(&spec, base, &mut frame, plugins, &mut d);
            let model_rows = models::rows(&spec, &frame, &unchecked, &mut d);
            samples::check(&spec, &model_rows, &mut d);
            rows = model_rows.into_iter().map(|m| m.kept).collect();
            for plot in &spec.plots {
                let mut plotted: Vec<usize> = plot
                    .models
                    .iter()
                    .filter_map(|p| spec.models.iter().position(|m| m.name.text == p.text))
                    .flat_map(|i| rows[i].iter().copied())
                    .collect();
                plotted.sort_unstable();
                plotted.dedup();
                d.extend(trajectory::check(&spec, plot, &frame, &plotted, &unchecked));
            }
            d.extend(labels::check(&spec, &frame, &unchecked));
            let units = prepare::units(&spec, &frame, &unchecked);
            for x in &spec.describes {
                match describe::compute(&spec, x, &frame, &units, &unchecked) {
                    Ok(table) => descriptives.push(table),
                    Err(problems) => d.extend(problems),
                }
            }
            data = Some(frame);
        }
    }
    // A spec of a priori power designs alone reads no data.
    let data = data.unwrap_or_default();
    power::check(&spec, &data, &rows, &mut d);
    d.finish(name, text)?;
    Ok(Checked {
        data,
        spec,
        rows,
        descriptives,
        name: name.to_string(),
        text: text.to_string(),
    })
}

/// The rows of `frame` where `condition` holds (`mixspec score --when`), evaluated as a
/// spec's `when` is; `name` names the condition in messages. No row passing is an error.
pub fn rows_where(frame: &DataFrame, name: &str, condition: &str) -> Result<Vec<usize>, SpecError> {
    let (parsed, mut d) = mixspec_dsl::spec::parse_condition(condition);
    let mut rows = Vec::new();
    if let Some(e) = parsed {
        let context = prepare::eval::Context::new(frame, None, None, &[]);
        match context.condition(&e, "--when") {
            Ok(kept) if kept.is_empty() => d.push(prepare::no_rows(
                e.span,
                frame,
                "no row of the data passes the condition",
            )),
            Ok(kept) => rows = kept,
            Err(problems) => d.extend(problems),
        }
    }
    d.finish(name, condition)?;
    Ok(rows)
}

/// Everything a spec's statements compute, each list in the order of its statements.
#[derive(Debug, Clone)]
pub struct Results {
    /// One per model.
    pub fits: Vec<FittedModel>,
    /// One per `compare`.
    pub comparisons: Vec<Comparison>,
    /// One list per `explained`, one entry per model before `vs`.
    pub explained: Vec<Vec<ExplainedVariance>>,
    /// One per `plot`, one per panel (model) of it.
    pub trajectories: Vec<Vec<Trajectories>>,
    /// One per `table` of linear models.
    pub tables: Vec<ModelTable>,
    /// One per `table` of generalized models.
    pub ratio_tables: Vec<RatioTable>,
    /// One per `describe`.
    pub descriptives: Vec<Descriptives>,
    /// One per `power` statement.
    pub powers: Vec<PowerCurve>,
}

impl Checked {
    /// The `where` condition of a model as written.
    pub fn filter_text(&self, model: &ModelDef) -> Option<&str> {
        model
            .filter
            .as_ref()
            .map(|f| &self.text[f.span.start..f.span.end])
    }

    /// The bootstrap refits a run makes, over all models.
    pub fn bootstrap_replicates(&self) -> usize {
        self.spec
            .models
            .iter()
            .filter_map(|m| m.inference.bootstrap)
            .map(|b| b.replicates)
            .sum()
    }

    /// The simulated cohorts a run fits for its power statements, over all of them.
    pub fn power_simulations(&self) -> usize {
        self.spec
            .powers
            .iter()
            .map(|p| p.simulations * p.subjects.len())
            .sum()
    }

    /// The spec's file name, as given to [`check`].
    pub fn name(&self) -> &str {
        &self.name
    }

    fn model_index(&self, name: &str) -> usize {
        self.spec
            .models
            .iter()
            .position(|m| m.name.text == name)
            .expect("checked specs refer to defined models")
    }

    /// The reference models of `explained` and `table` refitted to the rows of each model set
    /// beside them that has other rows than the reference's own fit: (reference, rows,
    /// refit), the refit `None` after reporting why it failed.
    fn reference_refits(
        &self,
        fits: &[Option<FittedModel>],
        d: &mut Diagnostics,
    ) -> Vec<(usize, Vec<usize>, Option<FittedModel>)> {
        let mut refits: Vec<(usize, Vec<usize>, Option<FittedModel>)> = Vec::new();
        for pairing in samples::pairings(&self.spec) {
            let r = self.model_index(&pairing.reference.text);
            let (Some(model), Some(own)) = (&fits[self.model_index(&pairing.model.text)], &fits[r])
            else {
                continue;
            };
            if own.rows == model.rows
                || refits
                    .iter()
                    .any(|(k, rows, _)| *k == r && *rows == model.rows)
            {
                continue;
            }
            let reference = &self.spec.models[r];
            // Within the reference's own `where`: a refit outside it would be another model.
            let kept: Vec<usize> = model
                .rows
                .iter()
                .copied()
                .filter(|row| self.rows[r].binary_search(row).is_ok())
                .collect();
            // `check` rules out rows the reference lacks where the data shows them; the fit
            // has the last word.
            let lacks = |n: usize| {
                samples::reference_lacks_rows(&pairing, model.rows.len(), model.rows.len() - n)
            };
            let refit = if kept.len() < model.rows.len() {
                d.push(lacks(kept.len()));
                None
            } else {
                fit::fit_model(reference, &self.data, &kept, reference.reml, Purpose::Refit)
                    .map_err(|p| d.push(p))
                    .ok()
                    .filter(|refit| {
                        let complete = refit.rows.len() == model.rows.len();
                        if !complete {
                            d.push(lacks(refit.rows.len()));
                        }
                        complete
                    })
            };
            refits.push((r, model.rows.clone(), refit));
        }
        refits
    }

    /// Fits every model, then computes the comparisons, explained variances and trajectories.
    pub fn run(&self) -> Result<Results, SpecError> {
        self.run_with_progress(&|| {}, &|| {})
    }

    /// [`Checked::run`], calling `progress` once per finished bootstrap refit (of
    /// [`Checked::bootstrap_replicates`] in all) and `simulated` once per power simulation
    /// (of [`Checked::power_simulations`]), from any thread.
    pub fn run_with_progress(
        &self,
        progress: &(dyn Fn() + Sync),
        simulated: &(dyn Fn() + Sync),
    ) -> Result<Results, SpecError> {
        let mut d = Diagnostics::default();
        let fits: Vec<Option<FittedModel>> = self
            .spec
            .models
            .iter()
            .zip(&self.rows)
            .map(|(m, rows)| {
                fit::fit_model(m, &self.data, rows, m.reml, Purpose::Results { progress })
                    .map_err(|p| d.push(p))
                    .ok()
            })
            .collect();
        let mut ml_refits: Vec<Option<FittedModel>> = vec![None; fits.len()];
        let mut comparisons = Vec::new();
        for statement in &self.spec.comparisons {
            let index: Vec<usize> = statement
                .models
                .iter()
                .map(|n| self.model_index(&n.text))
                .collect();
            let Some(pairs) = index
                .iter()
                .map(|&i| fits[i].as_ref().map(|f| (&self.spec.models[i], f)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            if let Err(p) = compare::same_observations(statement, &pairs) {
                d.push(p);
                continue;
            }
            if let Some(at) = statement.boundary {
                if let Err(p) = compare::boundary_applies(statement, &pairs, at) {
                    d.push(p);
                    continue;
                }
            }
            let basis = compare::basis(&pairs);
            let refitted = |i: usize| basis == Basis::RefittedMl && self.spec.models[i].reml;
            for &i in index.iter().filter(|&&i| refitted(i)) {
                if ml_refits[i].is_none() {
                    let model = &self.spec.models[i];
                    ml_refits[i] =
                        fit::fit_model(model, &self.data, &self.rows[i], false, Purpose::Refit)
                            .map_err(|p| d.push(p))
                            .ok();
                }
            }
            let used: Option<Vec<&Fit>> = index
                .iter()
                .map(|&i| {
                    let f = if refitted(i) { &ml_refits[i] } else { &fits[i] };
                    f.as_ref().map(|f| &f.fit)
                })
                .collect();
            let names: Vec<&str> = statement.models.iter().map(|n| n.text.as_str()).collect();
            if let Some(used) = used {
                comparisons.push(compare::table(
                    &names,
                    &used,
                    basis,
                    statement.boundary.is_some(),
                ));
            }
        }
        let refits = self.reference_refits(&fits, &mut d);
        // The reference's fit on the rows of `model`'s: its own when they are the same rows,
        // else its refit to them; `None` when either could not be fitted.
        // (Linear models only: `explained` and the references of tables are.)
        let reference_on = |r: usize, model: &FittedModel| -> Option<(&LmmFit, bool)> {
            let own = fits[r].as_ref()?;
            if own.rows == model.rows {
                return Some((own.fit.linear()?, false));
            }
            refits
                .iter()
                .find(|(k, rows, _)| *k == r && *rows == model.rows)?
                .2
                .as_ref()
                .and_then(|f| Some((f.fit.linear()?, true)))
        };
        let explained = self
            .spec
            .explained
            .iter()
            .map(|statement| {
                let r = self.model_index(&statement.reference.text);
                statement
                    .models
                    .iter()
                    .filter_map(|n| {
                        let fit = fits[self.model_index(&n.text)].as_ref()?;
                        let (reference, refitted) = reference_on(r, fit)?;
                        Some(explained::explained(
                            &n.text,
                            fit.fit.linear()?,
                            &statement.reference.text,
                            reference,
                            refitted,
                        ))
                    })
                    .collect()
            })
            .collect();
        let trajectories = self
            .spec
            .plots
            .iter()
            .filter_map(|plot| {
                plot.models
                    .iter()
                    .map(|name| {
                        let i = self.model_index(&name.text);
                        let fitted = fits[i].as_ref()?;
                        trajectory::compute(
                            &self.spec,
                            plot,
                            &self.spec.models[i],
                            fitted,
                            &self.data,
                        )
                        .map_err(|p| d.push(p))
                        .ok()
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .collect();
        let time = self.spec.data.as_ref().and_then(|s| s.time.as_ref());
        let generalized = |t: &&mixspec_dsl::spec::Table| {
            t.rows.iter().any(|r| {
                self.spec.models[self.model_index(&r.model.text)]
                    .family
                    .is_some()
            })
        };
        let ratio_tables = self
            .spec
            .tables
            .iter()
            .filter(generalized)
            .filter_map(|t| {
                let rows: Option<Vec<_>> = t
                    .rows
                    .iter()
                    .map(|row| {
                        let i = self.model_index(&row.model.text);
                        Some((&self.spec.models[i], fits[i].as_ref()?.fit.generalized()?))
                    })
                    .collect();
                Some(table::ratios(t, &rows?))
            })
            .collect();
        let tables = self
            .spec
            .tables
            .iter()
            .filter(|t| !generalized(t))
            .filter_map(|t| {
                let rows: Option<Vec<table::FittedRow<'_>>> = t
                    .rows
                    .iter()
                    .zip(samples::table_references(t))
                    .map(|(row, reference)| {
                        let i = self.model_index(&row.model.text);
                        let fit = fits[i].as_ref()?;
                        let on_these_rows = match reference {
                            Some(r) => Some(reference_on(self.model_index(&r.text), fit)?),
                            None => None,
                        };
                        Some((&self.spec.models[i], fit, on_these_rows))
                    })
                    .collect();
                let time = &time.expect("tables are checked to have a time").text;
                Some(table::compute(&self.spec, t, time, &rows?))
            })
            .collect();
        let powers = self
            .spec
            .powers
            .iter()
            .filter_map(|def| {
                let fitted = match &def.source {
                    PowerSourceDef::Model(name) => {
                        let i = self.model_index(&name.text);
                        Some((&self.spec.models[i], fits[i].as_ref()?))
                    }
                    PowerSourceDef::Design(_) => None,
                };
                power::run(def, &self.spec, &self.data, fitted, simulated)
                    .map_err(|p| d.push(p))
                    .ok()
            })
            .collect();
        d.finish(&self.name, &self.text)?;
        Ok(Results {
            powers,
            fits: fits
                .into_iter()
                .map(|f| f.expect("no fit failed"))
                .collect(),
            comparisons,
            explained,
            trajectories,
            tables,
            ratio_tables,
            descriptives: self.descriptives.clone(),
        })
    }
}
