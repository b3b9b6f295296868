//! Intake: signed X webhooks to 2xx in a closed loop. The 2xx comes after the signature check
//! and decode in Wasm, the durable commit and the dedupe, so this is how fast the host takes
//! messages in; the flows and replies run behind it and pile up. The phase then waits until the
//! host has sent every accepted message's two replies, and reports how long that took.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::drain::{self, Drain};
use super::session::Session;
use crate::bench::closed::{self, ClosedLoad, ClosedResult};
use crate::bench::host_metrics::HostCounters;
use crate::bench::procfs::CpuMeter;
use crate::bench::stats::{Latency, show};

/// What the intake phase measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intake {
    pub run: ClosedResult,
    /// Messages answered 2xx, warm-up included: the backlog the run handed the host.
    pub accepted: u64,
    /// The wait for their replies after the run.
    pub drain: Drain,
    /// Webhook sent to first reply, over the accepted messages: mostly time queued behind the
    /// backlog, so it says how far behind intake the flows ran.
    pub first_reply: Latency,
    /// The host's counters over the run and the drain.
    pub host: Option<HostCounters>,
}

/// How many bodies each connection needs to send `max_rate` requests per second in all.
pub fn per_connection(load: ClosedLoad, max_rate: u64) -> u64 {
    let seconds = (load.warm_up + load.measured).as_secs_f64();
    ((max_rate as f64 * seconds) / load.connections as f64).ceil() as u64
}

pub async fn run(session: &Session, load: ClosedLoad, max_rate: u64) -> Intake {
    let signed_at = std::time::Instant::now();
    let pools = closed::pools(
        &session.signer,
        &session.customers,
        load.connections,
        per_connection(load, max_rate),
    );
    println!(
        "intake: {} connections, closed loop, {:?} warm-up + {:?}; {} bodies signed in {:.1?}",
        load.connections,
        load.warm_up,
        load.measured,
        pools.iter().map(|p| p.len()).sum::<usize>(),
        signed_at.elapsed()
    );
    let before = session.counters().await;
    let meter = CpuMeter::start(&session.host_pids);
    let run = closed::drive(
        session.webhooks.clone(),
        &pools,
        false,
        load,
        Some(session.customers.clone()),
    )
    .await;
    let cpu = meter.stop();
    let load_end = Instant::now();
    drop(pools);
    let result = run.result(load.connections, cpu);
    println!(
        "intake: {:.1} req/s, p50 {} ms, p99 {} ms; waiting for the replies of {} accepted messages",
        result.req_per_s,
        show(result.latency.p50_ms, 2),
        show(result.latency.p99_ms, 2),
        run.accepted.len()
    );
    let drain = drain::wait(
        &session.customers,
        &run.accepted,
        load_end,
        session.drain_timeout,
    )
    .await;
    println!(
        "intake: {} of {} messages were unfinished when the run ended; {}",
        drain.backlog,
        drain.messages,
        if drain.drained {
            format!("the host finished them in {} s", show(drain.seconds, 1))
        } else {
            format!(
                "{} still unfinished when the wait gave up",
                drain.unfinished
            )
        }
    );
    let after = session.counters().await;
    let latencies: Vec<Duration> = run
        .accepted
        .iter()
        .filter_map(|c| session.customers.seen(*c).first_reply_latency())
        .collect();
    let missing = run.accepted.len() as u64 - latencies.len() as u64;
    Intake {
        run: result,
        accepted: run.accepted.len() as u64,
        drain,
        first_reply: Latency::of(latencies, missing),
        host: before
            .zip(after)
            .map(|(before, after)| after.since(&before)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_sized_for_the_maximum_rate() {
        let load = ClosedLoad {
            connections: 32,
            warm_up: Duration::from_secs(1),
            measured: Duration::from_secs(10),
        };
        assert_eq!(per_connection(load, 20_000), 6_875);
    }
}
