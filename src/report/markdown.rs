//! The Markdown report: an overview of the models, then each model's fixed effects, variance
//! components and fit, then the comparisons, explained variances and plots.

use std::fmt::Write;

use mixspec_analysis::{parameters, Basis, Comparison, Fit, FittedModel};
use mixspec_dsl::spec::ModelDef;

use super::format::{criterion, estimate, p_value, stars};
use super::Report;
use crate::output::intervals::{bootstrap_run, label};
use mixspec_engine::fit::VarCorrRow;
use mixspec_engine::inference::{DfRule, Interval};

pub fn report(r: &Report) -> String {
    let mut s = String::new();
    let checked = r.checked;
    let data = checked
        .spec
        .data
        .as_ref()
        .map_or(String::new(), |d| d.path.text.clone());
    let _ = writeln!(s, "# {}\n", r.name);
    if checked.spec.data.is_some() {
        let _ = writeln!(
            s,
            "Spec `{}`, data `{data}` ({} rows). Fitted by mixspec {}.\n",
            checked.name(),
            checked.data.n_rows(),
            env!("CARGO_PKG_VERSION")
        );
    } else {
        // A spec of power designs alone: its cohorts are simulated, no data is read.
        let _ = writeln!(
            s,
            "Spec `{}`, simulated by mixspec {}.\n",
            checked.name(),
            env!("CARGO_PKG_VERSION")
        );
    }
    if !r.models.is_empty() {
        overview(&mut s, r);
    }
    for (def, fitted) in &r.models {
        model(&mut s, r, def, fitted);
    }
    if !r.comparisons.is_empty() {
        let _ = writeln!(s, "## Model comparisons\n");
        for (names, table) in &r.comparisons {
            comparison(&mut s, names, table);
        }
    }
    if !r.explained.is_empty() {
        let _ = writeln!(s, "## Explained variance\n");
        let _ = writeln!(
            s,
            "Each variance component of a model against the same component of its reference \
             model: the percentage of the reference's variance the model explains \
             (negative when it grew).\n"
        );
        for e in &r.explained {
            let _ = writeln!(s, "### {} vs {}\n", e.model, e.reference);
            let r = &e.reference_fit;
            if r.refitted {
                let _ = writeln!(
                    s,
                    "`{}` has other observations than `{}` as fitted, so `{}` was refitted to \
                     its {} observations ({} subjects; AIC {}) for this comparison.\n",
                    e.model,
                    e.reference,
                    e.reference,
                    r.n_obs,
                    r.n_subjects,
                    criterion(r.aic)
                );
            }
            let mut rows = vec![vec![
                "Group".to_string(),
                "Effect".to_string(),
                format!("Variance in {}", e.reference),
                format!("Variance in {}", e.model),
                "Explained %".to_string(),
            ]];
            for row in &e.rows {
                let value = |v: Option<f64>| v.map_or("—".to_string(), estimate);
                rows.push(vec![
                    row.group.clone(),
                    row.effect.clone(),
                    value(row.reference),
                    value(row.model),
                    row.percent.map_or("—".to_string(), |p| format!("{p:.1}")),
                ]);
            }
            table(&mut s, &rows, &[false, false, true, true, true]);
        }
    }
    if !r.plots.is_empty() {
        let _ = writeln!(s, "## Plots\n");
        for (file, panels) in &r.plots {
            let Some(t) = panels.first() else { continue };
            let by = t.by.as_ref().map_or(String::new(), |b| format!(" by {b}"));
            let responses: Vec<&str> = panels.iter().map(|p| p.response.as_str()).collect();
            let models: Vec<String> = panels.iter().map(|p| format!("`{}`", p.model)).collect();
            let _ = writeln!(
                s,
                "![{} over {} predicted by {}{by}]({file})\n",
                responses.join(", "),
                t.time,
                models.join(", ")
            );
            for note in panels.iter().filter_map(|p| p.scale_note.as_deref()) {
                let _ = writeln!(s, "{note}.\n");
            }
        }
    }
    super::power::markdown(&mut s, r.powers);
    s
}

