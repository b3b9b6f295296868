//! Sustained: open-loop steps of fixed rates, every message from a new customer running the
//! support flow to its `ask` (a greeting and a question, both sent through the adapter to the
//! send API stand-in). A rate is sustained when the backlog stays bounded (see
//! [`crate::bench::ladder`]); the ladder finds the highest one, and a last step at half of it
//! measures webhook-sent to first-reply latency on a host that keeps up.
//!
//! Each step starts on an idle host: after it, the phase waits for every accepted message's
//! replies (the wait is reported), so one step's backlog never counts against the next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::drain::{self, Drain};
use super::session::Session;
use crate::bench::host_metrics::{self, Backlog};
use crate::bench::ladder::{self, Ladder, StepCounts, Verdict};
use crate::bench::open;
use crate::bench::procfs::{Cpu, CpuMeter};
use crate::bench::stats::{Latency, ms, show};

/// The shape of the sustained phase.
#[derive(Debug, Clone, Copy)]
pub struct SustainedLoad {
    pub start_rate: f64,
    pub step: Duration,
    /// Webhooks in flight at once (connections) before a request waits.
    pub max_connections: usize,
    /// No step above this rate (what the driver can send).
    pub max_rate: f64,
    /// Whether to run the half-rate latency step after the ladder.
    pub half: bool,
    /// Messages of an earlier phase still unfinished when this one starts (0: an idle host).
    pub leftover: u64,
}

/// One rate step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub rate: f64,
    pub seconds: f64,
    pub messages: u64,
    pub verdict: Verdict,
    /// Messages whose two replies had not both arrived when the step ended; the rate is
    /// sustained only when this is under `rate` (one second of input).
    pub unfinished_at_end: u64,
    /// Webhooks not answered 2xx, by status (`transport`: no answer; `unanswered`: none
    /// within the drain timeout).
    pub webhooks_refused: BTreeMap<String, u64>,
    /// Webhook sent to its 2xx.
    pub webhook: Latency,
    /// Webhook sent to the first reply at the stand-in (missing: never came).
    pub first_reply: Latency,
    /// How late the driver dispatched its latest request against the schedule.
    pub max_dispatch_lag_ms: f64,
    /// Requests that waited for a connection (that many webhooks were unanswered at once).
    pub waited_for_connection: u64,
    /// Messages of earlier steps still unfinished when this one started (0: an idle host).
    pub started_with_backlog: u64,
    /// Where the unfinished messages were at the end, from the host's counters.
    pub backlog_at_end: Option<Backlog>,
    /// The wait for the step's replies after it.
    pub drain: Drain,
    pub cpu: Cpu,
}

/// What the sustained phase measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sustained {
    pub start_rate: f64,
    pub step_seconds: f64,
    /// The highest sustained rate (`None`: not even the lowest step was).
    pub sustained_msgs_per_s: Option<f64>,
    pub steps: Vec<Step>,
    /// The latency step at half the sustained rate.
    pub half: Option<Step>,
    pub p50_first_reply_ms: Option<f64>,
    pub p99_first_reply_ms: Option<f64>,
}

pub async fn run(session: &Session, load: SustainedLoad) -> Sustained {
    let mut ladder = Ladder::new(load.start_rate);
    ladder.max_rate = load.max_rate;
    let mut steps = Vec::new();
    let mut leftover = load.leftover;
    while let Some(rate) = ladder.next() {
        let step = step(session, rate, load, leftover).await;
        leftover = step.drain.unfinished;
        ladder.record(rate, step.verdict.is_sustained());
        steps.push(step);
    }
    let sustained = ladder.best();
    let half = match sustained {
        Some(best) if load.half => {
            println!("sustained: half of {best}/s, for first-reply latency");
            Some(step(session, (best / 2.0).round().max(1.0), load, leftover).await)
        }
        _ => None,
    };
    Sustained {
        start_rate: load.start_rate,
        step_seconds: load.step.as_secs_f64(),
        sustained_msgs_per_s: sustained,
        p50_first_reply_ms: half.as_ref().and_then(|h| h.first_reply.p50_ms),
        p99_first_reply_ms: half.as_ref().and_then(|h| h.first_reply.p99_ms),
        steps,
        half,
    }
}

