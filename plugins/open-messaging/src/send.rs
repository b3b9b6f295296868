//! Sending: a signed "Outbound Open NormalizedMessage" POSTed to the middleware's webhook.
//!
//! The body follows Genesys's outbound notification: `id` and `channel.messageId` are our message
//! id (receipts come back with it as `id`), `channel.to.id` is the customer, `type: "Text"` with
//! `text` and at most one `content[]` attachment, and `direction: "Outbound"`. A message with
//! quick replies is `type: "Structured"`, each a `content[]` item
//! `{contentType: "QuickReply", quickReply: {text, payload, action: "Message"}}`; the customer's
//! choice comes back as a `ButtonResponse` (see `inbound.rs`).

use serde_json::{Map, Value, json};
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, Author, HttpRequest, HttpResponse, OutboundMessage,
    RateLimit, SendFailure, SendResult, http, json as sdk_json, signature, time,
};

use crate::webhook::SIGNATURE_HEADER;

/// How much of an error body goes into a failure message.
const EXCERPT_CHARS: usize = 300;

/// Where and how the integration sends.
pub struct Channel<'a> {
    /// The middleware's webhook (setting `webhook_url`).
    pub webhook_url: &'a str,
    /// The shared signature secret (setting `secret`).
    pub secret: &'a str,
    /// The integration id: `channel.id` and the sender's id in the body.
    pub integration_id: &'a str,
}

/// The signed request that delivers `msg`, stamped `now_ms`.
pub fn encode(
    msg: &OutboundMessage,
    channel: &Channel<'_>,
    now_ms: u64,
) -> Result<HttpRequest, AdapterError> {
    let url = channel.webhook_url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AdapterError::Misconfigured(format!(
            "setting `webhook_url` must be an http(s) URL, not {url:?}"
        )));
    }
    if msg.customer_id.trim().is_empty() {
        return Err(AdapterError::Malformed(
            "the message has no customer id".into(),
        ));
    }

    let mut from = json!({ "id": channel.integration_id, "idType": "Opaque" });
    if let Some(name) = msg.author_name.as_deref().filter(|name| !name.is_empty()) {
        from["nickname"] = json!(name);
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(msg.id));
    body.insert(
        "channel".into(),
        json!({
            "id": channel.integration_id,
            "platform": "Open",
            "type": "Private",
            // The customer's `idType` is not kept; Genesys's own notifications say `Opaque`.
            "to": { "id": msg.customer_id, "idType": "Opaque" },
            "from": from,
            "time": time::format_rfc3339_ms(now_ms),
            "messageId": msg.id,
        }),
    );
    let structured = !msg.quick_replies.is_empty();
    body.insert(
        "type".into(),
        json!(if structured { "Structured" } else { "Text" }),
    );
    let text = msg.text.as_deref().filter(|text| !text.is_empty());
    if let Some(text) = text {
        body.insert("text".into(), json!(text));
    }
    let quick_replies = msg.quick_replies.iter().map(|reply| {
        json!({
            "contentType": "QuickReply",
            "quickReply": { "text": reply.label, "payload": reply.payload, "action": "Message" },
        })
    });
    match msg.attachments.as_slice() {
        [] if text.is_none() => {
            return Err(AdapterError::Malformed(
                "an Open Messaging message needs text or an attachment".into(),
            ));
        }
        [] if structured => {
            body.insert("content".into(), quick_replies.collect());
        }
        [] => {}
        [attachment] => {
            let items: Vec<Value> = [content(attachment)?]
                .into_iter()
                .chain(quick_replies)
                .collect();
            body.insert("content".into(), json!(items));
        }
        more => {
            return Err(AdapterError::Malformed(format!(
                "Open Messaging carries one attachment per message, not {}",
                more.len()
            )));
        }
    }
    let entity = match msg.author {
        Author::Agent => "Human",
        Author::Bot => "Bot",
    };
    body.insert("originatingEntity".into(), json!(entity));
    body.insert("direction".into(), json!("Outbound"));
    body.insert("conversationId".into(), json!(msg.conversation_id));
    if let Some(reply_to) = &msg.in_reply_to {
        body.insert("metadata".into(), json!({ "inReplyTo": reply_to }));
    }

    let body = sdk_json::to_body(&Value::Object(body))?;
    Ok(HttpRequest {
        method: "POST".into(),
        url: url.to_owned(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (
                SIGNATURE_HEADER.into(),
                signature::sign_base64(channel.secret.as_bytes(), &body),
            ),
        ],
        body,
    })
}

