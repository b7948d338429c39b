//! Running the compiled SQL with DataFusion: the data registered as the table `data`, the
//! first pass (complete rows, the response's mean, infinite values, factor levels) and the
//! second (the cross-products per subject and over all rows), streamed batch by batch.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use mixspec_engine::data::Factor;
use mixspec_io::Format;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use super::compile::{number_literal, ColumnKind, Schema};
use super::error::DistributedError;

/// DataFusion's memory pool. The per-subject statistics the engine collects from the query
/// (136 bytes a subject for two random effects and five fixed effects) and the fit's blocks
/// live outside it, so it is kept well below what a fit of ten million subjects holds
/// itself; what does not fit is spilled (docs/scale.md has the measurements).
const AGGREGATION_MEMORY: usize = 1 << 30;

/// The in-process DataFusion context of `--engine datafusion`: a memory pool shared fairly
/// among the operators that can spill, and a disk manager in the system's temporary
/// directory to spill to, so memory stays bounded however many subjects there are.
///
/// With the default greedy pool the per-subject aggregation failed at ten million
/// subjects: the final aggregates, which spill only when their own allocation is refused,
/// took the whole pool, and a partial aggregate that had just emitted its groups early
/// (which it may do only once it holds a batch's worth) was then refused its next
/// allocation, an error instead of a spill. A fair pool gives each spilling operator an
/// equal share, so the final aggregates spill sorted runs (merged at the end) before they
/// can starve the partial ones. The tracking wrapper names the largest consumers if a
/// query still runs out.
pub(crate) fn local_context() -> Result<SessionContext, datafusion::error::DataFusionError> {
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(AGGREGATION_MEMORY),
        NonZeroUsize::new(5).expect("5 > 0"),
    );
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory),
        )
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(
        SessionConfig::new(),
        runtime,
    ))
}

/// The registered data.
pub(crate) struct Table {
    ctx: SessionContext,
    path: String,
    schema: Vec<(String, Option<ColumnKind>, String)>,
}

/// What the first pass finds.
pub(crate) struct FirstPass {
    pub total: u64,
    pub complete: u64,
    /// Mean of the response over the complete rows.
    pub mean: f64,
    /// Per numeric variable (label), its infinite values on complete rows.
    pub infinite: Vec<(String, u64)>,
}

/// The SQL of the second pass's columns.
pub(crate) struct Columns<'a> {
    pub complete: &'a str,
    pub subject: &'a str,
    pub subject_text: bool,
    pub x: &'a [String],
    pub z: &'a [String],
    pub y: &'a str,
    /// Subtracted from the response before the sums.
    pub centre: f64,
}

/// The second pass's sums, subjects in R's level order.
pub(crate) struct Sums {
    pub subjects: Vec<String>,
    pub counts: Vec<u64>,
    pub ztz: Vec<f64>,
    pub ztx: Vec<f64>,
    pub zty: Vec<f64>,
    pub xtx: Vec<f64>,
    pub xty: Vec<f64>,
    pub yty: f64,
    pub x_sums: Vec<f64>,
}

