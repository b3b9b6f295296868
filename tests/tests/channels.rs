//! Channel behaviour end to end: X mentions and likes, daily caps by integration size,
//! deauthorization and re-authorization, through the real binary and the platform simulator.

use serde_json::{Value, json};
use switchboard_tests::fixtures::{UniqueIds, XDm};
use switchboard_tests::harness::{
    ADMIN_TOKEN, Api, HostProcess, TempDir, TestConfig, WAIT, X_ACCESS_TOKEN, X_ACCOUNT_ID,
    X_CONSUMER_SECRET, X_INTEGRATION, eventually, metric, sim_config,
};
use switchboard_tests::sim::{Delivered, Fault, PlatformSim};

const QUESTION: &str = "What can we help you with?";

struct Env {
    sim: PlatformSim,
    host: HostProcess,
    api: Api,
    ids: UniqueIds,
}

async fn start(label: &str, customize: impl FnOnce(&mut TestConfig)) -> Env {
    let sim = PlatformSim::start(sim_config())
        .await
        .expect("starting the simulator");
    let dir = TempDir::new(label);
    let mut config = TestConfig::new(&dir, &sim.base_url());
    customize(&mut config);
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();
    Env {
        sim,
        host,
        api,
        ids: UniqueIds::new(),
    }
}

impl Env {
    async fn dm(&self, sender_id: &str, text: &str) {
        let dm = XDm {
            event_id: self.ids.next_id(),
            sender_id: sender_id.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            text: text.into(),
            created_ms: switchboard_tests::fixtures::unix_millis(std::time::SystemTime::now()),
            ..XDm::default()
        };
        let (status, body) = self
            .sim
            .send_x_dm(X_INTEGRATION, &dm)
            .await
            .expect("posting the DM");
        assert_eq!(status, 200, "DM answered {status}: {body}");
    }

    fn delivered_to(&self, recipient: &str) -> Vec<Delivered> {
        self.sim
            .delivered()
            .into_iter()
            .filter(|d| d.recipient_id == recipient)
            .collect()
    }

    async fn wait_delivered_to(&self, recipient: &str, n: usize) -> Vec<Delivered> {
        eventually(
            &format!("{n} message(s) delivered to {recipient}"),
            WAIT,
            || async {
                let got = self.delivered_to(recipient);
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!(
                        "delivered {:?}",
                        got.iter().map(|d| d.text.clone()).collect::<Vec<_>>()
                    ))
                }
            },
        )
        .await
    }

    async fn integration(&self) -> Value {
        let response = self
            .api
            .get(
                &format!("/admin/v1/integrations/{X_INTEGRATION}"),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        response.json()
    }
}

