//! A linear mixed model's per-subject statistics computed by Apache DataFusion where the
//! data lives — Parquet or CSV files, or folders of them — so that a fit holds a table the
//! size of the number of subjects instead of every row (docs/scale.md).
//!
//! Built with the cargo feature `datafusion` only: DataFusion takes minutes to compile.
//! With the feature `ballista` the same queries can run on an Apache Ballista cluster
//! ([`QueryEngine::Ballista`]), which [`cluster`] starts from this binary.
//!
//! [`statistics`] compiles the model's design to SQL ([`compile`]): a first aggregate pass
//! finds the complete rows, the response's mean and every factor's levels (in R's order);
//! a second groups the complete rows by subject and sums the cross-products. The engine
//! then fits from them ([`mixspec_engine::statistics::fit_from_statistics`]). Models
//! outside the statistics' scope (several grouping factors, residual structures,
//! non-Gaussian families) are refused by the engine's rule
//! ([`mixspec_engine::statistics::check_scope`]).

#[cfg(feature = "ballista")]
mod ballista;
#[cfg(feature = "ballista")]
pub mod cluster;
mod compile;
mod error;
mod query;

use std::collections::HashMap;
use std::path::Path;

use mixspec_engine::spec::ModelSpec;
use mixspec_engine::statistics::{check_scope, fit_from_statistics, SubjectStatistics};
use mixspec_engine::{FitOptions, LmmFit};

use error::DistributedError;

use compile::Compiled;

/// Where the compiled queries run.
#[derive(Debug, Clone)]
pub enum QueryEngine {
    /// DataFusion in this process, within its memory pool.
    Local,
    /// An Apache Ballista cluster, by its scheduler's `HOST:PORT`: the scheduler plans the
    /// queries, the executors scan the files and exchange the partial sums, and only the
    /// per-subject rows come back.
    #[cfg(feature = "ballista")]
    Ballista(String),
}

/// The per-subject statistics of `spec` over the Parquet or CSV file, folder or pattern at
/// `path`, computed by DataFusion on `engine`.
pub fn statistics(
    spec: &ModelSpec,
    path: &Path,
    engine: &QueryEngine,
) -> Result<SubjectStatistics, DistributedError> {
    check_scope(spec)?;
    runtime(&path.display().to_string())?.block_on(async {
        match engine {
            QueryEngine::Local => {
                let ctx = query::local_context().map_err(|e| DistributedError::Query {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                compute(ctx, spec, path).await
            }
            #[cfg(feature = "ballista")]
            QueryEngine::Ballista(scheduler) => {
                let (ctx, path) = ballista::context(scheduler, path).await?;
                compute(ctx, spec, &path).await
            }
        }
    })
}

/// [`statistics`], then the fit from them: the same fit as the in-memory engine's, without
/// per-observation outputs (residuals, fitted values).
pub fn fit(
    spec: &ModelSpec,
    path: &Path,
    engine: &QueryEngine,
    options: &FitOptions,
) -> Result<LmmFit, DistributedError> {
    let statistics = statistics(spec, path, engine)?;
    Ok(fit_from_statistics(statistics, options)?)
}

/// A multi-threaded asynchronous runtime for the queries (and the cluster's services);
/// `what` names the data or the service in the error.
fn runtime(what: &str) -> Result<tokio::runtime::Runtime, DistributedError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DistributedError::Query {
            path: what.to_string(),
            message: format!("cannot start the query runtime: {e}"),
        })
}

