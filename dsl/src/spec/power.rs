//! Power statements: their options and design blocks checked and lowered to [`PowerDef`]. What
//! needs no data is checked here — option values, shares that sum to 1, a covariance that is
//! positive definite, a formula whose variables the design gives values to. The names of
//! coefficients and random effects depend on the model matrix, so the analysis checks them
//! against the design it builds (`mixspec_analysis::power`).

use mixspec_engine::family::{Family, Link};
use mixspec_engine::spec::{ModelSpec, ResidualSpec};

use super::ast::{
    Name, Power, PowerItem, PowerItemKind, PowerOption, PowerSource, ResidualStructureItem, Span,
};
use super::check::Checker;
use super::diagnostic::{suggest, SpecDiagnostic, SpecErrorKind};
use super::ModelDef;

const OPTIONS: [&str; 7] = [
    "test",
    "alpha",
    "simulations",
    "seed",
    "subjects",
    "statistic",
    "method",
];
const STATISTICS: [&str; 4] = ["satterthwaite", "kenward-roger", "wald", "lrt"];
const STRUCTURES: [&str; 4] = ["ar1", "car1", "cs", "varident"];
const FAMILIES: [&str; 3] = ["binomial", "poisson", "negative-binomial"];
const DEFAULT_ALPHA: f64 = 0.05;
const DEFAULT_SIMULATIONS: usize = 1000;
const DEFAULT_SEED: u64 = 1;
/// Shares that sum to 1 within this are taken to sum to 1 (three thirds written `0.333`
/// do not: write them as fractions of a whole, `1, 1, 1` is refused too).
const SHARE_TOLERANCE: f64 = 1e-6;

/// A power statement, checked: what to simulate, how to test, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerDef {
    pub name: Name,
    /// The whole statement.
    pub span: Span,
    /// The coefficient tested (a column of the model matrix, `time:groupb`), or with
    /// `statistic lrt` also a whole term (`time:group`), as written.
    pub test: Name,
    /// `test "…" = VALUE`: the value the tested coefficient takes in the simulations (power
    /// from a model; a design gives every value in `fixed`).
    pub value: Option<(f64, Span)>,
    pub statistic: PowerStatistic,
    /// `method REML` or `method ML`; without it, REML for a design and the model's own method
    /// for power from a model. Likelihood-ratio tests always compare ML fits.
    pub reml: Option<bool>,
    pub alpha: f64,
    pub simulations: usize,
    pub seed: u64,
    /// The numbers of subjects to simulate, as written (at least one).
    pub subjects: Vec<usize>,
    pub source: PowerSourceDef,
}

/// How each simulated cohort's fit is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerStatistic {
    /// The Satterthwaite t-test of the coefficient, as the model's own summary.
    Satterthwaite,
    /// The likelihood-ratio test against the model without the coefficient (or term), both
    /// fitted by ML.
    LikelihoodRatio,
    /// The Wald z-test of the coefficient, as glmer's `summary()`: a generalized model's own
    /// test.
    Wald,
    /// The Kenward–Roger t-test of the coefficient (pbkrtest's adjusted Var(β̂) and df), on
    /// REML fits of a linear model without a residual structure.
    KenwardRoger,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PowerSourceDef {
    /// A model of the spec: its estimates, and its subjects resampled with their covariates
    /// and visits.
    Model(Name),
    /// A design written in the statement.
    Design(Box<PowerDesign>),
}

/// An a priori design: the model, and how its cohorts are made.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerDesign {
    pub formula: Name,
    pub spec: ModelSpec,
    /// The subject variable: the grouping of the random effects (`random id …`).
    pub subject: Name,
    /// The time variable the visits set.
    pub time: String,
    /// The group variable and its levels in the order written (the first is the reference),
    /// when the design has groups.
    pub group: Option<String>,
    /// One per group (one in all without groups), in the order written.
    pub arms: Vec<Arm>,
    /// Per-subject covariates, drawn anew for each simulated cohort.
    pub covariates: Vec<Covariate>,
    /// Each coefficient's value, by name as written.
    pub fixed: Vec<(Name, f64)>,
    /// The random effects' names as written, in the order of `sd`.
    pub random: Vec<Name>,
    /// Their covariance, row-major, positive definite.
    pub covariance: Vec<f64>,
    /// The residual SD (of the first group with `varident`); unused with a family.
    pub residual_sd: f64,
    /// The residual structure's parameters φ in the engine's order (AR(1)'s φ, compound
    /// symmetry's ρ, varident's ratios of the later groups' SDs to the first's); the
    /// structure itself is `spec.residual`, which the refits use too.
    pub residual_phi: Vec<f64>,
    /// A generalized model's family and link (`family binomial`); `None` for a linear one.
    pub family: Option<(Family, Link)>,
    /// The block, for problems found against the model matrix.
    pub span: Span,
}

/// A covariate of a design: one value per subject, the same at each of its visits.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariate {
    pub name: String,
    pub distribution: CovariateDistribution,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CovariateDistribution {
    Normal {
        mean: f64,
        sd: f64,
    },
    /// 1 with probability `p`, else 0.
    Binary(f64),
}

/// A group of the design: its share of the subjects and its visits.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    /// The group's level (none without `groups`).
    pub level: Option<String>,
    pub share: f64,
    /// Visit times, ascending; the first visit is always made.
    pub times: Vec<f64>,
    /// Probability of dropping out at each visit after the first (monotone: no visit after).
    pub dropout: f64,
    /// Probability of missing each visit after the first, independently.
    pub missed: f64,
}

/// A number as written in a power statement, or a problem at its span.
fn number(n: &Name) -> Result<f64, SpecDiagnostic> {
    n.text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            SpecDiagnostic::new(
                SpecErrorKind::Power,
                n.span,
                format!("`{}` is not a number", n.text),
                "expected a number",
            )
        })
}

