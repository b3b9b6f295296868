//! Decoding of X's webhook bodies into normalized events.
//!
//! X delivers direct-message activity in two envelopes that share the v1.1 event shapes:
//!
//! - the Account Activity API (AAA): `{for_user_id, direct_message_events[],
//!   direct_message_indicate_typing_events[], direct_message_mark_read_events[], users{}, apps{}}`,
//!   with `users` mapping ids to v1.1 user objects;
//! - the X Activity API (XAA): `{data: {event_type: "dm.received", filter: {user_id}, payload:
//!   {direct_message_events[], users{}}}}`, with `users` mapping ids to `{data: <v2 user>}`.
//!
//! Besides DMs, typing indicators and read markers, the AAA envelope carries public activity:
//! `tweet_create_events` (posts that mention the account become [`MessageKind::Mention`]) and
//! `favorite_events` (likes of the account's posts become [`MessageKind::Like`]); see
//! [`crate::posts`].
//!
//! The business account's own messages, posts and likes come back as events too (echoes); they are
//! dropped, as are events meant for another account subscribed to the same app and every other
//! activity kind (follows, blocks, mutes, deletions, revocations, encrypted XChat events…).

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, InboundEvent, InboundMessage, MessageKind, Profile,
    ReadMarker, Typing, json, log,
};

use crate::posts;

/// The XAA event types whose payload carries the AAA event arrays. Only `dm.received` has a
/// documented payload; `dm.read` and `dm.indicate_typing` are decoded the same way in case they
/// use the AAA arrays, and yield nothing otherwise. `dm.sent` is the account's own messages.
const XAA_DM_EVENT_TYPES: [&str; 3] = ["dm.received", "dm.read", "dm.indicate_typing"];

/// Decode one webhook body for the business account `account_id` into its events.
///
/// Unknown activity kinds give no events (X must still get its `200`); a body that is not JSON or
/// lacks a field the events need is [`AdapterError::Malformed`], naming the field.
pub fn decode(body: &[u8], account_id: &str) -> Result<Vec<InboundEvent>, AdapterError> {
    let envelope: Envelope = json::parse(body)?;
    match envelope.data {
        Some(data) => decode_xaa(data, account_id),
        None => decode_activity(
            envelope.activity,
            envelope.for_user_id.as_deref(),
            account_id,
            "",
        ),
    }
}

/// The top level of either envelope: AAA puts its arrays here, XAA nests everything in `data`.
#[derive(Deserialize)]
struct Envelope {
    for_user_id: Option<String>,
    data: Option<XaaData>,
    #[serde(flatten)]
    activity: Activity,
}

#[derive(Deserialize)]
struct XaaData {
    event_type: Option<String>,
    filter: Option<XaaFilter>,
    payload: Option<Activity>,
}

#[derive(Deserialize)]
struct XaaFilter {
    user_id: Option<String>,
}

/// The event arrays and the sender profiles, as both envelopes carry them.
#[derive(Deserialize, Default)]
struct Activity {
    direct_message_events: Option<Vec<Value>>,
    direct_message_indicate_typing_events: Option<Vec<Value>>,
    direct_message_mark_read_events: Option<Vec<Value>>,
    tweet_create_events: Option<Vec<Value>>,
    favorite_events: Option<Vec<Value>>,
    users: Option<HashMap<String, Value>>,
}

#[derive(Deserialize)]
struct DmEvent {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    created_timestamp: Timestamp,
    message_create: Option<MessageCreate>,
}

#[derive(Deserialize)]
struct MessageCreate {
    sender_id: String,
    #[serde(default)]
    message_data: MessageData,
}

#[derive(Deserialize, Default)]
struct MessageData {
    text: Option<String>,
    entities: Option<Entities>,
    quick_reply_response: Option<QuickReplyResponse>,
    attachment: Option<DmAttachment>,
}

/// The entities of a DM or a post. Only the links matter here: `hashtags`, `symbols` and
/// `user_mentions` repeat what the text says (mentions are read by [`crate::posts`]).
#[derive(Deserialize, Default)]
pub(crate) struct Entities {
    pub urls: Option<Vec<UrlEntity>>,
    pub user_mentions: Option<Vec<MentionEntity>>,
    pub media: Option<Vec<Media>>,
}

