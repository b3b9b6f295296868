//! The closed loop: `connections` keep-alive HTTP/1.1 connections, one task each, each sending
//! its next request when the last answer is read, for a warm-up (not counted) and then the
//! measured window. It measures how fast a server answers when the client waits for it, which
//! for the host is intake: signature, Wasm decode, durable commit and dedupe before the 2xx,
//! with the flow and the replies left to run behind it.
//!
//! Against several hosts each connection task keeps one connection to each and sends its
//! requests to them in turn (the tasks start at different hosts), so every host gets the same
//! share of requests, as behind a round-robin load balancer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::bodies::{Signed, Signer};
use super::customers::Customers;
use super::http::{self, Connection, Targets};
use super::procfs::Cpu;
use super::stats::Latency;

/// Pause after a failed connect, so a server that is down is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// How long a request still in flight at the end of the window is waited for.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

/// The shape of a closed-loop run.
#[derive(Debug, Clone, Copy)]
pub struct ClosedLoad {
    pub connections: usize,
    pub warm_up: Duration,
    pub measured: Duration,
}

/// The part of a run that counts: requests started after the warm-up and answered before the end.
#[derive(Clone, Copy)]
struct Window {
    counted_from: Instant,
    end: Instant,
}

/// What one run saw, merged over its connections.
#[derive(Default)]
pub struct ClosedRun {
    /// Answers (any status) and transport failures inside the window.
    pub requests: u64,
    /// Latencies of the 2xx answers inside the window.
    pub latencies: Vec<Duration>,
    /// Non-2xx answers by status.
    pub failed_statuses: BTreeMap<u16, u64>,
    /// Connects or exchanges that failed without an answer.
    pub transport_errors: u64,
    /// Connections that used up their pre-signed bodies before the end.
    pub exhausted_connections: usize,
    /// Customers whose webhook was answered 2xx, warm-up included (when customers are tracked).
    pub accepted: Vec<u64>,
    pub measured: Duration,
}

/// A closed-loop run as the report shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClosedResult {
    pub connections: usize,
    pub seconds: f64,
    /// Requests answered (or failed) in the measured window.
    pub requests: u64,
    /// 2xx answers per second in the measured window.
    pub req_per_s: f64,
    pub latency: Latency,
    /// Failures by kind: an HTTP status, or `transport`.
    pub errors: BTreeMap<String, u64>,
    /// Connections that ran out of pre-signed bodies (the server outran `--max-rate`).
    pub exhausted_connections: usize,
    pub cpu: Cpu,
}

impl ClosedRun {
    pub fn req_per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.measured.as_secs_f64()
    }

    pub fn result(&self, connections: usize, cpu: Cpu) -> ClosedResult {
        let mut errors: BTreeMap<String, u64> = self
            .failed_statuses
            .iter()
            .map(|(status, n)| (status.to_string(), *n))
            .collect();
        if self.transport_errors > 0 {
            errors.insert("transport".into(), self.transport_errors);
        }
        ClosedResult {
            connections,
            seconds: self.measured.as_secs_f64(),
            requests: self.requests,
            req_per_s: self.req_per_s(),
            latency: Latency::of(self.latencies.clone(), 0),
            errors,
            exhausted_connections: self.exhausted_connections,
            cpu,
        }
    }
}

/// `per_connection` signed webhooks for each connection, every one a new customer.
pub fn pools(
    signer: &Signer,
    customers: &Customers,
    connections: usize,
    per_connection: u64,
) -> Vec<Arc<[Signed]>> {
    (0..connections)
        .map(|_| signer.sign_all(customers.reserve(per_connection)))
        .collect()
}

