//! The WhatsApp simulator over HTTP: the window, tokens and paths, scripted faults and the
//! customers' signed webhooks.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use super::super::customer::{http_client, http_post};
use super::super::graph::StandInHost;
use super::super::{SimConfig, check_config};
use super::*;

const TOKEN: &str = "fixture-wa-token";
const SECRET: &str = "fixture-app-secret";
const NUMBER_ID: &str = "500000000000002";
const CUSTOMER: &str = "4915112345678";

fn number() -> WhatsAppNumber {
    WhatsAppNumber {
        phone_number_id: NUMBER_ID.into(),
        access_token: TOKEN.into(),
        app_secret: SECRET.into(),
        verify_token: "fixture verify&token".into(),
        integration_id: "wa-demo".into(),
    }
}

fn config() -> SimConfig {
    SimConfig {
        whatsapp: vec![number()],
        ..SimConfig::default()
    }
}

async fn wa_send(sim: &PlatformSim, path: &str, token: &str, body: Value) -> (u16, Value) {
    let headers = [
        (AUTHORIZATION, format!("Bearer {token}")),
        (CONTENT_TYPE, "application/json".to_owned()),
    ];
    let url = format!("{}{path}", sim.base_url());
    let (status, _, body) = http_post(
        &http_client(),
        &url,
        &headers,
        body.to_string().into_bytes(),
    )
    .await
    .unwrap();
    (status.as_u16(), serde_json::from_slice(&body).unwrap())
}

const PATH: &str = "/v23.0/500000000000002/messages";

fn text(body: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "text", "text": { "body": body, "preview_url": false } })
}

#[tokio::test]
async fn delivers_inside_the_window_and_enforces_it_outside() {
    let sim = PlatformSim::start(config()).await.unwrap();

    // The customer never wrote: free text is a re-engagement message.
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("Hallo Jonas")).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], 131_047);
    assert_eq!(answer["error"]["type"], "OAuthException");
    // Templates go out regardless.
    let template = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
        "type": "template", "template": { "name": "case_followup_v2", "language": { "code": "de" },
        "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Jonas" }] }] } });
    let (status, answer) = wa_send(&sim, PATH, TOKEN, template).await;
    assert_eq!(status, 200, "{answer}");
    let template_wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();

    // The customer wrote 23 hours ago: the window is open.
    let recent = SystemTime::now() - Duration::from_secs(23 * 3600);
    sim.whatsapp_set_last_inbound("wa-demo", &format!("+{CUSTOMER}"), recent)
        .unwrap();
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("Ihr Paket ist unterwegs.")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["messaging_product"], "whatsapp");
    assert_eq!(
        answer["contacts"],
        json!([{ "input": CUSTOMER, "wa_id": CUSTOMER }])
    );
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(wamid.starts_with("wamid.") && wamid != template_wamid);

    // 25 hours ago: closed again.
    let old = SystemTime::now() - Duration::from_secs(25 * 3600);
    sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, old)
        .unwrap();
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("noch da?")).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(131_047))
    );

    let delivered = sim.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(
        (
            delivered[1].platform,
            delivered[1].integration_id.as_str(),
            delivered[1].recipient_id.as_str()
        ),
        (Platform::WhatsApp, "wa-demo", CUSTOMER)
    );
    assert_eq!(
        delivered[1].text.as_deref(),
        Some("Ihr Paket ist unterwegs.")
    );
    assert_eq!(delivered[1].platform_message_id, wamid);
    assert_eq!(delivered[0].body["template"]["name"], "case_followup_v2");
    assert_eq!(
        sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
        [400, 200, 200, 400]
    );
    assert!(sim.refused().is_empty());
    let listed = serde_json::to_value(&delivered[0]).unwrap();
    assert_eq!(listed["platform"], "whatsapp");
}

#[tokio::test]
async fn refuses_bad_tokens_paths_and_bodies() {
    let sim = PlatformSim::start(config()).await.unwrap();
    sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, SystemTime::now())
        .unwrap();

    let (status, answer) = wa_send(&sim, PATH, "stolen", text("hi")).await;
    assert_eq!((status, answer["error"]["code"].clone()), (401, json!(190)));
    let (status, answer) =
        wa_send(&sim, "/v23.0/500000000000099/messages", TOKEN, text("hi")).await;
    assert_eq!((status, answer["error"]["code"].clone()), (400, json!(100)));
    let (status, _) = wa_send(&sim, "/latest/500000000000002/messages", TOKEN, text("hi")).await;
    assert_eq!(status, 400);
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text(&"x".repeat(4097))).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("4096"),
        "{answer}"
    );

    let refused = sim.refused();
    assert_eq!(
        refused
            .iter()
            .map(|r| (r.platform, r.integration_id.as_deref(), r.status))
            .collect::<Vec<_>>(),
        [
            (Platform::WhatsApp, None, 401),
            (Platform::WhatsApp, Some("wa-demo"), 400),
            (Platform::WhatsApp, Some("wa-demo"), 400),
            (Platform::WhatsApp, Some("wa-demo"), 400),
        ]
    );
    let (status, _) = wa_send(&sim, PATH, TOKEN, text(&"é".repeat(4096))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn scripted_faults_come_first_and_mark_reads_are_kept_apart() {
    let sim = PlatformSim::start(config()).await.unwrap();
    sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, SystemTime::now())
        .unwrap();
    sim.whatsapp_fail_next(1, WhatsAppFault::RateLimited);
    sim.whatsapp_fail_next(1, WhatsAppFault::Status(503));
    sim.whatsapp_fail_next(1, WhatsAppFault::TokenExpired);

    let read = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.FIXTURE-IN-0001" });
    assert_eq!(
        wa_send(&sim, PATH, TOKEN, read).await,
        (200, json!({ "success": true }))
    );
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (429, json!(130_429))
    );
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (503, json!(131_000))
    );
    let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
    assert_eq!((status, answer["error"]["code"].clone()), (401, json!(190)));
    let (status, _) = wa_send(&sim, PATH, TOKEN, text("one")).await;
    assert_eq!(status, 200);

    assert_eq!(
        sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
        [429, 503, 401, 200]
    );
    assert_eq!(
        sim.whatsapp_read_marks(),
        [WhatsAppReadMark {
            integration_id: "wa-demo".into(),
            message_id: "wamid.FIXTURE-IN-0001".into()
        }]
    );
}

