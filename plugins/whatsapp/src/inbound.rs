//! Decoding of WhatsApp Cloud API webhook bodies into normalized events (reference §3.1–§3.3).
//!
//! `{object: "whatsapp_business_account", entry[]: {id, changes[]: {field: "messages", value}}}`,
//! where `value` carries `metadata.phone_number_id` (the business number), `contacts[]` (the
//! senders' profiles), `messages[]` (what customers wrote) and `statuses[]` (receipts for what we
//! sent). Deliveries are batched, so every entry and change is read. Changes for another number
//! of the same app, other webhook fields and message kinds this adapter does not know give no
//! events (Meta must still get its `200`); a body that is not JSON or lacks a field an event needs
//! is [`AdapterError::Malformed`], naming where.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, DeliveryStatus, InboundEvent, InboundMessage,
    MessageKind, Profile, Receipt, json, log,
};

const OBJECT: &str = "whatsapp_business_account";

/// Decode one webhook body for the business number `phone_number_id` into its events.
pub fn decode(body: &[u8], phone_number_id: &str) -> Result<Vec<InboundEvent>, AdapterError> {
    let envelope: Envelope = json::parse(body)?;
    if envelope.object.as_deref() != Some(OBJECT) {
        log::info(&format!(
            "ignoring a webhook for object {:?}; WhatsApp sends {OBJECT:?}",
            envelope.object.as_deref().unwrap_or("")
        ));
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for (e, entry) in envelope.entry.into_iter().enumerate() {
        for (c, change) in entry.changes.into_iter().enumerate() {
            let path = format!("entry[{e}].changes[{c}]");
            if change.field != "messages" {
                log::debug(&format!(
                    "ignoring WhatsApp webhook field `{}`",
                    change.field
                ));
                continue;
            }
            let value: ChangeValue = field(change.value, &format!("{path}.value"))?;
            decode_value(
                value,
                phone_number_id,
                &format!("{path}.value"),
                &mut events,
            )?;
        }
    }
    Ok(events)
}

#[derive(Deserialize)]
struct Envelope {
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct ChangeValue {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
    #[serde(default)]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: String,
    profile: Option<ContactProfile>,
}

#[derive(Deserialize)]
struct ContactProfile {
    name: Option<String>,
}

/// One `messages[]` item: the common fields, plus the object keyed by `type`.
#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    timestamp: Timestamp,
    #[serde(rename = "type")]
    kind: String,
    context: Option<Context>,
    text: Option<Text>,
    image: Option<Media>,
    document: Option<Media>,
    audio: Option<Media>,
    video: Option<Media>,
    sticker: Option<Media>,
    location: Option<Location>,
    interactive: Option<Interactive>,
    button: Option<Button>,
    reaction: Option<Reaction>,
    system: Option<System>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Media {
    id: Option<String>,
    /// Newer API versions add a download URL [S]; it needs the access token.
    url: Option<String>,
    mime_type: Option<String>,
    filename: Option<String>,
    caption: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(rename = "type")]
    kind: String,
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    title: Option<String>,
}

#[derive(Deserialize)]
struct Button {
    payload: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    message_id: String,
    /// Absent (or empty) when the customer removed the reaction.
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct System {
    body: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: Timestamp,
    recipient_id: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
}

/// `timestamp`: epoch seconds, a string in every documented payload.
#[derive(Deserialize)]
#[serde(untagged)]
enum Timestamp {
    Text(String),
    Number(u64),
}

fn decode_value(
    value: ChangeValue,
    phone_number_id: &str,
    path: &str,
    events: &mut Vec<InboundEvent>,
) -> Result<(), AdapterError> {
    let number = value.metadata.phone_number_id;
    if number != phone_number_id {
        // One app webhook serves every number of the business account; this one is another's.
        log::warn(&format!(
            "ignoring WhatsApp events for phone number id {number}; this integration serves \
             {phone_number_id}"
        ));
        return Ok(());
    }
    for error in &value.errors {
        log::warn(&format!("WhatsApp reported a webhook error: {error}"));
    }
    for (index, raw) in value.messages.into_iter().enumerate() {
        let item_path = format!("{path}.messages[{index}]");
        let message: Message = field(raw, &item_path)?;
        if let Some(event) = decode_message(message, &value.contacts, &item_path)? {
            events.push(InboundEvent::Message(event));
        }
    }
    for (index, raw) in value.statuses.into_iter().enumerate() {
        let item_path = format!("{path}.statuses[{index}]");
        let status: Status = field(raw, &item_path)?;
        if let Some(receipt) = decode_status(status, &item_path)? {
            events.push(InboundEvent::Receipt(receipt));
        }
    }
    Ok(())
}

fn decode_message(
    message: Message,
    contacts: &[Contact],
    path: &str,
) -> Result<Option<InboundMessage>, AdapterError> {
    // The sender's contact: the one whose `wa_id` is `from`, or the only one there is.
    let contact = contacts
        .iter()
        .find(|contact| contact.wa_id == message.from)
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        });
    let mut inbound = InboundMessage {
        id: message.id,
        customer_id: contact.map_or(message.from, |contact| contact.wa_id.clone()),
        timestamp_ms: epoch_ms(&message.timestamp, path)?,
        text: None,
        attachments: Vec::new(),
        quick_reply: None,
        profile: contact.map(|contact| Profile {
            display_name: contact.profile.as_ref().and_then(|p| p.name.clone()),
            handle: None,
            verified: None,
            followers: None,
            posts: None,
            avatar_url: None,
            email: None,
        }),
        kind: MessageKind::Direct,
        // A quoted reply or a tapped button names the message it answers.
        reply_to: message.context.and_then(|context| context.id),
        reaction: None,
    };
    let object = |present: bool| {
        if present {
            Ok(())
        } else {
            Err(missing(path, &message.kind))
        }
    };

    match message.kind.as_str() {
        "text" => {
            let text = message.text.ok_or_else(|| missing(path, "text"))?;
            inbound.text = Some(text.body);
        }
        "image" | "document" | "audio" | "video" | "sticker" => {
            let (media, kind) = match message.kind.as_str() {
                "image" => (message.image, AttachmentKind::Image),
                "document" => (message.document, AttachmentKind::File),
                // Voice notes are audio with `voice: true`.
                "audio" => (message.audio, AttachmentKind::Audio),
                "video" => (message.video, AttachmentKind::Video),
                _ => (message.sticker, AttachmentKind::Image),
            };
            object(media.is_some())?;
            inbound
                .attachments
                .push(media_attachment(media.expect("checked"), kind));
        }
        "location" => {
            object(message.location.is_some())?;
            let location = message.location.expect("checked");
            let label: Vec<String> = [location.name, location.address]
                .into_iter()
                .flatten()
                .filter(|part| !part.is_empty())
                .collect();
            inbound.attachments.push(Attachment {
                kind: AttachmentKind::Location,
                // RFC 5870: the attachment record has no coordinate fields.
                url: Some(format!("geo:{},{}", location.latitude, location.longitude)),
                media_id: None,
                mime_type: None,
                filename: None,
                caption: (!label.is_empty()).then(|| label.join(", ")),
            });
        }
        "interactive" => {
            object(message.interactive.is_some())?;
            let interactive = message.interactive.expect("checked");
            let reply = match interactive.kind.as_str() {
                "button_reply" => interactive.button_reply,
                "list_reply" => interactive.list_reply,
                other => {
                    log::debug(&format!(
                        "ignoring WhatsApp interactive reply of type `{other}`"
                    ));
                    return Ok(None);
                }
            };
            let reply =
                reply.ok_or_else(|| missing(&format!("{path}.interactive"), &interactive.kind))?;
            inbound.kind = MessageKind::Postback;
            inbound.quick_reply = Some(reply.id);
            inbound.text = reply.title;
        }
        "button" => {
            // A quick-reply button of a template message.
            object(message.button.is_some())?;
            let button = message.button.expect("checked");
            inbound.kind = MessageKind::Postback;
            inbound.quick_reply = button.payload.or_else(|| button.text.clone());
            inbound.text = button.text;
        }
        "reaction" => {
            object(message.reaction.is_some())?;
            let reaction = message.reaction.expect("checked");
            inbound.kind = MessageKind::Reaction;
            inbound.reply_to = Some(reaction.message_id);
            inbound.reaction = Some(reaction.emoji.unwrap_or_default());
        }
        "system" => {
            // E.g. `user_changed_number`; it comes without `contacts`.
            object(message.system.is_some())?;
            inbound.text = message.system.and_then(|system| system.body);
        }
        "unsupported" | "unknown" => {
            // The customer sent something the Cloud API cannot pass on; the agent should know.
            let why: Vec<String> = message.errors.iter().map(ToString::to_string).collect();
            log::info(&format!(
                "WhatsApp message {} is of a type the Cloud API does not support: {}",
                inbound.id,
                if why.is_empty() {
                    "no details".to_owned()
                } else {
                    why.join("; ")
                }
            ));
        }
        other => {
            log::debug(&format!("ignoring WhatsApp message of type `{other}`"));
            return Ok(None);
        }
    }
    Ok(Some(inbound))
}

