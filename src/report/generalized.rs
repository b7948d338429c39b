//! What a spec run writes for generalized linear mixed models: the model's section of a
//! report (glmer's `summary()` in Markdown) and the `table` of odds or rate ratios with their
//! 95% Wald intervals.

use std::fmt::Write;

use mixspec_analysis::{RatioLine, RatioTable};
use mixspec_dsl::spec::ModelDef;
use mixspec_engine::fit::glmm::GlmmFit;

use super::csv::write;
use super::format::{cell, criterion, estimate, p_paper, p_value, significant, stars};
use super::markdown::{code, table, variance_components};
use super::tables::{markdown, Layout};
use super::Report;

/// How a generalized model was fitted, for the overview: `ML, poisson (log), Laplace`.
pub fn method(fit: &GlmmFit) -> String {
    format!(
        "ML, {} ({}), {}",
        fit.family.name(),
        fit.link.name(),
        approximation(fit)
    )
}

fn approximation(fit: &GlmmFit) -> String {
    if fit.nagq > 1 {
        format!("adaptive Gauss–Hermite quadrature with {} nodes", fit.nagq)
    } else {
        "Laplace".to_string()
    }
}

/// A generalized model's section of a report: fit, Wald z-tests, variance components.
pub(super) fn model(s: &mut String, r: &Report, def: &ModelDef, groups: &str, fit: &GlmmFit) {
    let _ = writeln!(s, "## {}\n", def.name.text);
    let rows = r
        .checked
        .filter_text(def)
        .map_or(String::new(), |w| format!(", where `{w}`"));
    let family = match fit.nb_theta {
        Some(t) => format!(
            "negative binomial (NB2, θ = {}: Var(y) = μ + μ²/θ)",
            significant(t, 4)
        ),
        None => fit.family.name().to_string(),
    };
    let _ = writeln!(
        s,
        "`{}`, {family} with {} link, fitted by maximum likelihood ({}){rows}: {} observations \
         ({} left out for missing values), groups: {groups}. logLik {}, AIC {}, BIC {}, {} \
         parameters; Pearson dispersion {}.\n",
        def.spec.formula,
        fit.link.name(),
        approximation(fit),
        fit.n_obs,
        fit.n_dropped,
        criterion(fit.loglik),
        criterion(fit.aic),
        criterion(fit.bic),
        fit.n_parameters,
        significant(fit.dispersion, 3),
    );
    let _ = writeln!(
        s,
        "Fixed effects (link scale; Wald z-tests, standard errors from the Hessian as glmer's):\n"
    );
    let mut rows = vec![["Term", "Estimate", "SE", "z", "p", ""]
        .map(String::from)
        .to_vec()];
    for ((name, b), t) in fit.fixed_names.iter().zip(&fit.beta).zip(fit.z_tests()) {
        rows.push(vec![
            code(name),
            estimate(*b),
            estimate(t.std_error),
            format!("{:.2}", t.z),
            p_value(t.p),
            stars(t.p).to_string(),
        ]);
    }
    table(s, &rows, &[false, true, true, true, true, false]);
    let _ = writeln!(s, "Variance components (link scale):\n");
    variance_components(s, &fit.varcorr());
    if !fit.convergence.converged {
        let _ = writeln!(
            s,
            "> The optimizer did not converge ({}): the estimates are not reliable.\n",
            fit.convergence.status
        );
    }
    for w in &fit.warnings {
        let _ = writeln!(s, "> Warning: {w}\n");
    }
}

/// What a line's numbers are: `Odds ratio` / `Rate ratio`, or `Estimate` on the link scale.
fn scale(line: &RatioLine) -> String {
    match line.ratio {
        Some(r) => {
            let mut r = r.to_string();
            r[..1].make_ascii_uppercase();
            r
        }
        None => format!("Estimate ({} scale)", line.link),
    }
}

/// A ratio or estimate with its interval: `0.72 (0.54, 0.96)`.
fn with_interval(value: f64, lower: f64, upper: f64) -> String {
    let digits = |x: f64| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else if x.abs() >= 0.1 || x == 0.0 {
            format!("{x:.2}")
        } else {
            significant(x, 2)
        }
    };
    format!("{} ({}, {})", digits(value), digits(lower), digits(upper))
}

