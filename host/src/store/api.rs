//! The Store interface: what the host asks of durable state, as typed units of work.
//!
//! Each method is one transaction that says what the caller means (`ingest`, `thread_message`,
//! `apply_turn`, `claim_sends`, `accept`, `route`...); no SQL and no driver type appears here.
//! Where a unit of work decides something (which conversation a message joins, who gets an
//! offer, whether an accept is allowed), the engine reads what the decision needs and applies
//! the pure rule of [`crate::rules`] inside its transaction, so every engine decides alike and
//! concurrent callers cannot race between the read and the write.
//!
//! The traits are split by area (inbox, conversations, outbox, ACD, catalog here; supervision,
//! history and search, and attachments in `staff.rs`; erasure, audit and retention in
//! `lifecycle.rs`); [`Store`] is all of them. `sqlite/` implements them (the
//! embedded default); the conformance suite (`conformance.rs`) is written against the traits
//! only, so a second engine runs it unchanged.

use async_trait::async_trait;

use crate::config::{AgentConfig, InactivityConfig};
use crate::events::{InboundEvent, InboundMessage, ReadMarker, Receipt};
use crate::model::{
    AgentPresence, Canned, Conversation, FilterRule, FlowVersion, FlowVersionInfo, InboxEvent,
    InsertOutcome, Message, MessageStatus, NewMessage, PluginVersion, PluginVersionInfo, Presence,
    ScheduleOverride, Transfer,
};
use crate::rules::routing::{Offer, RoutingConfig};

pub use super::lifecycle::LifecycleStore;
pub use super::signals::{Signal, SignalBus, WakeWork};
pub use super::staff::{
    AgentLoad, AttachmentStore, HistoryStore, NewAttachment, QueueActivity, QueueNow, SearchHit,
    SearchQuery, SearchResult, StoredAttachment, SupervisionStore, Transcript,
};

pub type Result<T> = anyhow::Result<T>;

/// Everything the host stores.
pub trait Store:
    InboxStore
    + ConversationStore
    + OutboxStore
    + AcdStore
    + SupervisionStore
    + HistoryStore
    + AttachmentStore
    + CatalogStore
    + LifecycleStore
    + super::accounts::AccountStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: InboxStore
        + ConversationStore
        + OutboxStore
        + AcdStore
        + SupervisionStore
        + HistoryStore
        + AttachmentStore
        + CatalogStore
        + LifecycleStore
        + super::accounts::AccountStore
        + Send
        + Sync
{
}

/// Webhook events, stored before the platform gets its 2xx and processed afterwards.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Stores `events` of `integration` durably. An event whose platform id was stored before
    /// (a redelivery) is not stored again: its outcome is [`InsertOutcome::Duplicate`].
    async fn ingest(
        &self,
        integration: &str,
        events: Vec<InboundEvent>,
        now: i64,
    ) -> Result<Vec<InsertOutcome>>;

    /// Unprocessed events after `after_seq`, oldest first.
    async fn pending_events(&self, after_seq: i64, limit: usize) -> Result<Vec<InboxEvent>>;

    /// A worker named `holder` starts (a new name per process start). An engine whose store
    /// only this process can open gives back every lease and claim a previous process left
    /// (it is gone); a shared engine leaves them to expire.
    async fn start_holder(&self, holder: &str, now: i64) -> Result<()>;

    /// Claims inbox work for `holder`: unprocessed events, oldest first, and `ask` timeouts due
    /// by `now`, of customers no other holder has a live lease on, taking or renewing each
    /// customer's lease until `now + lease_ms`. Only events after `after_seq` are read (0 reads
    /// every unprocessed event: a worker does that now and then, to pick up the customers of a
    /// holder that died), except that a customer whose lease this claim takes (rather than
    /// renews) comes with its unprocessed events up to `after_seq` first, in order: the holder
    /// may have read them while another held the customer. Work already handed out may come
    /// again; the worker skips what it has.
    async fn claim_work(
        &self,
        holder: &str,
        after_seq: i64,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<ClaimBatch>;

    /// Extends every lease `holder` still has until `now + lease_ms`. Returns how many.
    async fn renew_leases(&self, holder: &str, now: i64, lease_ms: i64) -> Result<usize>;

    /// The event needs nothing more (it was handled, or cannot be), under `lease`.
    async fn mark_processed(&self, seq: i64, lease: &Lease, now: i64) -> Result<()>;
}

