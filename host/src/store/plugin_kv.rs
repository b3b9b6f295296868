//! The plugins' key-value store: each flow plugin's private entries, kept by the host across
//! calls and restarts, one namespace per plugin name.
//!
//! The runtime does not own the storage: it calls a [`PluginKv`], which the host gives it with
//! [`PluginRuntime::set_kv_store`](crate::runtime::PluginRuntime::set_kv_store) (the embedded
//! one is `store::sqlite::SqlitePluginKv`, a SQLite file). The trait is async and object-safe, so a store
//! that waits on a disk or a network never holds a worker thread. Until the host sets one,
//! plugins get a [`MemoryKv`]. The `kv` import that plugins call is `host/kv.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::bail;

/// The longest key a plugin may use, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The largest value a plugin may store, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Storage for the plugins' key-value entries, one namespace per plugin name.
///
/// Every implementation refuses, through [`check_kv_entry`], keys and values over
/// [`MAX_KEY_BYTES`] and [`MAX_VALUE_BYTES`], and lists entries sorted by key, so a plugin
/// behaves the same on any of them.
#[async_trait::async_trait]
pub trait PluginKv: Send + Sync {
    /// The value of `key` in `plugin`'s namespace.
    async fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<String>>;

    /// Sets `key` of `plugin` to `value`, refusing keys and values over the limits, as written
    /// while serving `conversation` (a flow plugin's call), or by no conversation (an admin's
    /// seed). The last write decides: an erasure of that conversation's customer removes the
    /// entry ([`erase_conversations`](PluginKv::erase_conversations)).
    async fn set_for(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        conversation: Option<&str>,
    ) -> anyhow::Result<()>;

    /// Sets `key` of `plugin` to `value`, written by no conversation.
    async fn set(&self, plugin: &str, key: &str, value: &str) -> anyhow::Result<()> {
        self.set_for(plugin, key, value, None).await
    }

    /// Removes, in every plugin's namespace, the entries last written while serving one of
    /// `conversations`; returns how many.
    async fn erase_conversations(&self, conversations: &[String]) -> anyhow::Result<u64>;

    /// Removes `key`; says whether it existed.
    async fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<bool>;

    /// The entries of `plugin` whose key starts with `prefix`, sorted by key.
    async fn list(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>>;

    /// The keys of `plugin` starting with `prefix`, sorted.
    async fn list_keys(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list(plugin, prefix)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
}

/// The key-value store the runtime hands to flow plugins; cloning shares it.
pub type KvStore = Arc<dyn PluginKv>;

/// Refuses a key or a value over the limits every [`PluginKv`] applies.
pub fn check_kv_entry(key: &str, value: &str) -> anyhow::Result<()> {
    if key.len() > MAX_KEY_BYTES {
        bail!("kv key is longer than {MAX_KEY_BYTES} bytes");
    }
    if value.len() > MAX_VALUE_BYTES {
        bail!("kv value of `{key}` is larger than {MAX_VALUE_BYTES} bytes");
    }
    Ok(())
}

/// A [`PluginKv`] that lives only as long as the process: the runtime's default, and what
/// `switchboard flow test` seeds from its script.
#[derive(Debug, Default)]
pub struct MemoryKv {
    /// (plugin, key) → (value, the conversation that wrote it)
    entries: Mutex<BTreeMap<(String, String), (String, Option<String>)>>,
}

type MemoryEntries = BTreeMap<(String, String), (String, Option<String>)>;

impl MemoryKv {
    fn entries(&self) -> std::sync::MutexGuard<'_, MemoryEntries> {
        // Every change is one map operation: a panic elsewhere cannot leave it half done.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl PluginKv for MemoryKv {
    async fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .entries()
            .get(&(plugin.to_string(), key.to_string()))
            .map(|(value, _)| value.clone()))
    }

    async fn set_for(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        conversation: Option<&str>,
    ) -> anyhow::Result<()> {
        check_kv_entry(key, value)?;
        self.entries().insert(
            (plugin.to_string(), key.to_string()),
            (value.to_string(), conversation.map(str::to_string)),
        );
        Ok(())
    }

