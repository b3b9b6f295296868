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
