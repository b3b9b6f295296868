//! Decoding Messenger (`object: "page"`) and Instagram (`object: "instagram"`) webhook bodies
//! into normalized events (reference §4.1, §5.1).
//!
//! Both deliver `entry[]` (one per Page / Instagram account), each with `messaging[]` events of
//! one kind each: `message`, `postback`, `delivery`, `read`, `reaction`, and others (referral,
//! optin, …) that are ignored. Echoes of the business's own sends (`message.is_echo`), entries
//! of another Page subscribed to the same app, `standby[]` (threads another app owns) and
//! Instagram comment `changes[]` give no events.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, DeliveryStatus, InboundEvent, InboundMessage,
    MessageKind, ReadMarker, Receipt, json, log, time,
};

use crate::Platform;

/// Decode one webhook body for the Page or Instagram account `page_id`.
pub fn decode(
    body: &[u8],
    platform: Platform,
    page_id: &str,
) -> Result<Vec<InboundEvent>, AdapterError> {
    let envelope: Envelope = json::parse(body)?;
    let object = envelope.object.unwrap_or_default();
    if object != platform.object() {
        return Err(AdapterError::Malformed(format!(
            "this integration serves {} (object `{}`), not object `{object}`",
            platform.name(),
            platform.object()
        )));
    }
    let mut events = Vec::new();
    for (e, entry) in envelope.entry.into_iter().enumerate() {
        let path = format!("entry[{e}]");
        let entry: Entry = field(entry, &path)?;
        let entry_id = entry.id.map(Id::into_string).unwrap_or_default();
        if entry_id != page_id {
            log::warn(&format!(
                "ignoring {path} for account {entry_id:?}; this integration serves {page_id}"
            ));
            continue;
        }
        if !entry.standby.is_empty() {
            log::debug(&format!(
                "ignoring {} standby event(s): another app owns those threads",
                entry.standby.len()
            ));
        }
        if !entry.changes.is_empty() {
            log::debug(&format!(
                "ignoring {} change(s) (comments and other feed fields)",
                entry.changes.len()
            ));
        }
        for (m, raw) in entry.messaging.into_iter().enumerate() {
            let path = format!("{path}.messaging[{m}]");
            let event: Event = field(raw, &path)?;
            decode_event(event, entry.time, page_id, &path, &mut events)?;
        }
    }
    Ok(events)
}

#[derive(Deserialize)]
struct Envelope {
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Value>,
}

#[derive(Deserialize)]
struct Entry {
    id: Option<Id>,
    time: Option<u64>,
    #[serde(default)]
    messaging: Vec<Value>,
    #[serde(default)]
    standby: Vec<Value>,
    #[serde(default)]
    changes: Vec<Value>,
}

/// Meta ids are strings; a number is accepted too rather than failing a whole batch on it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(text) => text,
            Id::Number(number) => number.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Event {
    sender: Option<Party>,
    timestamp: Option<u64>,
    message: Option<Message>,
    postback: Option<Postback>,
    delivery: Option<Delivery>,
    read: Option<Read>,
    reaction: Option<Reaction>,
}

#[derive(Deserialize)]
struct Party {
    id: Option<Id>,
}

#[derive(Deserialize)]
struct Message {
    mid: String,
    text: Option<String>,
    quick_reply: Option<QuickReply>,
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
}

#[derive(Deserialize)]
struct QuickReply {
    payload: Option<String>,
}

/// Messenger: `{mid, is_self_reply?}`; Instagram also `{story: {url, id}}` for story replies.
#[derive(Deserialize)]
struct ReplyTo {
    mid: Option<String>,
    story: Option<Story>,
}

