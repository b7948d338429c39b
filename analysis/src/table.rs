//! Tables of models in the layout of the seed study's Tables III and IV: per reference model
//! its intercept and slope over time; per model below it the effect of what it adds on the
//! intercept (the predictor's main effect) and on the slope (its interaction with time), the
//! share of the reference's random intercept and slope variance it explains, and AIC.
//!
//! What a model adds is read off the fits, not the formulas: its fixed-effect coefficients
//! that the reference lacks. A coefficient whose name has the time as one of its `:` parts
//! is an effect on the slope, paired with the effect on the intercept of the same name
//! without the time (`months:outcomepoor` with `outcomepoor`). A factor with several
//! contrasts gives one line per contrast, so no predictor is hard-wired.
//!
//! A table of generalized models ([`RatioTable`]) shows, per model, every coefficient with
//! its 95% Wald interval, exponentiated where the link makes it a ratio: odds ratios for
//! a logit link, rate ratios for a log link.

use mixspec_dsl::spec::{ModelDef, Spec, Table, TableRow};
use mixspec_engine::family::Link;
use mixspec_engine::fit::glmm::GlmmFit;
use mixspec_engine::inference::DfRule;
use mixspec_engine::LmmFit;

use crate::explained::{explained, subjects, ReferenceFit};
use crate::fit::FittedModel;

/// The intercept's coefficient name, as R's.
const INTERCEPT: &str = "(Intercept)";

#[derive(Debug, Clone)]
pub struct ModelTable {
    pub name: String,
    /// The time variable: the slope's coefficient.
    pub time: String,
    /// The time as readers see it: its `label`, else its name.
    pub time_label: String,
    /// The time's unit (`label months "…" unit "month"`): "Slope per month".
    pub unit: Option<String>,
    /// `[ns show]`: estimates with p ≥ .05 printed rather than as `ns`.
    pub show_ns: bool,
    pub rows: Vec<TableLine>,
}

/// The t-tests a row's stars come from: the model's own (`df kenward-roger` or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestMethod {
    /// lmerTest's Satterthwaite df with the model's standard errors.
    Satterthwaite,
    /// pbkrtest's adjusted standard errors and Kenward–Roger df.
    KenwardRoger,
    /// N − p without random effects, as nlme's gls.
    Residual,
}

impl TestMethod {
    /// For a table's footnote.
    pub fn describe(self) -> &'static str {
        match self {
            TestMethod::Satterthwaite => "t-tests with Satterthwaite's df",
            TestMethod::KenwardRoger => "t-tests with Kenward–Roger's adjusted SE and df",
            TestMethod::Residual => "t-tests with the residual df N − p, as gls",
        }
    }
}

/// One model of the table.
#[derive(Debug, Clone)]
pub struct TableLine {
    pub label: String,
    pub model: String,
    /// The row's reference model; `None` on a reference row.
    pub reference: Option<String>,
    /// The reference's fit the explained variances are computed from: on this row's
    /// observations, refitted to them where the reference row has others. `None` on a
    /// reference row.
    pub reference_fit: Option<ReferenceFit>,
    /// A reference row: one effect, its intercept and slope. Another row: one per
    /// coefficient the model adds on the intercept (or, without one, on the slope).
    pub effects: Vec<TableEffect>,
    /// Percent of the reference's random intercept and slope variance explained.
    pub explained_intercept: Option<f64>,
    pub explained_slope: Option<f64>,
    pub aic: f64,
    pub n_obs: usize,
    /// Levels of the first grouping factor (the subjects).
    pub n_subjects: usize,
    /// Where the row's SEs, df and p come from.
    pub method: TestMethod,
    /// Why a row below a reference shows no effect: the model adds no coefficient to its
    /// reference (one it adds was dropped as aliased, or it adds none). The row is kept, with
    /// one empty effect, so that it cannot vanish from the table unnoticed.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TableEffect {
    /// The added coefficient on the intercept (or the slope's without the time); `None` on a
    /// reference row.
    pub term: Option<String>,
    /// The term for readers: a factor's contrast as `variable = level` (`cell = poor`).
    pub label: Option<String>,
    pub intercept: Option<Coefficient>,
    pub slope: Option<Coefficient>,
}

