//! Routing and outbound claims a user relies on: preferred agents are offered first, an
//! agent's per-channel capacity holds back a second conversation of that channel only, the
//! inactivity timer can hand the conversation back to a flow, X integrations' sizes cap the
//! day at 200/1,000/3,000/9,000, and text longer than the platform takes is refused, for an
//! agent at once and for a flow's message in its transcript.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::harness::{ExtraIntegration, WAIT, X_INTEGRATION, eventually, settings};

use crate::start;

/// `prefer-carol`: billing, preferring carol; `long`: a bot message longer than X's 10,000
/// characters, then billing; anything else: billing.
fn claims_flow() -> String {
    format!(
        r#"start: route
steps:
  route:
    type: switch
    cases:
      - when: 'message.text == "prefer-carol"'
        next: prefer
      - when: 'message.text == "long"'
        next: long
    default: general
  prefer:
    type: transfer
    queue: billing
    preferred_agents: [carol]
  long:
    type: send
    text: "{}"
    next: general
  general:
    type: transfer
    queue: billing
"#,
        "a".repeat(10_001)
    )
}

/// Where a customer handed back by the inactivity timer lands: it answers their next message.
const AFTER_CHAT: &str = r#"start: back
steps:
  back:
    type: disconnect
    text: Welcome back! Our assistant has closed your earlier chat with an agent.
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preferred_agents_come_before_the_longest_idle() {
    let env = start("acd-preferred", |c| {
        c.own_flows(&[("claims.yaml", &claims_flow())]);
        c.x_flow = "claims".into();
        c.add_agent("dave", 4, "");
        c.add_agent("carol", 4, "");
    })
    .await;
    let (carol, dave) = (env.agent("carol"), env.agent("dave"));
    // Dave has been idle longer: without a preference he is offered first.
    dave.set_presence("available").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    carol.set_presence("available").await;
    env.send_dm_text("1840000000000000001", "prefer-carol")
        .await;
    carol.offered("1840000000000000001").await;
    assert_eq!(dave.offered_count().await, 0);
    env.send_dm_text("1840000000000000002", "hello").await;
    dave.offered("1840000000000000002").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_channel_capacity_holds_back_that_channel_only() {
    let env = start("acd-channel-capacity", |c| {
        c.om_flow = "route-test".into();
        c.add_agent("bob", 4, "channel_capacity = { x = 1 }");
    })
    .await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;
    env.send_dm_text("1841000000000000001", "hello").await;
    let first = bob.offered("1841000000000000001").await;
    bob.accept(&first).await;

    // A second X customer waits although Bob has room in total; an open-messaging one does not.
    env.send_dm_text("1841000000000000002", "hello").await;
    bob.wait_queued("billing", "1841000000000000002").await;
    env.send_open("om-capacity-1", "hello").await;
    bob.offered("om-capacity-1").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let offered: Vec<Value> = bob
        .interactions()
        .await
        .into_iter()
        .filter(|i| i["state"] == "offered")
        .collect();
    assert_eq!(offered.len(), 1, "only the open message: {offered:?}");

    // Bob wraps up the first X conversation: the second is offered.
    bob.wrap_up(&first, "resolved").await;
    bob.offered("1841000000000000002").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inactivity_hands_the_conversation_back_to_a_flow() {
    let env = start("acd-inactivity-flow", |c| {
        c.own_flows(&[("after-chat.yaml", AFTER_CHAT)]);
        c.billing_options.push(
            "inactivity = { warn_after_minutes = 0.01, warning = \"Still there?\", end_after_minutes = 0.03, end_text = \"An assistant takes over.\", flow = \"after-chat\" }".into(),
        );
        c.add_agent("bob", 4, "");
    })
    .await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;
    env.send_dm_text("1842000000000000001", "hello").await;
    let id = bob.offered("1842000000000000001").await;
    bob.accept(&id).await;
    bob.reply(&id, "How can I help?").await;

    // The customer says nothing: the warning, then the end text, and the flow has it.
    let texts = env.texts_to("1842000000000000001", 3).await;
    assert_eq!(
        texts,
        [
            "How can I help?",
            "Still there?",
            "An assistant takes over."
        ],
        "{texts:?}"
    );
    let transcript = eventually("the conversation in the flow", WAIT, || async {
        let t = env.interaction(&id).await;
        (t["state"] == json!("flow"))
            .then(|| t.clone())
            .ok_or_else(|| t.to_string())
    })
    .await;
    assert_eq!(transcript["flow"], json!("after-chat"), "{transcript}");
    assert_eq!(bob.interactions().await.len(), 0, "Bob no longer holds it");

    // The customer's next message goes to the flow (not to an agent), which answers and ends.
    env.send_dm_text("1842000000000000001", "hello again").await;
    let texts = env.texts_to("1842000000000000001", 4).await;
    assert_eq!(
        texts[3],
        "Welcome back! Our assistant has closed your earlier chat with an agent."
    );
    eventually("the flow ended it", WAIT, || async {
        let t = env.interaction(&id).await;
        (t["state"] == json!("ended"))
            .then_some(())
            .ok_or_else(|| t.to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn text_longer_than_the_platform_takes_is_refused() {
    let env = start("acd-text-limit", |c| {
        c.own_flows(&[("claims.yaml", &claims_flow())]);
        c.x_flow = "claims".into();
        c.add_agent("bob", 4, "");
    })
    .await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;

    // The flow's 10,001-character message fails with the reason; nothing of it reaches X.
    env.send_dm_text("1843000000000000001", "long").await;
    let id = bob.offered("1843000000000000001").await;
    let failed = eventually("the bot's message failed", WAIT, || async {
        let t = env.interaction(&id).await;
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["author"] == json!("bot") && m["status"] == json!("failed"))
            .cloned()
            .ok_or_else(|| t.to_string())
    })
    .await;
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("at most 10000"), "{failed}");
    assert!(env.delivered_to("1843000000000000001").is_empty());

    // The agent's 10,001 characters are refused at once, with the reason; 10,000 go out.
    bob.accept(&id).await;
    let (status, body) = bob.send(&id, json!({"text": "b".repeat(10_001)})).await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("10001") && message.contains("at most 10000"),
        "{body}"
    );
    let sent = bob.reply(&id, &"b".repeat(10_000)).await;
    bob.wait_message_status(&id, &sent, "sent").await;
    assert_eq!(
        env.texts_to("1843000000000000001", 1).await[0].len(),
        10_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn integration_sizes_cap_the_day_at_their_tier() {
    let env = start("acd-sizes", |c| {
        c.x_options.push("size = \"entry\"".into());
        for size in ["small", "medium", "large"] {
            c.extra_integrations.push(ExtraIntegration {
                id: format!("x-{size}"),
                adapter: "x".into(),
                options: vec![format!("size = \"{size}\"")],
                settings: settings(&[
                    ("consumer_secret", &format!("e2e-{size}-secret")),
                    ("access_token", &format!("e2e-{size}-token")),
                    ("account_id", &format!("150000000000000010{}", size.len())),
                    ("api_base", &c.sim_base_url),
                ]),
            });
        }
    })
    .await;
    for (id, cap) in [
        (X_INTEGRATION, 200),
        ("x-small", 1_000),
        ("x-medium", 3_000),
        ("x-large", 9_000),
    ] {
        let integration = env.integration(id).await;
        assert_eq!(integration["daily_cap"], json!(cap), "{integration}");
        assert_eq!(integration["sent_today"], json!(0), "{integration}");
    }
}
