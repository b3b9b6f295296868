//! The shared engine: several hosts on one PostgreSQL database. Each unit of work of the Store
//! interface is one transaction (`db.rs`: serializable, or read committed on the message path
//! where row locks make it safe), with the coordination in the database:
//! per-customer leases with fenced epochs (`leases.rs`), outbound claims taken with
//! `FOR UPDATE SKIP LOCKED` (`messages.rs`), one routing or inactivity pass at a time and one open
//! offer per interaction (`acd.rs`, over `presence.rs`, with `routing.rs` and `transfers.rs`),
//! daily caps counted by an upsert (`outbox.rs`), webhooks' events stored a batch at a time
//! (`ingest.rs`). Hosts tell
//! each other what happened with LISTEN/NOTIFY (`bus.rs`). The files mirror the embedded
//! engine's, one per trait (`supervision.rs`, `history.rs`, `attachments.rs` for the staff's; `lifecycle.rs` for
//! erasure, the audit log and retention; `accounts.rs` for the agents admins add).

mod accounts;
mod acd;
mod attachments;
mod bus;
mod catalog;
mod conversation_store;
mod conversations;
pub(crate) mod db;
mod history;
mod inbox;
mod ingest;
mod leases;
mod lifecycle;
mod messages;
mod outbox;
mod plugin_kv;
mod presence;
mod routing;
mod schema;
mod supervision;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transfers;

pub use bus::PgBus;
pub use plugin_kv::PgPluginKv;

use anyhow::Context;

/// How many connections a host opens when `[store] pool_size` is not set.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The PostgreSQL engine of the Store interface. Cloning shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: deadpool_postgres::Pool,
    ingester: ingest::Ingester,
}

impl PgStore {
    /// Connects to `url` with at most `pool_size` connections and creates or upgrades the schema.
    pub async fn open(url: &str, pool_size: usize) -> anyhow::Result<PgStore> {
        let pool = db::pool(url, pool_size)?;
        schema::migrate(&pool)
            .await
            .context("cannot prepare the PostgreSQL database")?;
        Ok(PgStore {
            ingester: ingest::Ingester::start(pool.clone()),
            pool,
        })
    }

    /// The signal bus between the hosts on this database (a listening connection of its own).
    pub async fn bus(&self, url: &str) -> anyhow::Result<PgBus> {
        PgBus::start(url, self.pool.clone())
            .await
            .context("cannot listen for signals on PostgreSQL")
    }

    /// The plugins' key-value store in this database.
    pub fn plugin_kv(&self) -> PgPluginKv {
        PgPluginKv {
            pool: self.pool.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgStore;
    use super::testing::TestServer;
    use crate::store::api::Store;

    /// A fresh database of the test server.
    pub async fn temp_store() -> ((), Arc<dyn Store>) {
        let url = TestServer::shared()
            .and_then(|s| s.database())
            .expect("a PostgreSQL database");
        let store = PgStore::open(&url, 4).await.expect("open store");
        ((), Arc::new(store))
    }

    crate::store_conformance_tests!(temp_store().await);

    #[tokio::test]
    async fn a_database_upgraded_to_kept_counts_counts_the_conversations_it_had() {
        use crate::store::conformance::support::{MIN, count, counts, deliver, message, queued};
        let url = TestServer::shared().unwrap().database().unwrap();
        let pg = PgStore::open(&url, 2).await.unwrap();
        let pool = pg.pool.clone();
        let store: Arc<dyn Store> = Arc::new(pg);
        deliver(&store, message("u-1", "ann", "hi"), 60 * MIN, MIN).await;
        queued(&store, "bo", "support", 2 * MIN).await;
        // The database as the release before kept it: no counts, no triggers.
        pool.get()
            .await
            .unwrap()
            .batch_execute(
                "DROP TRIGGER conversations_counted ON conversations;
                 DROP TRIGGER conversations_counted_move ON conversations;
                 DROP FUNCTION conversation_counted();
                 DROP TABLE conversation_counts, conversation_count_changes;
                 UPDATE schema_version SET version = version - 1;",
            )
            .await
            .unwrap();
        deliver(&store, message("u-2", "cy", "hi"), 60 * MIN, 3 * MIN).await;
        // A host of this release starts on it.
        let upgraded: Arc<dyn Store> = Arc::new(PgStore::open(&url, 2).await.unwrap());
        queued(&upgraded, "di", "billing", 4 * MIN).await;
        assert_eq!(
            counts(&upgraded).await,
            vec![
                count("flow", None, 2),
                count("queued", Some("billing"), 1),
                count("queued", Some("support"), 1),
            ]
        );
    }

    #[tokio::test]
    async fn the_plugin_store_behaves_like_every_plugin_store() {
        let url = TestServer::shared().unwrap().database().unwrap();
        let store = PgStore::open(&url, 2).await.unwrap();
        crate::store::plugin_kv::conformance(&store.plugin_kv()).await;
    }

    #[tokio::test]
    async fn signals_reach_every_host_on_the_database() {
        use crate::store::api::{Signal, SignalBus, WakeWork};
        let server = TestServer::shared().unwrap();
        let url = server.database().unwrap();
        let (a, b) = (
            PgStore::open(&url, 2).await.unwrap(),
            PgStore::open(&url, 2).await.unwrap(),
        );
        let (bus_a, bus_b) = (a.bus(&url).await.unwrap(), b.bus(&url).await.unwrap());
        let (mut on_a, mut on_b) = (bus_a.subscribe(), bus_b.subscribe());
        let big = Signal::Agent {
            agent: "ana".into(),
            name: "offer".into(),
            data: serde_json::json!({ "text": "x".repeat(20_000) }),
        };
        bus_a
            .signal(Signal::Wake {
                work: WakeWork::Route,
            })
            .await
            .unwrap();
        bus_b.signal(big.clone()).await.unwrap();
        let within = std::time::Duration::from_secs(30);
        for rx in [&mut on_a, &mut on_b] {
            let first = tokio::time::timeout(within, rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                first,
                Signal::Wake {
                    work: WakeWork::Route
                }
            );
            let second = tokio::time::timeout(within, rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(second, big);
        }
    }
}
