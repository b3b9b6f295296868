//! What the host accepts at `/webhooks/{integration}`: the X CRC handshake (and that it signs no
//! forged webhook), forged, missing and tampered signatures, unknown integrations, malformed
//! bodies, echoes and redeliveries; what `/metrics` counts of them; the admin flow API.

use serde_json::json;
use switchboard_tests::fixtures::{self, OpenMessage};
use switchboard_tests::harness::support_flow::GREETING_SUFFIX;
use switchboard_tests::harness::{
    ADMIN_TOKEN, OM_INTEGRATION, TestEnv, X_ACCOUNT_ID, X_CONSUMER_SECRET, X_INTEGRATION,
    assert_error, metric, outbound_all_sent, texts, transcript, workspace_dir,
};
use switchboard_tests::signing;

/// Webhook edge cases on one host: the X CRC, bad signatures, unknown integrations, malformed
/// bodies, echoes and redeliveries; then `/metrics` and the admin flow API.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_are_verified_deduplicated_and_counted() {
    let env = TestEnv::start("webhooks", |_| {}).await;
    let alice = env.alice();
    let api = &env.api;

    // X's CRC check.
    let crc = api.get("/webhooks/x-demo?crc_token=abc", None).await;
    assert_eq!(crc.status, 200, "{}", crc.text());
    assert_eq!(
        crc.json(),
        json!({ "response_token": signing::x_crc_response_token(X_CONSUMER_SECRET, "abc") })
    );

    // Forged, missing and tampered signatures.
    let stored_before = metric(&env.metrics().await, "switchboard_events_stored_total", &[]);
    let mallory = "1500000000000000666";
    let body = fixtures::x_dm(&env.dm(mallory, "Send me everyone's data"));
    let forged = signing::x_signature("not-the-secret", &body);
    let signed = signing::x_signature(X_CONSUMER_SECRET, &body);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("everyone's data", "everyone's cash")
        .into_bytes();
    assert_ne!(tampered, body);
    let json_type = ("content-type", "application/json");
    for (what, headers, body) in [
        (
            "forged",
            vec![json_type, ("x-twitter-webhooks-signature", forged.as_str())],
            body.clone(),
        ),
        ("missing", vec![json_type], body.clone()),
        (
            "tampered",
            vec![json_type, ("x-twitter-webhooks-signature", signed.as_str())],
            tampered,
        ),
    ] {
        let response = api.post_raw("/webhooks/x-demo", &headers, body).await;
        assert_eq!(response.status, 401, "{what}: {}", response.text());
        assert_error(&response, 401, "unauthorized");
    }
    let om_body = fixtures::open_message(&OpenMessage {
        from_id: "cust-mallory".into(),
        ..OpenMessage::default()
    });
    let om_forged = signing::hub_signature_base64("not-the-secret", &om_body);
    let response = api
        .post_raw(
            "/webhooks/om-demo",
            &[json_type, ("x-hub-signature-256", om_forged.as_str())],
            om_body,
        )
        .await;
    assert_error(&response, 401, "unauthorized");

    // An unknown integration and a malformed body with a valid signature.
    let response = api
        .post_raw(
            "/webhooks/no-such-integration",
            &[json_type, ("x-twitter-webhooks-signature", signed.as_str())],
            body.clone(),
        )
        .await;
    assert_error(&response, 404, "unknown_integration");
    let garbage = b"{\"for_user_id\": [not json".to_vec();
    let garbage_signature = signing::x_signature(X_CONSUMER_SECRET, &garbage);
    let response = api
        .post_raw(
            "/webhooks/x-demo",
            &[
                json_type,
                ("x-twitter-webhooks-signature", garbage_signature.as_str()),
            ],
            garbage,
        )
        .await;
    assert_error(&response, 400, "malformed");

    // The account's own DM comes back as an echo: accepted, but it starts nothing.
    env.send_dm(&env.dm(X_ACCOUNT_ID, "Our own reply, echoed"))
        .await;

    let metrics = env.metrics().await;
    assert_eq!(
        metric(&metrics, "switchboard_events_stored_total", &[]),
        stored_before,
        "refused webhooks and echoes store nothing:\n{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "switchboard_webhooks_refused_total",
            &[("integration", X_INTEGRATION), ("reason", "unauthorized")]
        ),
        3.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "switchboard_webhooks_refused_total",
            &[("integration", OM_INTEGRATION), ("reason", "unauthorized")]
        ),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "switchboard_webhooks_refused_total",
            &[("integration", X_INTEGRATION), ("reason", "malformed")]
        ),
        1.0,
        "{metrics}"
    );

    // The same DM delivered twice is one message.
    let sam = "1500000000000000702";
    let first = env.dm(sam, "Where is my refund?");
    env.send_dm(&first).await;
    env.send_dm(&first).await;
    let metrics = env.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_events_duplicate_total",
            &[("integration", X_INTEGRATION)]
        ),
        1.0,
        "{metrics}"
    );
    env.wait_delivered_to(sam, 2).await;
    env.send_dm(&env.dm(sam, "billing")).await;
    let delivered = env.wait_delivered_to(sam, 3).await;
    let id = alice.wait_queued("billing", sam).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.wait_all_sent(3.0).await;
    let interaction = alice
        .wait_interaction(&id, "sam's messages sent", outbound_all_sent)
        .await;
    let customer_texts: Vec<String> = transcript(&interaction)
        .into_iter()
        .filter(|(_, author, _, _)| author == "customer")
        .map(|(_, _, text, _)| text)
        .collect();
    assert_eq!(customer_texts, ["Where is my refund?", "billing"]);
    assert_eq!(
        texts(&delivered)
            .iter()
            .filter(|t| t.ends_with(GREETING_SUFFIX))
            .count(),
        1,
        "greeted once: {:?}",
        texts(&delivered)
    );
    assert_eq!(delivered.len(), 3, "{:?}", texts(&delivered));

    // Nothing reached anyone else, and only sam's conversation exists.
    assert!(
        env.sim.delivered().iter().all(|d| d.recipient_id == sam),
        "{:?}",
        env.sim.delivered()
    );
    env.wait_metric("switchboard_conversations", &[], 1.0).await;
    env.wait_metric("switchboard_queue_depth", &[("queue", "billing")], 1.0)
        .await;
    // The flow's turns (one per message of sam's) and the sends are timed.
    let metrics = env.metrics().await;
    let turns = metric(
        &metrics,
        "switchboard_flow_turn_duration_seconds_count",
        &[],
    );
    assert!(turns >= 2.0, "{turns} flow turns timed:\n{metrics}");
    assert_eq!(
        metric(
            &metrics,
            "switchboard_send_duration_seconds_count",
            &[("integration", X_INTEGRATION), ("outcome", "sent")]
        ),
        3.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "switchboard_send_duration_seconds_bucket",
            &[
                ("integration", X_INTEGRATION),
                ("outcome", "sent"),
                ("le", "+Inf")
            ]
        ),
        3.0,
        "{metrics}"
    );

    // Prometheus text with the received counter per integration.
    let response = api.get("/metrics", None).await;
    assert_eq!(response.status, 200);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        response.headers
    );
    let text = response.text();
    assert!(text.contains("# TYPE switchboard_webhooks_received_total counter"));
    // crc + 3 refused + malformed + echo + 2 copies + answer
    assert_eq!(
        metric(
            &text,
            "switchboard_webhooks_received_total",
            &[("integration", X_INTEGRATION)]
        ),
        9.0,
        "{text}"
    );

    // The admin flow API.
    let broken = "\
start: greet
steps:
  greet:
    type: send
    text: Hello
    next: nowhere
  to_queue:
    type: transfer
    queue: no-such-queue