async fn compute(
    ctx: datafusion::prelude::SessionContext,
    spec: &ModelSpec,
    path: &Path,
) -> Result<SubjectStatistics, DistributedError> {
    let table = query::Table::register(ctx, path).await?;
    let schema = table.schema();
    let term = &spec.random[0];
    let group = &term.grouping[0];

    // Every variable once, by label, as the in-memory design collects them.
    let mut labels: Vec<String> = Vec::new();
    let mut compiled: HashMap<String, Compiled> = HashMap::new();
    let response = compile::variable(&schema, &spec.response)?;
    let Compiled::Number(y) = &response else {
        return Err(DistributedError::ColumnType {
            path: schema.path.clone(),
            name: spec.response.label.clone(),
            data_type: "text".into(),
            label: spec.response.label.clone(),
            help: "the response must be numeric".into(),
        });
    };
    let y = y.clone();
    labels.push(spec.response.label.clone());
    compiled.insert(spec.response.label.clone(), response);
    // Offsets enter as the in-memory design has them: the response less their sum, and a
    // row missing one is incomplete.
    let mut offsets = Vec::new();
    for (k, expr) in spec.offsets.iter().enumerate() {
        let label = format!("offset number {}", k + 1);
        offsets.push((label.clone(), compile::number(&schema, expr, &label)?));
    }
    for var in spec
        .fixed
        .terms
        .iter()
        .chain(&term.terms.terms)
        .flat_map(|t| &t.variables)
    {
        if !compiled.contains_key(&var.label) {
            compiled.insert(var.label.clone(), compile::variable(&schema, var)?);
            labels.push(var.label.clone());
        }
    }
    let subject = compile::grouping(&schema, group)?;
    let complete = labels
        .iter()
        .map(|l| compiled[l].present())
        .chain(
            offsets
                .iter()
                .map(|(_, e)| Compiled::Number(e.clone()).present()),
        )
        .chain(std::iter::once(subject.present()))
        .collect::<Vec<_>>()
        .join(" AND ");

    // First pass: complete rows, the response's mean, infinite values; then each
    // factor's levels.
    let numeric: Vec<(&String, &String)> = labels
        .iter()
        .filter_map(|l| match &compiled[l] {
            Compiled::Number(e) => Some((l, e)),
            Compiled::Factor { .. } => None,
        })
        .chain(offsets.iter().map(|(l, e)| (l, e)))
        .collect();
    let y = offsets
        .iter()
        .fold(y, |y, (_, o)| format!("(({y}) - ({o}))"));
    let first = table.first_pass(&complete, &y, &numeric).await?;
    if first.complete == 0 {
        return Err(DistributedError::NoRows {
            path: schema.path.clone(),
        });
    }
    if let Some((variable, rows)) = first.infinite.iter().find(|(_, rows)| *rows > 0) {
        return Err(DistributedError::NonFinite {
            path: schema.path.clone(),
            variable: variable.clone(),
            rows: *rows,
        });
    }
    for label in &labels {
        if let Some(Compiled::Factor { key, text, .. }) = compiled.get(label) {
            let (texts, numbers) = table.distinct(key, *text, &complete).await?;
            compile::set_levels(compiled.get_mut(label).expect("compiled"), texts, numbers);
        }
    }

    let (x_names, x_sql, x_origins) = compile::columns(&spec.fixed, &compiled)?;
    let (z_names, z_sql, _) = compile::columns(&term.terms, &compiled)?;
    // Centre the response on its mean where the intercept can absorb it, so the sums of
    // squares keep their digits (docs/scale.md).
    let intercept = x_origins.first().is_some_and(|o| o.term == 0);
    let centre = if intercept { first.mean } else { 0.0 };
    let Compiled::Factor {
        key: subject_key,
        text: subject_text,
        ..
    } = &subject
    else {
        unreachable!("a grouping column compiles to a factor")
    };
    let sums = table
        .sums(&query::Columns {
            complete: &complete,
            subject: subject_key,
            subject_text: *subject_text,
            x: &x_sql,
            z: &z_sql,
            y: &y,
            centre,
        })
        .await?;
    let mut gamma = vec![0.0; x_names.len()];
    if intercept {
        gamma[0] = centre;
    }
    Ok(SubjectStatistics {
        group: term.group_name(),
        z_names,
        covariance: term.covariance,
        x_names,
        subjects: sums.subjects,
        counts: sums.counts,
        ztz: sums.ztz,
        ztx: sums.ztx,
        zty: sums.zty,
        xtx: sums.xtx,
        xty: sums.xty,
        yty: sums.yty,
        x_sums: sums.x_sums,
        gamma,
        n: first.complete,
        n_dropped: (first.total - first.complete) as usize,
        aliased: Vec::new(),
    })
}
