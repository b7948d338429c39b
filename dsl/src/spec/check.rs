//! The checks that need no data: one data statement with known settings, formulas that
//! expand, valid model options, unique names, models that exist wherever they are used,
//! comparisons that make sense, and aggregates that have the subject and time they need.

use mixspec_engine::family::{Family, Link};
use mixspec_engine::fit::glmm::MAX_NAGQ;
use mixspec_engine::inference::REPLICATES;
use mixspec_engine::spec::{CovarianceType, ResidualSpec};

use mixspec_engine::spec::ModelSpec;

use super::ast::{
    Aggregate, Compare, Data, Explained, Expr, ExprKind, Function, Label, Model, Name, Plot,
    PowerSource, Prepare, Report, Setting, Span, Statement, StatementKind, Table, TableRow,
};
use super::diagnostic::{suggest, Diagnostics, SpecDiagnostic, SpecErrorKind};
use super::parse::Parsed;
use super::{BootstrapOptions, ColumnUse, DataSource, Generalized, Inference, ModelDef, Spec};
use crate::formula;
pub(super) use crate::formula::column_uses;

/// The kinds of plot there are.
const PLOTS: [&str; 1] = ["trajectories"];
const DATA_SETTINGS: [&str; 2] = ["subject", "time"];
const MODEL_OPTIONS: [&str; 10] = [
    "method",
    "covariance",
    "residual",
    "df",
    "intervals",
    "bootstrap",
    "seed",
    "family",
    "link",
    "nagq",
];
/// The families of generalized models, as `mixspec fit --family` names them.
const FAMILIES: [&str; 3] = ["binomial", "poisson", "negative-binomial"];
const LINKS: [&str; 4] = ["logit", "probit", "cloglog", "log"];
const TABLE_OPTIONS: [&str; 1] = ["ns"];
const DF_METHODS: [&str; 2] = ["satterthwaite", "kenward-roger"];
const INTERVALS: [&str; 1] = ["profile"];
/// The seed of a bootstrap without `seed`, as `mixspec fit`'s default.
const DEFAULT_SEED: u64 = 1;

/// A model's options, applied.
struct Options {
    reml: bool,
    covariance: Option<CovarianceType>,
    /// With where it was written.
    residual: Option<(ResidualSpec, Span)>,
    inference: Inference,
    /// `[family …]` (with `link` and `nagq`), and where `nagq` was written.
    generalized: Option<(Generalized, Option<Span>)>,
}

/// A family by its name in `[family …]`.
fn family_named(name: &str) -> Option<Family> {
    match name {
        "binomial" => Some(Family::Binomial),
        "poisson" => Some(Family::Poisson),
        // θ = 1 is where the estimation of the negative binomial's θ starts, as `fit`'s.
        "negative-binomial" => Some(Family::NegativeBinomial { theta: 1.0 }),
        _ => None,
    }
}

pub(super) struct Checker<'a> {
    src: &'a str,
    diagnostics: &'a mut Diagnostics,
    /// Models and variables defined by statements that could not be read or checked.
    broken_models: Vec<String>,
    broken_variables: Vec<String>,
    /// The names of reports, tables and descriptions so far: the stems of their files.
    output_names: Vec<Name>,
}

pub(super) fn check(src: &str, parsed: Parsed, diagnostics: &mut Diagnostics) -> Spec {
    let mut c = Checker {
        src,
        diagnostics,
        broken_models: parsed.broken_models,
        broken_variables: parsed.broken_variables,
        output_names: Vec::new(),
    };
    let statements = parsed.statements;
    // A spec of a priori power designs alone simulates its data: it reads none.
    let needs_data = statements.iter().any(|s| {
        !matches!(&s.kind, StatementKind::Power(p) if matches!(p.source, PowerSource::Design { .. }))
    });
    let data = c.data(&statements, parsed.bad_data || !needs_data);
    let mut spec = Spec {
        data,
        steps: Vec::new(),
        models: Vec::new(),
        comparisons: Vec::new(),
        explained: Vec::new(),
        reports: Vec::new(),
        plots: Vec::new(),
        tables: Vec::new(),
        describes: Vec::new(),
        powers: Vec::new(),
        labels: Vec::new(),
        unchecked: Vec::new(),
    };
    // Data preparation and models first: the statements after them refer to models anywhere
    // in the file.
    let mut derived: Vec<&Name> = Vec::new();
    for s in &statements {
        match &s.kind {
            StatementKind::Prepare(step) if c.prepare(step, spec.data.as_ref(), &mut derived) => {
                spec.steps.push(step.clone());
            }
            StatementKind::Model(m) => {
                if let Some(def) = c.model(m, s.span, spec.data.as_ref(), &spec.models) {
                    spec.models.push(def);
                }
            }
            _ => {}
        }
    }
    for s in &statements {
        match &s.kind {
            StatementKind::Compare(x) if c.compare(x, s.span, &spec.models) => {
                spec.comparisons.push(x.clone());
            }
            StatementKind::Explained(x) if c.explained(x, &spec.models) => {
                spec.explained.push(x.clone());
            }
            StatementKind::Report(x) if c.report(x, &spec.models) => {
                spec.reports.push(x.clone());
            }
            StatementKind::Table(x) if c.table(x, spec.data.as_ref(), &spec.models) => {
                spec.tables.push(x.clone());
            }
            StatementKind::Describe(x) if c.output_name(&x.name) => {
                spec.describes.push(x.clone());
            }
            StatementKind::Plot(x) if c.plot(x, spec.data.as_ref(), &spec.models, &spec.plots) => {
                spec.plots.push(x.clone());
            }
            StatementKind::Power(x) => {
                if let Some(def) = c.power(x, s.span, &spec.models, &spec.powers) {
                    spec.powers.push(def);
                }
            }
            StatementKind::Label(x) if c.label(x, &spec.labels) => {
                spec.labels.push(x.clone());
            }
            _ => {}
        }
    }
    spec.unchecked = c.broken_variables;
    spec
}