impl Table {
    /// Registers the Parquet file, folder or pattern, or the CSV file, at `path` (its
    /// format found as every reader finds it, [`Format::detect`]) in `ctx`: the local
    /// context ([`local_context`]) or a Ballista cluster's, where the queries then run.
    pub(crate) async fn register(
        ctx: SessionContext,
        path: &Path,
    ) -> Result<Table, DistributedError> {
        let shown = path.display().to_string();
        let format = Format::detect(path).map_err(|e| DistributedError::Query {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let failed = |e: datafusion::error::DataFusionError| DistributedError::Query {
            path: shown.clone(),
            message: e.to_string(),
        };
        let location = path.to_string_lossy();
        match format {
            Format::Parquet => ctx
                .register_parquet("data", location.as_ref(), ParquetReadOptions::default())
                .await
                .map_err(failed)?,
            Format::Csv => {
                // R's read.csv: empty cells and NA are missing. The file is read whatever
                // its extension.
                let extension = path
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default();
                let options = CsvReadOptions::new()
                    .has_header(true)
                    .null_regex(Some("^(NA)?$".to_string()))
                    .file_extension(&extension);
                ctx.register_csv("data", location.as_ref(), options)
                    .await
                    .map_err(failed)?
            }
            other => {
                return Err(DistributedError::Unsupported {
                    what: format!("{} data (convert it to Parquet)", other.name()),
                })
            }
        }
        let table = ctx.table("data").await.map_err(failed)?;
        let schema = table
            .schema()
            .fields()
            .iter()
            .map(|f| {
                (
                    f.name().clone(),
                    ColumnKind::of(f.data_type()),
                    f.data_type().to_string(),
                )
            })
            .collect();
        Ok(Table {
            ctx,
            path: shown,
            schema,
        })
    }

    pub(crate) fn schema(&self) -> Schema {
        Schema {
            path: self.path.clone(),
            columns: self.schema.clone(),
        }
    }

    fn failed(&self, e: datafusion::error::DataFusionError) -> DistributedError {
        DistributedError::Query {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    async fn stream(&self, sql: &str) -> Result<SendableRecordBatchStream, DistributedError> {
        let frame = self.ctx.sql(sql).await.map_err(|e| self.failed(e))?;
        frame.execute_stream().await.map_err(|e| self.failed(e))
    }

    async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, DistributedError> {
        let mut stream = self.stream(sql).await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            batches.push(batch.map_err(|e| self.failed(e))?);
        }
        Ok(batches)
    }

    /// Rows, complete rows, the response's mean over them, and each numeric variable's
    /// infinite values among them: one scan.
    pub(crate) async fn first_pass(
        &self,
        complete: &str,
        y: &str,
        numeric: &[(&String, &String)],
    ) -> Result<FirstPass, DistributedError> {
        let mut select = vec![
            "CAST(count(*) AS DOUBLE)".to_string(),
            format!("CAST(sum(CASE WHEN {complete} THEN 1 ELSE 0 END) AS DOUBLE)"),
            format!("avg(CASE WHEN {complete} THEN {y} END)"),
        ];
        select.extend(numeric.iter().map(|(_, e)| {
            format!("CAST(sum(CASE WHEN {complete} AND isnan(({e}) - ({e})) THEN 1 ELSE 0 END) AS DOUBLE)")
        }));
        let sql = format!("SELECT {} FROM data", select.join(", "));
        let values = self.one_row(&sql).await?;
        Ok(FirstPass {
            total: values[0] as u64,
            complete: values[1] as u64,
            mean: values[2],
            infinite: numeric
                .iter()
                .zip(&values[3..])
                .map(|((label, _), v)| ((*label).clone(), *v as u64))
                .collect(),
        })
    }

    /// The one row of an aggregate query, every column as a double (NaN for NULL).
    async fn one_row(&self, sql: &str) -> Result<Vec<f64>, DistributedError> {
        let batches = self.collect(sql).await?;
        let batch =
            batches
                .iter()
                .find(|b| b.num_rows() > 0)
                .ok_or_else(|| DistributedError::Query {
                    path: self.path.clone(),
                    message: "an aggregate query returned no row".into(),
                })?;
        batch
            .columns()
            .iter()
            .map(|c| Ok(doubles(c).map_err(|e| self.failed(e))?[0]))
            .collect()
    }

    /// The distinct values of a factor's key over the complete rows: labels for text,
    /// numbers otherwise.
    pub(crate) async fn distinct(
        &self,
        key: &str,
        text: bool,
        complete: &str,
    ) -> Result<(Vec<String>, Vec<f64>), DistributedError> {
        let sql = format!("SELECT DISTINCT {key} AS level FROM data WHERE {complete}");
        let mut stream = self.stream(&sql).await?;
        let (mut texts, mut numbers) = (Vec::new(), Vec::new());
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| self.failed(e))?;
            let column = batch.column(0);
            if text {
                texts.extend(strings(column).map_err(|e| self.failed(e))?);
            } else {
                numbers.extend(doubles(column).map_err(|e| self.failed(e))?);
            }
        }
        Ok((texts, numbers))
    }

    /// The second pass: per subject its count and `Z'Z`, `Z'X`, `Z'y`; over all complete
    /// rows `X'X`, `X'y`, `y'y` and `1'X` (a second scan, so that the per-subject
    /// aggregation holds only what each subject needs).
    pub(crate) async fn sums(&self, c: &Columns<'_>) -> Result<Sums, DistributedError> {
        let (p, q) = (c.x.len(), c.z.len());
        let mut rows = vec![format!("{} AS g", c.subject)];
        rows.extend(c.x.iter().enumerate().map(|(j, e)| format!("{e} AS x{j}")));
        rows.extend(c.z.iter().enumerate().map(|(a, e)| format!("{e} AS z{a}")));
        rows.push(format!("({}) - {} AS y", c.y, number_literal(c.centre)));
        let with = format!(
            "WITH r AS (SELECT {} FROM data WHERE {})",
            rows.join(", "),
            c.complete
        );
        let mut per_subject = vec!["g".to_string(), "count(*) AS n".to_string()];
        for a in 0..q {
            per_subject.extend((0..q).map(|b| format!("sum(z{a} * z{b})")));
        }
        for a in 0..q {
            per_subject.extend((0..p).map(|j| format!("sum(z{a} * x{j})")));
        }
        per_subject.extend((0..q).map(|a| format!("sum(z{a} * y)")));
        let sql = format!("{with} SELECT {} FROM r GROUP BY g", per_subject.join(", "));
        let mut stream = self.stream(&sql).await?;
        // Text keys stay in their Arrow arrays (the bytes and an offset each) until the
        // factor is formed: as a `String` each, ten million of them took half a gigabyte.
        let (mut text_keys, mut number_keys) = (Vec::new(), Vec::new());
        let mut counts = Vec::new();
        let (mut ztz, mut ztx, mut zty) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| self.failed(e))?;
            if c.subject_text {
                text_keys.push(
                    cast(batch.column(0), &DataType::Utf8).map_err(|e| self.failed(e.into()))?,
                );
            } else {
                number_keys.extend(doubles(batch.column(0)).map_err(|e| self.failed(e))?);
            }
            let n = cast(batch.column(1), &DataType::Int64).map_err(|e| self.failed(e.into()))?;
            counts.extend(
                n.as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .map(|&v| v as u64),
            );
            let column = |k: usize| doubles(batch.column(2 + k)).map_err(|e| self.failed(e));
            let ztz_columns: Vec<Vec<f64>> = (0..q * q).map(column).collect::<Result<_, _>>()?;
            let ztx_columns: Vec<Vec<f64>> = (q * q..q * q + q * p)
                .map(column)
                .collect::<Result<_, _>>()?;
            let zty_columns: Vec<Vec<f64>> = (q * q + q * p..q * q + q * p + q)
                .map(column)
                .collect::<Result<_, _>>()?;
            for r in 0..batch.num_rows() {
                ztz.extend(ztz_columns.iter().map(|col| col[r]));
                ztx.extend(ztx_columns.iter().map(|col| col[r]));
                zty.extend(zty_columns.iter().map(|col| col[r]));
            }
        }
        // The aggregation's state (a hash table per partition) goes, and its pages back to
        // the system, before the factor (ten million labels interned) and the global sums
        // are formed: left in the worker threads' arenas until the end of the pass, they
        // put the peak of ten million subjects at 3.9-4.1 GiB in some runs.
        drop(stream);
        release_freed_memory();
        // Subjects in R's level order, as the in-memory grouping factor has them: the
        // blocks, which arrived in the aggregation's order, are permuted in place.
        let factor = if c.subject_text {
            Factor::from_labels(text_keys.iter().flat_map(|a| a.as_string::<i32>().iter()))
        } else {
            Factor::from_numbers(&number_keys)
        };
        drop((text_keys, number_keys));
        permute(&factor.codes, &mut counts, 1);
        permute(&factor.codes, &mut ztz, q * q);
        permute(&factor.codes, &mut ztx, q * p);
        permute(&factor.codes, &mut zty, q);
        let mut global = Vec::new();
        for j in 0..p {
            global.extend((0..p).map(|k| format!("sum(x{j} * x{k})")));
        }
        global.extend((0..p).map(|j| format!("sum(x{j} * y)")));
        global.push("sum(y * y)".into());
        global.extend((0..p).map(|j| format!("sum(x{j})")));
        let totals = self
            .one_row(&format!("{with} SELECT {} FROM r", global.join(", ")))
            .await?;
        release_freed_memory();
        Ok(Sums {
            subjects: factor.levels,
            counts,
            ztz,
            ztx,
            zty,
            xtx: totals[..p * p].to_vec(),
            xty: totals[p * p..p * p + p].to_vec(),
            yty: totals[p * p + p],
            x_sums: totals[p * p + p + 1..].to_vec(),
        })
    }
}

