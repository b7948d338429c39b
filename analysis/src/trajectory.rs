//! Trajectory plots: the model's predicted mean course over time per group, with the observed
//! means at each time point.
//!
//! The prediction of a group at time `t` is the population-level prediction (fixed effects
//! only) averaged over the group's observations with their time set to `t`: for a model of
//! time and group alone that is the group's line; with further covariates it is the group's
//! mean prediction for its own covariate values.
//!
//! A generalized model's curves are on the response scale: the inverse link of each
//! observation's population-level linear predictor (random effects at zero), averaged over
//! the group's observations — a probability for a binomial model, an expected count for a
//! Poisson or negative binomial one. Its points are the observed proportions (successes over
//! trials) or mean counts. The curve is that of a subject with random effects at zero, not
//! the population-averaged proportion, which a non-linear link pulls towards the middle:
//! the figure's caption says so.
//!
//! A linear model's prediction is linear in β̂: it is x̄'β̂ for the mean x̄ of the rows of
//! `X` averaged, so its standard error is √(x̄' Var(β̂) x̄) and its 95% confidence band
//! x̄'β̂ ± 1.96 SE. A generalized model's averaged inverse link has the gradient
//! ā = mean of dμ/dη·x over the rows, so its delta-method standard error is √(ā' Var(β̂) ā);
//! its band is kept inside the response's range (probabilities in [0, 1], counts ≥ 0). The
//! normal quantile (not a t with some df) is the usual large-sample band of population-level
//! predictions of a mixed model (lme4's `predict` offers none; the delta-method band of
//! `ggeffects` and `emmeans`' asymptotic one are the same); the band is for the fixed part
//! only, conditional on the estimated variance components.

use mixspec_dsl::spec::{suggest, ModelDef, Plot, Span, Spec, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::family::{Family, Link};
use mixspec_engine::{Column, DataFrame, Design};

use crate::fit::{Fit, FittedModel};

/// Points of the predicted curves.
const GRID: usize = 25;
/// Most groups a plot distinguishes by colour.
const MAX_GROUPS: usize = 12;
/// The normal quantile of a two-sided 95% band.
pub const Z_95: f64 = 1.959_963_984_540_054;

#[derive(Debug, Clone)]
pub struct Trajectories {
    pub model: String,
    /// The panel's title: the model's label (`label`), else the response's.
    pub title: String,
    /// The response's label, else its name: the y axis (for a generalized model, its
    /// scale: `P(remission)`, `expected y`).
    pub response: String,
    /// For a generalized model, what the curves and points are (the figure's caption).
    pub scale_note: Option<String>,
    /// The time's label, else its name: the x axis.
    pub time: String,
    /// The `by` variables' labels, joined by ` × `: the legend's title.
    pub by: Option<String>,
    pub groups: Vec<TrajectoryGroup>,
}

#[derive(Debug, Clone)]
pub struct TrajectoryGroup {
    /// The group's values of the `by` variables (their level labels), joined by ` × `
    /// (`all` without any).
    pub label: String,
    /// The predicted mean over the range of the observed times, with its 95% band.
    pub predicted: Vec<PredictedMean>,
    pub observed: Vec<ObservedMean>,
}

#[derive(Debug, Clone, Copy)]
pub struct PredictedMean {
    pub time: f64,
    pub mean: f64,
    /// Standard error of the mean prediction (see the module's documentation).
    pub std_error: f64,
    /// The 95% band, mean ∓ [`Z_95`] SE (within the response's range).
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct ObservedMean {
    pub time: f64,
    /// The mean response; for a binomial model the proportion of successes among trials.
    pub mean: f64,
    pub n: usize,
}

/// The response-scale label and caption of a generalized model's figure.
fn generalized_scale(response: &str, family: Family, link: Link, cbind: bool) -> (String, String) {
    let (label, points) = match family {
        Family::Binomial if cbind => (
            format!("proportion {response}"),
            "observed proportions (successes over trials)",
        ),
        Family::Binomial => (format!("P({response})"), "observed proportions"),
        _ => (format!("expected {response}"), "observed mean counts"),
    };
    let note = format!(
        "{label}: lines are the inverse {} link of the population-level prediction (random effects at zero), averaged over each group's observations; points are {points} at each time",
        link.name()
    );
    (label, note)
}

/// Checks, before fitting, that the `by` variables exist and have few combinations of
/// values on the rows of the plot's models.
pub(crate) fn check(
    spec: &Spec,
    plot: &Plot,
    frame: &DataFrame,
    rows: &[usize],
    unchecked: &[String],
) -> Vec<SpecDiagnostic> {
    let mut problems = Vec::new();
    for by in &plot.by {
        if frame.column(&by.text).is_none() && !unchecked.contains(&by.text) {
            let names: Vec<&str> = frame.names().iter().map(String::as_str).collect();
            problems.push(
                SpecDiagnostic::new(
                    SpecErrorKind::UnknownVariable,
                    by.span,
                    format!("unknown variable `{}`", by.text),
                    "not a column of the data or a derived variable",
                )
                .help(suggest(&by.text, "variable", &names)),
            );
        }
    }
    if plot.by.iter().any(|b| frame.column(&b.text).is_none()) {
        return problems;
    }
    let by: Vec<&str> = plot.by.iter().map(|b| b.text.as_str()).collect();
    let (group_of, _) = groups(frame, &by, spec);
    let mut present: Vec<usize> = rows.iter().filter_map(|&r| group_of[r]).collect();
    present.sort_unstable();
    present.dedup();
    let n = present.len();
    if n > MAX_GROUPS {
        let first = plot.by[0].span;
        let span = plot
            .by
            .last()
            .map_or(first, |l| Span::new(first.start, l.span.end));
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::Plot,
                span,
                format!(
                    "`{}` has {n} values on the models' rows: too many groups to draw",
                    by.join(", ")
                ),
                "too many groups",
            )
            .help(format!(
                "draw by variables with at most {MAX_GROUPS} combinations of values, e.g. one derived with `if … then … else …`"
            )),
        );
    }
    problems
}

