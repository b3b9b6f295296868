//! A conversation waiting in its flow for the customer's answer survives a crash of the host:
//! the answer continues the flow where it was, and nothing already sent is sent again.

use switchboard_tests::harness::support_flow::{QUESTION, TO_BILLING};
use switchboard_tests::harness::{TestEnv, outbound_all_sent, texts, transcript};

/// A conversation waiting for the customer's answer survives a crash of the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flow_state_survives_a_crash() {
    let mut env = TestEnv::start("restart", |_| {}).await;
    let rita = "1500000000000000704";
    env.send_dm(&env.dm(rita, "Hi there")).await;
    let asked = env.wait_delivered_to(rita, 2).await;
    assert!(texts(&asked)[1].starts_with(QUESTION));
    // Both sends are recorded as sent before the crash, so none is sent again after it.
    env.wait_all_sent(2.0).await;
    env.wait_metric("switchboard_conversations", &[("state", "flow")], 1.0)
        .await;

    env.host.kill();
    env.host.restart().await;
    env.api = env.host.api();

    env.send_dm(&env.dm(rita, "I was double charged on my invoice"))
        .await;
    let routed = env.wait_delivered_to(rita, 3).await;
    assert_eq!(
        texts(&routed)[2],
        TO_BILLING,
        "the answer continues the flow: {:?}",
        texts(&routed)
    );
    let alice = env.alice();
    let id = alice.wait_queued("billing", rita).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interaction = alice
        .wait_interaction(&id, "rita's messages sent", outbound_all_sent)
        .await;
    let authors_and_texts: Vec<(String, String)> = transcript(&interaction)
        .into_iter()
        .map(|(_, author, text, _)| (author, text))
        .collect();
    assert_eq!(
        authors_and_texts,
        [
            ("customer", "Hi there"),
            ("bot", "Hi Dana Customer, thanks for writing to us."),
            ("bot", QUESTION),
            ("customer", "I was double charged on my invoice"),
            ("bot", TO_BILLING),
        ]
        .map(|(a, t)| (a.to_owned(), t.to_owned()))
    );
    assert_eq!(
        interaction["data"]["topic"],
        "I was double charged on my invoice"
    );
    assert_eq!(env.delivered_to(rita).len(), 3);
}
