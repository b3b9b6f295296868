//! What an agent works with besides routing: content filters that block a reply, canned
//! responses with the customer's and the agent's names, the inactivity warning and close, and
//! the live event stream (`/api/v1/agents/{agent}/events`).

use serde_json::json;
use switchboard_tests::harness::{ADMIN_TOKEN, EventStream, WAIT, eventually};

use crate::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn content_filters_canned_responses_inactivity_and_live_events() {
    let env = start("acd-agent-tools", |c| {
        c.x_flow = "support".into();
        c.billing_options.push(
            "inactivity = { warn_after_minutes = 0.01, warning = \"Still there?\", end_after_minutes = 0.03, end_text = \"Closing this chat.\" }".into(),
        );
        c.add_agent("bob", 4, "");
    })
    .await;
    let bob = env.agent("bob");
    let events = EventStream::agent(&env.host.base_url(), "bob");
    bob.set_presence("available").await;
    env.send_dm_text("1830000000000000001", "hi").await;
    env.send_dm_text("1830000000000000001", "1").await;
    let id = bob.offered("1830000000000000001").await;
    let offered = events.wait_for("offered");
    assert_eq!(offered["interaction"], json!(id));
    bob.accept(&id).await;

    // Admins define a filter and a canned response.
    let put = env
        .api
        .put_json(
            "/admin/v1/filters/no-refunds",
            Some(ADMIN_TOKEN),
            &json!({"kind": "word", "pattern": "refund"}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let put = env
        .api
        .put_json("/admin/v1/canned/greeting", Some(ADMIN_TOKEN), &json!({"title": "Greeting", "text": "Hello {{customer.name | \"there\"}}, {{agent.name}} here."}))
        .await;
    assert_eq!(put.status, 200, "{}", put.text());

    let (status, body) = bob
        .post(
            &format!("/api/v1/interactions/{id}/messages"),
            json!({"text": "We will refund you."}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], json!("content_blocked"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-refunds"),
        "{body}"
    );
    let (status, body) = bob
        .post(
            &format!("/api/v1/interactions/{id}/messages"),
            json!({"canned": "greeting"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // The bot's earlier messages may report their own delivery status first.
    events.wait_for_where("delivery_status", |e| {
        e["message_id"] == body["id"] && e["status"] == json!("sent")
    });
    let texts = eventually(
        "the canned greeting, the warning and the close delivered",
        WAIT,
        || async {
            let texts: Vec<String> = env
                .sim
                .delivered()
                .into_iter()
                .filter(|d| d.recipient_id == "1830000000000000001")
                .filter_map(|d| d.text)
                .collect();
            if texts.iter().any(|t| t == "Closing this chat.") {
                Ok(texts)
            } else {
                Err(format!("{texts:?}"))
            }
        },
    )
    .await;
    assert!(
        texts.contains(&"Hello Dana Customer, bob here.".to_string()),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("refund")),
        "a blocked message never goes out: {texts:?}"
    );
    let warn = texts
        .iter()
        .position(|t| t == "Still there?")
        .expect("the warning");
    let close = texts
        .iter()
        .position(|t| t == "Closing this chat.")
        .unwrap();
    assert!(warn < close, "{texts:?}");
    let disconnected = events.wait_for("disconnected");
    assert_eq!(
        (
            disconnected["interaction"].clone(),
            disconnected["reason"].clone()
        ),
        (json!(id), json!("inactivity"))
    );
    let transcript = env.interaction(&id).await;
    assert_eq!(transcript["state"], json!("ended"));
}
