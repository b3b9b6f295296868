//! Sending through the Send API and reading Meta's answer (reference §4.2, §5.2).
//!
//! `POST {api_base}/{api_version}/me/messages?access_token=<Page access token>` with
//! `{recipient: {id}, messaging_type, message: {text | attachment, quick_replies?}}`. One request
//! carries either text or one attachment, never both; quick replies ride on either.

use serde_json::{Map, Value, json};
use switchboard_sdk::{
    AdapterError, AttachmentKind, HttpRequest, HttpResponse, OutboundKind, OutboundMessage,
    SendResult, json as sdk_json, meta,
};

use crate::Platform;
/// Quick replies per message and characters per title (Graph error 100 beyond them, §4.2).
const MAX_QUICK_REPLIES: usize = 13;
const MAX_QUICK_REPLY_TITLE_CHARS: usize = 20;

/// The message tags each platform takes (§4.2; Instagram has only `HUMAN_AGENT`, §5.2).
const MESSENGER_TAGS: [&str; 4] = [
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
];
const INSTAGRAM_TAGS: [&str; 1] = ["HUMAN_AGENT"];

/// `error_subcode` for "outside of allowed window" (with code 10, §4.2).
const SUBCODE_OUTSIDE_WINDOW: i64 = 2_018_278;
/// Subcodes saying the person cannot be messaged: no matching user, person not available.
const SUBCODES_USER_UNAVAILABLE: [i64; 2] = [2_018_001, 1_545_041];

/// Where and as whom to send.
pub struct Api {
    pub platform: Platform,
    pub api_base: String,
    pub api_version: String,
    pub page_access_token: String,
}

/// The request that sends `msg` to the customer.
pub fn encode(msg: &OutboundMessage, api: &Api) -> Result<HttpRequest, AdapterError> {
    let name = api.platform.name();
    if msg.customer_id.is_empty() {
        return Err(AdapterError::Malformed("the customer id is empty".into()));
    }
    if msg.kind == OutboundKind::PublicReply {
        return Err(AdapterError::Malformed(format!(
            "{name} has no public replies; send a direct message"
        )));
    }
    if msg.template.is_some() {
        return Err(AdapterError::Malformed(format!(
            "{name} has no message templates; outside the window send with the HUMAN_AGENT tag"
        )));
    }

    let mut message = Map::new();
    let text = msg.text.as_deref().filter(|text| !text.is_empty());
    if let Some(text) = text {
        check_text_limit(api.platform, text)?;
        message.insert("text".into(), json!(text));
    }
    match msg.attachments.as_slice() {
        [] => {}
        [_] if text.is_some() => {
            return Err(AdapterError::Malformed(format!(
                "a {name} message carries text or an attachment, not both; send them separately"
            )));
        }
        [attachment] => {
            let kind = attachment_type(api.platform, &attachment.kind)?;
            let payload = match (&attachment.media_id, &attachment.url) {
                (Some(id), _) => json!({ "attachment_id": id }),
                (None, Some(url)) => json!({ "url": url }),
                (None, None) => {
                    return Err(AdapterError::Malformed(
                        "the attachment has neither a media id nor a URL".into(),
                    ));
                }
            };
            message.insert(
                "attachment".into(),
                json!({ "type": kind, "payload": payload }),
            );
        }
        more => {
            return Err(AdapterError::Malformed(format!(
                "{name} takes one attachment per message, not {}",
                more.len()
            )));
        }
    }
    if message.is_empty() {
        return Err(AdapterError::Malformed(format!(
            "a {name} message needs text or an attachment"
        )));
    }
    if !msg.quick_replies.is_empty() {
        message.insert("quick_replies".into(), quick_replies(msg)?);
    }

    let mut body = Map::new();
    body.insert("recipient".into(), json!({ "id": msg.customer_id }));
    match msg.tag.as_deref() {
        Some(tag) => {
            let allowed: &[&str] = match api.platform {
                Platform::Messenger => &MESSENGER_TAGS,
                Platform::Instagram => &INSTAGRAM_TAGS,
            };
            if !allowed.contains(&tag) {
                return Err(AdapterError::Malformed(format!(
                    "{name} does not take the message tag {tag:?} (allowed: {})",
                    allowed.join(", ")
                )));
            }
            body.insert("messaging_type".into(), json!("MESSAGE_TAG"));
            body.insert("tag".into(), json!(tag));
        }
        // Instagram's send body has no `messaging_type` (§5.2); Messenger wants one (§4.2).
        None if api.platform == Platform::Messenger => {
            body.insert("messaging_type".into(), json!("RESPONSE"));
        }
        None => {}
    }
    body.insert("message".into(), Value::Object(message));
    api.post(&Value::Object(body))
}

