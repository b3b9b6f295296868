//! The flow plugins' key-value store on disk: one small SQLite file of its own
//! (`plugin-kv.db` beside the database), one private namespace per plugin name. It implements
//! the runtime's [`PluginKv`]: plugins reach it through their `kv` import, admins seed it
//! through the host.
//!
//! SQLite calls block, so each runs on tokio's blocking threads, never on a worker thread that
//! other webhooks need.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::plugin_kv::{PluginKv, check_kv_entry};

/// The plugins' key-value store in a SQLite file. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct SqlitePluginKv {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqlitePluginKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlitePluginKv").finish_non_exhaustive()
    }
}

/// `conversation`: the conversation whose flow wrote the entry last (NULL: an admin's seed), so
/// that erasing a customer's data removes what plugins kept of them. Files made before it had
/// the column get it when opened ([`SqlitePluginKv::with_connection`]).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS plugin_kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    conversation TEXT,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;";

const INDEX: &str = "CREATE INDEX IF NOT EXISTS plugin_kv_conversation
    ON plugin_kv (conversation) WHERE conversation IS NOT NULL;";

impl SqlitePluginKv {
    /// Opens (creating it and its folder if needed) the database file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<SqlitePluginKv> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the plugin store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::with_connection(conn)
            .with_context(|| format!("cannot set up the plugin store {}", path.display()))
    }

    /// A store that lives only as long as the process.
    pub fn in_memory() -> anyhow::Result<SqlitePluginKv> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> anyhow::Result<SqlitePluginKv> {
        conn.execute_batch(SCHEMA)?;
        let has_conversation: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('plugin_kv') WHERE name = 'conversation'",
            [],
            |r| r.get(0),
        )?;
        if !has_conversation {
            conn.execute_batch("ALTER TABLE plugin_kv ADD COLUMN conversation TEXT")?;
        }
        conn.execute_batch(INDEX)?;
        Ok(SqlitePluginKv {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite inconsistent; go on.
            let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&conn)
        })
        .await
        .context("the plugin store's task failed")?
    }
}

#[async_trait::async_trait]
impl PluginKv for SqlitePluginKv {
    async fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<String>> {
        let (plugin, key) = (plugin.to_string(), key.to_string());
        self.with_conn(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT value FROM plugin_kv WHERE plugin = ?1 AND key = ?2",
                    params![plugin, key],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn set_for(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        conversation: Option<&str>,
    ) -> anyhow::Result<()> {
        check_kv_entry(key, value)?;
        let (plugin, key, value) = (plugin.to_string(), key.to_string(), value.to_string());
        let conversation = conversation.map(str::to_string);
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO plugin_kv (plugin, key, value, conversation) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (plugin, key)
                 DO UPDATE SET value = excluded.value, conversation = excluded.conversation",
            )?
            .execute(params![plugin, key, value, conversation])?;
            Ok(())
        })
        .await
    }

    async fn erase_conversations(&self, conversations: &[String]) -> anyhow::Result<u64> {
        let conversations = conversations.to_vec();
        self.with_conn(move |conn| {
            let mut n = 0;
            for conversation in &conversations {
                n += conn
                    .prepare_cached("DELETE FROM plugin_kv WHERE conversation = ?1")?
                    .execute(params![conversation])? as u64;
            }
            Ok(n)
        })
        .await
    }

    async fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<bool> {
        let (plugin, key) = (plugin.to_string(), key.to_string());
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM plugin_kv WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn list(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
        let (plugin, prefix) = (plugin.to_string(), prefix.to_string());
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, value FROM plugin_kv WHERE plugin = ?1 AND key >= ?2 ORDER BY key",
            )?;
            let mut rows = stmt.query(params![plugin, prefix])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let key: String = row.get(0)?;
                if !key.starts_with(&prefix) {
                    break;
                }
                out.push((key, row.get(1)?));
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn behaves_like_every_plugin_store() {
        crate::store::plugin_kv::conformance(&SqlitePluginKv::in_memory().unwrap()).await;
    }

    #[tokio::test]
    async fn a_file_from_before_erasure_gets_its_column() {
        let dir = std::env::temp_dir().join(format!("sb-kv-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kv.db");
        let _ = std::fs::remove_file(&path);
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE plugin_kv (plugin TEXT NOT NULL, key TEXT NOT NULL,
                value TEXT NOT NULL, PRIMARY KEY (plugin, key)) WITHOUT ROWID;
             INSERT INTO plugin_kv VALUES ('p', 'old', 'kept');",
        )
        .unwrap();
        drop(old);
        let kv = SqlitePluginKv::open(&path).unwrap();
        kv.set_for("p", "new", "v", Some("c1")).await.unwrap();
        assert_eq!(kv.erase_conversations(&["c1".into()]).await.unwrap(), 1);
        assert_eq!(kv.list_keys("p", "").await.unwrap(), ["old"]);
        drop(kv);
        // Opening it again changes nothing.
        let kv = SqlitePluginKv::open(&path).unwrap();
        assert_eq!(kv.get("p", "old").await.unwrap().as_deref(), Some("kept"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_file_survives_reopening_and_refuses_huge_values() {
        let dir = std::env::temp_dir().join(format!("sb-kv-{}", std::process::id()));
        let path = dir.join("kv.db");
        let _ = std::fs::remove_file(&path);
        SqlitePluginKv::open(&path)
            .unwrap()
            .set("p", "k", "v")
            .await
            .unwrap();
        let kv = SqlitePluginKv::open(&path).unwrap();
        assert_eq!(kv.get("p", "k").await.unwrap().as_deref(), Some("v"));
        let big = "x".repeat(crate::store::plugin_kv::MAX_VALUE_BYTES + 1);
        assert!(kv.set("p", "k", &big).await.is_err());
        assert_eq!(kv.get("p", "k").await.unwrap().as_deref(), Some("v"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
