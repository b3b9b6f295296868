//! The walking skeleton on X and open messaging: a customer talks to the bot, chooses Billing and
//! is answered by agent alice; the transcript shows every message with its delivery status.

use std::collections::BTreeSet;

use serde_json::json;
use switchboard_tests::harness::support_flow::{GREETING_SUFFIX, QUESTION, TO_BILLING};
use switchboard_tests::harness::{
    ALICE, OM_INTEGRATION, TestEnv, X_ACCESS_TOKEN, X_INTEGRATION, assert_error, outbound_all_sent,
    texts, transcript,
};
use switchboard_tests::sim::Platform;

/// One customer on X and one on open messaging each talk to the bot, choose Billing, and are
/// answered by agent alice; the transcripts show every message with its delivery status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversations_on_x_and_open_messaging_reach_an_agent() {
    let env = TestEnv::start("conversation", |_| {}).await;
    let alice = env.alice();

    // --- X ---
    let dana = "1500000000000000701";
    env.send_dm(&env.dm(dana, "Hi, my invoice is wrong")).await;
    let greeted = env.wait_delivered_to(dana, 2).await;
    assert_eq!(
        texts(&greeted)[0],
        format!("Hi Dana Customer, {GREETING_SUFFIX}")
    );
    assert!(
        texts(&greeted)[1].starts_with(QUESTION) && texts(&greeted)[1].contains("1. Billing"),
        "X has no quick replies, so the options are in the text: {:?}",
        texts(&greeted)[1]
    );
    for sent in &greeted {
        assert_eq!(sent.platform, Platform::X);
        assert_eq!(sent.integration_id, X_INTEGRATION);
        assert_eq!(sent.recipient_id, dana, "the path names the customer");
        assert_eq!(
            sent.headers["authorization"],
            format!("Bearer {X_ACCESS_TOKEN}")
        );
        assert!(
            sent.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(sent.body, json!({ "text": sent.text.clone().unwrap() }));
    }

    // The agent API refuses what it must before anything is queued.
    let anonymous = env.api.get("/api/v1/queues/billing", None).await;
    assert_error(&anonymous, 401, "unauthorized");

    env.send_dm(&env.dm(dana, "1")).await;
    let routed = env.wait_delivered_to(dana, 3).await;
    assert_eq!(texts(&routed)[2], TO_BILLING);
    let waiting = alice.wait_queued("billing", dana).await;
    assert_eq!(waiting["integration"], X_INTEGRATION);
    let x_id = waiting["id"].as_str().unwrap().to_owned();

    let offline = alice.try_accept(&x_id).await;
    assert_error(&offline, 409, "conflict");
    alice.set_available().await;
    alice.accept(&x_id).await;
    let queue = alice.queue("billing").await;
    assert!(
        queue["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != x_id.as_str()),
        "an accepted conversation leaves the queue: {queue}"
    );
    let reply = "Hello Dana, I have corrected your invoice.";
    alice.reply(&x_id, reply).await;
    let replied = env.wait_delivered_to(dana, 4).await;
    assert_eq!(texts(&replied)[3], reply);
    assert_eq!(
        replied[3].headers["authorization"],
        format!("Bearer {X_ACCESS_TOKEN}")
    );
    alice
        .wrap_up_noting(&x_id, "resolved", "handled in the e2e test")
        .await;

    let done = alice
        .wait_interaction(&x_id, "the X interaction ended, all sent", |i| {
            i["state"] == "ended" && outbound_all_sent(i)
        })
        .await;
    assert_eq!(
        transcript(&done),
        [
            ("inbound", "customer", "Hi, my invoice is wrong", "received"),
            (
                "outbound",
                "bot",
                "Hi Dana Customer, thanks for writing to us.",
                "sent"
            ),
            ("outbound", "bot", QUESTION, "sent"),
            ("inbound", "customer", "1", "received"),
            ("outbound", "bot", TO_BILLING, "sent"),
            ("outbound", "agent", reply, "sent"),
        ]
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
    );
    assert_eq!(done["messages"][5]["agent"], ALICE);
    assert_eq!(done["queue"], "billing");
    assert_eq!(done["integration"], X_INTEGRATION);
    assert_eq!(done["customer_id"], dana);
    assert_eq!(done["wrapups"][0]["code"], "resolved");
    assert_eq!(done["wrapups"][0]["agent"], ALICE);
    // The platform ids the host stored are the ones X answered with.
    let stored_ids: BTreeSet<String> = done["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| m["platform_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let x_ids: BTreeSet<String> = replied
        .iter()
        .map(|d| d.platform_message_id.clone())
        .collect();
    assert_eq!(stored_ids, x_ids);

    // --- Open messaging ---
    let olive = "cust-e2e-olive";
    env.send_open(olive, "Hello, a question about my bill")
        .await;
    let greeted = env.wait_delivered_to(olive, 2).await;
    assert_eq!(texts(&greeted)[0], format!("Hi Olive, {GREETING_SUFFIX}"));
    assert!(
        texts(&greeted)[1].starts_with(QUESTION),
        "{:?}",
        texts(&greeted)[1]
    );
    for sent in &greeted {
        assert_eq!(sent.platform, Platform::OpenMessaging);
        assert_eq!(sent.integration_id, OM_INTEGRATION);
        assert_eq!(sent.body["direction"], "Outbound");
        assert_eq!(sent.body["channel"]["to"]["id"], olive);
        assert_eq!(sent.body["channel"]["id"], OM_INTEGRATION);
        assert_eq!(sent.body["text"], sent.text.clone().unwrap().as_str());
    }
    // The greeting is text; the question carries its quick replies (see `structured`).
    assert_eq!(greeted[0].body["type"], "Text");
    assert_eq!(greeted[1].body["type"], "Structured");
    env.send_open(olive, "Billing").await;
    let routed = env.wait_delivered_to(olive, 3).await;
    assert_eq!(texts(&routed)[2], TO_BILLING);
    let om_id = alice.wait_queued("billing", olive).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.accept(&om_id).await;
    let reply = "Hi Olive, your bill is fine.";
    alice.reply(&om_id, reply).await;
    let replied = env.wait_delivered_to(olive, 4).await;
    assert_eq!(texts(&replied)[3], reply);
    assert_eq!(replied[3].body["channel"]["from"]["nickname"], "Alice");
    alice
        .wrap_up_noting(&om_id, "resolved", "handled in the e2e test")
        .await;
    let done = alice
        .wait_interaction(
            &om_id,
            "the open-messaging interaction ended, all sent",
            |i| i["state"] == "ended" && outbound_all_sent(i),
        )
        .await;
    assert_eq!(
        transcript(&done),
        [
            (
                "inbound",
                "customer",
                "Hello, a question about my bill",
                "received"
            ),
            (
                "outbound",
                "bot",
                "Hi Olive, thanks for writing to us.",
                "sent"
            ),
            ("outbound", "bot", QUESTION, "sent"),
            ("inbound", "customer", "Billing", "received"),
            ("outbound", "bot", TO_BILLING, "sent"),
            ("outbound", "agent", reply, "sent"),
        ]
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
    );
    assert_eq!(done["wrapups"][0]["code"], "resolved");
    assert!(
        env.sim.refused().is_empty(),
        "the platforms refused: {:?}",
        env.sim.refused()
    );
}
