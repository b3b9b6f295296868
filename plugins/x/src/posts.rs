//! Public activity in the Account Activity envelope: posts that mention the account
//! (`tweet_create_events`) and likes of its posts (`favorite_events`), both v1.1 shapes
//! (reference §1.3.3).
//!
//! - A post becomes a [`MessageKind::Mention`] when its `entities.user_mentions` (or those of its
//!   `extended_tweet`) name the account, or when it replies to one of the account's posts. The
//!   message id is the post id, `reply-to` the post it answers. The account's own posts are echoes,
//!   retweets repeat someone else's post, and other posts (X delivers every post of the account
//!   and every retweet of it) do not concern the contact center: all are dropped.
//! - A like becomes a [`MessageKind::Like`] with no text, `reply-to` naming the liked post and the
//!   liker's profile; likes by the account itself, and likes of posts that are not the account's,
//!   are dropped.

use serde::Deserialize;
use serde_json::Value;
use switchboard_sdk::{AdapterError, InboundEvent, InboundMessage, MessageKind, log};

use crate::inbound::{
    Entities, Timestamp, epoch_ms_of, field, links, media_attachment, missing, profile,
};

/// A v1.1 post (Tweet object), the fields read here.
#[derive(Deserialize)]
struct Post {
    id_str: Option<String>,
    /// The numeric id; X sends `id_str` too, which is preferred (ids overflow a JS number).
    id: Option<Value>,
    text: Option<String>,
    /// The text field of posts fetched in extended mode.
    full_text: Option<String>,
    /// Present (with `truncated: true`) when the post is longer than 280 characters.
    extended_tweet: Option<ExtendedPost>,
    created_at: Option<String>,
    timestamp_ms: Option<Timestamp>,
    in_reply_to_status_id_str: Option<String>,
    in_reply_to_user_id_str: Option<String>,
    user: Option<Value>,
    entities: Option<Entities>,
    extended_entities: Option<Entities>,
    retweeted_status: Option<Value>,
}

#[derive(Deserialize)]
struct ExtendedPost {
    full_text: Option<String>,
    entities: Option<Entities>,
    extended_entities: Option<Entities>,
}

/// A `favorite_events` element: `{id, created_at, timestamp_ms, favorited_status, user}`.
#[derive(Deserialize)]
struct Favorite {
    id: Option<String>,
    created_at: Option<String>,
    timestamp_ms: Option<Timestamp>,
    favorited_status: Option<Value>,
    user: Option<Value>,
}

/// The mentions of `account_id` among `tweet_create_events`, in order.
pub fn mentions(
    raw: Vec<Value>,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<InboundEvent>, AdapterError> {
    let mut events = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let path = format!("{prefix}tweet_create_events[{index}]");
        let post: Post = field(raw, &path)?;
        let id = post_id(post.id_str.as_deref(), post.id.as_ref())
            .ok_or_else(|| missing(&path, "id_str"))?;
        let user = post.user.as_ref().ok_or_else(|| missing(&path, "user"))?;
        let author = user_id(user).ok_or_else(|| missing(&format!("{path}.user"), "id_str"))?;
        if author == account_id {
            continue; // the account's own post (or its reply to a customer): an echo
        }
        if post.retweeted_status.is_some() {
            log::debug(&format!("ignoring X retweet {id}"));
            continue;
        }
        let extended = post.extended_tweet.as_ref();
        let mentioned = [
            post.entities.as_ref(),
            extended.and_then(|e| e.entities.as_ref()),
        ]
        .into_iter()
        .flatten()
        .flat_map(|entities| entities.user_mentions.iter().flatten())
        .any(|mention| mention.id_str.as_deref() == Some(account_id));
        let replies_to_account = post.in_reply_to_user_id_str.as_deref() == Some(account_id);
        if !mentioned && !replies_to_account {
            log::debug(&format!(
                "ignoring X post {id}: it does not mention account {account_id}"
            ));
            continue;
        }
        let timestamp_ms = when(
            post.timestamp_ms.as_ref(),
            post.created_at.as_deref(),
            &path,
        )?;

        // The long form of a post over 280 characters, its entities included.
        let (text, entities, media) = match post.extended_tweet {
            Some(extended) => (
                extended.full_text.or(post.full_text).or(post.text),
                extended.entities.or(post.entities),
                extended.extended_entities.or(post.extended_entities),
            ),
            None => (
                post.full_text.or(post.text),
                post.entities,
                post.extended_entities,
            ),
        };
        // `extended_entities.media` lists every photo; `entities.media` only the first.
        let media = media
            .and_then(|m| m.media)
            .or_else(|| entities.as_ref().and_then(|e| e.media.clone()))
            .unwrap_or_default();
        let mut attachments = Vec::new();
        let mut media_links = Vec::new();
        for item in media {
            let (attachment, link) = media_attachment(item);
            attachments.push(attachment);
            media_links.extend(link);
        }
        attachments.extend(
            links(entities.as_ref(), None)
                .into_iter()
                .filter(|link| !media_links.iter().any(|m| link.url.as_deref() == Some(m))),
        );

        events.push(InboundEvent::Message(InboundMessage {
            id,
            customer_id: author,
            timestamp_ms,
            text: text.filter(|text| !text.trim().is_empty()),
            attachments,
            quick_reply: None,
            profile: Some(profile(user)),
            kind: MessageKind::Mention,
            reply_to: post.in_reply_to_status_id_str.filter(|id| !id.is_empty()),
            reaction: None,
        }));
    }
    Ok(events)
}

