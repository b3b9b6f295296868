//! Offers and what becomes of them: an alerting timeout makes the agent not-responding, a
//! declined offer is not offered back, the last agent gets the customer's next portion (each
//! portion wrapped up on its own), and offers and assignments survive a crash of the host.

use std::time::Duration;

use serde_json::json;
use switchboard_tests::harness::{WAIT, eventually};

use crate::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerting_timeout_decline_last_agent_and_portions() {
    let env = start("acd-alerting", |c| {
        c.billing_options
            .push("alerting_timeout_seconds = 0.5".into());
        c.add_agent("bob", 4, "");
        c.add_agent("dave", 4, "");
    })
    .await;
    let (bob, dave) = (env.agent("bob"), env.agent("dave"));
    dave.set_presence("available").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    bob.set_presence("available").await;

    // Dave (longest idle) lets the offer ring out: he becomes not-responding, Bob gets it.
    env.send_dm_text("1810000000000000001", "hello").await;
    dave.offered("1810000000000000001").await;
    let id = bob.offered("1810000000000000001").await;
    assert_eq!(dave.me().await["presence"], json!("not-responding"));
    assert_eq!(dave.offered_count().await, 0);

    // Bob declines: with Dave not responding nobody is left, and it waits in the queue.
    bob.decline(&id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bob.offered_count().await,
        0,
        "a declined offer is not offered back"
    );
    let queue = bob.queue("billing").await;
    assert_eq!(queue["waiting"].as_array().unwrap().len(), 1, "{queue}");

    // A second customer: Bob handles it, wraps up; the customer writes again within the
    // threading window and the same interaction comes back to Bob (the last agent), though
    // Dave is available again and idle longer.
    dave.set_presence("available").await;
    env.send_dm_text("1810000000000000002", "hello").await;
    let second = eventually("the second customer offered", WAIT, || async {
        for agent in ["bob", "dave"] {
            if let Some(i) = env
                .agent(agent)
                .interactions()
                .await
                .iter()
                .find(|i| i["customer_id"] == json!("1810000000000000002"))
            {
                return Ok((agent, i["id"].as_str().unwrap().to_string()));
            }
        }
        Err("not offered yet".to_string())
    })
    .await;
    let (first_agent, second_id) = second;
    env.agent(first_agent).accept(&second_id).await;
    env.agent(first_agent).wrap_up(&second_id, "resolved").await;
    env.send_dm_text("1810000000000000002", "one more thing")
        .await;
    let again = env.agent(first_agent).offered("1810000000000000002").await;
    assert_eq!(again, second_id, "the same interaction continues");
    env.agent(first_agent).accept(&again).await;
    env.agent(first_agent).wrap_up(&again, "follow-up").await;
    let transcript = env.interaction(&again).await;
    let codes: Vec<&str> = transcript["wrapups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["resolved", "follow-up"],
        "a wrap-up per portion: {transcript}"
    );
    let from_customer = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == json!("customer"))
        .count();
    assert_eq!(from_customer, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_and_assignments_survive_a_crash() {
    let mut env = start("acd-restart", |c| {
        c.add_agent("bob", 4, "");
        c.add_agent("dave", 4, "");
    })
    .await;
    env.agent("bob").set_presence("available").await;
    env.send_dm_text("1840000000000000001", "hello").await;
    env.send_dm_text("1840000000000000002", "hello").await;
    let held = env.agent("bob").offered("1840000000000000001").await;
    env.agent("bob").accept(&held).await;
    let pending = env.agent("bob").offered("1840000000000000002").await;

    env.host.kill();
    env.host.restart().await;

    // Bob still holds the first and is still offered the second; nobody else can take it.
    let mine = env.agent("bob").interactions().await;
    let state = |id: &str| {
        mine.iter()
            .find(|i| i["id"] == json!(id))
            .map(|i| i["state"].clone())
    };
    assert_eq!(state(&held), Some(json!("assigned")), "{mine:?}");
    assert_eq!(state(&pending), Some(json!("offered")), "{mine:?}");
    env.agent("dave").set_presence("available").await;
    let (status, _) = env
        .agent("dave")
        .post(&format!("/api/v1/interactions/{pending}/accept"), json!({}))
        .await;
    assert_eq!(status, 409);
    env.agent("bob").accept(&pending).await;
    let (status, body) = env
        .agent("bob")
        .post(
            &format!("/api/v1/interactions/{held}/messages"),
            json!({"text": "Still here after the restart."}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}