fn method(reml: bool) -> &'static str {
    if reml {
        "REML"
    } else {
        "ML"
    }
}

fn groups(fitted: &FittedModel) -> String {
    fitted
        .fit
        .groups()
        .iter()
        .map(|(g, n)| format!("{g} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text for a table cell: pipes escaped, in code style.
pub(super) fn code(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

fn overview(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Models\n");
    let mut rows = vec![[
        "Model", "Formula", "Rows", "Method", "Obs.", "Groups", "logLik", "AIC", "BIC",
    ]
    .map(String::from)
    .to_vec()];
    for (def, fitted) in &r.models {
        let fit = &fitted.fit;
        rows.push(vec![
            def.name.text.clone(),
            code(&def.spec.formula),
            r.checked.filter_text(def).map_or("all".to_string(), code),
            fit.generalized()
                .map_or_else(|| method(def.reml).to_string(), super::generalized::method),
            fit.n_obs().to_string(),
            groups(fitted),
            criterion(fit.loglik()),
            criterion(fit.aic()),
            criterion(fit.bic()),
        ]);
    }
    table(
        s,
        &rows,
        &[false, false, false, false, true, false, true, true, true],
    );
}

fn model(s: &mut String, r: &Report, def: &ModelDef, fitted: &FittedModel) {
    let fit = match &fitted.fit {
        Fit::Linear(f) => f,
        Fit::Generalized(g) => {
            return super::generalized::model(s, r, def, &groups(fitted), g);
        }
    };
    let _ = writeln!(s, "## {}\n", def.name.text);
    let rows = r
        .checked
        .filter_text(def)
        .map_or(String::new(), |w| format!(", where `{w}`"));
    let _ = writeln!(
        s,
        "`{}` fitted by {}{rows}: {} observations ({} left out for missing values), groups: {}. \
         logLik {}, AIC {}, BIC {}, {} parameters.\n",
        def.spec.formula,
        if def.reml {
            "REML"
        } else {
            "maximum likelihood"
        },
        fit.n_obs,
        fit.n_dropped,
        groups(fitted),
        criterion(fit.loglik),
        criterion(fit.aic),
        criterion(fit.bic),
        parameters(&fitted.fit)
    );
    let tests = fit.t_tests.as_deref();
    let _ = writeln!(
        s,
        "Fixed effects{}:\n",
        fit.df_rule()
            .map(|rule| format!(" (t-tests with {})", rule.describe()))
            .unwrap_or_default()
    );
    let se = fit.std_errors();
    let kr = fitted.inference.kenward_roger.as_ref();
    let mut header = ["Term", "Estimate", "SE", "df", "t", "p", ""]
        .map(String::from)
        .to_vec();
    if kr.is_some() {
        header.extend(["SE (KR)", "df (KR)", "p (KR)"].map(String::from));
    }
    let mut rows = vec![header];
    for (j, name) in fit.fixed_names.iter().enumerate() {
        let test = tests.map(|t| t[j]);
        let mut row = vec![
            code(name),
            estimate(fit.beta[j]),
            estimate(se[j]),
            test.map_or("—".into(), |t| format!("{:.1}", t.df)),
            format!("{:.2}", fit.beta[j] / se[j]),
            test.map_or("—".into(), |t| p_value(t.p)),
            test.map_or("", |t| stars(t.p)).to_string(),
        ];
        if let Some(k) = kr {
            let t = k.coefficients[j];
            row.extend([
                estimate(k.std_errors[j]),
                format!("{:.1}", t.df),
                p_value(t.p),
            ]);
        }
        rows.push(row);
    }
    let mut right = vec![false, true, true, true, true, true, false];
    right.resize(rows[0].len(), true);
    table(s, &rows, &right);
    let _ = writeln!(
        s,
        "R² (Nakagawa): marginal {:.3}, conditional {:.3}.\n",
        fit.r_squared.marginal, fit.r_squared.conditional
    );
    anova(s, fitted);
    intervals(s, fitted);

    let _ = writeln!(s, "Variance components:\n");
    variance_components(s, &fit.varcorr());
    if let Some(res) = &fit.residual_structure {
        let values: Vec<String> = res
            .names
            .iter()
            .zip(&res.values)
            .map(|(n, v)| format!("{n} = {}", estimate(*v)))
            .collect();
        let _ = writeln!(
            s,
            "Residual structure: {} ({}).\n",
            res.description,
            values.join(", ")
        );
    }
    for w in &fit.warnings {
        let _ = writeln!(s, "> Warning: {w}\n");
    }
}

/// The Type III tables: Satterthwaite's (or gls's residual df), and Kenward–Roger's beside it
/// when asked for.
fn anova(s: &mut String, fitted: &FittedModel) {
    let tests = &fitted.inference;
    if tests.anova.is_empty() {
        return;
    }
    let kr = tests.kenward_roger.as_ref().map(|k| &k.anova);
    let _ = writeln!(
        s,
        "Type III tests of the fixed-effect terms ({}{}):\n",
        fitted
            .fit
            .linear()
            .and_then(|f| f.df_rule())
            .map_or("Satterthwaite's degrees of freedom", DfRule::describe),
        if kr.is_some() {
            "; Kenward–Roger's F and df beside"
        } else {
            ""
        }
    );
    let mut header = ["Term", "NumDF", "DenDF", "F", "p", ""]
        .map(String::from)
        .to_vec();
    if kr.is_some() {
        header.extend(["DenDF (KR)", "F (KR)", "p (KR)"].map(String::from));
    }
    let mut rows = vec![header];
    for (i, t) in tests.anova.iter().enumerate() {
        let mut row = vec![
            code(&t.term),
            t.num_df.to_string(),
            format!("{:.1}", t.den_df),
            format!("{:.2}", t.f),
            p_value(t.p),
            stars(t.p).to_string(),
        ];
        if let Some(k) = kr.and_then(|k| k.get(i)) {
            row.extend([
                format!("{:.1}", k.den_df),
                format!("{:.2}", k.f),
                p_value(k.p),
            ]);
        }
        rows.push(row);
    }
    let mut right = vec![false, true, true, true, true, false];
    right.resize(rows[0].len(), true);
    table(s, &rows, &right);
}

/// Profile and bootstrap intervals side by side, one row per parameter.
fn intervals(s: &mut String, fitted: &FittedModel) {
    let tests = &fitted.inference;
    let sets: Vec<(String, &[Interval])> = tests
        .profile
        .iter()
        .map(|p| ("Profile".to_string(), p.as_slice()))
        .chain(tests.bootstrap.iter().map(|b| {
            (
                format!("Bootstrap ({})", bootstrap_run(b)),
                b.intervals.as_slice(),
            )
        }))
        .collect();
    let Some((_, first)) = sets.first() else {
        return;
    };
    let _ = writeln!(s, "95% confidence intervals:\n");
    let mut header = vec!["Parameter".to_string()];
    header.extend(sets.iter().map(|(name, _)| name.clone()));
    let mut rows = vec![header];
    for (i, interval) in first.iter().enumerate() {
        let mut row = vec![code(&label(&interval.parameter))];
        row.extend(sets.iter().map(|(_, set)| {
            set.get(i).map_or("—".to_string(), |x| {
                format!("[{}, {}]", estimate(x.lower), estimate(x.upper))
            })
        }));
        rows.push(row);
    }
    let mut right = vec![false];
    right.resize(rows[0].len(), true);
    table(s, &rows, &right);
}

fn comparison(s: &mut String, names: &[&str], c: &Comparison) {
    let _ = writeln!(s, "### {}\n", names.join(" vs "));
    let basis = match c.basis {
        Basis::MaximumLikelihood => "maximum-likelihood fits",
        Basis::Reml => "REML criteria (the models share their fixed effects)",
        Basis::RefittedMl => {
            "models refitted by maximum likelihood, as lme4's anova() does, because REML \
             likelihoods of different fixed effects are not comparable"
        }
    };
    let _ = writeln!(
        s,
        "Likelihood-ratio tests of each model against the one above it, on {basis}.\n"
    );
    if c.boundary {
        let _ = writeln!(
            s,
            "Boundary tests: each model adds one random effect (its variance and its Df − 1 \
             covariances) to the one above, whose variance is 0 under the null, on the edge of \
             its range; p is from the 50:50 mixture of χ²(Df − 1) and χ²(Df) (Self & Liang \
             1987; Stram & Lee 1994; χ²(0) is the point mass at 0): at most half the naive χ²(Df) p.\n"
        );
    }
    let mut rows = vec![[
        "Model", "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "p", "ΔAIC", "ΔBIC",
    ]
    .map(String::from)
    .to_vec()];
    for row in &c.rows {
        let test = row.test;
        rows.push(vec![
            row.model.clone(),
            row.parameters.to_string(),
            criterion(row.aic),
            criterion(row.bic),
            criterion(row.loglik),
            criterion(row.deviance),
            test.map_or(String::new(), |t| format!("{:.2}", t.chi_square)),
            test.map_or(String::new(), |t| t.df.to_string()),
            test.map_or(String::new(), |t| {
                format!("{} {}", p_value(t.p), stars(t.p))
                    .trim_end()
                    .to_string()
            }),
            test.map_or(String::new(), |t| format!("{:.1}", t.delta_aic)),
            test.map_or(String::new(), |t| format!("{:.1}", t.delta_bic)),
        ]);
    }
    table(
        s,
        &rows,
        &[
            false, true, true, true, true, true, true, true, true, true, true,
        ],
    );
    for row in c.rows.iter().filter(|r| r.test.is_some_and(|t| t.boundary)) {
        let _ = writeln!(
            s,
            "{}: the Poisson model above it is this negative binomial's limit θ → ∞, on the \
             boundary of its parameter space, so p is from the 50:50 mixture of χ² with one \
             degree of freedom fewer and χ² with the difference (Self and Liang, 1987): for \
             the one parameter θ, half the χ²₁ upper tail.\n",
            row.model
        );
    }
}

/// A Markdown table; the first row is the header, `right` aligns numeric columns.
pub(super) fn table(s: &mut String, rows: &[Vec<String>], right: &[bool]) {
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(s, "{}", line(&rows[0]));
    let rule: Vec<String> = right
        .iter()
        .map(|&r| if r { "---:".into() } else { "---".into() })
        .collect();
    let _ = writeln!(s, "{}", line(&rule));
    for row in &rows[1..] {
        let _ = writeln!(s, "{}", line(row));
    }
    s.push('\n');
}

/// The variance components as a table (group, effect, variance, SD, correlation): one row
/// per variance and per covariance, as lme4's `VarCorr`; linear and generalized models share
/// it.
pub(super) fn variance_components(s: &mut String, varcorr: &[VarCorrRow]) {
    let mut rows = vec![["Group", "Effect", "Variance", "SD", "Correlation"]
        .map(String::from)
        .to_vec()];
    for v in varcorr {
        let effect = match (&v.var1, &v.var2) {
            (Some(a), Some(b)) => format!("{a} × {b}"),
            (Some(a), None) => a.clone(),
            _ => String::new(),
        };
        let covariance = v.var2.is_some();
        rows.push(vec![
            v.group.clone(),
            effect,
            estimate(v.vcov),
            if covariance {
                String::new()
            } else {
                estimate(v.sdcor)
            },
            if covariance {
                format!("{:.3}", v.sdcor)
            } else {
                String::new()
            },
        ]);
    }
    table(s, &rows, &[false, false, true, true, true]);
}