/// The likes of the account's posts among `favorite_events`, in order.
pub fn likes(
    raw: Vec<Value>,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<InboundEvent>, AdapterError> {
    let mut events = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let path = format!("{prefix}favorite_events[{index}]");
        let like: Favorite = field(raw, &path)?;
        let user = like.user.as_ref().ok_or_else(|| missing(&path, "user"))?;
        let liker = user_id(user).ok_or_else(|| missing(&format!("{path}.user"), "id_str"))?;
        let liked = like
            .favorited_status
            .as_ref()
            .ok_or_else(|| missing(&path, "favorited_status"))?;
        let liked_id = post_id(liked.get("id_str").and_then(Value::as_str), liked.get("id"))
            .ok_or_else(|| missing(&format!("{path}.favorited_status"), "id_str"))?;
        if liker == account_id {
            continue; // the account liked a post: its own action
        }
        let owner = liked.get("user").and_then(user_id);
        if owner.as_deref().is_some_and(|owner| owner != account_id) {
            log::debug(&format!(
                "ignoring a like of X post {liked_id}, not the account's"
            ));
            continue;
        }
        let timestamp_ms = when(
            like.timestamp_ms.as_ref(),
            like.created_at.as_deref(),
            &path,
        )?;
        // Likes carry a hex `id`; without one, the liker and the post name the like (a post can
        // be liked once per user).
        let id = like
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("like-{liker}-{liked_id}"));
        events.push(InboundEvent::Message(InboundMessage {
            id,
            customer_id: liker,
            timestamp_ms,
            text: None,
            attachments: Vec::new(),
            quick_reply: None,
            profile: Some(profile(user)),
            kind: MessageKind::Like,
            reply_to: Some(liked_id),
            reaction: None,
        }));
    }
    Ok(events)
}

/// `id_str`, else the numeric `id` written out.
fn post_id(id_str: Option<&str>, id: Option<&Value>) -> Option<String> {
    id_str
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .or_else(|| id.and_then(Value::as_u64).map(|id| id.to_string()))
}

/// A v1.1 user's `id_str` (else its numeric `id`).
fn user_id(user: &Value) -> Option<String> {
    post_id(user.get("id_str").and_then(Value::as_str), user.get("id"))
}

/// `timestamp_ms` (epoch milliseconds, a string in posts and a number in likes), else
/// `created_at` (`Wed Oct 10 20:19:24 +0000 2018`).
fn when(
    timestamp_ms: Option<&Timestamp>,
    created_at: Option<&str>,
    path: &str,
) -> Result<u64, AdapterError> {
    if let Some(timestamp) = timestamp_ms {
        return epoch_ms_of(timestamp, &format!("{path}.timestamp_ms"));
    }
    let created_at = created_at.ok_or_else(|| missing(path, "timestamp_ms"))?;
    parse_created_at(created_at).ok_or_else(|| {
        AdapterError::Malformed(format!(
            "`{path}.created_at` must look like \"Wed Oct 10 20:19:24 +0000 2018\", not {created_at:?}"
        ))
    })
}

