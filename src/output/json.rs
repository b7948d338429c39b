//! The JSON contract of `mixspec fit`. Checks outside the project read these field names;
//! change them only with a version bump.

use mixspec_engine::LmmFit;
use serde_json::{json, Map, Value};

pub fn fit(fit: &LmmFit, formula: &str) -> String {
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
            })
        })
        .collect();
    let groups: Map<String, Value> = fit
        .groups()
        .into_iter()
        .map(|(g, n)| (g, Value::from(n)))
        .collect();
    let value = json!({
        "formula": formula,
        "method": if fit.reml { "REML" } else { "ML" },
        "n_obs": fit.n_obs,
        "n_dropped": fit.n_dropped,
        "groups": groups,
        "loglik": fit.loglik,
        "objective": fit.objective,
        "aic": fit.aic,
        "bic": fit.bic,
        "sigma": fit.sigma,
        "theta": fit.theta,
        "singular": fit.singular,
        "converged": fit.convergence.converged,
        "warnings": fit.warnings,
        "fixed_effects": fixed,
        "random_effects": fit.varcorr(),
        "convergence": fit.convergence,
    });
    serde_json::to_string_pretty(&value).expect("JSON of plain values cannot fail")
}
