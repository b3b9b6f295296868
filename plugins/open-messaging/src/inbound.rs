//! Decoding of Open Messaging bodies into normalized events.
//!
//! One flat body per POST, told apart by its fields:
//!
//! - a receipt (`type: "Receipt"`, or a `status` without `type`): what happened to a message we
//!   sent; `id` is that message's id and `channel.to` the customer;
//! - a typing event (`events[]` with `eventType: "Typing"`) from `channel.from`;
//! - a message (`type: "Text"`, or no `type` with `text` / `content[]`) from `channel.from`,
//!   identified by `channel.messageId` (or the top-level `id`);
//! - a structured message (`type: "Structured"`): the customer chose a quick reply or a button,
//!   `content[]` holding `{contentType: "ButtonResponse", buttonResponse: {type, text, payload}}`;
//!   it becomes a message whose `quick_reply` is the payload and whose text is the label;
//! - anything with `direction: "Outbound"` is one of our own messages coming back (an echo).
//!
//! Other kinds (unknown types and event types) give no events.

use serde::Deserialize;
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, DeliveryStatus, InboundEvent, InboundMessage,
    MessageKind, Profile, Receipt, Typing, json, log, time,
};

/// Decode one webhook body into its events.
pub fn decode(body: &[u8]) -> Result<Vec<InboundEvent>, AdapterError> {
    let body: Body = json::parse(body)?;
    let kind = body.kind.as_deref();
    if kind == Some("Receipt") || (kind.is_none() && body.status.is_some()) {
        return receipt(body).map(|receipt| vec![InboundEvent::Receipt(receipt)]);
    }
    if body.direction.as_deref() == Some("Outbound") {
        return Ok(Vec::new());
    }
    if let Some(events) = &body.events {
        return typing(&body, events);
    }
    match kind {
        Some("Text" | "Structured") | None => {
            message(body).map(|message| vec![InboundEvent::Message(message)])
        }
        Some(other) => {
            log::debug(&format!("ignoring Open Messaging body of type `{other}`"));
            Ok(Vec::new())
        }
    }
}

#[derive(Deserialize)]
struct Body {
    id: Option<String>,
    #[serde(default)]
    channel: Channel,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    content: Option<Vec<Content>>,
    direction: Option<String>,
    status: Option<String>,
    reasons: Option<Vec<Reason>>,
    events: Option<Vec<Event>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Channel {
    message_id: Option<String>,
    time: Option<String>,
    from: Option<Party>,
    to: Option<Party>,
}

/// `channel.from` / `channel.to`: the customer or the integration side.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Party {
    id: Option<String>,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    image: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    content_type: Option<String>,
    attachment: Option<ContentAttachment>,
    button_response: Option<ButtonResponse>,
}

