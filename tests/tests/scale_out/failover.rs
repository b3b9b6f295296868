//! A host killed with SIGKILL under load: what it acknowledged is not lost, the other hosts
//! resume its customers (once its leases run out) and its sends (once its claims do).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchboard_tests::harness::texts;

use crate::{cluster, query};

const CUSTOMERS: usize = 20;
const ROUNDS: usize = 15;
/// The round after which host A is killed.
const KILL_AFTER: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_killed_under_load_loses_nothing_and_the_others_resume() {
    let (mut cluster, url) = cluster("scale-kill", 3, "echo", &[], |_, _| {}).await;
    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("1960000000000{i:06}"))
        .collect();
    // What each customer wrote and a host acknowledged, in order.
    let mut acknowledged: HashMap<String, Vec<String>> = HashMap::new();
    let mut killed_at = None;
    for round in 0..ROUNDS {
        if round == KILL_AFTER {
            cluster.hosts[0].kill();
            killed_at = Some(Instant::now());
        }
        // A load balancer sends each webhook to a live host; host A until it dies.
        let alive = if killed_at.is_some() { 1..3 } else { 0..3 };
        let hosts: Vec<usize> = alive.collect();
        let sends = customers.iter().enumerate().map(|(i, customer)| {
            let text = format!("r{round}");
            let dm = cluster.dm(customer, &text);
            let host = hosts[(i + round) % hosts.len()];
            let cluster = &cluster;
            async move { (customer.clone(), text, cluster.send_dm_to(host, &dm).await) }
        });
        for (customer, text, status) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200, "{customer} {text}");
            acknowledged.entry(customer).or_default().push(text);
        }
    }
    let killed_at = killed_at.expect("host A was killed");

    // Every acknowledged message is answered: A's customers once its leases run out (15 s),
    // sends it had claimed once its claims do (the send timeout and a margin: 40 s here).
    cluster
        .all_echoed(
            &acknowledged,
            "every acknowledged message answered",
            Duration::from_secs(180),
        )
        .await;
    let resumed_after = killed_at.elapsed();

    let mut duplicated = 0;
    for customer in &customers {
        let got = texts(&cluster.delivered_to(customer));
        let mut once: Vec<String> = Vec::new();
        for text in got {
            if once.contains(&text) {
                duplicated += 1;
            } else {
                once.push(text);
            }
        }
        let wanted: Vec<String> = acknowledged[customer]
            .iter()
            .map(|t| format!("echo: {t}"))
            .collect();
        assert_eq!(once, wanted, "{customer}'s replies, in order");
    }
    let acknowledged_total: usize = acknowledged.values().map(Vec::len).sum();
    // No message was handled twice: one reply stored per message.
    let stored_twice = query(
        &url,
        "SELECT conversation, text FROM messages WHERE direction = 'outbound'
         GROUP BY conversation, text HAVING COUNT(*) > 1",
    );
    assert_eq!(stored_twice, "", "replies stored twice");
    println!(
        "kill -9 of host A: {acknowledged_total} acknowledged, 0 lost, {duplicated} sent twice, \
         all answered {resumed_after:?} after the kill"
    );
    // A duplicate send is only possible for a send host A had made and not yet recorded when
    // it died (delivery is at least once); it has at most `outbound.concurrency` of them.
    assert!(duplicated <= 8, "{duplicated} replies sent twice");
}