#[derive(Debug, Clone)]
pub struct Coefficient {
    pub name: String,
    pub estimate: f64,
    /// The model's SE, Kenward–Roger's adjusted one for a model with `df kenward-roger`.
    pub std_error: f64,
    /// The denominator df and two-sided p of the model's own t-test (its row's
    /// [`TestMethod`]).
    pub df: f64,
    pub p: f64,
}

/// How `fitted`'s coefficients are tested: by Kenward–Roger where its options ask for it.
fn method(fitted: &FittedModel) -> TestMethod {
    match (
        &fitted.inference.kenward_roger,
        fitted.fit.linear().and_then(|f| f.df_rule()),
    ) {
        (Some(_), _) => TestMethod::KenwardRoger,
        (None, Some(DfRule::Residual)) => TestMethod::Residual,
        (None, _) => TestMethod::Satterthwaite,
    }
}

fn coefficient(fitted: &FittedModel, name: &str) -> Option<Coefficient> {
    let fit = fitted.fit.linear()?;
    let j = fit.fixed_names.iter().position(|n| n == name)?;
    let (std_error, test) = match &fitted.inference.kenward_roger {
        Some(kr) => (kr.std_errors[j], Some(kr.coefficients[j])),
        None => (fit.std_errors()[j], fit.t_tests.as_ref().map(|t| t[j])),
    };
    Some(Coefficient {
        name: name.to_string(),
        estimate: fit.beta[j],
        std_error,
        df: test.map_or(f64::NAN, |t| t.df),
        p: test.map_or(f64::NAN, |t| t.p),
    })
}

/// The standard normal's 97.5% quantile (R's `qnorm(0.975)`): 95% Wald intervals.
const Z_975: f64 = 1.959_963_984_540_054;

/// A `table` of generalized models: one block of coefficients per model.
#[derive(Debug, Clone)]
pub struct RatioTable {
    pub name: String,
    pub rows: Vec<RatioLine>,
}

/// One model of a [`RatioTable`].
#[derive(Debug, Clone)]
pub struct RatioLine {
    pub label: String,
    pub model: String,
    /// As `mixspec fit --family` names it.
    pub family: String,
    pub link: String,
    /// `odds ratio` (logit link) or `rate ratio` (log link): the coefficients are shown
    /// exponentiated; `None` (probit, cloglog): shown as they are.
    pub ratio: Option<&'static str>,
    pub coefficients: Vec<RatioCoefficient>,
    /// The negative binomial's θ (Var(y) = μ + μ²/θ).
    pub nb_theta: Option<f64>,
    pub aic: f64,
    pub n_obs: usize,
    /// Levels of the first grouping factor (the subjects).
    pub n_subjects: usize,
}

/// A coefficient on the link scale with its Wald test and 95% interval; the table shows
/// `exp()` of the estimate and bounds when its line has a ratio.
#[derive(Debug, Clone)]
pub struct RatioCoefficient {
    pub name: String,
    /// For readers: a factor's contrast as `variable = level`.
    pub label: String,
    pub estimate: f64,
    pub std_error: f64,
    pub z: f64,
    pub p: f64,
    /// β ± 1.96 SE.
    pub lower: f64,
    pub upper: f64,
}

/// What exponentiating a coefficient of this link gives.
fn ratio_of(link: Link) -> Option<&'static str> {
    match link {
        Link::Logit => Some("odds ratio"),
        Link::Log => Some("rate ratio"),
        Link::Probit | Link::Cloglog => None,
    }
}

