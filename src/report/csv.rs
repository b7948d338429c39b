//! A report's tables as CSV in long format (one row per estimate, with the model's name), so
//! they can be read back with `read.csv()` and filtered or pivoted there.

use mixspec_analysis::{Basis, Fit};
use mixspec_engine::inference::DfRule;

use super::format::cell;
use super::{File, Report};
use crate::output::intervals::parameter_columns;

pub fn tables(r: &Report) -> Vec<File> {
    let mut out = vec![
        File {
            name: format!("{}-models.csv", r.name),
            contents: models(r).into(),
        },
        File {
            name: format!("{}-fixed.csv", r.name),
            contents: fixed(r).into(),
        },
        File {
            name: format!("{}-random.csv", r.name),
            contents: random(r).into(),
        },
        File {
            name: format!("{}-anova.csv", r.name),
            contents: anova(r).into(),
        },
    ];
    let with_intervals = r
        .models
        .iter()
        .any(|(_, f)| f.inference.profile.is_some() || f.inference.bootstrap.is_some());
    if with_intervals {
        out.push(File {
            name: format!("{}-intervals.csv", r.name),
            contents: intervals(r).into(),
        });
    }
    out.extend(comparison_tables(r));
    out
}

pub(super) fn write(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let result = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows)
        .try_for_each(|row: Vec<String>| w.write_record(&row));
    result.expect("writing CSV to memory cannot fail");
    String::from_utf8(w.into_inner().expect("in memory")).expect("CSV of UTF-8 text")
}

fn models(r: &Report) -> String {
    let rows = r.models.iter().map(|(def, fitted)| {
        let fit = &fitted.fit;
        let groups: Vec<String> = fit
            .groups()
            .iter()
            .map(|(g, n)| format!("{g}:{n}"))
            .collect();
        let na = || "NA".to_string();
        // What only one kind of model has: (n_dropped, sigma, singular, R², family, link,
        // nagq, nb_theta, dispersion).
        let own: [String; 10] = match fit {
            Fit::Linear(f) => [
                f.n_dropped.to_string(),
                cell(f.sigma),
                f.singular.to_string().to_uppercase(),
                cell(f.r_squared.marginal),
                cell(f.r_squared.conditional),
                "gaussian".into(),
                "identity".into(),
                na(),
                na(),
                na(),
            ],
            Fit::Generalized(g) => [
                g.n_dropped.to_string(),
                na(),
                g.singular.to_string().to_uppercase(),
                na(),
                na(),
                g.family.name().into(),
                g.link.name().into(),
                g.nagq.to_string(),
                g.nb_theta.map_or_else(na, cell),
                cell(g.dispersion),
            ],
        };
        let [dropped, sigma, singular, r2m, r2c, family, link, nagq, nb_theta, dispersion] = own;
        vec![
            def.name.text.clone(),
            def.spec.formula.clone(),
            r.checked.filter_text(def).unwrap_or("").to_string(),
            if def.reml { "REML" } else { "ML" }.to_string(),
            fit.n_obs().to_string(),
            dropped,
            groups.join(";"),
            mixspec_analysis::parameters(fit).to_string(),
            cell(fit.loglik()),
            cell(fit.aic()),
            cell(fit.bic()),
            cell(fit.objective()),
            sigma,
            fit.converged().to_string().to_uppercase(),
            singular,
            r2m,
            r2c,
            family,
            link,
            nagq,
            nb_theta,
            dispersion,
        ]
    });
    write(
        &[
            "model",
            "formula",
            "where",
            "method",
            "n_obs",
            "n_dropped",
            "groups",
            "npar",
            "loglik",
            "aic",
            "bic",
            "objective",
            "sigma",
            "converged",
            "singular",
            "r2_marginal",
            "r2_conditional",
            "family",
            "link",
            "nagq",
            "nb_theta",
            "dispersion",
        ],
        rows,
    )
}

fn fixed(r: &Report) -> String {
    let rows = r.models.iter().flat_map(|(def, fitted)| {
        let kr = fitted.inference.kenward_roger.as_ref();
        // Per coefficient: estimate, SE, df, t, p and z (a generalized model's Wald test).
        let tests: Vec<[String; 6]> = match &fitted.fit {
            Fit::Linear(fit) => {
                let se = fit.std_errors();
                (0..fit.beta.len())
                    .map(|j| {
                        let test = fit.t_tests.as_ref().map(|t| t[j]);
                        [
                            cell(fit.beta[j]),
                            cell(se[j]),
                            test.map_or("NA".into(), |t| cell(t.df)),
                            cell(fit.beta[j] / se[j]),
                            test.map_or("NA".into(), |t| cell(t.p)),
                            "NA".into(),
                        ]
                    })
                    .collect()
            }
            Fit::Generalized(fit) => fit
                .beta
                .iter()
                .zip(fit.z_tests())
                .map(|(b, t)| {
                    [
                        cell(*b),
                        cell(t.std_error),
                        "NA".into(),
                        "NA".into(),
                        cell(t.p),
                        cell(t.z),
                    ]
                })
                .collect(),
        };
        let names = fitted.fit.fixed_names().to_vec();
        tests
            .into_iter()
            .zip(names)
            .enumerate()
            .map(move |(j, (test, name))| {
                let kr_se = kr.map(|k| k.std_errors[j]);
                let kr = kr.map(|k| k.coefficients[j]);
                let [estimate, se, df, t, p, z] = test;
                vec![
                    def.name.text.clone(),
                    name,
                    estimate,
                    se,
                    df,
                    t,
                    p,
                    kr_se.map_or("NA".into(), cell),
                    kr.map_or("NA".into(), |t| cell(t.df)),
                    kr.map_or("NA".into(), |t| cell(t.p)),
                    z,
                ]
            })
    });
    write(
        &[
            "model",
            "term",
            "estimate",
            "std_error",
            "df",
            "t",
            "p",
            "std_error_kr",
            "df_kr",
            "p_kr",
            "z",
        ],
        rows,
    )
}

