//! What the conformance cases share: fixtures, and helpers that drive the store the way the
//! workers do.

use std::sync::Arc;

use crate::config::AgentConfig;
use crate::events::{InboundEvent, InboundMessage};
use crate::model::{ConversationState, InsertOutcome};
use crate::store::api::{Lease, Store, ThreadMessage, TurnRecord};

pub const INTEGRATION: &str = "x-demo";
pub const MIN: i64 = 60_000;
/// The holder the cases work as, as one inbox worker does.
pub const HOLDER: &str = "conformance";
/// A lease long enough for any case.
pub const LEASE_MS: i64 = 24 * 60 * MIN;

/// The lease `HOLDER` takes (or has) on `customer` of [`INTEGRATION`], which must have work
/// waiting (an unprocessed event or a due timeout).
pub async fn lease_of(store: &Arc<dyn Store>, customer: &str, now: i64) -> Lease {
    let batch = store
        .claim_work(HOLDER, 0, now, 10_000, LEASE_MS)
        .await
        .unwrap();
    batch
        .claimed
        .into_iter()
        .map(|c| c.lease)
        .find(|l| l.customer == customer && l.integration == INTEGRATION)
        .unwrap_or_else(|| panic!("no work to lease for customer {customer}"))
}

pub fn message(id: &str, customer: &str, text: &str) -> InboundMessage {
    InboundMessage {
        id: id.into(),
        customer_id: customer.into(),
        timestamp_ms: 0,
        text: Some(text.into()),
        attachments: vec![],
        quick_reply: None,
        profile: None,
        kind: Default::default(),
        reply_to: None,
        reaction: None,
    }
}

/// Stores `message` in the inbox and threads it, as the inbox worker does.
pub async fn deliver(
    store: &Arc<dyn Store>,
    message: InboundMessage,
    window_ms: i64,
    now: i64,
) -> crate::model::Conversation {
    let outcomes = store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message.clone())],
            now,
        )
        .await
        .unwrap();
    let seq = match outcomes[0] {
        InsertOutcome::Stored(seq) => seq,
        InsertOutcome::Duplicate => 0,
    };
    let lease = lease_of(store, &message.customer_id, now).await;
    store
        .thread_message(ThreadMessage {
            lease,
            integration: INTEGRATION.into(),
            seq,
            message,
            flow: "support".into(),
            flow_version: Some(1),
            window_ms,
            now,
        })
        .await
        .unwrap()
}

/// A conversation of `customer` waiting in `queue` (threaded, then transferred by a turn).
pub async fn queued(
    store: &Arc<dyn Store>,
    customer: &str,
    queue: &str,
    now: i64,
) -> crate::model::Conversation {
    let mut c = deliver(
        store,
        message(&format!("m-{customer}"), customer, "hi"),
        72 * 60 * MIN,
        now,
    )
    .await;
    c.state = ConversationState::Queued;
    c.queue = Some(queue.into());
    c.queued_at = Some(now);
    store
        .apply_turn(TurnRecord {
            lease: lease_of(store, customer, now).await,
            conversation: c.clone(),
            replies: vec![],
            processed: None,
            now,
        })
        .await
        .unwrap();
    c
}

pub fn agent(id: &str, capacity: u32) -> AgentConfig {
    AgentConfig {
        id: id.into(),
        name: None,
        token: None,
        token_hash: None,
        queues: vec!["support".into()],
        capacity,
        channel_capacity: Default::default(),
        skills: Default::default(),
        languages: vec![],
    }
}

/// The store's conversation counts as `(state, queue, count)`, sorted.
pub async fn counts(store: &Arc<dyn Store>) -> Vec<(String, Option<String>, i64)> {
    let mut counts: Vec<_> = store
        .count_by_state()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.state, c.queue, c.count))
        .collect();
    counts.sort();
    counts
}

/// One entry of [`counts`].
pub fn count(state: &str, queue: Option<&str>, n: i64) -> (String, Option<String>, i64) {
    (state.to_string(), queue.map(str::to_string), n)
}
