//! Webhook bodies as the platforms send them, as exact bytes.
//!
//! Signatures cover the raw bytes, so a fixture is only useful as bytes: the builders serialize typed
//! structs whose field order follows the reference's examples (not a map whose order could change
//! with a serde feature), and tests sign and send exactly what they return. Every id stays a string,
//! as the platforms send them: X and Meta ids overflow a JavaScript number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

mod x_public;
pub use self::x_public::{XLike, XMention, x_like, x_mention};

pub mod whatsapp;

/// One customer DM as X's Account Activity API delivers it (reference §1.3.1).
///
/// `Default` gives the reference's example: Dana (`1500000000000000777`) writing to the account
/// `1500000000000000001`, so a test states only what it cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XDm {
    /// The subscribed account the webhook is for (`for_user_id`), also the DM's recipient.
    pub for_user_id: String,
    /// The DM event id, which the host dedupes on.
    pub event_id: String,
    pub sender_id: String,
    pub screen_name: String,
    pub name: String,
    pub text: String,
    /// `created_timestamp`, epoch milliseconds (sent as a string, like X does).
    pub created_ms: u64,
    pub verified: bool,
    pub followers: u64,
}

impl Default for XDm {
    fn default() -> Self {
        Self {
            for_user_id: "1500000000000000001".into(),
            event_id: "1800000000000000101".into(),
            sender_id: "1500000000000000777".into(),
            screen_name: "dana_fixture".into(),
            name: "Dana Customer".into(),
            text: "Hi, my parcel 88-431 has not arrived".into(),
            created_ms: 1_790_000_000_123,
            verified: false,
            followers: 12,
        }
    }
}

/// The Account Activity body for `dm`: `for_user_id`, one `message_create` event and the `users` map
/// holding the sender and the account, as in reference §1.3.1.
///
/// The account's own profile is fixed (the reference's "Acme Support"): adapters read the sender's
/// profile, not the account's. An echo (`sender_id == for_user_id`) lists its one user once.
pub fn x_dm(dm: &XDm) -> Vec<u8> {
    let sender = XUser {
        id: &dm.sender_id,
        created_timestamp: "1500000000000",
        name: &dm.name,
        screen_name: &dm.screen_name,
        protected: false,
        verified: dm.verified,
        followers_count: dm.followers,
        friends_count: 40,
        statuses_count: 300,
        profile_image_url_https: format!(
            "https://pbs.example.invalid/p/{}_normal.jpg",
            dm.screen_name
        ),
    };
    let mut users = vec![sender];
    if dm.sender_id != dm.for_user_id {
        users.push(XUser {
            id: &dm.for_user_id,
            created_timestamp: "1400000000000",
            name: "Acme Support",
            screen_name: "acme_support_fx",
            protected: false,
            verified: true,
            followers_count: 9000,
            friends_count: 10,
            statuses_count: 5000,
            profile_image_url_https: "https://pbs.example.invalid/p/acme_normal.jpg".into(),
        });
    }
    let body = AaaBody {
        for_user_id: &dm.for_user_id,
        direct_message_events: [DmEvent {
            kind: "message_create",
            id: &dm.event_id,
            created_timestamp: dm.created_ms.to_string(),
            message_create: MessageCreate {
                target: Target {
                    recipient_id: &dm.for_user_id,
                },
                sender_id: &dm.sender_id,
                message_data: MessageData {
                    text: &dm.text,
                    entities: Entities {
                        hashtags: &[],
                        symbols: &[],
                        user_mentions: &[],
                        urls: &[],
                    },
                },
            },
        }],
        users: UsersById(users),
    };
    serde_json::to_vec(&body).expect("fixture structs always serialize")
}

#[derive(Serialize)]
struct AaaBody<'a> {
    for_user_id: &'a str,
    direct_message_events: [DmEvent<'a>; 1],
    users: UsersById<'a>,
}

#[derive(Serialize)]
struct DmEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    created_timestamp: String,
    message_create: MessageCreate<'a>,
}

#[derive(Serialize)]
struct MessageCreate<'a> {
    target: Target<'a>,
    sender_id: &'a str,
    message_data: MessageData<'a>,
}

#[derive(Serialize)]
struct Target<'a> {
    recipient_id: &'a str,
}

#[derive(Serialize)]
struct MessageData<'a> {
    text: &'a str,
    entities: Entities,
}

/// Always empty: the fixtures carry plain text, but X sends the four arrays regardless.
#[derive(Serialize)]
struct Entities {
    hashtags: &'static [String],
    symbols: &'static [String],
    user_mentions: &'static [String],
    urls: &'static [String],
}

#[derive(Serialize)]
struct XUser<'a> {
    id: &'a str,
    created_timestamp: &'static str,
    name: &'a str,
    screen_name: &'a str,
    protected: bool,
    verified: bool,
    followers_count: u64,
    friends_count: u64,
    statuses_count: u64,
    profile_image_url_https: String,
}

