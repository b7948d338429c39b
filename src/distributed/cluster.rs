//! `mixspec cluster scheduler|executor`: an Apache Ballista scheduler or executor embedded
//! in this binary (Ballista's own library entry points), so that a cluster for `--engine
//! ballista://HOST:PORT` needs nothing but mixspec on each machine (docs/scale.md).
//!
//! Tasks are pulled: each executor asks the scheduler for work, so the scheduler needs no
//! route to the executors' task service, only the clients to the executors' Arrow Flight
//! port (the `--bind` port), from which they fetch the results. An executor is known by the
//! address the scheduler sees it connect from. Both run until interrupted (Ctrl-C, SIGTERM)
//! and then stop cleanly: the executor tells the scheduler it is leaving and finishes its
//! running tasks.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::error::DistributedError;

/// How long an executor waits for its scheduler to answer before giving up (a container
/// started beside the scheduler's may be up first).
const SCHEDULER_WAIT: Duration = Duration::from_secs(60);

/// How long an interrupted executor may take to finish its tasks. Ballista 51's own wait
/// for them never ends once a task has failed (its future is never woken again), so the
/// executor stops after this grace period whatever Ballista does.
const DRAIN: Duration = Duration::from_secs(20);

/// Runs a scheduler listening on `bind` until interrupted.
pub fn scheduler(bind: SocketAddr) -> Result<(), DistributedError> {
    let address = bind.to_string();
    can_listen(bind)?;
    super::runtime(&address)?.block_on(async {
        let mut config = SchedulerConfig::default().with_port(bind.port());
        config.bind_host = bind.ip().to_string();
        let failed = |e: String| DistributedError::Cluster {
            address: address.clone(),
            message: format!("the scheduler failed: {e}"),
            help: "see the message; the scheduler keeps its state in memory, so restarting \
                   it is safe once no query runs"
                .into(),
        };
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(|e| failed(e.to_string()))?;
        errln!("mixspec cluster scheduler: listening on {address} (stop with Ctrl-C or SIGTERM)");
        tokio::select! {
            served = start_server(cluster, bind, Arc::new(config)) => served.map_err(|e| failed(e.to_string())),
            () = interrupted() => {
                errln!("mixspec cluster scheduler: stopped");
                Ok(())
            }
        }
    })
}

/// Runs an executor whose Arrow Flight service listens on `bind`, taking tasks from the
/// scheduler at `scheduler_host:scheduler_port`, `concurrent_tasks` at a time (all cores
/// when `None`), until interrupted.
pub fn executor(
    scheduler_host: &str,
    scheduler_port: u16,
    bind: SocketAddr,
    concurrent_tasks: Option<usize>,
) -> Result<(), DistributedError> {
    let address = bind.to_string();
    let scheduler = format!("{scheduler_host}:{scheduler_port}");
    can_listen(bind)?;
    super::runtime(&address)?.block_on(async {
        tokio::select! {
            reached = reach(&scheduler) => reached?,
            () = interrupted() => return Ok(()),
        }
        let config = ExecutorProcessConfig {
            // Ballista reads `host:port` back as a socket address: IPv6 needs brackets.
            bind_host: match bind {
                SocketAddr::V4(v4) => v4.ip().to_string(),
                SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            },
            port: bind.port(),
            scheduler_host: scheduler_host.to_string(),
            scheduler_port,
            concurrent_tasks: concurrent_tasks.unwrap_or(0),
            ..ExecutorProcessConfig::default()
        };
        errln!(
            "mixspec cluster executor: Flight service on {address}, scheduler {scheduler} \
             (stop with Ctrl-C or SIGTERM)"
        );
        // Ballista's executor process listens for Ctrl-C and SIGTERM itself, so that it can
        // leave the scheduler and drain its tasks before returning; the signal also starts
        // the grace period here.
        tokio::select! {
            ran = start_executor_process(Arc::new(config)) => {
                ran.map_err(|e| DistributedError::Cluster {
                    address: address.clone(),
                    message: format!("the executor failed: {e}"),
                    help: format!("check that the scheduler at {scheduler} is running"),
                })?;
            }
            () = async {
                interrupted().await;
                tokio::time::sleep(DRAIN).await;
            } => errln!(
                "mixspec cluster executor: tasks still running {} s after the signal",
                DRAIN.as_secs()
            ),
        }
        errln!("mixspec cluster executor: stopped");
        Ok(())
    })
}

/// Refuses an address this machine cannot listen on (not one of its own, a port taken or
/// privileged) before any service starts: Ballista's executor would otherwise stop quietly.
fn can_listen(bind: SocketAddr) -> Result<(), DistributedError> {
    TcpListener::bind(bind)
        .map(drop)
        .map_err(|e| DistributedError::Cluster {
            address: bind.to_string(),
            message: format!("cannot listen there: {e}"),
            help: "--bind takes one of this machine's addresses and a free port, such as \
                   0.0.0.0:50050 or 127.0.0.1:50051"
                .into(),
        })
}

/// Waits until the scheduler at `scheduler` accepts connections, up to [`SCHEDULER_WAIT`].
async fn reach(scheduler: &str) -> Result<(), DistributedError> {
    let started = tokio::time::Instant::now();
    loop {
        let error = match tokio::net::TcpStream::connect(scheduler).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if started.elapsed() >= SCHEDULER_WAIT {
            return Err(DistributedError::Cluster {
                address: scheduler.to_string(),
                message: format!(
                    "no Ballista scheduler answered within {} s: {error}",
                    SCHEDULER_WAIT.as_secs()
                ),
                help: "start it first with `mixspec cluster scheduler --bind HOST:PORT`".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `docker stop` and Kubernetes
/// send).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
