//! The embedded engine: one SQLite file in WAL mode, written by one thread that commits the
//! work of concurrent callers together (`writer.rs`). The rows of the two big tables have their
//! own files (`conversations.rs`, `messages.rs`); each part of the Store interface is
//! implemented over them in its own file: `inbox.rs`, `conversation_store.rs`, `outbox.rs`,
//! `acd.rs` (over `presence.rs`, the presence and offer rows, with `routing.rs` for routing
//! passes and `transfers.rs`), `supervision.rs`,
//! `history.rs`, `attachments.rs`, `catalog.rs`, `accounts.rs`; `lifecycle.rs` erasure, the audit log
//! and retention; `backup.rs` is `switchboard backup`.

mod accounts;
mod acd;
mod attachments;
mod backup;
mod catalog;
mod conversation_store;
mod conversations;
mod history;
mod inbox;
mod leases;
mod lifecycle;
mod messages;
mod outbox;
mod plugin_kv;
mod prefill;
mod presence;
mod readers;
mod routing;
mod schema;
mod supervision;
mod transfers;
mod writer;

pub use backup::{BackupReport, backup};
pub use plugin_kv::SqlitePluginKv;

use crate::config::StoreConfig;

/// The SQLite engine of the Store interface.
#[derive(Clone)]
pub struct SqliteStore {
    /// Every write, and reads that must see what the same unit of work wrote.
    db: writer::Writer,
    /// Reads of committed state, which never wait for the writer.
    reads: readers::Readers,
}

impl SqliteStore {
    /// Opens (or creates, and migrates) the database at `config.path` and starts its thread.
    pub fn open(config: &StoreConfig) -> anyhow::Result<SqliteStore> {
        let db = writer::Writer::open(config)?;
        Ok(SqliteStore {
            db,
            reads: readers::Readers::new(&config.db_path()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteStore;
    use crate::config::{StoreConfig, SyncMode};
    use crate::store::api::Store;

    /// A folder under the system temp dir, removed on drop.
    pub struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A fresh store in its own folder.
    pub fn temp_store() -> (TempDir, Arc<dyn Store>) {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-store-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&StoreConfig {
            path: Some(dir.join("t.db")),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        })
        .expect("open store");
        (TempDir(dir), Arc::new(store))
    }

    crate::store_conformance_tests!(temp_store());
}
