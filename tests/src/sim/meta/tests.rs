//! The Messenger and Instagram simulator over HTTP: customers' webhooks, the window, tokens,
//! scripted faults and the curl routes.

use std::time::Duration;

use axum::http::HeaderName;
use axum::http::header::CONTENT_TYPE;

use super::super::SimConfig;
use super::super::customer::{http_client, http_post};
use super::super::graph::StandInHost;
use super::*;

const APP_SECRET: &str = "fixture-app-secret";
const PAGE_TOKEN: &str = "fixture-page-token";
const IG_TOKEN: &str = "fixture-ig-token";
const PSID: &str = "7000000000000004";

fn sim_config(host_base_url: Option<String>) -> SimConfig {
    SimConfig {
        meta_pages: vec![
            MetaPage {
                platform: MetaPlatform::Messenger,
                page_id: "600000000000003".into(),
                page_access_token: PAGE_TOKEN.into(),
                app_secret: APP_SECRET.into(),
                verify_token: "fixture verify+token".into(),
                integration_id: "fb-demo".into(),
            },
            MetaPage {
                platform: MetaPlatform::Instagram,
                page_id: "17841400000000005".into(),
                page_access_token: IG_TOKEN.into(),
                app_secret: APP_SECRET.into(),
                verify_token: "ig-verify".into(),
                integration_id: "ig-demo".into(),
            },
        ],
        host_base_url,
        ..SimConfig::default()
    }
}

/// A stand-in host for the Messenger page's integration (the Instagram one has another verify
/// token, so its verification is refused).
async fn start_host() -> StandInHost {
    StandInHost::start(APP_SECRET, "fixture verify+token").await
}

/// What the facebook adapter's `encode_send` asks the host to do.
async fn send(sim: &PlatformSim, token: &str, body: Value) -> (StatusCode, Value) {
    let url = format!("{}/v21.0/me/messages?access_token={token}", sim.base_url());
    let headers = [(CONTENT_TYPE, "application/json".to_owned())];
    let (status, _, body) = http_post(
        &http_client(),
        &url,
        &headers,
        body.to_string().into_bytes(),
    )
    .await
    .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn reply(recipient: &str, text: &str) -> Value {
    json!({"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": text}})
}

#[tokio::test]
async fn customers_write_and_the_page_answers_within_the_window() {
    let host = start_host().await;
    let sim = PlatformSim::start(sim_config(Some(host.url.clone())))
        .await
        .unwrap();

    assert_eq!(
        sim.send_messenger_text("fb-demo", PSID, "Where is my order?")
            .await
            .unwrap(),
        (200, "EVENT_RECEIVED".into())
    );
    assert_eq!(
        sim.send_messenger_quick_reply("fb-demo", PSID, "Track", "QR_TRACK")
            .await
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        sim.send_messenger_postback("ig-demo", "8000000000000006", "Shipping", "ICEBREAKER")
            .await
            .unwrap()
            .0,
        200
    );
    assert!(sim.send_messenger_text("nope", PSID, "hi").await.is_err());
    let received = host.webhooks();
    assert_eq!(received.len(), 3);
    let first = &received[0].1;
    assert_eq!(received[0].0, "fb-demo");
    assert_eq!(first["object"], "page");
    assert_eq!(first["entry"][0]["id"], "600000000000003");
    let event = &first["entry"][0]["messaging"][0];
    assert_eq!(event["sender"]["id"], PSID);
    assert_eq!(event["message"]["text"], "Where is my order?");
    assert!(
        event["message"]["mid"]
            .as_str()
            .unwrap()
            .starts_with("m_sim-")
    );
    assert_eq!(
        received[1].1["entry"][0]["messaging"][0]["message"]["quick_reply"]["payload"],
        "QR_TRACK"
    );
    assert_eq!(received[2].1["object"], "instagram");
    assert_eq!(
        received[2].1["entry"][0]["messaging"][0]["postback"]["payload"],
        "ICEBREAKER"
    );

    let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "It shipped today.")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["recipient_id"], PSID);
    let message_id = answer["message_id"].as_str().unwrap().to_owned();
    assert!(message_id.starts_with("m_"), "{message_id}");
    let ig = json!({"recipient": {"id": "8000000000000006"}, "message": {"text": "2-3 days."}});
    assert_eq!(send(&sim, IG_TOKEN, ig).await.0, StatusCode::OK);

    let delivered = sim
        .wait_for_delivered(2, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (
            delivered[0].platform,
            delivered[0].integration_id.as_str(),
            delivered[0].recipient_id.as_str()
        ),
        (Platform::Messenger, "fb-demo", PSID)
    );
    assert_eq!(delivered[0].platform_message_id, message_id);
    assert_eq!(delivered[0].text.as_deref(), Some("It shipped today."));
    assert_eq!(delivered[1].platform, Platform::Instagram);

    assert_eq!(
        sim.meta_verify_webhook("fb-demo").await.unwrap(),
        (200, "1158201444".into())
    );
    assert_eq!(sim.meta_verify_webhook("ig-demo").await.unwrap().0, 403);
}

