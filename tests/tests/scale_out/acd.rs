//! The ACD across hosts: accepts racing on three hosts, offers reaching an agent's live stream on
//! another host, an alerting timeout firing once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use switchboard_tests::harness::EventStream;

use crate::{cluster, count};

/// Every message goes to queue `billing`.
const TO_BILLING: &str = r#"description: Straight to billing.
start: transfer
steps:
  transfer:
    type: transfer
    queue: billing
"#;

const AGENTS: usize = 10;
const CAPACITY: usize = 3;
const CUSTOMERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_on_three_hosts_never_share_an_interaction_nor_exceed_capacity() {
    let (cluster, url) = cluster(
        "scale-acd",
        3,
        "to-billing",
        &[("to-billing.yaml", TO_BILLING)],
        |_, c| {
            for a in 0..AGENTS {
                c.add_agent(&format!("agent{a}"), CAPACITY as u32, "");
            }
        },
    )
    .await;
    // The customers write to the three hosts in turn, twenty at a time.
    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("1940000000000{i:06}"))
        .collect();
    for chunk in customers.chunks(20) {
        let sends = chunk.iter().enumerate().map(|(i, customer)| {
            let dm = cluster.dm(customer, "hello");
            let cluster = &cluster;
            async move { cluster.send_dm_to(i % 3, &dm).await }
        });
        for status in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200);
        }
    }

    // Each agent works through its own host: takes what is offered to it and whatever waits,
    // all at once, then wraps up what it holds, until every interaction is done.
    // Who got a 200 for accepting each interaction (accepting one's own again is harmless).
    let accepted: Mutex<HashMap<String, BTreeSet<String>>> = Mutex::default();
    let most_held = AtomicUsize::new(0);
    let wrapped = AtomicUsize::new(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let work = (0..AGENTS).map(|a| {
        let agent = cluster.agent(a % 3, &format!("agent{a}"));
        let (accepted, most_held, wrapped) = (&accepted, &most_held, &wrapped);
        async move {
            agent.set_presence("available").await;
            while wrapped.load(Ordering::SeqCst) < CUSTOMERS
                && tokio::time::Instant::now() < deadline
            {
                let mut candidates: Vec<String> = agent
                    .interactions()
                    .await
                    .iter()
                    .filter(|i| i["state"] == "offered")
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect();
                let queue = agent.queue("billing").await;
                candidates.extend(
                    queue["waiting"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .take(CAPACITY)
                        .map(|w| w["id"].as_str().unwrap().to_string()),
                );
                candidates.sort();
                candidates.dedup();
                let accepts = candidates.iter().map(|id| agent.try_accept(id));
                for (id, response) in candidates
                    .iter()
                    .zip(futures_util::future::join_all(accepts).await)
                {
                    if response.status == 200 && response.json()["agent"] == json!(agent.id()) {
                        accepted
                            .lock()
                            .unwrap()
                            .entry(id.clone())
                            .or_default()
                            .insert(agent.id().to_string());
                    }
                }
                let held: Vec<String> = agent
                    .interactions()
                    .await
                    .iter()
                    .filter(|i| i["state"] == "assigned")
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect();
                most_held.fetch_max(held.len(), Ordering::SeqCst);
                for id in &held {
                    let (status, body) = agent
                        .post(
                            &format!("/api/v1/interactions/{id}/wrapup"),
                            json!({"code": "resolved"}),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                    wrapped.fetch_add(1, Ordering::SeqCst);
                }
                if held.is_empty() && candidates.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    futures_util::future::join_all(work).await;

    let accepted = accepted.into_inner().unwrap();
    let shared: Vec<_> = accepted.iter().filter(|(_, by)| by.len() > 1).collect();
    assert!(shared.is_empty(), "accepted by two agents: {shared:?}");
    assert_eq!(accepted.len(), CUSTOMERS, "every interaction accepted once");
    assert!(
        most_held.load(Ordering::SeqCst) <= CAPACITY,
        "an agent held {} interactions, over its capacity {CAPACITY}",
        most_held.load(Ordering::SeqCst)
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM wrapups"),
        CUSTOMERS as i64
    );
    assert_eq!(
        count(&url, "SELECT COUNT(DISTINCT conversation) FROM wrapups"),
        CUSTOMERS as i64
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM offers WHERE state = 'offered'"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_on_one_host_is_offered_live_what_another_host_routes_and_the_offer_times_out_once()
 {
    let (cluster, url) = cluster(
        "scale-live",
        3,
        "to-billing",
        &[("to-billing.yaml", TO_BILLING)],
        |_, c| {
            c.billing_options
                .push("alerting_timeout_seconds = 1".into());
            c.add_agent("bob", 2, "");
        },
    )
    .await;
    // Bob is signed in on host B only; the customer writes to host A.
    let events = EventStream::agent(&cluster.hosts[1].base_url(), "bob");
    cluster.agent(1, "bob").set_presence("available").await;
    let customer = "1950000000000000001";
    assert_eq!(
        cluster.send_dm_to(0, &cluster.dm(customer, "hello")).await,
        200
    );
    let offered = events.wait_for("offered");
    // Bob lets it ring: the offer times out once, whichever hosts' routers look at it.
    let withdrawn = events.wait_for("offer_withdrawn");
    assert_eq!(
        withdrawn["interaction"], offered["interaction"],
        "{withdrawn}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM offers WHERE state = 'timeout'"),
        1
    );
    assert_eq!(count(&url, "SELECT COUNT(*) FROM offers"), 1);
    assert_eq!(
        cluster.agent(2, "bob").me().await["presence"],
        json!("not-responding")
    );
}