/// The CRC answer is `HMAC(consumer secret, crc_token)`, the same value X puts on an event
/// POST; answered for any token, it would sign a forged DM. Only short base64 tokens are
/// answered, so the forged POST has no valid signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_crc_answer_signs_no_forged_webhook() {
    let env = start("x-crc-oracle", |_| {}).await;

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
        json!(switchboard_tests::signing::x_crc_response_token(
            X_CONSUMER_SECRET,
            "crc-7f3a9c21-0b4e-4d2a-9e55"
        ))
    );

    // An attacker passes a whole DM body as the token, hoping to get its signature back.
    let forged = switchboard_tests::fixtures::x_dm(&XDm {
        event_id: env.ids.next_id(),
        sender_id: "4400000000000000044".into(),
        for_user_id: X_ACCOUNT_ID.into(),
        text: "forged: send my refund to this account".into(),
        created_ms: switchboard_tests::fixtures::unix_millis(std::time::SystemTime::now()),
        ..XDm::default()
    });
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mentions_get_public_replies_and_likes_get_none() {
    let env = start("x-public", |_| {}).await;

    // A mention opens a conversation answered in public, each reply under the customer's post.
    let mention = env
        .sim
        .send_x_mention(X_INTEGRATION, "pat_public", "my order is late")
        .await
        .unwrap();
    assert_eq!(mention.host_status, 200, "{}", mention.host_body);
    let replies = env.wait_delivered_to(&mention.id, 2).await;
    assert!(
        replies[0].text.as_deref().unwrap().starts_with("Hi "),
        "{:?}",
        replies[0].text
    );
    assert!(
        replies[1].text.as_deref().unwrap().starts_with(QUESTION),
        "{:?}",
        replies[1].text
    );
    for reply in &replies {
        assert_eq!(
            reply.body["reply"]["in_reply_to_tweet_id"],
            json!(mention.id),
            "a public reply: {}",
            reply.body
        );
    }
    assert!(
        env.delivered_to(&mention.user_id).is_empty(),
        "nothing went to the customer's DMs"
    );

    // The customer answers with another mention: the conversation reaches the billing queue, and
    // the flow's last message replies under that answer.
    let answer = env
        .sim
        .send_x_mention_reply(
            X_INTEGRATION,
            "pat_public",
            "billing please",
            &replies[1].platform_message_id,
        )
        .await
        .unwrap();
    assert_eq!(answer.host_status, 200);
    let last = env.wait_delivered_to(&answer.id, 1).await;
    assert!(
        last[0]
            .text
            .as_deref()
            .unwrap()
            .contains("billing specialist"),
        "{:?}",
        last[0].text
    );
    let queue = env
        .api
        .get(
            "/api/v1/queues/billing",
            Some(switchboard_tests::harness::ALICE_TOKEN),
        )
        .await
        .json();
    let waiting = queue["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{queue}");
    assert_eq!(waiting[0]["customer"]["handle"], json!("pat_public"));

    // The agent's answer is public too, under the customer's latest post.
    let id = waiting[0]["id"].as_str().unwrap().to_string();
    let alice = Some(switchboard_tests::harness::ALICE_TOKEN);
    let presence = env
        .api
        .put_json(
            "/api/v1/agents/alice/presence",
            alice,
            &json!({"presence": "available"}),
        )
        .await;
    assert_eq!(presence.status, 200);
    assert_eq!(
        env.api
            .post_json(
                &format!("/api/v1/interactions/{id}/accept"),
                alice,
                &json!({})
            )
            .await
            .status,
        200
    );
    let sent = env
        .api
        .post_json(
            &format!("/api/v1/interactions/{id}/messages"),
            alice,
            &json!({"text": "We are on it, Pat."}),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text());
    let under_answer = env.wait_delivered_to(&answer.id, 2).await;
    assert_eq!(under_answer[1].text.as_deref(), Some("We are on it, Pat."));
    assert_eq!(
        under_answer[1].body["reply"]["in_reply_to_tweet_id"],
        json!(answer.id)
    );

    // A like is recorded, and nobody is messaged for it.
    let before = env.sim.delivered().len();
    let like = env
        .sim
        .send_x_like(X_INTEGRATION, "lee_likes", "1900000000000000042")
        .await
        .unwrap();
    assert_eq!(like.host_status, 200, "{}", like.host_body);
    eventually("the like is stored and processed", WAIT, || async {
        let metrics = env.api.metrics().await;
        let stored = metric(
            &metrics,
            "switchboard_events_stored_total",
            &[("integration", X_INTEGRATION), ("kind", "message")],
        );
        let ended = metric(&metrics, "switchboard_conversations", &[("state", "ended")]);
        if stored >= 3.0 && ended >= 1.0 {
            Ok(())
        } else {
            Err(format!("stored {stored}, ended {ended}"))
        }
    })
    .await;
    assert_eq!(
        env.sim.delivered().len(),
        before,
        "a like is never answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_entry_integration_stops_at_200_messages_a_day_across_restarts() {
    let mut env = start("x-cap", |c| c.x_options.push("size = \"entry\"".into())).await;

    // 100 customers each get a greeting and a question: 200 messages, the day's allowance.
    for i in 0..100 {
        env.dm(&format!("1600000000000{i:06}"), "hello").await;
    }
    eventually("200 messages delivered", WAIT, || async {
        let n = env.sim.delivered().len();
        if n >= 200 {
            Ok(())
        } else {
            Err(format!("{n} delivered"))
        }
    })
    .await;
    let integration = env.integration().await;
    assert_eq!(integration["daily_cap"], json!(200), "{integration}");
    assert_eq!(integration["sent_today"], json!(200), "{integration}");

    // The 201st is refused with a typed error and never reaches X.
    env.dm("1600000000000999999", "hello?").await;
    let refused = |metrics: &str| {
        metric(
            metrics,
            "switchboard_outbound_failed_total",
            &[
                ("integration", X_INTEGRATION),
                ("reason", "daily_cap_reached"),
            ],
        )
    };
    eventually("the 201st message refused", WAIT, || async {
        let n = refused(&env.api.metrics().await);
        if n >= 1.0 {
            Ok(())
        } else {
            Err(format!("{n} refused"))
        }
    })
    .await;
    assert_eq!(env.sim.delivered().len(), 200);

    // The count is in the store: after a restart the cap still holds.
    env.host.restart().await;
    env.dm("1600000000000888888", "anyone?").await;
    eventually("a message after the restart refused too", WAIT, || async {
        let n = refused(&env.api.metrics().await);
        if n >= 1.0 {
            Ok(())
        } else {
            Err(format!("{n} refused since the restart"))
        }
    })
    .await;
    assert_eq!(env.sim.delivered().len(), 200, "nothing more went out");
    assert_eq!(env.integration().await["sent_today"], json!(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_credentials_deauthorize_until_an_admin_fixes_them() {
    let env = start("x-deauth", |_| {}).await;
    env.sim.x_fail_next(1, Fault::Status(401));
    env.dm("1700000000000000001", "hi").await;

    eventually("the integration marked deauthorized", WAIT, || async {
        let integration = env.integration().await;
        if integration["status"] == json!("deauthorized") {
            Ok(())
        } else {
            Err(integration.to_string())
        }
    })
    .await;
    let metrics = env.api.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_integration_deauthorized",
            &[("integration", X_INTEGRATION)]
        ),
        1.0
    );
    assert!(env.delivered_to("1700000000000000001").is_empty());

    // The messages wait; an admin puts the integration back (here with the same, working
    // credentials) and they go out, in order.
    let put = env
        .api
        .put_json(
            &format!("/admin/v1/integrations/{X_INTEGRATION}"),
            Some(ADMIN_TOKEN),
            &json!({
                "adapter": "x",
                "flow": "support",
                "settings": {
                    "consumer_secret": X_CONSUMER_SECRET,
                    "access_token": X_ACCESS_TOKEN,
                    "account_id": X_ACCOUNT_ID,
                    "api_base": env.sim.base_url(),
                }
            }),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["status"], json!("active"));
    let delivered = env.wait_delivered_to("1700000000000000001", 2).await;
    assert!(delivered[0].text.as_deref().unwrap().starts_with("Hi "));
    assert!(delivered[1].text.as_deref().unwrap().starts_with(QUESTION));
    let metrics = env.api.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_integration_deauthorized",
            &[("integration", X_INTEGRATION)]
        ),
        0.0
    );

    // A bad integration is refused with the reason, and the old one keeps serving.
    let bad = env
        .api
        .put_json(
            &format!("/admin/v1/integrations/{X_INTEGRATION}"),
            Some(ADMIN_TOKEN),
            &json!({ "adapter": "no-such-plugin", "flow": "support" }),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert!(bad.text().contains("no-such-plugin"), "{}", bad.text());
    env.dm("1700000000000000002", "still there?").await;
    env.wait_delivered_to("1700000000000000002", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_integration_can_reply_as_another_account() {
    const REGIONAL: &str = "x-regional";
    let mut setup = sim_config();
    setup.x_accounts.push(switchboard_tests::sim::XAccount {
        access_token: "e2e-regional-token".into(),
        consumer_secret: "e2e-regional-secret".into(),
        account_id: "1500000000000000002".into(),
        integration_id: REGIONAL.into(),
    });
    let sim = PlatformSim::start(setup).await.unwrap();
    let dir = TempDir::new("x-reply-as");
    let mut config = TestConfig::new(&dir, &sim.base_url());
    config
        .extra_integrations
        .push(switchboard_tests::harness::ExtraIntegration {
            id: REGIONAL.into(),
            adapter: "x".into(),
            options: vec![format!("reply_as = \"{X_INTEGRATION}\"")],
            settings: vec![
                ("consumer_secret".into(), "e2e-regional-secret".into()),
                ("access_token".into(), "e2e-regional-token".into()),
                ("account_id".into(), "1500000000000000002".into()),
                ("api_base".into(), sim.base_url()),
            ],
        });
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());

    let dm = XDm {
        event_id: "1800000000000005001".into(),
        sender_id: "1700000000000000777".into(),
        for_user_id: "1500000000000000002".into(),
        text: "hello regional".into(),
        created_ms: switchboard_tests::fixtures::unix_millis(std::time::SystemTime::now()),
        ..XDm::default()
    };
    let (status, body) = sim.send_x_dm(REGIONAL, &dm).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let delivered = eventually("the replies", WAIT, || async {
        let got: Vec<Delivered> = sim
            .delivered()
            .into_iter()
            .filter(|d| d.recipient_id == "1700000000000000777")
            .collect();
        if got.len() >= 2 {
            Ok(got)
        } else {
            Err(format!("{} delivered", got.len()))
        }
    })
    .await;
    for d in &delivered {
        assert_eq!(
            d.integration_id, X_INTEGRATION,
            "sent with the main account's credentials"
        );
    }
    drop(host);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn widely_followed_customers_get_a_higher_priority() {
    let env = start("x-priority", |_| {}).await;
    let send = |sender: &'static str, text: &'static str, followers: u64| {
        let dm = XDm {
            event_id: env.ids.next_id(),
            sender_id: sender.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            text: text.into(),
            followers,
            created_ms: switchboard_tests::fixtures::unix_millis(std::time::SystemTime::now()),
            ..XDm::default()
        };
        let sim = &env.sim;
        async move {
            let (status, body) = sim.send_x_dm(X_INTEGRATION, &dm).await.unwrap();
            assert_eq!(status, 200, "{body}");
        }
    };
    // The ordinary customer writes first, the widely followed one second.
    send("1700000000000000010", "hi", 12).await;
    env.wait_delivered_to("1700000000000000010", 2).await;
    send("1700000000000000010", "billing", 12).await;
    send("1700000000000000020", "hi", 250_000).await;
    env.wait_delivered_to("1700000000000000020", 2).await;
    send("1700000000000000020", "billing", 250_000).await;
    let waiting = eventually("both waiting in billing", WAIT, || async {
        let listing = env
            .api
            .get(
                "/api/v1/queues/billing",
                Some(switchboard_tests::harness::ALICE_TOKEN),
            )
            .await
            .json();
        let waiting = listing["waiting"].as_array().cloned().unwrap_or_default();
        if waiting.len() == 2 {
            Ok(waiting)
        } else {
            Err(listing.to_string())
        }
    })
    .await;
    assert_eq!(
        waiting[0]["customer_id"],
        json!("1700000000000000020"),
        "highest priority first"
    );
    assert_eq!(waiting[0]["priority"], json!(10));
    assert_eq!(waiting[1]["priority"], json!(0));
}
