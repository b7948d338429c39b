//! A generalized linear mixed-model fit as glmer's `summary()` prints it, and as the JSON
//! contract of `mixspec fit --family …` (the linear contract's fields where they mean the
//! same, plus `family`, `link`, `nagq`, `nb_theta` and `dispersion`).

use super::text::{
    column_decimals, correlation_table, format_p_values, observations, random_table,
    scaled_residuals, sig, stars, table,
};
use mixspec_engine::family::Family;
use mixspec_engine::fit::glmm::GlmmFit;
use mixspec_engine::inference::RSquared;
use serde_json::{json, Map, Value};
use std::fmt::Write;

pub fn summary(fit: &GlmmFit, formula: &str, data: &str) -> String {
    let mut s = String::new();
    let method = if fit.nagq > 1 {
        format!("Adaptive Gauss-Hermite Quadrature, nAGQ = {}", fit.nagq)
    } else {
        "Laplace Approximation".into()
    };
    let _ = writeln!(
        s,
        "Generalized linear mixed model fit by maximum likelihood ({method})"
    );
    let family = match fit.nb_theta {
        Some(t) => format!("Negative Binomial({})", sig(t, 4)),
        None => fit.family.name().to_string(),
    };
    let _ = writeln!(s, " Family: {family}  ( {} )", fit.link.name());
    let _ = writeln!(s, "Formula: {formula}");
    let _ = writeln!(s, "   Data: {data}\n");
    let df_resid = fit.n_obs as i64 - fit.n_parameters as i64;
    let cells = [fit.aic, fit.bic, fit.loglik, fit.objective].map(|v| format!("{v:.1}"));
    let _ = writeln!(
        s,
        "{:>9}{:>9}{:>9}{:>9}{:>9}",
        "AIC", "BIC", "logLik", "-2logLik", "df.resid"
    );
    let _ = writeln!(
        s,
        "{:>9}{:>9}{:>9}{:>9}{:>9}\n",
        cells[0], cells[1], cells[2], cells[3], df_resid
    );
    s.push_str(&scaled_residuals(&fit.pearson_residuals));
    let _ = writeln!(s, "Random effects:");
    s.push_str(&random_table(&fit.random, None));
    s.push_str(&observations(fit.n_obs, &fit.groups()));
    let _ = writeln!(s, "Fixed effects:");
    s.push_str(&fixed_table(fit));
    if fit.beta.len() > 1 {
        let _ = writeln!(s, "\nCorrelation of Fixed Effects:");
        s.push_str(&correlation_table(
            &fit.fixed_names,
            &fit.vcov,
            &fit.std_errors(),
        ));
    }
    let _ = writeln!(
        s,
        "\nPearson dispersion (chi-square / residual df): {}",
        sig(fit.dispersion, 4)
    );
    if !fit.convergence.converged {
        let _ = writeln!(
            s,
            "\nThe optimizer did not converge ({}): the estimates are not reliable.",
            fit.convergence.status
        );
    }
    if !fit.warnings.is_empty() {
        s.push('\n');
        for w in &fit.warnings {
            let _ = writeln!(s, "{w}");
        }
    }
    s.trim_end().to_string()
}

/// Nakagawa's R² as a line after the summary.
pub fn r_squared_text(r2: &RSquared) -> String {
    format!(
        "\nR² (Nakagawa, performance::r2_nakagawa): marginal {}, conditional {}\n",
        sig(r2.marginal, 4),
        sig(r2.conditional, 4)
    )
}

fn fixed_table(fit: &GlmmFit) -> String {
    let tests = fit.z_tests();
    let se: Vec<f64> = tests.iter().map(|t| t.std_error).collect();
    let z: Vec<f64> = tests.iter().map(|t| t.z).collect();
    let p: Vec<f64> = tests.iter().map(|t| t.p).collect();
    let cols: Vec<(String, Vec<String>)> = vec![
        ("Estimate".into(), column_decimals(&fit.beta, 4)),
        ("Std. Error".into(), column_decimals(&se, 4)),
        ("z value".into(), column_decimals(&z, 3)),
        ("Pr(>|z|)".into(), format_p_values(&p, 3)),
        (
            String::new(),
            p.iter().map(|&v| format!("{:<3}", stars(v))).collect(),
        ),
    ];
    let mut out = table(&fit.fixed_names, &cols);
    out.push_str("---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1\n");
    out
}