#[tokio::test]
async fn customers_post_signed_webhooks_and_open_their_window() {
    let host = StandInHost::start(SECRET, "fixture verify&token").await;
    let sim = PlatformSim::start(SimConfig {
        host_base_url: Some(host.url.clone()),
        ..config()
    })
    .await
    .unwrap();

    assert_eq!(
        sim.verify_whatsapp_webhook("wa-demo", "1158201444")
            .await
            .unwrap(),
        (200, "1158201444".into())
    );
    assert_eq!(
        sim.send_whatsapp_text("wa-demo", CUSTOMER, "Jonas Beispiel", "Hallo?")
            .await
            .unwrap()
            .0,
        200
    );
    // The window is now open for free text.
    assert_eq!(wa_send(&sim, PATH, TOKEN, text("Ja?")).await.0, 200);
    sim.send_whatsapp_button_reply(
        "wa-demo",
        CUSTOMER,
        "Jonas Beispiel",
        "btn_track",
        "Track parcel",
        Some("wamid.SIM1"),
    )
    .await
    .unwrap();
    let failed = WaStatus {
        status: "failed".into(),
        errors: vec![(131_047, "Re-engagement message".into())],
        ..WaStatus::default()
    };
    sim.send_whatsapp_status("wa-demo", &failed).await.unwrap();
    assert!(
        sim.send_whatsapp_text("nope", CUSTOMER, "J", "hi")
            .await
            .is_err()
    );

    let client = http_client();
    let json_type = [(CONTENT_TYPE, "application/json".to_owned())];
    let url = format!("{}{CUSTOMER_ROUTE}", sim.base_url());
    let curl = json!({ "integration": "wa-demo", "from": "4915199999999", "text": "per curl" });
    let (status, _, body) = http_post(&client, &url, &json_type, curl.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["host_status"], 200);
    let unknown = json!({ "integration": "nope", "from": "1", "text": "hi" });
    let (status, _, _) = http_post(&client, &url, &json_type, unknown.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let neither = json!({ "integration": "wa-demo", "from": "1" });
    let (status, _, _) = http_post(&client, &url, &json_type, neither.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The verify token travels percent-encoded.
    assert!(
        host.verifications.lock().unwrap()[0].contains("hub.verify_token=fixture%20verify%26token")
    );
    let received = host.webhooks();
    assert_eq!(received.len(), 4);
    assert!(
        received
            .iter()
            .all(|(integration, _)| integration == "wa-demo")
    );
    let value = |i: usize| received[i].1["entry"][0]["changes"][0]["value"].clone();
    assert_eq!(value(0)["metadata"]["phone_number_id"], NUMBER_ID);
    assert_eq!(value(0)["contacts"][0]["profile"]["name"], "Jonas Beispiel");
    assert_eq!(value(0)["messages"][0]["text"]["body"], "Hallo?");
    assert!(
        value(0)["messages"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );
    assert_eq!(
        value(1)["messages"][0]["interactive"]["button_reply"]["id"],
        "btn_track"
    );
    assert_eq!(value(1)["messages"][0]["context"]["id"], "wamid.SIM1");
    assert_eq!(value(2)["statuses"][0]["errors"][0]["code"], 131_047);
    assert_eq!(value(3)["messages"][0]["from"], "4915199999999");
    assert_eq!(value(3)["messages"][0]["id"], answer["message_id"]);
}

#[test]
fn ambiguous_numbers_are_refused() {
    let mut twice = config();
    twice.whatsapp.push(WhatsAppNumber {
        integration_id: "wa-other".into(),
        phone_number_id: "500000000000003".into(),
        ..number()
    });
    assert!(
        check_config(&twice)
            .unwrap_err()
            .to_string()
            .contains("access token")
    );
    let mut bad = config();
    bad.whatsapp[0].phone_number_id = "../me".into();
    assert!(check_config(&bad).is_err());
    assert!(check_config(&config()).is_ok());
}
