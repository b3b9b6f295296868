//! End-to-end tests: the real `switchboard` binary, the platform simulator, signed webhooks over
//! loopback HTTP, and assertions on what a customer, an agent or an operator sees.
//!
//! Each test starts its own simulator and host (on free ports, with a temporary database), so the
//! tests run concurrently. Build the host first: `cargo build -p switchboard` (or `cargo xtask
//! test`, which also builds the plugins).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchboard_tests::fixtures::{self, OpenMessage, UniqueIds, XDm};
use switchboard_tests::harness::{
    ADMIN_TOKEN, ALICE, ALICE_TOKEN, Api, HostProcess, OM_INTEGRATION, TempDir, TestConfig, WAIT,
    X_ACCESS_TOKEN, X_ACCOUNT_ID, X_CONSUMER_SECRET, X_INTEGRATION, eventually, metric, sim_config,
};
use switchboard_tests::signing;
use switchboard_tests::sim::{Delivered, Fault, Platform, PlatformSim};

const GREETING_SUFFIX: &str = "thanks for writing to us.";
const QUESTION: &str = "What can we help you with?";
const TO_BILLING: &str = "Thanks! A billing specialist will be with you shortly.";

/// A simulator and a host wired to each other.
struct Env {
    sim: PlatformSim,
    _host: HostProcess,
    api: Api,
    ids: UniqueIds,
}

async fn start(label: &str, customize: impl FnOnce(&mut TestConfig)) -> Env {
    let sim = PlatformSim::start(sim_config())
        .await
        .expect("starting the platform simulator");
    let dir = TempDir::new(label);
    let mut config = TestConfig::new(&dir, &sim.base_url());
    customize(&mut config);
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();
    Env {
        sim,
        _host: host,
        api,
        ids: UniqueIds::new(),
    }
}

impl Env {
    /// A fresh DM (new event id) from customer `sender_id`.
    fn dm(&self, sender_id: &str, text: &str) -> XDm {
        XDm {
            event_id: self.ids.next_id(),
            sender_id: sender_id.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            text: text.into(),
            ..XDm::default()
        }
    }

    /// Sends `dm` signed as X would and expects 200.
    async fn send_dm(&self, dm: &XDm) {
        let (status, body) = self
            .sim
            .send_x_dm(X_INTEGRATION, dm)
            .await
            .expect("posting the DM");
        assert_eq!(
            status, 200,
            "DM {:?} was answered {status}: {body}",
            dm.text
        );
    }

    /// A fresh DM from `sender_id`, sent and expected to get 200.
    async fn send_dm_owned(&self, sender_id: &str, text: &str) {
        self.send_dm(&self.dm(sender_id, text)).await;
    }

    /// Sends an open message from `from` and expects 200.
    async fn send_open(&self, from: &str, text: &str) {
        let message = OpenMessage {
            message_id: format!("om-{}", self.ids.next_id()),
            from_id: from.into(),
            nickname: Some("Olive".into()),
            text: text.into(),
            time_rfc3339: fixtures::rfc3339_utc(std::time::SystemTime::now()),
        };
        let (status, body) = self
            .sim
            .send_open_message(OM_INTEGRATION, &message)
            .await
            .expect("posting the open message");
        assert_eq!(
            status, 200,
            "open message {text:?} was answered {status}: {body}"
        );
    }

