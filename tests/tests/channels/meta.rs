//! WhatsApp, Messenger and Instagram end to end: the conversation of the walking skeleton on each,
//! the 24-hour windows (templates on WhatsApp, `HUMAN_AGENT` on Messenger), WhatsApp statuses
//! and read marks, and the typing indicator.

use std::time::{Duration, SystemTime};

use serde_json::json;
use switchboard_tests::fixtures::unix_millis;
use switchboard_tests::fixtures::whatsapp::{WaContent, WaInbound, WaStatus};
use switchboard_tests::harness::{ExtraIntegration, Setup, TestEnv, WAIT, eventually, settings};
use switchboard_tests::signing;
use switchboard_tests::sim::{
    MetaCustomerEvent, MetaPage, MetaPlatform, WhatsAppNumber, meta_webhook_body,
};

const WA: &str = "wa-demo";
const WA_PHONE_ID: &str = "500000000000002";
const WA_SECRET: &str = "e2e-wa-app-secret";
const FB: &str = "fb-demo";
const FB_PAGE: &str = "600000000000003";
const IG: &str = "ig-demo";
const IG_ACCOUNT: &str = "17841400000000005";
const META_SECRET: &str = "e2e-meta-app-secret";
const HOUR: Duration = Duration::from_secs(3600);

/// A host with a WhatsApp number (`wa-demo`), a Messenger Page (`fb-demo`) and an Instagram
/// account (`ig-demo`) besides the usual integrations, and the simulator playing all three.
async fn start(label: &str) -> TestEnv {
    let mut setup = Setup::default();
    setup.sim.whatsapp.push(WhatsAppNumber {
        phone_number_id: WA_PHONE_ID.into(),
        access_token: "e2e-wa-token".into(),
        app_secret: WA_SECRET.into(),
        verify_token: "e2e-wa-verify".into(),
        integration_id: WA.into(),
    });
    for (platform, id, integration) in [
        (MetaPlatform::Messenger, FB_PAGE, FB),
        (MetaPlatform::Instagram, IG_ACCOUNT, IG),
    ] {
        setup.sim.meta_pages.push(MetaPage {
            platform,
            page_id: id.into(),
            page_access_token: format!("e2e-page-token-{integration}"),
            app_secret: META_SECRET.into(),
            verify_token: "e2e-meta-verify".into(),
            integration_id: integration.into(),
        });
    }
    TestEnv::start_with(label, setup, |config| {
        let base = config.sim_base_url.clone();
        config.extra_integrations.push(ExtraIntegration {
            id: WA.into(),
            adapter: "whatsapp".into(),
            settings: settings(&[
                ("app_secret", WA_SECRET),
                ("verify_token", "e2e-wa-verify"),
                ("access_token", "e2e-wa-token"),
                ("phone_number_id", WA_PHONE_ID),
                ("api_base", &base),
            ]),
            ..Default::default()
        });
        for (platform, id, integration) in
            [("messenger", FB_PAGE, FB), ("instagram", IG_ACCOUNT, IG)]
        {
            config.extra_integrations.push(ExtraIntegration {
                id: integration.into(),
                adapter: "facebook".into(),
                settings: settings(&[
                    ("platform", platform),
                    ("app_secret", META_SECRET),
                    ("verify_token", "e2e-meta-verify"),
                    (
                        "page_access_token",
                        &format!("e2e-page-token-{integration}"),
                    ),
                    ("page_id", id),
                    ("api_base", &base),
                ]),
                ..Default::default()
            });
        }
    })
    .await
}