/// The sender action that shows the customer "typing…" (it lasts about 20 s or until the next
/// message). Sent without a `message`; Meta's sender-actions page spells the value in lower
/// case.
pub fn encode_typing(customer_id: &str, api: &Api) -> Result<HttpRequest, AdapterError> {
    if customer_id.is_empty() {
        return Err(AdapterError::Malformed("the customer id is empty".into()));
    }
    api.post(&json!({ "recipient": { "id": customer_id }, "sender_action": "typing_on" }))
}

impl Api {
    /// `POST {api_base}/{api_version}/me/messages?access_token=…` with a JSON body.
    fn post(&self, body: &Value) -> Result<HttpRequest, AdapterError> {
        Ok(HttpRequest {
            method: "POST".into(),
            url: format!(
                "{}/{}/me/messages?access_token={}",
                self.api_base.trim_end_matches('/'),
                self.api_version.trim_matches('/'),
                percent_encode(&self.page_access_token)
            ),
            headers: vec![("content-type".into(), "application/json".into())],
            body: sdk_json::to_body(body)?,
        })
    }
}

/// The host checks the limit `describe` reports, but `describe` cannot tell the platform (it runs
/// without integration settings), so Instagram's smaller limit is checked here.
fn check_text_limit(platform: Platform, text: &str) -> Result<(), AdapterError> {
    let (limit, unit) = platform.text_limit();
    let (length, unit_name) = match unit {
        switchboard_sdk::TextUnit::Chars => (text.chars().count(), "characters"),
        switchboard_sdk::TextUnit::Bytes => (text.len(), "bytes"),
    };
    if length > limit as usize {
        return Err(AdapterError::Malformed(format!(
            "{} text is limited to {limit} {unit_name}; this one has {length}",
            platform.name()
        )));
    }
    Ok(())
}

/// The Send API's attachment `type` for an outbound attachment.
fn attachment_type(
    platform: Platform,
    kind: &AttachmentKind,
) -> Result<&'static str, AdapterError> {
    match (kind, platform) {
        (AttachmentKind::Image, _) => Ok("image"),
        (AttachmentKind::Video, _) => Ok("video"),
        (AttachmentKind::Audio, _) => Ok("audio"),
        (AttachmentKind::File, Platform::Messenger) => Ok("file"),
        (other, _) => Err(AdapterError::Malformed(format!(
            "{} cannot send a {other:?} attachment",
            platform.name()
        ))),
    }
}

fn quick_replies(msg: &OutboundMessage) -> Result<Value, AdapterError> {
    if msg.quick_replies.len() > MAX_QUICK_REPLIES {
        return Err(AdapterError::Malformed(format!(
            "at most {MAX_QUICK_REPLIES} quick replies fit in one message, not {}",
            msg.quick_replies.len()
        )));
    }
    let mut replies = Vec::with_capacity(msg.quick_replies.len());
    for reply in &msg.quick_replies {
        let chars = reply.label.chars().count();
        if chars == 0 || chars > MAX_QUICK_REPLY_TITLE_CHARS {
            return Err(AdapterError::Malformed(format!(
                "a quick-reply title must be 1 to {MAX_QUICK_REPLY_TITLE_CHARS} characters, not {chars} ({:?})",
                reply.label
            )));
        }
        replies.push(json!({
            "content_type": "text",
            "title": reply.label,
            "payload": reply.payload,
        }));
    }
    Ok(Value::Array(replies))
}

