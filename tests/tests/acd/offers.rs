//! Offers and what becomes of them: an alerting timeout or a decline makes the agent
//! not-responding; an interaction every available agent refused goes back round, so no customer
//! is stranded while an eligible agent has room (with one agent and with several); the last
//! agent gets the customer's next portion (each portion wrapped up on its own); offers and
//! assignments survive a crash of the host.

use std::time::Duration;

use serde_json::json;
use switchboard_tests::harness::{Agent, WAIT, eventually};

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

    // Bob declines and becomes not-responding too: nobody is available, it waits in the queue.
    bob.decline(&id).await;
    assert_eq!(bob.me().await["presence"], json!("not-responding"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bob.offered_count().await,
        0,
        "a not-responding agent is offered nothing"
    );
    let queue = bob.queue("billing").await;
    assert_eq!(queue["waiting"].as_array().unwrap().len(), 1, "{queue}");

    // Dave is available again: the first customer goes back round to him (everyone refused it,
    // and he is the only one available); he accepts it.
    dave.set_presence("available").await;
    let back = dave.offered("1810000000000000001").await;
    assert_eq!(back, id, "the same interaction is offered again");
    dave.accept(&back).await;
    bob.set_presence("available").await;

    // A second customer: Bob handles it, wraps up; the customer writes again within the
    // threading window and the same interaction comes back to the agent who handled it (the
    // last agent), whoever is idle longer.
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

/// The customer's interaction, as the agent's list shows it, once it is offered to them.
async fn offered_again(agent: &Agent<'_>, customer: &str, id: &str) {
    assert_eq!(agent.offered(customer).await, id, "the same interaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_agent_who_refused_is_offered_it_again_once_available() {
    // Long enough for a loaded machine to decline or accept an offer in time, short enough to
    // let one ring out.
    let env = start("acd-reoffer-one", |c| {
        c.billing_options
            .push("alerting_timeout_seconds = 3".into());
        c.add_agent("bob", 2, "");
    })
    .await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;
    env.send_dm_text("1811000000000000001", "hello").await;
    let id = bob.offered("1811000000000000001").await;

    // The offer rings out: Bob is not responding and the customer waits...
    eventually("bob not responding", WAIT, || async {
        let me = bob.me().await;
        (me["presence"] == json!("not-responding"))
            .then_some(())
            .ok_or_else(|| me.to_string())
    })
    .await;
    assert_eq!(bob.offered_count().await, 0);
    let queue = bob.queue("billing").await;
    assert_eq!(queue["waiting"].as_array().unwrap().len(), 1, "{queue}");

    // ...until Bob is available again: it is offered to him again. He declines it this time,
    // and once available again is offered it a third time, and takes it.
    bob.set_presence("available").await;
    offered_again(&bob, "1811000000000000001", &id).await;
    bob.decline(&id).await;
    assert_eq!(bob.me().await["presence"], json!("not-responding"));
    bob.set_presence("available").await;
    offered_again(&bob, "1811000000000000001", &id).await;
    bob.accept(&id).await;
    let reply = bob.reply(&id, "Sorry for the wait!").await;
    bob.wait_message_status(&id, &reply, "sent").await;
    assert!(
        env.texts_to("1811000000000000001", 1)
            .await
            .contains(&"Sorry for the wait!".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_agents_refuse_it_in_turn_and_it_goes_back_round() {
    let env = start("acd-reoffer-several", |c| {
        c.add_agent("bob", 2, "");
        c.add_agent("carol", 2, "");
        c.add_agent("dave", 2, "");
    })
    .await;
    let (bob, carol, dave) = (env.agent("bob"), env.agent("carol"), env.agent("dave"));
    // Idle longest first: Bob, then Carol, then Dave.
    for agent in [&bob, &carol, &dave] {
        agent.set_presence("available").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.send_dm_text("1812000000000000001", "hello").await;

    // Each declines in turn; each next one is someone who has not refused it yet.
    let id = bob.offered("1812000000000000001").await;
    bob.decline(&id).await;
    // Bob is available at once again, but Carol and Dave have not refused it: they come first.
    bob.set_presence("available").await;
    offered_again(&carol, "1812000000000000001", &id).await;
    carol.decline(&id).await;
    carol.set_presence("available").await;
    offered_again(&dave, "1812000000000000001", &id).await;
    assert_eq!(bob.offered_count().await + carol.offered_count().await, 0);
    dave.decline(&id).await;

    // Everyone refused it: back round, to the one who refused it longest ago (Bob), though
    // Carol is available too; then, when Bob declines again, to Carol.
    offered_again(&bob, "1812000000000000001", &id).await;
    bob.decline(&id).await;
    offered_again(&carol, "1812000000000000001", &id).await;
    carol.accept(&id).await;
    let transcript = env.interaction(&id).await;
    assert_eq!(transcript["agent"], json!("carol"), "{transcript}");
    assert_eq!(transcript["state"], json!("assigned"), "{transcript}");
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