/// What the customer chose: a quick reply or a card's button.
#[derive(Deserialize)]
struct ButtonResponse {
    text: Option<String>,
    payload: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentAttachment {
    id: Option<String>,
    media_type: Option<String>,
    url: Option<String>,
    mime: Option<String>,
    filename: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Reason {
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_type: Option<String>,
}

fn message(body: Body) -> Result<InboundMessage, AdapterError> {
    let timestamp_ms = channel_time(&body.channel)?;
    let from = body
        .channel
        .from
        .ok_or_else(|| missing("channel.from.id"))?;
    let customer_id = non_empty(from.id.clone()).ok_or_else(|| missing("channel.from.id"))?;
    let id = non_empty(body.channel.message_id)
        .or(non_empty(body.id))
        .ok_or_else(|| missing("channel.messageId"))?;
    let mut text = non_empty(body.text);
    let mut attachments = Vec::new();
    let mut quick_reply = None;
    for content in body.content.into_iter().flatten() {
        match content.content_type.as_deref() {
            Some("Attachment") => attachments.extend(content.attachment.map(attachment)),
            Some("ButtonResponse") if quick_reply.is_none() => {
                let Some(button) = content.button_response else {
                    return Err(missing("content[].buttonResponse"));
                };
                let label = non_empty(button.text);
                quick_reply = non_empty(button.payload).or(label.clone());
                text = text.or(label);
            }
            _ => {}
        }
    }
    if text.is_none() && attachments.is_empty() && quick_reply.is_none() {
        return Err(AdapterError::Malformed(
            "a message needs `text`, an attachment or a button response in `content`".into(),
        ));
    }
    Ok(InboundMessage {
        id,
        customer_id,
        timestamp_ms,
        text,
        attachments,
        quick_reply,
        profile: Some(profile(from)),
        kind: MessageKind::Direct,
        reply_to: None,
        reaction: None,
    })
}

fn receipt(body: Body) -> Result<Receipt, AdapterError> {
    let timestamp_ms = channel_time(&body.channel)?;
    let message_id = non_empty(body.id)
        .or(non_empty(body.channel.message_id))
        .ok_or_else(|| missing("id"))?;
    // The receipt is about a message to the customer; accept a sender that names them in `from`.
    let customer_id = [body.channel.to, body.channel.from]
        .into_iter()
        .flatten()
        .find_map(|party| non_empty(party.id))
        .ok_or_else(|| missing("channel.to.id"))?;
    let status_text = body.status.unwrap_or_default();
    let status = match status_text.as_str() {
        "Sent" | "Published" => DeliveryStatus::Sent,
        "Delivered" => DeliveryStatus::Delivered,
        "Read" => DeliveryStatus::Read,
        "Failed" | "Removed" => DeliveryStatus::Failed,
        "" => return Err(missing("status")),
        other => {
            return Err(AdapterError::Malformed(format!(
                "`status` {other:?} is not one of Sent, Delivered, Read, Failed, Published, Removed"
            )));
        }
    };
    let reasons: Vec<String> = body
        .reasons
        .into_iter()
        .flatten()
        .filter_map(|reason| match (reason.code, reason.message) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (code, message) => code.or(message),
        })
        .collect();
    let reason = match (status, reasons.is_empty()) {
        (DeliveryStatus::Failed, false) => Some(reasons.join("; ")),
        (DeliveryStatus::Failed, true) => Some(status_text),
        _ => None,
    };
    Ok(Receipt {
        message_id,
        customer_id,
        status,
        reason,
        timestamp_ms,
    })
}

fn typing(body: &Body, events: &[Event]) -> Result<Vec<InboundEvent>, AdapterError> {
    let typing_count = events
        .iter()
        .filter(|event| event.event_type.as_deref() == Some("Typing"))
        .count();
    if typing_count == 0 {
        return Ok(Vec::new());
    }
    let timestamp_ms = channel_time(&body.channel)?;
    let customer_id = body
        .channel
        .from
        .as_ref()
        .and_then(|from| non_empty(from.id.clone()))
        .ok_or_else(|| missing("channel.from.id"))?;
    // Several typing events in one body say the same thing; one is enough.
    Ok(vec![InboundEvent::Typing(Typing {
        customer_id,
        timestamp_ms,
    })])
}

fn channel_time(channel: &Channel) -> Result<u64, AdapterError> {
    let text = channel
        .time
        .as_deref()
        .ok_or_else(|| missing("channel.time"))?;
    time::parse_rfc3339_ms(text).ok_or_else(|| {
        AdapterError::Malformed(format!(
            "`channel.time` must be an ISO-8601 time such as 2026-09-01T10:15:00.000Z, not {text:?}"
        ))
    })
}

fn attachment(attachment: ContentAttachment) -> Attachment {
    let kind = match attachment.media_type.as_deref() {
        Some("Image") => AttachmentKind::Image,
        Some("Video") => AttachmentKind::Video,
        Some("Audio") => AttachmentKind::Audio,
        Some("File") => AttachmentKind::File,
        Some("Link") => AttachmentKind::Link,
        _ => AttachmentKind::Other,
    };
    Attachment {
        kind,
        url: non_empty(attachment.url),
        media_id: non_empty(attachment.id),
        mime_type: non_empty(attachment.mime),
        filename: non_empty(attachment.filename),
        caption: non_empty(attachment.text),
    }
}

/// The customer as the middleware describes them; the display name is the nickname, else the
/// first and last names.
fn profile(from: Party) -> Profile {
    let full_name = [from.first_name, from.last_name]
        .into_iter()
        .filter_map(non_empty)
        .collect::<Vec<_>>()
        .join(" ");
    Profile {
        display_name: non_empty(from.nickname).or(non_empty(Some(full_name))),
        handle: None,
        verified: None,
        followers: None,
        posts: None,
        avatar_url: non_empty(from.image),
        email: non_empty(from.email),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

fn missing(field: &str) -> AdapterError {
    AdapterError::Malformed(format!("the body lacks `{field}`"))
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing;

    use super::*;

    fn decoded(body: &[u8]) -> Vec<InboundEvent> {
        decode(body).expect("the body should decode")
    }

    fn malformed(body: &[u8]) -> String {
        testing::malformed(decode(body))
    }

    #[test]
    fn decodes_a_text_message_with_profile() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/inbound-message.json")),
            vec![InboundEvent::Message(InboundMessage {
                id: "ext-msg-000123".into(),
                customer_id: "cust-42".into(),
                timestamp_ms: 1_788_257_700_000,
                text: Some("Hi, I need help with order 88-431".into()),
                attachments: Vec::new(),
                quick_reply: None,
                profile: Some(Profile {
                    display_name: Some("Dana".into()),
                    handle: None,
                    verified: None,
                    followers: None,
                    posts: None,
                    avatar_url: None,
                    email: None,
                }),
                kind: MessageKind::Direct,
                reply_to: None,
                reaction: None,
            })]
        );
    }

    #[test]
    fn decodes_an_attachment_in_the_legacy_form() {
        let events = decoded(include_bytes!("../fixtures/inbound-attachment.json"));
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one message, got {events:?}");
        };
        assert_eq!(message.id, "ext-msg-000124");
        assert_eq!(message.timestamp_ms, 1_788_257_760_000);
        assert_eq!(message.text.as_deref(), Some("photo of the label"));
        assert_eq!(
            message.attachments,
            vec![Attachment {
                kind: AttachmentKind::Image,
                url: Some("https://files.example.invalid/label.jpg".into()),
                media_id: None,
                mime_type: Some("image/jpeg".into()),
                filename: Some("label.jpg".into()),
                caption: None,
            }]
        );
    }