/// Posts a Messenger/Instagram text written at `at`, signed as Meta signs.
async fn meta_text_at(
    env: &TestEnv,
    platform: MetaPlatform,
    integration: &str,
    page: &str,
    customer: &str,
    text: &str,
    at: SystemTime,
) {
    env.sim.meta_customer_wrote(integration, customer, at);
    let mid = format!("m_{}_{}", customer, unix_millis(at));
    let body = meta_webhook_body(
        platform,
        page,
        customer,
        &mid,
        unix_millis(at),
        &MetaCustomerEvent::Text { text: text.into() },
    );
    let signature = signing::hub_signature_hex(META_SECRET, &body);
    let response = env
        .api
        .post_raw(
            &format!("/webhooks/{integration}"),
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &signature),
            ],
            body,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whatsapp_conversation_statuses_and_the_24_hour_window() {
    let env = start("whatsapp").await;
    let alice = env.alice();
    let customer = "4915112345678";

    // The handshake.
    let (status, body) = env.sim.verify_whatsapp_webhook(WA, "4242").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "4242"));

    // Greeting, then the question as reply buttons; a tapped button routes to billing.
    let (status, body) = env
        .sim
        .send_whatsapp_text(WA, customer, "Jonas", "Hallo, my invoice is wrong")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let delivered = env.wait_delivered_to(customer, 2).await;
    assert!(
        delivered[0]
            .text
            .as_deref()
            .unwrap()
            .starts_with("Hi Jonas"),
        "{:?}",
        delivered[0].text
    );
    assert_eq!(
        delivered[1].body["type"],
        json!("interactive"),
        "{}",
        delivered[1].body
    );
    let buttons = delivered[1].body["interactive"]["action"]["buttons"]
        .as_array()
        .unwrap();
    assert_eq!(
        buttons[0]["reply"]["id"],
        json!("billing"),
        "{}",
        delivered[1].body
    );
    env.sim
        .send_whatsapp_button_reply(
            WA,
            customer,
            "Jonas",
            "billing",
            "Billing",
            Some(&delivered[1].platform_message_id),
        )
        .await
        .unwrap();
    let id = alice.wait_queued_id("billing", customer).await;

    // Accepting marks the customer's message read; the agent's reply goes out.
    alice.set_available().await;
    alice.accept(&id).await;
    eventually("the customer's message marked read", WAIT, || async {
        let marks = env.sim.whatsapp_read_marks();
        if marks.iter().any(|m| m.integration_id == WA) {
            Ok(())
        } else {
            Err(format!("{marks:?}"))
        }
    })
    .await;
    let (status, sent) = alice
        .send(&id, json!({"text": "Hi Jonas, let me fix that invoice."}))
        .await;
    assert_eq!(status, 202, "{sent}");
    let delivered = env.wait_delivered_to(customer, 4).await;
    let reply = delivered
        .iter()
        .find(|d| d.text.as_deref() == Some("Hi Jonas, let me fix that invoice."))
        .expect("the reply");
    let message_id = sent["id"].as_str().unwrap();
    alice.wait_message_status(&id, message_id, "sent").await;

    // WhatsApp's statuses move it on (delivered, read, shown in the transcript); a failed status
    // with 131047 marks it failed with the reason.
    let wamid = reply.platform_message_id.clone();
    let now = unix_millis(SystemTime::now()) / 1000;
    let status = |status: &str, errors: Vec<(i64, String)>| WaStatus {
        message_id: wamid.clone(),
        status: status.into(),
        timestamp_secs: now,
        recipient_id: customer.into(),
        errors,
    };
    env.sim
        .send_whatsapp_status(WA, &status("delivered", vec![]))
        .await
        .unwrap();
    alice
        .wait_message_status(&id, message_id, "delivered")
        .await;
    env.sim
        .send_whatsapp_status(WA, &status("read", vec![]))
        .await
        .unwrap();
    let read = alice.wait_message_status(&id, message_id, "read").await;
    assert_eq!(read["error"], json!(null), "{read}");
    env.sim
        .send_whatsapp_status(
            WA,
            &status("failed", vec![(131047, "Re-engagement message".into())]),
        )
        .await
        .unwrap();
    let failed = alice.wait_message_status(&id, message_id, "failed").await;
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("131047"),
        "{failed}"
    );

    // A customer who last wrote 25 hours ago: free text is refused and nothing goes out; a
    // template does.
    let late = "4915199999999";
    let written = SystemTime::now() - 25 * HOUR;
    for (n, text) in ["Hello?", "billing"].iter().enumerate() {
        let message = WaInbound {
            wa_id: late.into(),
            name: "Lea".into(),
            message_id: format!("wamid.LATE{n}"),
            timestamp_secs: unix_millis(written) / 1000 + n as u64,
            content: WaContent::Text((*text).into()),
            context_id: None,
        };
        let (status, body) = env.sim.send_whatsapp(WA, &message).await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let late_id = alice.wait_queued_id("billing", late).await;
    alice.set_available().await;
    alice.accept(&late_id).await;
    let (status, refused) = alice
        .send(&late_id, json!({"text": "Sorry for the wait!"}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["error"]["code"],
        json!("window_closed"),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("template"),
        "{refused}"
    );
    let (status, sent) = alice
        .send(&late_id, json!({"template": {"name": "order_update", "language": "en_US", "parameters": ["88-431"]}}))
        .await;
    assert_eq!(status, 202, "{sent}");
    let delivered = env.wait_delivered_to(late, 1).await;
    assert_eq!(
        delivered.len(),
        1,
        "only the template reached the customer: {:?}",
        delivered.iter().map(|d| &d.body).collect::<Vec<_>>()
    );
    assert_eq!(delivered[0].body["type"], json!("template"));
    assert_eq!(delivered[0].body["template"]["name"], json!("order_update"));
    // The flow's own messages to that customer were refused by the host, with the reason.
    let transcript = alice.interaction(&late_id).await;
    let bot_failures = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == json!("bot"))
        .all(|m| {
            m["status"] == json!("failed")
                && m["error"].as_str().unwrap().starts_with("window_closed")
        });
    assert!(bot_failures, "{transcript}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messenger_and_instagram_conversations_and_the_human_agent_tag() {
    let env = start("meta").await;
    let alice = env.alice();

    for (platform, integration, page, customer) in [
        (MetaPlatform::Messenger, FB, FB_PAGE, "7000000000000004"),
        (MetaPlatform::Instagram, IG, IG_ACCOUNT, "8000000000000006"),
    ] {
        meta_text_at(
            &env,
            platform,
            integration,
            page,
            customer,
            "Hi, where is my order?",
            SystemTime::now(),
        )
        .await;
        let delivered = env.wait_delivered_to(customer, 2).await;
        assert!(
            delivered[0].text.as_deref().unwrap().starts_with("Hi "),
            "{:?}",
            delivered[0].text
        );
        let quick_replies = delivered[1].body["message"]["quick_replies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            quick_replies.len(),
            2,
            "{integration}: {}",
            delivered[1].body
        );
        let (status, body) = env
            .sim
            .send_messenger_quick_reply(integration, customer, "Billing", "billing")
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let id = alice.wait_queued_id("billing", customer).await;
        alice.set_available().await;
        alice.accept(&id).await;
        // While Alice writes, the customer sees "typing…" (a switchboard:channel@0.2.0 call),
        // at most once every few seconds.
        let typing = alice.typing(&id).await;
        assert_eq!(typing, json!({"sent": true}), "{integration}");
        let again = alice.typing(&id).await;
        assert_eq!(again["sent"], json!(false), "{again}");
        assert!(
            again["reason"].as_str().unwrap().contains("at most every"),
            "{again}"
        );
        let actions: Vec<_> = env
            .sim
            .sender_actions()
            .into_iter()
            .filter(|a| a.recipient_id == customer)
            .map(|a| (a.integration_id, a.action))
            .collect();
        assert_eq!(
            actions,
            [(integration.to_string(), "typing_on".to_string())]
        );
        let (status, sent) = alice
            .send(&id, json!({"text": "Alice here, checking your order."}))
            .await;
        assert_eq!(status, 202, "{sent}");
        let delivered = env.wait_delivered_to(customer, 4).await;
        let reply = delivered
            .iter()
            .find(|d| d.text.as_deref() == Some("Alice here, checking your order."))
            .unwrap();
        if platform == MetaPlatform::Messenger {
            assert_eq!(
                reply.body["messaging_type"],
                json!("RESPONSE"),
                "{}",
                reply.body
            );
        }
        alice
            .wait_message_status(&id, sent["id"].as_str().unwrap(), "sent")
            .await;
        alice.wrap_up(&id, "resolved").await;
    }

    // A Messenger customer who wrote 30 hours ago: the agent's reply goes out tagged HUMAN_AGENT.
    let late = "7000000000000099";
    let written = SystemTime::now() - 30 * HOUR;
    meta_text_at(
        &env,
        MetaPlatform::Messenger,
        FB,
        FB_PAGE,
        late,
        "Hello?",
        written,
    )
    .await;
    meta_text_at(
        &env,
        MetaPlatform::Messenger,
        FB,
        FB_PAGE,
        late,
        "billing",
        written + Duration::from_secs(5),
    )
    .await;
    let id = alice.wait_queued_id("billing", late).await;
    alice.set_available().await;
    alice.accept(&id).await;
    let (status, sent) = alice
        .send(&id, json!({"text": "Sorry for the wait, Alice here."}))
        .await;
    assert_eq!(status, 202, "{sent}");
    let delivered = env.wait_delivered_to(late, 1).await;
    assert_eq!(
        delivered.len(),
        1,
        "the flow's messages were outside the window; only the agent's went out"
    );
    assert_eq!(
        delivered[0].body["messaging_type"],
        json!("MESSAGE_TAG"),
        "{}",
        delivered[0].body
    );
    assert_eq!(
        delivered[0].body["tag"],
        json!("HUMAN_AGENT"),
        "{}",
        delivered[0].body
    );
}