impl Checker<'_> {
    pub(super) fn push(&mut self, problem: SpecDiagnostic) {
        self.diagnostics.push(problem);
    }

    pub(super) fn duplicate(&mut self, what: &str, name: &Name, first: &Name) {
        self.push(
            SpecDiagnostic::new(
                SpecErrorKind::Duplicate,
                name.span,
                format!("{what} `{}` is defined twice", name.text),
                "defined again here",
            )
            .also(first.span, "first defined here")
            .help(format!("give each {what} its own name")),
        );
    }

    /// The one data statement and its settings.
    fn data(&mut self, statements: &[Statement], bad_data: bool) -> Option<DataSource> {
        let mut found: Vec<(&Data, Span)> = statements
            .iter()
            .filter_map(|s| match &s.kind {
                StatementKind::Data(d) => Some((d, s.span)),
                _ => None,
            })
            .collect();
        if found.is_empty() {
            // A data statement that did not parse has already been reported.
            if !bad_data {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Data,
                        Span::new(0, 0),
                        "the spec has no data statement",
                        "expected `data \"FILE.csv\"`",
                    )
                    .help("start the file with the data it analyses, e.g. `data \"cohort.csv\" { subject patient; time months }`"),
                );
            }
            return None;
        }
        let (data, _) = found.remove(0);
        for (_, span) in &found {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Data,
                    *span,
                    "a spec reads one data file",
                    "second data statement",
                )
                .also(data.path.span, "the data is already read here")
                .help("keep one data statement; derive the variables you need from it"),
            );
        }
        let mut source = DataSource {
            path: data.path.clone(),
            subject: None,
            time: None,
        };
        let mut seen: Vec<&Name> = Vec::new();
        for Setting { key, value } in &data.settings {
            if let Some(first) = seen.iter().find(|k| k.text == key.text) {
                self.duplicate("setting", key, first);
                continue;
            }
            seen.push(key);
            match key.text.as_str() {
                "subject" => source.subject = Some(value.clone()),
                "time" => source.time = Some(value.clone()),
                _ => self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        key.span,
                        format!("unknown data setting `{}`", key.text),
                        "not a data setting",
                    )
                    .help(suggest(&key.text, "data setting", &DATA_SETTINGS)),
                ),
            }
        }
        Some(source)
    }

    /// Checks a data preparation statement; `false` when it cannot be used.
    fn prepare<'s>(
        &mut self,
        step: &'s Prepare,
        data: Option<&DataSource>,
        derived: &mut Vec<&'s Name>,
    ) -> bool {
        match step {
            Prepare::Instrument { when, .. } => when.as_ref().is_none_or(|e| self.expr(e, data)),
            Prepare::Derive { name, expr } => {
                let ok = self.expr(expr, data);
                self.derived(name, ok, derived)
            }
            Prepare::Predictor { name, columns, .. } => {
                let mut ok = true;
                for (i, c) in columns.iter().enumerate() {
                    if let Some(first) = columns[..i].iter().find(|f| f.text == c.text) {
                        self.push(
                            SpecDiagnostic::listed_twice("column", c, first)
                                .help("each input of the predictor takes its own column"),
                        );
                        ok = false;
                    }
                }
                self.derived(name, ok, derived)
            }
            Prepare::Factor {
                levels, reference, ..
            } => {
                let mut ok = true;
                if let Some(levels) = levels {
                    for (i, l) in levels.iter().enumerate() {
                        if let Some(first) = levels[..i].iter().find(|f| f.text == l.text) {
                            self.duplicate("level", l, first);
                            ok = false;
                        }
                    }
                    if let Some(r) = reference {
                        if !levels.iter().any(|l| l.text == r.text) {
                            let names: Vec<&str> = levels.iter().map(|l| l.text.as_str()).collect();
                            self.push(
                                SpecDiagnostic::new(
                                    SpecErrorKind::UnknownLevel,
                                    r.span,
                                    format!(
                                        "the reference level `{}` is not among the levels",
                                        r.text
                                    ),
                                    "not a listed level",
                                )
                                .help(suggest(&r.text, "level", &names)),
                            );
                            ok = false;
                        }
                    }
                }
                ok
            }
            Prepare::Numeric { .. } => true,
        }
    }

    /// Records a derived variable's name, reporting a second definition; `ok` says whether
    /// its statement is otherwise usable. `false` when it is not.
    fn derived<'s>(&mut self, name: &'s Name, mut ok: bool, derived: &mut Vec<&'s Name>) -> bool {
        if let Some(first) = derived.iter().find(|d| d.text == name.text) {
            self.duplicate("derived variable", name, first);
            ok = false;
        } else {
            derived.push(name);
        }
        if !ok {
            self.broken_variables.push(name.text.clone());
        }
        ok
    }

    /// Checks an expression's aggregates against the data statement; `false` on a problem.
    fn expr(&mut self, expr: &Expr, data: Option<&DataSource>) -> bool {
        let Some(data) = data else {
            return true;
        };
        let mut ok = true;
        let mut problems = Vec::new();
        expr.walk(&mut |e| {
            let ExprKind::Call {
                function: Function::Aggregate(a),
                ..
            } = e.kind
            else {
                return;
            };
            let name = Function::Aggregate(a).name();
            let missing = if data.subject.is_none() {
                Some((
                    "subject",
                    format!("`{name}()` summarises each subject, but the data statement names no subject column"),
                ))
            } else if data.time.is_none() && matches!(a, Aggregate::First | Aggregate::Last) {
                Some((
                    "time",
                    format!("`{name}()` takes the value at the {} time, but the data statement names no time column",
                        if a == Aggregate::First { "earliest" } else { "latest" }),
                ))
            } else {
                None
            };
            if let Some((setting, message)) = missing {
                problems.push(
                    SpecDiagnostic::new(SpecErrorKind::MissingSetting, e.span, message, format!("needs `{setting}`"))
                        .also(data.path.span, format!("add `{{ {setting} COLUMN }}` after this"))
                        .help(format!("name the column in the data statement, e.g. `data \"{}\" {{ subject patient; time months }}`", data.path.text)),
                );
            }
        });
        for p in problems {
            ok = false;
            self.push(p);
        }
        ok
    }

    /// Expands a model's formula and applies its options.
    fn model(
        &mut self,
        m: &Model,
        span: Span,
        data: Option<&DataSource>,
        models: &[ModelDef],
    ) -> Option<ModelDef> {
        let filter_ok = m.filter.as_ref().is_none_or(|f| self.expr(f, data));
        let formula_start = m.formula.span.start;
        let shift = |s: Span| Span::new(s.start + formula_start, s.end + formula_start);
        let spec = self.lower_formula(&m.formula).ok_or(());
        let options = self.options(&m.options);
        let duplicate = models.iter().find(|d| d.name.text == m.name.text);
        if let Some(first) = duplicate {
            self.duplicate("model", &m.name, &first.name);
        }
        let (
            Ok(mut spec),
            Some(Options {
                reml,
                covariance,
                residual,
                inference,
                generalized,
            }),
            true,
            None,
        ) = (spec, options, filter_ok, duplicate)
        else {
            if duplicate.is_none() {
                self.broken_models.push(m.name.text.clone());
            }
            return None;
        };
        let mut columns: Vec<ColumnUse> = formula::column_uses(&m.formula.text)
            .into_iter()
            .map(|u| ColumnUse {
                span: shift(u.span),
                ..u
            })
            .collect();
        if let Some((residual, at)) = residual {
            let time = match &residual {
                ResidualSpec::Car1 { time, .. } => Some(time.clone()),
                _ => None,
            };
            columns.extend(residual.columns().into_iter().map(|c| ColumnUse {
                numeric: Some(c) == time.as_deref(),
                name: c.to_string(),
                span: at,
            }));
            spec.residual = Some(residual);
        }
        if !self.generalized_model(m, &spec, generalized) {
            self.broken_models.push(m.name.text.clone());
            return None;
        }
        if spec.random.is_empty() && spec.residual.is_none() {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::NoRandomEffects,
                    m.formula.span,
                    format!("model `{}` has no random effects", m.name.text),
                    "no `( … | group)` term",
                )
                .help("add a random-effect term such as `(1 | subject)`, or a residual structure: `[residual \"ar1(subject)\"]`"),
            );
            self.broken_models.push(m.name.text.clone());
            return None;
        }
        // Reports show the formula on one line, however it was written.
        spec.formula = m
            .formula
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(kind) = covariance {
            spec.random.iter_mut().for_each(|r| r.covariance = kind);
        }
        // A binomial response may be a two-level factor (its first level is failure, as
        // in R); `cbind()`'s counts stay numbers.
        if matches!(generalized, Some((g, _)) if g.family == Family::Binomial)
            && spec.failures.is_none()
        {
            for c in columns.iter_mut().filter(|c| c.name == spec.response.label) {
                c.numeric = false;
            }
        }
        Some(ModelDef {
            name: m.name.clone(),
            span,
            formula: m.formula.clone(),
            spec,
            // A generalized model is fitted by maximum likelihood.
            reml: reml && generalized.is_none(),
            family: generalized.map(|(g, _)| g),
            inference,
            filter: m.filter.clone(),
            columns,
        })
    }

    /// What a generalized model's formula must be: quadrature needs one scalar random
    /// effect (lme4's rule), and a `cbind(successes, failures)` response needs the binomial
    /// family. `false` after reporting a problem.
    fn generalized_model(
        &mut self,
        m: &Model,
        spec: &ModelSpec,
        generalized: Option<(Generalized, Option<Span>)>,
    ) -> bool {
        let mut ok = true;
        let binomial = matches!(generalized, Some((g, _)) if g.family == Family::Binomial);
        if let (Some(failures), false) = (&spec.failures, binomial) {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Setting,
                    m.formula.span,
                    format!(
                        "`cbind({}, {})` is a binomial response (successes, failures), but model `{}` {}",
                        spec.response.label,
                        failures.label,
                        m.name.text,
                        match generalized {
                            Some((g, _)) => format!("has the {} family", g.family.name()),
                            None => "is linear".to_string(),
                        }
                    ),
                    "a binomial response",
                )
                .help("add `[family binomial]` to the model's options"),
            );
            ok = false;
        }
        if let Some((g, Some(at))) = generalized.filter(|(g, _)| g.nagq > 1) {
            let scalar_one = spec.random.len() == 1
                && spec.random[0].terms.intercept
                && spec.random[0].terms.terms.is_empty();
            if !scalar_one {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        at,
                        format!(
                            "adaptive quadrature (`nagq {}`) needs exactly one random-effect term with one random effect per level, but model `{}` has {} random-effect term{}{}",
                            g.nagq,
                            m.name.text,
                            spec.random.len(),
                            if spec.random.len() == 1 { "" } else { "s" },
                            if spec.random.len() == 1 { " with more than an intercept" } else { "" },
                        ),
                        "more than one scalar random effect",
                    )
                    .help("lme4's rule: nAGQ > 1 only for a single random intercept `(1 | group)`, whose integral factorises over the groups; leave `nagq` out (the Laplace approximation) for this model"),
                );
                ok = false;
            }
        }
        ok
    }

    /// Expands a formula of the file, reporting its problems where they are in the file.
    pub(super) fn lower_formula(&mut self, formula: &Name) -> Option<ModelSpec> {
        let shift = |s: Span| Span::new(s.start + formula.span.start, s.end + formula.span.start);
        formula::lower(&formula.text)
            .map_err(|p| {
                let mut d = SpecDiagnostic::new(
                    SpecErrorKind::Formula(p.kind),
                    shift(p.span),
                    p.message,
                    p.label,
                );
                if let Some(h) = p.help {
                    d = d.help(h);
                }
                self.push(d);
            })
            .ok()
    }

    /// `[method ML, covariance diag, residual "ar1(g)", df kenward-roger, intervals profile,
    /// bootstrap 1000, seed 1]`, or `None` after reporting a problem.
    fn options(&mut self, options: &[Setting]) -> Option<Options> {
        let mut out = Options {
            reml: true,
            covariance: None,
            residual: None,
            inference: Inference::default(),
            generalized: None,
        };
        let mut family: Option<Family> = None;
        let mut link: Option<Link> = None;
        let mut nagq: Option<(usize, Span)> = None;
        let mut seed: Option<(u64, &Name)> = None;
        let mut ok = true;
        let mut seen: Vec<&Name> = Vec::new();
        for Setting { key, value } in options {
            if let Some(first) = seen.iter().find(|k| k.text == key.text) {
                self.duplicate("option", key, first);
                ok = false;
                continue;
            }
            seen.push(key);
            let bad_value = |expected: &str| {
                SpecDiagnostic::new(
                    SpecErrorKind::Setting,
                    value.span,
                    format!("`{}` is not a valid {}", value.text, key.text),
                    format!("expected {expected}"),
                )
            };
            let lower = value.text.to_ascii_lowercase();
            let problem = match key.text.as_str() {
                "method" => match value.text.to_ascii_uppercase().as_str() {
                    "REML" => None,
                    "ML" => {
                        out.reml = false;
                        None
                    }
                    _ => Some(bad_value("ML or REML").help(
                        "REML (the default, as lme4) estimates variances without bias; ML is needed to compare models whose fixed effects differ",
                    )),
                },
                "covariance" => match CovarianceType::parse(&value.text) {
                    Some(kind) => {
                        out.covariance = Some(kind);
                        None
                    }
                    None => Some(bad_value("un, diag or cs").help(
                        "un: any covariance (lme4's default); diag: independent random effects; cs: compound symmetry",
                    )),
                },
                "residual" => match ResidualSpec::parse(&value.text) {
                    Ok(r) => {
                        out.residual = Some((r, value.span));
                        None
                    }
                    Err(_) => Some(bad_value("a residual structure").help(
                        "write \"ar1(group)\", \"car1(time | group)\", \"cs(group)\" or \"varident(factor)\"",
                    )),
                },
                "df" => match lower.as_str() {
                    "satterthwaite" => None,
                    "kenward-roger" => {
                        out.inference.kenward_roger = true;
                        None
                    }
                    _ => Some(bad_value("satterthwaite or kenward-roger").help(format!(
                        "{}; Satterthwaite's tests come with every model, kenward-roger adds pbkrtest's",
                        suggest(&lower, "method", &DF_METHODS)
                    ))),
                },
                "intervals" => match lower.as_str() {
                    "profile" => {
                        out.inference.profile = true;
                        None
                    }
                    _ => Some(bad_value("profile").help(format!(
                        "{}; for bootstrap intervals write `bootstrap 1000`",
                        suggest(&lower, "kind of interval", &INTERVALS)
                    ))),
                },
                // The same bounds as `mixspec fit --bootstrap`.
                "bootstrap" => match value.text.parse::<usize>() {
                    Ok(n) if REPLICATES.contains(&n) => {
                        out.inference.bootstrap = Some(BootstrapOptions {
                            replicates: n,
                            seed: DEFAULT_SEED,
                        });
                        None
                    }
                    _ => Some(
                        bad_value(&format!(
                            "a whole number of replicates from {} to {}",
                            REPLICATES.start(),
                            REPLICATES.end()
                        ))
                        .help("the number of simulated refits, e.g. `bootstrap 1000`"),
                    ),
                },
                "seed" => match value.text.parse::<u64>() {
                    Ok(s) => {
                        seed = Some((s, key));
                        None
                    }
                    Err(_) => Some(bad_value("a whole number").help(
                        "the seed of the bootstrap's random numbers: the same seed gives the same intervals",
                    )),
                },
                "family" => match family_named(&lower) {
                    Some(f) => {
                        family = Some(f);
                        None
                    }
                    None if lower == "gaussian" => Some(bad_value("binomial, poisson or negative-binomial").help(
                        "a linear (Gaussian) mixed model is the default: leave `family` out",
                    )),
                    None => Some(bad_value("binomial, poisson or negative-binomial").help(format!(
                        "{}; binomial for 0/1 or cbind(successes, failures) responses, poisson and negative-binomial for counts",
                        suggest(&lower, "family", &FAMILIES)
                    ))),
                },
                "link" => match Link::parse(&lower) {
                    Some(l) => {
                        link = Some(l);
                        None
                    }
                    None => Some(bad_value("logit, probit, cloglog or log").help(format!(
                        "{}; binomial takes logit (the default), probit or cloglog, poisson and negative-binomial take log",
                        suggest(&lower, "link", &LINKS)
                    ))),
                },
                "nagq" => match value.text.parse::<usize>() {
                    Ok(n) if (1..=MAX_NAGQ).contains(&n) => {
                        nagq = Some((n, key.span.to(value.span)));
                        None
                    }
                    _ => Some(bad_value(&format!("a whole number of quadrature nodes from 1 to {MAX_NAGQ}")).help(
                        "1 is the Laplace approximation (the default, as lme4's nAGQ = 1); more nodes integrate a single random intercept by adaptive Gauss–Hermite quadrature",
                    )),
                },
                _ => Some(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        key.span,
                        format!("unknown model option `{}`", key.text),
                        "not a model option",
                    )
                    .help(suggest(&key.text, "model option", &MODEL_OPTIONS)),
                ),
            };
            if let Some(p) = problem {
                self.push(p);
                ok = false;
            }
        }
        let option = |name: &str| options.iter().find(|o| o.key.text == name);
        match (seed, &mut out.inference.bootstrap) {
            (Some((s, _)), Some(b)) => b.seed = s,
            (Some((_, key)), None) if option("bootstrap").is_none() => {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        key.span,
                        "`seed` without `bootstrap`",
                        "seeds nothing",
                    )
                    .help("a seed only sets the bootstrap's random numbers: add `bootstrap 1000`, or remove the seed"),
                );
                ok = false;
            }
            _ => {}
        }
        ok &= self.combinations(&out, options);
        match self.family_options(family, link, nagq, &out, options) {
            Some(generalized) => out.generalized = generalized,
            None => ok = false,
        }
        ok.then_some(out)
    }

    /// A generalized model's options, checked against each other and against the options
    /// that belong to linear models: `Some(None)` for a linear model, `None` after
    /// reporting a problem.
    fn family_options(
        &mut self,
        family: Option<Family>,
        link: Option<Link>,
        nagq: Option<(usize, Span)>,
        out: &Options,
        options: &[Setting],
    ) -> Option<Option<(Generalized, Option<Span>)>> {
        let written = |name: &str| {
            options
                .iter()
                .find(|o| o.key.text == name)
                .map(|o| o.key.span.to(o.value.span))
        };
        let mut problems: Vec<(Span, String, &str, String)> = Vec::new();
        let Some(family) = family else {
            // A valid link or nagq without a family (an invalid one is reported already).
            for (option, given) in [("link", link.is_some()), ("nagq", nagq.is_some())] {
                if let (Some(at), true) = (written(option), given) {
                    problems.push((at, format!("`{option}` is an option of generalized models, but this model has no `family`"),
                        "without `family`", "add the response's family, e.g. `[family binomial, link probit]`; a linear model has neither link nor quadrature".to_string()));
                }
            }
            return self.setting_problems(problems).then_some(None);
        };
        let link = match link {
            Some(l) if !family.allows(l) => {
                problems.push((
                    written("link").expect("set by the link option"),
                    format!("the {} family does not take the {} link", family.name(), l.name()),
                    "not a link of this family",
                    "binomial takes logit (the default), probit or cloglog; poisson and negative-binomial take log".to_string(),
                ));
                l
            }
            Some(l) => l,
            None => family.default_link(),
        };
        let reml_written = options
            .iter()
            .find(|o| o.key.text == "method" && o.value.text.eq_ignore_ascii_case("REML"));
        if let Some(at) = reml_written.map(|o| o.key.span.to(o.value.span)) {
            problems.push((at, "REML is not defined for generalized models".to_string(), "with `family`",
                "a generalized model is fitted by maximum likelihood (Laplace or quadrature), as glmer: write `method ML` or leave `method` out".to_string()));
        }
        if let Some((r, at)) = &out.residual {
            problems.push((*at, format!("a residual structure ({}) is not offered with the {} family", r.describe(), family.name()), "with `family`",
                "a generalized model has no residual variance to correlate; model the dependence with random effects, e.g. (1 | subject)".to_string()));
        }
        for option in ["df", "bootstrap"] {
            let asked = match option {
                "df" => out.inference.kenward_roger,
                _ => out.inference.bootstrap.is_some(),
            };
            if let (true, Some(at)) = (asked, written(option)) {
                problems.push((at, format!("`{option}` is not available for generalized models in a spec"), "with `family`",
                    "a generalized model's coefficients get Wald z-tests (glmer's summary()) and, with `intervals profile`, profile-likelihood intervals; `mixspec fit --family … --bootstrap N` gives its bootstrap intervals".to_string()));
            }
        }
        self.setting_problems(problems).then_some(Some((
            Generalized {
                family,
                link,
                nagq: nagq.map_or(1, |(n, _)| n),
            },
            nagq.map(|(_, at)| at),
        )))
    }

    /// Reports each (span, message, label, help); `true` when there were none.
    fn setting_problems(&mut self, problems: Vec<(Span, String, &str, String)>) -> bool {
        let ok = problems.is_empty();
        for (at, message, label, help) in problems {
            self.push(SpecDiagnostic::new(SpecErrorKind::Setting, at, message, label).help(help));
        }
        ok
    }

    /// Inference options the rest of the model's options rule out; `false` when any is.
    fn combinations(&mut self, out: &Options, options: &[Setting]) -> bool {
        let written = |name: &str| options.iter().find(|o| o.key.text == name);
        let mut problems = Vec::new();
        if out.inference.kenward_roger {
            let at = written("df").expect("set by the df option");
            if !out.reml {
                problems.push((
                    at,
                    "Kenward–Roger's method needs a REML fit",
                    "with `method ML`",
                    "remove `method ML`, or keep Satterthwaite's tests (the default)".to_string(),
                ));
            }
            if out.residual.is_some() {
                problems.push((at, "Kenward–Roger's method is not available for models with a residual structure",
                    "with `residual`", "pbkrtest's adjustment assumes independent residuals: keep Satterthwaite's tests (the default)".to_string()));
            }
        }
        let intervals = [
            (
                "intervals",
                out.inference.profile,
                "profile-likelihood intervals are",
            ),
            (
                "bootstrap",
                out.inference.bootstrap.is_some(),
                "the parametric bootstrap is",
            ),
        ];
        for (option, asked, what) in intervals {
            if !asked {
                continue;
            }
            let at = written(option).expect("set by its option");
            if let Some((r, _)) = &out.residual {
                problems.push((at, "intervals on lme4's scale do not apply with a residual structure",
                    "with `residual`", format!("{what} not available for models with a residual structure ({}); fit the model without it for intervals", r.describe())));
            }
            if option == "intervals" && out.covariance == Some(CovarianceType::CompoundSymmetry) {
                problems.push((at, "profile-likelihood intervals are not available for compound-symmetry random effects",
                    "with `covariance cs`", "use `bootstrap 1000` for intervals of this model, or another covariance type".to_string()));
            }
        }
        let ok = problems.is_empty();
        for (at, message, label, help) in problems {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Setting,
                    at.key.span.to(at.value.span),
                    message,
                    label,
                )
                .help(help),
            );
        }
        ok
    }

    /// The model a name refers to; reports it when unknown. `None` also for a model whose
    /// own statement had a problem (already reported).
    pub(super) fn resolve<'m>(
        &mut self,
        name: &Name,
        models: &'m [ModelDef],
    ) -> Option<&'m ModelDef> {
        if let Some(m) = models.iter().find(|m| m.name.text == name.text) {
            return Some(m);
        }
        if !self.broken_models.contains(&name.text) {
            let names: Vec<&str> = models
                .iter()
                .map(|m| m.name.text.as_str())
                .chain(self.broken_models.iter().map(String::as_str))
                .collect();
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::UnknownModel,
                    name.span,
                    format!("unknown model `{}`", name.text),
                    "no model of this name",
                )
                .help(suggest(&name.text, "model", &names)),
            );
        }
        None
    }

    /// Resolves a list of model names, reporting unknown and repeated ones; `None` when any
    /// is unusable.
    fn resolve_all<'m>(
        &mut self,
        names: &[Name],
        models: &'m [ModelDef],
    ) -> Option<Vec<&'m ModelDef>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, n) in names.iter().enumerate() {
            if let Some(first) = names[..i].iter().find(|f| f.text == n.text) {
                self.push(SpecDiagnostic::listed_twice("model", n, first));
                ok = false;
                continue;
            }
            match self.resolve(n, models) {
                Some(m) => out.push(m),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// The `where` text of a model, without blanks, to tell whether two models use the same
    /// rows.
    fn filter_text(&self, m: &ModelDef) -> String {
        m.filter
            .as_ref()
            .map(|f| {
                self.src[f.span.start..f.span.end]
                    .split_whitespace()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn compare(&mut self, x: &Compare, span: Span, models: &[ModelDef]) -> bool {
        let Some(resolved) = self.resolve_all(&x.models, models) else {
            return false;
        };
        if resolved.len() < 2 {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Comparison,
                    span,
                    "compare needs at least two models",
                    "one model",
                )
                .help("list the models to test against each other: `compare simpler, richer`"),
            );
            return false;
        }
        let first = resolved[0];
        for (m, name) in resolved.iter().zip(&x.models).skip(1) {
            if m.family.is_some() != first.family.is_some() {
                fn kind(d: &ModelDef) -> String {
                    match d.family {
                        Some(g) => format!("a generalized model ({})", g.family.name()),
                        None => "a linear model".to_string(),
                    }
                }
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Comparison,
                        name.span,
                        format!("`{}` is {} but `{}` is {}", m.name.text, kind(m), first.name.text, kind(first)),
                        "another kind of model",
                    )
                    .also(x.models[0].span, "compared with this one")
                    .help("a likelihood-ratio test compares likelihoods of the same kind: compare linear models with linear ones, generalized with generalized"),
                );
                return false;
            }
            if self.filter_text(m) != self.filter_text(first) {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Comparison,
                        name.span,
                        format!(
                            "`{}` and `{}` are fitted to different rows",
                            m.name.text, first.name.text
                        ),
                        "its `where` differs",
                    )
                    .also(x.models[0].span, "from this model's")
                    .help("a likelihood-ratio test compares models of the same observations: give them the same `where`"),
                );
                return false;
            }
        }
        true
    }

    fn explained(&mut self, x: &Explained, models: &[ModelDef]) -> bool {
        let listed = self.resolve_all(&x.models, models);
        let reference = self.resolve(&x.reference, models);
        let (Some(listed), Some(reference)) = (listed, reference) else {
            return false;
        };
        let mut ok = true;
        for (m, name) in listed.iter().zip(&x.models) {
            let problem = if let Some(g) = [*m, reference].iter().find(|d| d.family.is_some()) {
                Some((
                    format!("explained variance is not available for generalized models (`{}`)", g.name.text),
                    "a generalized model".to_string(),
                    "explained variance compares random-effect variances of linear models, whose residual variance is estimated; a generalized model's variances are on its link scale".to_string(),
                ))
            } else if m.name.text == reference.name.text {
                Some((
                    format!("`{}` is its own reference", m.name.text),
                    "also the reference".to_string(),
                    "explained variance compares a model with another one: `explained richer vs simpler`".to_string(),
                ))
            } else if m.reml != reference.reml {
                let method = |reml| if reml { "REML" } else { "ML" };
                Some((
                    format!(
                        "`{}` is fitted by {} but its reference `{}` by {}",
                        m.name.text,
                        method(m.reml),
                        reference.name.text,
                        method(reference.reml)
                    ),
                    "fitted differently".to_string(),
                    "variance components are comparable only between fits of the same method: give both the same `[method …]`".to_string(),
                ))
            } else if !components(m)
                .iter()
                .any(|c| components(reference).contains(c))
            {
                Some((
                    format!(
                        "`{}` and `{}` have no random-effect variance in common",
                        m.name.text, reference.name.text
                    ),
                    "nothing to compare".to_string(),
                    "explained variance is the change of each random-effect variance the two models share, e.g. both with `(months | patient)`".to_string(),
                ))
            } else {
                None
            };
            if let Some((message, label, help)) = problem {
                self.push(
                    SpecDiagnostic::new(SpecErrorKind::Comparison, name.span, message, label)
                        .also(x.reference.span, "reference")
                        .help(help),
                );
                ok = false;
            }
        }
        ok
    }

    fn report(&mut self, x: &Report, models: &[ModelDef]) -> bool {
        let models_ok = self.resolve_all(&x.models, models).is_some();
        self.output_name(&x.name) && models_ok
    }

    /// The name of a report, table or description: usable as a file name, and unique among
    /// them all, since each becomes the stem of its files.
    pub(super) fn output_name(&mut self, name: &Name) -> bool {
        let file_safe = !name.text.is_empty()
            && !name.text.starts_with('.')
            && name
                .text
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !file_safe {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Setting,
                    name.span,
                    format!("`{}` cannot name a report", name.text),
                    "not usable as a file name",
                )
                .help("a report's name becomes its file names: use letters, digits, `-`, `_` and `.`, e.g. \"table4\""),
            );
            return false;
        }
        if let Some(first) = self
            .output_names
            .iter()
            .find(|r| r.text.eq_ignore_ascii_case(&name.text))
            .cloned()
        {
            self.duplicate("report", name, &first);
            return false;
        }
        self.output_names.push(name.clone());
        true
    }

    /// A table's rows: the first is a reference; every other row's model is fitted as its
    /// reference is and adds fixed-effect terms to the reference's, and the reference has a
    /// slope on the data's time.
    fn table(&mut self, x: &Table, data: Option<&DataSource>, models: &[ModelDef]) -> bool {
        if let Some(g) = x.rows.iter().find_map(|r| {
            models
                .iter()
                .find(|m| m.name.text == r.model.text && m.family.is_some())
                .map(|_| r)
        }) {
            return self.ratio_table(x, g, models);
        }
        let mut ok = self.output_name(&x.name);
        for (i, Setting { key, value }) in x.options.iter().enumerate() {
            if let Some(first) = x.options[..i].iter().find(|o| o.key.text == key.text) {
                self.push(SpecDiagnostic::listed_twice("option", key, &first.key));
                ok = false;
            } else if key.text != "ns" {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        key.span,
                        format!("unknown table option `{}`", key.text),
                        "not a table option",
                    )
                    .help(suggest(&key.text, "table option", &TABLE_OPTIONS)),
                );
                ok = false;
            } else if !["show", "hide"].contains(&value.text.as_str()) {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Setting,
                        value.span,
                        format!("`{}` is not a valid ns", value.text),
                        "expected show or hide",
                    )
                    .help("`ns show` prints estimates with p ≥ .05 without stars; `ns hide` (the default) prints `ns`, as the seed study's tables do"),
                );
                ok = false;
            }
        }
        let time = data.and_then(|d| d.time.as_ref()).map(|t| t.text.clone());
        if let Some(data) = data.filter(|d| d.time.is_none()) {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::MissingSetting,
                    x.name.span,
                    "a table shows each model's intercept and slope over time, but the data statement names no time column",
                    "needs `time`",
                )
                .also(data.path.span, "add `{ time COLUMN }` after this"),
            );
            ok = false;
        }
        let mut reference: Option<&ModelDef> = None;
        for (i, row) in x.rows.iter().enumerate() {
            if let Some(first) = x.rows[..i].iter().find(|r| r.model.text == row.model.text) {
                self.push(SpecDiagnostic::listed_twice(
                    "model",
                    &row.model,
                    &first.model,
                ));
                ok = false;
                continue;
            }
            let Some(m) = self.resolve(&row.model, models) else {
                ok = false;
                if row.reference {
                    reference = None;
                }
                continue;
            };
            let terms = fixed_terms(m);
            if row.reference {
                reference = Some(m);
                if let Some(time) = time.as_ref().filter(|t| !terms.contains(t)) {
                    self.push(
                        SpecDiagnostic::new(
                            SpecErrorKind::Comparison,
                            row.model.span,
                            format!("reference model `{}` has no slope on `{time}`", m.name.text),
                            "no time term",
                        )
                        .help(format!("a reference row shows the intercept and the slope of `{time}`: give the model the term, e.g. `y ~ {time} + ({time} | subject)`")),
                    );
                    ok = false;
                }
                continue;
            }
            if i == 0 {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Comparison,
                        row.model.span,
                        "the first row of a table must be a reference model",
                        "no reference above this row",
                    )
                    .help(format!(
                        "mark the model the rows below it are compared with: `{} ref`",
                        row.model.text
                    )),
                );
                ok = false;
                continue;
            }
            // A reference that had a problem has been reported already.
            let Some(r) = reference else { continue };
            let method = |reml| if reml { "REML" } else { "ML" };
            let missing: Vec<String> = fixed_terms(r)
                .into_iter()
                .filter(|t| !terms.contains(t))
                .collect();
            let problem = if m.reml != r.reml {
                Some((
                    format!("`{}` is fitted by {} but its reference `{}` by {}", m.name.text, method(m.reml), r.name.text, method(r.reml)),
                    "fitted differently".to_string(),
                    "explained variance and AIC are comparable only between fits of the same method: give both the same `[method …]`".to_string(),
                ))
            } else if !missing.is_empty() {
                Some((
                    format!("`{}` lacks the term{} `{}` of its reference `{}`", m.name.text, if missing.len() == 1 { "" } else { "s" }, missing.join("`, `"), r.name.text),
                    "does not extend the reference".to_string(),
                    "a row shows the terms its model adds to the reference: keep every term of the reference in the model".to_string(),
                ))
            } else if terms.len() == fixed_terms(r).len() {
                Some((
                    format!("`{}` adds no fixed effect to its reference `{}`", m.name.text, r.name.text),
                    "nothing to show".to_string(),
                    format!("a row shows the predictor the model adds; a model of its own is a reference: `{} ref`", m.name.text),
                ))
            } else if !components(m).iter().any(|c| components(r).contains(c)) {
                Some((
                    format!("`{}` and `{}` have no random-effect variance in common", m.name.text, r.name.text),
                    "nothing to compare".to_string(),
                    "explained variance is the change of each random-effect variance the two models share, e.g. both with `(months | patient)`".to_string(),
                ))
            } else {
                None
            };
            if let Some((message, label, help)) = problem {
                let reference_span = x
                    .rows
                    .iter()
                    .find(|row| row.model.text == r.name.text)
                    .map(|row| row.model.span);
                let mut d =
                    SpecDiagnostic::new(SpecErrorKind::Comparison, row.model.span, message, label)
                        .help(help);
                if let Some(span) = reference_span {
                    d = d.also(span, "reference");
                }
                self.push(d);
                ok = false;
            }
        }
        ok
    }

    /// A table of generalized models (`first` is one of its rows that is): each row shows
    /// every coefficient of its model, exponentiated where the link makes that a ratio, so
    /// every row's model must be generalized and no row is a reference.
    fn ratio_table(&mut self, x: &Table, first: &TableRow, models: &[ModelDef]) -> bool {
        let mut ok = self.output_name(&x.name);
        for (i, row) in x.rows.iter().enumerate() {
            if let Some(before) = x.rows[..i].iter().find(|r| r.model.text == row.model.text) {
                self.push(SpecDiagnostic::listed_twice(
                    "model",
                    &row.model,
                    &before.model,
                ));
                ok = false;
                continue;
            }
            let Some(m) = self.resolve(&row.model, models) else {
                ok = false;
                continue;
            };
            if m.family.is_none() {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Comparison,
                        row.model.span,
                        format!("`{}` is a linear model in a table of generalized models", m.name.text),
                        "a linear model",
                    )
                    .also(first.model.span, "a generalized model")
                    .help("a table of generalized models shows odds or rate ratios; put linear models in a table of their own"),
                );
                ok = false;
            } else if row.reference {
                self.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Comparison,
                        row.model.span,
                        "`ref` is not used in a table of generalized models",
                        "marked `ref`",
                    )
                    .help(format!("each row of such a table shows every coefficient of its model as a ratio with its 95% interval; compare models with `compare`, and remove `ref` after `{}`", row.model.text)),
                );
                ok = false;
            }
        }
        ok
    }

    fn plot(
        &mut self,
        x: &Plot,
        data: Option<&DataSource>,
        models: &[ModelDef],
        plots: &[Plot],
    ) -> bool {
        let mut ok = self.resolve_all(&x.models, models).is_some();
        for (i, b) in x.by.iter().enumerate() {
            if let Some(first) = x.by[..i].iter().find(|f| f.text == b.text) {
                self.push(SpecDiagnostic::listed_twice("", b, first));
                ok = false;
            }
        }
        if let Some(name) = &x.name {
            ok &= self.output_name(name);
        }
        if let Err(problems) = super::figure::figure_options(&x.options) {
            for p in problems {
                self.push(p);
            }
            ok = false;
        }
        if !PLOTS.contains(&x.kind.text.as_str()) {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Plot,
                    x.kind.span,
                    format!("unknown kind of plot `{}`", x.kind.text),
                    "not a kind of plot",
                )
                .help(suggest(&x.kind.text, "plot kind", &PLOTS)),
            );
            ok = false;
        }
        if let Some(data) = data.filter(|d| d.time.is_none()) {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::MissingSetting,
                    x.kind.span,
                    "trajectories are drawn over time, but the data statement names no time column",
                    "needs `time`",
                )
                .also(data.path.span, "add `{ time COLUMN }` after this")
                .help(format!(
                    "name the time column in the data statement, e.g. `data \"{}\" {{ time months }}`",
                    data.path.text
                )),
            );
            ok = false;
        }
        if let Some(first) = plots.iter().find(|p| p.file_stem() == x.file_stem()) {
            self.push(
                SpecDiagnostic::new(
                    SpecErrorKind::Duplicate,
                    x.models[0].span,
                    "the same plot is asked for twice",
                    "drawn again here",
                )
                .also(first.models[0].span, "first asked for here")
                .help("name one of them: `… as \"figure2\"`"),
            );
            ok = false;
        }
        ok
    }
}

