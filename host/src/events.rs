//! Normalized events and messages, as the host stores and passes them around.
//!
//! These mirror the `switchboard:channel` WIT types but belong to the host: the runtime converts
//! whatever WIT version a plugin speaks into these, so nothing past `runtime/` sees wasmtime.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    File,
    Location,
    Link,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub id: String,
    pub customer_id: String,
    pub timestamp_ms: u64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub quick_reply: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
    /// (Stored as `message_kind`: `kind` tags the event itself.)
    #[serde(default, rename = "message_kind")]
    pub kind: MessageKind,
    /// The platform id of the message or post this one answers, reacts to or likes.
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub reaction: Option<String>,
}

/// What kind of customer action an inbound message is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    #[default]
    Direct,
    Mention,
    Like,
    Postback,
    Reaction,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Direct => "direct",
            MessageKind::Mention => "mention",
            MessageKind::Like => "like",
            MessageKind::Postback => "postback",
            MessageKind::Reaction => "reaction",
        }
    }
}

/// How an outbound message is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboundKind {
    #[default]
    Direct,
    PublicReply,
}

/// A pre-approved template message (WhatsApp).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// Delivery states, in the order a message moves through them (`failed` is terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub message_id: String,
    pub customer_id: String,
    pub status: DeliveryStatus,
    #[serde(default)]
    pub reason: Option<String>,
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    pub customer_id: String,
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadMarker {
    pub customer_id: String,
    #[serde(default)]
    pub up_to_message_id: Option<String>,
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InboundEvent {
    Message(InboundMessage),
    Receipt(Receipt),
    Typing(Typing),
    Read(ReadMarker),
}

impl InboundEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            InboundEvent::Message(_) => "message",
            InboundEvent::Receipt(_) => "receipt",
            InboundEvent::Typing(_) => "typing",
            InboundEvent::Read(_) => "read",
        }
    }

    pub fn customer_id(&self) -> &str {
        match self {
            InboundEvent::Message(m) => &m.customer_id,
            InboundEvent::Receipt(r) => &r.customer_id,
            InboundEvent::Typing(t) => &t.customer_id,
            InboundEvent::Read(r) => &r.customer_id,
        }
    }

    /// The key the host deduplicates on: a platform delivers at least once, so the same
    /// message (or the same status of the same message) may arrive several times.
    pub fn dedupe_key(&self) -> String {
        match self {
            InboundEvent::Message(m) => m.id.clone(),
            InboundEvent::Receipt(r) => format!("{}:{}", r.message_id, r.status.as_str()),
            InboundEvent::Typing(t) => format!("{}:{}", t.customer_id, t.timestamp_ms),
            InboundEvent::Read(r) => format!(
                "{}:{}:{}",
                r.customer_id,
                r.up_to_message_id.as_deref().unwrap_or(""),
                r.timestamp_ms
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickReply {
    pub label: String,
    pub payload: String,
}

/// Who wrote an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    Customer,
    Bot,
    Agent,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Customer => "customer",
            Author::Bot => "bot",
            Author::Agent => "agent",
        }
    }
}

/// A message for the adapter to encode (`encode-send`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    pub id: String,
    pub conversation_id: String,
    pub customer_id: String,
    pub text: Option<String>,
    pub quick_replies: Vec<QuickReply>,
    pub attachments: Vec<Attachment>,
    pub author: Author,
    pub author_name: Option<String>,
    pub in_reply_to: Option<String>,
    pub kind: OutboundKind,
    pub template: Option<TemplateMessage>,
    /// A platform message tag chosen by the host (e.g. `HUMAN_AGENT`).
    pub tag: Option<String>,
}

/// A typed send failure, as the adapter reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum SendFailure {
    RateLimited {
        retry_at_ms: Option<u64>,
        detail: String,
    },
    WindowClosed(String),
    RecipientUnreachable(String),
    Auth(String),
    Transient(String),
    Permanent(String),
    /// Refused by the host before sending: the integration's daily cap is used up.
    DailyCapReached(String),
}

impl SendFailure {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendFailure::RateLimited { .. } | SendFailure::Transient(_)
        )
    }

    /// A short code for metrics and the transcript.
    pub fn code(&self) -> &'static str {
        match self {
            SendFailure::RateLimited { .. } => "rate_limited",
            SendFailure::WindowClosed(_) => "window_closed",
            SendFailure::RecipientUnreachable(_) => "recipient_unreachable",
            SendFailure::Auth(_) => "auth",
            SendFailure::Transient(_) => "transient",
            SendFailure::Permanent(_) => "permanent",
            SendFailure::DailyCapReached(_) => "daily_cap_reached",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            SendFailure::RateLimited { detail, .. } => detail,
            SendFailure::WindowClosed(d)
            | SendFailure::RecipientUnreachable(d)
            | SendFailure::Auth(d)
            | SendFailure::Transient(d)
            | SendFailure::Permanent(d)
            | SendFailure::DailyCapReached(d) => d,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendResult {
    Sent(String),
    Failed(SendFailure),
}

/// The unit a platform counts its text limit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextUnit {
    Chars,
    Bytes,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    pub attachments: bool,
    pub quick_replies: bool,
    pub typing: bool,
    pub receipts: bool,
    pub templates: bool,
}

/// What an adapter says about its platform (`describe()`), checked once at load: the
/// outbound policy (reply windows, text limits) is decided from it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AdapterInfo {
    pub platform: String,
    pub text_limit: u32,
    pub text_unit: TextUnit,
    pub reply_window_hours: Option<u32>,
    pub human_agent_window_hours: Option<u32>,
    pub capabilities: Capabilities,
}

impl AdapterInfo {
    /// The length of `text` in this platform's unit.
    pub fn text_len(&self, text: &str) -> usize {
        match self.text_unit {
            TextUnit::Chars => text.chars().count(),
            TextUnit::Bytes => text.len(),
        }
    }
}