fn media_attachment(media: Media, kind: AttachmentKind) -> Attachment {
    Attachment {
        kind,
        url: media.url,
        media_id: media.id,
        mime_type: media.mime_type,
        filename: media.filename,
        caption: media.caption,
    }
}

fn decode_status(status: Status, path: &str) -> Result<Option<Receipt>, AdapterError> {
    let delivery = match status.status.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => {
            log::debug(&format!(
                "ignoring WhatsApp status `{other}` of {}",
                status.id
            ));
            return Ok(None);
        }
    };
    let reason = (delivery == DeliveryStatus::Failed && !status.errors.is_empty()).then(|| {
        status
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    });
    Ok(Some(Receipt {
        timestamp_ms: epoch_ms(&status.timestamp, path)?,
        message_id: status.id,
        customer_id: status.recipient_id,
        status: delivery,
        reason,
    }))
}

/// `131047: Re-engagement message`: the code, then the title (or the message when untitled).
impl std::fmt::Display for ErrorItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.title.as_deref().or(self.message.as_deref());
        match (self.code, text) {
            (Some(code), Some(text)) => write!(f, "{code}: {text}"),
            (Some(code), None) => write!(f, "{code}"),
            (None, Some(text)) => f.write_str(text),
            (None, None) => f.write_str("unknown error"),
        }
    }
}

