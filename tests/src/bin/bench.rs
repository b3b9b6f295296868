//! `bench --target http://127.0.0.1:PORT/webhooks/x-bench --consumer-secret S --account-id A
//!        [--connections 32] [--seconds 10] [--max-rate 20000] [--fault NAME=URL ...]`
//!
//! The load driver behind `cargo xtask bench`. It measures what the full path costs: signed X DM
//! webhooks go to the host (signature check, Wasm adapter, durable store, flow) and, in the same
//! run, identical requests go to a bare hyper server in this process that only reads the body and
//! answers 200. The ratio of the two throughputs is the number to watch: it cancels out most of what
//! the machine and this client contribute.
//!
//! Both runs are closed loops: `--connections` keep-alive HTTP/1.1 connections, one task each, each
//! sending its next request when the last answer is read, for a 1 s warm-up (not counted) and then
//! `--seconds`. Every body is built and signed before timing starts, so the client spends its CPU
//! (shared with the host on this machine) on HTTP only. Each body is a new DM from a new customer
//! (unique event id and sender id), so the host cannot shortcut through deduplication; the pool is
//! sized for `--max-rate` requests per second, and a connection that uses up its share stops and is
//! reported. The baseline reuses the same bodies in a cycle, which a bare server cannot tell apart.
//!
//! With `--fault NAME=URL` (repeatable), a third run measures fault isolation: the same X load
//! again (fresh bodies), while one loop per fault webhook (an adapter that traps, spins, hogs
//! memory or floods its output) calls it back to back. It reports what each fault call cost and
//! answered, and the X traffic beside them, against the run without faults.
//!
//! Load only ever goes to this machine: the target must resolve to a loopback address.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use switchboard_tests::fixtures::{self, UniqueIds, XDm};
use switchboard_tests::signing;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const USAGE: &str = "usage: bench --target http://127.0.0.1:PORT/webhooks/INTEGRATION --consumer-secret S \
                     --account-id A [--connections 32] [--seconds 10] [--max-rate 20000] \
                     [--fault NAME=URL ...]";
const WARM_UP: Duration = Duration::from_secs(1);
/// Pause after a failed connect, so a host that is down is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

struct Args {
    target: Uri,
    consumer_secret: String,
    account_id: String,
    connections: usize,
    seconds: u64,
    max_rate: u64,
    /// Fault webhooks called beside the X load in the third run: (name, URL).
    faults: Vec<(String, Uri)>,
}

/// Where a run sends its requests.
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    path: Uri,
}

/// One pre-built request: the body and its `x-twitter-webhooks-signature`.
struct Signed {
    body: Bytes,
    signature: HeaderValue,
}

/// The part of a run that counts: requests started after the warm-up and answered before the end.
#[derive(Clone, Copy)]
struct Window {
    counted_from: Instant,
    end: Instant,
}

