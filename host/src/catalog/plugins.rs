//! Plugin components and their versions.
//!
//! A plugin named `NAME` runs the version an admin published (kept in the store), else the file
//! `NAME.wasm` in the plugins folder, else the component built into the binary (a release's,
//! `crate::embedded`). A file rebuilt since the last publish becomes a new version (an admin can
//! roll back); a built-in component becomes one only when the store has never held it (the
//! first start of a new release), so a version an admin published outlives restarts. Every
//! component loaded is recorded as a version.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::bail;

use crate::config::{PluginGrant, PluginsConfig};
use crate::engine::PluginKind;
use crate::model::now_ms;
use crate::runtime::{AdapterPlugin, FlowPlugin, FlowPluginKind, PluginRuntime};
use crate::store::CatalogStore;

/// What is known about a loaded plugin's version.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    pub version: i64,
    pub world: String,
    pub loaded_at: i64,
}

/// Where a component's bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The version an admin published, from the store.
    Store,
    /// The plugins folder.
    File,
    /// Built into the binary (`crate::embedded`).
    Embedded,
}

impl Source {
    /// How the log names it.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Store => "published version (store)",
            Source::File => "plugins folder",
            Source::Embedded => "built into the binary",
        }
    }
}

/// The plugin catalog (see the module docs).
pub struct PluginCatalog {
    runtime: PluginRuntime,
    store: Arc<dyn CatalogStore>,
    dir: PathBuf,
    grants: Vec<PluginGrant>,
    flow_plugins: RwLock<HashMap<String, Arc<FlowPlugin>>>,
    meta: RwLock<HashMap<String, PluginMeta>>,
}

impl PluginCatalog {
    pub fn new(
        runtime: PluginRuntime,
        store: Arc<dyn CatalogStore>,
        config: &PluginsConfig,
        grants: Vec<PluginGrant>,
    ) -> PluginCatalog {
        PluginCatalog {
            runtime,
            store,
            dir: config.dir.clone(),
            grants,
            flow_plugins: RwLock::new(HashMap::new()),
            meta: RwLock::new(HashMap::new()),
        }
    }

    pub fn runtime(&self) -> &PluginRuntime {
        &self.runtime
    }

    /// The plugins folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// What the configuration grants plugin `name` (`[[plugin]]`), or nothing beyond the
    /// defaults.
    pub fn grant(&self, name: &str) -> PluginGrant {
        self.grants
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .unwrap_or_else(|| PluginGrant::none(name))
    }

    /// The names the configuration grants something to.
    pub fn granted_names(&self) -> Vec<String> {
        self.grants.iter().map(|g| g.name.clone()).collect()
    }