/// The layout of a `table` of generalized models: per model, every coefficient as its
/// ratio with the 95% Wald interval (exp of β ± 1.96 SE), p and stars.
pub fn ratio_layout(t: &RatioTable) -> Layout {
    let scales: Vec<String> = t.rows.iter().map(scale).collect();
    let shared = scales.windows(2).all(|w| w[0] == w[1]);
    let header = if shared {
        format!(
            "{} (95% CI)",
            scales.first().map_or("Estimate", String::as_str)
        )
    } else {
        "Ratio or estimate (95% CI)".to_string()
    };
    let mut rows = vec![vec![
        "Model".to_string(),
        "Term".to_string(),
        header,
        "p".to_string(),
        "AIC".to_string(),
        "n (subjects)".to_string(),
    ]];
    for (line, scale) in t.rows.iter().zip(&scales) {
        for (k, c) in line.coefficients.iter().enumerate() {
            let first = k == 0;
            let value = match line.ratio {
                Some(_) => with_interval(c.estimate.exp(), c.lower.exp(), c.upper.exp()),
                None => with_interval(c.estimate, c.lower, c.upper),
            };
            let value = if shared {
                value
            } else {
                format!("{value} {}", scale.to_lowercase())
            };
            let term = if c.name == "(Intercept)" {
                match line.ratio {
                    Some("odds ratio") => "(Intercept): odds at zero".to_string(),
                    Some(_) => "(Intercept): rate at zero".to_string(),
                    None => c.label.clone(),
                }
            } else {
                c.label.clone()
            };
            rows.push(vec![
                if first {
                    line.label.clone()
                } else {
                    String::new()
                },
                term,
                value,
                format!("{}{}", p_paper(c.p), stars(c.p).replace('.', "")),
                if first {
                    format!("{:.0}", line.aic)
                } else {
                    String::new()
                },
                if first {
                    format!("{} ({})", line.n_obs, line.n_subjects)
                } else {
                    String::new()
                },
            ]);
        }
    }
    let families: Vec<String> = t
        .rows
        .iter()
        .map(|l| {
            let theta = l
                .nb_theta
                .map_or(String::new(), |th| format!(", θ = {}", significant(th, 3)));
            format!("{}: {} ({} link{theta})", l.label, l.family, l.link)
        })
        .collect();
    let note = format!(
        "Odds ratios (logit link) and rate ratios (log link) are exp(β) with 95% Wald \
         intervals exp(β ± 1.96 SE), conditional on the random effects (a subject's odds or \
         rate); the intercept's row is the odds or rate when every predictor is zero. Other \
         links show β on their own scale. p: Wald z-test; * p < .05, ** p < .01, *** p < .001. \
         AIC of the maximum-likelihood fit; n: observations (subjects). Models: {}.",
        families.join("; ")
    );
    Layout {
        title: t.name.clone(),
        rows,
        right: vec![false, false, true, true, true, true],
        notes: vec![note],
    }
}

/// The Markdown of a `table` of generalized models (see [`ratio_layout`]).
pub fn ratio_table(t: &RatioTable) -> String {
    markdown(&ratio_layout(t))
}

/// Every number of a `table` of generalized models, one row per coefficient.
pub fn ratio_table_csv(t: &RatioTable) -> String {
    let header = [
        "table",
        "label",
        "model",
        "family",
        "link",
        "term",
        "estimate",
        "std_error",
        "z",
        "p",
        "lower",
        "upper",
        "ratio",
        "ratio_lower",
        "ratio_upper",
        "ratio_kind",
        "nb_theta",
        "aic",
        "n_obs",
        "n_subjects",
    ];
    let mut rows = Vec::new();
    for line in &t.rows {
        for c in &line.coefficients {
            let exp = |x: f64| {
                if line.ratio.is_some() {
                    cell(x.exp())
                } else {
                    "NA".to_string()
                }
            };
            rows.push(vec![
                t.name.clone(),
                line.label.clone(),
                line.model.clone(),
                line.family.clone(),
                line.link.clone(),
                c.name.clone(),
                cell(c.estimate),
                cell(c.std_error),
                cell(c.z),
                cell(c.p),
                cell(c.lower),
                cell(c.upper),
                exp(c.estimate),
                exp(c.lower),
                exp(c.upper),
                line.ratio.unwrap_or("NA").replace(' ', "_"),
                line.nb_theta.map_or("NA".to_string(), cell),
                cell(line.aic),
                line.n_obs.to_string(),
                line.n_subjects.to_string(),
            ]);
        }
    }
    write(&header, rows)
}
