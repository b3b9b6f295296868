//! A contact's messages across hosts, `ask` timeouts, and publishing on one host.

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_tests::harness::{ADMIN_TOKEN, WAIT, eventually, texts};

use crate::{cluster, count, query};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_contact_on_two_hosts_is_one_conversation_answered_in_order() {
    let (cluster, url) = cluster("scale-order", 3, "echo", &[], |_, _| {}).await;
    let customer = "1910000000000000001";
    // Ten rounds; in each, the contact writes to host A and, 1 ms later, to host B.
    for round in 0..10 {
        let (a, b) = (
            cluster.dm(customer, &format!("a{round}")),
            cluster.dm(customer, &format!("b{round}")),
        );
        let to_a = cluster.send_dm_to(0, &a);
        let to_b = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            cluster.send_dm_to(1, &b).await
        };
        let (status_a, status_b) = tokio::join!(to_a, to_b);
        assert_eq!((status_a, status_b), (200, 200), "round {round}");
    }
    let replies = eventually("20 replies", WAIT * 2, || async {
        let got = texts(&cluster.delivered_to(customer));
        if got.len() >= 20 {
            Ok(got)
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    // Every message answered once, in the order the store numbered them, whichever host
    // received each.
    let stored: Vec<String> = query(
        &url,
        "SELECT event::json ->> 'text' FROM inbox WHERE kind = 'message' ORDER BY seq",
    )
    .lines()
    .map(|text| format!("echo: {text}"))
    .collect();
    assert_eq!(stored.len(), 20, "{stored:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        texts(&cluster.delivered_to(customer)),
        stored,
        "replies: {replies:?}"
    );
    // Each round was acknowledged before the next was sent: its replies come first.
    let at = |text: String| stored.iter().position(|s| *s == text).unwrap();
    for round in 0..9 {
        assert!(
            at(format!("echo: a{round}")).max(at(format!("echo: b{round}")))
                < at(format!("echo: a{}", round + 1)).min(at(format!("echo: b{}", round + 1))),
            "round {round} answered after the next: {stored:?}"
        );
    }
    assert_eq!(count(&url, "SELECT COUNT(*) FROM conversations"), 1);
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL"
        ),
        0
    );
}

/// Asks with a short no-input timeout, says so when it passes, and ends.
const TIMEOUT_FLOW: &str = r#"description: Asks, and gives up after a short silence.
start: ask
steps:
  ask:
    type: ask
    text: Anybody there?
    variable: answer
    timeout_minutes: 0.02
    no_input: gave_up
    next: thanks
  thanks:
    type: disconnect
    text: Thanks!
  gave_up:
    type: disconnect
    text: Nobody answered; bye.
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ask_timeout_fires_once_across_hosts() {
    let (cluster, _url) = cluster(
        "scale-timeout",
        3,
        "timeout",
        &[("timeout.yaml", TIMEOUT_FLOW)],
        |_, _| {},
    )
    .await;
    let customers: Vec<String> = (0..5).map(|i| format!("192000000000000000{i}")).collect();
    for (i, customer) in customers.iter().enumerate() {
        assert_eq!(
            cluster.send_dm_to(i % 3, &cluster.dm(customer, "hi")).await,
            200
        );
    }
    for customer in &customers {
        eventually(&format!("{customer} timed out"), WAIT, || async {
            let got = texts(&cluster.delivered_to(customer));
            match got.iter().any(|t| t.starts_with("Nobody answered")) {
                true => Ok(()),
                false => Err(format!("{got:?}")),
            }
        })
        .await;
    }
    // Every host's inbox worker looks for due timeouts; each fired once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for customer in &customers {
        assert_eq!(
            texts(&cluster.delivered_to(customer)),
            ["Anybody there?", "Nobody answered; bye."],
            "{customer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flow_published_on_one_host_serves_on_another() {
    let (cluster, _url) = cluster("scale-publish", 3, "echo", &[], |_, _| {}).await;
    let before = "1930000000000000000";
    assert_eq!(cluster.send_dm_to(2, &cluster.dm(before, "one")).await, 200);
    eventually("the first echo", WAIT, || async {
        let got = texts(&cluster.delivered_to(before));
        if got == ["echo: one"] {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;

    let echo = std::fs::read_to_string(
        switchboard_tests::harness::workspace_dir().join("tests/flows/echo.yaml"),
    )
    .unwrap()
    .replace("'echo: {{said}}'", "'echo v2: {{said}}'");
    let published = Instant::now();
    let put = cluster.apis[0]
        .put_raw(
            "/admin/v1/flows/echo",
            Some(ADMIN_TOKEN),
            "application/yaml",
            echo.into_bytes(),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text());
    // Host C serves the new version to a new conversation: each try is a new customer.
    let mut tries = 0;
    let served_after = eventually("host C serving the new version", WAIT, || {
        tries += 1;
        let customer = format!("19300000000000{tries:05}");
        let cluster = &cluster;
        async move {
            assert_eq!(
                cluster.send_dm_to(2, &cluster.dm(&customer, "two")).await,
                200
            );
            let reply = eventually("an echo", WAIT, || async {
                texts(&cluster.delivered_to(&customer))
                    .first()
                    .cloned()
                    .ok_or_else(|| "nothing yet".to_string())
            })
            .await;
            match reply.as_str() {
                "echo v2: two" => Ok(published.elapsed()),
                other => Err(format!("host C still answers {other:?}")),
            }
        }
    })
    .await;
    println!("a flow published on host A served on host C after {served_after:?}");
    let flows = cluster.apis[2]
        .get("/admin/v1/flows/echo", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(flows.json()["version"], json!(2), "{}", flows.text());
}