    /// The component file of plugin `name` in the plugins folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.wasm"))
    }

    /// Whether plugin `name` has a component to load: a stored version, a file or a built-in one.
    pub async fn has_component(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self.store.active_plugin(name).await?.is_some()
            || self.file(name).exists()
            || crate::embedded::plugin(name).is_some())
    }

    /// The component to load for plugin `name` (see the module docs) and where it came from.
    pub async fn component(&self, name: &str) -> anyhow::Result<(Vec<u8>, Source)> {
        let file = self.read_file(name);
        let stored = self.store.active_plugin(name).await?;
        // With a published version, an unreadable file leaves that version in place.
        let file = if stored.is_some() {
            file.unwrap_or(None)
        } else {
            file?
        };
        let local = match file {
            Some(file) => Some((file, Source::File)),
            None => crate::embedded::plugin(name).map(|bytes| (bytes.to_vec(), Source::Embedded)),
        };
        let local_hash = local.as_ref().map(|(bytes, _)| sha256_hex(bytes));
        let held = match (&stored, &local) {
            (Some(_), Some((_, Source::Embedded))) => self
                .store
                .plugin_versions(name)
                .await?
                .into_iter()
                .map(|v| v.hash)
                .collect(),
            _ => Vec::new(),
        };
        let choice = pick(
            local_hash.as_deref().zip(local.as_ref().map(|(_, s)| *s)),
            stored.as_ref().map(|s| s.hash.as_str()),
            &held,
        );
        match (choice, local, stored) {
            (Pick::Local, Some(local), _) => Ok(local),
            (Pick::Stored, _, Some(stored)) => Ok((stored.bytes, Source::Store)),
            _ => {
                // The answer may reach an admin API caller: it names the file in the plugins
                // folder, not the folder's absolute path (which the log has).
                tracing::warn!("plugin `{name}`: no {}", self.file(name).display());
                bail!(
                    "not found: no `{name}.wasm` in the plugins folder ([plugins] dir), none built into this binary, and none published (run `cargo xtask build-plugins`, or PUT it to /admin/v1/plugins/{name})"
                )
            }
        }
    }

    /// The file `NAME.wasm` in the plugins folder, if there is one.
    fn read_file(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.file(name);
        match std::fs::read(&path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                tracing::warn!("plugin `{name}`: cannot read {}: {e}", path.display());
                bail!(
                    "cannot read `{name}.wasm` in the plugins folder: {}",
                    e.kind()
                )
            }
        }
    }

    /// Says in the log where plugins come from: the plugins folder and the built-in ones.
    pub fn log_sources(&self) {
        let builtin = crate::embedded::plugin_names();
        let exists = self.dir.is_dir();
        if builtin.is_empty() {
            tracing::info!(
                "plugins: from the folder {}{}; none built into this binary",
                self.dir.display(),
                if exists { "" } else { " (it does not exist)" }
            );
        } else {
            let folder = if exists {
                "adds to them and overrides them by name"
            } else {
                "does not exist"
            };
            tracing::info!(
                "plugins: built into this binary ({}); the folder {} {folder}",
                builtin.join(", "),
                self.dir.display()
            );
        }
    }

    /// Stores the loaded component as a version (a no-op when it is the active one) and
    /// remembers it as loaded. Returns the version.
    pub async fn record_version(
        &self,
        name: &str,
        hash: &str,
        world: &str,
        bytes: &[u8],
    ) -> anyhow::Result<i64> {
        let (version, _) = self
            .store
            .publish_plugin(name, hash, world, bytes, now_ms())
            .await?;
        self.meta.write().unwrap_or_else(|e| e.into_inner()).insert(
            name.to_string(),
            PluginMeta {
                version,
                world: world.to_string(),
                loaded_at: now_ms(),
            },
        );
        Ok(version)
    }

    pub fn meta(&self, name: &str) -> Option<PluginMeta> {
        self.meta
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Loads adapter `name` (its active component) and records its version.
    pub async fn load_adapter(&self, name: &str) -> anyhow::Result<(Arc<AdapterPlugin>, i64)> {
        let (bytes, source) = self.component(name).await?;
        let adapter = self
            .runtime
            .load_adapter(name, bytes.clone(), &self.grant(name))
            .await?;
        let version = self
            .record_version(name, adapter.hash(), "adapter", &bytes)
            .await?;
        tracing::info!(plugin = %name, version, wit = adapter.wit_version(), hash = &adapter.hash()[..12], source = source.describe(), "adapter loaded");
        Ok((Arc::new(adapter), version))
    }

    /// Loads (or reloads) flow plugin `name` (its active component), with its grant.
    pub async fn load_flow_plugin(&self, name: &str) -> anyhow::Result<()> {
        let (bytes, source) = self.component(name).await?;
        let plugin = self
            .runtime
            .load_flow_plugin(name, bytes.clone(), self.grant(name))
            .await?;
        self.record_version(name, plugin.hash(), world_of(&plugin), &bytes)
            .await?;
        tracing::info!(plugin = %name, kind = ?plugin.kind(), source = source.describe(), "flow plugin loaded");
        self.set_flow_plugin(name, plugin);
        Ok(())
    }

    /// Makes `plugin` the one flow plugin `name` runs from its next call on.
    pub fn set_flow_plugin(&self, name: &str, plugin: FlowPlugin) {
        self.flow_plugins
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Arc::new(plugin));
    }

    /// Loads the flow plugins `names` that are not loaded yet. A plugin that is missing or fails
    /// to load is logged (and reported again by the validation of every flow that names it).
    pub async fn load_flow_plugins(&self, names: impl IntoIterator<Item = String>) {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names.dedup();
        for name in names {
            if self.flow_plugin(&name).is_some() {
                continue;
            }
            if let Err(e) = self.load_flow_plugin(&name).await {
                tracing::error!(plugin = %name, "cannot load flow plugin from {}: {e:#}", self.dir.display());
            }
        }
    }

    pub fn flow_plugin(&self, name: &str) -> Option<Arc<FlowPlugin>> {
        self.flow_plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every loaded flow plugin, by name.
    pub fn flow_plugins(&self) -> Vec<(String, Arc<FlowPlugin>)> {
        let mut all: Vec<_> = self
            .flow_plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The loaded flow plugins' kinds, for flow validation.
    pub fn kinds(&self) -> HashMap<String, PluginKind> {
        self.flow_plugins()
            .into_iter()
            .map(|(name, p)| (name, kind_of(&p)))
            .collect()
    }
}

/// Which component a plugin runs (see the module docs).
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    /// The file in the plugins folder or the built-in component.
    Local,
    /// The active version in the store.
    Stored,
    /// Nothing to run.
    Missing,
}