/// Type III tables, one row per model, method and term.
fn anova(r: &Report) -> String {
    let rows = r.models.iter().flat_map(|(def, fitted)| {
        let tests = &fitted.inference;
        let rule = match fitted.fit.linear().and_then(|f| f.df_rule()) {
            Some(DfRule::Residual) => "Residual",
            _ => "Satterthwaite",
        };
        let tables = std::iter::once((rule, &tests.anova)).chain(
            tests
                .kenward_roger
                .as_ref()
                .map(|k| ("Kenward-Roger", &k.anova)),
        );
        tables.flat_map(move |(method, table)| {
            table.iter().map(move |t| {
                vec![
                    def.name.text.clone(),
                    method.to_string(),
                    t.term.clone(),
                    t.num_df.to_string(),
                    cell(t.den_df),
                    cell(t.f),
                    cell(t.p),
                ]
            })
        })
    });
    write(
        &["model", "ddf", "term", "num_df", "den_df", "F", "p"],
        rows,
    )
}

/// Profile and bootstrap intervals, one row per model, method and parameter.
fn intervals(r: &Report) -> String {
    let rows = r.models.iter().flat_map(|(def, fitted)| {
        let tests = &fitted.inference;
        let sets = tests
            .profile
            .iter()
            .map(|p| ("profile", p))
            .chain(tests.bootstrap.iter().map(|b| ("bootstrap", &b.intervals)));
        sets.flat_map(move |(method, rows)| {
            rows.iter().map(move |i| {
                let mut row = vec![def.name.text.clone(), method.to_string()];
                row.extend(
                    parameter_columns(&i.parameter)
                        .map(|c| c.map_or("NA".to_string(), str::to_string)),
                );
                row.extend([cell(i.lower), cell(i.upper)]);
                row
            })
        })
    });
    write(
        &[
            "model", "method", "kind", "group", "var1", "var2", "term", "lower", "upper",
        ],
        rows,
    )
}

fn random(r: &Report) -> String {
    let rows = r.models.iter().flat_map(|(def, fitted)| {
        fitted.fit.varcorr().into_iter().map(|v| {
            vec![
                def.name.text.clone(),
                v.group,
                v.var1.unwrap_or_else(|| "NA".into()),
                v.var2.unwrap_or_else(|| "NA".into()),
                cell(v.vcov),
                cell(v.sdcor),
            ]
        })
    });
    write(&["model", "grp", "var1", "var2", "vcov", "sdcor"], rows)
}

/// The report's comparisons and explained variances, each kind in a file of its own when
/// it has any.
pub(super) fn comparison_tables(r: &Report) -> Vec<File> {
    let mut out = Vec::new();
    if !r.comparisons.is_empty() {
        out.push(File {
            name: format!("{}-comparisons.csv", r.name),
            contents: comparisons(r).into(),
        });
    }
    if !r.explained.is_empty() {
        out.push(File {
            name: format!("{}-explained.csv", r.name),
            contents: explained(r).into(),
        });
    }
    out
}

fn comparisons(r: &Report) -> String {
    let rows = r.comparisons.iter().flat_map(|(names, c)| {
        let basis = match c.basis {
            Basis::MaximumLikelihood => "ML",
            Basis::Reml => "REML",
            Basis::RefittedMl => "ML (refitted)",
        };
        let comparison = names.join(" vs ");
        c.rows.iter().map(move |row| {
            let t = row.test;
            let or_na = |f: &dyn Fn(mixspec_analysis::LikelihoodRatio) -> String| {
                t.map_or("NA".to_string(), f)
            };
            vec![
                comparison.clone(),
                basis.to_string(),
                row.model.clone(),
                row.parameters.to_string(),
                cell(row.aic),
                cell(row.bic),
                cell(row.loglik),
                cell(row.deviance),
                or_na(&|t| cell(t.chi_square)),
                or_na(&|t| t.df.to_string()),
                or_na(&|t| cell(t.p)),
                or_na(&|t| cell(t.delta_aic)),
                or_na(&|t| cell(t.delta_bic)),
                or_na(&|t| {
                    if t.boundary {
                        "half chi-square mixture (boundary)".into()
                    } else {
                        "chi-square".into()
                    }
                }),
            ]
        })
    });
    write(
        &[
            "comparison",
            "basis",
            "model",
            "npar",
            "aic",
            "bic",
            "loglik",
            "deviance",
            "chisq",
            "df",
            "p",
            "delta_aic",
            "delta_bic",
            "p_reference",
        ],
        rows,
    )
}

fn explained(r: &Report) -> String {
    let rows = r.explained.iter().flat_map(|e| {
        e.rows.iter().map(|row| {
            let or_na = |v: Option<f64>| v.map_or("NA".to_string(), cell);
            vec![
                e.model.clone(),
                e.reference.clone(),
                if e.reference_fit.refitted {
                    "TRUE"
                } else {
                    "FALSE"
                }
                .to_string(),
                e.reference_fit.n_obs.to_string(),
                row.group.clone(),
                row.effect.clone(),
                or_na(row.reference),
                or_na(row.model),
                or_na(row.percent),
            ]
        })
    });
    write(
        &[
            "model",
            "reference",
            "reference_refitted",
            "n_obs",
            "grp",
            "effect",
            "reference_variance",
            "model_variance",
            "percent_explained",
        ],
        rows,
    )
}