    /// Waits until `recipient` has received at least `n` messages; returns them in arrival order.
    async fn wait_delivered_to(&self, recipient: &str, n: usize) -> Vec<Delivered> {
        eventually(
            &format!("{n} message(s) delivered to {recipient}"),
            WAIT,
            || async {
                let got = delivered_to(&self.sim, recipient);
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!(
                        "delivered {:?}; attempts {:?}; refused {:?}",
                        texts(&got),
                        self.sim
                            .attempts()
                            .iter()
                            .map(|a| (a.status, a.text.clone()))
                            .collect::<Vec<_>>(),
                        self.sim
                            .refused()
                            .iter()
                            .map(|r| r.to_string())
                            .collect::<Vec<_>>()
                    ))
                }
            },
        )
        .await
    }

    /// Waits until `customer_id`'s conversation is waiting in `queue`; returns its queue entry.
    async fn wait_queued(&self, queue: &str, customer_id: &str) -> Value {
        eventually(
            &format!("{customer_id}'s conversation in queue {queue}"),
            WAIT,
            || async {
                let response = self
                    .api
                    .get(&format!("/api/v1/queues/{queue}"), Some(ALICE_TOKEN))
                    .await;
                if response.status != 200 {
                    return Err(format!("{}: {}", response.status, response.text()));
                }
                let listing = response.json();
                listing["waiting"]
                    .as_array()
                    .and_then(|w| w.iter().find(|c| c["customer_id"] == customer_id))
                    .cloned()
                    .ok_or_else(|| listing.to_string())
            },
        )
        .await
    }

    /// Waits until the interaction satisfies `done`; returns it.
    async fn wait_interaction(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        eventually(what, WAIT, || async {
            let response = self
                .api
                .get(&format!("/api/v1/interactions/{id}"), Some(ALICE_TOKEN))
                .await;
            if response.status != 200 {
                return Err(format!("{}: {}", response.status, response.text()));
            }
            let interaction = response.json();
            if done(&interaction) {
                Ok(interaction)
            } else {
                Err(interaction.to_string())
            }
        })
        .await
    }

    async fn metrics(&self) -> String {
        self.api.metrics().await
    }

    /// Waits until every outbound message was sent (none pending) and `sent` were sent in all.
    async fn wait_all_sent(&self, sent: f64) {
        eventually(
            &format!("{sent} message(s) sent and none pending"),
            WAIT,
            || async {
                let text = self.metrics().await;
                let done = metric(&text, "switchboard_outbound_sent_total", &[]) == sent
                    && metric(&text, "switchboard_outbound_pending", &[]) == 0.0;
                if done { Ok(()) } else { Err(text) }
            },
        )
        .await
    }

    async fn set_available(&self) {
        let response = self
            .api
            .put_json(
                &format!("/api/v1/agents/{ALICE}/presence"),
                Some(ALICE_TOKEN),
                &json!({ "presence": "available" }),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.json(),
            json!({ "agent": ALICE, "presence": "available" })
        );
    }

    async fn accept(&self, id: &str) {
        let response = self
            .api
            .post_json(
                &format!("/api/v1/interactions/{id}/accept"),
                Some(ALICE_TOKEN),
                &json!({}),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let accepted = response.json();
        assert_eq!(accepted["state"], "assigned", "{accepted}");
        assert_eq!(accepted["agent"], ALICE, "{accepted}");
    }

    async fn reply(&self, id: &str, text: &str) -> String {
        let response = self
            .api
            .post_json(
                &format!("/api/v1/interactions/{id}/messages"),
                Some(ALICE_TOKEN),
                &json!({ "text": text }),
            )
            .await;
        assert_eq!(response.status, 202, "{}", response.text());
        let stored = response.json();
        assert_eq!(stored["status"], "pending", "{stored}");
        stored["id"].as_str().expect("a message id").to_owned()
    }

    async fn wrap_up(&self, id: &str) {
        let response = self
            .api
            .post_json(
                &format!("/api/v1/interactions/{id}/wrapup"),
                Some(ALICE_TOKEN),
                &json!({ "code": "resolved", "notes": "handled in the e2e test" }),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json()["state"], "ended");
    }
}

fn delivered_to(sim: &PlatformSim, recipient: &str) -> Vec<Delivered> {
    sim.delivered()
        .into_iter()
        .filter(|d| d.recipient_id == recipient)
        .collect()
}

fn texts(delivered: &[Delivered]) -> Vec<String> {
    delivered
        .iter()
        .map(|d| d.text.clone().unwrap_or_default())
        .collect()
}

/// `(direction, author, text, status)` of every message of the interaction.
fn transcript(interaction: &Value) -> Vec<(String, String, String, String)> {
    interaction["messages"]
        .as_array()
        .expect("the interaction has messages")
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (s("direction"), s("author"), s("text"), s("status"))
        })
        .collect()
}

fn outbound_all_sent(interaction: &Value) -> bool {
    interaction["messages"].as_array().is_some_and(|ms| {
        ms.iter()
            .filter(|m| m["direction"] == "outbound")
            .all(|m| m["status"] == "sent")
    })
}

/// Asserts a JSON error answer: `status` and `{"error": {"code": code, "message": …}}`.
fn assert_error(response: &switchboard_tests::harness::Response, status: u16, code: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "expected {status} {code}, got {}: {}",
        response.status,
        response.text()
    );
    let body = response.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the error has a message: {body}"
    );
}

