//! The transcript: every message of a conversation, both directions, with its delivery status.
//! Outbound messages double as the outbox: a `pending` one is waiting to be sent.

use serde::Serialize;

use crate::events::{Attachment, Author, MessageKind, QuickReply, TemplateMessage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// `received` is the status of every inbound message; the others follow an outbound one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Received,
    Pending,
    /// Claimed by a sender, its request under way (shown as `pending`: to the customer and the
    /// agent it is still on its way).
    #[serde(rename = "pending")]
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Pending => "pending",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> MessageStatus {
        match s {
            "received" => MessageStatus::Received,
            "pending" => MessageStatus::Pending,
            "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" => MessageStatus::Read,
            _ => MessageStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub conversation: String,
    pub direction: Direction,
    pub author: Author,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<String>,
    pub platform_id: Option<String>,
    #[serde(skip)]
    pub in_reply_to: Option<String>,
    pub status: MessageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attempts: i64,
    #[serde(skip)]
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Inbound: the message kind (`direct`, `mention`, `like`, `postback`, `reaction`).
    pub kind: String,
    pub template: Option<TemplateMessage>,
    pub reaction: Option<String>,
    pub reply_to: Option<String>,
}

/// What a caller supplies to add a message; the rest is filled in.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation: String,
    pub direction: Direction,
    pub author: Author,
    pub agent: Option<String>,
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
    pub quick_replies: Vec<QuickReply>,
    pub quick_reply: Option<String>,
    pub platform_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub kind: MessageKind,
    pub template: Option<TemplateMessage>,
    pub reaction: Option<String>,
    pub reply_to: Option<String>,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl NewMessage {
    /// An outbound message of `author` with `text` and nothing else (a flow's `send`, an
    /// inactivity warning, an agent's reply before its options are filled in).
    pub fn outbound(conversation: &str, author: Author, text: Option<String>) -> NewMessage {
        NewMessage {
            conversation: conversation.to_string(),
            direction: Direction::Outbound,
            author,
            agent: None,
            text,
            attachments: Vec::new(),
            quick_replies: Vec::new(),
            quick_reply: None,
            platform_id: None,
            in_reply_to: None,
            kind: MessageKind::Direct,
            template: None,
            reaction: None,
            reply_to: None,
        }
    }
}
