//! Fault isolation: the intake load again (fresh customers) while one loop per fault webhook (an
//! adapter that traps, spins to its deadline, allocates past its memory limit or floods its
//! output) calls it back to back. It reports what each fault call cost and answered, and the X
//! throughput beside the faults against the intake run without them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::intake;
use super::session::Session;
use crate::bench::closed::{self, ClosedLoad, ClosedResult};
use crate::bench::http::{self, Connection, Target};
use crate::bench::procfs::CpuMeter;
use crate::bench::stats::{Latency, ratio, show};

/// Pause after a failed connect.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// What one fault loop got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultLoop {
    pub name: String,
    pub calls: u64,
    /// Answers by status (`transport`: none).
    pub answers: BTreeMap<String, u64>,
    pub latency: Latency,
}

/// What the fault run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// The X load beside the faults.
    pub x: ClosedResult,
    /// Its throughput over the intake run's (same load, no faults, an emptier store).
    pub vs_intake: Option<f64>,
    pub loops: Vec<FaultLoop>,
}

pub async fn run(
    session: &Session,
    faults: &[(String, Uri)],
    load: ClosedLoad,
    max_rate: u64,
    intake_req_per_s: Option<f64>,
) -> anyhow::Result<Faults> {
    let mut targets = Vec::new();
    for (name, url) in faults {
        targets.push((name.clone(), Arc::new(Target::resolve(url).await?)));
    }
    let pools = closed::pools(
        &session.signer,
        &session.customers,
        load.connections,
        intake::per_connection(load, max_rate),
    );
    let names: Vec<&str> = targets.iter().map(|(name, _)| name.as_str()).collect();
    println!(
        "faults: the intake load again while {} fail in a loop beside it",
        names.join(", ")
    );
    let start = Instant::now();
    let (counted_from, end) = (start + load.warm_up, start + load.warm_up + load.measured);
    let loops: Vec<_> = targets
        .iter()
        .map(|(_, target)| tokio::spawn(fault_loop(target.clone(), counted_from, end)))
        .collect();
    let meter = CpuMeter::start(&session.host_pids);
    let run = closed::drive(session.webhooks.clone(), &pools, false, load, None).await;
    let x = run.result(load.connections, meter.stop());
    let mut results = Vec::new();
    for ((name, _), task) in targets.iter().zip(loops) {
        let (answers, latencies) = task.await?;
        let calls = answers.values().sum();
        results.push(FaultLoop {
            name: name.clone(),
            calls,
            answers,
            latency: Latency::of(latencies, 0),
        });
    }
    println!(
        "faults: X {:.1} req/s beside the faults ({} of intake)",
        x.req_per_s,
        show(intake_req_per_s.and_then(|i| ratio(x.req_per_s, i)), 3)
    );
    Ok(Faults {
        vs_intake: intake_req_per_s.and_then(|i| ratio(x.req_per_s, i)),
        x,
        loops: results,
    })
}

/// Calls one fault webhook back to back (an empty JSON body, unsigned: a fault adapter fails
/// before it would check) and records the calls made inside the window.
async fn fault_loop(
    target: Arc<Target>,
    counted_from: Instant,
    end: Instant,
) -> (BTreeMap<String, u64>, Vec<Duration>) {
    let mut answers = BTreeMap::<String, u64>::new();
    let mut latencies = Vec::new();
    let mut sender: Option<Connection> = None;
    while Instant::now() < end {
        if sender.as_ref().is_none_or(Connection::is_closed) {
            match http::connect(target.addr).await {
                Ok(connected) => sender = Some(connected),
                Err(_) => {
                    *answers.entry("transport".into()).or_default() += 1;
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let connection = sender.as_mut().expect("connected above");
        let request = Request::post(target.path.clone())
            .header(HOST, target.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a valid request");
        let sent = Instant::now();
        let Ok(outcome) = tokio::time::timeout_at(end, http::exchange(connection, request)).await
        else {
            break;
        };
        if sent < counted_from {
            continue;
        }
        match outcome {
            Ok(status) => {
                *answers.entry(status.as_u16().to_string()).or_default() += 1;
                latencies.push(sent.elapsed());
            }
            Err(_) => {
                *answers.entry("transport".into()).or_default() += 1;
                sender = None;
            }
        }
    }
    (answers, latencies)
}