/// The group of each row (the combination of its values of the `by` variables; missing when
/// any is), and the groups' labels (`good × paranoid`), the first variable varying slowest.
fn groups(frame: &DataFrame, by: &[&str], spec: &Spec) -> (Vec<Option<usize>>, Vec<String>) {
    if by.is_empty() {
        return (vec![Some(0); frame.n_rows()], vec!["all".to_string()]);
    }
    let mut group_of = vec![Some(0); frame.n_rows()];
    let mut labels = vec![String::new()];
    for b in by {
        let Some(column) = frame.column(b) else {
            continue;
        };
        let f = column.to_factor();
        let k = f.levels.len();
        for (g, &c) in group_of.iter_mut().zip(&f.codes) {
            *g = g.filter(|_| (c as usize) < k).map(|g| g * k + c as usize);
        }
        labels = labels
            .iter()
            .flat_map(|l| {
                f.levels.iter().map(move |level| {
                    let level = spec.level_text(b, level);
                    if l.is_empty() {
                        level.to_string()
                    } else {
                        format!("{l} × {level}")
                    }
                })
            })
            .collect();
    }
    (group_of, labels)
}

/// The trajectories of one panel of `plot`: those of `model`.
pub(crate) fn compute(
    spec: &Spec,
    plot: &Plot,
    model: &ModelDef,
    fitted: &FittedModel,
    frame: &DataFrame,
) -> Result<Trajectories, SpecDiagnostic> {
    let time_name = spec
        .data
        .as_ref()
        .and_then(|d| d.time.as_ref())
        .map(|t| t.text.clone())
        .expect("trajectory plots are checked to have a time");
    let Some(Column::Numeric(time)) = frame.column(&time_name) else {
        unreachable!("the time column is checked to be numeric");
    };
    let by: Vec<&str> = plot.by.iter().map(|b| b.text.as_str()).collect();
    let (group_of, labels) = groups(frame, &by, spec);
    let rows = &fitted.rows;
    let cannot = |reason: String| {
        SpecDiagnostic::new(
            SpecErrorKind::Plot,
            plot.models
                .iter()
                .find(|m| m.text == model.name.text)
                .map_or(plot.kind.span, |m| m.span),
            format!(
                "cannot predict trajectories of `{}`: {reason}",
                model.name.text
            ),
            "this model",
        )
    };

    // Each row's response and its number of trials (1 but for a `cbind()` response).
    let (response, trials): (Vec<f64>, Vec<f64>) = match &fitted.fit {
        Fit::Linear(fit) => (
            fit.fitted
                .iter()
                .zip(&fit.residuals)
                .map(|(f, r)| f + r)
                .collect(),
            vec![1.0; rows.len()],
        ),
        Fit::Generalized(_) => {
            let (_, y) = Design::build_glmm(&model.spec, &frame.select(rows))
                .map_err(|e| cannot(e.to_string()))?;
            if y.counts.len() != rows.len() {
                return Err(cannot("its response changed since the fit".to_string()));
            }
            let trials = match &y.failures {
                Some(f) => y.counts.iter().zip(f).map(|(s, f)| s + f).collect(),
                None => vec![1.0; rows.len()],
            };
            (y.counts, trials)
        }
    };
    // Observed means (successes over trials) per group and time point.
    let mut observed: Vec<Vec<(f64, f64, f64, usize)>> = vec![Vec::new(); labels.len()];
    for (k, &r) in rows.iter().enumerate() {
        let Some(g) = group_of[r] else { continue };
        let t = time[r];
        match observed[g].iter_mut().find(|(ot, _, _, _)| *ot == t) {
            Some(cell) => {
                cell.1 += response[k];
                cell.2 += trials[k];
                cell.3 += 1;
            }
            None => observed[g].push((t, response[k], trials[k], 1)),
        }
    }

    let (lo, hi) = rows
        .iter()
        .map(|&r| time[r])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
            (lo.min(t), hi.max(t))
        });
    let grid: Vec<f64> = (0..GRID)
        .map(|i| lo + (hi - lo) * i as f64 / (GRID - 1) as f64)
        .collect();
    let predicted = predict(
        model,
        fitted,
        frame,
        &time_name,
        &grid,
        &group_of,
        labels.len(),
    )
    .map_err(cannot)?;

    let groups = labels
        .into_iter()
        .zip(predicted)
        .zip(observed)
        .filter(|(_, obs)| !obs.is_empty())
        .map(|((label, predicted), mut obs)| {
            obs.sort_by(|a, b| a.0.total_cmp(&b.0));
            TrajectoryGroup {
                label,
                predicted,
                observed: obs
                    .into_iter()
                    .map(|(time, sum, trials, n)| ObservedMean {
                        time,
                        mean: sum / trials,
                        n,
                    })
                    .collect(),
            }
        })
        .collect();
    let label = spec.text(&model.spec.response.label).to_string();
    let (response, scale_note) = match fitted.fit.generalized() {
        Some(g) => {
            let (label, note) =
                generalized_scale(&label, g.family, g.link, model.spec.failures.is_some());
            (label, Some(note))
        }
        None => (label, None),
    };
    Ok(Trajectories {
        model: model.name.text.clone(),
        title: spec
            .label(&model.name.text)
            .map_or_else(|| response.clone(), |l| l.text.text.clone()),
        response,
        scale_note,
        time: spec.text(&time_name).to_string(),
        by: (!by.is_empty()).then(|| {
            by.iter()
                .map(|b| spec.text(b))
                .collect::<Vec<_>>()
                .join(" × ")
        }),
        groups,
    })
}