#[tokio::test]
async fn the_window_tokens_and_faults() {
    let sim = PlatformSim::start(sim_config(None)).await.unwrap();

    // A customer the page never heard from.
    let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "Hi")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            answer["error"]["code"].clone(),
            answer["error"]["error_subcode"].clone()
        ),
        (json!(10), json!(2_018_278))
    );

    // 25 h ago: only HUMAN_AGENT gets through, and only on the right integration.
    let day_ago = SystemTime::now() - Duration::from_secs(25 * 3600);
    sim.meta_customer_wrote("fb-demo", PSID, day_ago);
    assert_eq!(
        send(&sim, PAGE_TOKEN, reply(PSID, "late")).await.0,
        StatusCode::BAD_REQUEST
    );
    let tagged = json!({"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "Sam here"}});
    assert_eq!(
        send(&sim, PAGE_TOKEN, tagged.clone()).await.0,
        StatusCode::OK
    );
    let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    sim.meta_customer_wrote("fb-demo", PSID, eight_days_ago);
    assert_eq!(
        send(&sim, PAGE_TOKEN, tagged).await.1["error"]["error_subcode"],
        2_018_278
    );

    // Tokens and bodies.
    let (status, answer) = send(&sim, "stolen", reply(PSID, "Hi")).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(190))
    );
    let (status, answer) = send(
        &sim,
        PAGE_TOKEN,
        json!({"recipient": {"id": PSID}, "message": {"text": "Hi"}}),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(100))
    );

    // Faults come before the window check.
    sim.meta_customer_wrote("fb-demo", PSID, SystemTime::now());
    sim.meta_fail_next(1, MetaFault::RateLimited);
    sim.meta_fail_next(1, MetaFault::Status(503));
    sim.meta_fail_next(
        1,
        MetaFault::Graph {
            status: 400,
            code: 551,
            subcode: Some(1_545_041),
            message: "This person isn't available right now.".into(),
        },
    );
    assert_eq!(
        send(&sim, PAGE_TOKEN, reply(PSID, "1")).await.1["error"]["code"],
        613
    );
    let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "2")).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!(2))
    );
    assert_eq!(
        send(&sim, PAGE_TOKEN, reply(PSID, "3")).await.1["error"]["code"],
        551
    );
    assert_eq!(
        send(&sim, PAGE_TOKEN, reply(PSID, "4")).await.0,
        StatusCode::OK
    );

    assert_eq!(
        sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
        [200, 400, 503, 400, 200]
    );
    let refused: Vec<_> = sim
        .refused()
        .iter()
        .map(|r| (r.platform, r.integration_id.clone(), r.status))
        .collect();
    let fb = Some("fb-demo".to_owned());
    assert_eq!(
        refused,
        [
            (Platform::Messenger, fb.clone(), 400),
            (Platform::Messenger, fb.clone(), 400),
            (Platform::Messenger, fb.clone(), 400),
            (Platform::Messenger, None, 401),
            (Platform::Messenger, fb, 400),
        ]
    );
    assert!(
        sim.refused()[0]
            .reason
            .contains("no message from this customer")
    );
    assert!(
        sim.refused()[1].reason.contains("25 h ago"),
        "{}",
        sim.refused()[1].reason
    );
}