    #[test]
    fn decodes_a_quick_reply_chosen_in_a_structured_message() {
        let events = decoded(include_bytes!("../fixtures/inbound-structured.json"));
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(message.quick_reply.as_deref(), Some("billing"));
        assert_eq!(message.text.as_deref(), Some("Billing"));
        assert_eq!(message.customer_id, "cust-42");
        let no_response = br#"{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"Structured","content":[{"contentType":"ButtonResponse"}]}"#;
        assert!(matches!(
            decode(no_response),
            Err(AdapterError::Malformed(_))
        ));
    }

    #[test]
    fn decodes_receipts_of_our_messages() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/receipt-delivered.json")),
            vec![InboundEvent::Receipt(Receipt {
                message_id: "sb-msg-0001".into(),
                customer_id: "cust-42".into(),
                status: DeliveryStatus::Delivered,
                reason: None,
                timestamp_ms: 1_788_258_001_000,
            })]
        );
        assert_eq!(
            decoded(include_bytes!("../fixtures/receipt-failed.json")),
            vec![InboundEvent::Receipt(Receipt {
                message_id: "sb-msg-0002".into(),
                customer_id: "cust-42".into(),
                status: DeliveryStatus::Failed,
                reason: Some(
                    "MessageExpired: Recipient's 24h window on the far-end channel is closed"
                        .into()
                ),
                timestamp_ms: 1_788_258_005_000,
            })]
        );
        // The inbound receipt body as middleware posts it to Genesys: no `type`, no `direction`.
        assert_eq!(
            decoded(include_bytes!("../fixtures/receipt-sent.json")),
            vec![InboundEvent::Receipt(Receipt {
                message_id: "sb-msg-0003".into(),
                customer_id: "cust-42".into(),
                status: DeliveryStatus::Sent,
                reason: None,
                timestamp_ms: 1_788_258_002_000,
            })]
        );
        let read = br#"{"id":"sb-msg-0003","channel":{"to":{"id":"cust-42"},"time":"2026-09-01T10:21:00Z"},"status":"Read"}"#;
        assert!(matches!(
            decoded(read).as_slice(),
            [InboundEvent::Receipt(Receipt {
                status: DeliveryStatus::Read,
                ..
            })]
        ));
    }

    #[test]
    fn decodes_typing() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/typing.json")),
            vec![InboundEvent::Typing(Typing {
                customer_id: "cust-42".into(),
                timestamp_ms: 1_788_257_820_000,
            })]
        );
    }

    #[test]
    fn ignores_echoes_and_unknown_kinds() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/outbound-echo.json")),
            Vec::new()
        );
        let future =
            br#"{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"FutureKind"}"#;
        assert_eq!(decoded(future), Vec::new());
        let other_event = br#"{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"events":[{"eventType":"Presence"}]}"#;
        assert_eq!(decoded(other_event), Vec::new());
    }

    #[test]
    fn names_what_is_missing() {
        assert_eq!(malformed(b""), "the body is empty; expected JSON");
        assert!(malformed(b"{\"channel\":").starts_with("the body is not valid JSON"));
        assert!(malformed(br#"{"text":5}"#).starts_with("the JSON body has an unexpected shape"));

        let no_time = br#"{"channel":{"messageId":"m","from":{"id":"c"}},"text":"hi"}"#;
        assert_eq!(malformed(no_time), "the body lacks `channel.time`");
        let bad_time =
            br#"{"channel":{"messageId":"m","from":{"id":"c"},"time":"yesterday"},"text":"hi"}"#;
        assert!(malformed(bad_time).starts_with("`channel.time` must be an ISO-8601 time"));
        let no_from = br#"{"channel":{"messageId":"m","time":"2026-09-01T10:15:00Z"},"text":"hi"}"#;
        assert_eq!(malformed(no_from), "the body lacks `channel.from.id`");
        let no_id = br#"{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"text":"hi"}"#;
        assert_eq!(malformed(no_id), "the body lacks `channel.messageId`");
        let empty = br#"{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"Text","text":" "}"#;
        assert_eq!(
            malformed(empty),
            "a message needs `text`, an attachment or a button response in `content`"
        );

        let receipt_without_id = br#"{"type":"Receipt","status":"Delivered","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}"#;
        assert_eq!(malformed(receipt_without_id), "the body lacks `id`");
        let odd_status = br#"{"id":"m","type":"Receipt","status":"Lost","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}"#;
        assert!(malformed(odd_status).contains("\"Lost\" is not one of"));
        let no_status = br#"{"id":"m","type":"Receipt","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}"#;
        assert_eq!(malformed(no_status), "the body lacks `status`");
    }

    #[test]
    fn builds_the_display_name_from_first_and_last_names() {
        let body = br#"{"channel":{"messageId":"m","time":"2026-09-01T10:15:00Z",
            "from":{"id":"c","firstName":"Dana","lastName":"Example","email":"dana@example.invalid"}},"text":"hi"}"#;
        let events = decoded(body);
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one message, got {events:?}");
        };
        let profile = message.profile.as_ref().unwrap();
        assert_eq!(profile.display_name.as_deref(), Some("Dana Example"));
        assert_eq!(profile.email.as_deref(), Some("dana@example.invalid"));
    }
}