/// Query-string encoding: unreserved characters stay, every other byte becomes `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Send API as a Graph product: where an accepted send's id is, and the error codes only
/// Messenger and Instagram use (reference §4.2); the codes every Graph API shares (190, 4, 613,
/// 1, 2) and the HTTP statuses are mapped in [`meta::Product::failure`], as for WhatsApp.
const SEND_API: meta::Product = meta::Product {
    name: "Meta",
    message_id_at: "/message_id",
    codes: send_api_codes,
};

fn send_api_codes(error: &meta::GraphError) -> Option<meta::FailureKind> {
    use meta::FailureKind::*;
    let outside_window = error.subcode == Some(SUBCODE_OUTSIDE_WINDOW)
        || (error.code == Some(10)
            && error
                .message
                .as_deref()
                .is_some_and(|message| message.contains("outside of allowed window")));
    if outside_window {
        return Some(WindowClosed);
    }
    if error
        .subcode
        .is_some_and(|subcode| SUBCODES_USER_UNAVAILABLE.contains(&subcode))
    {
        return Some(RecipientUnreachable);
    }
    Some(match error.code? {
        // The Messenger Platform's own rate limit.
        80_006 => RateLimited,
        // "This person isn't available right now."
        551 => RecipientUnreachable,
        // The Send API's permission error for this message (a policy, this person), not the
        // token's permissions: failing the message, not the integration.
        10 => Permanent,
        _ => return None,
    })
}

