//! Open Messaging `Structured` messages both ways: a flow's quick replies reach the partner as
//! `QuickReply` content (not as numbered text), and the customer's choice, a `ButtonResponse`,
//! answers the question by its payload.

use serde_json::json;
use switchboard_tests::harness::support_flow::{QUESTION, TO_BILLING};
use switchboard_tests::harness::{OM_INTEGRATION, OM_SECRET, TestEnv};
use switchboard_tests::signing;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quick_replies_go_out_and_come_back_as_structured_messages() {
    let env = TestEnv::start("structured", |_| {}).await;
    let olive = "cust-e2e-structured";
    env.send_open(olive, "Hello").await;
    let greeted = env.wait_delivered_to(olive, 2).await;
    let question = &greeted[1].body;
    assert_eq!(question["type"], "Structured", "{question:#}");
    assert_eq!(question["text"], QUESTION, "{question:#}");
    assert_eq!(
        question["content"],
        json!([
            { "contentType": "QuickReply", "quickReply": { "text": "Billing", "payload": "billing", "action": "Message" } },
            { "contentType": "QuickReply", "quickReply": { "text": "Something else", "payload": "other", "action": "Message" } },
        ]),
        "{question:#}"
    );

    // The customer taps "Billing" in a client that shows its own label: the payload answers.
    let body = serde_json::to_vec(&json!({
        "channel": {
            "messageId": "om-structured-reply-1",
            "time": "2026-09-01T10:16:30.000Z",
            "from": { "id": olive, "idType": "Opaque", "nickname": "Olive" }
        },
        "type": "Structured",
        "content": [ { "contentType": "ButtonResponse",
                       "buttonResponse": { "type": "QuickReply", "text": "Rechnung", "payload": "billing" } } ],
        "direction": "Inbound"
    }))
    .unwrap();
    let signature = signing::hub_signature_base64(OM_SECRET, &body);
    let answered = env
        .api
        .post_raw(
            &format!("/webhooks/{OM_INTEGRATION}"),
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &signature),
            ],
            body,
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text());
    let texts = env.texts_to(olive, 3).await;
    assert_eq!(texts[2], TO_BILLING, "{texts:?}");
}