/// Runs every connection for the warm-up plus the measured window and merges what they saw.
/// `cycle` lets a connection start its pool over instead of stopping when it runs out (for a
/// server that cannot tell); `customers` records sends and accepted customers.
pub async fn drive(
    targets: Arc<Targets>,
    pools: &[Arc<[Signed]>],
    cycle: bool,
    load: ClosedLoad,
    customers: Option<Arc<Customers>>,
) -> ClosedRun {
    let start = Instant::now();
    let window = Window {
        counted_from: start + load.warm_up,
        end: start + load.warm_up + load.measured,
    };
    let tasks: Vec<_> = pools
        .iter()
        .enumerate()
        .map(|(first_turn, pool)| {
            tokio::spawn(connection_loop(
                targets.clone(),
                first_turn,
                pool.clone(),
                cycle,
                window,
                customers.clone(),
            ))
        })
        .collect();
    let mut total = ClosedRun {
        measured: load.measured,
        ..ClosedRun::default()
    };
    for task in tasks {
        let run = task.await.expect("a connection task does not panic");
        total.requests += run.requests;
        total.latencies.extend(run.latencies);
        for (status, count) in run.failed_statuses {
            *total.failed_statuses.entry(status).or_default() += count;
        }
        total.transport_errors += run.transport_errors;
        total.exhausted_connections += run.exhausted_connections;
        total.accepted.extend(run.accepted);
    }
    total
}

/// One client in a closed loop: a keep-alive connection to each target, sending to them in
/// turn from `first_turn`; reconnects after a failure.
async fn connection_loop(
    targets: Arc<Targets>,
    first_turn: usize,
    pool: Arc<[Signed]>,
    cycle: bool,
    window: Window,
    customers: Option<Arc<Customers>>,
) -> ClosedRun {
    let mut run = ClosedRun {
        latencies: Vec::with_capacity(pool.len()),
        ..ClosedRun::default()
    };
    let mut senders: Vec<Option<Connection>> = targets.iter().map(|_| None).collect();
    let mut turn = first_turn;
    let mut next = 0;
    while Instant::now() < window.end {
        let which = turn % targets.len();
        turn += 1;
        let target = targets.turn(which);
        let sender = &mut senders[which];
        if sender.as_ref().is_none_or(Connection::is_closed) {
            *sender = match tokio::time::timeout_at(window.end, http::connect(target.addr)).await {
                Err(_) => break,
                Ok(Ok(connected)) => Some(connected),
                Ok(Err(_)) => {
                    if Instant::now() >= window.counted_from {
                        run.requests += 1;
                        run.transport_errors += 1;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            };
        }
        let connection = sender.as_mut().expect("connected above");
        if next == pool.len() {
            if !cycle {
                run.exhausted_connections = 1;
                break;
            }
            next = 0;
        }
        let signed = &pool[next];
        next += 1;
        let request = target.webhook(signed);

        let sent = Instant::now();
        if let Some(customers) = &customers {
            customers.sent(signed.customer, sent);
        }
        let outcome = {
            let exchange = http::exchange(connection, request);
            tokio::pin!(exchange);
            match tokio::time::timeout_at(window.end, &mut exchange).await {
                Ok(outcome) => Some(outcome),
                Err(_) => {
                    // In flight at the end: not counted, but awaited, so that every message the
                    // server accepted is known (the drain that follows waits for its replies).
                    let late = tokio::time::timeout(IN_FLIGHT_GRACE, exchange).await;
                    if matches!(late, Ok(Ok(status)) if status.is_success()) && customers.is_some()
                    {
                        run.accepted.push(signed.customer);
                    }
                    None
                }
            }
        };
        let Some(outcome) = outcome else {
            break;
        };
        if matches!(outcome, Ok(status) if status.is_success()) && customers.is_some() {
            run.accepted.push(signed.customer);
        }
        if sent < window.counted_from {
            continue;
        }
        run.requests += 1;
        match outcome {
            Ok(status) if status.is_success() => run.latencies.push(sent.elapsed()),
            Ok(status) => *run.failed_statuses.entry(status.as_u16()).or_default() += 1,
            Err(_) => {
                run.transport_errors += 1;
                *sender = None;
            }
        }
    }
    run
}