/// X's v1.1 `created_at`: `Www Mmm dd HH:MM:SS +zzzz yyyy`.
fn parse_created_at(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_weekday, month, day, clock, offset, year] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let day: u32 = day.parse().ok()?;
    let (sign, digits) = offset.split_at_checked(1)?;
    if !matches!(sign, "+" | "-")
        || digits.len() != 4
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let rfc3339 = format!(
        "{year}-{month:02}-{day:02}T{clock}{sign}{}:{}",
        &digits[..2],
        &digits[2..]
    );
    switchboard_sdk::time::parse_rfc3339_ms(&rfc3339)
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::{Attachment, AttachmentKind, Profile};

    use super::*;
    use crate::inbound::decode;

    const ACCOUNT: &str = "1500000000000000001";
    const CUSTOMER: &str = "1500000000000000777";

    fn decoded(body: &[u8]) -> Vec<InboundEvent> {
        decode(body, ACCOUNT).expect("the body should decode")
    }

    fn dana() -> Profile {
        Profile {
            display_name: Some("Dana Customer".into()),
            handle: Some("dana_fixture".into()),
            verified: Some(false),
            followers: Some(12),
            posts: Some(300),
            avatar_url: Some("https://pbs.example.invalid/p/dana_normal.jpg".into()),
            email: None,
        }
    }

    #[test]
    fn decodes_a_mention_with_its_reply_target_media_and_links() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/aaa-mention.json")),
            vec![InboundEvent::Message(InboundMessage {
                id: "1800000000000000301".into(),
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_002_000,
                text: Some(
                    "@acme_support_fx my parcel 88-431 is late again https://t.co/Trk0000001 https://t.co/Pic0000001"
                        .into()
                ),
                attachments: vec![
                    Attachment {
                        kind: AttachmentKind::Image,
                        url: Some("https://pbs.example.invalid/media/label.jpg".into()),
                        media_id: Some("1800000000000000302".into()),
                        mime_type: None,
                        filename: None,
                        caption: None,
                    },
                    Attachment {
                        kind: AttachmentKind::Link,
                        url: Some("https://tracking.example.invalid/88-431".into()),
                        media_id: None,
                        mime_type: None,
                        filename: None,
                        caption: None,
                    },
                ],
                quick_reply: None,
                profile: Some(dana()),
                kind: MessageKind::Mention,
                reply_to: Some("1800000000000000300".into()),
                reaction: None,
            })]
        );
    }

    #[test]
    fn decodes_the_full_text_of_a_long_mention() {
        let events = decoded(include_bytes!("../fixtures/aaa-mention-extended.json"));
        let [InboundEvent::Message(message)] = events.as_slice() else {
            panic!("expected one mention, got {events:?}");
        };
        assert_eq!(message.kind, MessageKind::Mention);
        assert_eq!(message.id, "1800000000000000311");
        assert_eq!(message.reply_to, None);
        let text = message.text.as_deref().unwrap();
        assert!(text.ends_with("the end of a long story."), "{text}");
        assert!(text.chars().count() > 280);
        // No timestamp_ms: `created_at` is read instead.
        assert_eq!(message.timestamp_ms, 1_790_000_003_000);
        assert_eq!(message.profile.as_ref().unwrap().verified, Some(true));
    }

    #[test]
    fn decodes_a_like_of_the_accounts_post() {
        assert_eq!(
            decoded(include_bytes!("../fixtures/aaa-like.json")),
            vec![InboundEvent::Message(InboundMessage {
                id: "a7ba59eab0bfcba386f7acedac279542".into(),
                customer_id: CUSTOMER.into(),
                timestamp_ms: 1_790_000_004_000,
                text: None,
                attachments: Vec::new(),
                quick_reply: None,
                profile: Some(dana()),
                kind: MessageKind::Like,
                reply_to: Some("1800000000000000400".into()),
                reaction: None,
            })]
        );
    }

    #[test]
    fn drops_echoes_retweets_and_posts_not_about_the_account() {
        let mention =
            String::from_utf8(include_bytes!("../fixtures/aaa-mention.json").to_vec()).unwrap();
        // The account's own post (its public reply coming back).
        let own = mention.replace(
            r#""id_str": "1500000000000000777""#,
            r#""id_str": "1500000000000000001""#,
        );
        assert_ne!(own, mention);
        assert_eq!(decoded(own.as_bytes()), Vec::new());
        // A post that neither mentions nor answers the account.
        let unrelated = mention
            .replace(
                r#""id_str": "1500000000000000001", "indices""#,
                r#""id_str": "1500000000000000999", "indices""#,
            )
            .replace(
                r#""in_reply_to_user_id_str": "1500000000000000001""#,
                r#""in_reply_to_user_id_str": "1500000000000000999""#,
            );
        assert!(!unrelated.contains(r#""id_str": "1500000000000000001""#));
        assert_eq!(decoded(unrelated.as_bytes()), Vec::new());
        // A retweet of a post that mentioned the account.
        let retweet = br#"{"for_user_id":"1500000000000000001","tweet_create_events":[{
            "id_str":"9","text":"RT @acme_support_fx: hi","timestamp_ms":"1790000000000",
            "user":{"id_str":"1500000000000000777"},
            "entities":{"user_mentions":[{"id_str":"1500000000000000001"}]},
            "retweeted_status":{"id_str":"8"}}]}"#;
        assert_eq!(decoded(retweet), Vec::new());
        // A reply without an @mention entity still concerns the account.
        let bare_reply = br#"{"for_user_id":"1500000000000000001","tweet_create_events":[{
            "id_str":"10","text":"thanks","timestamp_ms":"1790000000000",
            "in_reply_to_status_id_str":"7","in_reply_to_user_id_str":"1500000000000000001",
            "user":{"id_str":"1500000000000000777"}}]}"#;
        assert!(matches!(
            decoded(bare_reply).as_slice(),
            [InboundEvent::Message(InboundMessage {
                kind: MessageKind::Mention,
                ..
            })]
        ));

        let like = String::from_utf8(include_bytes!("../fixtures/aaa-like.json").to_vec()).unwrap();
        // The account liking a customer's post.
        let by_account = like.replace(
            r#""user": { "id": 1500000000000000777, "id_str": "1500000000000000777""#,
            r#""user": { "id": 1500000000000000001, "id_str": "1500000000000000001""#,
        );
        assert_ne!(by_account, like);
        assert_eq!(decoded(by_account.as_bytes()), Vec::new());
        // A like of someone else's post.
        let elsewhere = like.replace(
            r#""user": { "id_str": "1500000000000000001""#,
            r#""user": { "id_str": "1500000000000000555""#,
        );
        assert_ne!(elsewhere, like);
        assert_eq!(decoded(elsewhere.as_bytes()), Vec::new());
        // Another account's delivery.
        let other = like.replacen("1500000000000000001", "1500000000000000999", 1);
        assert_eq!(decoded(other.as_bytes()), Vec::new());
    }

    #[test]
    fn malformed_posts_and_likes_name_the_field() {
        let malformed = |body: &[u8]| match decode(body, ACCOUNT) {
            Err(AdapterError::Malformed(reason)) => reason,
            other => panic!("expected a malformed error, got {other:?}"),
        };
        assert_eq!(
            malformed(br#"{"tweet_create_events":[{"id_str":"1","text":"hi"}]}"#),
            "`tweet_create_events[0]`: missing field `user`"
        );
        assert_eq!(
            malformed(br#"{"tweet_create_events":[{"text":"hi","user":{"id_str":"7"}}]}"#),
            "`tweet_create_events[0]`: missing field `id_str`"
        );
        let no_time = br#"{"tweet_create_events":[{"id_str":"1","text":"@a hi",
            "user":{"id_str":"7"},"entities":{"user_mentions":[{"id_str":"1500000000000000001"}]}}]}"#;
        assert_eq!(
            malformed(no_time),
            "`tweet_create_events[0]`: missing field `timestamp_ms`"
        );
        let bad_date = br#"{"tweet_create_events":[{"id_str":"1","text":"@a hi","created_at":"yesterday",
            "user":{"id_str":"7"},"entities":{"user_mentions":[{"id_str":"1500000000000000001"}]}}]}"#;
        assert!(
            malformed(bad_date).starts_with("`tweet_create_events[0].created_at` must look like")
        );
        assert_eq!(
            malformed(
                br#"{"favorite_events":[{"id":"f","timestamp_ms":1,"user":{"id_str":"7"}}]}"#
            ),
            "`favorite_events[0]`: missing field `favorited_status`"
        );
        assert_eq!(
            malformed(br#"{"favorite_events":[{"id":"f","timestamp_ms":1,"favorited_status":{"id_str":"5"}}]}"#),
            "`favorite_events[0]`: missing field `user`"
        );
    }

    #[test]
    fn parses_created_at() {
        assert_eq!(
            parse_created_at("Mon Sep 21 14:13:23 +0000 2026"),
            Some(1_790_000_003_000)
        );
        assert_eq!(
            parse_created_at("Mon Sep 21 16:13:23 +0200 2026"),
            Some(1_790_000_003_000)
        );
        assert_eq!(parse_created_at("2026-09-21T14:13:23Z"), None);
        assert_eq!(parse_created_at("Mon Foo 21 14:13:23 +0000 2026"), None);
    }
}