fn invalid(at: Span, message: impl Into<String>, label: impl Into<String>) -> SpecDiagnostic {
    SpecDiagnostic::new(SpecErrorKind::Power, at, message, label)
}

/// A number in `[lo, hi)` (or `[lo, hi]` with `closed`): a probability or a share.
fn probability(n: &Name, what: &str, closed: bool) -> Result<f64, SpecDiagnostic> {
    let v = number(n)?;
    let ok = v >= 0.0 && (v < 1.0 || closed && v <= 1.0);
    if ok {
        Ok(v)
    } else {
        Err(invalid(
            n.span,
            format!("{what} must be between 0 and 1, not {}", n.text),
            if closed {
                "expected 0 to 1"
            } else {
                "expected 0 up to (not including) 1"
            },
        ))
    }
}

fn positive(n: &Name, what: &str) -> Result<f64, SpecDiagnostic> {
    let v = number(n)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(
            n.span,
            format!("{what} must be positive, not {}", n.text),
            "expected a number above 0",
        ))
    }
}

/// The most subjects and simulations a statement may ask for: far beyond any study, and
/// small enough that a typo cannot exhaust the memory.
const MOST: u64 = 10_000_000;

/// A whole number from `least` to [`MOST`] (a seed may be any whole number).
fn whole(n: &Name, what: &str, least: u64) -> Result<u64, SpecDiagnostic> {
    match n.text.parse::<u64>() {
        Ok(v) if v >= least && (v <= MOST || what == "the seed") => Ok(v),
        _ => Err(invalid(
            n.span,
            format!(
                "{what} must be a whole number from {least} to {MOST}, not {}",
                n.text
            ),
            format!("expected {least} or more"),
        )),
    }
}

/// The lower Cholesky factor of a symmetric `q × q` matrix (row-major), or `None` when it is
/// not positive definite.
pub fn cholesky(m: &[f64], q: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; q * q];
    for i in 0..q {
        for j in 0..=i {
            let s = m[i * q + j] - (0..j).map(|k| l[i * q + k] * l[j * q + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * q + i] = s.sqrt();
            } else {
                l[i * q + j] = s / l[j * q + j];
            }
        }
    }
    Some(l)
}