impl Checker<'_> {
    /// A label is given once per name, and a level once per label; whether the name is a
    /// variable and the levels its levels is checked against the data.
    fn label(&mut self, x: &Label, labels: &[Label]) -> bool {
        let mut ok = true;
        if let Some(first) = labels.iter().find(|l| l.name.text == x.name.text) {
            self.duplicate("label of", &x.name, &first.name);
            ok = false;
        }
        for (i, (level, _)) in x.levels.iter().enumerate() {
            if let Some((first, _)) = x.levels[..i].iter().find(|(l, _)| l.text == level.text) {
                self.push(SpecDiagnostic::listed_twice("level", level, first));
                ok = false;
            }
        }
        ok
    }
}

/// The labels of a model's fixed-effect terms (without the intercept), as R writes them.
fn fixed_terms(m: &ModelDef) -> Vec<String> {
    m.spec.fixed.terms.iter().map(|t| t.label()).collect()
}

/// The random-effect variances a model estimates, as (grouping, effect) pairs.
fn components(m: &ModelDef) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in &m.spec.random {
        let group = r.group_name();
        if r.terms.intercept {
            out.push((group.clone(), "(Intercept)".to_string()));
        }
        out.extend(r.terms.terms.iter().map(|t| (group.clone(), t.label())));
    }
    out
}
