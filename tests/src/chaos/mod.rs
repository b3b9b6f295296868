//! The fault campaign behind `cargo xtask chaos` (the `chaos` binary) and its short run in the
//! test suite: a Jepsen-style run over the real `switchboard` binary and the platform simulator.
//!
//! Customers post numbered, signed X DMs (`c17 m5`) to a host on SQLite whose X integration runs
//! the campaign's flow (`flow.yaml`: one reply `echo: c17 m5` per message, or, for the callers
//! who ask for an agent, `a1 m3 agent`, a transfer to the billing queue, where the simulated
//! [`agents`] take them); a nemesis plays a seeded
//! [`schedule`]: SIGKILLs of the host (at any moment, while the platform holds one of its sends,
//! right after an acknowledgement), each followed by a restart on the same store, and platform
//! faults on sends (429 with a reset ahead or already past, 429 with `Retry-After` 0-2 s, 5xx,
//! a permanent 403, no answer within the send timeout, a connection broken mid-answer, slow
//! answers). Then the
//! platform heals, the campaign waits (bounded) for the host to be quiet, reads what the host
//! recorded through the admin's API and hands the [`History`] to the [`checker`].
//!
//! - [`schedule`]: the seeded schedule (pure);
//! - [`customers`]: the load, and the record of what was acknowledged;
//! - [`agents`]: the agents (accept, race, reply, transfer, wrap up) and the host's records of
//!   who held what;
//! - [`nemesis`]: plays the schedule, records the kills;
//! - [`collect`]: quiescence, then the host's transcripts;
//! - [`checker`]: the rules over the history (pure), with [`assign`] for the ACD's;
//! - [`report`]: the table and `report.json`.

pub mod agents;
pub mod assign;
pub mod checker;
pub mod collect;
pub mod customers;
pub mod nemesis;
pub mod report;
pub mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use self::agents::Agents;
use self::checker::{CustomerHistory, Delivery, History};
use self::customers::{CALLERS, Customers, ECHOED};
use self::nemesis::Nemesis;
use self::report::Report;
use crate::fixtures::{UniqueIds, unix_millis};
use crate::harness::{HostProcess, TempDir, TestConfig, sim_config};
use crate::sim::PlatformSim;

/// The host's send timeout in the campaign: short, so a platform that does not answer costs
/// seconds, and well above the slowest scripted answer, so a slow answer is no timeout.
pub const SEND_TIMEOUT_MS: u64 = 5_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How long the load and the nemesis run.
    pub seconds: u64,
    pub seed: u64,
    pub kills: u64,
    pub customers: usize,
    /// Customers who ask for an agent (the ACD's share of the load).
    pub callers: usize,
    /// Where the run's folder (config, database, host log) and `report.json` go.
    pub out_dir: PathBuf,
    /// The longest wait for the host to be quiet after the nemesis stops.
    pub quiet_deadline: Duration,
}

impl Plan {
    /// `--seconds 120 --kills 20 --customers 20`, seeded from the clock.
    pub fn new(out_dir: PathBuf) -> Plan {
        Plan {
            seconds: 120,
            seed: unix_millis(std::time::SystemTime::now()),
            kills: 20,
            customers: 20,
            callers: 4,
            out_dir,
            quiet_deadline: Duration::from_secs(300),
        }
    }
}

/// Runs the campaign and checks it; writes `report.json` and the host's log to `plan.out_dir`.
pub async fn run(plan: &Plan) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&plan.out_dir)
        .with_context(|| format!("creating {}", plan.out_dir.display()))?;
    // The host runs in its own folder: every path it is given must be absolute.
    let plan = &Plan {
        out_dir: std::path::absolute(&plan.out_dir)?,
        ..plan.clone()
    };
    let steps = schedule::schedule(plan.seed, plan.seconds, plan.kills);
    let sim = Arc::new(PlatformSim::start(sim_config()).await?);
    let dir = TempDir::under(&plan.out_dir, "run");
    let mut config = TestConfig::new(&dir, &sim.base_url());
    config.use_test_flows();
    let flows = config.flows_dir.clone().context("the test flows' folder")?;
    std::fs::write(flows.join("chaos.yaml"), include_str!("flow.yaml"))?;
    config.x_flow = "chaos".into();
    for agent in agents::AGENTS {
        config.add_agent(agent, agents::CAPACITY, "");
    }
    config.send_timeout_ms = SEND_TIMEOUT_MS;
    config.backoff_ms = 100;
    config.max_attempts = 8;
    config.max_retry_after_ms = 5_000;
    let mut host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let log = host.log_path().to_path_buf();

    let started = Instant::now();
    let ids = Arc::new(UniqueIds::new());
    let customers = Customers::start(sim.clone(), plan.customers, plan.seed, ECHOED, ids.clone());
    let callers = Customers::start(sim.clone(), plan.callers, plan.seed, CALLERS, ids);
    let agents = Agents::start(host.api(), plan.seed);
    let mut nemesis = Nemesis {
        sim: &sim,
        host: &mut host,
        acked: customers.acked.clone(),
        send_timeout_ms: SEND_TIMEOUT_MS,
    };
    let kills = nemesis.play(&steps, started).await;
    tokio::time::sleep_until(started + Duration::from_secs(plan.seconds)).await;
    let sent = customers.stop().await?;
    let called = callers.stop().await?;
    let load_ms = started.elapsed().as_millis() as u64;

    // Heal: no more faults; the host is up (restarted after every kill).
    sim.x_clear_faults();
    let api = host.api();
    let quiet_started = Instant::now();
    let quiet = collect::wait_quiet(&sim, &api, &sent, plan.quiet_deadline).await;
    let acd_history = agents.stop().await?;
    let quiet_ms = quiet_started.elapsed().as_millis() as u64;

    let delivered = sim.delivered();
    let mut history = History {
        customers: Vec::new(),
        kills,
        acd: Default::default(),
    };
    for customer in sent {
        let recorded = collect::recorded(&api, &customer.id).await?;
        history.customers.push(CustomerHistory {
            delivered: delivered
                .iter()
                .filter(|d| d.recipient_id == customer.id)
                .map(|d| Delivery {
                    text: d.text.clone().unwrap_or_default(),
                    platform_id: d.platform_message_id.clone(),
                    at_ms: unix_millis(d.received_at),
                })
                .collect(),
            label: customer.label,
            id: customer.id,
            sent: customer.sent,
            acknowledged: customer.acknowledged,
            recorded,
        });
    }
    let mut acd = acd_history;
    for caller in &called {
        acd.caller_messages += caller.acknowledged.len() as u64;
        acd.records.extend(agents::records(&api, &caller.id).await?);
    }
    history.acd = acd;
    let verdict = checker::check(&history);
    let mut report = Report::new(plan, &steps, &history, verdict, load_ms, quiet_ms, quiet);
    let attempts = sim.attempts();
    report.send_calls = attempts.len();
    report.send_calls_faulted = attempts
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .count();
    report.write(&plan.out_dir.join("report.json"))?;
    let history_file = plan.out_dir.join("history.json");
    std::fs::write(&history_file, serde_json::to_string(&history)?)
        .with_context(|| format!("writing {}", history_file.display()))?;
    // The run's folder goes with the host; its log stays, and its database when a promise broke.
    let _ = std::fs::copy(&log, plan.out_dir.join("host.log"));
    if !report.clean {
        for name in ["switchboard.db", "switchboard.db-wal", "switchboard.db-shm"] {
            let _ = std::fs::copy(host.dir().join(name), plan.out_dir.join(name));
        }
    }
    drop(host);
    Ok(report)
}