async fn step(session: &Session, rate: f64, load: SustainedLoad, leftover: u64) -> Step {
    let customers = &session.customers;
    let n = (rate * load.step.as_secs_f64()).round().max(1.0) as u64;
    let bodies = session.signer.sign_all(customers.reserve(n));
    let ids: Vec<u64> = bodies.iter().map(|b| b.customer).collect();
    let before = session.counters().await;

    let meter = CpuMeter::start(&session.host_pids);
    let dispatched = open::run(
        session.webhooks.clone(),
        bodies,
        rate,
        load.max_connections,
        Arc::clone(customers),
    )
    .await;
    tokio::time::sleep_until(dispatched.ends).await;
    let end = customers.since_epoch(dispatched.ends);
    let unfinished_at_end = customers.unfinished_by(&ids, end);
    let in_flight = dispatched.in_flight();
    let cpu = meter.stop();

    let after = session.counters().await;
    let backlog_at_end = before
        .zip(after)
        .map(|(before, after)| host_metrics::backlog(&before, &after, in_flight));
    let (ends, max_dispatch_lag) = (dispatched.ends, dispatched.max_dispatch_lag);
    let waiting_since = Instant::now();
    let (outcomes, unanswered) = dispatched.outcomes(session.drain_timeout).await;
    let mut webhooks_refused = BTreeMap::<String, u64>::new();
    for outcome in outcomes.iter().filter(|o| !o.accepted()) {
        let kind = outcome
            .status
            .map_or_else(|| "transport".to_owned(), |s| s.to_string());
        *webhooks_refused.entry(kind).or_default() += 1;
    }
    if unanswered > 0 {
        webhooks_refused.insert("unanswered".into(), unanswered);
    }
    let accepted: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.accepted())
        .map(|o| o.customer)
        .collect();
    let remaining = session
        .drain_timeout
        .saturating_sub(waiting_since.elapsed());
    let drain = drain::wait(customers, &accepted, ends, remaining).await;

    let webhook = Latency::of(
        outcomes
            .iter()
            .filter(|o| o.accepted())
            .map(|o| o.answered - o.sent)
            .collect(),
        0,
    );
    let replied: Vec<Duration> = accepted
        .iter()
        .filter_map(|c| customers.seen(*c).first_reply_latency())
        .collect();
    let missing = accepted.len() as u64 - replied.len() as u64;
    let verdict = ladder::verdict(&StepCounts {
        rate,
        refused: webhooks_refused.values().sum(),
        unfinished_at_end,
        max_dispatch_lag,
    });
    let step = Step {
        rate,
        seconds: load.step.as_secs_f64(),
        messages: n,
        verdict,
        unfinished_at_end,
        webhooks_refused,
        webhook,
        first_reply: Latency::of(replied, missing),
        max_dispatch_lag_ms: ms(&max_dispatch_lag),
        waited_for_connection: outcomes.iter().filter(|o| o.waited).count() as u64,
        started_with_backlog: leftover,
        backlog_at_end,
        drain,
        cpu,
    };
    println!(
        "sustained: {rate}/s for {:?}: {:?}, {} of {n} unfinished at the end (sustained under {rate}); \
         first reply p50 {} ms, p99 {} ms; {}; CPU driver {} %, host {} %, machine {} %",
        load.step,
        step.verdict,
        step.unfinished_at_end,
        show(step.first_reply.p50_ms, 1),
        show(step.first_reply.p99_ms, 1),
        if step.drain.drained {
            format!("drained in {} s", show(step.drain.seconds, 1))
        } else {
            format!("{} not drained", step.drain.unfinished)
        },
        show(step.cpu.driver_pct, 0),
        show(step.cpu.server_pct, 0),
        show(step.cpu.machine_pct, 0),
    );
    step
}