/// A t.co-wrapped link: `url` is what the text shows, `expanded_url` where it leads.
#[derive(Deserialize)]
pub(crate) struct UrlEntity {
    url: Option<String>,
    expanded_url: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct MentionEntity {
    pub id_str: Option<String>,
}

#[derive(Deserialize)]
struct QuickReplyResponse {
    metadata: Option<String>,
}

#[derive(Deserialize)]
struct DmAttachment {
    #[serde(rename = "type")]
    kind: Option<String>,
    media: Option<Media>,
}

/// The v1.1 media entity (the reference's field set for webhooks is unconfirmed). `url` is the
/// t.co link X appends to the text for it.
#[derive(Deserialize, Clone)]
pub(crate) struct Media {
    id_str: Option<String>,
    media_url_https: Option<String>,
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct TypingEvent {
    sender_id: String,
    created_timestamp: Timestamp,
}

#[derive(Deserialize)]
struct ReadEvent {
    sender_id: String,
    created_timestamp: Timestamp,
    last_read_event_id: Option<String>,
}

/// `created_timestamp` / `timestamp_ms`: epoch milliseconds, as a string in every documented DM
/// payload and a number in `favorite_events`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Timestamp {
    Text(String),
    Number(u64),
}

fn decode_xaa(data: XaaData, account_id: &str) -> Result<Vec<InboundEvent>, AdapterError> {
    let event_type = data.event_type.unwrap_or_default();
    if !XAA_DM_EVENT_TYPES.contains(&event_type.as_str()) {
        log::debug(&format!("ignoring X activity event `{event_type}`"));
        return Ok(Vec::new());
    }
    let for_user = data.filter.and_then(|filter| filter.user_id);
    let activity = data.payload.unwrap_or_default();
    decode_activity(activity, for_user.as_deref(), account_id, "data.payload.")
}

/// Decode the event arrays. `prefix` is where they sit in the body, for error messages.
fn decode_activity(
    activity: Activity,
    for_user_id: Option<&str>,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<InboundEvent>, AdapterError> {
    if let Some(owner) = for_user_id.filter(|owner| *owner != account_id) {
        // One app webhook serves every account subscribed to it; this delivery is another one's.
        log::warn(&format!(
            "ignoring X events for account {owner}; this integration serves account {account_id}"
        ));
        return Ok(Vec::new());
    }
    let users = activity.users.unwrap_or_default();
    let mut events = Vec::new();

    for (index, raw) in activity
        .direct_message_events
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("{prefix}direct_message_events[{index}]");
        let event: DmEvent = field(raw, &path)?;
        if event.kind != "message_create" {
            log::debug(&format!("ignoring X DM event of type `{}`", event.kind));
            continue;
        }
        let create = event
            .message_create
            .ok_or_else(|| missing(&path, "message_create"))?;
        if create.sender_id == account_id {
            continue; // an echo of the business account's own message
        }
        let data = create.message_data;
        let media = data.attachment.map(attachment);
        // X appends the media's t.co link to the text and lists it among the links too.
        let media_link = media.as_ref().and_then(|(_, link)| link.clone());
        let mut attachments: Vec<Attachment> = media.into_iter().map(|(a, _)| a).collect();
        attachments.extend(links(data.entities.as_ref(), media_link.as_deref()));
        events.push(InboundEvent::Message(InboundMessage {
            id: event.id,
            timestamp_ms: epoch_ms(&event.created_timestamp, &path)?,
            text: data.text.filter(|text| !text.is_empty()),
            attachments,
            quick_reply: data.quick_reply_response.and_then(|reply| reply.metadata),
            profile: users.get(&create.sender_id).map(profile),
            kind: MessageKind::Direct,
            reply_to: None,
            reaction: None,
            customer_id: create.sender_id,
        }));
    }

    let typing = activity.direct_message_indicate_typing_events;
    for (index, raw) in typing.into_iter().flatten().enumerate() {
        let path = format!("{prefix}direct_message_indicate_typing_events[{index}]");
        let event: TypingEvent = field(raw, &path)?;
        if event.sender_id != account_id {
            events.push(InboundEvent::Typing(Typing {
                timestamp_ms: epoch_ms(&event.created_timestamp, &path)?,
                customer_id: event.sender_id,
            }));
        }
    }

    let reads = activity.direct_message_mark_read_events;
    for (index, raw) in reads.into_iter().flatten().enumerate() {
        let path = format!("{prefix}direct_message_mark_read_events[{index}]");
        let event: ReadEvent = field(raw, &path)?;
        if event.sender_id != account_id {
            events.push(InboundEvent::Read(ReadMarker {
                timestamp_ms: epoch_ms(&event.created_timestamp, &path)?,
                customer_id: event.sender_id,
                up_to_message_id: event.last_read_event_id,
            }));
        }
    }

    let tweets = activity.tweet_create_events.unwrap_or_default();
    events.extend(posts::mentions(tweets, account_id, prefix)?);
    let likes = activity.favorite_events.unwrap_or_default();
    events.extend(posts::likes(likes, account_id, prefix)?);

    Ok(events)
}

/// Decode one array element, prefixing serde's message (``missing field `sender_id` ``) with
/// where the element sits in the body.
pub(crate) fn field<T: DeserializeOwned>(raw: Value, path: &str) -> Result<T, AdapterError> {
    serde_json::from_value(raw).map_err(|e| AdapterError::Malformed(format!("`{path}`: {e}")))
}

pub(crate) fn missing(path: &str, name: &str) -> AdapterError {
    AdapterError::Malformed(format!("`{path}`: missing field `{name}`"))
}

fn epoch_ms(timestamp: &Timestamp, path: &str) -> Result<u64, AdapterError> {
    epoch_ms_of(timestamp, &format!("{path}.created_timestamp"))
}

/// `timestamp` as epoch milliseconds; `field` is its full path, for the error.
pub(crate) fn epoch_ms_of(timestamp: &Timestamp, field: &str) -> Result<u64, AdapterError> {
    match timestamp {
        Timestamp::Number(ms) => Ok(*ms),
        Timestamp::Text(text) => text.trim().parse().map_err(|_| {
            AdapterError::Malformed(format!(
                "`{field}` must be epoch milliseconds, not {text:?}"
            ))
        }),
    }
}

/// The DM's attachment and the t.co link X shows for it in the text.
fn attachment(attachment: DmAttachment) -> (Attachment, Option<String>) {
    match attachment.media {
        Some(media) if attachment.kind.as_deref() != Some("location") => media_attachment(media),
        media => {
            let kind = match attachment.kind.as_deref() {
                Some("location") => AttachmentKind::Location,
                _ => AttachmentKind::Other,
            };
            let link = media.as_ref().and_then(|m| m.url.clone());
            let (url, media_id) = media.map_or((None, None), |m| (m.media_url_https, m.id_str));
            (
                Attachment {
                    kind,
                    url,
                    media_id,
                    mime_type: None,
                    filename: None,
                    caption: None,
                },
                link,
            )
        }
    }
}

/// A media entity (of a DM or a post) and its t.co link.
pub(crate) fn media_attachment(media: Media) -> (Attachment, Option<String>) {
    let kind = match media.kind.as_deref() {
        Some("photo") => AttachmentKind::Image,
        // An animated GIF is delivered as an MP4 video.
        Some("video" | "animated_gif") => AttachmentKind::Video,
        _ => AttachmentKind::Other,
    };
    (
        Attachment {
            kind,
            url: media.media_url_https,
            media_id: media.id_str,
            mime_type: None,
            filename: None,
            caption: None,
        },
        media.url,
    )
}

/// The links in `entities.urls` as [`AttachmentKind::Link`] attachments pointing where the t.co
/// link leads (the text keeps the t.co form, as the customer wrote it). `skip` is a t.co link that
/// stands for a media attachment already listed.
pub(crate) fn links(entities: Option<&Entities>, skip: Option<&str>) -> Vec<Attachment> {
    let urls = entities.and_then(|entities| entities.urls.as_deref());
    urls.unwrap_or_default()
        .iter()
        .filter(|entity| skip.is_none() || entity.url.as_deref() != skip)
        .filter_map(|entity| {
            let target = entity.expanded_url.as_ref().or(entity.url.as_ref())?;
            Some(Attachment {
                kind: AttachmentKind::Link,
                url: Some(target.clone()),
                media_id: None,
                mime_type: None,
                filename: None,
                caption: None,
            })
        })
        .collect()
}

/// The sender's profile from the `users` map: a v1.1 user object (AAA) or `{data: <v2 user>}`
/// (XAA), also the `user` of a post or a like (v1.1). Fields that are absent or of another type are
/// left out rather than refused.
pub(crate) fn profile(user: &Value) -> Profile {
    match user.get("data") {
        Some(v2) if v2.is_object() => Profile {
            display_name: text(v2, "name"),
            handle: handle(v2, "username"),
            verified: v2.get("verified").and_then(Value::as_bool),
            followers: count(v2, "/public_metrics/followers_count"),
            posts: count(v2, "/public_metrics/tweet_count"),
            avatar_url: text(v2, "profile_image_url"),
            email: text(v2, "confirmed_email"),
        },
        _ => Profile {
            display_name: text(user, "name"),
            handle: handle(user, "screen_name"),
            verified: user.get("verified").and_then(Value::as_bool),
            followers: count(user, "/followers_count"),
            posts: count(user, "/statuses_count"),
            avatar_url: text(user, "profile_image_url_https"),
            email: text(user, "email"),
        },
    }
}

fn text(object: &Value, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

fn handle(object: &Value, key: &str) -> Option<String> {
    text(object, key).map(|handle| handle.trim_start_matches('@').to_owned())
}

fn count(object: &Value, pointer: &str) -> Option<u64> {
    object.pointer(pointer).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing;

    use super::*;

    const ACCOUNT: &str = "1500000000000000001";
    const CUSTOMER: &str = "1500000000000000777";

    fn decoded(body: &[u8]) -> Vec<InboundEvent> {
        decode(body, ACCOUNT).expect("the body should decode")
    }

    fn malformed(body: &[u8]) -> String {
        testing::malformed(decode(body, ACCOUNT))
    }

    #[test]
    fn decodes_an_aaa_message_with_profile_attachment_and_quick_reply() {
        let events = decoded(include_bytes!("../fixtures/aaa-message.json"));
        assert_eq!(
            events,
            vec![InboundEvent::Message(InboundMessage {
                id: "1800000000000000101".into(),
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_000_123,
                text: Some("Hi, my parcel 88-431 has not arrived https://t.co/AbCdEf1234".into()),
                attachments: vec![
                    Attachment {
                        kind: AttachmentKind::Image,
                        url: Some("https://ton.example.invalid/dm/1800000000000000555.jpg".into()),
                        media_id: Some("1800000000000000555".into()),
                        mime_type: None,
                        filename: None,
                        caption: None,
                    },
                    Attachment {
                        // `entities.urls`: where the t.co link in the text leads.
                        kind: AttachmentKind::Link,
                        url: Some("https://tracking.example.invalid/88-431".into()),
                        media_id: None,
                        mime_type: None,
                        filename: None,
                        caption: None,
                    }
                ],
                quick_reply: Some("opt_track_parcel".into()),
                profile: Some(Profile {
                    display_name: Some("Dana Customer".into()),
                    handle: Some("dana_fixture".into()),
                    verified: Some(false),
                    followers: Some(12),
                    posts: Some(300),
                    avatar_url: Some("https://pbs.example.invalid/p/dana_normal.jpg".into()),
                    email: None,
                }),
                kind: MessageKind::Direct,
                reply_to: None,
                reaction: None,
            })]
        );
    }

    #[test]
    fn decodes_an_xaa_dm_received() {
        let events = decoded(include_bytes!("../fixtures/xaa-dm-received.json"));
        assert_eq!(
            events,
            vec![InboundEvent::Message(InboundMessage {
                id: "1800000000000000102".into(),
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_001_000,
                text: Some("still waiting…".into()),
                attachments: Vec::new(),
                quick_reply: None,
                profile: Some(Profile {
                    display_name: Some("Dana Customer".into()),
                    handle: Some("dana_fixture".into()),
                    verified: Some(false),
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
    fn decodes_typing_and_read_markers() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/aaa-typing.json")),
            vec![InboundEvent::Typing(Typing {
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_000_456,
            })]
        );
        assert_eq!(
            decoded(include_bytes!("../fixtures/aaa-read.json")),
            vec![InboundEvent::Read(ReadMarker {
                customer_id: CUSTOMER.into(),
                up_to_message_id: Some("1800000000000000100".into()),
                timestamp_ms: 1_790_000_000_789,
            })]
        );
    }

    #[test]
    fn drops_echoes_of_the_business_account() {
        let body = String::from_utf8(include_bytes!("../fixtures/aaa-message.json").to_vec())
            .unwrap()
            .replace(
                r#""sender_id": "1500000000000000777""#,
                r#""sender_id": "1500000000000000001""#,
            );
        assert!(body.contains(r#""sender_id": "1500000000000000001""#));
        assert_eq!(decoded(body.as_bytes()), Vec::new());

        let typing =
            br#"{"for_user_id":"1500000000000000001","direct_message_indicate_typing_events":[
            {"created_timestamp":"1790000000456","sender_id":"1500000000000000001"}]}"#;
        assert_eq!(decoded(typing), Vec::new());
        let read = br#"{"for_user_id":"1500000000000000001","direct_message_mark_read_events":[
            {"created_timestamp":"1790000000789","sender_id":"1500000000000000001","last_read_event_id":"1"}]}"#;
        assert_eq!(decoded(read), Vec::new());
    }

    #[test]
    fn ignores_other_activity_and_other_accounts() {
        for body in [
            &br#"{"for_user_id":"1500000000000000001","direct_message_events":[]}"#[..],
            br#"{"for_user_id":"1500000000000000001","tweet_create_events":[{"id_str":"1","text":"hi","user":{"id_str":"7"}}]}"#,
            br#"{"for_user_id":"1500000000000000001","follow_events":[{"type":"follow"}]}"#,
            br#"{"user_event":{"revoke":{"date_time":"2026-09-01T10:00:00Z"}}}"#,
            br#"{"for_user_id":"1500000000000000001","direct_message_events":[
                {"type":"welcome_message","id":"1","created_timestamp":"1"}]}"#,
            br#"{"data":{"event_type":"profile.update.bio","filter":{"user_id":"1500000000000000001"},"payload":{}}}"#,
            br#"{"data":{"event_type":"chat.received","payload":{"id":"u","encoded_event":"e"}}}"#,
        ] {
            assert_eq!(decoded(body), Vec::new(), "{}", String::from_utf8_lossy(body));
        }

        let other_account =
            String::from_utf8(include_bytes!("../fixtures/aaa-message.json").to_vec())
                .unwrap()
                .replacen("1500000000000000001", "1500000000000000999", 1);
        assert_eq!(decoded(other_account.as_bytes()), Vec::new());
        let xaa_other =
            String::from_utf8(include_bytes!("../fixtures/xaa-dm-received.json").to_vec())
                .unwrap()
                .replacen(
                    r#""user_id": "1500000000000000001""#,
                    r#""user_id": "9""#,
                    1,
                );
        assert_eq!(decoded(xaa_other.as_bytes()), Vec::new());
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        assert_eq!(malformed(b""), "the body is empty; expected JSON");
        assert!(malformed(b"{\"for_user_id\":").starts_with("the body is not valid JSON"));
        assert!(malformed(b"[1, 2]").starts_with("the JSON body has an unexpected shape"));

        let no_sender = br#"{"for_user_id":"1500000000000000001","direct_message_events":[
            {"type":"message_create","id":"1","created_timestamp":"1790000000123",
             "message_create":{"message_data":{"text":"hi"}}}]}"#;
        let reason = malformed(no_sender);
        assert!(reason.contains("`direct_message_events[0]`"), "{reason}");
        assert!(reason.contains("missing field `sender_id`"), "{reason}");

        let no_create = br#"{"direct_message_events":[
            {"type":"message_create","id":"1","created_timestamp":"1790000000123"}]}"#;
        assert_eq!(
            malformed(no_create),
            "`direct_message_events[0]`: missing field `message_create`"
        );

