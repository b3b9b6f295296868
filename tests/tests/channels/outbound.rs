//! Sending: every reply reaches the customer exactly once and in order, a failed send waits for
//! its backoff and every request to the platform is a recorded attempt, a transient failure is
//! retried and a permanent one reported in the transcript.

use switchboard_tests::harness::support_flow::{GREETING_SUFFIX, QUESTION, TO_BILLING};
use switchboard_tests::harness::{
    ExtraIntegration, OM_INTEGRATION, TestEnv, X_INTEGRATION, eventually, metric,
    outbound_all_sent, texts,
};
use switchboard_tests::sim::Fault;

/// Fifty customers write twenty messages each, all at once, to a flow that answers every
/// message once: each customer receives each answer exactly once, in the order written, with no
/// restart involved (a send loop that worked from a stale list once sent 3.7% of replies twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_reply_reaches_the_customer_exactly_once_and_in_order() {
    const CUSTOMERS: usize = 50;
    const MESSAGES: usize = 20;
    let env = TestEnv::start("exactly-once", |c| {
        c.use_test_flows();
        c.om_flow = "echo".into();
    })
    .await;
    let env = std::sync::Arc::new(env);
    let mut customers = Vec::new();
    for c in 0..CUSTOMERS {
        let env = env.clone();
        customers.push(tokio::spawn(async move {
            for m in 0..MESSAGES {
                env.send_open(&format!("echo-customer-{c}"), &format!("c{c} m{m}"))
                    .await;
            }
        }));
    }
    for customer in customers {
        customer
            .await
            .expect("a customer's messages were all accepted");
    }
    let expected = (CUSTOMERS * MESSAGES) as f64;
    // Wait until every reply is recorded sent and nothing is left to send, then look at what
    // the partner received: a second delivery of anything shows up here.
    eventually(
        "every echo sent",
        std::time::Duration::from_secs(120),
        || async {
            let metrics = env.api.metrics().await;
            let sent = metric(
                &metrics,
                "switchboard_outbound_sent_total",
                &[("integration", OM_INTEGRATION)],
            );
            let pending = metric(&metrics, "switchboard_outbound_pending", &[]);
            if sent >= expected && pending == 0.0 {
                Ok(())
            } else {
                Err(format!("{sent} of {expected} sent, {pending} pending"))
            }
        },
    )
    .await;
    let delivered = env.sim.delivered();
    let mut problems = Vec::new();
    for c in 0..CUSTOMERS {
        let customer = format!("echo-customer-{c}");
        let got: Vec<String> = delivered
            .iter()
            .filter(|d| d.recipient_id == customer)
            .map(|d| d.text.clone().unwrap_or_default())
            .collect();
        let want: Vec<String> = (0..MESSAGES).map(|m| format!("echo: c{c} m{m}")).collect();
        if got != want {
            problems.push(format!("{customer} received {got:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {CUSTOMERS} customers did not receive each reply exactly once in order (of {} \
         deliveries in all):\n{}",
        problems.len(),
        delivered.len(),
        problems.join("\n")
    );
}

/// After a 503 the next attempt waits for its backoff (doubling each time), and the platform
/// sees exactly as many requests as the transcript records attempts: forty customers at once,
/// every first send refused, so retries and first attempts interleave in the send loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_send_waits_for_its_backoff_and_every_request_is_an_attempt() {
    const CUSTOMERS: u64 = 40;
    const BACKOFF_MS: u64 = 300;
    let env = TestEnv::start("backoff", |c| {
        c.backoff_ms = BACKOFF_MS;
        c.max_attempts = 6;
    })
    .await;
    let alice = env.alice();
    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| (1_500_000_000_000_000_800 + i).to_string())
        .collect();
    env.sim.x_fail_next(CUSTOMERS as usize, Fault::Status(503));
    futures_util::future::join_all(customers.iter().map(|c| env.send_dm_text(c, "Hello"))).await;
    for customer in &customers {
        env.wait_delivered_to(customer, 2).await;
    }
    // Each customer answers and waits in the billing queue, where the transcript can be read.
    futures_util::future::join_all(customers.iter().map(|c| env.send_dm_text(c, "billing"))).await;
    let mut problems = Vec::new();
    for customer in &customers {
        let id = alice.wait_queued("billing", customer).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let interaction = alice
            .wait_interaction(&id, "every message sent", outbound_all_sent)
            .await;
        let requests: Vec<_> = env
            .sim
            .attempts()
            .into_iter()
            .filter(|a| &a.recipient_id == customer)
            .collect();
        for message in interaction["messages"].as_array().unwrap() {
            if message["direction"] != "outbound" {
                continue;
            }
            let text = message["text"].as_str().unwrap_or_default();
            let mine: Vec<_> = requests
                .iter()
                // What went out starts with the stored text (X gets quick replies as a list).
                .filter(|a| a.text.as_deref().unwrap_or_default().starts_with(text))
                .collect();
            let statuses: Vec<u16> = mine.iter().map(|a| a.status).collect();
            let recorded = message["attempts"].as_u64().unwrap_or_default() as usize;
            let delivered = statuses.iter().filter(|s| **s == 201).count();
            if mine.len() != recorded || delivered != 1 || statuses.last() != Some(&201) {
                problems.push(format!(
                    "{customer} {text:?}: {recorded} attempt(s) recorded, requests {statuses:?}"
                ));
            }
            for (i, pair) in mine.windows(2).enumerate() {
                let gap = pair[1]
                    .received_at
                    .duration_since(pair[0].received_at)
                    .unwrap_or_default();
                let backoff = std::time::Duration::from_millis(BACKOFF_MS << i);
                if gap < backoff {
                    problems.push(format!(
                        "{customer} {text:?}: attempt {} came {gap:?} after attempt {}, before \
                         its backoff of {backoff:?}",
                        i + 2,
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A 503 from X is retried until the message is delivered; a 403 fails the message for good, and
/// the transcript says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_sends_are_retried_or_reported() {
    let env = TestEnv::start("sends", |c| {
        c.backoff_ms = 50;
        c.max_attempts = 4;
    })
    .await;
    let alice = env.alice();
    let fay = "1500000000000000705";
    env.sim.x_fail_next(1, Fault::Status(503));
    env.send_dm(&env.dm(fay, "Hello")).await;
    // A conversation's messages go out in order: the question waits for the retried greeting.
    let greeted = env.wait_delivered_to(fay, 2).await;
    assert!(
        texts(&greeted)[0].ends_with(GREETING_SUFFIX),
        "{:?}",
        texts(&greeted)
    );
    assert!(
        texts(&greeted)[1].starts_with(QUESTION),
        "{:?}",
        texts(&greeted)
    );
    let statuses: Vec<(u16, bool)> = env
        .sim
        .attempts()
        .iter()
        .map(|a| {
            (
                a.status,
                a.text
                    .as_deref()
                    .unwrap_or_default()
                    .ends_with(GREETING_SUFFIX),
            )
        })
        .collect();
    assert_eq!(statuses, [(503, true), (201, true), (201, false)]);

    env.send_dm(&env.dm(fay, "billing")).await;
    env.wait_delivered_to(fay, 3).await;
    let id = alice.wait_queued("billing", fay).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interaction = alice
        .wait_interaction(&id, "fay's messages sent", outbound_all_sent)
        .await;
    let outbound: Vec<(String, i64, String)> = interaction["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| {
            (
                m["text"].as_str().unwrap_or_default().to_owned(),
                m["attempts"].as_i64().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outbound,
        [
            ("Hi Dana Customer, thanks for writing to us.", 2, "sent"),
            (QUESTION, 1, "sent"),
            (TO_BILLING, 1, "sent"),
        ]
        .map(|(t, n, s)| (t.to_owned(), n, s.to_owned()))
    );

    // A permanent failure: X says the customer cannot be messaged.
    alice.set_available().await;
    alice.accept(&id).await;
    env.sim.x_fail_next(1, Fault::Status(403));
    let reply_id = alice.reply(&id, "Hello Fay").await;
    let interaction = alice
        .wait_interaction(&id, "the agent's reply failed", |i| {
            i["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == reply_id.as_str() && m["status"] == "failed")
        })
        .await;
    let failed = interaction["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(failed["author"], "agent");
    assert_eq!(failed["attempts"], 1, "not retried: {failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("403"), "the error says why: {failed}");
    assert!(
        env.delivered_to(fay)
            .iter()
            .all(|d| d.text.as_deref() != Some("Hello Fay")),
        "the failed reply was not delivered"
    );
    let metrics = env.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_outbound_failed_total",
            &[("integration", X_INTEGRATION)]
        ),
        1.0,
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            "switchboard_outbound_retries_total",
            &[("integration", X_INTEGRATION)]
        ) >= 1.0,
        "{metrics}"
    );
}

/// The platform took a reply (2xx) but the adapter trapped reading its answer: the reply counts
/// as sent, once, and is never sent again (a retry would reach the customer twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_the_platform_took_is_not_sent_again_when_its_answer_cannot_be_read() {
    let env = TestEnv::start("decode-trap", |c| {
        let reply_url = format!("{}/sim/delivered", c.sim_base_url);
        c.extra_integrations.push(ExtraIntegration {
            id: "trap-decode".into(),
            adapter: "fixtures/trap".into(),
            settings: vec![
                ("trap_in".into(), "decode-send-response".into()),
                ("reply_url".into(), reply_url),
            ],
            ..Default::default()
        });
    })
    .await;
    for (id, text) in [("t-1", "Hello"), ("t-2", "billing")] {
        let answer = env
            .api
            .post_json(
                "/webhooks/trap-decode",
                None,
                &serde_json::json!({ "id": id, "from": "tina", "text": text }),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let alice = env.alice();
    let id = alice.wait_queued_id("billing", "tina").await;
    let interaction = alice
        .wait_interaction(&id, "every reply recorded sent", outbound_all_sent)
        .await;
    let outbound: Vec<(u64, String)> = interaction["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| {
            (
                m["attempts"].as_u64().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(outbound.len(), 3, "{interaction}");
    assert!(
        outbound
            .iter()
            .all(|(attempts, status)| *attempts == 1 && status == "sent"),
        "each reply went out once: {outbound:?}"
    );
}
