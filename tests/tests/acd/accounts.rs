//! Agents managed through the admin API on a running host, without a restart: added with a
//! token (kept hashed, never shown), signing in and taking an offer, changed, and removed (their
//! token refused at once, their stream ended, what they held queued again). Event streams open
//! with a single-use ticket instead of a token in the URL.

use hyper::Method;
use serde_json::{Value, json};
use switchboard_tests::harness::{
    ADMIN_TOKEN, ALICE_TOKEN, EventStream, TestEnv, agent_token, stream_ticket,
};

use crate::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_added_through_the_api_works_until_removed() {
    let env = start("acd-accounts", |_| {}).await;

    // Added: 201, the token neither echoed nor hashed in the answer.
    let dana_token = agent_token("dana");
    let added = env
        .api
        .post_json(
            "/admin/v1/agents",
            Some(ADMIN_TOKEN),
            &json!({"id": "dana", "name": "Dana", "token": dana_token, "queues": ["billing"], "capacity": 2}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text());
    let body = added.json();
    assert_eq!(body["source"], json!("api"), "{body}");
    assert_eq!(body["queues"], json!(["billing"]), "{body}");
    assert!(
        !added.text().contains(&dana_token) && !added.text().contains("argon2"),
        "{body}"
    );
    let again = env
        .api
        .post_json(
            "/admin/v1/agents",
            Some(ADMIN_TOKEN),
            &json!({"id": "dana", "token": "another-token"}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
    let listed = env
        .api
        .get("/admin/v1/agents", Some(ADMIN_TOKEN))
        .await
        .json();
    let sources: Vec<(Value, Value)> = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].clone(), a["source"].clone()))
        .collect();
    assert!(
        sources.contains(&(json!("alice"), json!("config"))),
        "{listed}"
    );
    assert!(sources.contains(&(json!("dana"), json!("api"))), "{listed}");
    assert!(!listed.to_string().contains("argon2"), "{listed}");

    // Dana signs in with her token, opens her stream with a ticket, and takes an offer.
    let dana = env.agent("dana");
    assert_eq!(dana.me().await["id"], json!("dana"));
    let events = agent_stream(&env, "dana", &dana_token).await;
    dana.set_presence("available").await;
    env.send_dm_text("1870000000000000001", "hello").await;
    let id = dana.offered("1870000000000000001").await;
    assert_eq!(events.wait_for("offered")["interaction"], json!(id));
    dana.accept(&id).await;

    // Her queues change (the token is kept when none is given); the configuration's agents
    // cannot be changed through the API.
    let changed = env
        .api
        .put_json(
            "/admin/v1/agents/dana",
            Some(ADMIN_TOKEN),
            &json!({"name": "Dana", "queues": ["support", "billing"], "capacity": 2}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(
        dana.me().await["queues"],
        json!(["support", "billing"]),
        "the new queues, same token"
    );
    let alice = env
        .api
        .put_json(
            "/admin/v1/agents/alice",
            Some(ADMIN_TOKEN),
            &json!({"queues": []}),
        )
        .await;
    assert_eq!(alice.status, 409, "{}", alice.text());

    // Removed: her token is refused at once, her stream ends, and what she held waits in its
    // queue again.
    let removed = env
        .api
        .request(
            Method::DELETE,
            "/admin/v1/agents/dana",
            Some(ADMIN_TOKEN),
            &[],
            "",
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 200, "{}", removed.text());
    assert_eq!(removed.json()["requeued"], json!(1));
    let refused = dana.get("/api/v1/me").await;
    assert_eq!(refused.status, 401, "{}", refused.text());
    events.wait_for_end();
    let record = env.interaction(&id).await;
    assert_eq!(record["state"], json!("queued"), "{record}");
    assert_eq!(record["queue"], json!("billing"), "{record}");
    let gone = env
        .api
        .get("/admin/v1/agents/dana", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_ticket_opens_one_stream() {
    let env = start("acd-tickets", |_| {}).await;
    let alice = env.alice();
    let first = stream_ticket(&env.api, ALICE_TOKEN).await;
    let path = |t: &str| format!("/api/v1/agents/alice/events?ticket={t}");
    let stream = EventStream::connect(&env.host.base_url(), &path(&first));
    assert_eq!(stream.wait_for("hello")["id"], json!("alice"));
    // Spent: the same ticket opens nothing more.
    let again = alice.get(&path(&first)).await;
    assert_eq!(again.status, 401, "{}", again.text());
    assert!(again.text().contains("stream-tickets"), "{}", again.text());
    // Without a token, no ticket.
    let anonymous = env
        .api
        .post_json("/api/v1/stream-tickets", None, &json!({}))
        .await;
    assert_eq!(anonymous.status, 401);
    // The admin's ticket opens the supervisor's stream.
    let admin_ticket = stream_ticket(&env.api, ADMIN_TOKEN).await;
    let board = EventStream::connect(
        &env.host.base_url(),
        &format!("/api/v1/supervisor/events?ticket={admin_ticket}"),
    );
    assert!(board.wait_for("snapshot")["queues"].is_array());
}

/// Agent `agent`'s stream, opened with a ticket fetched with `token`, past its `hello`.
async fn agent_stream(env: &TestEnv, agent: &str, token: &str) -> EventStream {
    let ticket = stream_ticket(&env.api, token).await;
    let stream = EventStream::connect(
        &env.host.base_url(),
        &format!("/api/v1/agents/{agent}/events?ticket={ticket}"),
    );
    assert_eq!(stream.wait_for("hello")["id"], json!(agent));
    stream
}
