//! The Send API's checks of a send body and its window rule (reference §4.2, §4.3, §5.2): what
//! the real API refuses with code 100, or with code 10 / subcode 2018278 outside the window.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::super::graph::json_fields;
use super::MetaPlatform;

const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
const HUMAN_AGENT_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);
const MAX_QUICK_REPLIES: usize = 13;
const MAX_QUICK_REPLY_TITLE_CHARS: usize = 20;
const MESSENGER_TAGS: [&str; 4] = [
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
];

/// A body with `sender_action`: `None` when it is a message send, else the recipient and the
/// action, or why the body is invalid.
pub(super) fn sender_action(body: &[u8]) -> Option<Result<(String, String), String>> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let action = request.get("sender_action")?;
    Some((|| {
        let action = action
            .as_str()
            .filter(|a| {
                matches!(
                    a.to_ascii_lowercase().as_str(),
                    "typing_on" | "typing_off" | "mark_seen"
                )
            })
            .ok_or_else(|| {
                format!("sender_action {action} is not typing_on, typing_off or mark_seen")
            })?;
        if request.get("message").is_some() {
            return Err("sender_action cannot be sent with a message".to_string());
        }
        let recipient = request
            .get("recipient")
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or("recipient.id must be a non-empty string")?;
        Ok((recipient.to_string(), action.to_string()))
    })())
}

/// A send body that passed the checks.
#[derive(Debug)]
pub(super) struct Checked {
    pub request: Value,
    pub recipient: String,
    pub text: Option<String>,
    /// `RESPONSE` when Instagram's body leaves it out.
    pub messaging_type: String,
    pub tag: Option<String>,
}

/// Checks a send body as the Send API would; returns it or why it is invalid.
pub(super) fn check_request(
    platform: MetaPlatform,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Checked, String> {
    let fields = &json_fields(headers, body)?;
    let request = Value::Object(fields.clone());
    if let Some(unknown) = fields.keys().find(|key| {
        !matches!(
            key.as_str(),
            "recipient" | "messaging_type" | "message" | "tag" | "notification_type"
        )
    }) {
        return Err(format!("param {unknown} is not a valid parameter"));
    }
    let recipient = fields
        .get("recipient")
        .and_then(|recipient| recipient.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("recipient.id must be a non-empty string")?
        .to_owned();

    let messaging_type = match (fields.get("messaging_type"), platform) {
        (Some(Value::String(kind)), _)
            if matches!(kind.as_str(), "RESPONSE" | "UPDATE" | "MESSAGE_TAG") =>
        {
            kind.clone()
        }
        (None, MetaPlatform::Instagram) => "RESPONSE".to_owned(),
        (None, MetaPlatform::Messenger) => return Err("messaging_type is required".into()),
        (Some(other), _) => {
            return Err(format!(
                "messaging_type {other} is not RESPONSE, UPDATE or MESSAGE_TAG"
            ));
        }
    };
    let tag = match fields.get("tag") {
        None => None,
        Some(Value::String(tag)) => Some(tag.clone()),
        Some(other) => return Err(format!("tag must be a string, not {other}")),
    };
    match (messaging_type.as_str(), tag.as_deref()) {
        ("MESSAGE_TAG", None) => return Err("messaging_type MESSAGE_TAG needs a tag".into()),
        ("MESSAGE_TAG", Some(tag)) => {
            let allowed = match platform {
                MetaPlatform::Messenger => MESSENGER_TAGS.contains(&tag),
                MetaPlatform::Instagram => tag == "HUMAN_AGENT",
            };
            if !allowed {
                return Err(format!("tag {tag} is not available here"));
            }
        }
        (_, Some(_)) => return Err("a tag needs messaging_type MESSAGE_TAG".into()),
        (_, None) => {}
    }

    let Some(Value::Object(message)) = fields.get("message") else {
        return Err("message must be an object".into());
    };
    if let Some(unknown) = message.keys().find(|key| {
        !matches!(
            key.as_str(),
            "text" | "attachment" | "quick_replies" | "metadata"
        )
    }) {
        return Err(format!("param message[{unknown}] is not a valid parameter"));
    }
    let text = match (message.get("text"), message.get("attachment")) {
        (Some(_), Some(_)) => return Err("message must have text or attachment, not both".into()),
        (None, None) => return Err("message must have text or attachment".into()),
        (Some(Value::String(text)), None) => {
            check_text(platform, text)?;
            Some(text.clone())
        }
        (Some(_), None) => return Err("message[text] must be a string".into()),
        (None, Some(attachment)) => {
            check_attachment(platform, attachment)?;
            None
        }
    };
    if let Some(replies) = message.get("quick_replies") {
        check_quick_replies(replies)?;
    }
    Ok(Checked {
        request,
        recipient,
        text,
        messaging_type,
        tag,
    })
}

fn check_text(platform: MetaPlatform, text: &str) -> Result<(), String> {
    let (length, limit, unit) = match platform {
        MetaPlatform::Messenger => (text.chars().count(), 2_000, "characters"),
        MetaPlatform::Instagram => (text.len(), 1_000, "bytes"),
    };
    if length == 0 || length > limit {
        return Err(format!(
            "message[text] must be 1 to {limit} {unit}, not {length}"
        ));
    }
    Ok(())
}

fn check_attachment(platform: MetaPlatform, attachment: &Value) -> Result<(), String> {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
    let kinds: &[&str] = match platform {
        MetaPlatform::Messenger => &["image", "audio", "video", "file"],
        MetaPlatform::Instagram => &["image", "audio", "video"],
    };
    if !kinds.contains(&kind) {
        return Err(format!(
            "message[attachment][type] {kind:?} must be one of {}",
            kinds.join(", ")
        ));
    }
    let payload = attachment.get("payload").and_then(Value::as_object);
    let names = |payload: &Map<String, Value>, key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty())
    };
    match payload {
        Some(payload) if names(payload, "url") || names(payload, "attachment_id") => Ok(()),
        _ => Err("message[attachment][payload] needs a url or an attachment_id".into()),
    }
}