/// One customer on X and one on open messaging each talk to the bot, choose Billing, and are
/// answered by agent alice; the transcripts show every message with its delivery status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversations_on_x_and_open_messaging_reach_an_agent() {
    let env = start("conversation", |_| {}).await;

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
    let waiting = env.wait_queued("billing", dana).await;
    assert_eq!(waiting["integration"], X_INTEGRATION);
    let x_id = waiting["id"].as_str().unwrap().to_owned();

    let offline = env
        .api
        .post_json(
            &format!("/api/v1/interactions/{x_id}/accept"),
            Some(ALICE_TOKEN),
            &json!({}),
        )
        .await;
    assert_error(&offline, 409, "conflict");
    env.set_available().await;
    env.accept(&x_id).await;
    let queue = env
        .api
        .get("/api/v1/queues/billing", Some(ALICE_TOKEN))
        .await
        .json();
    assert!(
        queue["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != x_id.as_str()),
        "an accepted conversation leaves the queue: {queue}"
    );
    let reply = "Hello Dana, I have corrected your invoice.";
    env.reply(&x_id, reply).await;
    let replied = env.wait_delivered_to(dana, 4).await;
    assert_eq!(texts(&replied)[3], reply);
    assert_eq!(
        replied[3].headers["authorization"],
        format!("Bearer {X_ACCESS_TOKEN}")
    );
    env.wrap_up(&x_id).await;

    let done = env
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
        assert_eq!(sent.body["type"], "Text");
        assert_eq!(sent.body["channel"]["to"]["id"], olive);
        assert_eq!(sent.body["channel"]["id"], OM_INTEGRATION);
        assert_eq!(sent.body["text"], sent.text.clone().unwrap().as_str());
    }
    env.send_open(olive, "Billing").await;
    let routed = env.wait_delivered_to(olive, 3).await;
    assert_eq!(texts(&routed)[2], TO_BILLING);
    let om_id = env.wait_queued("billing", olive).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.accept(&om_id).await;
    let reply = "Hi Olive, your bill is fine.";
    env.reply(&om_id, reply).await;
    let replied = env.wait_delivered_to(olive, 4).await;
    assert_eq!(texts(&replied)[3], reply);
    assert_eq!(replied[3].body["channel"]["from"]["nickname"], "Alice");
    env.wrap_up(&om_id).await;
    let done = env
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

/// Webhook edge cases on one host: the X CRC, bad signatures, unknown integrations, malformed
/// bodies, echoes and redeliveries; then `/metrics` and the admin flow API.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_are_verified_deduplicated_and_counted() {
    let env = start("webhooks", |_| {}).await;
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
    let id = env.wait_queued("billing", sam).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.wait_all_sent(3.0).await;
    let interaction = env
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
    let metrics = env.metrics().await;
    assert_eq!(
        metric(&metrics, "switchboard_conversations", &[]),
        1.0,
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
    assert!(
        text.contains("switchboard_queue_depth{queue=\"billing\"} 1"),
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

    let source = std::fs::read_to_string(
        switchboard_tests::harness::workspace_dir().join("flows/support.yaml"),
    )
    .unwrap();
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

/// Fifty customers write twenty messages each, all at once, to a flow that answers every
/// message once: each customer receives each answer exactly once, in the order written, with no
/// restart involved (a send loop that worked from a stale list once sent 3.7% of replies twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_reply_reaches_the_customer_exactly_once_and_in_order() {
    const CUSTOMERS: usize = 50;
    const MESSAGES: usize = 20;
    let flows = TempDir::new("echo-flows");
    let flows_dir = switchboard_tests::harness::flows_with_test_flows(flows.path());
    let env = start("exactly-once", |c| {
        c.flows_dir = Some(flows_dir);
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
    let env = start("backoff", |c| {
        c.backoff_ms = BACKOFF_MS;
        c.max_attempts = 6;
    })
    .await;
    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| (1_500_000_000_000_000_800 + i).to_string())
        .collect();
    env.sim.x_fail_next(CUSTOMERS as usize, Fault::Status(503));
    futures_util::future::join_all(customers.iter().map(|c| env.send_dm_owned(c, "Hello"))).await;
    for customer in &customers {
        env.wait_delivered_to(customer, 2).await;
    }
    // Each customer answers and waits in the billing queue, where the transcript can be read.
    futures_util::future::join_all(customers.iter().map(|c| env.send_dm_owned(c, "billing"))).await;
    let mut problems = Vec::new();
    for customer in &customers {
        let id = env.wait_queued("billing", customer).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let interaction = env
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
    let env = start("sends", |c| {
        c.backoff_ms = 50;
        c.max_attempts = 4;
    })
    .await;
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
    let id = env.wait_queued("billing", fay).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interaction = env
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
    env.set_available().await;
    env.accept(&id).await;
    env.sim.x_fail_next(1, Fault::Status(403));
    let reply_id = env.reply(&id, "Hello Fay").await;
    let interaction = env
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
        delivered_to(&env.sim, fay)
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