/// A customer's lease: while a holder has it, only that holder processes the customer's events
/// and timeouts, in order. Every write made for the customer names the lease (fencing): a
/// holder whose lease another took over (it died, or lost the store for longer than its lease)
/// writes nothing, and learns so with [`LeaseLost`]. The epoch is never reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub integration: String,
    pub customer: String,
    pub epoch: i64,
}

/// Work for the holder of a customer's lease.
#[derive(Debug, Clone)]
pub enum Work {
    Event(InboxEvent),
    Timeout(DueTimeout),
}

/// What one claim took.
#[derive(Debug, Clone, Default)]
pub struct ClaimBatch {
    pub claimed: Vec<Claimed>,
    /// The newest event seq the claim read (claimed or left to another holder): the next
    /// incremental claim reads after it.
    pub read_up_to: i64,
}

/// Work and the lease it is done under.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub work: Work,
    pub lease: Lease,
}

/// A write refused because the lease it names is no longer held: another holder has the
/// customer now and does (or did) the work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the lease of customer `{customer}` on `{integration}` (epoch {epoch}) is no longer held by `{holder}`"
)]
pub struct LeaseLost {
    pub holder: String,
    pub integration: String,
    pub customer: String,
    pub epoch: i64,
}

/// A write refused because what it was computed from changed meanwhile: a flow turn over a
/// conversation another turn changed first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conversation `{conversation}` changed since it was read; this change is dropped")]
pub struct Superseded {
    pub conversation: String,
}

/// A write refused because its inbox event was processed already (by this holder earlier, or
/// by another).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inbox event {seq} was processed already")]
pub struct AlreadyProcessed {
    pub seq: i64,
}

impl LeaseLost {
    pub fn of(lease: &Lease) -> LeaseLost {
        LeaseLost {
            holder: lease.holder.clone(),
            integration: lease.integration.clone(),
            customer: lease.customer.clone(),
            epoch: lease.epoch,
        }
    }
}

/// A customer message to thread into its conversation.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    /// The customer's lease the message is threaded under.
    pub lease: Lease,
    pub integration: String,
    /// The inbox event it came in.
    pub seq: i64,
    pub message: InboundMessage,
    /// Where a new conversation starts: the integration's flow and its active version.
    pub flow: String,
    pub flow_version: Option<i64>,
    /// The integration's threading window (0: every message is a new interaction).
    pub window_ms: i64,
    pub now: i64,
}

/// What a flow turn did, to store in one unit.
#[derive(Debug, Clone)]
pub struct TurnRecord {
    /// The customer's lease the turn ran under.
    pub lease: Lease,
    /// The conversation as the turn left it (flow state, variables, where it goes next).
    pub conversation: Conversation,
    /// The flow's replies, stored as pending outbound messages, in order.
    pub replies: Vec<NewMessage>,
    /// The inbox event the turn handled, marked processed in the same unit.
    pub processed: Option<i64>,
    pub now: i64,
}

/// A waiting `ask` whose no-input timeout has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimeout {
    pub conversation: String,
    pub integration: String,
    pub customer_id: String,
}

/// A delivery receipt that moved one of our messages forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptApplied {
    pub message: String,
    pub conversation: String,
    /// Who holds the conversation (to tell them live).
    pub agent: Option<String>,
    pub status: MessageStatus,
    pub reason: Option<String>,
}

/// How many conversations are in a state (and queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    pub state: String,
    pub queue: Option<String>,
    pub count: i64,
}