/// Hands back to the system the memory the queries freed. DataFusion's worker threads
/// allocate from glibc's per-thread arenas, which keep freed pages for reuse: after ten
/// million subjects' aggregation about 0.6 GB stayed resident, unused, beside the fit that
/// follows (with `MALLOC_ARENA_MAX=2` the peak was 4.3 GiB instead of 4.9).
/// `malloc_trim` returns the free pages of every arena. Other C libraries need nothing.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only releases free memory; it takes no pointer and has no
        // precondition.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Moves row `i` (of `width` values) of `data` to row `destination[i]`, in place: the
/// per-subject blocks are the largest arrays of a fit from statistics, so they are not
/// copied. `destination` is a permutation.
fn permute<T: Copy>(destination: &[u32], data: &mut [T], width: usize) {
    let mut done = vec![false; destination.len()];
    let mut carry: Vec<T> = Vec::with_capacity(width);
    for start in 0..destination.len() {
        if done[start] {
            continue;
        }
        carry.clear();
        carry.extend_from_slice(&data[start * width..(start + 1) * width]);
        let mut at = destination[start] as usize;
        loop {
            data[at * width..(at + 1) * width].swap_with_slice(&mut carry);
            done[at] = true;
            if at == start {
                break;
            }
            at = destination[at] as usize;
        }
    }
}

/// A column as doubles, NULL as NaN.
fn doubles(column: &ArrayRef) -> Result<Vec<f64>, datafusion::error::DataFusionError> {
    let cast = cast(column, &DataType::Float64)?;
    let array = cast.as_primitive::<Float64Type>();
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                f64::NAN
            } else {
                array.value(i)
            }
        })
        .collect())
}

/// A column of text as strings (NULLs never reach here: the complete-case rule drops
/// them).
fn strings(column: &ArrayRef) -> Result<Vec<String>, datafusion::error::DataFusionError> {
    let cast = cast(column, &DataType::Utf8)?;
    let array = cast.as_string::<i32>();
    Ok((0..array.len())
        .map(|i| array.value(i).to_string())
        .collect())
}
