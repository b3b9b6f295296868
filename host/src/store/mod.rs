//! Durable state behind one interface.
//!
//! `api.rs` is the Store interface: typed, async units of work by area (inbox, conversations,
//! outbox, ACD, catalog; `staff.rs`: supervision, history and search, attachments;
//! `lifecycle.rs`: erasure, the audit log, retention; `accounts.rs`: agents added through the API;
//! `signals.rs`: what hosts sharing a store tell each other), with no SQL
//! or driver type in their signatures. `sqlite/` is the embedded engine (the default), `postgres/`
//! the shared one (several hosts on one database); `conformance/` is one suite of behaviours
//! written against
//! the interface only, which every engine must pass. Nothing outside this folder knows which
//! engine runs or names a database driver.

pub mod accounts;
pub mod api;
pub mod conformance;
pub mod days;
pub mod lifecycle;
pub mod plugin_kv;
pub mod postgres;
pub mod signals;
pub mod sqlite;
pub mod staff;

use std::sync::Arc;

pub use accounts::{AccountStore, StoredAccount, StreamTicket};
pub use api::{
    AcceptRequest, Accepted, AcdStore, AgentLoad, AlreadyProcessed, AttachmentStore, CatalogStore,
    ClaimBatch, Claimed, ClaimedSend, ConversationStore, DueTimeout, HistoryStore, InactivityPass,
    InactivityRule, InboxStore, Lease, LeaseLost, NewAttachment, OutboxStore, QueueActivity,
    QueueNow, ReceiptApplied, Routed, SearchHit, SearchQuery, SearchResult, SendRecord, Signal,
    SignalBus, StateCount, Store, StoredAttachment, Superseded, SupervisionStore, ThreadMessage,
    Transcript, TransferRequest, Transferred, TurnRecord, WakeWork, Work,
};
pub use lifecycle::{AuditEntry, Erased, ErasureRecord, LifecycleStore, NewAuditEntry, Purged};

use anyhow::Context;

use crate::config::StoreConfig;
use plugin_kv::KvStore;

/// An opened store and, when its engine is shared by several hosts, the bus between them.
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub bus: Option<Arc<dyn SignalBus>>,
    /// The flow plugins' key-value store of the same engine.
    pub kv: KvStore,
}

/// Opens the store the configuration names: PostgreSQL when it has a `url`, else SQLite.
pub async fn open(config: &StoreConfig) -> anyhow::Result<Opened> {
    config.check()?;
    if let Some(url) = &config.url {
        let size = config.pool_size.unwrap_or(postgres::DEFAULT_POOL_SIZE);
        let store = postgres::PgStore::open(url, size).await?;
        return Ok(Opened {
            bus: Some(Arc::new(store.bus(url).await?)),
            kv: Arc::new(store.plugin_kv()),
            store: Arc::new(store),
        });
    }
    let kv_path = config.db_path().with_file_name("plugin-kv.db");
    Ok(Opened {
        store: Arc::new(sqlite::SqliteStore::open(config)?),
        bus: None,
        kv: Arc::new(sqlite::SqlitePluginKv::open(&kv_path).with_context(|| {
            format!(
                "cannot open the plugin key-value store {}",
                kv_path.display()
            )
        })?),
    })
}