#[derive(Deserialize)]
struct Story {
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawAttachment {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// `{url}` for media; fallback attachments may have none.
    payload: Option<Value>,
    /// Fallback (shared link) attachments carry a title and URL beside the payload.
    title: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    watermark: Option<u64>,
}

/// Messenger: `{watermark}`; Instagram `messaging_seen`: `{mid}` (shape unconfirmed, §8.10).
#[derive(Deserialize)]
struct Read {
    watermark: Option<u64>,
    mid: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    mid: String,
    emoji: Option<String>,
    /// `smile|angry|sad|wow|love|like|dislike|other`: the name when `emoji` is missing.
    reaction: Option<String>,
    action: Option<String>,
}

fn decode_event(
    event: Event,
    entry_time: Option<u64>,
    page_id: &str,
    path: &str,
    events: &mut Vec<InboundEvent>,
) -> Result<(), AdapterError> {
    let Some(customer) = event
        .sender
        .and_then(|sender| sender.id)
        .map(Id::into_string)
    else {
        // `sender.user_ref` (checkbox / marketing flows) names no conversation partner.
        log::debug(&format!("ignoring {path}: it has no sender.id"));
        return Ok(());
    };
    let timestamp_ms = event.timestamp.or(entry_time).unwrap_or_else(time::now_ms);

    if let Some(message) = event.message {
        if message.is_echo || customer == page_id {
            return Ok(()); // the business's own message
        }
        if message.is_deleted {
            log::debug(&format!(
                "ignoring {path}: message {} was deleted",
                message.mid
            ));
            return Ok(());
        }
        let mut attachments: Vec<Attachment> =
            message.attachments.into_iter().map(attachment).collect();
        if message.is_unsupported && attachments.is_empty() {
            // A GIF or sticker Instagram cannot deliver: show the agent that something came.
            attachments.push(bare_attachment(AttachmentKind::Other, None));
        }
        let text = message.text.filter(|text| !text.is_empty());
        let quick_reply = message.quick_reply.and_then(|reply| reply.payload);
        if text.is_none() && attachments.is_empty() && quick_reply.is_none() {
            log::debug(&format!(
                "ignoring {path}: message {} has no content",
                message.mid
            ));
            return Ok(());
        }
        events.push(InboundEvent::Message(InboundMessage {
            id: message.mid,
            customer_id: customer,
            timestamp_ms,
            text,
            attachments,
            quick_reply,
            profile: None,
            kind: MessageKind::Direct,
            reply_to: message
                .reply_to
                .and_then(|reply| reply.mid.or_else(|| reply.story.and_then(|story| story.id))),
            reaction: None,
        }));
    } else if let Some(postback) = event.postback {
        events.push(InboundEvent::Message(InboundMessage {
            // `mid` is missing on older API versions; the sender and time identify the tap.
            id: postback
                .mid
                .unwrap_or_else(|| format!("postback:{customer}:{timestamp_ms}")),
            customer_id: customer,
            timestamp_ms,
            text: postback.title.filter(|title| !title.is_empty()),
            attachments: Vec::new(),
            quick_reply: postback.payload,
            profile: None,
            kind: MessageKind::Postback,
            reply_to: None,
            reaction: None,
        }));
    } else if let Some(reaction) = event.reaction {
        let removed = reaction.action.as_deref() == Some("unreact");
        let emoji = if removed {
            String::new()
        } else {
            reaction.emoji.or(reaction.reaction).unwrap_or_default()
        };
        events.push(InboundEvent::Message(InboundMessage {
            // A reaction has no mid of its own; the message, the customer and the time name it.
            id: format!("reaction:{}:{customer}:{timestamp_ms}", reaction.mid),
            customer_id: customer,
            timestamp_ms,
            text: None,
            attachments: Vec::new(),
            quick_reply: None,
            profile: None,
            kind: MessageKind::Reaction,
            reply_to: Some(reaction.mid),
            reaction: Some(emoji),
        }));
    } else if let Some(delivery) = event.delivery {
        // The delivery example has no `timestamp`; the watermark is when delivery was known.
        let at = event
            .timestamp
            .or(delivery.watermark)
            .unwrap_or(timestamp_ms);
        if delivery.mids.is_empty() {
            // "Everything before the watermark is delivered": the contract has no delivery
            // watermark, and a read marker would claim more than Meta said.
            log::debug(&format!(
                "ignoring {path}: a delivery watermark without mids names no message"
            ));
        }
        events.extend(delivery.mids.into_iter().map(|mid| {
            InboundEvent::Receipt(Receipt {
                message_id: mid,
                customer_id: customer.clone(),
                status: DeliveryStatus::Delivered,
                reason: None,
                timestamp_ms: at,
            })
        }));
    } else if let Some(read) = event.read {
        events.push(InboundEvent::Read(ReadMarker {
            customer_id: customer,
            // A watermark covers everything sent so far: no single message to name.
            up_to_message_id: read.mid,
            timestamp_ms: event.timestamp.or(read.watermark).unwrap_or(timestamp_ms),
        }));
    } else {
        log::debug(&format!(
            "ignoring {path}: not a message, postback, delivery, read or reaction"
        ));
    }
    Ok(())
}

/// The normalized kind of a Messenger / Instagram attachment `type`.
fn attachment_kind(kind: &str) -> AttachmentKind {
    match kind {
        "image" | "animated_image" => AttachmentKind::Image,
        "video" | "reel" | "ig_reel" => AttachmentKind::Video,
        "audio" => AttachmentKind::Audio,
        "file" => AttachmentKind::File,
        "location" => AttachmentKind::Location,
        "post" | "ig_post" | "share" | "fallback" => AttachmentKind::Link,
        _ => AttachmentKind::Other,
    }
}

fn attachment(raw: RawAttachment) -> Attachment {
    let kind = attachment_kind(raw.kind.as_deref().unwrap_or(""));
    let payload_url = raw
        .payload
        .as_ref()
        .and_then(|payload| payload.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let caption = raw.title.or_else(|| {
        raw.payload
            .as_ref()
            .and_then(|payload| payload.get("title"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    Attachment {
        caption,
        ..bare_attachment(kind, payload_url.or(raw.url))
    }
}

fn bare_attachment(kind: AttachmentKind, url: Option<String>) -> Attachment {
    Attachment {
        kind,
        url,
        media_id: None,
        mime_type: None,
        filename: None,
        caption: None,
    }
}

/// Decode one part of the body, naming where it is when its shape is wrong.
fn field<T: DeserializeOwned>(value: Value, path: &str) -> Result<T, AdapterError> {
    serde_json::from_value(value)
        .map_err(|e| AdapterError::Malformed(format!("{path} has an unexpected shape: {e}")))
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing::only_message;

    use super::*;

    const PAGE: &str = "600000000000003";
    const IG: &str = "17841400000000005";
    const PSID: &str = "7000000000000004";

    fn messenger(body: &[u8]) -> Vec<InboundEvent> {
        decode(body, Platform::Messenger, PAGE).unwrap()
    }

    fn instagram(body: &[u8]) -> Vec<InboundEvent> {
        decode(body, Platform::Instagram, IG).unwrap()
    }

    fn media(kind: AttachmentKind, url: &str) -> Attachment {
        bare_attachment(kind, Some(url.into()))
    }

    #[test]
    fn text_with_quick_reply() {
        let message = only_message(messenger(include_bytes!(
            "../fixtures/messenger-message-text.json"
        )));
        assert_eq!(
            message,
            InboundMessage {
                id: "m_FIXTURE-mid-0001".into(),
                customer_id: PSID.into(),
                timestamp_ms: 1_790_000_000_321,
                text: Some("Where is my order?".into()),
                attachments: Vec::new(),
                quick_reply: Some("QR_ORDER_STATUS".into()),
                profile: None,
                kind: MessageKind::Direct,
                reply_to: None,
                reaction: None,
            }
        );
    }

    #[test]
    fn attachments_of_every_kind() {
        let message = only_message(messenger(include_bytes!(
            "../fixtures/messenger-message-attachments.json"
        )));
        assert_eq!(message.id, "m_FIXTURE-mid-0002");
        assert_eq!(message.text, None);
        assert_eq!(message.reply_to.as_deref(), Some("m_FIXTURE-mid-0101"));
        let base = "https://scontent.example.invalid";
        let mut fallback = bare_attachment(
            AttachmentKind::Link,
            Some("https://shop.example.invalid/p/88-431".into()),
        );
        fallback.caption = Some("Parcel 88-431".into());
        assert_eq!(
            message.attachments,
            [
                media(AttachmentKind::Image, &format!("{base}/fixture.jpg")),
                media(AttachmentKind::Audio, &format!("{base}/fixture.mp4a")),
                media(AttachmentKind::Video, &format!("{base}/fixture.mp4")),
                media(AttachmentKind::File, &format!("{base}/fixture.pdf")),
                media(AttachmentKind::Video, &format!("{base}/reel.mp4")),
                media(AttachmentKind::Video, &format!("{base}/ig-reel.mp4")),
                media(AttachmentKind::Link, &format!("{base}/post")),
                media(AttachmentKind::Link, &format!("{base}/ig-post")),
                fallback,
                bare_attachment(AttachmentKind::Other, None),
            ]
        );
    }

    #[test]
    fn postback() {
        let message = only_message(messenger(include_bytes!(
            "../fixtures/messenger-postback.json"
        )));
        assert_eq!(message.id, "m_FIXTURE-mid-0003");
        assert_eq!(message.kind, MessageKind::Postback);
        assert_eq!(message.text.as_deref(), Some("Talk to an agent"));
        assert_eq!(message.quick_reply.as_deref(), Some("CARE_HELP"));
        assert_eq!(message.timestamp_ms, 1_790_000_002_400);
    }

    #[test]
    fn postback_without_mid_gets_a_stable_id() {
        let body = br#"{"object":"page","entry":[{"id":"600000000000003","time":5,"messaging":[
            {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":1790000002400,
             "postback":{"title":"Start","payload":"GET_STARTED"}}]}]}"#;
        let message = only_message(messenger(body));
        assert_eq!(message.id, "postback:7000000000000004:1790000002400");
        assert_eq!(message.quick_reply.as_deref(), Some("GET_STARTED"));
    }

    #[test]
    fn delivery_mids_become_receipts() {
        let events = messenger(include_bytes!("../fixtures/messenger-delivery.json"));
        assert_eq!(
            events,
            [
                InboundEvent::Receipt(Receipt {
                    message_id: "m_FIXTURE-mid-0100".into(),
                    customer_id: PSID.into(),
                    status: DeliveryStatus::Delivered,
                    reason: None,
                    timestamp_ms: 1_790_000_003_300,
                }),
                InboundEvent::Receipt(Receipt {
                    message_id: "m_FIXTURE-mid-0101".into(),
                    customer_id: PSID.into(),
                    status: DeliveryStatus::Delivered,
                    reason: None,
                    timestamp_ms: 1_790_000_003_300,
                }),
            ]
        );
        let watermark_only = br#"{"object":"page","entry":[{"id":"600000000000003","time":1,"messaging":[
            {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"delivery":{"watermark":1790000003300}}]}]}"#;
        assert_eq!(messenger(watermark_only), []);
    }

    #[test]
    fn read_watermark_becomes_a_read_marker() {
        assert_eq!(
            messenger(include_bytes!("../fixtures/messenger-read.json")),
            [InboundEvent::Read(ReadMarker {
                customer_id: PSID.into(),
                up_to_message_id: None,
                timestamp_ms: 1_790_000_004_400,
            })]
        );
    }

    #[test]
    fn reactions_and_their_removal() {
        let events = messenger(include_bytes!("../fixtures/messenger-reaction.json"));
        let [InboundEvent::Message(react), InboundEvent::Message(unreact)] = events.as_slice()
        else {
            panic!("expected two reactions, got {events:?}");
        };
        assert_eq!(react.kind, MessageKind::Reaction);
        assert_eq!(react.reaction.as_deref(), Some("\u{2764}\u{fe0f}"));
        assert_eq!(react.reply_to.as_deref(), Some("m_FIXTURE-mid-0101"));
        assert_eq!(
            react.id,
            "reaction:m_FIXTURE-mid-0101:7000000000000004:1790000007400"
        );
        assert_eq!(react.text, None);
        assert_eq!(unreact.reaction.as_deref(), Some(""));
        assert_ne!(react.id, unreact.id);
    }

    #[test]
    fn echoes_give_no_events() {
        assert_eq!(
            messenger(include_bytes!("../fixtures/messenger-echo.json")),
            []
        );
        assert_eq!(
            instagram(include_bytes!("../fixtures/instagram-echo.json")),
            []
        );
    }

    #[test]
    fn instagram_message_story_reply_and_unsupported() {
        let message = only_message(instagram(include_bytes!(
            "../fixtures/instagram-message-text.json"
        )));
        assert_eq!(message.id, "aWdfZAG1fixture0001");
        assert_eq!(message.customer_id, "8000000000000006");
        assert_eq!(message.text.as_deref(), Some("Do you ship to Austria?"));
        assert_eq!(message.timestamp_ms, 1_790_000_006_400);

        let events = instagram(include_bytes!("../fixtures/instagram-message-media.json"));
        let [
            InboundEvent::Message(story),
            InboundEvent::Message(image),
            InboundEvent::Message(quick),
            InboundEvent::Message(gif),
        ] = events.as_slice()
        else {
            panic!("expected four messages, got {events:?}");
        };
        assert_eq!(story.reply_to.as_deref(), Some("18000000000000077"));
        assert_eq!(story.text.as_deref(), Some("Do you have this in blue?"));
        assert_eq!(
            image.attachments,
            [media(
                AttachmentKind::Image,
                "https://lookaside.example.invalid/ig-image.jpg"
            )]
        );
        assert_eq!(quick.quick_reply.as_deref(), Some("QR_SIZE_M"));
        assert_eq!(gif.id, "aWdfZAG1fixture0005");
        assert_eq!(
            gif.attachments,
            [bare_attachment(AttachmentKind::Other, None)]
        );
    }

    #[test]
    fn instagram_postback_reaction_and_seen() {
        let events = instagram(include_bytes!("../fixtures/instagram-events.json"));
        let [
            InboundEvent::Message(postback),
            InboundEvent::Message(reaction),
            InboundEvent::Read(seen),
        ] = events.as_slice()
        else {
            panic!("expected a postback, a reaction and a read, got {events:?}");
        };
        assert_eq!(postback.kind, MessageKind::Postback);
        assert_eq!(postback.quick_reply.as_deref(), Some("ICEBREAKER_SHIPPING"));
        assert_eq!(reaction.kind, MessageKind::Reaction);
        assert_eq!(reaction.reaction.as_deref(), Some("love"));
        assert_eq!(
            seen.up_to_message_id.as_deref(),
            Some("aWdfZAG1fixture0100")
        );
    }

    #[test]
    fn the_object_must_be_the_integrations_platform() {
        let page = include_bytes!("../fixtures/messenger-message-text.json");
        assert!(matches!(
            decode(page, Platform::Instagram, IG),
            Err(AdapterError::Malformed(reason)) if reason.contains("object `page`")
        ));
        let ig = include_bytes!("../fixtures/instagram-message-text.json");
        assert!(matches!(
            decode(ig, Platform::Messenger, PAGE),
            Err(AdapterError::Malformed(_))
        ));
        assert!(matches!(
            decode(br#"{"entry":[]}"#, Platform::Messenger, PAGE),
            Err(AdapterError::Malformed(_))
        ));
    }

    #[test]
    fn other_accounts_standby_and_unknown_kinds_are_ignored() {
        let page = include_bytes!("../fixtures/messenger-message-text.json");
        assert_eq!(
            decode(page, Platform::Messenger, "600000000000999").unwrap(),
            []
        );
        let body = br#"{"object":"page","entry":[{"id":"600000000000003","time":1,
            "standby":[{"sender":{"id":"7000000000000004"},"message":{"mid":"m_x","text":"hi"}}],
            "messaging":[
              {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":2,"optin":{"ref":"x"}},
              {"sender":{"user_ref":"ur-1"},"recipient":{"id":"600000000000003"},"timestamp":3,"postback":{"payload":"P"}},
              {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":4,"message":{"mid":"m_del","is_deleted":true}}
            ]}]}"#;
        assert_eq!(messenger(body), []);
    }

    #[test]
    fn several_entries_and_events_are_all_decoded() {
        let body = br#"{"object":"page","entry":[
            {"id":"600000000000003","time":1,"messaging":[
              {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":10,"message":{"mid":"m_1","text":"a"}},
              {"sender":{"id":"7000000000000005"},"recipient":{"id":"600000000000003"},"timestamp":11,"message":{"mid":"m_2","text":"b"}}]},
            {"id":"600000000000003","time":2,"messaging":[
              {"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":12,"message":{"mid":"m_3","text":"c"}}]}]}"#;
        let ids: Vec<String> = messenger(body)
            .into_iter()
            .map(|event| match event {
                InboundEvent::Message(message) => message.id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["m_1", "m_2", "m_3"]);
    }

    #[test]
    fn bad_bodies_are_malformed() {
        for body in [
            &b""[..],
            b"not json",
            br#"{"object":"page","entry":{}}"#,
            br#"{"object":"page","entry":[{"id":"600000000000003","messaging":[{"sender":{"id":"7"},"message":{"text":"no mid"}}]}]}"#,
            br#"{"object":"page","entry":[{"id":"600000000000003","messaging":[{"sender":{"id":"7"},"timestamp":"soon","message":{"mid":"m"}}]}]}"#,
        ] {
            assert!(
                matches!(decode(body, Platform::Messenger, PAGE), Err(AdapterError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let Err(AdapterError::Malformed(reason)) = decode(
            br#"{"object":"page","entry":[{"id":"600000000000003","messaging":[{"sender":{"id":"7"},"message":{"text":"no mid"}}]}]}"#,
            Platform::Messenger,
            PAGE,
        ) else {
            panic!("expected malformed");
        };
        assert!(reason.contains("entry[0].messaging[0]"), "{reason}");
        assert!(reason.contains("mid"), "{reason}");
    }
}