/// Conversations and their transcripts.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Threads a customer message into its conversation (per [`crate::rules::threading`]) and
    /// stores it, once: a redelivered event finds the message already there and stores nothing.
    /// When the message does not run the conversation's flow
    /// ([`crate::rules::threading::runs_flow`]), its inbox event is marked processed in the
    /// same unit. Returns the conversation the message joined.
    async fn thread_message(&self, message: ThreadMessage) -> Result<Conversation>;

    async fn conversation(&self, id: &str) -> Result<Option<Conversation>>;

    /// Stores a flow turn: its replies, the conversation's new state, the event processed.
    async fn apply_turn(&self, turn: TurnRecord) -> Result<()>;

    /// Conversations whose waiting `ask` has timed out by `now`, soonest first.
    async fn due_flow_timeouts(&self, now: i64, limit: usize) -> Result<Vec<DueTimeout>>;

    /// When the next waiting `ask` times out.
    async fn next_flow_timeout(&self) -> Result<Option<i64>>;

    /// Applies a platform receipt to our message with that platform id, in a conversation of
    /// `integration`. Statuses only move forward (a late `delivered` never undoes `read`),
    /// except that `failed` always wins. Marks the inbox event `seq` processed.
    async fn apply_receipt(
        &self,
        integration: &str,
        seq: i64,
        receipt: Receipt,
        lease: &Lease,
        now: i64,
    ) -> Result<Option<ReceiptApplied>>;

    /// The customer read our messages of their latest conversation, up to the one named (all
    /// sent ones when it is unknown). Marks the inbox event `seq` processed.
    async fn apply_read(
        &self,
        integration: &str,
        seq: i64,
        read: ReadMarker,
        lease: &Lease,
        now: i64,
    ) -> Result<()>;

    async fn transcript(&self, id: &str) -> Result<Option<Transcript>>;

    /// The customer's latest message in a conversation (what a reply answers).
    async fn latest_inbound(&self, conversation: &str) -> Result<Option<Message>>;

    /// Conversations per state and queue.
    async fn count_by_state(&self) -> Result<Vec<StateCount>>;
}

/// An outbound message claimed for one send attempt.
#[derive(Debug, Clone)]
pub struct ClaimedSend {
    /// Its `attempts` is the attempt this claim holds.
    pub message: Message,
    pub conversation: Conversation,
    /// For a conversation a mention started: the post this reply goes under.
    pub public_reply_to: Option<String>,
}

/// How a claimed attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendRecord {
    Sent {
        platform_id: String,
    },
    /// Pending again, due at `at`; `uncount` gives the attempt back (nothing was tried).
    Retry {
        error: String,
        at: i64,
        uncount: bool,
    },
    Failed {
        error: String,
    },
}

/// Outbound messages: the outbox, claims, results, daily counts.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores an outbound message, pending and due at once. Returns its id.
    async fn queue_message(&self, message: NewMessage, now: i64) -> Result<String>;

    /// Claims up to `limit` due messages for one attempt each (pending → sending, the attempt
    /// counted) until `now + lease_ms`: due are pending messages whose time has come and claims
    /// left unfinished past their lease, and a message waits while an earlier one of its
    /// conversation is pending or being sent. Only what this call claimed is returned, so no
    /// two senders ever hold the same message.
    async fn claim_sends(&self, now: i64, limit: usize, lease_ms: i64) -> Result<Vec<ClaimedSend>>;

    /// Gives back every open claim (at start, when this process is the only sender: a claim a
    /// crash left may have reached the platform, and is sent again). Returns how many.
    async fn release_claims(&self, now: i64) -> Result<usize>;

    /// When the next pending message falls due, or an open claim may be taken again.
    async fn next_send_at(&self) -> Result<Option<i64>>;

    /// Records how attempt `attempt` of message `id` ended; only the holder of that claim can.
    async fn record_send(&self, id: &str, attempt: i64, record: SendRecord, now: i64)
    -> Result<()>;

    /// Records that attempt `attempt` of message `id` went out (as [`Self::record_send`] with
    /// [`SendRecord::Sent`]) and, in the same transaction, claims the next message of its
    /// conversation `conversation` for one attempt until `now + lease_ms`, if it is due by
    /// `now`: the holder sends it next, in order, without waiting for a claim pass. Nothing is
    /// claimed if the claim on `attempt` was lost.
    async fn record_sent_and_claim_next(
        &self,
        id: &str,
        conversation: &str,
        attempt: i64,
        platform_id: String,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<ClaimedSend>>;

    /// Outbound messages waiting to be sent or being sent.
    async fn pending_sends(&self) -> Result<i64>;

    /// Reserves one send of `integration`'s allowance for today (UTC); `false` when `cap` sends
    /// are already counted.
    async fn reserve_daily_send(&self, integration: &str, cap: u32, now: i64) -> Result<bool>;

    /// Gives back a reservation made at `reserved_at` whose send did not go out.
    async fn release_daily_send(&self, integration: &str, reserved_at: i64) -> Result<()>;

    async fn sends_today(&self, integration: &str, now: i64) -> Result<i64>;
}