/// The rule of the module docs, given the local component's hash and where it is (the folder's
/// file, else the built-in one), the active version's hash, and every hash the store holds for
/// the plugin (read only for a built-in component).
fn pick(local: Option<(&str, Source)>, active: Option<&str>, held: &[String]) -> Pick {
    match (local, active) {
        (None, None) => Pick::Missing,
        (Some(_), None) => Pick::Local,
        (None, Some(_)) => Pick::Stored,
        // A file rebuilt since the last publish.
        (Some((hash, Source::File)), Some(active)) if hash != active => Pick::Local,
        // A built-in component the store never held: a new release's.
        (Some((hash, Source::Embedded)), Some(active))
            if hash != active && !held.iter().any(|h| h == hash) =>
        {
            Pick::Local
        }
        (Some(_), Some(_)) => Pick::Stored,
    }
}

/// The world name a flow plugin is recorded under.
pub fn world_of(plugin: &FlowPlugin) -> &'static str {
    match plugin.kind() {
        FlowPluginKind::Bot => "bot",
        FlowPluginKind::DataAction => "data-action",
    }
}

/// The engine's view of a flow plugin's kind.
pub fn kind_of(plugin: &FlowPlugin) -> PluginKind {
    match plugin.kind() {
        FlowPluginKind::Bot => PluginKind::Bot,
        FlowPluginKind::DataAction => PluginKind::DataAction,
    }
}

/// The content hash components are compared by.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(hashes: &[&str]) -> Vec<String> {
        hashes.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn a_local_component_runs_until_one_is_published() {
        assert_eq!(pick(None, None, &[]), Pick::Missing);
        assert_eq!(pick(Some(("a", Source::File)), None, &[]), Pick::Local);
        assert_eq!(pick(Some(("a", Source::Embedded)), None, &[]), Pick::Local);
        assert_eq!(pick(None, Some("a"), &[]), Pick::Stored);
    }

    #[test]
    fn a_file_rebuilt_since_the_last_publish_replaces_it() {
        assert_eq!(pick(Some(("b", Source::File)), Some("a"), &[]), Pick::Local);
        assert_eq!(
            pick(Some(("a", Source::File)), Some("a"), &[]),
            Pick::Stored
        );
    }

    #[test]
    fn a_built_in_component_replaces_the_published_one_only_when_it_is_new_to_the_store() {
        // A new release: its adapter was never stored.
        assert_eq!(
            pick(
                Some(("new", Source::Embedded)),
                Some("old"),
                &held(&["old"])
            ),
            Pick::Local
        );
        // An admin published a version over the built-in one: it outlives restarts.
        assert_eq!(
            pick(
                Some(("builtin", Source::Embedded)),
                Some("published"),
                &held(&["builtin", "published"])
            ),
            Pick::Stored
        );
        // An admin rolled back to the built-in one's version.
        assert_eq!(
            pick(
                Some(("builtin", Source::Embedded)),
                Some("builtin"),
                &held(&["builtin", "published"])
            ),
            Pick::Stored
        );
    }
}