fn ratio_line(row: &TableRow, def: &ModelDef, fit: &GlmmFit) -> RatioLine {
    let columns = def.spec.columns();
    let coefficients = fit
        .fixed_names
        .iter()
        .zip(&fit.beta)
        .zip(fit.z_tests())
        .map(|((name, &estimate), t)| RatioCoefficient {
            name: name.clone(),
            label: readable(name, &columns),
            estimate,
            std_error: t.std_error,
            z: t.z,
            p: t.p,
            lower: estimate - Z_975 * t.std_error,
            upper: estimate + Z_975 * t.std_error,
        })
        .collect();
    RatioLine {
        label: row
            .label
            .as_ref()
            .map_or_else(|| row.model.text.clone(), |l| l.text.clone()),
        model: row.model.text.clone(),
        family: fit.family.name().to_string(),
        link: fit.link.name().to_string(),
        ratio: ratio_of(fit.link),
        coefficients,
        nb_theta: fit.nb_theta,
        aic: fit.aic,
        n_obs: fit.n_obs,
        n_subjects: fit.groups().first().map_or(0, |(_, n)| *n),
    }
}

/// `models` are the table's rows, in order; every one generalized (as checked).
pub(crate) fn ratios(table: &Table, models: &[(&ModelDef, &GlmmFit)]) -> RatioTable {
    RatioTable {
        name: table.name.text.clone(),
        rows: table
            .rows
            .iter()
            .zip(models)
            .map(|(row, (def, fit))| ratio_line(row, def, fit))
            .collect(),
    }
}

/// The coefficient's name without the time among its `:` parts, and whether it had it.
fn without_time(name: &str, time: &str) -> (String, bool) {
    let parts: Vec<&str> = name.split(':').collect();
    let kept: Vec<&str> = parts.iter().copied().filter(|p| *p != time).collect();
    (kept.join(":"), kept.len() < parts.len())
}

/// A coefficient name as `variable = level` when it is a variable's name followed by a level
/// (R's name of a factor's contrast), else as it is.
fn readable(term: &str, columns: &[String]) -> String {
    let mut columns: Vec<&String> = columns.iter().collect();
    // The longest name first: `cell2` before `cell`.
    columns.sort_by_key(|c| std::cmp::Reverse(c.len()));
    columns
        .into_iter()
        .find_map(|c| {
            let level = term.strip_prefix(c.as_str())?;
            (!level.is_empty() && !term.contains(':')).then(|| format!("{c} = {level}"))
        })
        .unwrap_or_else(|| term.to_string())
}

/// The coefficients `fit` adds to `reference`, paired by predictor.
fn added_effects(
    fitted: &FittedModel,
    reference: &LmmFit,
    time: &str,
    columns: &[String],
) -> Vec<TableEffect> {
    let mut effects: Vec<TableEffect> = Vec::new();
    for name in fitted
        .fit
        .fixed_names()
        .iter()
        .filter(|n| !reference.fixed_names.contains(n))
    {
        let (key, on_slope) = without_time(name, time);
        let at = match effects.iter().position(|e| e.term.as_deref() == Some(&key)) {
            Some(at) => at,
            None => {
                effects.push(TableEffect {
                    label: Some(readable(&key, columns)),
                    term: Some(key),
                    intercept: None,
                    slope: None,
                });
                effects.len() - 1
            }
        };
        let c = coefficient(fitted, name);
        if on_slope {
            effects[at].slope = c;
        } else {
            effects[at].intercept = c;
        }
    }
    effects
}

/// One row of a table, fitted: the model's definition and fit, and on a row below a
/// reference, the reference's fit on this row's observations (and whether it was refitted
/// to them).
pub(crate) type FittedRow<'a> = (&'a ModelDef, &'a FittedModel, Option<(&'a LmmFit, bool)>);