/// An agent's request to take an interaction.
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    pub conversation: String,
    pub agent: AgentConfig,
    pub now: i64,
}

/// How an accept ended.
#[derive(Debug, Clone)]
pub enum Accepted {
    /// The agent holds it now (or already did).
    Held(Conversation),
    Refused(crate::rules::accept::Refusal),
    NotFound,
}

/// An agent's request to hand an interaction they hold to a queue, or to an agent.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub conversation: String,
    pub from_agent: String,
    /// The queue it waits in (for a transfer to an agent, one of that agent's queues).
    pub to_queue: String,
    pub to_agent: Option<String>,
    pub note: Option<String>,
    pub now: i64,
}

/// How a transfer ended.
#[derive(Debug, Clone)]
pub enum Transferred {
    /// Queued again, as it is now.
    Done(Box<Conversation>),
    /// The agent does not hold it.
    NotHeld,
    NotFound,
}

/// What one routing pass did.
#[derive(Debug, Clone, Default)]
pub struct Routed {
    pub offered: Vec<Offer>,
    /// (agent, conversation, reason) offers that ended without acceptance.
    pub withdrawn: Vec<(String, String, &'static str)>,
    /// When the next open offer expires.
    pub next_expiry: Option<i64>,
}

/// A queue's inactivity rule, with the version new flows start on for its `flow`.
#[derive(Debug, Clone)]
pub struct InactivityRule {
    pub queue: String,
    pub rule: InactivityConfig,
    pub flow_version: Option<i64>,
}

/// What one inactivity pass did.
#[derive(Debug, Clone, Default)]
pub struct InactivityPass {
    /// (agent who held it, conversation) that ended or moved to a flow.
    pub ended: Vec<(Option<String>, String)>,
    /// Messages queued for sending (warnings, end texts).
    pub sends: usize,
}

/// The ACD: presence, queues, offers, accepts, wrap-ups, agents' content.
#[async_trait]
pub trait AcdStore: Send + Sync {
    async fn set_presence(&self, agent: &str, presence: Presence, now: i64) -> Result<()>;

    /// An agent's presence and since when; an agent never seen is offline.
    async fn presence(&self, agent: &str) -> Result<(Presence, Option<i64>)>;

    async fn presences(&self) -> Result<Vec<AgentPresence>>;

    /// What an agent holds now, oldest change first.
    async fn assigned_to(&self, agent: &str) -> Result<Vec<Conversation>>;

    /// What is offered to an agent now, with when each offer expires.
    async fn offers_to(&self, agent: &str) -> Result<Vec<(Conversation, i64)>>;

    /// A queue's waiting conversations, highest priority first, then longest waiting.
    async fn queued(&self, queue: &str) -> Result<Vec<Conversation>>;

    /// Gives the interaction to the agent if [`crate::rules::accept`] allows it and it is still
    /// waiting: of two agents accepting at once, one wins. Closes the agent's open offer.
    async fn accept(&self, request: AcceptRequest) -> Result<Accepted>;

    /// Declines the open offer of `conversation` to `agent`, who becomes not-responding (no
    /// offers until they set themselves available again, as when an offer rings out); `false`
    /// when there was no such offer.
    async fn decline(&self, conversation: &str, agent: &str, now: i64) -> Result<bool>;

    /// Hands an interaction `from_agent` holds to a queue or an agent: it waits in the queue
    /// again (skills and preferred agents of the flow's transfer no longer apply) and routing
    /// offers it anew, counting the transferring agent as having refused it. The agent becomes
    /// the longest idle last.
    async fn transfer(&self, request: TransferRequest) -> Result<Transferred>;

    /// The transfers of a conversation, oldest first.
    async fn transfers(&self, conversation: &str) -> Result<Vec<Transfer>>;

