//! The JSON contract of `mixspec fit`. Checks outside the project read these field names;
//! change them only with a version bump.

use mixspec_engine::inference::{FTest, TTest};
use mixspec_engine::LmmFit;
use serde_json::{json, Map, Value};

/// The contract's object, for documents that embed fits (spec reports).
pub fn fit_value(fit: &LmmFit, formula: &str) -> Value {
    let se = fit.std_errors();
    let fixed: Vec<Value> = fit
        .fixed_names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            json!({
                "term": name,
                "estimate": fit.beta[j],
                "std_error": se[j],
                "t": fit.beta[j] / se[j],
                "df": fit.t_tests.as_ref().map(|t| t[j].df),
                "p": fit.t_tests.as_ref().map(|t| t[j].p),
            })
        })
        .collect();
    let groups: Map<String, Value> = fit
        .groups()
        .into_iter()
        .map(|(g, n)| (g, Value::from(n)))
        .collect();
    let mut value = json!({
        "formula": formula,
        "method": if fit.reml { "REML" } else { "ML" },
        "n_obs": fit.n_obs,
        "n_dropped": fit.n_dropped,
        "groups": groups,
        "loglik": fit.loglik,
        "objective": fit.objective,
        "aic": fit.aic,
        "bic": fit.bic,
        "aicc": fit.aicc(),
        "caic": fit.caic(),
        "r2_marginal": fit.r_squared.marginal,
        "r2_conditional": fit.r_squared.conditional,
        "sigma": fit.sigma,
        "theta": fit.theta,
        "singular": fit.singular,
        "converged": fit.convergence.converged,
        "warnings": fit.warnings,
        "fixed_effects": fixed,
        // Which degrees of freedom `df` and `p` use: "satterthwaite", or "residual" (N − p,
        // nlme's gls) for a model without random effects.
        "df_rule": fit.df_rule(),
        "random_effects": fit.varcorr(),
        "convergence": fit.convergence,
    });
    if let Some(r) = &fit.residual_structure {
        // One parameter (φ of AR(1)/CAR(1), ρ of compound symmetry) is the contract's
        // `correlation_parameter`; varident's ratios are listed by level.
        let extra = if r.names.len() == 1 && matches!(r.names[0].as_str(), "Phi" | "Rho") {
            json!({ "correlation_parameter": r.values[0] })
        } else {
            let ratios: Map<String, Value> = r
                .names
                .iter()
                .zip(&r.values)
                .map(|(n, v)| (n.clone(), Value::from(*v)))
                .collect();
            json!({ "variance_ratios": ratios })
        };
        value["residual_structure"] = Value::from(r.description.clone());
        for (k, v) in extra.as_object().expect("object") {
            value[k] = v.clone();
        }
    }
    value
}

/// Kenward–Roger's results for the JSON: the coefficients' t-tests, their adjusted standard
/// errors, and the Type III table.
pub type KenwardRogerJson<'a> = (&'a [TTest], &'a [f64], &'a [FTest]);

/// Adds the Type III table as `anova` and, when computed, Kenward–Roger's adjusted
/// `std_error_kr`, `df_kr` and `p_kr` to each of the contract's `fixed_effects` and its Type
/// III table as `anova_kr`.
pub fn add_tests(value: &mut Value, kenward_roger: Option<KenwardRogerJson<'_>>, anova: &[FTest]) {
    value["anova"] = serde_json::to_value(anova).expect("JSON of plain values cannot fail");
    let Some((tests, std_errors, table)) = kenward_roger else {
        return;
    };
    if let Some(Value::Array(rows)) = value.get_mut("fixed_effects") {
        for ((row, t), se) in rows.iter_mut().zip(tests).zip(std_errors) {
            row["std_error_kr"] = Value::from(*se);
            row["df_kr"] = Value::from(t.df);
            row["p_kr"] = Value::from(t.p);
        }
    }
    value["anova_kr"] = serde_json::to_value(table).expect("JSON of plain values cannot fail");
}
