//! One life of a host: the X send API stand-in comes up first (xtask starts the host once it
//! listens, so every reply the host ever sends finds it), then the phases run in order on an
//! idle host, and the host's peak memory is read at the end.

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
use crate::bench::http::{self, Target};
use crate::bench::ladder;
use crate::bench::procfs;
use crate::bench::x_api::{self, XApiCounts};

/// What every phase of a session works with.
pub struct Session {
    /// The host's X webhook.
    pub webhook: Arc<Target>,
    /// The X integration's id (for its counters in `/metrics`).
    pub integration: String,
    pub signer: Signer,
    pub customers: Arc<Customers>,
    pub host_pid: Option<u32>,
    /// The longest wait for a backlog's replies.
    pub drain_timeout: Duration,
}

impl Session {
    /// The host's counters now (`None` if `/metrics` cannot be read).
    pub async fn counters(&self) -> Option<HostCounters> {
        host_metrics::scrape(&self.webhook, &self.integration).await
    }
}

/// What to run in a session.
pub struct Plan {
    /// `empty` (a fresh store) or `1m` (the prefilled store), for the report.
    pub label: String,
    pub webhook: Uri,
    pub integration: String,
    pub signer: Signer,
    /// Where the send API stand-in listens (the integration's `api_base`).
    pub x_api_listen: SocketAddr,
    pub access_token: String,
    /// The file xtask writes the host's process id to once it started it.
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
    pub intake: Option<Intake>,
    pub sustained: Option<Sustained>,
    pub faults: Option<Faults>,
    /// The host's `VmHWM` at the end of the session: its peak resident memory.
    pub peak_rss_mb: Option<f64>,
    /// What the send API stand-in saw.
    pub x_api: XApiCounts,
    /// Replies beyond the two each message should get (a host bug when not 0).
    pub extra_replies: u64,
    /// Plugin calls over the session, from the host's counters.
    pub plugin_calls: Vec<PluginCalls>,
}

/// Starts the stand-in, waits for the host, runs the plan's phases.
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
    let webhook = Arc::new(Target::resolve(&plan.webhook).await?);
    http::wait_healthy(&webhook, plan.health_timeout).await?;
    let host_pid = match &plan.pid_file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading the host's pid from {}", file.display()))?
                .trim()
                .parse::<u32>()
                .with_context(|| format!("{} holds no process id", file.display()))?,
        ),
        None => None,
    };
    let session = Session {
        webhook,
        integration: plan.integration.clone(),
        signer: plan.signer.clone(),
        customers: customers.clone(),
        host_pid,
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
        intake,
        sustained,
        faults,
        peak_rss_mb: host_pid.and_then(|pid| procfs::status_mb(pid, "VmHWM")),
        x_api: stand_in.snapshot(),
        extra_replies: customers.extra_replies(customers.all()),
        plugin_calls: first
            .zip(last)
            .map(|(first, last)| last.since(&first).plugin_calls)
            .unwrap_or_default(),
    })
}
