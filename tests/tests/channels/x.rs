//! X beyond the DM conversation: mentions answered in public and likes answered by nobody,
//! the daily cap of an entry-size integration (for flows and agents, across restarts), deauthorization by refused
//! credentials until an admin fixes them, replying as another account, and priority for widely
//! followed customers.

use serde_json::json;
use switchboard_tests::fixtures::XDm;
use switchboard_tests::harness::support_flow::QUESTION;
use switchboard_tests::harness::{
    ADMIN_TOKEN, ExtraIntegration, Setup, TestEnv, WAIT, X_ACCESS_TOKEN, X_ACCOUNT_ID,
    X_CONSUMER_SECRET, X_INTEGRATION, eventually, metric, settings,
};
use switchboard_tests::sim::{Fault, XAccount};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mentions_get_public_replies_and_likes_get_none() {
    let env = TestEnv::start("x-public", |_| {}).await;

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
    let alice = env.alice();
    let queue = alice.queue("billing").await;
    let waiting = queue["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{queue}");
    assert_eq!(waiting[0]["customer"]["handle"], json!("pat_public"));

    // The agent's answer is public too, under the customer's latest post.
    let id = waiting[0]["id"].as_str().unwrap().to_string();
    alice.set_available().await;
    alice.accept(&id).await;
    alice.reply(&id, "We are on it, Pat.").await;
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
    let mut env = TestEnv::start("x-cap", |c| c.x_options.push("size = \"entry\"".into())).await;

    // 100 customers each get a greeting and a question: 200 messages, the day's allowance.
    for i in 0..100 {
        env.send_dm_text(&format!("1600000000000{i:06}"), "hello")
            .await;
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
    let integration = env.integration(X_INTEGRATION).await;
    assert_eq!(integration["daily_cap"], json!(200), "{integration}");
    assert_eq!(integration["sent_today"], json!(200), "{integration}");

    // The 201st is refused with a typed error and never reaches X.
    env.send_dm_text("1600000000000999999", "hello?").await;
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

    // That customer asks for billing; an agent who takes it is refused at once, with the code.
    env.send_dm_text("1600000000000999999", "billing").await;
    let alice = env.alice();
    let id = alice.wait_queued_id("billing", "1600000000000999999").await;
    alice.set_available().await;
    alice.accept(&id).await;
    let (status, body) = alice.send(&id, json!({"text": "Hello!"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], json!("daily_cap_reached"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("200 messages"),
        "{body}"
    );

    // The count is in the store: after a restart the cap still holds.
    env.host.restart().await;
    env.send_dm_text("1600000000000888888", "anyone?").await;
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
    assert_eq!(
        env.integration(X_INTEGRATION).await["sent_today"],
        json!(200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_credentials_deauthorize_until_an_admin_fixes_them() {
    let env = TestEnv::start("x-deauth", |_| {}).await;
    env.sim.x_fail_next(1, Fault::Status(401));
    env.send_dm_text("1700000000000000001", "hi").await;

    eventually("the integration marked deauthorized", WAIT, || async {
        let integration = env.integration(X_INTEGRATION).await;
        if integration["status"] == json!("deauthorized") {
            Ok(())
        } else {
            Err(integration.to_string())
        }
    })
    .await;
    env.wait_metric(
        "switchboard_integration_deauthorized",
        &[("integration", X_INTEGRATION)],
        1.0,
    )
    .await;
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
    env.wait_metric(
        "switchboard_integration_deauthorized",
        &[("integration", X_INTEGRATION)],
        0.0,
    )
    .await;

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
    env.send_dm_text("1700000000000000002", "still there?")
        .await;
    env.wait_delivered_to("1700000000000000002", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_integration_can_reply_as_another_account() {
    const REGIONAL: &str = "x-regional";
    let mut setup = Setup::default();
    setup.sim.x_accounts.push(XAccount {
        access_token: "e2e-regional-token".into(),
        consumer_secret: "e2e-regional-secret".into(),
        account_id: "1500000000000000002".into(),
        integration_id: REGIONAL.into(),
    });
    let env = TestEnv::start_with("x-reply-as", setup, |c| {
        c.extra_integrations.push(ExtraIntegration {
            id: REGIONAL.into(),
            adapter: "x".into(),
            options: vec![format!("reply_as = \"{X_INTEGRATION}\"")],
            settings: settings(&[
                ("consumer_secret", "e2e-regional-secret"),
                ("access_token", "e2e-regional-token"),
                ("account_id", "1500000000000000002"),
                ("api_base", &c.sim_base_url),
            ]),
        });
    })
    .await;

    let dm = XDm {
        event_id: "1800000000000005001".into(),
        for_user_id: "1500000000000000002".into(),
        ..env.dm("1700000000000000777", "hello regional")
    };
    let (status, body) = env.sim.send_x_dm(REGIONAL, &dm).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let delivered = env.wait_delivered_to("1700000000000000777", 2).await;
    for d in &delivered {
        assert_eq!(
            d.integration_id, X_INTEGRATION,
            "sent with the main account's credentials"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn widely_followed_customers_get_a_higher_priority() {
    let env = TestEnv::start("x-priority", |_| {}).await;
    let send = |sender: &str, text: &str, followers: u64| {
        let dm = XDm {
            followers,
            ..env.dm(sender, text)
        };
        let env = &env;
        async move { env.send_dm(&dm).await }
    };
    // The ordinary customer writes first, the widely followed one second.
    send("1700000000000000010", "hi", 12).await;
    env.wait_delivered_to("1700000000000000010", 2).await;
    send("1700000000000000010", "billing", 12).await;
    send("1700000000000000020", "hi", 250_000).await;
    env.wait_delivered_to("1700000000000000020", 2).await;
    send("1700000000000000020", "billing", 250_000).await;
    let alice = env.alice();
    let waiting = eventually("both waiting in billing", WAIT, || async {
        let listing = alice.queue("billing").await;
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