        let no_id =
            br#"{"direct_message_events":[{"type":"message_create","created_timestamp":"1"}]}"#;
        assert!(malformed(no_id).contains("missing field `id`"));

        let bad_time = br#"{"direct_message_events":[{"type":"message_create","id":"1",
            "created_timestamp":"yesterday","message_create":{"sender_id":"7"}}]}"#;
        assert_eq!(
            malformed(bad_time),
            "`direct_message_events[0].created_timestamp` must be epoch milliseconds, not \"yesterday\""
        );

        let xaa = br#"{"data":{"event_type":"dm.received","payload":{"direct_message_events":[
            {"type":"message_create","id":"1","message_create":{"sender_id":"7"}}]}}}"#;
        let reason = malformed(xaa);
        assert!(
            reason.starts_with("`data.payload.direct_message_events[0]`"),
            "{reason}"
        );
        assert!(
            reason.contains("missing field `created_timestamp`"),
            "{reason}"
        );

        let typing = br#"{"direct_message_indicate_typing_events":[{"created_timestamp":"1"}]}"#;
        assert!(malformed(typing).contains("missing field `sender_id`"));
    }

    #[test]
    fn media_links_are_not_repeated_as_links() {
        let body = br#"{"direct_message_events":[{"type":"message_create","id":"6",
            "created_timestamp":"1790000000999","message_create":{"sender_id":"7",
            "message_data":{"text":"label https://t.co/M1 see https://t.co/L1",
            "entities":{"urls":[
                {"url":"https://t.co/M1","expanded_url":"https://x.com/messages/media/6"},
                {"url":"https://t.co/L1","expanded_url":"https://shop.example.invalid/returns"}]},
            "attachment":{"type":"media","media":{"id_str":"55","url":"https://t.co/M1",
                "media_url_https":"https://ton.example.invalid/dm/55.png","type":"photo"}}}}}]}"#;
        let events = decoded(body);
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one message, got {events:?}");
        };
        let kinds: Vec<_> = message
            .attachments
            .iter()
            .map(|a| (a.kind, a.url.as_deref().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    AttachmentKind::Image,
                    "https://ton.example.invalid/dm/55.png"
                ),
                (AttachmentKind::Link, "https://shop.example.invalid/returns")
            ]
        );
    }

    #[test]
    fn decodes_a_quick_reply_answer() {
        let events = decoded(include_bytes!("../fixtures/aaa-quick-reply.json"));
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one message, got {events:?}");
        };
        assert_eq!(message.kind, MessageKind::Direct);
        assert_eq!(message.quick_reply.as_deref(), Some("opt_track_parcel"));
        assert_eq!(message.text.as_deref(), Some("Track"));
        assert!(message.attachments.is_empty());
    }

    #[test]
    fn one_body_can_carry_a_dm_a_mention_and_a_like_told_apart_by_kind() {
        let mention: Value =
            serde_json::from_slice(include_bytes!("../fixtures/aaa-mention.json")).unwrap();
        let like: Value =
            serde_json::from_slice(include_bytes!("../fixtures/aaa-like.json")).unwrap();
        let dm: Value =
            serde_json::from_slice(include_bytes!("../fixtures/aaa-quick-reply.json")).unwrap();
        let mut body = dm.clone();
        body["tweet_create_events"] = mention["tweet_create_events"].clone();
        body["favorite_events"] = like["favorite_events"].clone();
        let events = decoded(body.to_string().as_bytes());
        let kinds: Vec<_> = events
            .iter()
            .map(|event| match event {
                InboundEvent::Message(m) => (m.kind, m.id.as_str(), m.reply_to.as_deref()),
                other => panic!("expected messages, got {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (MessageKind::Direct, "1800000000000000104", None),
                (
                    MessageKind::Mention,
                    "1800000000000000301",
                    Some("1800000000000000300")
                ),
                (
                    MessageKind::Like,
                    "a7ba59eab0bfcba386f7acedac279542",
                    Some("1800000000000000400")
                ),
            ]
        );
    }

    #[test]
    fn reads_numeric_timestamps_and_location_attachments() {
        let body = br#"{"direct_message_events":[{"type":"message_create","id":"5",
            "created_timestamp":1790000000999,"message_create":{"sender_id":"7",
            "message_data":{"text":"","attachment":{"type":"location"}}}}]}"#;
        let events = decoded(body);
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one message, got {events:?}");
        };
        assert_eq!(message.timestamp_ms, 1_790_000_000_999);
        assert_eq!(message.text, None);
        assert_eq!(message.profile, None);
        assert_eq!(message.attachments[0].kind, AttachmentKind::Location);
    }
}
