//! Which agent gets which waiting interaction: skills, language, priority, capacity and idle
//! time; the threading window deciding what is a new interaction; a hundred interactions shared
//! by ten agents, each accepted exactly once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchboard_tests::harness::{WAIT, eventually};

use crate::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routing_by_skills_language_priority_capacity_and_idle_time() {
    let env = start("acd-routing", |c| {
        c.add_agent("bob", 1, "skills = { invoices = 3 }");
        c.add_agent("dave", 4, "");
        c.add_agent("carol", 4, "languages = [\"de\"]");
    })
    .await;
    let (bob, carol, dave) = (env.agent("bob"), env.agent("carol"), env.agent("dave"));
    // Dave has been idle longest; Bob alone has the invoices skill; Carol alone speaks German.
    dave.set_presence("available").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    bob.set_presence("away").await;
    carol.set_presence("available").await;

    // While Bob is away, an ordinary invoice question and then a priority one wait for him.
    env.send_dm_text("1800000000000000001", "invoice").await;
    env.send_dm_text("1800000000000000002", "invoice-vip").await;
    env.send_dm_text("1800000000000000003", "deutsch").await;
    env.send_dm_text("1800000000000000004", "hello").await;
    let german = carol.offered("1800000000000000003").await;
    let general = dave.offered("1800000000000000004").await;
    assert_eq!(bob.offered_count().await, 0);
    // Only Bob may take the invoice questions; Dave and Carol are never offered them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dave.offered_count().await, 1);
    assert_eq!(carol.offered_count().await, 1);

    // Bob comes back: with capacity 1 he is offered the priority question first, although it
    // came second, and the other waits until he is free again.
    bob.set_presence("available").await;
    let vip = bob.offered("1800000000000000002").await;
    bob.accept(&vip).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bob.offered_count().await, 0, "capacity 1 is respected");
    bob.wrap_up(&vip, "resolved").await;
    let ordinary = bob.offered("1800000000000000001").await;
    bob.accept(&ordinary).await;
    carol.accept(&german).await;
    dave.accept(&general).await;

    // An interaction offered to one agent cannot be taken by another.
    env.send_dm_text("1800000000000000005", "hello").await;
    let next = dave.offered("1800000000000000005").await;
    let (status, body) = carol
        .post(&format!("/api/v1/interactions/{next}/accept"), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offered to another agent"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_hour_window_makes_every_message_a_new_interaction() {
    let env = start("acd-window", |c| {
        c.x_options.push("threading_window_hours = 0".into());
        c.add_agent("bob", 4, "");
    })
    .await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;
    env.send_dm_text("1820000000000000001", "hello").await;
    let first = bob.offered("1820000000000000001").await;
    env.send_dm_text("1820000000000000001", "hello again").await;
    let both = eventually("two interactions", WAIT, || async {
        let ids: HashSet<String> = bob
            .interactions()
            .await
            .iter()
            .filter(|i| i["customer_id"] == json!("1820000000000000001"))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() == 2 {
            Ok(ids)
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;
    assert!(both.contains(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_interactions_and_ten_agents() {
    let agents: Vec<String> = (0..10).map(|i| format!("agent{i}")).collect();
    let env = Arc::new(
        start("acd-load", |c| {
            for agent in &agents {
                c.add_agent(agent, 4, "");
            }
        })
        .await,
    );
    for agent in &agents {
        env.agent(agent).set_presence("available").await;
    }
    for i in 0..100 {
        env.send_dm_text(&format!("19000000000000{i:05}"), "hello")
            .await;
    }
    // Every agent accepts what it is offered and wraps it up, until all 100 are done.
    let mut workers = Vec::new();
    for agent in agents.clone() {
        let env = env.clone();
        workers.push(tokio::spawn(async move {
            let mut handled = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let me = env.agent(&agent);
                let queue = me.queue("billing").await;
                let mine = me.interactions().await;
                if mine.is_empty() && queue["waiting"].as_array().is_some_and(|w| w.is_empty()) {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{agent} still busy: {mine:?} / {queue}"
                );
                assert!(
                    mine.len() <= 4,
                    "{agent} holds or is offered more than its capacity: {mine:?}"
                );
                for i in mine {
                    let id = i["id"].as_str().unwrap().to_string();
                    if i["state"] == json!("offered") {
                        me.accept(&id).await;
                        handled.push(id.clone());
                    }
                    me.wrap_up(&id, "resolved").await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (agent, handled)
        }));
    }
    let mut by_interaction: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for worker in workers {
        let (agent, handled) = worker.await.unwrap();
        for id in handled {
            by_interaction.entry(id).or_default().push(agent.clone());
        }
    }
    assert_eq!(
        by_interaction.len(),
        100,
        "every interaction was routed and accepted"
    );
    for (id, agents) in &by_interaction {
        assert_eq!(agents.len(), 1, "{id} was accepted by {agents:?}");
        let transcript = env.interaction(id).await;
        assert_eq!(
            transcript["wrapups"].as_array().unwrap().len(),
            1,
            "{transcript}"
        );
    }
    let busiest = by_interaction
        .values()
        .fold(BTreeMap::<&String, usize>::new(), |mut m, a| {
            *m.entry(&a[0]).or_default() += 1;
            m
        });
    assert_eq!(busiest.len(), 10, "all ten agents took work: {busiest:?}");
}
