//! `switchboard serve` stopped by SIGTERM, as a deploy stops it: with an agent's console holding
//! its event stream and webhooks arriving, the process exits well within its deadline, the
//! stream ends (the console reconnects), and every webhook the host acknowledged is handled
//! after the restart.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use switchboard_tests::harness::{ALICE, ALICE_TOKEN, TestEnv, X_INTEGRATION, texts};

/// Generous, as CI machines are shared and slow; before the fix the process was still running
/// 45 s after SIGTERM with a stream open.
const EXIT_WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_with_a_console_stream_open_exits_and_loses_nothing_acknowledged() {
    // A deadline past EXIT_WITHIN, so the process exits in time only because it ends the
    // stream, not because the deadline drops the connection.
    let mut env = TestEnv::start("sigterm", |config| {
        config
            .server_options
            .push("shutdown_deadline_ms = 120000".into())
    })
    .await;
    let (lines, ended) = open_event_stream(&env.host.base_url());
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the stream's first line");
    assert_eq!(first, "event: hello");

    // Customers keep writing while the host stops: some webhooks are answered before the
    // signal, some arrive after it and are refused (the platform redelivers those).
    let dms: Vec<_> = (0..12)
        .map(|i| env.dm(&format!("17000000000000000{i:02}"), "hello?"))
        .collect();
    let sim = &env.sim;
    let sends = futures_util::future::join_all(dms.iter().enumerate().map(|(i, dm)| async move {
        tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
        let answer = sim.send_x_dm(X_INTEGRATION, dm).await;
        (dm.sender_id.clone(), matches!(answer, Ok((200, _))))
    }));
    let host = &mut env.host;
    let stop = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        host.terminate(EXIT_WITHIN).await
    };
    let (answers, stopped) = tokio::join!(sends, stop);
    let (status, took) = stopped.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(status.success(), "exit status {status} after {took:?}");
    assert!(
        ended.recv_timeout(Duration::from_secs(5)).is_ok(),
        "the agent's event stream ended when the host stopped"
    );
    assert!(
        env.host.log_tail(20).contains("stopped"),
        "{}",
        env.host.log_tail(20)
    );

    let acknowledged: Vec<String> = answers
        .into_iter()
        .filter(|(_, ok)| *ok)
        .map(|(customer, _)| customer)
        .collect();
    assert!(
        !acknowledged.is_empty(),
        "some webhooks came before SIGTERM"
    );
    env.host.restart().await;
    for customer in &acknowledged {
        let greeting = texts(&env.wait_delivered_to(customer, 1).await);
        assert!(
            greeting[0].starts_with("Hi "),
            "{customer} was greeted: {greeting:?}"
        );
    }
}

/// Opens alice's event stream as the console does (token in the `Authorization` header) and
/// reads it on a thread: its lines, and a message when the host closes it.
fn open_event_stream(
    base_url: &str,
) -> (
    std::sync::mpsc::Receiver<String>,
    std::sync::mpsc::Receiver<()>,
) {
    let addr = base_url.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).expect("connecting to the host");
    write!(
        stream,
        "GET /api/v1/agents/{ALICE}/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ALICE_TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("sending the request");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let (ended_tx, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut body = false;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if body && line.starts_with("event: ") {
                let _ = lines_tx.send(line);
            } else if line.is_empty() {
                body = true;
            }
        }
        let _ = ended_tx.send(());
    });
    (lines, ended)
}