impl Checker<'_> {
    /// Checks a power statement and lowers it; `None` after reporting its problems.
    pub(super) fn power(
        &mut self,
        p: &Power,
        span: Span,
        models: &[ModelDef],
        powers: &[PowerDef],
    ) -> Option<PowerDef> {
        let mut ok = self.output_name(&p.name);
        if let Some(first) = powers.iter().find(|d| d.name.text == p.name.text) {
            self.duplicate("power statement", &p.name, &first.name);
            ok = false;
        }
        let mut structured = false;
        // A generalized source: a design with a `family`, or a model with one.
        let mut generalized = false;
        let options = self.power_options(p);
        let source = match &p.source {
            PowerSource::Model(m) => {
                let model = self.resolve(m, models);
                structured = model.is_some_and(|m| m.spec.residual.is_some());
                generalized = model.is_some_and(|m| m.family.is_some());
                // Simulated binomial responses are 0/1: a `cbind()` model's trials are not.
                if let Some(model) = model.filter(|m| m.spec.failures.is_some()) {
                    self.push(
                        invalid(m.span, format!("power from `{}` is not available: its response is `cbind(successes, failures)`", model.name.text), "a cbind() response")
                            .help("power simulations draw 0/1 responses; simulate from a model of a 0/1 response or write a design with `family binomial`"),
                    );
                    ok = false;
                }
                model.map(|_| PowerSourceDef::Model(m.clone()))
            }
            PowerSource::Design {
                formula,
                items,
                span,
            } => self
                .power_design(formula, items, *span)
                .map(|d| PowerSourceDef::Design(Box::new(d))),
        };
        // The block's sizes are checked whatever else is wrong, so their problems show too.
        let block_sizes = p.source_subjects().map(|item| match &item.kind {
            PowerItemKind::Subjects(values) => (item.span, self.sizes(values)),
            _ => unreachable!("source_subjects finds subjects lines"),
        });
        let (Some(mut def), Some(source), true) = (options, source, ok) else {
            return None;
        };
        def.span = span;
        def.source = source;
        if let PowerSourceDef::Design(d) = &def.source {
            match (&def.subjects[..], block_sizes) {
                ([], None) => {
                    self.push(
                        invalid(
                            d.span,
                            "the design says no number of subjects",
                            "no `subjects` line",
                        )
                        .help("add the sample sizes to simulate, e.g. `subjects 40, 80, 120`"),
                    );
                    return None;
                }
                ([_, ..], Some((at, _))) => {
                    self.push(
                        invalid(at, "the numbers of subjects are given twice", "again here")
                            .help("give `subjects` once: in the block or among the options"),
                    );
                    return None;
                }
                (_, Some((_, sizes))) => def.subjects = sizes?,
                _ => {}
            }
        } else if def.subjects.is_empty() {
            self.push(
                invalid(p.name.span, "power from a model needs the numbers of subjects to simulate", "no `subjects`")
                    .help("add them to the options, e.g. `[test \"months:outcomepoor\" = -0.03, subjects 100, 155, 250]`"),
            );
            return None;
        }
        // The test a generalized model has is Wald's z (glmer's summary), a linear model's
        // Satterthwaite's t; either may be replaced by a likelihood-ratio test.
        let option_at = |key: &str| {
            p.options
                .iter()
                .find(|o| o.key.text == key)
                .map(|o| o.values[0].span)
        };
        generalized |= matches!(&def.source, PowerSourceDef::Design(d) if d.family.is_some());
        match (generalized, def.statistic, option_at("statistic")) {
            (true, PowerStatistic::Satterthwaite, None) => def.statistic = PowerStatistic::Wald,
            (true, PowerStatistic::Satterthwaite, Some(at)) => {
                self.push(
                    invalid(at, "Satterthwaite's t-test is for linear models", "with a `family`")
                        .help("a generalized model's coefficients are tested by Wald's z (`statistic wald`, the default) or by the likelihood ratio (`statistic lrt`)"),
                );
                return None;
            }
            (true, PowerStatistic::KenwardRoger, Some(at)) => {
                self.push(
                    invalid(at, "Kenward–Roger's test is for linear models", "with a `family`")
                        .help("a generalized model's coefficients are tested by Wald's z (`statistic wald`, the default) or by the likelihood ratio (`statistic lrt`)"),
                );
                return None;
            }
            (false, PowerStatistic::Wald, Some(at)) => {
                self.push(
                    invalid(at, "Wald's z-test is for generalized models", "without a `family`")
                        .help("a linear model's coefficients are tested by Satterthwaite's t (the default) or by the likelihood ratio (`statistic lrt`)"),
                );
                return None;
            }
            _ => {}
        }
        if def.statistic == PowerStatistic::KenwardRoger {
            let at = option_at("statistic").expect("the statistic was given");
            structured |=
                matches!(&def.source, PowerSourceDef::Design(d) if d.spec.residual.is_some());
            if structured {
                self.push(
                    invalid(at, "Kenward–Roger's test is not available with a residual structure", "with `residual`")
                        .help("pbkrtest's adjustment assumes independent residuals: keep Satterthwaite's test (the default)"),
                );
                return None;
            }
            if def.reml == Some(false) {
                self.push(
                    invalid(
                        at,
                        "Kenward–Roger's test needs REML fits",
                        "with `method ML`",
                    )
                    .help("leave out `method ML`: each cohort is then fitted by REML"),
                );
                return None;
            }
        }
        if let (true, Some(true), Some(at)) = (generalized, def.reml, option_at("method")) {
            self.push(
                invalid(
                    at,
                    "a generalized model is fitted by maximum likelihood",
                    "REML",
                )
                .help("leave out `method`: glmer has no REML"),
            );
            return None;
        }
        if let (Some((_, at)), PowerSourceDef::Design(_)) = (def.value, &def.source) {
            self.push(
                invalid(
                    at,
                    "a design sets the tested coefficient in `fixed`",
                    "not with a design",
                )
                .help("remove `= …` and give the coefficient its value on the `fixed` line"),
            );
            return None;
        }
        Some(def)
    }

    /// The options in brackets, lowered with defaults; the source is filled in by the caller.
    fn power_options(&mut self, p: &Power) -> Option<PowerDef> {
        let mut def = PowerDef {
            name: p.name.clone(),
            span: p.name.span,
            test: Name {
                text: String::new(),
                span: p.name.span,
            },
            value: None,
            statistic: PowerStatistic::Satterthwaite,
            reml: None,
            alpha: DEFAULT_ALPHA,
            simulations: DEFAULT_SIMULATIONS,
            seed: DEFAULT_SEED,
            subjects: Vec::new(),
            source: PowerSourceDef::Model(p.name.clone()),
        };
        let mut ok = true;
        let mut test_given = false;
        let mut seen: Vec<&Name> = Vec::new();
        for PowerOption {
            key,
            values,
            assigned,
        } in &p.options
        {
            if let Some(first) = seen.iter().find(|k| k.text == key.text) {
                self.duplicate("option", key, first);
                ok = false;
                continue;
            }
            seen.push(key);
            let value = &values[0];
            let list = key.text == "subjects";
            if values.len() > 1 && !list {
                self.push(
                    invalid(
                        values[1].span,
                        format!("`{}` takes one value", key.text),
                        "one too many",
                    )
                    .help("only `subjects` takes a list, e.g. `subjects 100, 155, 250`"),
                );
                ok = false;
                continue;
            }
            if let Some(a) = assigned.as_ref().filter(|_| key.text != "test") {
                self.push(
                    invalid(a.span, format!("`{}` cannot be set with `=`", key.text), "not here")
                        .help("`= value` sets the tested coefficient: `test \"months:outcomepoor\" = -0.03`"),
                );
                ok = false;
                continue;
            }
            let result: Result<(), SpecDiagnostic> = match key.text.as_str() {
                "test" => {
                    test_given = true;
                    def.test = value.clone();
                    match assigned {
                        Some(a) => number(a).map(|v| def.value = Some((v, a.span))),
                        None => Ok(()),
                    }
                }
                "alpha" => number(value).and_then(|a| {
                    if a > 0.0 && a < 1.0 {
                        def.alpha = a;
                        Ok(())
                    } else {
                        Err(invalid(value.span, format!("the significance level must be between 0 and 1, not {}", value.text), "expected e.g. 0.05"))
                    }
                }),
                "simulations" => whole(value, "the number of simulations", 1).map(|n| def.simulations = n as usize).map_err(|d| d.help("each simulation is one simulated cohort, fitted and tested; 1000 give the power within about ±3%")),
                "seed" => whole(value, "the seed", 0).map(|s| def.seed = s),
                "subjects" => self.sizes(values).map(|s| def.subjects = s).ok_or_else(|| invalid(value.span, "", "")),
                "statistic" => match value.text.to_ascii_lowercase().as_str() {
                    "satterthwaite" => Ok(()),
                    "wald" | "z" => {
                        def.statistic = PowerStatistic::Wald;
                        Ok(())
                    }
                    "kenward-roger" | "kr" => {
                        def.statistic = PowerStatistic::KenwardRoger;
                        Ok(())
                    }
                    "lrt" => {
                        def.statistic = PowerStatistic::LikelihoodRatio;
                        Ok(())
                    }
                    lower => Err(invalid(value.span, format!("`{}` is not a test statistic", value.text), "expected satterthwaite, kenward-roger, wald or lrt")
                        .help(format!("{}; satterthwaite: the t-test of the coefficient (a linear model's default), kenward-roger: its t-test with Kenward–Roger's df, wald: the z-test (a generalized model's default), lrt: the likelihood-ratio test against the model without it", suggest(lower, "statistic", &STATISTICS)))),
                },
                "method" => match value.text.to_ascii_uppercase().as_str() {
                    "REML" => {
                        def.reml = Some(true);
                        Ok(())
                    }
                    "ML" => {
                        def.reml = Some(false);
                        Ok(())
                    }
                    _ => Err(invalid(value.span, format!("`{}` is not a valid method", value.text), "expected ML or REML")),
                },
                _ => Err(invalid(key.span, format!("unknown power option `{}`", key.text), "not a power option")
                    .help(suggest(&key.text, "power option", &OPTIONS))),
            };
            if let Err(problem) = result {
                // `sizes` has reported its own problems.
                if !problem.message().is_empty() {
                    self.push(problem);
                }
                ok = false;
            }
        }
        if !test_given {
            self.push(
                invalid(
                    p.name.span,
                    format!("power statement `{}` says nothing to test", p.name.text),
                    "no `test`",
                )
                .help("name the coefficient whose test the power is of: `[test \"time:groupb\"]`"),
            );
            ok = false;
        } else if def.test.text.is_empty() {
            self.push(invalid(
                def.test.span,
                "the tested coefficient has no name",
                "empty",
            ));
            ok = false;
        }
        ok.then_some(def)
    }

    /// Numbers of subjects: whole numbers of at least 2, each once.
    fn sizes(&mut self, values: &[Name]) -> Option<Vec<usize>> {
        let mut out: Vec<usize> = Vec::new();
        let mut ok = true;
        for (i, v) in values.iter().enumerate() {
            match whole(v, "a number of subjects", 2) {
                Ok(n) if out.contains(&(n as usize)) => {
                    self.push(SpecDiagnostic::listed_twice(
                        "number of subjects",
                        v,
                        &values[i - 1],
                    ));
                    ok = false;
                }
                Ok(n) => out.push(n as usize),
                Err(p) => {
                    self.push(p.help(
                        "a cohort of one subject cannot estimate a random effect's variance",
                    ));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// The design block: every line checked, then the formula's variables matched to it.
    fn power_design(
        &mut self,
        formula: &Name,
        items: &[PowerItem],
        span: Span,
    ) -> Option<PowerDesign> {
        let spec = self.lower_formula(formula);
        let mut ok = spec.is_some();
        let mut once: Vec<(&'static str, Span)> = Vec::new();
        let mut general = |c: &mut Self, item: &PowerItem, level: Option<&Name>| {
            let key = item.kind.keyword();
            // `times`, `dropout` and `missed` may come once in general and once per group.
            if level.is_some() {
                return true;
            }
            if let Some((_, first)) = once.iter().find(|(k, _)| *k == key) {
                c.push(
                    SpecDiagnostic::new(SpecErrorKind::Duplicate, item.span, format!("`{key}` is given twice"), "again here")
                        .also(*first, "first given here")
                        .help("give each line of the design once (times, dropout and missed also once per group: `times \"b\" 0, 2, 4`)"),
                );
                return false;
            }
            once.push((key, item.span));
            true
        };
        let mut times: Vec<(Option<&Name>, Vec<f64>)> = Vec::new();
        let mut time_variable: Option<&Name> = None;
        let mut groups: Option<(&Name, Vec<(Name, f64)>)> = None;
        let mut fixed: Option<Vec<(Name, f64)>> = None;
        let mut random: Option<(&Name, Vec<Name>, Vec<f64>)> = None;
        let mut residual = None;
        let mut residual_at = span;
        let mut structure: Option<(Structure, Span)> = None;
        let mut family: Option<(Family, Link)> = None;
        let mut dropouts: Vec<(Option<&Name>, f64, bool, Span)> = Vec::new();
        let mut missed: Vec<(Option<&Name>, f64)> = Vec::new();
        let mut covariates: Vec<(Name, CovariateDistribution)> = Vec::new();
        let mut per_level: Vec<(&'static str, &Name)> = Vec::new();
        for item in items {
            let level = match &item.kind {
                PowerItemKind::Times { level, .. }
                | PowerItemKind::Dropout { level, .. }
                | PowerItemKind::Missed { level, .. } => level.as_ref(),
                _ => None,
            };
            let covariate = matches!(item.kind, PowerItemKind::Covariate { .. });
            if !covariate && !general(self, item, level) {
                ok = false;
                continue;
            }
            if let Some(l) = level {
                let key = item.kind.keyword();
                if let Some((_, first)) = per_level
                    .iter()
                    .find(|(k, f)| *k == key && f.text == l.text)
                {
                    self.duplicate(&format!("`{key}` of group"), l, first);
                    ok = false;
                    continue;
                }
                per_level.push((key, l));
            }
            let result: Result<(), SpecDiagnostic> = (|| {
                match &item.kind {
                    PowerItemKind::Subjects(_) => {}
                    PowerItemKind::Times {
                        variable, values, ..
                    } => {
                        if let Some(v) = variable {
                            if let Some(t) = time_variable.filter(|t| t.text != v.text) {
                                return Err(invalid(
                                    v.span,
                                    format!(
                                        "the visits set `{}`, but another line sets `{}`",
                                        v.text, t.text
                                    ),
                                    "a second time variable",
                                )
                                .also(t.span, "the time variable")
                                .help("a design has one time variable"));
                            }
                            time_variable = Some(v);
                        }
                        let mut t: Vec<f64> = Vec::new();
                        for (i, n) in values.iter().enumerate() {
                            let v = number(n)?;
                            if t.contains(&v) {
                                return Err(SpecDiagnostic::listed_twice(
                                    "time",
                                    n,
                                    &values[i - 1],
                                ));
                            }
                            t.push(v);
                        }
                        t.sort_by(f64::total_cmp);
                        times.push((level, t));
                    }
                    PowerItemKind::Groups { variable, shares } => {
                        let mut out: Vec<(Name, f64)> = Vec::new();
                        for (level, share) in shares {
                            if let Some((first, _)) = out.iter().find(|(l, _)| l.text == level.text)
                            {
                                return Err(SpecDiagnostic::listed_twice("level", level, first));
                            }
                            let s = probability(share, "a group's share", true)?;
                            if s == 0.0 {
                                return Err(invalid(
                                    share.span,
                                    "a group's share must be above 0",
                                    "an empty group",
                                )
                                .help("leave the group out of the design"));
                            }
                            out.push((level.clone(), s));
                        }
                        let sum: f64 = out.iter().map(|(_, s)| s).sum();
                        if (sum - 1.0).abs() > SHARE_TOLERANCE {
                            let written: Vec<&str> =
                                shares.iter().map(|(_, s)| s.text.as_str()).collect();
                            return Err(invalid(item.span, format!("the groups' shares sum to {}, not 1", shown(sum)), format!("{} = {}", written.join(" + "), shown(sum)))
                                .help("give each group its share of the subjects, e.g. `groups arm \"control\" 0.5, \"treated\" 0.5`"));
                        }
                        if out.len() < 2 {
                            return Err(invalid(
                                item.span,
                                "groups need at least two levels",
                                "one group",
                            )
                            .help("leave out `groups` for a single-group design"));
                        }
                        groups = Some((variable, out));
                    }
                    PowerItemKind::Covariate {
                        name,
                        distribution,
                        values,
                    } => {
                        if let Some((first, _)) =
                            covariates.iter().find(|(n, _)| n.text == name.text)
                        {
                            return Err(SpecDiagnostic::listed_twice("covariate", name, first));
                        }
                        let want = match distribution.text.as_str() {
                            "normal" => 2,
                            "binary" => 1,
                            _ => {
                                return Err(invalid(distribution.span, format!("`{}` is not a covariate's distribution", distribution.text), "expected normal or binary")
                                    .help("`covariate age normal 40 10` (mean, SD) or `covariate smoker binary 0.3` (the share of 1s)"))
                            }
                        };
                        if values.len() != want {
                            return Err(invalid(item.span, format!("a {} covariate takes {want} number{}", distribution.text, if want == 1 { "" } else { "s" }), format!("expected {want}"))
                                .help("`covariate age normal 40 10` (mean, SD) or `covariate smoker binary 0.3` (the share of 1s)"));
                        }
                        let d = if want == 2 {
                            CovariateDistribution::Normal {
                                mean: number(&values[0])?,
                                sd: positive(&values[1], "a covariate's standard deviation")?,
                            }
                        } else {
                            let p =
                                probability(&values[0], "a binary covariate's share of 1s", false)?;
                            if p == 0.0 {
                                return Err(invalid(
                                    values[0].span,
                                    "a binary covariate's share of 1s must be above 0",
                                    "always 0",
                                ));
                            }
                            CovariateDistribution::Binary(p)
                        };
                        covariates.push((name.clone(), d));
                    }
                    PowerItemKind::Fixed(values) => {
                        let mut out: Vec<(Name, f64)> = Vec::new();
                        for (name, value) in values {
                            if let Some((first, _)) = out.iter().find(|(n, _)| n.text == name.text)
                            {
                                return Err(SpecDiagnostic::listed_twice(
                                    "coefficient",
                                    name,
                                    first,
                                ));
                            }
                            out.push((name.clone(), number(value)?));
                        }
                        fixed = Some(out);
                    }
                    PowerItemKind::Random { group, sds, cors } => {
                        let mut names: Vec<Name> = Vec::new();
                        let mut sd = Vec::new();
                        for (name, value) in sds {
                            if let Some(first) = names.iter().find(|n| n.text == name.text) {
                                return Err(SpecDiagnostic::listed_twice(
                                    "random effect",
                                    name,
                                    first,
                                ));
                            }
                            names.push(name.clone());
                            sd.push(positive(value, "a standard deviation")?);
                        }
                        let q = sd.len();
                        let pairs = q * (q - 1) / 2;
                        if !cors.is_empty() && cors.len() != pairs {
                            let at = cors[0].span.to(cors[cors.len() - 1].span);
                            return Err(invalid(at, format!("{q} random effects have {pairs} correlation{}, not {}", if pairs == 1 { "" } else { "s" }, cors.len()), format!("expected {pairs}"))
                                .help("give the correlations of the pairs in order (1, 2), (1, 3), …, (2, 3), …, as R's VarCorr lists them"));
                        }
                        let mut covariance = vec![0.0; q * q];
                        for i in 0..q {
                            covariance[i * q + i] = sd[i] * sd[i];
                        }
                        let mut k = 0;
                        for i in 0..q {
                            for j in i + 1..q {
                                if let Some(c) = cors.get(k) {
                                    let r = number(c)?;
                                    if r.abs() >= 1.0 {
                                        return Err(invalid(c.span, format!("a correlation must be between −1 and 1 (exclusive), not {}", c.text), "expected −1 < r < 1"));
                                    }
                                    covariance[i * q + j] = r * sd[i] * sd[j];
                                    covariance[j * q + i] = r * sd[i] * sd[j];
                                }
                                k += 1;
                            }
                        }
                        if cholesky(&covariance, q).is_none() {
                            let at = cors[0].span.to(cors[cors.len() - 1].span);
                            return Err(invalid(at, "the random effects' covariance is not positive definite", "these correlations are impossible together")
                                .help("correlations of three or more effects must be consistent (the matrix of them positive definite): make them smaller"));
                        }
                        random = Some((group, names, covariance));
                    }
                    PowerItemKind::Residual { sd, structure: s } => {
                        residual = Some(positive(sd, "the residual standard deviation")?);
                        residual_at = item.span;
                        if let Some(s) = s {
                            structure = Some((residual_structure(s)?, s.span));
                        }
                    }
                    PowerItemKind::Family {
                        family: name,
                        settings,
                    } => family = Some(design_family(name, settings)?),
                    PowerItemKind::Dropout { value, by_end, .. } => {
                        let what = if *by_end {
                            "the share dropped out by the last visit"
                        } else {
                            "the probability of dropping out at a visit"
                        };
                        dropouts.push((
                            level,
                            probability(value, what, false)?,
                            *by_end,
                            value.span,
                        ));
                    }
                    PowerItemKind::Missed { value, .. } => {
                        missed.push((
                            level,
                            probability(value, "the probability of missing a visit", false)?,
                        ));
                    }
                }
                Ok(())
            })();
            if let Err(problem) = result {
                self.push(problem);
                ok = false;
            }
        }
        let required = [
            ("times", times.iter().any(|(l, _)| l.is_none()) || (!times.is_empty() && groups.is_some()), "the visits, e.g. `times 0, 1, 2, 3, 4`"),
            ("fixed", fixed.is_some(), "every coefficient's value, e.g. `fixed \"(Intercept)\" 0, \"time\" 0.5`"),
            ("random", random.is_some(), "the random effects' standard deviations, e.g. `random id sd \"(Intercept)\" 1, \"time\" 0.3 cor 0`"),
            ("residual", residual.is_some() || family.is_some(), "the residual standard deviation, e.g. `residual sd 1`"),
        ];
        for (key, given, example) in required {
            if !given && ok {
                self.push(
                    invalid(
                        span,
                        format!("the design has no `{key}` line"),
                        format!("needs `{key}`"),
                    )
                    .help(format!("add {example}")),
                );
                ok = false;
            }
        }
        if let (Some(_), Some(_)) = (family, residual) {
            self.push(
                invalid(
                    residual_at,
                    "a generalized model has no residual standard deviation",
                    "with a `family`",
                )
                .help(
                    "the family sets the variance given the random effects: leave out `residual`",
                ),
            );
            ok = false;
        }
        let (Some(mut spec), true) = (spec, ok) else {
            return None;
        };
        let (subject, random_names, covariance) = random.expect("checked above");
        let fixed = fixed.expect("checked above");
        let residual_sd = residual.unwrap_or(0.0);
        // Each level named by times, dropout or missed must be a group's.
        let levels: Vec<&str> = groups
            .as_ref()
            .map(|(_, l)| l.iter().map(|(n, _)| n.text.as_str()).collect())
            .unwrap_or_default();
        for (_, l) in &per_level {
            if !levels.contains(&l.text.as_str()) {
                let help = if levels.is_empty() {
                    "a line for one group needs `groups`; without groups, leave out the level"
                        .to_string()
                } else {
                    suggest(&l.text, "group", &levels)
                };
                self.push(
                    invalid(
                        l.span,
                        format!("`{}` is not a group of the design", l.text),
                        "not among `groups`",
                    )
                    .help(help),
                );
                ok = false;
            }
        }
        // The formula's variables: the response, the subject, the group and the time.
        let group = groups.as_ref().map(|(v, _)| v.text.clone());
        let response = spec.response.label.clone();
        let mut others: Vec<(String, Span)> = Vec::new();
        let formula_start = formula.span.start;
        for u in super::check::column_uses(&formula.text) {
            let known = u.name == response
                || u.name == subject.text
                || Some(&u.name) == group.as_ref()
                || covariates.iter().any(|(c, _)| c.text == u.name);
            if !known && !others.iter().any(|(n, _)| *n == u.name) {
                others.push((
                    u.name,
                    Span::new(u.span.start + formula_start, u.span.end + formula_start),
                ));
            }
        }
        let time = match (time_variable, &others[..]) {
            (Some(t), _) => t.text.clone(),
            (None, [(t, _)]) => t.clone(),
            (None, []) => "time".to_string(),
            (None, [_, (second, at), ..]) => {
                self.push(
                    invalid(*at, format!("the design does not say what `{second}` is"), "not given by the design")
                        .help("a design gives values to the subject (`random`), the group (`groups`) and the time (`times`); name the time variable if it is not the only other one: `times months 0, 6, 12`"),
                );
                return None;
            }
        };
        for (name, at) in &others {
            if *name != time {
                self.push(
                    invalid(*at, format!("the design does not say what `{name}` is"), "not given by the design")
                        .help(format!("a design gives values to the subject (`random {}`), the group (`groups`) and the time (`times {time} …`)", subject.text)),
                );
                ok = false;
            }
        }
        for (c, _) in &covariates {
            let taken = if c.text == subject.text {
                Some("the subject")
            } else if Some(&c.text) == group.as_ref() {
                Some("the group")
            } else if c.text == time {
                Some("the time")
            } else if c.text == response {
                Some("the response")
            } else {
                None
            };
            if let Some(what) = taken {
                self.push(invalid(
                    c.span,
                    format!("`{}` is {what} variable, not a covariate", c.text),
                    "named twice",
                ));
                ok = false;
            }
        }
        for r in &spec.random {
            if r.grouping.len() != 1 || r.grouping[0] != subject.text {
                self.push(
                    invalid(formula.span, format!("the design's random effects are those of `{}`, but the formula groups a term by `{}`", subject.text, r.group_name()), "another grouping")
                        .help(format!("a design simulates subjects: group every random-effect term by `{}`", subject.text)),
                );
                ok = false;
            }
        }
        if spec.random.is_empty() {
            self.push(invalid(
                formula.span,
                "the formula has no random effects",
                "no `( … | subject)` term",
            ));
            ok = false;
        }
        if !ok {
            return None;
        }
        let general_times = times
            .iter()
            .find(|(l, _)| l.is_none())
            .map(|(_, t)| t.clone());
        let general_of = |list: &[(Option<&Name>, f64)], level: Option<&str>| {
            list.iter()
                .find(|(l, _)| l.map(|l| l.text.as_str()) == level)
                .or_else(|| list.iter().find(|(l, _)| l.is_none()))
                .map_or(0.0, |(_, v)| *v)
        };
        let arm_levels: Vec<(Option<String>, f64)> = match &groups {
            Some((_, shares)) => shares
                .iter()
                .map(|(l, s)| (Some(l.text.clone()), *s))
                .collect(),
            None => vec![(None, 1.0)],
        };
        let mut arms = Vec::new();
        for (level, share) in arm_levels {
            let own = times
                .iter()
                .find(|(l, _)| l.map(|l| &l.text) == level.as_ref())
                .map(|(_, t)| t.clone());
            let Some(visits) = own.or_else(|| general_times.clone()) else {
                self.push(
                    invalid(
                        span,
                        format!(
                            "group `{}` has no visits",
                            level.clone().unwrap_or_default()
                        ),
                        "needs `times`",
                    )
                    .help("add `times 0, 1, 2` for every group, or one line per group"),
                );
                return None;
            };
            let dropout = dropouts
                .iter()
                .find(|(l, ..)| l.map(|l| &l.text) == level.as_ref())
                .or_else(|| dropouts.iter().find(|(l, ..)| l.is_none()));
            let hazard = match dropout {
                None => 0.0,
                Some((_, v, false, _)) => *v,
                Some((_, v, true, at)) => {
                    if visits.len() < 2 && *v > 0.0 {
                        self.push(invalid(
                            *at,
                            "dropout by the last visit needs two visits or more",
                            "one visit",
                        ));
                        return None;
                    }
                    // A constant hazard h at each of the K − 1 later visits leaves
                    // (1 − h)^(K − 1) in the study at the last one.
                    1.0 - (1.0 - v).powf(1.0 / (visits.len().max(2) - 1) as f64)
                }
            };
            arms.push(Arm {
                missed: general_of(&missed, level.as_deref()),
                level,
                share,
                times: visits,
                dropout: hazard,
            });
        }
        let mut residual_phi = Vec::new();
        if let Some((s, at)) = structure {
            let longest = arms.iter().map(|a| a.times.len()).max().unwrap_or(1);
            let levels: Vec<&str> = arms.iter().filter_map(|a| a.level.as_deref()).collect();
            match self.bind_structure(
                s,
                at,
                &subject.text,
                &time,
                group.as_deref(),
                &levels,
                longest,
            ) {
                Some((r, phi)) => {
                    spec.residual = Some(r);
                    residual_phi = phi;
                }
                None => return None,
            }
        }
        Some(PowerDesign {
            formula: formula.clone(),
            spec,
            subject: subject.clone(),
            time,
            group,
            arms,
            fixed,
            random: random_names,
            covariance,
            residual_sd,
            residual_phi,
            family,
            covariates: covariates
                .into_iter()
                .map(|(n, distribution)| Covariate {
                    name: n.text,
                    distribution,
                })
                .collect(),
            span,
        })
    }
}

impl Power {
    /// The `subjects` line of a design block.
    fn source_subjects(&self) -> Option<&PowerItem> {
        match &self.source {
            PowerSource::Design { items, .. } => items
                .iter()
                .find(|i| matches!(i.kind, PowerItemKind::Subjects(_))),
            PowerSource::Model(_) => None,
        }
    }
}

/// A sum of shares as it reads best: `0.9`, `1.05`.
fn shown(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A design's residual structure as written, its values checked; bound to the design's
/// variables by [`Checker::bind_structure`].
enum Structure {
    Ar1(f64),
    Car1(f64),
    CompoundSymmetry(f64, Span),
    VarIdent(Vec<(Name, f64)>),
}

/// `ar1 0.5`, `car1 0.6`, `cs 0.3` or `varident "b" 1.5, …`, checked without the design.
fn residual_structure(s: &ResidualStructureItem) -> Result<Structure, SpecDiagnostic> {
    let kind = s.kind.text.to_ascii_lowercase();
    if !STRUCTURES.contains(&kind.as_str()) {
        return Err(invalid(
            s.kind.span,
            format!("`{}` is not a residual structure", s.kind.text),
            "expected ar1, car1, cs or varident",
        )
        .help(format!(
            "{}; ar1 PHI: AR(1) over each subject's visits, car1 PHI: correlation PHI per unit of time, cs RHO: compound symmetry, varident \"LEVEL\" RATIO, …: a residual SD per group",
            suggest(&kind, "structure", &STRUCTURES)
        )));
    }
    if kind == "varident" {
        if s.ratios.is_empty() {
            return Err(invalid(s.span, "varident needs each group's SD ratio", "no ratios")
                .help("give the later groups' residual SDs as ratios to the first group's: `residual sd 1 varident \"b\" 1.5`"));
        }
        let mut out: Vec<(Name, f64)> = Vec::new();
        for (level, ratio) in &s.ratios {
            if let Some((first, _)) = out.iter().find(|(l, _)| l.text == level.text) {
                return Err(SpecDiagnostic::listed_twice("level", level, first));
            }
            out.push((level.clone(), positive(ratio, "an SD ratio")?));
        }
        return Ok(Structure::VarIdent(out));
    }
    let Some(value) = s.value.as_ref().filter(|_| s.ratios.is_empty()) else {
        return Err(invalid(
            s.span,
            format!("{kind} takes one number, its correlation"),
            "expected one number",
        )
        .help(format!("e.g. `residual sd 1 {kind} 0.5`")));
    };
    let v = number(value)?;
    let (ok, range) = match kind.as_str() {
        "car1" => (v > 0.0 && v < 1.0, "above 0 and below 1"),
        _ => (v > -1.0 && v < 1.0, "between −1 and 1 (exclusive)"),
    };
    if !ok {
        return Err(invalid(
            value.span,
            format!("the {kind} correlation must be {range}, not {}", value.text),
            format!("expected a correlation {range}"),
        ));
    }
    Ok(match kind.as_str() {
        "ar1" => Structure::Ar1(v),
        "car1" => Structure::Car1(v),
        _ => Structure::CompoundSymmetry(v, value.span),
    })
}

/// `family binomial`, `family poisson` or `family negative-binomial theta 2`, each with an
/// optional `link`.
fn design_family(name: &Name, settings: &[(Name, Name)]) -> Result<(Family, Link), SpecDiagnostic> {
    let lower = name.text.to_ascii_lowercase();
    let mut theta: Option<f64> = None;
    let mut link: Option<(Link, Span)> = None;
    for (key, value) in settings {
        match key.text.as_str() {
            "theta" if lower == "negative-binomial" => {
                theta = Some(positive(value, "the negative binomial's θ")?)
            }
            "link" => {
                let l = Link::parse(&value.text).ok_or_else(|| {
                    invalid(value.span, format!("`{}` is not a link", value.text), "expected logit, probit, cloglog or log")
                })?;
                link = Some((l, value.span));
            }
            other => {
                return Err(invalid(key.span, format!("`{other}` is not a setting of family {}", name.text), "not a setting here")
                    .help("a family takes `link LINK`, and the negative binomial its `theta T` (Var(y) = μ + μ²/θ)"))
            }
        }
    }
    let family = match lower.as_str() {
        "binomial" => Family::Binomial,
        "poisson" => Family::Poisson,
        "negative-binomial" => Family::NegativeBinomial {
            theta: theta.ok_or_else(|| {
                invalid(name.span, "the negative binomial needs its θ", "no `theta`").help(
                    "give the dispersion, Var(y) = μ + μ²/θ: `family negative-binomial theta 2`",
                )
            })?,
        },
        _ => {
            return Err(invalid(
                name.span,
                format!("`{}` is not a family", name.text),
                "expected binomial, poisson or negative-binomial",
            )
            .help(suggest(&lower, "family", &FAMILIES)))
        }
    };
    let link = match link {
        Some((l, at)) if !family.allows(l) => {
            return Err(invalid(
                at,
                format!(
                    "family {} does not take the {} link",
                    family.name(),
                    l.name()
                ),
                "not this family's link",
            ))
        }
        Some((l, _)) => l,
        None => family.default_link(),
    };
    Ok((family, link))
}

impl Checker<'_> {
    /// The engine's residual structure of a design, over its subjects (AR(1), CAR(1) in its
    /// time, compound symmetry) or its groups (varident), with φ in the engine's order.
    #[allow(clippy::too_many_arguments)]
    fn bind_structure(
        &mut self,
        s: Structure,
        at: Span,
        subject: &str,
        time: &str,
        group: Option<&str>,
        levels: &[&str],
        longest: usize,
    ) -> Option<(ResidualSpec, Vec<f64>)> {
        let group_of = || subject.to_string();
        Some(match s {
            Structure::Ar1(phi) => (ResidualSpec::Ar1 { group: group_of() }, vec![phi]),
            Structure::Car1(phi) => (
                ResidualSpec::Car1 {
                    time: time.to_string(),
                    group: group_of(),
                },
                vec![phi],
            ),
            Structure::CompoundSymmetry(rho, value_at) => {
                let least = -1.0 / (longest.max(2) - 1) as f64;
                if rho <= least {
                    self.push(invalid(value_at, format!("with {longest} visits compound symmetry needs a correlation above {}", shown(least)), "not positive definite")
                        .help("the correlation of m exchangeable residuals must exceed −1/(m − 1)"));
                    return None;
                }
                (
                    ResidualSpec::CompoundSymmetry { group: group_of() },
                    vec![rho],
                )
            }
            Structure::VarIdent(ratios) => {
                let Some(group) = group else {
                    self.push(invalid(at, "varident gives each group its residual SD, but the design has no groups", "no `groups`")
                        .help("add `groups`, or leave out `varident`"));
                    return None;
                };
                for (level, _) in &ratios {
                    if level.text == levels[0] {
                        self.push(
                            invalid(
                                level.span,
                                format!(
                                    "`{}` is the first group: its residual SD is `sd`",
                                    level.text
                                ),
                                "the reference group",
                            )
                            .help(
                                "give only the later groups' SDs, as ratios to the first group's",
                            ),
                        );
                        return None;
                    }
                    if !levels.contains(&level.text.as_str()) {
                        self.push(
                            invalid(
                                level.span,
                                format!("`{}` is not a group of the design", level.text),
                                "not among `groups`",
                            )
                            .help(suggest(
                                &level.text,
                                "group",
                                levels,
                            )),
                        );
                        return None;
                    }
                }
                let phi = levels[1..]
                    .iter()
                    .map(|l| {
                        ratios
                            .iter()
                            .find(|(n, _)| n.text == *l)
                            .map_or(1.0, |(_, r)| *r)
                    })
                    .collect();
                (
                    ResidualSpec::VarIdent {
                        factor: group.to_string(),
                    },
                    phi,
                )
            }
        })
    }
}