    /// Ends the conversation `agent` holds with a wrap-up code; the agent becomes the longest
    /// idle last. `false` when the agent does not hold it.
    async fn wrap_up(
        &self,
        conversation: &str,
        agent: &str,
        code: &str,
        notes: Option<&str>,
        now: i64,
    ) -> Result<bool>;

    /// One routing pass: expires unanswered offers (their agents become not-responding), then
    /// offers waiting interactions per [`crate::rules::routing`] (who refused an interaction
    /// since it was queued, and the transfer that queued it, are read for it).
    async fn route(&self, config: &RoutingConfig, now: i64) -> Result<Routed>;

    /// One inactivity pass over the conversations agents hold in queues with a rule, per
    /// [`crate::rules::inactivity`].
    async fn inactivity(&self, rules: &[InactivityRule], now: i64) -> Result<InactivityPass>;

    async fn canned(&self) -> Result<Vec<Canned>>;
    async fn put_canned(&self, canned: Canned) -> Result<()>;
    /// `false` when there was no such canned response.
    async fn delete_canned(&self, id: &str) -> Result<bool>;
    async fn filters(&self) -> Result<Vec<FilterRule>>;
    async fn put_filter(&self, rule: FilterRule) -> Result<()>;
    /// `false` when there was no such filter.
    async fn delete_filter(&self, id: &str) -> Result<bool>;
}

/// What admins publish: flow and plugin versions, integrations set through the API, and the
/// integrations' deauthorization.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Stores `source` as a new version of flow `name` unless it equals the active one; the new
    /// version becomes active. Returns (version, whether it is new).
    async fn publish_flow(
        &self,
        name: &str,
        source: &str,
        hash: &str,
        now: i64,
    ) -> Result<(i64, bool)>;

    /// Makes version `version` the active one; `None` when there is no such version.
    async fn activate_flow(&self, name: &str, version: i64) -> Result<Option<FlowVersion>>;

    async fn flow_version(&self, name: &str, version: i64) -> Result<Option<FlowVersion>>;

    /// The version new conversations start on.
    async fn active_flow(&self, name: &str) -> Result<Option<FlowVersion>>;

    /// Every version of a flow, oldest first.
    async fn flow_versions(&self, name: &str) -> Result<Vec<FlowVersionInfo>>;

    /// The active version of every flow, by name.
    async fn active_flows(&self) -> Result<Vec<FlowVersion>>;

    /// Stores a component as a version of plugin `name` unless the same bytes are stored
    /// already; that version becomes active. Returns (version, whether it is new).
    async fn publish_plugin(
        &self,
        name: &str,
        hash: &str,
        world: &str,
        bytes: &[u8],
        now: i64,
    ) -> Result<(i64, bool)>;

    async fn plugin_version(&self, name: &str, version: i64) -> Result<Option<PluginVersion>>;

    async fn active_plugin(&self, name: &str) -> Result<Option<PluginVersion>>;

    async fn activate_plugin(&self, name: &str, version: i64) -> Result<()>;

    /// Every stored version of a plugin, oldest first (empty when it has none).
    async fn plugin_versions(&self, name: &str) -> Result<Vec<PluginVersionInfo>>;

    /// What admins switched on schedule groups (emergencies, added holidays).
    async fn schedule_overrides(&self) -> Result<Vec<ScheduleOverride>>;

    /// Stores what admins switched on one schedule group.
    async fn save_schedule_override(&self, value: &ScheduleOverride, now: i64) -> Result<()>;

    /// Integrations admins set through the API: (id, the integration as JSON).
    async fn saved_integrations(&self) -> Result<Vec<(String, String)>>;

    /// Saves an integration set through the API; saving re-authorizes it, and its waiting
    /// messages fall due at once.
    async fn save_integration(&self, id: &str, config_json: &str, now: i64) -> Result<()>;

    /// The platform refused the integration's credentials.
    async fn set_deauthorized(&self, id: &str, reason: &str, now: i64) -> Result<()>;

    /// Every deauthorized integration: (id, since, reason).
    async fn deauthorized(&self) -> Result<Vec<(String, i64, String)>>;
}