fn check_quick_replies(replies: &Value) -> Result<(), String> {
    let Some(replies) = replies.as_array() else {
        return Err("message[quick_replies] must be an array".into());
    };
    if replies.is_empty() || replies.len() > MAX_QUICK_REPLIES {
        return Err(format!(
            "message[quick_replies] must hold 1 to {MAX_QUICK_REPLIES} items, not {}",
            replies.len()
        ));
    }
    for (n, reply) in replies.iter().enumerate() {
        if reply.get("content_type").and_then(Value::as_str) != Some("text") {
            return Err(format!(
                "message[quick_replies][{n}][content_type] must be text"
            ));
        }
        let title = reply.get("title").and_then(Value::as_str).unwrap_or("");
        let chars = title.chars().count();
        if chars == 0 || chars > MAX_QUICK_REPLY_TITLE_CHARS {
            return Err(format!(
                "Length of param message[quick_replies][{n}][title] must be less than or equal to {MAX_QUICK_REPLY_TITLE_CHARS}"
            ));
        }
        if reply
            .get("payload")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("message[quick_replies][{n}][payload] is required"));
        }
    }
    Ok(())
}

/// The platform's window rule: anything within 24 h of the customer's last message, then only
/// tagged sends (`HUMAN_AGENT` up to 7 days; Messenger's other tags any time).
pub(super) fn window_check(
    last: Option<SystemTime>,
    now: SystemTime,
    messaging_type: &str,
    tag: Option<&str>,
) -> Result<(), String> {
    let Some(last) = last else {
        return Err(
            "outside the window: the simulator saw no message from this customer (post one with \
             send_messenger_text, or set it with meta_customer_wrote)"
                .into(),
        );
    };
    let since = now.duration_since(last).unwrap_or_default();
    let hours = since.as_secs() / 3600;
    if since < WINDOW {
        return Ok(());
    }
    match (messaging_type, tag) {
        ("MESSAGE_TAG", Some("HUMAN_AGENT")) if since < HUMAN_AGENT_WINDOW => Ok(()),
        ("MESSAGE_TAG", Some("HUMAN_AGENT")) => Err(format!(
            "outside the HUMAN_AGENT window: the customer last wrote {hours} h ago (7 days allowed)"
        )),
        ("MESSAGE_TAG", Some(_)) => Ok(()),
        _ => Err(format!(
            "outside the 24 h window: the customer last wrote {hours} h ago; send with the \
             HUMAN_AGENT tag"
        )),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::http::header::CONTENT_TYPE;
    use serde_json::json;

    use super::*;

    fn json_headers() -> HeaderMap {
        HeaderMap::from_iter([(CONTENT_TYPE, HeaderValue::from_static("application/json"))])
    }

    fn check(platform: MetaPlatform, body: Value) -> Result<Checked, String> {
        check_request(platform, &json_headers(), body.to_string().as_bytes())
    }

    fn text_body(text: &str) -> Value {
        json!({"recipient": {"id": "7000000000000004"}, "messaging_type": "RESPONSE", "message": {"text": text}})
    }

    #[test]
    fn accepts_what_the_send_api_accepts() {
        let checked = check(
            MetaPlatform::Messenger,
            text_body("Your order shipped today."),
        )
        .unwrap();
        assert_eq!(checked.recipient, "7000000000000004");
        assert_eq!(checked.text.as_deref(), Some("Your order shipped today."));
        assert_eq!(checked.messaging_type, "RESPONSE");

        let tagged = json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
            "message": {"text": "hi", "quick_replies": [{"content_type": "text", "title": "Track parcel", "payload": "QR_TRACK"}]}});
        assert_eq!(
            check(MetaPlatform::Instagram, tagged)
                .unwrap()
                .tag
                .as_deref(),
            Some("HUMAN_AGENT")
        );
        let image = json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "image", "payload": {"url": "https://x.invalid/a.png"}}}});
        assert_eq!(check(MetaPlatform::Messenger, image).unwrap().text, None);
        let instagram = json!({"recipient": {"id": "8"}, "message": {"text": "é".repeat(500)}});
        assert_eq!(
            check(MetaPlatform::Instagram, instagram)
                .unwrap()
                .messaging_type,
            "RESPONSE"
        );
        assert!(check(MetaPlatform::Messenger, text_body(&"é".repeat(2_000))).is_ok());
    }

    #[test]
    fn rejects_what_the_send_api_rejects() {
        let qr = |title: &str| json!({"content_type": "text", "title": title, "payload": "P"});
        let with_message = |message: Value| json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "message": message});
        let cases = [
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {}, "messaging_type": "RESPONSE", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "PROMO", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "tag": "HUMAN_AGENT", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Instagram,
                json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "message": {"text": "hi"}, "extra": 1}),
            ),
            (MetaPlatform::Messenger, with_message(json!({}))),
            (MetaPlatform::Messenger, with_message(json!({"text": ""}))),
            (MetaPlatform::Messenger, text_body(&"x".repeat(2_001))),
            (MetaPlatform::Instagram, text_body(&"é".repeat(501))),
            (
                MetaPlatform::Messenger,
                with_message(
                    json!({"text": "hi", "attachment": {"type": "image", "payload": {"url": "u"}}}),
                ),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"attachment": {"type": "sticker", "payload": {"url": "u"}}})),
            ),
            (
                MetaPlatform::Instagram,
                with_message(json!({"attachment": {"type": "file", "payload": {"url": "u"}}})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"attachment": {"type": "image", "payload": {}}})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"text": "hi", "quick_replies": [qr(&"x".repeat(21))]})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"text": "hi", "quick_replies": vec![qr("a"); 14]})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(
                    json!({"text": "hi", "quick_replies": [{"content_type": "text", "title": "a"}]}),
                ),
            ),
            (MetaPlatform::Messenger, json!(["hi"])),
        ];
        for (platform, body) in cases {
            assert!(
                check(platform, body.clone()).is_err(),
                "{platform:?} {body} should be rejected"
            );
        }
        assert!(
            check_request(
                MetaPlatform::Messenger,
                &HeaderMap::new(),
                text_body("hi").to_string().as_bytes()
            )
            .is_err()
        );
        assert!(check_request(MetaPlatform::Messenger, &json_headers(), b"text=hi").is_err());
        let thirteen =
            with_message(json!({"text": "hi", "quick_replies": vec![qr(&"é".repeat(20)); 13]}));
        assert!(check(MetaPlatform::Messenger, thirteen).is_ok());
    }

    #[test]
    fn the_window_rules() {
        let now = SystemTime::now();
        let hours = |h: u64| now - Duration::from_secs(h * 3600);
        assert!(window_check(Some(hours(23)), now, "RESPONSE", None).is_ok());
        assert!(window_check(Some(hours(23)), now, "UPDATE", None).is_ok());
        let closed = window_check(Some(hours(25)), now, "RESPONSE", None).unwrap_err();
        assert!(closed.contains("25 h ago"), "{closed}");
        assert!(window_check(None, now, "RESPONSE", None).is_err());
        assert!(window_check(None, now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_err());
        assert!(window_check(Some(hours(25)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert!(window_check(Some(hours(167)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert!(window_check(Some(hours(169)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_err());
        assert!(window_check(Some(hours(400)), now, "MESSAGE_TAG", Some("ACCOUNT_UPDATE")).is_ok());
    }
}