    async fn erase_conversations(&self, conversations: &[String]) -> anyhow::Result<u64> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, (_, by)| !by.as_ref().is_some_and(|c| conversations.contains(c)));
        Ok((before - entries.len()) as u64)
    }

    async fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<bool> {
        Ok(self
            .entries()
            .remove(&(plugin.to_string(), key.to_string()))
            .is_some())
    }

    async fn list(&self, plugin: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
        Ok(self
            .entries()
            .range((plugin.to_string(), prefix.to_string())..)
            .take_while(|((p, k), _)| p == plugin && k.starts_with(prefix))
            .map(|((_, k), (v, _))| (k.clone(), v.clone()))
            .collect())
    }
}

/// The behaviour every [`PluginKv`] must have; each implementation's tests run it.
#[cfg(test)]
pub(crate) async fn conformance(kv: &dyn PluginKv) {
    kv.set("a", "customer/x", "1").await.unwrap();
    kv.set("a", "customer/y", "2").await.unwrap();
    kv.set("a", "customes", "3").await.unwrap();
    kv.set("a", "faq/hours", "4").await.unwrap();
    kv.set("b", "customer/z", "5").await.unwrap();
    assert_eq!(
        kv.list_keys("a", "customer/").await.unwrap(),
        ["customer/x", "customer/y"]
    );
    assert_eq!(kv.list_keys("b", "").await.unwrap(), ["customer/z"]);
    assert_eq!(kv.get("b", "customer/x").await.unwrap(), None);
    kv.set("a", "customer/x", "new").await.unwrap();
    assert_eq!(
        kv.get("a", "customer/x").await.unwrap().as_deref(),
        Some("new")
    );
    assert!(kv.delete("a", "customer/x").await.unwrap());
    assert!(!kv.delete("a", "customer/x").await.unwrap());
    assert_eq!(
        kv.list("a", "").await.unwrap(),
        [
            ("customer/y".to_string(), "2".to_string()),
            ("customes".to_string(), "3".to_string()),
            ("faq/hours".to_string(), "4".to_string())
        ]
    );

    // Entries written while serving a conversation go with its customer's erasure; an admin's
    // seed, and a conversation's entry an admin wrote over since, stay.
    kv.set_for("c", "customer/cleo", "1", Some("conv-1"))
        .await
        .unwrap();
    kv.set_for("d", "notes/cleo", "2", Some("conv-2"))
        .await
        .unwrap();
    kv.set_for("c", "customer/dan", "3", Some("conv-3"))
        .await
        .unwrap();
    kv.set_for("c", "seeded", "4", Some("conv-1"))
        .await
        .unwrap();
    kv.set("c", "seeded", "5").await.unwrap();
    kv.set("c", "faq", "6").await.unwrap();
    let conversations = ["conv-1".to_string(), "conv-2".to_string()];
    assert_eq!(kv.erase_conversations(&conversations).await.unwrap(), 2);
    assert_eq!(
        kv.list_keys("c", "").await.unwrap(),
        ["customer/dan", "faq", "seeded"]
    );
    assert!(kv.list_keys("d", "").await.unwrap().is_empty());
    assert_eq!(kv.erase_conversations(&conversations).await.unwrap(), 0);
    assert_eq!(kv.erase_conversations(&[]).await.unwrap(), 0);

    let long_key = "k".repeat(MAX_KEY_BYTES + 1);
    let error = kv.set("a", &long_key, "v").await.unwrap_err();
    assert_eq!(error.to_string(), "kv key is longer than 1024 bytes");
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    let error = kv.set("a", "k", &big).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "kv value of `k` is larger than 1048576 bytes"
    );
    assert_eq!(kv.get("a", "k").await.unwrap(), None);
    let at_limit = "x".repeat(MAX_VALUE_BYTES);
    kv.set("a", "k", &at_limit).await.unwrap();
    assert_eq!(
        kv.get("a", "k").await.unwrap().map(|v| v.len()),
        Some(MAX_VALUE_BYTES)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_behaves_like_every_plugin_store() {
        conformance(&MemoryKv::default()).await;
    }
}
