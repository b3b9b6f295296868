//! One life of a host, or of several hosts on one store: the X send API stand-in comes up first
//! (xtask starts the hosts once it listens, so every reply a host ever sends finds it), then the
//! phases run in order on idle hosts, and the hosts' peak memory is read at the end.
//!
//! Several hosts get the load in turn, request by request ([`Targets`]), and all send their
//! replies to the one stand-in, so the first-reply latencies and the answered counts are the
//! cluster's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::Uri;
use serde::{Deserialize, Serialize};

use super::faults::{self, Faults};
use super::intake::{self, Intake};
use super::sustained::{self, Sustained, SustainedLoad};
use crate::bench::bodies::Signer;
use crate::bench::closed::ClosedLoad;
use crate::bench::customers::Customers;
use crate::bench::host_metrics::{self, HostCounters, PluginCalls};
use crate::bench::http::{self, Targets};
use crate::bench::ladder;
use crate::bench::procfs;
use crate::bench::x_api::{self, XApiCounts};

/// What every phase of a session works with.
pub struct Session {
    /// The hosts' X webhook (one URL per host).
    pub webhooks: Arc<Targets>,
    /// The X integration's id (for its counters in `/metrics`).
    pub integration: String,
    pub signer: Signer,
    pub customers: Arc<Customers>,
    /// The hosts' processes (empty when unknown).
    pub host_pids: Vec<u32>,
    /// The longest wait for a backlog's replies.
    pub drain_timeout: Duration,
}

impl Session {
    /// The hosts' counters now, added up (`None` if a `/metrics` cannot be read).
    pub async fn counters(&self) -> Option<HostCounters> {
        host_metrics::scrape_all(&self.webhooks, &self.integration).await
    }
}

/// What to run in a session.
pub struct Plan {
    /// `empty` (a fresh store), `1m` (the prefilled store) or `postgres-N` (N hosts on a fresh
    /// PostgreSQL database), for the report.
    pub label: String,
    /// The store's engine, for the report: `sqlite` or `postgres`.
    pub store: String,
    /// The X webhook of each host.
    pub webhooks: Vec<Uri>,
    pub integration: String,
    pub signer: Signer,
    /// Where the send API stand-in listens (the integration's `api_base`).
    pub x_api_listen: SocketAddr,
    pub access_token: String,
    /// The file xtask writes the hosts' process ids to (one a line) once it started them.
    pub pid_file: Option<PathBuf>,
    pub health_timeout: Duration,
    pub intake: bool,
    pub sustained: bool,
    pub faults: Vec<(String, Uri)>,
    pub closed: ClosedLoad,
    pub step: Duration,
    pub max_rate: u64,
    pub max_connections: usize,
    pub drain_timeout: Duration,
    /// The ladder's first rate; without it, a tenth of this session's intake rate.
    pub start_rate: Option<f64>,
}

/// What a session measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSession {
    pub label: String,
    /// The store's engine: `sqlite` or `postgres` (empty in files from before there was a
    /// choice: SQLite).
    #[serde(default)]
    pub store: String,
    /// How many hosts shared the load (0 in files from before there was a choice: one).
    #[serde(default)]
    pub hosts: u32,
    pub intake: Option<Intake>,
    pub sustained: Option<Sustained>,
    pub faults: Option<Faults>,
    /// The host's `VmHWM` at the end of the session: its peak resident memory (of several
    /// hosts, the largest).
    pub peak_rss_mb: Option<f64>,
    /// What the send API stand-in saw.
    pub x_api: XApiCounts,
    /// Replies beyond the two each message should get (a host bug when not 0).
    pub extra_replies: u64,
    /// Plugin calls over the session, from the host's counters.
    pub plugin_calls: Vec<PluginCalls>,
}

impl HostSession {
    /// Whether this session ran on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.store == "postgres"
    }

    /// How many hosts shared the load.
    pub fn host_count(&self) -> u32 {
        self.hosts.max(1)
    }
}

/// The process ids in a pid file: one a line.
pub fn parse_pids(text: &str) -> anyhow::Result<Vec<u32>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.parse::<u32>()
                .with_context(|| format!("{line:?} is not a process id"))
        })
        .collect()
}

/// Starts the stand-in, waits for the hosts, runs the plan's phases.
pub async fn run(plan: Plan) -> anyhow::Result<HostSession> {
    let customers = Arc::new(Customers::new());
    let stand_in = x_api::start(
        plan.x_api_listen,
        &plan.access_token,
        &plan.signer.account_id,
        customers.clone(),
    )
    .await?;
    println!(
        "session {}: X send API stand-in on http://{}",
        plan.label, plan.x_api_listen
    );
    let webhooks = Arc::new(Targets::resolve(&plan.webhooks).await?);
    for host in webhooks.iter() {
        http::wait_healthy(host, plan.health_timeout).await?;
    }
    let host_pids = match &plan.pid_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the hosts' pids from {}", file.display()))?;
            let pids = parse_pids(&text).with_context(|| format!("in {}", file.display()))?;
            if pids.len() != webhooks.len() {
                bail!(
                    "{} names {} process(es) for {} host(s)",
                    file.display(),
                    pids.len(),
                    webhooks.len()
                );
            }
            pids
        }
        None => Vec::new(),
    };
    let session = Session {
        webhooks: webhooks.clone(),
        integration: plan.integration.clone(),
        signer: plan.signer.clone(),
        customers: customers.clone(),
        host_pids: host_pids.clone(),
        drain_timeout: plan.drain_timeout,
    };
    let first = session.counters().await;

    let intake = if plan.intake {
        Some(intake::run(&session, plan.closed, plan.max_rate).await)
    } else {
        None
    };
    let sustained = if plan.sustained {
        let start_rate = match (plan.start_rate, &intake) {
            (Some(rate), _) => rate,
            (None, Some(intake)) => ladder::first_rate(intake.run.req_per_s),
            (None, None) => bail!("the sustained phase needs a start rate or the intake phase"),
        };
        let load = SustainedLoad {
            start_rate,
            step: plan.step,
            max_connections: plan.max_connections,
            max_rate: plan.max_rate as f64,
            half: true,
            leftover: intake.as_ref().map_or(0, |i| i.drain.unfinished),
        };
        Some(sustained::run(&session, load).await)
    } else {
        None
    };
    let faults = if plan.faults.is_empty() {
        None
    } else {
        let intake_rate = intake.as_ref().map(|i| i.run.req_per_s);
        Some(
            faults::run(
                &session,
                &plan.faults,
                plan.closed,
                plan.max_rate,
                intake_rate,
            )
            .await?,
        )
    };

    let last = session.counters().await;
    Ok(HostSession {
        label: plan.label,
        store: plan.store,
        hosts: webhooks.len() as u32,
        intake,
        sustained,
        faults,
        peak_rss_mb: host_pids
            .iter()
            .filter_map(|pid| procfs::status_mb(*pid, "VmHWM"))
            .reduce(f64::max),
        x_api: stand_in.snapshot(),
        extra_replies: customers.extra_replies(customers.all()),
        plugin_calls: first
            .zip(last)
            .map(|(first, last)| last.since(&first).plugin_calls)
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_names_one_process_a_line() {
        assert_eq!(parse_pids("4242\n").unwrap(), [4242]);
        assert_eq!(parse_pids("1\n2\n\n3").unwrap(), [1, 2, 3]);
        assert!(parse_pids("12 13").is_err());
        assert!(parse_pids("").unwrap().is_empty());
    }
}
