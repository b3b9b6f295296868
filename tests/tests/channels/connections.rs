//! The listener's limits: idle and slow sockets cannot stop the host answering webhooks.

use std::time::Duration;

use switchboard_tests::harness::{Setup, TestEnv, X_INTEGRATION, eventually};
use tokio::net::TcpStream;

/// Writes `bytes` (what fits at once: a few hundred bytes always do).
async fn write(socket: &TcpStream, bytes: &[u8]) {
    if socket.writable().await.is_ok() {
        let _ = socket.try_write(bytes);
    }
}

/// Reads until the host closes the socket (end of stream or a reset).
async fn until_closed(socket: &TcpStream) {
    let mut buffer = [0u8; 512];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        match socket.try_read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// Connects to the host, giving up after a while (a listener that no longer accepts leaves
/// connections in its backlog, or unanswered).
async fn connect(env: &TestEnv) -> Option<TcpStream> {
    let address = env.host.base_url().trim_start_matches("http://").to_owned();
    tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(address))
        .await
        .ok()?
        .ok()
}

/// A host whose open-file limit is 256 holds 400 idle sockets and 100 that trickle half a
/// request head, and still answers a webhook with 200: at its cap of 100 connections it closes
/// the oldest idle one for each newcomer. Before the cap, the idle sockets took every file
/// descriptor and the webhook was never accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_sockets_do_not_starve_webhooks() {
    let setup = Setup {
        open_files_limit: Some(256),
        ..Setup::default()
    };
    let env = TestEnv::start_with("connections-cap", setup, |c| {
        c.max_connections = 100;
        // Long: the cap alone must keep the host answering.
        c.header_read_timeout_ms = 120_000;
    })
    .await;
    let mut held = Vec::new();
    for i in 0..500 {
        // A host that stops accepting fills its backlog, and then connecting hangs.
        let Some(socket) = connect(&env).await else {
            break;
        };
        if i >= 400 {
            write(
                &socket,
                b"POST /webhooks/x HTTP/1.1\r\nHost: switchboard\r\nX-Slow: ",
            )
            .await;
        }
        held.push(socket);
    }
    assert!(
        held.len() > 256,
        "only {} sockets connected: the host stopped accepting below its open-file limit",
        held.len()
    );
    let dm = env.dm("1500000000000000951", "Hello");
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        env.sim.send_x_dm(X_INTEGRATION, &dm),
    )
    .await;
    match answer {
        Ok(Ok((status, body))) => assert_eq!(status, 200, "{body}"),
        Ok(Err(e)) => panic!(
            "the webhook failed while {} sockets were held: {e:#}",
            held.len()
        ),
        Err(_) => panic!(
            "the webhook was not answered within 20 s while {} sockets were held",
            held.len()
        ),
    }
    env.wait_delivered_to("1500000000000000951", 2).await;
    drop(held);
}

/// A client that sends half a request head and then nothing is disconnected after
/// `header_read_timeout_ms` (here 1 s); before, it was held for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slowloris_socket_is_closed_after_the_header_timeout() {
    let env = TestEnv::start("connections-slow", |c| {
        c.header_read_timeout_ms = 1_000;
    })
    .await;
    let slow = connect(&env).await.expect("connecting");
    write(&slow, b"POST /webhooks/x HTTP/1.1\r\nHost: switchboard\r\n").await;
    let idle = connect(&env).await.expect("connecting");
    for (what, socket) in [("half a head", &slow), ("nothing", &idle)] {
        // The host closes it (a 408 answer first is fine too).
        let closed = tokio::time::timeout(Duration::from_secs(20), until_closed(socket)).await;
        assert!(
            closed.is_ok(),
            "a socket that sent {what} was still open 20 s later"
        );
    }
    // The host still answers.
    eventually("the host answers", Duration::from_secs(10), || async {
        match env.api.get("/healthz", None).await.status.as_u16() {
            200 => Ok(()),
            status => Err(format!("{status}")),
        }
    })
    .await;
}