#[tokio::test]
async fn the_curl_routes() {
    let host = start_host().await;
    let sim = PlatformSim::start(sim_config(Some(host.url.clone())))
        .await
        .unwrap();
    let post_json = |path: &str, body: Value| {
        let url = format!("{}{path}", sim.base_url());
        async move {
            let headers = [(
                HeaderName::from_static("content-type"),
                "application/json".to_owned(),
            )];
            let (status, _, body) = http_post(
                &http_client(),
                &url,
                &headers,
                body.to_string().into_bytes(),
            )
            .await
            .unwrap();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let (status, answer) = post_json(
        "/sim/messenger/message",
        json!({"integration": "fb-demo", "from": PSID, "text": "hello"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["host_status"], 200);
    let first_mid = answer["mid"].clone();
    let (_, answer) = post_json(
        "/sim/messenger/message",
        json!({"integration": "fb-demo", "from": PSID, "text": "Talk to an agent", "postback": "CARE_HELP"}),
    )
    .await;
    assert_eq!(answer["host_status"], 200);
    let (_, answer) = post_json("/sim/instagram/message", json!({"integration": "ig-demo", "from": "8000000000000006", "text": "Size M", "quick_reply": "QR_M"})).await;
    assert_eq!(answer["host_status"], 200);
    let (status, _) = post_json(
        "/sim/instagram/message",
        json!({"integration": "fb-demo", "from": PSID, "text": "hi"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let received = host.webhooks();
    assert_eq!(received.len(), 3);
    let event = &received[0].1["entry"][0]["messaging"][0];
    assert_eq!(event["message"]["text"], "hello");
    assert_eq!(event["message"]["mid"], first_mid);
    assert_eq!(
        received[1].1["entry"][0]["messaging"][0]["postback"]["payload"],
        "CARE_HELP"
    );
    assert_eq!(
        received[2].1["entry"][0]["messaging"][0]["message"]["quick_reply"]["payload"],
        "QR_M"
    );
    // The customer wrote through the route, so the window is open.
    assert_eq!(
        send(&sim, PAGE_TOKEN, reply(PSID, "Hi!")).await.0,
        StatusCode::OK
    );
}

#[test]
fn webhook_bodies_match_the_reference_shape() {
    let body = meta_webhook_body(
        MetaPlatform::Messenger,
        "600000000000003",
        "7000000000000004",
        "m_FIXTURE-mid-0001",
        1_790_000_000_321,
        &MetaCustomerEvent::QuickReply {
            text: "Where is my order?".into(),
            payload: "QR_ORDER_STATUS".into(),
        },
    );
    let value: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        value,
        json!({ "object": "page", "entry": [ { "id": "600000000000003", "time": 1790000000321u64, "messaging": [
            { "sender": { "id": "7000000000000004" }, "recipient": { "id": "600000000000003" }, "timestamp": 1790000000321u64,
              "message": { "mid": "m_FIXTURE-mid-0001", "text": "Where is my order?",
                           "quick_reply": { "payload": "QR_ORDER_STATUS" } } } ] } ] })
    );
    let postback = meta_webhook_body(
        MetaPlatform::Instagram,
        "17841400000000005",
        "8000000000000006",
        "aWdf",
        1,
        &MetaCustomerEvent::Postback {
            title: "Talk to an agent".into(),
            payload: "CARE_HELP".into(),
        },
    );
    let value: Value = serde_json::from_slice(&postback).unwrap();
    assert_eq!(value["object"], "instagram");
    assert_eq!(
        value["entry"][0]["messaging"][0]["postback"],
        json!({"mid": "aWdf", "title": "Talk to an agent", "payload": "CARE_HELP"})
    );
}

#[test]
fn pages_must_be_distinguishable() {
    let page = MetaPage {
        platform: MetaPlatform::Messenger,
        page_id: "600000000000003".into(),
        page_access_token: "t".into(),
        app_secret: "s".into(),
        verify_token: "v".into(),
        integration_id: "fb".into(),
    };
    assert!(check_pages(std::slice::from_ref(&page)).is_ok());
    let same_token = MetaPage {
        integration_id: "ig".into(),
        ..page.clone()
    };
    assert!(check_pages(&[page.clone(), same_token]).is_err());
    let same_integration = MetaPage {
        page_access_token: "u".into(),
        ..page.clone()
    };
    assert!(check_pages(&[page, same_integration]).is_err());
}