/// The JSON contract's object for a generalized fit.
pub fn value(fit: &GlmmFit, formula: &str) -> Value {
    let fixed: Vec<Value> = fit
        .fixed_names
        .iter()
        .zip(fit.beta.iter().zip(fit.z_tests()))
        .map(|(name, (b, t))| {
            json!({
                "term": name,
                "estimate": b,
                "std_error": t.std_error,
                "z": t.z,
                "p": t.p,
            })
        })
        .collect();
    let groups: Map<String, Value> = fit
        .groups()
        .into_iter()
        .map(|(g, n)| (g, Value::from(n)))
        .collect();
    json!({
        "formula": formula,
        "method": "ML",
        "family": fit.family.name(),
        "link": fit.link.name(),
        "nagq": fit.nagq,
        "n_obs": fit.n_obs,
        "n_dropped": fit.n_dropped,
        "groups": groups,
        "loglik": fit.loglik,
        "objective": fit.objective,
        "aic": fit.aic,
        "bic": fit.bic,
        "theta": fit.theta,
        "nb_theta": match fit.family { Family::NegativeBinomial { .. } => fit.nb_theta, _ => None },
        "dispersion": fit.dispersion,
        "singular": fit.singular,
        "converged": fit.convergence.converged,
        "warnings": fit.warnings,
        "fixed_effects": fixed,
        "random_effects": fit.varcorr(),
        "convergence": fit.convergence,
    })
}

/// `--predictions`: one row per observation used, with the linear predictor and the mean
/// (per trial, for the binomial) at the conditional modes and with the random effects at
/// zero — lme4's `predict(fit)`, `predict(fit, type = "response")`, and the same with
/// `re.form = NA`. `row` is the data set's row, counting from 1.
pub fn predictions_csv(fit: &GlmmFit) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = ["row", "eta", "mu", "eta_population", "mu_population"];
    w.write_record(header)
        .expect("writing to memory cannot fail");
    for i in 0..fit.n_obs {
        w.write_record([
            (fit.rows[i] + 1).to_string(),
            fit.eta[i].to_string(),
            fit.fitted[i].to_string(),
            fit.eta_fixed[i].to_string(),
            fit.link.mean(fit.eta_fixed[i]).0.to_string(),
        ])
        .expect("writing to memory cannot fail");
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// `--modes`: the conditional modes of the random effects, on the link scale (lme4's
/// `ranef(fit)`), one row per group level and effect, and on the response scale the mean
/// at the fixed-effect intercept plus the mode (`g⁻¹(β₀ + b)`, for random intercepts of a
/// model with an intercept; empty otherwise).
pub fn modes_csv(fit: &GlmmFit) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["group", "level", "effect", "mode", "mode_response"])
        .expect("writing to memory cannot fail");
    let intercept = fit
        .fixed_names
        .iter()
        .position(|n| n == "(Intercept)")
        .map(|j| fit.beta[j]);
    for re in &fit.random {
        let q = re.names.len();
        for (l, level) in re.levels.iter().enumerate() {
            for (c, effect) in re.names.iter().enumerate() {
                let mode = re.modes[l * q + c];
                let response = match intercept {
                    Some(b0) if effect == "(Intercept)" => fit.link.mean(b0 + mode).0.to_string(),
                    _ => String::new(),
                };
                let mode = mode.to_string();
                w.write_record([
                    re.label.as_str(),
                    level.as_str(),
                    effect.as_str(),
                    mode.as_str(),
                    response.as_str(),
                ])
                .expect("writing to memory cannot fail");
            }
        }
    }
    w.into_inner().expect("writing to memory cannot fail")
}