/// Decode one array element, prefixing serde's message (``missing field `from` ``) with where
/// the element sits in the body.
fn field<T: DeserializeOwned>(raw: Value, path: &str) -> Result<T, AdapterError> {
    serde_json::from_value(raw).map_err(|e| AdapterError::Malformed(format!("`{path}`: {e}")))
}

fn missing(path: &str, name: &str) -> AdapterError {
    AdapterError::Malformed(format!("`{path}`: missing field `{name}`"))
}

fn epoch_ms(timestamp: &Timestamp, path: &str) -> Result<u64, AdapterError> {
    let seconds = match timestamp {
        Timestamp::Number(seconds) => Some(*seconds),
        Timestamp::Text(text) => text.trim().parse().ok(),
    };
    seconds
        .and_then(|seconds| seconds.checked_mul(1000))
        .ok_or_else(|| AdapterError::Malformed(format!("`{path}.timestamp` must be epoch seconds")))
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing;

    use super::*;

    const NUMBER: &str = "500000000000002";
    const CUSTOMER: &str = "4915112345678";

    fn decoded(body: &[u8]) -> Vec<InboundEvent> {
        decode(body, NUMBER).expect("the fixture decodes")
    }

    fn message(body: &[u8]) -> InboundMessage {
        testing::only_message(decoded(body))
    }

    fn receipt(body: &[u8]) -> Receipt {
        match decoded(body).as_slice() {
            [InboundEvent::Receipt(receipt)] => receipt.clone(),
            other => panic!("expected one receipt, got {other:?}"),
        }
    }

    fn malformed(body: &str) -> String {
        testing::malformed(decode(body.as_bytes(), NUMBER))
    }

    fn profile(name: &str) -> Option<Profile> {
        Some(Profile {
            display_name: Some(name.into()),
            handle: None,
            verified: None,
            followers: None,
            posts: None,
            avatar_url: None,
            email: None,
        })
    }

    #[test]
    fn text() {
        assert_eq!(
            message(include_bytes!("../fixtures/text.json")),
            InboundMessage {
                id: "wamid.FIXTURE-IN-0001".into(),
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_000_000,
                text: Some("Hallo, ist mein Paket unterwegs?".into()),
                attachments: Vec::new(),
                quick_reply: None,
                profile: profile("Jonas Beispiel"),
                kind: MessageKind::Direct,
                reply_to: None,
                reaction: None,
            }
        );
    }

    #[test]
    fn media_messages_become_attachments() {
        let cases: [(
            &[u8],
            AttachmentKind,
            &str,
            &str,
            Option<&str>,
            Option<&str>,
        ); 6] = [
            (
                include_bytes!("../fixtures/image.json"),
                AttachmentKind::Image,
                "900000000000011",
                "image/jpeg",
                None,
                Some("label photo"),
            ),
            (
                include_bytes!("../fixtures/document.json"),
                AttachmentKind::File,
                "900000000000012",
                "application/pdf",
                Some("invoice-2291.pdf"),
                Some("invoice"),
            ),
            (
                include_bytes!("../fixtures/voice.json"),
                AttachmentKind::Audio,
                "900000000000013",
                "audio/ogg; codecs=opus",
                None,
                None,
            ),
            (
                include_bytes!("../fixtures/audio.json"),
                AttachmentKind::Audio,
                "900000000000016",
                "audio/mpeg",
                None,
                None,
            ),
            (
                include_bytes!("../fixtures/video.json"),
                AttachmentKind::Video,
                "900000000000014",
                "video/mp4",
                None,
                Some("the damaged box"),
            ),
            (
                include_bytes!("../fixtures/sticker.json"),
                AttachmentKind::Image,
                "900000000000015",
                "image/webp",
                None,
                None,
            ),
        ];
        for (body, kind, media_id, mime, filename, caption) in cases {
            let message = message(body);
            assert_eq!(message.kind, MessageKind::Direct);
            assert_eq!(message.text, None);
            assert_eq!(message.customer_id, CUSTOMER);
            assert_eq!(message.profile, profile("Jonas Beispiel"));
            assert_eq!(
                message.attachments,
                [Attachment {
                    kind,
                    url: None,
                    media_id: Some(media_id.into()),
                    mime_type: Some(mime.into()),
                    filename: filename.map(str::to_owned),
                    caption: caption.map(str::to_owned),
                }]
            );
        }
    }

    #[test]
    fn media_urls_of_newer_versions_are_kept() {
        let body = include_str!("../fixtures/image.json").replace(
            "\"id\": \"900000000000011\",",
            "\"id\": \"900000000000011\", \"url\": \"https://lookaside.example.invalid/m/11\",",
        );
        let attachment = &message(body.as_bytes()).attachments[0];
        assert_eq!(
            attachment.url.as_deref(),
            Some("https://lookaside.example.invalid/m/11")
        );
    }

    #[test]
    fn location() {
        let message = message(include_bytes!("../fixtures/location.json"));
        assert_eq!(message.id, "wamid.FIXTURE-IN-0015");
        assert_eq!(
            message.attachments,
            [Attachment {
                kind: AttachmentKind::Location,
                url: Some("geo:52.520008,13.404954".into()),
                media_id: None,
                mime_type: None,
                filename: None,
                caption: Some("Packstation 123, Alexanderplatz 1, 10178 Berlin".into()),
            }]
        );
    }

    #[test]
    fn replies_to_buttons_and_lists_are_postbacks() {
        for (body, payload, title, answered) in [
            (
                &include_bytes!("../fixtures/interactive-button-reply.json")[..],
                "btn_talk_to_agent",
                "Talk to agent",
                "wamid.FIXTURE-OUT-0009",
            ),
            (
                include_bytes!("../fixtures/interactive-list-reply.json"),
                "row_returns",
                "Returns",
                "wamid.FIXTURE-OUT-0010",
            ),
            (
                include_bytes!("../fixtures/template-button.json"),
                "REOPEN_CASE_2291",
                "Yes, reopen",
                "wamid.FIXTURE-OUT-0011",
            ),
        ] {
            let message = message(body);
            assert_eq!(message.kind, MessageKind::Postback);
            assert_eq!(message.quick_reply.as_deref(), Some(payload));
            assert_eq!(message.text.as_deref(), Some(title));
            assert_eq!(message.reply_to.as_deref(), Some(answered));
            assert_eq!(message.customer_id, CUSTOMER);
        }
    }

    #[test]
    fn reactions_name_the_emoji_and_the_message() {
        let message = message(include_bytes!("../fixtures/reaction.json"));
        assert_eq!(message.kind, MessageKind::Reaction);
        assert_eq!(message.reaction.as_deref(), Some("\u{1F44D}"));
        assert_eq!(message.reply_to.as_deref(), Some("wamid.FIXTURE-OUT-0001"));
        assert_eq!(message.text, None);

        let removed = include_str!("../fixtures/reaction.json")
            .replace(",\n                  \"emoji\": \"\u{1F44D}\"", "");
        assert!(!removed.contains("emoji"));
        assert_eq!(message_from(&removed).reaction.as_deref(), Some(""));
    }

    fn message_from(body: &str) -> InboundMessage {
        message(body.as_bytes())
    }

    #[test]
    fn system_messages_have_no_contact() {
        let message = message(include_bytes!("../fixtures/system.json"));
        assert_eq!(message.customer_id, CUSTOMER);
        assert_eq!(message.profile, None);
        assert_eq!(
            message.text.as_deref(),
            Some("User Jonas Beispiel changed from 4915112345678 to 4915187654321")
        );
        assert_eq!(message.kind, MessageKind::Direct);
    }

    #[test]
    fn unsupported_messages_arrive_empty() {
        let message = message(include_bytes!("../fixtures/unsupported.json"));
        assert_eq!(message.id, "wamid.FIXTURE-IN-0010");
        assert_eq!((message.text, message.attachments), (None, Vec::new()));
        assert_eq!(message.profile, profile("Jonas Beispiel"));
    }

    #[test]
    fn statuses_become_receipts_keyed_by_our_wamid() {
        for (body, status, ms) in [
            (
                &include_bytes!("../fixtures/status-sent.json")[..],
                DeliveryStatus::Sent,
                1_790_000_390_000,
            ),
            (
                include_bytes!("../fixtures/status-delivered.json"),
                DeliveryStatus::Delivered,
                1_790_000_400_000,
            ),
            (
                include_bytes!("../fixtures/status-read.json"),
                DeliveryStatus::Read,
                1_790_000_410_000,
            ),
        ] {
            assert_eq!(
                receipt(body),
                Receipt {
                    message_id: "wamid.FIXTURE-OUT-0001".into(),
                    customer_id: CUSTOMER.into(),
                    status,
                    reason: None,
                    timestamp_ms: ms,
                }
            );
        }
        assert_eq!(
            receipt(include_bytes!("../fixtures/status-failed.json")),
            Receipt {
                message_id: "wamid.FIXTURE-OUT-0002".into(),
                customer_id: CUSTOMER.into(),
                status: DeliveryStatus::Failed,
                reason: Some("131047: Re-engagement message".into()),
                timestamp_ms: 1_790_090_000_000,
            }
        );
    }

    #[test]
    fn other_numbers_are_ignored() {
        let body = include_bytes!("../fixtures/text.json");
        assert_eq!(decode(body, "500000000000099").unwrap(), Vec::new());
        let statuses = include_bytes!("../fixtures/status-failed.json");
        assert_eq!(decode(statuses, "500000000000099").unwrap(), Vec::new());
    }

    #[test]
    fn batches_give_every_event_in_order() {
        let body = r#"{"object":"whatsapp_business_account","entry":[
            {"id":"1","changes":[
                {"field":"messages","value":{"messaging_product":"whatsapp",
                  "metadata":{"display_phone_number":"15550001111","phone_number_id":"500000000000002"},
                  "contacts":[{"profile":{"name":"A"},"wa_id":"491"},{"profile":{"name":"B"},"wa_id":"492"}],
                  "messages":[
                    {"from":"492","id":"wamid.B","timestamp":"1790000001","type":"text","text":{"body":"b"}},
                    {"from":"491","id":"wamid.A","timestamp":1790000002,"type":"text","text":{"body":"a"}}],
                  "statuses":[{"id":"wamid.OUT","status":"deleted","timestamp":"1790000003","recipient_id":"491"}]}},
                {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]},
            {"id":"2","changes":[
                {"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},
                  "statuses":[{"id":"wamid.OUT","status":"read","timestamp":"1790000004","recipient_id":"491","future":1}]}}]}]}"#;
        let events = decode(body.as_bytes(), NUMBER).unwrap();
        assert_eq!(events.len(), 3, "{events:?}");
        let InboundEvent::Message(b) = &events[0] else {
            panic!()
        };
        assert_eq!(
            (b.customer_id.as_str(), b.profile.clone()),
            ("492", profile("B"))
        );
        let InboundEvent::Message(a) = &events[1] else {
            panic!()
        };
        assert_eq!(
            (a.text.as_deref(), a.timestamp_ms),
            (Some("a"), 1_790_000_002_000)
        );
        assert_eq!(a.profile, profile("A"));
        assert!(matches!(&events[2], InboundEvent::Receipt(r) if r.status == DeliveryStatus::Read));
    }

    #[test]
    fn unknown_objects_fields_and_kinds_give_no_events() {
        for body in [
            r#"{"object":"page","entry":[{"id":"1","messaging":[]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},"messages":[{"from":"491","id":"wamid.O","timestamp":"1","type":"order","order":{}}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},"messages":[{"from":"491","id":"wamid.I","timestamp":"1","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{}}}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},"errors":[{"code":131000,"title":"Something went wrong"}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[]}"#,
        ] {
            assert_eq!(
                decode(body.as_bytes(), NUMBER).unwrap(),
                Vec::new(),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_bodies_say_where() {
        assert!(malformed("not json").starts_with("the body is not valid JSON"));
        assert!(malformed("").contains("empty"));
        assert!(
            malformed(r#"{"object":"whatsapp_business_account","entry":{}}"#)
                .starts_with("the JSON body has an unexpected shape")
        );
        let no_metadata = r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}"#;
        assert_eq!(
            malformed(no_metadata),
            "`entry[0].changes[0].value`: missing field `metadata`"
        );
        let no_from = r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},"messages":[{"id":"wamid.X","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}"#;
        assert_eq!(
            malformed(no_from),
            "`entry[0].changes[0].value.messages[0]`: missing field `from`"
        );
        let no_object = no_from.replace(r#""text":{"body":"hi"}"#, r#""from":"491""#);
        assert_eq!(
            malformed(&no_object),
            "`entry[0].changes[0].value.messages[0]`: missing field `text`"
        );
        let bad_time = no_from.replace(r#""timestamp":"1""#, r#""from":"491","timestamp":"soon""#);
        assert_eq!(
            malformed(&bad_time),
            "`entry[0].changes[0].value.messages[0].timestamp` must be epoch seconds"
        );
        let image_without_object = no_from.replace(
            r#""type":"text","text":{"body":"hi"}"#,
            r#""from":"491","type":"image""#,
        );
        assert_eq!(
            malformed(&image_without_object),
            "`entry[0].changes[0].value.messages[0]`: missing field `image`"
        );
        let status_without_id = r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"500000000000002"},"statuses":[{"status":"read","timestamp":"1","recipient_id":"491"}]}}]}]}"#;
        assert_eq!(
            malformed(status_without_id),
            "`entry[0].changes[0].value.statuses[0]`: missing field `id`"
        );
    }
}