/// `models` are the table's rows, in order.
pub(crate) fn compute(
    spec: &Spec,
    table: &Table,
    time: &str,
    models: &[FittedRow<'_>],
) -> ModelTable {
    let mut reference: Option<&TableRow> = None;
    let rows = table
        .rows
        .iter()
        .zip(models)
        .map(|(row, (def, fitted, on_these_rows))| {
            let fit = fitted
                .fit
                .linear()
                .expect("checked: tables of linear models have linear rows");
            let mut line = TableLine {
                label: row
                    .label
                    .as_ref()
                    .map_or_else(|| row.model.text.clone(), |l| l.text.clone()),
                model: row.model.text.clone(),
                reference: None,
                reference_fit: None,
                effects: Vec::new(),
                explained_intercept: None,
                explained_slope: None,
                aic: fit.aic,
                n_obs: fit.n_obs,
                n_subjects: subjects(fit),
                method: method(fitted),
                note: None,
            };
            if row.reference {
                reference = Some(row);
                line.effects.push(TableEffect {
                    term: None,
                    label: None,
                    intercept: coefficient(fitted, INTERCEPT),
                    slope: coefficient(fitted, time),
                });
                return line;
            }
            let r = reference.expect("checked: the first row is a reference");
            let (reference_fit, refitted) =
                on_these_rows.expect("rows below a reference come with its fit");
            line.reference = Some(r.model.text.clone());
            line.effects = added_effects(fitted, reference_fit, time, &def.spec.columns());
            if line.effects.is_empty() {
                let why = fit
                    .warnings
                    .iter()
                    .find(|w| w.contains("rank deficient"))
                    .map_or("its coefficients are all in the reference", String::as_str);
                line.note = Some(format!("adds no coefficient to `{}`: {why}", r.model.text));
                line.effects.push(TableEffect {
                    term: None,
                    label: None,
                    intercept: None,
                    slope: None,
                });
            }
            let variance = explained(&row.model.text, fit, &r.model.text, reference_fit, refitted);
            line.reference_fit = Some(variance.reference_fit);
            // The first grouping factor's components: the subjects'.
            let subjects = variance.rows.first().map(|v| v.group.clone());
            let percent = |effect: &str| {
                variance
                    .rows
                    .iter()
                    .find(|v| Some(&v.group) == subjects.as_ref() && v.effect == effect)
                    .and_then(|v| v.percent)
            };
            line.explained_intercept = percent(INTERCEPT);
            line.explained_slope = percent(time);
            line
        })
        .collect();
    ModelTable {
        name: table.name.text.clone(),
        time: time.to_string(),
        time_label: spec.text(time).to_string(),
        unit: spec.unit(time).map(str::to_string),
        show_ns: table.show_ns(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::{readable, without_time};

    #[test]
    fn contrasts_read_as_variable_and_level() {
        let columns = ["TASKS", "months", "cell", "cell2"].map(String::from);
        assert_eq!(
            readable("cellpoor, paranoid PD", &columns),
            "cell = poor, paranoid PD"
        );
        assert_eq!(readable("cell2b", &columns), "cell2 = b");
        assert_eq!(readable("age", &["age".to_string()]), "age");
        assert_eq!(readable("outcomepoor:cellb", &columns), "outcomepoor:cellb");
    }

    #[test]
    fn time_parts_are_found_on_either_side() {
        assert_eq!(
            without_time("months:outcomepoor", "months"),
            ("outcomepoor".into(), true)
        );
        assert_eq!(
            without_time("outcomepoor:months", "months"),
            ("outcomepoor".into(), true)
        );
        assert_eq!(without_time("age", "months"), ("age".into(), false));
        // A name that merely contains the time's text is not an effect on the slope.
        assert_eq!(
            without_time("months2:age", "months"),
            ("months2:age".into(), false)
        );
    }
}

#[cfg(test)]
mod ratio_tests {
    use super::{ratio_of, Z_975};
    use mixspec_engine::family::Link;

    #[test]
    fn wald_quantile_and_ratios() {
        // R: qnorm(0.975).
        assert!((Z_975 - 1.959_963_984_540_054).abs() < 1e-15);
        assert_eq!(ratio_of(Link::Logit), Some("odds ratio"));
        assert_eq!(ratio_of(Link::Log), Some("rate ratio"));
        assert_eq!(ratio_of(Link::Probit), None);
    }
}
