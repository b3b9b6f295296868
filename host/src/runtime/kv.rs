//! The flow plugins' key-value store: one small SQLite file of its own, one private namespace per
//! plugin name. Plugins reach it through their `kv` import; admins seed it through the host.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use rusqlite::{Connection, OptionalExtension, params};

/// The longest key a plugin may use, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The largest value a plugin may store, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The plugins' key-value store. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct KvStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS plugin_kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;";

impl KvStore {
    /// Opens (creating it and its folder if needed) the database file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<KvStore> {
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

    /// A store that lives only as long as the process (tests, or a host without a data folder).
    pub fn in_memory() -> anyhow::Result<KvStore> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> anyhow::Result<KvStore> {
        conn.execute_batch(SCHEMA)?;
        Ok(KvStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent; go on.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM plugin_kv WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Sets `key` of `plugin` to `value`, refusing keys and values over the limits.
    pub fn put(&self, plugin: &str, key: &str, value: &str) -> anyhow::Result<()> {
        if key.len() > MAX_KEY_BYTES {
            bail!("kv key is longer than {MAX_KEY_BYTES} bytes");
        }
        if value.len() > MAX_VALUE_BYTES {
            bail!("kv value of `{key}` is larger than {MAX_VALUE_BYTES} bytes");
        }
        self.conn().execute(
            "INSERT INTO plugin_kv (plugin, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
            params![plugin, key, value],
        )?;
        Ok(())
    }

    /// Removes `key`; says whether it existed.
    pub fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM plugin_kv WHERE plugin = ?1 AND key = ?2",
            params![plugin, key],
        )?;
        Ok(n > 0)
    }

    /// The keys of `plugin` starting with `prefix`, sorted.
    pub fn list_keys(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list(plugin, prefix)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// The entries of `plugin` whose key starts with `prefix`, sorted by key.
    pub fn list(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT key, value FROM plugin_kv WHERE plugin = ?1 AND key >= ?2 ORDER BY key",
        )?;
        let mut rows = stmt.query(params![plugin, prefix])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key, row.get(1)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_per_plugin_and_listed_by_prefix() {
        let kv = KvStore::in_memory().unwrap();
        kv.put("a", "customer/x", "1").unwrap();
        kv.put("a", "customer/y", "2").unwrap();
        kv.put("a", "customes", "3").unwrap();
        kv.put("a", "faq/hours", "4").unwrap();
        kv.put("b", "customer/z", "5").unwrap();
        assert_eq!(
            kv.list_keys("a", "customer/").unwrap(),
            ["customer/x", "customer/y"]
        );
        assert_eq!(kv.list_keys("b", "").unwrap(), ["customer/z"]);
        assert_eq!(kv.get("b", "customer/x").unwrap(), None);
        kv.put("a", "customer/x", "new").unwrap();
        assert_eq!(kv.get("a", "customer/x").unwrap().as_deref(), Some("new"));
        assert!(kv.delete("a", "customer/x").unwrap());
        assert!(!kv.delete("a", "customer/x").unwrap());
        assert_eq!(
            kv.list("a", "").unwrap(),
            [
                ("customer/y".to_string(), "2".to_string()),
                ("customes".to_string(), "3".to_string()),
                ("faq/hours".to_string(), "4".to_string())
            ]
        );
    }

    #[test]
    fn file_store_survives_reopening_and_refuses_huge_values() {
        let dir = std::env::temp_dir().join(format!("sb-kv-{}", std::process::id()));
        let path = dir.join("kv.db");
        let _ = std::fs::remove_file(&path);
        KvStore::open(&path).unwrap().put("p", "k", "v").unwrap();
        let kv = KvStore::open(&path).unwrap();
        assert_eq!(kv.get("p", "k").unwrap().as_deref(), Some("v"));
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(kv.put("p", "k", &big).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