/// What one run measured, merged over its connections.
#[derive(Default)]
struct Stats {
    /// Answers (any status) and transport failures inside the window.
    requests: u64,
    /// Latencies of the 2xx answers.
    latencies: Vec<Duration>,
    /// Non-2xx answers by status.
    failed_statuses: BTreeMap<u16, u64>,
    /// Connects or exchanges that failed without an answer.
    transport_errors: u64,
    /// Connections that used up their pre-signed bodies before the end.
    drained_connections: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` means help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let (mut target, mut consumer_secret, mut account_id) = (None, None, None);
    let (mut connections, mut seconds, mut max_rate) = (32, 10, 20_000);
    let mut faults = Vec::new();
    while let Some(flag) = args.next() {
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(None);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--target" => {
                target = Some(
                    value
                        .parse::<Uri>()
                        .with_context(|| format!("--target {value:?}"))?,
                )
            }
            "--consumer-secret" => consumer_secret = Some(value),
            "--account-id" => account_id = Some(value),
            "--connections" => {
                connections = usize::try_from(number()?).context("--connections is too large")?
            }
            "--seconds" => seconds = number()?,
            "--max-rate" => max_rate = number()?,
            "--fault" => {
                let (name, url) = value
                    .split_once('=')
                    .with_context(|| format!("--fault {value:?} is not NAME=URL"))?;
                let url = url
                    .parse::<Uri>()
                    .with_context(|| format!("--fault {value:?}"))?;
                faults.push((name.to_string(), url));
            }
            other => bail!("unexpected argument {other:?}"),
        }
    }
    ensure!(
        connections > 0 && seconds > 0 && max_rate > 0,
        "--connections, --seconds and --max-rate must be positive"
    );
    Ok(Some(Args {
        target: target.context("--target is required")?,
        consumer_secret: consumer_secret.context("--consumer-secret is required")?,
        account_id: account_id.context("--account-id is required")?,
        connections,
        seconds,
        max_rate,
        faults,
    }))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let switchboard = resolve_target(&args.target).await?;
    TcpStream::connect(switchboard.addr)
        .await
        .with_context(|| format!("cannot connect to {}; is the host running?", args.target))?;

    let measured = Duration::from_secs(args.seconds);
    let per_connection = usize::try_from(args.max_rate * (WARM_UP + measured).as_secs())
        .context("--max-rate is too large")?
        .div_ceil(args.connections);
    let built = std::time::Instant::now();
    let pools = signed_pools(&args, per_connection);
    println!(
        "bench: {} connections, {WARM_UP:?} warm-up, {measured:?} measured; {} bodies pre-signed in {:.1?}",
        args.connections,
        per_connection * args.connections,
        built.elapsed()
    );

    let switchboard = Arc::new(switchboard);
    let full_path = drive(switchboard.clone(), &pools, false, measured).await;
    let (baseline_addr, baseline_server) = start_baseline().await?;
    let baseline_target = Target {
        addr: baseline_addr,
        host: host_header(baseline_addr)?,
        path: args.target.clone(),
    };
    let baseline = drive(Arc::new(baseline_target), &pools, true, measured).await;
    baseline_server.abort();

    drop(pools);
    report(
        &[
            ("switchboard (full path)", &full_path),
            ("bare hyper (baseline)", &baseline),
        ],
        measured,
    );
    if !args.faults.is_empty() {
        let with_faults = faults_run(&args, switchboard, per_connection, measured).await?;
        let rate = |stats: &Stats| stats.latencies.len() as f64 / measured.as_secs_f64();
        if rate(&full_path) > 0.0 {
            println!(
                "throughput with faults/without: {:.3}",
                rate(&with_faults) / rate(&full_path)
            );
        }
    }
    if full_path.drained_connections > 0 {
        println!(
            "note: {} connection(s) used up their pre-signed bodies before the end: the host is faster than \
             --max-rate {}; rerun with a higher one",
            full_path.drained_connections, args.max_rate
        );
    }
    Ok(())
}

/// What the calls of one fault loop got.
#[derive(Default)]
struct FaultStats {
    /// Answers by status.
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    /// Time of every answered call.
    latencies: Vec<Duration>,
}

/// The third run: the X load again, with every fault webhook called back to back beside it.
/// Prints both and returns the X run's stats.
async fn faults_run(
    args: &Args,
    switchboard: Arc<Target>,
    per_connection: usize,
    measured: Duration,
) -> anyhow::Result<Stats> {
    let mut faults = Vec::new();
    for (name, url) in &args.faults {
        faults.push((name.clone(), Arc::new(resolve_target(url).await?)));
    }
    let pools = signed_pools(args, per_connection);
    let names: Vec<&str> = faults.iter().map(|(name, _)| name.as_str()).collect();
    println!(
        "
faults: the X load again while {} fail in a loop beside it",
        names.join(", ")
    );
    let start = Instant::now();
    let window = Window {
        counted_from: start + WARM_UP,
        end: start + WARM_UP + measured,
    };
    let loops: Vec<_> = faults
        .iter()
        .map(|(_, target)| tokio::spawn(fault_loop(target.clone(), window)))
        .collect();
    let with_faults = drive(switchboard, &pools, false, measured).await;
    report(&[("switchboard (with faults)", &with_faults)], measured);
    println!(
        "
{:<10} {:>7} {:<22} {:>10} {:>10}",
        "fault", "calls", "answers", "median ms", "max ms"
    );
    for ((name, _), task) in faults.iter().zip(loops) {
        let mut stats = task.await.context("a fault loop panicked")?;
        stats.latencies.sort_unstable();
        let mut answers: Vec<String> = stats
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} x{n}"))
            .collect();
        if stats.transport_errors > 0 {
            answers.push(format!("no answer x{}", stats.transport_errors));
        }
        println!(
            "{name:<10} {:>7} {:<22} {:>10.1} {:>10.1}",
            stats.latencies.len() as u64 + stats.transport_errors,
            answers.join(", "),
            percentile_ms(&stats.latencies, 0.50),
            stats
                .latencies
                .last()
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        );
    }
    Ok(with_faults)
}

/// Calls one fault webhook back to back (an empty JSON body, unsigned: a fault adapter fails
/// before it would check) and counts the calls made inside the window.
async fn fault_loop(target: Arc<Target>, window: Window) -> FaultStats {
    let mut stats = FaultStats::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < window.end {
        if sender.as_ref().is_none_or(SendRequest::is_closed) {
            match connect(target.addr).await {
                Ok(connected) => sender = Some(connected),
                Err(_) => {
                    stats.transport_errors += 1;
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
        let Ok(outcome) = tokio::time::timeout_at(window.end, exchange(connection, request)).await
        else {
            break;
        };
        if sent < window.counted_from {
            continue;
        }
        match outcome {
            Ok(status) => {
                *stats.statuses.entry(status.as_u16()).or_default() += 1;
                stats.latencies.push(sent.elapsed());
            }
            Err(_) => {
                stats.transport_errors += 1;
                sender = None;
            }
        }
    }
    stats
}

/// Resolves the target's address, refusing anything but loopback.
async fn resolve_target(target: &Uri) -> anyhow::Result<Target> {
    ensure!(
        target.scheme_str() == Some("http"),
        "--target must be an http:// URL, not {target}"
    );
    let host = target.host().context("--target needs a host")?;
    let port = target.port_u16().unwrap_or(80);
    let addr = tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    ensure!(
        addr.ip().is_loopback(),
        "--target must be on this machine (loopback), not {addr}"
    );
    let authority = target.authority().context("--target needs a host")?;
    let host = HeaderValue::from_str(authority.as_str())
        .context("--target's host is not a valid Host header")?;
    let path = target
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .parse()?;
    Ok(Target { addr, host, path })
}

fn host_header(addr: SocketAddr) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(&addr.to_string()).context("an address is a valid Host header")
}

/// `per_connection` signed DMs for each connection, every one a new event from a new customer.
fn signed_pools(args: &Args, per_connection: usize) -> Vec<Arc<[Signed]>> {
    let ids = UniqueIds::new();
    let created_ms = fixtures::unix_millis(SystemTime::now());
    let sign = || {
        let sender_id = ids.next_id();
        let body = fixtures::x_dm(&XDm {
            for_user_id: args.account_id.clone(),
            event_id: ids.next_id(),
            screen_name: format!("bench_{sender_id}"),
            sender_id,
            name: "Bench Customer".into(),
            text: "Hello, I would like to know where my parcel is.".into(),
            created_ms,
            ..XDm::default()
        });
        let signature = signing::x_signature(&args.consumer_secret, &body);
        Signed {
            body: Bytes::from(body),
            signature: HeaderValue::from_str(&signature)
                .expect("sha256=<base64> is a valid header value"),
        }
    };
    (0..args.connections)
        .map(|_| (0..per_connection).map(|_| sign()).collect())
        .collect()
}

/// Runs every connection for the warm-up plus `measured`, one task each, and merges what they saw.
/// `cycle` lets a connection start its pool over instead of stopping when it runs out.
async fn drive(
    target: Arc<Target>,
    pools: &[Arc<[Signed]>],
    cycle: bool,
    measured: Duration,
) -> Stats {
    let start = Instant::now();
    let window = Window {
        counted_from: start + WARM_UP,
        end: start + WARM_UP + measured,
    };
    let tasks: Vec<_> = pools
        .iter()
        .map(|pool| tokio::spawn(connection_loop(target.clone(), pool.clone(), cycle, window)))
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        let stats = task.await.expect("a connection task does not panic");
        total.requests += stats.requests;
        total.latencies.extend(stats.latencies);
        for (status, count) in stats.failed_statuses {
            *total.failed_statuses.entry(status).or_default() += count;
        }
        total.transport_errors += stats.transport_errors;
        total.drained_connections += stats.drained_connections;
    }
    total
}

/// One keep-alive connection in a closed loop; reconnects after a failure.
async fn connection_loop(
    target: Arc<Target>,
    pool: Arc<[Signed]>,
    cycle: bool,
    window: Window,
) -> Stats {
    let mut stats = Stats {
        latencies: Vec::with_capacity(pool.len()),
        ..Stats::default()
    };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut next = 0;
    while Instant::now() < window.end {
        if sender.as_ref().is_none_or(SendRequest::is_closed) {
            sender = match tokio::time::timeout_at(window.end, connect(target.addr)).await {
                Err(_) => break,
                Ok(Ok(connected)) => Some(connected),
                Ok(Err(_)) => {
                    if Instant::now() >= window.counted_from {
                        stats.requests += 1;
                        stats.transport_errors += 1;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            };
        }
        let connection = sender.as_mut().expect("connected above");
        if next == pool.len() {
            if !cycle {
                stats.drained_connections = 1;
                break;
            }
            next = 0;
        }
        let signed = &pool[next];
        next += 1;
        let request = Request::post(target.path.clone())
            .header(HOST, target.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("x-twitter-webhooks-signature", signed.signature.clone())
            .body(Full::new(signed.body.clone()))
            .expect("the parts of a pre-built request are valid");

        let sent = Instant::now();
        let Ok(outcome) = tokio::time::timeout_at(window.end, exchange(connection, request)).await
        else {
            break; // Still in flight at the end: not counted.
        };
        if sent < window.counted_from {
            continue;
        }
        stats.requests += 1;
        match outcome {
            Ok(status) if status.is_success() => stats.latencies.push(sent.elapsed()),
            Ok(status) => *stats.failed_statuses.entry(status.as_u16()).or_default() += 1,
            Err(_) => {
                stats.transport_errors += 1;
                sender = None;
            }
        }
    }
    stats
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task ends when the sender is dropped or the server closes.
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer, as keep-alive requires.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> hyper::Result<StatusCode> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

/// A bare hyper HTTP/1.1 server on loopback that reads each body and answers 200: the floor the
/// full path is compared with.
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

fn report(runs: &[(&str, &Stats)], measured: Duration) {
    let rate = |stats: &Stats| stats.latencies.len() as f64 / measured.as_secs_f64();
    println!(
        "\n{:<25} {:>10} {:>8} {:>11} {:>9} {:>9}",
        "", "requests", "errors", "req/s", "p50 ms", "p99 ms"
    );
    for (label, stats) in runs {
        let mut latencies = stats.latencies.clone();
        latencies.sort_unstable();
        println!(
            "{label:<25} {:>10} {:>8} {:>11.1} {:>9.3} {:>9.3}",
            stats.requests,
            stats.requests - latencies.len() as u64,
            rate(stats),
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99)
        );
    }
    for (label, stats) in runs {
        if stats.requests > stats.latencies.len() as u64 {
            let statuses: Vec<String> = stats
                .failed_statuses
                .iter()
                .map(|(status, n)| format!("{status} x{n}"))
                .collect();
            println!(
                "{label} errors: {} transport failure(s); non-2xx: {}",
                stats.transport_errors,
                if statuses.is_empty() {
                    "none".into()
                } else {
                    statuses.join(", ")
                }
            );
        }
    }
    if let [(_, full_path), (_, baseline)] = runs
        && rate(baseline) > 0.0
    {
        println!(
            "\nthroughput switchboard/baseline: {:.3}",
            rate(full_path) / rate(baseline)
        );
    }
}

/// Nearest-rank percentile of sorted latencies, in milliseconds (0 when there are none).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&ms, 0.50), 50.0);
        assert_eq!(percentile_ms(&ms, 0.99), 99.0);
        assert_eq!(percentile_ms(&ms[..1], 0.99), 1.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    async fn target(url: &str) -> anyhow::Result<Target> {
        resolve_target(&url.parse()?).await
    }

    #[tokio::test]
    async fn only_loopback_targets_are_accepted() {
        let local = target("http://127.0.0.1:8080/webhooks/x-bench?probe=1")
            .await
            .unwrap();
        assert_eq!(local.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (
                local.host.to_str().unwrap(),
                local.path.to_string().as_str()
            ),
            ("127.0.0.1:8080", "/webhooks/x-bench?probe=1")
        );
        assert!(target("http://10.1.2.3:8080/webhooks/x").await.is_err());
        assert!(target("https://127.0.0.1:8443/webhooks/x").await.is_err());
    }

    #[test]
    fn args_have_defaults_and_need_the_target_and_secrets() {
        let parse = |args: &[&str]| parse_args(args.iter().map(|arg| arg.to_string()));
        let args = parse(&[
            "--target",
            "http://127.0.0.1:1/w",
            "--consumer-secret",
            "s",
            "--account-id",
            "1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (args.connections, args.seconds, args.max_rate),
            (32, 10, 20_000)
        );
        assert!(args.faults.is_empty());
        let with_fault = parse(&[
            "--target",
            "http://127.0.0.1:1/w",
            "--consumer-secret",
            "s",
            "--account-id",
            "1",
            "--fault",
            "trap=http://127.0.0.1:1/webhooks/trap-fixture",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(with_fault.faults.len(), 1);
        assert_eq!(with_fault.faults[0].0, "trap");
        assert!(
            parse(&[
                "--target",
                "http://127.0.0.1:1/w",
                "--consumer-secret",
                "s",
                "--account-id",
                "1",
                "--fault",
                "no-equals-sign"
            ])
            .is_err()
        );
        assert!(parse(&["--target", "http://127.0.0.1:1/w", "--account-id", "1"]).is_err());
        assert!(
            parse(&[
                "--target",
                "http://127.0.0.1:1/w",
                "--consumer-secret",
                "s",
                "--account-id",
                "1",
                "--seconds",
                "0"
            ])
            .is_err()
        );
        assert!(parse(&["--connections"]).is_err());
    }
}
