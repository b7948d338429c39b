//! `--engine ballista://HOST:PORT`: the DataFusion engine's queries run on an Apache
//! Ballista cluster. Ballista's client context plans the SQL as the local one does and
//! hands the plan to the scheduler, which splits it into stages for the executors; the
//! statistics' code ([`super::compute`]) is the same for both.
//!
//! The files are named in the plan by path and read by the client (the schema), the
//! scheduler (the list of files) and every executor (the rows): the path is made absolute
//! here, and must name the same files on every machine of the cluster (shared storage
//! mounted at the same place). CSV is refused: Ballista 51's executors misread quoted
//! fields that the client's schema inference read as numbers (a job fails with a parse
//! error), so the data go to a cluster as Parquet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ballista::extension::SessionContextExt;
use datafusion::prelude::SessionContext;
use mixspec_io::Format;

use super::error::DistributedError;

/// How long the client tries to reach the scheduler before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Ballista client context for the scheduler at `scheduler` (`HOST:PORT`), and `path`
/// made absolute for the cluster.
pub(crate) async fn context(
    scheduler: &str,
    path: &Path,
) -> Result<(SessionContext, PathBuf), DistributedError> {
    if let Ok(Format::Csv) = Format::detect(path) {
        return Err(DistributedError::Query {
            path: path.display().to_string(),
            message: "CSV data cannot be read on a Ballista cluster (its executors misread \
                      quoted fields); convert it to Parquet, or fit with --engine datafusion"
                .into(),
        });
    }
    let unreachable = |message: String| DistributedError::Cluster {
        address: scheduler.to_string(),
        message: format!("cannot reach the Ballista scheduler: {message}"),
        help: "start one with `mixspec cluster scheduler --bind HOST:PORT` and at least one \
               `mixspec cluster executor --scheduler HOST:PORT --bind HOST:PORT`"
            .into(),
    };
    // Ballista connects only when the first query runs and then reports a transport error;
    // a scheduler that is not there is named before any planning.
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(scheduler)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )))
        }
    }
    let ctx = SessionContext::remote(&format!("df://{scheduler}"))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let absolute = std::path::absolute(path).map_err(|e| DistributedError::Query {
        path: path.display().to_string(),
        message: format!("cannot make the path absolute for the cluster: {e}"),
    })?;
    Ok((ctx, absolute))
}
