//! Durable state behind one interface.
//!
//! `api.rs` is the Store interface: typed, async units of work by area (inbox, conversations,
//! outbox, ACD, supervision, history and search, attachments, catalog), with no SQL or driver type in their signatures. `sqlite/` is the
//! embedded engine (the default); `conformance.rs` is one suite of behaviours written against
//! the interface only, which every engine must pass. Nothing outside this folder knows which
//! engine runs or names a database driver.

pub mod api;
pub mod conformance;
pub mod plugin_kv;
pub mod sqlite;

use std::sync::Arc;

pub use api::{
    AcceptRequest, Accepted, AcdStore, AgentLoad, AttachmentStore, CatalogStore, ClaimedSend,
    ConversationStore, DueTimeout, HistoryStore, InactivityPass, InactivityRule, InboxStore,
    NewAttachment, OutboxStore, QueueActivity, QueueNow, ReceiptApplied, Routed, SearchHit,
    SearchQuery, SearchResult, SendRecord, StateCount, Store, StoredAttachment, SupervisionStore,
    ThreadMessage, Transcript, TransferRequest, Transferred, TurnRecord,
};

use crate::config::StoreConfig;

/// Opens the store the configuration names.
pub fn open(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(sqlite::SqliteStore::open(config)?))
}