/// A `content[]` item: `{contentType: "Attachment", attachment: {mediaType, url, …}}`.
fn content(attachment: &Attachment) -> Result<Value, AdapterError> {
    let url = attachment.url.as_deref().ok_or_else(|| {
        AdapterError::Malformed("an Open Messaging attachment needs a download `url`".into())
    })?;
    let media_type = match attachment.kind {
        AttachmentKind::Image => "Image",
        AttachmentKind::Video => "Video",
        AttachmentKind::Audio => "Audio",
        AttachmentKind::Link => "Link",
        AttachmentKind::File | AttachmentKind::Location | AttachmentKind::Other => "File",
    };
    let mut item = json!({ "mediaType": media_type, "url": url });
    let optional = [
        ("id", &attachment.media_id),
        ("mime", &attachment.mime_type),
        ("filename", &attachment.filename),
        ("text", &attachment.caption),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            item[key] = json!(value);
        }
    }
    Ok(json!({ "contentType": "Attachment", "attachment": item }))
}

/// Read the middleware's answer to the send of message `message_id`. The middleware answers
/// with a bare 2xx, so the platform's id of our message is our own id (receipts carry it too).
pub fn decode_response(message_id: &str, resp: &HttpResponse, now_ms: u64) -> SendResult {
    let status = resp.status;
    if (200..300).contains(&status) {
        return SendResult::Sent(message_id.to_owned());
    }
    let detail = match http::body_excerpt(&resp.body, EXCERPT_CHARS) {
        excerpt if excerpt.is_empty() => format!("the webhook answered HTTP {status}"),
        excerpt => format!("the webhook answered HTTP {status}: {excerpt}"),
    };
    SendResult::Failed(match status {
        429 => SendFailure::RateLimited(RateLimit {
            retry_at_ms: http::retry_after_ms(&resp.headers, now_ms)
                .or_else(|| http::rate_limit_reset_ms(&resp.headers)),
            detail,
        }),
        401 | 403 => SendFailure::Auth(detail),
        500..=599 => SendFailure::Transient(detail),
        _ => SendFailure::Permanent(detail),
    })
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::QuickReply;
    use switchboard_sdk::testing::{outbound_message, response};

    use super::*;

    const SECRET: &str = "fixture-genesys-secret";
    const NOW_MS: u64 = 1_788_258_000_123; // 2026-09-01T10:20:00.123Z
    const CHANNEL: Channel<'static> = Channel {
        webhook_url: "https://middleware.example.invalid/genesys/outbound",
        secret: SECRET,
        integration_id: "3f1c2d4e-0000-4000-8000-00000000a001",
    };

    fn message() -> OutboundMessage {
        let mut message = outbound_message(
            "cust-42",
            Some("Hi Dana, I'm Sam from Acme. Let me check 88-431.\n1. Track parcel"),
        );
        message.quick_replies = vec![QuickReply {
            label: "Track parcel".into(),
            payload: "opt_track_parcel".into(),
        }];
        message.in_reply_to = Some("ext-msg-000123".into());
        message
    }

    fn refusal(msg: &OutboundMessage, channel: &Channel<'_>) -> AdapterError {
        encode(msg, channel, NOW_MS).expect_err("the message should be refused")
    }

    #[test]
    fn encodes_quick_replies_as_a_structured_message() {
        let mut msg = message();
        msg.id = "sb-msg-0003".into();
        msg.text = Some("What is it about?".into());
        msg.author = Author::Bot;
        msg.author_name = None;
        msg.in_reply_to = None;
        msg.quick_replies = vec![
            QuickReply {
                label: "Billing".into(),
                payload: "billing".into(),
            },
            QuickReply {
                label: "Orders".into(),
                payload: "orders".into(),
            },
        ];
        let req = encode(&msg, &CHANNEL, NOW_MS).unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let expected: Value =
            serde_json::from_slice(include_bytes!("../fixtures/outbound-structured.json")).unwrap();
        assert_eq!(body, expected);
    }

    #[test]
    fn encodes_the_outbound_fixture_and_signs_it() {
        let mut msg = message();
        // The host rendered the options into the text (as for a platform without buttons).
        msg.quick_replies.clear();
        let req = encode(&msg, &CHANNEL, NOW_MS).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, CHANNEL.webhook_url);
        assert_eq!(
            http::header(&req.headers, "content-type"),
            Some("application/json")
        );
        let signed = http::header(&req.headers, "X-Hub-Signature-256").unwrap();
        assert_eq!(
            signature::verify_base64(SECRET.as_bytes(), &req.body, signed),
            Ok(())
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let expected: Value =
            serde_json::from_slice(include_bytes!("../fixtures/outbound-text.json")).unwrap();
        assert_eq!(body, expected);
        assert!(
            body.get("quickReplies").is_none() && !req.body.windows(7).any(|w| w == b"opt_tra")
        );
    }

    #[test]
    fn encodes_one_attachment_for_a_bot() {
        let mut msg = message();
        msg.quick_replies.clear();
        msg.text = None;
        msg.author = Author::Bot;
        msg.author_name = None;
        msg.in_reply_to = None;
        msg.attachments = vec![Attachment {
            kind: AttachmentKind::Image,
            url: Some("https://files.example.invalid/return-label.png".into()),
            media_id: None,
            mime_type: Some("image/png".into()),
            filename: Some("return-label.png".into()),
            caption: None,
        }];
        let body: Value =
            serde_json::from_slice(&encode(&msg, &CHANNEL, NOW_MS).unwrap().body).unwrap();
        let expected: Value =
            serde_json::from_slice(include_bytes!("../fixtures/outbound-attachment.json")).unwrap();
        assert_eq!(body, expected);
        assert_eq!(body["originatingEntity"], "Bot");
        assert_eq!(
            body["channel"]["from"],
            json!({"id": CHANNEL.integration_id, "idType": "Opaque"})
        );
        assert!(body.get("text").is_none() && body.get("metadata").is_none());
        assert_eq!(
            body["content"],
            json!([{ "contentType": "Attachment", "attachment": {
                "mediaType": "Image", "url": "https://files.example.invalid/return-label.png",
                "mime": "image/png", "filename": "return-label.png" } }])
        );
    }

    #[test]
    fn refuses_what_cannot_be_sent() {
        let mut msg = message();
        msg.text = Some(String::new());
        assert_eq!(
            refusal(&msg, &CHANNEL),
            AdapterError::Malformed("an Open Messaging message needs text or an attachment".into())
        );
        let file = Attachment {
            kind: AttachmentKind::File,
            url: None,
            media_id: None,
            mime_type: None,
            filename: None,
            caption: None,
        };
        msg.attachments = vec![file.clone()];
        assert!(matches!(refusal(&msg, &CHANNEL), AdapterError::Malformed(r) if r.contains("url")));
        msg.attachments = vec![file.clone(), file];
        assert_eq!(
            refusal(&msg, &CHANNEL),
            AdapterError::Malformed(
                "Open Messaging carries one attachment per message, not 2".into()
            )
        );
        let bad_url = Channel {
            webhook_url: "middleware.example.invalid",
            ..CHANNEL
        };
        assert!(matches!(
            refusal(&message(), &bad_url),
            AdapterError::Misconfigured(_)
        ));
    }

    #[test]
    fn success_gives_our_message_id() {
        for status in [200, 202, 204] {
            assert_eq!(
                decode_response("sb-msg-0001", &response(status, &[], ""), NOW_MS),
                SendResult::Sent("sb-msg-0001".into())
            );
        }
    }

    #[test]
    fn classifies_failures() {
        assert_eq!(
            decode_response(
                "m",
                &response(429, &[("Retry-After", "5")], "slow down"),
                NOW_MS
            ),
            SendResult::Failed(SendFailure::RateLimited(RateLimit {
                retry_at_ms: Some(NOW_MS + 5_000),
                detail: "the webhook answered HTTP 429: slow down".into(),
            }))
        );
        // A partner that speaks X's header instead, or an HTTP date.
        for (header, value, at) in [
            ("x-rate-limit-reset", "1790000900", 1_790_000_900_000),
            (
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT",
                1_445_412_480_000,
            ),
        ] {
            let limited = decode_response("m", &response(429, &[(header, value)], ""), NOW_MS);
            assert!(
                matches!(&limited, SendResult::Failed(SendFailure::RateLimited(RateLimit { retry_at_ms: Some(t), .. })) if *t == at),
                "{header}: {limited:?}"
            );
        }
        assert_eq!(
            decode_response("m", &response(401, &[], ""), NOW_MS),
            SendResult::Failed(SendFailure::Auth("the webhook answered HTTP 401".into()))
        );
        assert!(matches!(
            decode_response("m", &response(403, &[], "bad signature"), NOW_MS),
            SendResult::Failed(SendFailure::Auth(_))
        ));
        assert_eq!(
            decode_response("m", &response(502, &[], "<h1>Bad Gateway</h1>"), NOW_MS),
            SendResult::Failed(SendFailure::Transient(
                "the webhook answered HTTP 502: <h1>Bad Gateway</h1>".into()
            ))
        );
        assert!(matches!(
            decode_response("m", &response(400, &[], r#"{"error":"unknown customer"}"#), NOW_MS),
            SendResult::Failed(SendFailure::Permanent(detail)) if detail.contains("unknown customer")
        ));
        assert!(matches!(
            decode_response("m", &response(302, &[], ""), NOW_MS),
            SendResult::Failed(SendFailure::Permanent(_))
        ));
    }
}
