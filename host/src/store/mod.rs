//! Durable state behind one interface.
//!
//! `api.rs` is the Store interface: typed, async units of work by area (inbox, conversations,
//! outbox, ACD, catalog), with no SQL or driver type in their signatures. `sqlite/` is the
//! embedded engine (the default); `conformance.rs` is one suite of behaviours written against
//! the interface only, which every engine must pass. Nothing outside this folder knows which
//! engine runs or names a database driver.

pub mod api;
pub mod conformance;
pub mod plugin_kv;
pub mod sqlite;

use std::sync::Arc;

pub use api::{
    AcceptRequest, Accepted, AcdStore, AlreadyProcessed, CatalogStore, ClaimBatch, Claimed,
    ClaimedSend, ConversationStore, DueTimeout, InactivityPass, InactivityRule, InboxStore, Lease,
    LeaseLost, OutboxStore, ReceiptApplied, Routed, SendRecord, Signal, SignalBus, StateCount,
    Store, Superseded, ThreadMessage, Transcript, TurnRecord, WakeWork, Work,
};

use crate::config::StoreConfig;

/// An opened store and, when its engine is shared by several hosts, the bus between them.
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub bus: Option<Arc<dyn SignalBus>>,
}

/// Opens the store the configuration names.
pub fn open(config: &StoreConfig) -> anyhow::Result<Opened> {
    Ok(Opened {
        store: Arc::new(sqlite::SqliteStore::open(config)?),
        bus: None,
    })
}