/// The `users` object: id → user, in insertion order (sender first, as in the reference).
struct UsersById<'a>(Vec<XUser<'a>>);

impl Serialize for UsersById<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|user| (user.id, user)))
    }
}

/// One customer message as an open-messaging partner posts it inbound (reference §6.2).
///
/// `Default` gives the reference's example (customer `cust-42`, nickname Dana).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMessage {
    /// `channel.messageId`: the partner's own id, which the host dedupes on.
    pub message_id: String,
    /// `channel.from.id`: the customer on the partner's platform.
    pub from_id: String,
    /// `channel.from.nickname`, shown to agents; optional on the platform too.
    pub nickname: Option<String>,
    pub text: String,
    /// `channel.time`, ISO-8601 in UTC (see [`rfc3339_utc`]).
    pub time_rfc3339: String,
    /// `content[]`: files the customer sends.
    pub attachments: Vec<OpenAttachment>,
}

/// A file in an open message (`content[].attachment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAttachment {
    /// `Image`, `File`, ...
    pub media_type: String,
    pub url: String,
    pub mime: String,
    pub filename: String,
}

impl Default for OpenMessage {
    fn default() -> Self {
        Self {
            message_id: "ext-msg-000123".into(),
            from_id: "cust-42".into(),
            nickname: Some("Dana".into()),
            text: "Hi, I need help with order 88-431".into(),
            time_rfc3339: "2026-09-01T10:15:00.000Z".into(),
            attachments: Vec::new(),
        }
    }
}

/// The inbound body for `message` in the per-integration form of reference §6.2: the integration is
/// named by the URL, so the body carries only `channel` (`messageId`, `time`, `from`) and `text`.
pub fn open_message(message: &OpenMessage) -> Vec<u8> {
    let body = InboundMessage {
        channel: InboundChannel {
            message_id: &message.message_id,
            time: &message.time_rfc3339,
            from: InboundFrom {
                id: &message.from_id,
                id_type: "Opaque",
                nickname: message.nickname.as_deref(),
            },
        },
        text: &message.text,
        content: message
            .attachments
            .iter()
            .map(|a| InboundContent {
                content_type: "Attachment",
                attachment: InboundAttachment {
                    media_type: &a.media_type,
                    url: &a.url,
                    mime: &a.mime,
                    filename: &a.filename,
                },
            })
            .collect(),
    };
    serde_json::to_vec(&body).expect("fixture structs always serialize")
}

#[derive(Serialize)]
struct InboundMessage<'a> {
    channel: InboundChannel<'a>,
    text: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    content: Vec<InboundContent<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundContent<'a> {
    content_type: &'static str,
    attachment: InboundAttachment<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundAttachment<'a> {
    media_type: &'a str,
    url: &'a str,
    mime: &'a str,
    filename: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundChannel<'a> {
    message_id: &'a str,
    time: &'a str,
    from: InboundFrom<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundFrom<'a> {
    id: &'a str,
    id_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
}

/// X's snowflake epoch (2010-11-04), so generated ids look like X's 19-digit ones.
const X_EPOCH_MS: u64 = 1_288_834_974_657;

/// Fresh numeric-string ids for events and messages, shaped like X snowflakes.
///
/// They start from the clock (milliseconds since X's epoch, shifted as snowflakes are) and count up,
/// so they are unique within a process and also across restarts: the host stores event ids durably
/// and drops repeats, so a demo restarted against the same database must not reuse one.
#[derive(Debug)]
pub struct UniqueIds {
    next: AtomicU64,
}

impl UniqueIds {
    pub fn new() -> Self {
        let since_epoch = unix_millis(SystemTime::now()).saturating_sub(X_EPOCH_MS);
        Self {
            next: AtomicU64::new(since_epoch << 22),
        }
    }

    pub fn next_id(&self) -> String {
        self.next.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

impl Default for UniqueIds {
    fn default() -> Self {
        Self::new()
    }
}

/// A stable 19-digit X user id for a handle, so `dana_fixture` is the same customer every time the
/// demo is run (the host groups messages into conversations by sender id).
pub fn x_user_id_for_handle(handle: &str) -> String {
    let digest = Sha256::digest(handle.as_bytes());
    let prefix = u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    );
    (1_500_000_000_000_000_000 + prefix % 1_000_000_000_000_000).to_string()
}

/// Milliseconds since the Unix epoch, the unit of X's `created_timestamp`.
pub fn unix_millis(time: SystemTime) -> u64 {
    let since = time
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since.as_millis()).expect("milliseconds fit in u64 until year 584 million")
}