/// Read Meta's answer to the send of Switchboard message `message_id`.
pub fn decode_response(message_id: &str, resp: &HttpResponse) -> SendResult {
    SEND_API.decode_send_response(message_id, resp)
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing::{self, attachment, graph_error, outbound_message, response};
    use switchboard_sdk::{QuickReply, SendFailure, TemplateMessage, http, time};

    use super::*;

    const PSID: &str = "7000000000000004";

    fn api(platform: Platform) -> Api {
        Api {
            platform,
            api_base: "http://127.0.0.1:9090/".into(),
            api_version: "v21.0".into(),
            page_access_token: "fixture-page-token".into(),
        }
    }

    fn message(text: Option<&str>) -> OutboundMessage {
        let mut message = outbound_message(PSID, text);
        message.in_reply_to = Some("m_FIXTURE-mid-0001".into());
        message
    }

    fn body_of(msg: &OutboundMessage, platform: Platform) -> Value {
        let req = encode(msg, &api(platform)).unwrap();
        serde_json::from_slice(&req.body).unwrap()
    }

    fn refusal(msg: &OutboundMessage, platform: Platform) -> String {
        testing::malformed(encode(msg, &api(platform)))
    }

    #[test]
    fn encodes_a_messenger_text_reply() {
        let req = encode(
            &message(Some("Your order shipped today.")),
            &api(Platform::Messenger),
        )
        .unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "http://127.0.0.1:9090/v21.0/me/messages?access_token=fixture-page-token"
        );
        assert_eq!(
            http::header(&req.headers, "content-type"),
            Some("application/json")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&req.body).unwrap(),
            json!({
                "recipient": {"id": "7000000000000004"},
                "messaging_type": "RESPONSE",
                "message": {"text": "Your order shipped today."}
            })
        );
    }

    #[test]
    fn the_token_is_query_encoded() {
        let mut api = api(Platform::Messenger);
        api.page_access_token = "EAAB+x/y=z&a".into();
        api.api_version = "/v19.0/".into();
        let req = encode(&message(Some("hi")), &api).unwrap();
        assert_eq!(
            req.url,
            "http://127.0.0.1:9090/v19.0/me/messages?access_token=EAAB%2Bx%2Fy%3Dz%26a"
        );
    }

    #[test]
    fn quick_replies_are_sent_and_checked() {
        let mut msg = message(Some("What do you need?"));
        msg.quick_replies = vec![
            QuickReply {
                label: "Track parcel".into(),
                payload: "QR_TRACK".into(),
            },
            QuickReply {
                label: "Talk to agent".into(),
                payload: "QR_AGENT".into(),
            },
        ];
        assert_eq!(
            body_of(&msg, Platform::Messenger)["message"],
            json!({
                "text": "What do you need?",
                "quick_replies": [
                    {"content_type": "text", "title": "Track parcel", "payload": "QR_TRACK"},
                    {"content_type": "text", "title": "Talk to agent", "payload": "QR_AGENT"},
                ]
            })
        );

        let mut long = msg.clone();
        long.quick_replies[0].label = "x".repeat(21);
        assert!(refusal(&long, Platform::Messenger).contains("1 to 20 characters"));
        let mut twenty = msg.clone();
        twenty.quick_replies[0].label = "é".repeat(20);
        assert!(encode(&twenty, &api(Platform::Messenger)).is_ok());
        let mut many = msg.clone();
        many.quick_replies = (0..14)
            .map(|i| QuickReply {
                label: format!("Option {i}"),
                payload: format!("QR_{i}"),
            })
            .collect();
        assert!(refusal(&many, Platform::Messenger).contains("at most 13"));
        many.quick_replies.truncate(13);
        assert!(encode(&many, &api(Platform::Messenger)).is_ok());
    }

    #[test]
    fn attachments_by_url_or_id() {
        let mut msg = message(None);
        msg.attachments = vec![attachment(
            AttachmentKind::Image,
            Some("https://files.example.invalid/label.png"),
            None,
        )];
        assert_eq!(
            body_of(&msg, Platform::Messenger)["message"],
            json!({"attachment": {"type": "image", "payload": {"url": "https://files.example.invalid/label.png"}}})
        );
        msg.attachments = vec![attachment(
            AttachmentKind::File,
            None,
            Some("1857777774821032"),
        )];
        assert_eq!(
            body_of(&msg, Platform::Messenger)["message"],
            json!({"attachment": {"type": "file", "payload": {"attachment_id": "1857777774821032"}}})
        );
        msg.quick_replies = vec![QuickReply {
            label: "Got it".into(),
            payload: "QR_OK".into(),
        }];
        assert_eq!(
            body_of(&msg, Platform::Messenger)["message"]["quick_replies"][0]["payload"],
            "QR_OK"
        );
    }

    #[test]
    fn refuses_what_the_send_api_cannot_carry() {
        assert!(
            refusal(&message(None), Platform::Messenger).contains("needs text or an attachment")
        );
        assert!(refusal(&message(Some("")), Platform::Instagram).contains("needs text"));

        let mut both = message(Some("here is the label"));
        both.attachments = vec![attachment(
            AttachmentKind::Image,
            Some("https://x.invalid/a.png"),
            None,
        )];
        assert!(refusal(&both, Platform::Messenger).contains("not both"));

        let mut two = message(None);
        two.attachments = vec![
            attachment(AttachmentKind::Image, Some("https://x.invalid/a.png"), None),
            attachment(AttachmentKind::Image, Some("https://x.invalid/b.png"), None),
        ];
        assert!(refusal(&two, Platform::Messenger).contains("one attachment"));

        let mut bare = message(None);
        bare.attachments = vec![attachment(AttachmentKind::Image, None, None)];
        assert!(refusal(&bare, Platform::Messenger).contains("neither"));

        let mut location = message(None);
        location.attachments = vec![attachment(AttachmentKind::Location, Some("geo:1,2"), None)];
        assert!(refusal(&location, Platform::Messenger).contains("Location"));

        let mut public = message(Some("hi"));
        public.kind = OutboundKind::PublicReply;
        assert!(refusal(&public, Platform::Messenger).contains("public"));

        let mut template = message(None);
        template.template = Some(TemplateMessage {
            name: "case_followup_v2".into(),
            language: "de".into(),
            parameters: Vec::new(),
        });
        assert!(refusal(&template, Platform::Messenger).contains("templates"));

        let mut nobody = message(Some("hi"));
        nobody.customer_id.clear();
        assert!(refusal(&nobody, Platform::Messenger).contains("customer id"));

        let too_long = message(Some(&"x".repeat(2_001)));
        assert!(refusal(&too_long, Platform::Messenger).contains("2000 characters"));
        assert!(
            encode(
                &message(Some(&"é".repeat(2_000))),
                &api(Platform::Messenger)
            )
            .is_ok()
        );
    }

    #[test]
    fn human_agent_tag_outside_the_window() {
        let mut msg = message(Some("Sorry for the wait, your refund is approved."));
        msg.tag = Some("HUMAN_AGENT".into());
        let body = body_of(&msg, Platform::Messenger);
        assert_eq!(body["messaging_type"], "MESSAGE_TAG");
        assert_eq!(body["tag"], "HUMAN_AGENT");
        let body = body_of(&msg, Platform::Instagram);
        assert_eq!(body["messaging_type"], "MESSAGE_TAG");
        assert_eq!(body["tag"], "HUMAN_AGENT");

        msg.tag = Some("ACCOUNT_UPDATE".into());
        assert_eq!(body_of(&msg, Platform::Messenger)["tag"], "ACCOUNT_UPDATE");
        assert!(refusal(&msg, Platform::Instagram).contains("ACCOUNT_UPDATE"));
        msg.tag = Some("PROMO".into());
        assert!(refusal(&msg, Platform::Messenger).contains("PROMO"));
    }

    #[test]
    fn instagram_differences() {
        let body = body_of(
            &message(Some("Yes, we ship to Austria.")),
            Platform::Instagram,
        );
        assert_eq!(
            body,
            json!({"recipient": {"id": PSID}, "message": {"text": "Yes, we ship to Austria."}})
        );
        // 1,000 UTF-8 bytes: 500 two-byte characters fit, 501 do not.
        assert!(encode(&message(Some(&"é".repeat(500))), &api(Platform::Instagram)).is_ok());
        assert!(
            refusal(&message(Some(&"é".repeat(501))), Platform::Instagram).contains("1000 bytes")
        );
        let mut file = message(None);
        file.attachments = vec![attachment(
            AttachmentKind::File,
            Some("https://x.invalid/a.pdf"),
            None,
        )];
        assert!(refusal(&file, Platform::Instagram).contains("File"));
        file.attachments[0].kind = AttachmentKind::Video;
        assert_eq!(
            body_of(&file, Platform::Instagram)["message"]["attachment"]["type"],
            "video"
        );
    }

    #[test]
    fn success_gives_the_message_id() {
        let ok = r#"{"recipient_id":"7000000000000004","message_id":"m_FIXTURE-mid-0101"}"#;
        assert_eq!(
            decode_response("sb-msg-0001", &response(200, &[], ok)),
            SendResult::Sent("m_FIXTURE-mid-0101".into())
        );
        assert_eq!(
            decode_response("sb-msg-0001", &response(200, &[], "")),
            SendResult::Sent("sb-msg-0001".into())
        );
    }

    #[test]
    fn outside_the_window() {
        let closed = graph_error(
            400,
            10,
            Some(2_018_278),
            "(#10) This message is sent outside of allowed window.",
        );
        assert_eq!(
            decode_response("m", &closed),
            SendResult::Failed(SendFailure::WindowClosed(
                "Meta answered HTTP 400: (#10) This message is sent outside of allowed window. \
                 (code 10, subcode 2018278, fbtrace_id AFixtureTrace02)"
                    .into()
            ))
        );
        let no_subcode = graph_error(
            400,
            10,
            None,
            "(#10) This message is sent outside of allowed window.",
        );
        assert!(matches!(
            decode_response("m", &no_subcode),
            SendResult::Failed(SendFailure::WindowClosed(_))
        ));
        let permission = graph_error(403, 10, None, "(#10) Permission denied");
        assert!(matches!(
            decode_response("m", &permission),
            SendResult::Failed(SendFailure::Permanent(_))
        ));
    }

    #[test]
    fn rate_limits() {
        for code in [4, 613, 80006] {
            let limited = graph_error(
                400,
                code,
                None,
                "Calls to this api have exceeded the rate limit.",
            );
            let SendResult::Failed(SendFailure::RateLimited(limit)) =
                decode_response("m", &limited)
            else {
                panic!("code {code} should be a rate limit");
            };
            assert_eq!(limit.retry_at_ms, None);
            assert!(
                limit.detail.contains(&format!("code {code}")),
                "{}",
                limit.detail
            );
        }
        let SendResult::Failed(SendFailure::RateLimited(limit)) =
            decode_response("m", &response(429, &[("Retry-After", "30")], ""))
        else {
            panic!("a bare 429 is a rate limit");
        };
        assert!(limit.retry_at_ms.unwrap() > time::now_ms());
        assert_eq!(limit.detail, "Meta answered HTTP 429: no body");
    }

    #[test]
    fn other_failures() {
        let cases = [
            (
                graph_error(401, 190, Some(463), "Error validating access token"),
                "auth",
            ),
            (response(401, &[], "denied"), "auth"),
            (
                graph_error(
                    400,
                    551,
                    Some(1_545_041),
                    "This person isn't available right now.",
                ),
                "unreachable",
            ),
            (
                graph_error(400, 100, Some(2_018_001), "No matching user found"),
                "unreachable",
            ),
            (graph_error(500, 2, None, "Temporary issue"), "transient"),
            (
                graph_error(400, 1, None, "An unknown error occurred"),
                "transient",
            ),
            (
                response(503, &[], "<html>Service Unavailable</html>"),
                "transient",
            ),
            (
                graph_error(
                    400,
                    100,
                    None,
                    "(#100) Length of param message[quick_replies][0][title] must be less than or equal to 20",
                ),
                "permanent",
            ),
            (
                graph_error(
                    400,
                    368,
                    None,
                    "The action attempted has been deemed abusive",
                ),
                "permanent",
            ),
            (response(404, &[], ""), "permanent"),
        ];
        for (resp, expected) in cases {
            let got = match decode_response("m", &resp) {
                SendResult::Failed(SendFailure::Auth(_)) => "auth",
                SendResult::Failed(SendFailure::RecipientUnreachable(_)) => "unreachable",
                SendResult::Failed(SendFailure::Transient(_)) => "transient",
                SendResult::Failed(SendFailure::Permanent(_)) => "permanent",
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(
                got,
                expected,
                "HTTP {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
        assert_eq!(
            decode_response("m", &response(503, &[], "<html>Service Unavailable</html>")),
            SendResult::Failed(SendFailure::Transient(
                "Meta answered HTTP 503: <html>Service Unavailable</html>".into()
            ))
        );
    }

    #[test]
    fn typing_is_a_sender_action_without_a_message() {
        let request = encode_typing("7000000000000004", &api(Platform::Messenger)).unwrap();
        assert_eq!(
            request.url,
            "http://127.0.0.1:9090/v21.0/me/messages?access_token=fixture-page-token"
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            json!({ "recipient": { "id": "7000000000000004" }, "sender_action": "typing_on" })
        );
        assert!(matches!(
            encode_typing("", &api(Platform::Messenger)),
            Err(AdapterError::Malformed(_))
        ));
    }
}
