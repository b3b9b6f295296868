//! Peers: the intake load against servers that are not Switchboard, with the host not running,
//! so nothing else competes for the cores.
//!
//! - A bare hyper server in this process that reads each body and answers 200: the floor of
//!   HTTP on this machine with this client. `intake_ratio` divides the host's intake by it,
//!   which cancels out most of what the machine and the client contribute. It reuses a small
//!   pool of bodies in a cycle, which a bare server cannot tell apart.
//! - Node-RED 4 running `xtask/bench/node-red/flows.json`: the X path a low-code integrator
//!   would build (signature check, decode, dedupe by event id, greet/ask state per sender in
//!   memory, 200), with no durability and no replies sent. Every body is a new customer, as
//!   for the host.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use super::intake;
use crate::bench::bodies::Signer;
use crate::bench::closed::{self, ClosedLoad, ClosedResult};
use crate::bench::customers::Customers;
use crate::bench::http::{Target, Targets};
use crate::bench::procfs::CpuMeter;

/// Bodies per connection the baseline cycles through.
const BASELINE_POOL: u64 = 1_000;

/// What the peers phase measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Peers {
    pub baseline: ClosedResult,
    pub node_red: Option<ClosedResult>,
    /// Why Node-RED was not measured.
    pub node_red_skipped: Option<String>,
}

/// Where Node-RED listens, and its process (for its CPU time).
pub struct NodeRed {
    pub url: Uri,
    pub pid: Option<u32>,
}

pub async fn run(
    signer: &Signer,
    load: ClosedLoad,
    max_rate: u64,
    node_red: Result<NodeRed, String>,
) -> anyhow::Result<Peers> {
    let customers = Arc::new(Customers::new());

    let (addr, server) = start_baseline().await?;
    let pools = closed::pools(signer, &customers, load.connections, BASELINE_POOL);
    let target = Arc::new(Targets::from(Target::local(
        addr,
        "/webhooks/x-bench".parse()?,
    )?));
    println!(
        "peers: bare hyper, {} connections, closed loop",
        load.connections
    );
    let meter = CpuMeter::start(&[]);
    let run = closed::drive(target, &pools, true, load, None).await;
    let baseline = run.result(load.connections, meter.stop());
    server.abort();
    drop(pools);
    println!("peers: bare hyper {:.1} req/s", baseline.req_per_s);

    let (node_red, node_red_skipped) = match node_red {
        Ok(node_red) => {
            let target = Arc::new(Targets::from(Target::resolve(&node_red.url).await?));
            let pools = closed::pools(
                signer,
                &customers,
                load.connections,
                intake::per_connection(load, max_rate),
            );
            println!(
                "peers: Node-RED at {}, {} connections, closed loop",
                node_red.url, load.connections
            );
            let meter = CpuMeter::start(node_red.pid.as_slice());
            let run = closed::drive(target, &pools, false, load, None).await;
            let result = run.result(load.connections, meter.stop());
            println!(
                "peers: Node-RED {:.1} req/s ({} errors)",
                result.req_per_s,
                result.errors.values().sum::<u64>()
            );
            (Some(result), None)
        }
        Err(reason) => {
            println!("peers: Node-RED skipped: {reason}");
            (None, Some(reason))
        }
    };
    Ok(Peers {
        baseline,
        node_red,
        node_red_skipped,
    })
}

/// A bare hyper HTTP/1.1 server on loopback that reads each body and answers 200.
async fn start_baseline() -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the baseline server")?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let answer = service_fn(|request: Request<Incoming>| async move {
                    let _ = request.into_body().collect().await;
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), answer)
                    .await;
            });
        }
    });
    Ok((addr, server))
}
