//! What staff read beside the ACD's units of work: supervisors' figures (queues now and
//! today, agents' load), a customer's earlier interactions and search, and the files agents
//! upload. Part of the Store interface (see `api.rs`, whose [`super::api::Store`] includes
//! these traits); every engine implements them and the conformance suite checks them
//! (`conformance/supervision.rs`).

use anyhow::Result;
use async_trait::async_trait;

use crate::model::{Conversation, Message, Wrapup};

/// A conversation with its whole transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub wrapups: Vec<Wrapup>,
}

/// A queue right now: how many wait, and since when the longest has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNow {
    pub queue: String,
    pub waiting: i64,
    pub oldest_queued_at: Option<i64>,
}

/// What a queue saw since a time: interactions that entered it, that an agent answered (and
/// how many within the service-level threshold), that left it unanswered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueActivity {
    pub queue: String,
    pub offered: i64,
    pub answered: i64,
    pub answered_within: i64,
    pub abandoned: i64,
}

/// What an agent holds and is being offered now, per integration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentLoad {
    pub agent: String,
    pub held: i64,
    pub offered: i64,
    /// (integration, held + offered).
    pub per_integration: Vec<(String, i64)>,
}

/// What supervisors watch: queues now and today, agents' load.
#[async_trait]
pub trait SupervisionStore: Send + Sync {
    /// How many wait in each of `queues` and since when the longest has (through indexes).
    async fn queues_now(&self, queues: &[String]) -> Result<Vec<QueueNow>>;

    /// What each queue of `service_levels` saw since `since` (counted by the hour, so `since`
    /// is rounded down to its hour): `answered_within` counts those answered within the queue's
    /// threshold in seconds.
    async fn queue_activity(
        &self,
        since: i64,
        service_levels: &[(String, i64)],
    ) -> Result<Vec<QueueActivity>>;

    /// Every agent who holds or is offered something.
    async fn agent_loads(&self) -> Result<Vec<AgentLoad>>;
}

/// Which interactions a search looks at, newest first.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// A customer id (exactly), or part of their name or handle (any case).
    pub customer: Option<String>,
    /// Part of a message's text (any case).
    pub text: Option<String>,
    /// Started at or after / before this time.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only what this agent may see: interactions of these queues, or that they held.
    pub visible_to: Option<(String, Vec<String>)>,
    pub limit: usize,
}

/// An interaction a search found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub conversation: Conversation,
    /// The first message whose text matched the search's `text`.
    pub matched: Option<Message>,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
    /// The search stopped after reading the most interactions one search reads: narrow it
    /// (dates) to look further back.
    pub truncated: bool,
}

/// Customers' earlier interactions, and search.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// The customer's interactions on `integration`, newest first, with their transcripts.
    async fn customer_history(
        &self,
        integration: &str,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<Transcript>>;

    /// Interactions matching `query`, newest first (by when they started). A search reads at
    /// most a bounded number of interactions in its date range, so its cost does not grow with
    /// the whole history.
    async fn search(&self, query: SearchQuery) -> Result<SearchResult>;
}

/// A file an agent uploads to send in an interaction.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub conversation: String,
    pub agent: String,
    pub filename: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// A stored upload, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    /// Unguessable: whoever has it can fetch the file (platforms fetch by URL).
    pub id: String,
    pub conversation: String,
    pub agent: String,
    pub filename: String,
    pub mime_type: String,
    pub size: i64,
    pub created_at: i64,
}

/// Files agents upload.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    async fn put_attachment(&self, attachment: NewAttachment, now: i64)
    -> Result<StoredAttachment>;

    async fn attachment(&self, id: &str) -> Result<Option<StoredAttachment>>;

    /// The upload with its bytes.
    async fn attachment_bytes(&self, id: &str) -> Result<Option<(StoredAttachment, Vec<u8>)>>;
}
