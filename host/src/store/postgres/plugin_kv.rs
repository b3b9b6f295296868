//! The flow plugins' key-value store in PostgreSQL: every host sees the same entries.

use deadpool_postgres::Pool;

use super::db::{exec, row, rows, unit};
use crate::store::plugin_kv::{PluginKv, check_kv_entry};

/// The plugins' key-value entries in the shared database (table `plugin_kv`).
#[derive(Clone)]
pub struct PgPluginKv {
    pub(super) pool: Pool,
}

impl std::fmt::Debug for PgPluginKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPluginKv").finish_non_exhaustive()
    }
}

/// `LIKE` matches `%` and `_` (and the escape `\`) literally only when escaped.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[async_trait::async_trait]
impl PluginKv for PgPluginKv {
    async fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<String>> {
        row(
            &self.pool.get().await?,
            "SELECT value FROM plugin_kv WHERE plugin = $1 AND key = $2",
            &[&plugin, &key],
        )
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    async fn set_for(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        conversation: Option<&str>,
    ) -> anyhow::Result<()> {
        check_kv_entry(key, value)?;
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO plugin_kv (plugin, key, value, conversation) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (plugin, key)
                 DO UPDATE SET value = EXCLUDED.value, conversation = EXCLUDED.conversation",
                &[&plugin, &key, &value, &conversation],
            )
            .await
            .map(|_| ())
        })
    }

    async fn erase_conversations(&self, conversations: &[String]) -> anyhow::Result<u64> {
        let conversations = conversations.to_vec();
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "DELETE FROM plugin_kv WHERE conversation = ANY($1)",
                &[&conversations],
            )
            .await
        })
    }

    async fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            Ok(exec(
                &tx,
                "DELETE FROM plugin_kv WHERE plugin = $1 AND key = $2",
                &[&plugin, &key],
            )
            .await?
                > 0)
        })
    }

    async fn list(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
        rows(
            &self.pool.get().await?,
            "SELECT key, value FROM plugin_kv WHERE plugin = $1 AND key LIKE $2
             ORDER BY key COLLATE \"C\"",
            &[&plugin, &like_prefix(prefix)],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }
}