/// `time` as `yyyy-MM-ddTHH:mm:ss.mmmZ`, the form open messaging uses for `channel.time`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let ms = unix_millis(time);
    let (days, ms_of_day) = (ms / 86_400_000, ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (secs, millis) = (ms_of_day / 1000, ms_of_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date, after Howard Hinnant's `civil_from_days`
/// (no date crate is in the workspace, and this is the only calendar arithmetic needed).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::signing;

    #[test]
    fn x_dm_has_the_account_activity_shape() {
        let body: Value = serde_json::from_slice(&x_dm(&XDm::default())).unwrap();
        assert_eq!(
            body,
            json!({
                "for_user_id": "1500000000000000001",
                "direct_message_events": [{
                    "type": "message_create",
                    "id": "1800000000000000101",
                    "created_timestamp": "1790000000123",
                    "message_create": {
                        "target": { "recipient_id": "1500000000000000001" },
                        "sender_id": "1500000000000000777",
                        "message_data": {
                            "text": "Hi, my parcel 88-431 has not arrived",
                            "entities": { "hashtags": [], "symbols": [], "user_mentions": [], "urls": [] }
                        }
                    }
                }],
                "users": {
                    "1500000000000000777": {
                        "id": "1500000000000000777",
                        "created_timestamp": "1500000000000",
                        "name": "Dana Customer",
                        "screen_name": "dana_fixture",
                        "protected": false,
                        "verified": false,
                        "followers_count": 12,
                        "friends_count": 40,
                        "statuses_count": 300,
                        "profile_image_url_https": "https://pbs.example.invalid/p/dana_fixture_normal.jpg"
                    },
                    "1500000000000000001": {
                        "id": "1500000000000000001",
                        "created_timestamp": "1400000000000",
                        "name": "Acme Support",
                        "screen_name": "acme_support_fx",
                        "protected": false,
                        "verified": true,
                        "followers_count": 9000,
                        "friends_count": 10,
                        "statuses_count": 5000,
                        "profile_image_url_https": "https://pbs.example.invalid/p/acme_normal.jpg"
                    }
                }
            })
        );
    }

    #[test]
    fn x_dm_bytes_are_deterministic_in_reference_order_and_sign_as_sent() {
        let dm = XDm {
            text: "say \"hi\"\n".into(),
            ..XDm::default()
        };
        let bytes = x_dm(&dm);
        assert_eq!(bytes, x_dm(&dm));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"for_user_id":"1500000000000000001","direct_message_events":[{"type":"message_create","id":"1800000000000000101""#));
        assert!(text.contains(r#""text":"say \"hi\"\n""#));
        assert!(
            text.find(r#""1500000000000000777":{"#).unwrap()
                < text.find(r#""1500000000000000001":{"#).unwrap(),
            "sender is listed before the account"
        );
        assert_eq!(
            signing::x_signature("s", &bytes),
            signing::x_signature("s", text.as_bytes())
        );
    }

    #[test]
    fn x_dm_echo_lists_its_user_once() {
        let dm = XDm {
            sender_id: "1500000000000000001".into(),
            ..XDm::default()
        };
        let body: Value = serde_json::from_slice(&x_dm(&dm)).unwrap();
        let users = body["users"].as_object().unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users["1500000000000000001"]["screen_name"], "dana_fixture");
    }

    #[test]
    fn open_message_has_the_inbound_shape() {
        let bytes = open_message(&OpenMessage::default());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"channel":{"messageId":"ext-msg-000123","time":"2026-09-01T10:15:00.000Z","from":{"id":"cust-42","idType":"Opaque","nickname":"Dana"}},"text":"Hi, I need help with order 88-431"}"#
        );
        let anonymous = OpenMessage {
            nickname: None,
            ..OpenMessage::default()
        };
        let body: Value = serde_json::from_slice(&open_message(&anonymous)).unwrap();
        assert_eq!(
            body["channel"]["from"],
            json!({ "id": "cust-42", "idType": "Opaque" })
        );
    }

    #[test]
    fn unique_ids_are_numeric_increasing_and_snowflake_sized() {
        let ids = UniqueIds::new();
        let (a, b) = (ids.next_id(), ids.next_id());
        assert_eq!(a.len(), 19);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert!(b.parse::<u64>().unwrap() > a.parse::<u64>().unwrap());
        assert!(UniqueIds::new().next_id().parse::<u64>().unwrap() >= a.parse::<u64>().unwrap());
    }

    #[test]
    fn handles_map_to_stable_distinct_user_ids() {
        let dana = x_user_id_for_handle("dana_fixture");
        assert_eq!(dana, x_user_id_for_handle("dana_fixture"));
        assert_ne!(dana, x_user_id_for_handle("sam_fixture"));
        assert_eq!(dana.len(), 19);
        assert!(dana.starts_with("1500"));
    }

    #[test]
    fn rfc3339_formats_utc_with_milliseconds() {
        let at = |ms| rfc3339_utc(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_790_000_000_123), "2026-09-21T14:13:20.123Z");
        assert_eq!(
            unix_millis(UNIX_EPOCH + Duration::from_millis(1_790_000_000_123)),
            1_790_000_000_123
        );
    }
}
