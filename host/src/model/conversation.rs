//! Conversations: one customer on one integration, from the first message until the threading
//! window after the last one runs out.

use serde::Serialize;

use crate::events::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationState {
    /// The flow is running (or waiting for the customer's answer).
    Flow,
    /// Waiting in an ACD queue for an agent.
    Queued,
    /// An agent has accepted it.
    Assigned,
    /// Finished: disconnected by the flow or wrapped up by the agent.
    Ended,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Flow => "flow",
            ConversationState::Queued => "queued",
            ConversationState::Assigned => "assigned",
            ConversationState::Ended => "ended",
        }
    }

    /// The stored form back; anything unknown is ended.
    pub fn parse(s: &str) -> ConversationState {
        match s {
            "flow" => ConversationState::Flow,
            "queued" => ConversationState::Queued,
            "assigned" => ConversationState::Assigned,
            _ => ConversationState::Ended,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub integration: String,
    pub customer_id: String,
    pub customer: Profile,
    pub state: ConversationState,
    pub flow: Option<String>,
    pub flow_version: Option<i64>,
    #[serde(skip)]
    pub flow_state: Option<String>,
    pub queue: Option<String>,
    pub priority: i64,
    pub skills: Vec<String>,
    pub agent: Option<String>,
    pub last_agent: Option<String>,
    pub participant_data: serde_json::Map<String, serde_json::Value>,
    pub queued_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_customer_at: i64,
    /// When the customer's latest message was written, by the platform's clock: reply windows
    /// count from here (`last_customer_at`, the arrival, drives threading).
    pub last_customer_written_at: i64,
    /// When the flow's waiting `ask` times out.
    pub flow_timeout_at: Option<i64>,
    pub language: Option<String>,
    pub preferred_agents: Vec<String>,
    /// When the inactivity warning went out (cleared by the customer's next message).
    pub inactivity_warned_at: Option<i64>,
    /// When the current agent accepted it.
    pub assigned_at: Option<i64>,
    /// Bumped by every stored change: a write over an older version is refused.
    #[serde(skip)]
    pub version: i64,
}