/// Per group, the mean population-level prediction at each grid time (of a generalized
/// model, the mean of its inverse link), with its band.
///
/// The model's rows, followed by one copy of them per grid time with the time replaced, go
/// through the model's own design: the original rows keep the coding and the rank of the
/// fit, so the copies' rows of `X` line up with `β̂`.
fn predict(
    model: &ModelDef,
    fitted: &FittedModel,
    frame: &DataFrame,
    time: &str,
    grid: &[f64],
    group_of: &[Option<usize>],
    n_groups: usize,
) -> Result<Vec<Vec<PredictedMean>>, String> {
    let rows = &fitted.rows;
    let m = rows.len();
    // Only the model's columns, so the copies stay small.
    let mut names = model.spec.columns();
    if !names.iter().any(|n| n == time) {
        names.push(time.to_string());
    }
    let slim = DataFrame::new(
        frame.source(),
        names
            .iter()
            .filter_map(|n| frame.column(n).map(|c| (n.clone(), c.clone())))
            .collect(),
    );
    let stacked_rows: Vec<usize> = (0..=grid.len())
        .flat_map(|_| rows.iter().copied())
        .collect();
    let mut stacked = slim.select(&stacked_rows);
    let Some(Column::Numeric(times)) = stacked.column(time) else {
        return Err(format!("`{time}` is not numeric"));
    };
    let mut times = times.clone();
    for (g, t) in grid.iter().enumerate() {
        times[(g + 1) * m..(g + 2) * m].fill(*t);
    }
    stacked.insert(time, Column::Numeric(times));
    let link = fitted.fit.generalized().map(|g| g.link);
    let design = match link {
        Some(_) => Design::build_glmm_with_basis(&model.spec, &stacked, m).map(|(d, _)| d),
        None => Design::build_with_basis(&model.spec, &stacked, m),
    }
    .map_err(|e| e.to_string())?;
    if design.x_names != fitted.fit.fixed_names() || design.n() != stacked_rows.len() {
        return Err("the model's design changes with time".to_string());
    }
    let n = design.n();
    let beta = fitted.fit.beta();
    let vcov = match &fitted.fit {
        Fit::Linear(f) => &f.vcov,
        Fit::Generalized(f) => &f.vcov,
    };
    let p = beta.len();
    // Per group and grid time: the sums of the prediction and of its gradient in β, and the
    // count. The gradient of x'β is x; of μ(x'β), dμ/dη·x.
    let mut sums = vec![vec![vec![0.0; p + 1]; grid.len()]; n_groups];
    let mut counts = vec![vec![0usize; grid.len()]; n_groups];
    for i in m..n {
        let (g, k) = ((i - m) / m, (i - m) % m);
        let Some(group) = group_of[rows[k]] else {
            continue;
        };
        let eta = design.offset[i]
            + beta
                .iter()
                .enumerate()
                .map(|(j, b)| b * design.x[j * n + i])
                .sum::<f64>();
        let (value, slope) = link.map_or((eta, 1.0), |l| l.mean(eta));
        let sum = &mut sums[group][g];
        for (j, s) in sum[..p].iter_mut().enumerate() {
            *s += slope * design.x[j * n + i];
        }
        sum[p] += value;
        counts[group][g] += 1;
    }
    // Probabilities stay in [0, 1], counts at or above 0.
    let range = match fitted.fit.generalized().map(|g| g.family) {
        None => (f64::NEG_INFINITY, f64::INFINITY),
        Some(Family::Binomial) => (0.0, 1.0),
        Some(_) => (0.0, f64::INFINITY),
    };
    Ok(sums
        .into_iter()
        .zip(counts)
        .map(|(s, c)| {
            s.into_iter()
                .zip(c)
                .zip(grid)
                .map(|((sum, c), &time)| {
                    let mean_of: Vec<f64> = sum.iter().map(|v| v / c as f64).collect();
                    let (a, mean) = (&mean_of[..p], mean_of[p]);
                    let variance: f64 = (0..p)
                        .map(|i| a[i] * (0..p).map(|j| vcov[i * p + j] * a[j]).sum::<f64>())
                        .sum();
                    let std_error = variance.max(0.0).sqrt();
                    PredictedMean {
                        time,
                        mean,
                        std_error,
                        lower: (mean - Z_95 * std_error).clamp(range.0, range.1),
                        upper: (mean + Z_95 * std_error).clamp(range.0, range.1),
                    }
                })
                .collect()
        })
        .collect())
}
