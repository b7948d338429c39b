//! `mixspec cluster scheduler|executor`: an Apache Ballista cluster started from this
//! binary, for `mixspec fit --engine ballista://HOST:PORT` (docs/scale.md). Built with the
//! cargo feature `ballista`; without it the commands say how to get it.

use std::fmt;

/// A `HOST:PORT` address: a name, an IPv4 address or a bracketed IPv6 address, and a port
/// from 1 to 65535.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: u16,
}

impl Address {
    /// Parses `HOST:PORT`, saying what is wrong (a clap value parser).
    pub fn parse(text: &str) -> Result<Address, String> {
        let wrong = |why: &str| format!("`{text}` is not HOST:PORT ({why}), e.g. 127.0.0.1:50050");
        let (host, port) = text.rsplit_once(':').ok_or_else(|| wrong("no port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| wrong("the port must be a number from 1 to 65535"))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if bare.is_empty() {
            return Err(wrong("no host"));
        }
        if bare.contains(':') && bare.len() == host.len() {
            return Err(wrong("an IPv6 address goes in brackets, [::1]:50050"));
        }
        if host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(wrong("the host has spaces or slashes"));
        }
        Ok(Address {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

#[derive(clap::Subcommand)]
pub enum ClusterCommand {
    /// Start a Ballista scheduler: `mixspec fit --engine ballista://HOST:PORT` submits its
    /// queries to it, executors take their tasks from it. Runs until interrupted (Ctrl-C,
    /// SIGTERM).
    Scheduler {
        /// Address to listen on, e.g. 0.0.0.0:50050 (all interfaces) or 127.0.0.1:50050.
        #[arg(long, value_parser = Address::parse)]
        bind: Address,
    },
    /// Start a Ballista executor: it takes tasks from the scheduler, reads the data files
    /// (the same absolute paths as the client's), and serves results over Arrow Flight on
    /// its --bind address. Runs until interrupted (Ctrl-C, SIGTERM).
    Executor {
        /// The scheduler's address, as its --bind gave it (a name the executor can
        /// resolve, or an IP address).
        #[arg(long, value_parser = Address::parse)]
        scheduler: Address,
        /// Address of this executor's Arrow Flight service, e.g. 0.0.0.0:50051; clients
        /// fetch results from it.
        #[arg(long, value_parser = Address::parse)]
        bind: Address,
        /// Tasks run at once (default: the number of cores).
        #[arg(long, value_parser = super::count(1..=4096))]
        concurrent_tasks: Option<usize>,
    },
}

#[cfg(feature = "ballista")]
pub fn run(command: &ClusterCommand) -> miette::Result<()> {
    use crate::distributed::cluster;
    match command {
        ClusterCommand::Scheduler { bind } => cluster::scheduler(local(bind)?)?,
        ClusterCommand::Executor {
            scheduler,
            bind,
            concurrent_tasks,
        } => cluster::executor(
            &scheduler.host,
            scheduler.port,
            local(bind)?,
            *concurrent_tasks,
        )?,
    }
    Ok(())
}

/// The socket address a `--bind` names (a host name resolved, the first address taken).
#[cfg(feature = "ballista")]
fn local(bind: &Address) -> miette::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let host = bind.host.trim_start_matches('[').trim_end_matches(']');
    let resolved = (host, bind.port)
        .to_socket_addrs()
        .map_err(|e| miette::miette!("--bind {bind}: cannot resolve the host: {e}"))?;
    resolved
        .into_iter()
        .next()
        .ok_or_else(|| miette::miette!("--bind {bind}: the host has no address"))
}

/// Without the `ballista` feature: say how to get it.
#[cfg(not(feature = "ballista"))]
pub fn run(_: &ClusterCommand) -> miette::Result<()> {
    Err(crate::commands::fit::without_ballista())
}