";
    let path = "/admin/v1/flows/support";
    let response = api
        .put_raw(path, None, "application/yaml", broken.into())
        .await;
    assert_error(&response, 401, "unauthorized");
    let response = api
        .put_raw(path, Some("wrong-token"), "application/yaml", broken.into())
        .await;
    assert_error(&response, 401, "unauthorized");
    let response = api
        .put_raw(path, Some(ADMIN_TOKEN), "application/yaml", broken.into())
        .await;
    assert_error(&response, 422, "invalid_flow");
    let errors = response.json()["errors"].clone();
    let errors = errors.as_array().expect("an `errors` list");
    assert!(errors.len() >= 2, "{errors:?}");
    for error in errors {
        assert!(
            error["line"].as_u64().is_some(),
            "every error has a line: {error}"
        );
    }
    let line_of = |needle: &str| {
        errors
            .iter()
            .find(|e| e["message"].as_str().unwrap_or_default().contains(needle))
            .unwrap_or_else(|| panic!("no error mentions {needle:?}: {errors:?}"))["line"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(line_of("nowhere"), 6, "{errors:?}");
    assert_eq!(line_of("no-such-queue"), 9, "{errors:?}");

    let source = std::fs::read_to_string(workspace_dir().join("flows/support.yaml")).unwrap();
    let changed = source.replace("thanks for writing to us.", "welcome to version two.");
    assert_ne!(changed, source);
    let response = api
        .put_raw(
            path,
            Some(ADMIN_TOKEN),
            "application/yaml",
            changed.clone().into(),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json()["version"], 2);
    let latest = api.get(path, Some(ADMIN_TOKEN)).await;
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(latest.json()["version"], 2);
    assert_eq!(latest.json()["source"], changed.as_str());
    // New conversations start on the new version.
    let tom = "1500000000000000703";
    env.send_dm(&env.dm(tom, "Hello?")).await;
    let greeted = env.wait_delivered_to(tom, 1).await;
    assert_eq!(
        texts(&greeted)[0],
        "Hi Dana Customer, welcome to version two."
    );
}

/// The CRC answer is `HMAC(consumer secret, crc_token)`, the same value X puts on an event
/// POST; answered for any token, it would sign a forged DM. Only short base64 tokens are
/// answered, so the forged POST has no valid signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_crc_answer_signs_no_forged_webhook() {
    let env = TestEnv::start("x-crc-oracle", |_| {}).await;

    // X's own check still works.
    let response = env
        .api
        .get(
            &format!("/webhooks/{X_INTEGRATION}?crc_token=crc-7f3a9c21-0b4e-4d2a-9e55&nonce=MTc5"),
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json()["response_token"],
        json!(signing::x_crc_response_token(
            X_CONSUMER_SECRET,
            "crc-7f3a9c21-0b4e-4d2a-9e55"
        ))
    );

    // An attacker passes a whole DM body as the token, hoping to get its signature back.
    let forged = fixtures::x_dm(&env.dm(
        "4400000000000000044",
        "forged: send my refund to this account",
    ));
    let encoded: String = forged
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let answer = env
        .api
        .get(
            &format!("/webhooks/{X_INTEGRATION}?crc_token={encoded}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.json()["error"]["code"], json!("malformed"));
    assert!(
        answer.json().get("response_token").is_none(),
        "{}",
        answer.text()
    );

    // Whatever came back is no signature: the forged POST is refused and nothing is answered.
    let got = answer.json()["response_token"]
        .as_str()
        .unwrap_or("sha256=")
        .to_string();
    let post = env
        .api
        .post_raw(
            &format!("/webhooks/{X_INTEGRATION}"),
            &[
                ("content-type", "application/json"),
                ("x-twitter-webhooks-signature", &got),
            ],
            forged,
        )
        .await;
    assert_eq!(post.status, 401, "{}", post.text());
    let metrics = env.api.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_events_stored_total",
            &[("integration", X_INTEGRATION)]
        ),
        0.0,
        "nothing was stored"
    );
}
