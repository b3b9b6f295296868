//! The inbox: every normalized event an adapter produced, stored before the webhook is answered
//! and processed afterwards.

use crate::events::InboundEvent;

/// What happened to one event offered to the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored under this sequence number.
    Stored(i64),
    /// Already stored earlier (a platform's redelivery, found by its dedupe key).
    Duplicate,
}

/// A stored event waiting to be processed.
#[derive(Debug, Clone)]
pub struct InboxEvent {
    pub seq: i64,
    pub integration: String,
    pub event: InboundEvent,
    pub received_at: i64,
}

impl InboxEvent {
    /// An event as a store keeps it: `event` is its JSON.
    pub fn stored(
        seq: i64,
        integration: String,
        event: &str,
        received_at: i64,
    ) -> anyhow::Result<InboxEvent> {
        let event = serde_json::from_str(event)
            .map_err(|e| anyhow::anyhow!("inbox event {seq} is unreadable: {e}"))?;
        Ok(InboxEvent {
            seq,
            integration,
            event,
            received_at,
        })
    }
}
