//! The runtime the host holds: it compiles and checks components, loads each as the world its
//! exports implement, and keeps what every plugin shares ([`Shared`]: the engine, the linkers,
//! the plugins' key-value store, the HTTP gate). Plugins hold that, not the runtime.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::detect::{self, WorldKind};
use super::engine::WasmEngine;
use super::error::PluginError;
use super::grants;
use super::http_gate::HttpGate;
use super::limits::Limits;
use super::manifest;
use super::shared::Shared;
use super::worlds::channel::{self, AdapterPlugin};
use super::worlds::flow::{self, FlowPlugin, FlowPluginKind};
use crate::config::{PluginGrant, PluginsConfig};
use crate::store::plugin_kv::{KvStore, MemoryKv};

/// A loaded plugin, of the kind its component's exports say ([`PluginRuntime::load`]).
pub enum Loaded {
    /// A channel adapter (`switchboard:channel/adapter`).
    Adapter(AdapterPlugin),
    /// A bot or a data action (`switchboard:flow`).
    Flow(FlowPlugin),
}

impl Loaded {
    pub fn name(&self) -> &str {
        match self {
            Loaded::Adapter(p) => p.name(),
            Loaded::Flow(p) => p.name(),
        }
    }

    /// SHA-256 of the component's bytes.
    pub fn hash(&self) -> &str {
        match self {
            Loaded::Adapter(p) => p.hash(),
            Loaded::Flow(p) => p.hash(),
        }
    }

    /// The WIT package version the component implements.
    pub fn wit_version(&self) -> &str {
        match self {
            Loaded::Adapter(p) => p.wit_version(),
            Loaded::Flow(p) => p.wit_version(),
        }
    }
}

/// The engine, the linkers with the host's imports, and what the imports share (the plugins'
/// key-value store, the HTTP client). Cloning is cheap and shares all of it.
#[derive(Clone)]
pub struct PluginRuntime {
    shared: Arc<Shared>,
    limits: Limits,
}

impl PluginRuntime {
    pub fn new(config: &PluginsConfig) -> anyhow::Result<PluginRuntime> {
        let limits = Limits {
            deadline: Duration::from_millis(config.deadline_ms),
            memory_bytes: (config.memory_mib as usize) * 1024 * 1024,
            max_output_bytes: config.max_output_bytes,
        };
        let engine = WasmEngine::new(limits, config.cache_dir.clone())?;
        let channel_linker =
            channel::linker(engine.engine()).context("cannot link the channel-adapter imports")?;
        let flow_linker =
            flow::linker(engine.engine()).context("cannot link the flow-plugin imports")?;
        Ok(PluginRuntime {
            shared: Arc::new(Shared::new(
                engine,
                channel_linker,
                flow_linker,
                Arc::new(MemoryKv::default()),
                HttpGate::new()?,
            )),
            limits,
        })
    }

    /// The limits of `[plugins]`, which a plugin's grant may override.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles (or fetches from the cache) and checks the component in `bytes`, and loads it as
    /// the world its exports implement: a channel adapter or a flow plugin. `grant` says what it
    /// may do (its `name` is not consulted). A component that implements no world this host
    /// runs is refused with the worlds and versions it does run.
    pub async fn load(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: &PluginGrant,
    ) -> Result<Loaded, PluginError> {
        self.load_kind(name, bytes, grant, None).await
    }

    /// [`PluginRuntime::load`], refusing a component of the other kind than `flow_plugin` says
    /// (when given) before setting it up.
    async fn load_kind(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: &PluginGrant,
        flow_plugin: Option<bool>,
    ) -> Result<Loaded, PluginError> {
        let limits = grants::limits(self.limits(), name, grant)?;
        let manifest = manifest::read(&bytes).map_err(|m| PluginError::load(name, m))?;
        let engine = self.shared.wasm_engine();
        let compiled = engine.compile(name, bytes).await?;
        let detected =
            detect::detect(&engine.exports(&compiled.0)).map_err(|m| PluginError::load(name, m))?;
        if let Some(flow_plugin) = flow_plugin {
            detect::expect_kind(&detected, flow_plugin).map_err(|m| PluginError::load(name, m))?;
        }
        let flow_kind = match detected.kind() {
            WorldKind::Adapter => {
                let adapter = AdapterPlugin::load(
                    self.shared.clone(),
                    name,
                    compiled,
                    detected.version,
                    limits,
                    manifest,
                )
                .await?;
                return Ok(Loaded::Adapter(adapter));
            }
            WorldKind::Bot => FlowPluginKind::Bot,
            WorldKind::DataAction => FlowPluginKind::DataAction,
        };
        let plugin = flow::load(
            self.shared.clone(),
            name,
            compiled,
            flow_kind,
            detected.version,
            grant,
            limits,
            manifest,
        )
        .await?;
        Ok(Loaded::Flow(plugin))
    }

    /// Compile (or fetch from the cache) and check the adapter at `path`, naming the plugin
    /// after the file stem, with the `[plugins]` limits.
    pub async fn load_adapter_file(&self, path: &Path) -> Result<AdapterPlugin, PluginError> {
        let (name, bytes) = read_component(path).await?;
        self.load_adapter(&name, bytes, &PluginGrant::none(&name))
            .await
    }

    /// Compile (or fetch from the cache) and check an adapter component from its bytes; its
    /// calls run under `[plugins]`, overridden by its grant (`[[plugin]]`). A flow plugin is
    /// refused.
    pub async fn load_adapter(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: &PluginGrant,
    ) -> Result<AdapterPlugin, PluginError> {
        match self.load_kind(name, bytes, grant, Some(false)).await? {
            Loaded::Adapter(adapter) => Ok(adapter),
            // `load_kind` refused it already, with the worlds an adapter implements.
            Loaded::Flow(_) => Err(PluginError::load(name, "it is not a channel adapter")),
        }
    }

    /// Compile (or fetch from the cache) and check the flow plugin at `path`, naming it after the
    /// file stem. `grant` says what it may do; its `name` is not consulted.
    pub async fn load_flow_plugin_file(
        &self,
        path: &Path,
        grant: PluginGrant,
    ) -> Result<FlowPlugin, PluginError> {
        let (name, bytes) = read_component(path).await?;
        self.load_flow_plugin(&name, bytes, grant).await
    }

    /// Compile (or fetch from the cache) and check a flow plugin from its bytes. A channel
    /// adapter is refused.
    pub async fn load_flow_plugin(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: PluginGrant,
    ) -> Result<FlowPlugin, PluginError> {
        match self.load_kind(name, bytes, &grant, Some(true)).await? {
            Loaded::Flow(plugin) => Ok(plugin),
            // `load_kind` refused it already, with the worlds a flow plugin implements.
            Loaded::Adapter(_) => Err(PluginError::load(name, "it is not a flow plugin")),
        }
    }

    /// The key-value store flow plugins use. Until [`PluginRuntime::set_kv_store`] is called it
    /// is a [`MemoryKv`], lost at exit.
    pub fn kv_store(&self) -> KvStore {
        self.shared.kv_store()
    }

    /// Makes flow plugins use `kv` from their next call on (the host gives it
    /// `store::sqlite::SqlitePluginKv`, the file `plugin-kv.db` beside its database).
    pub fn set_kv_store(&self, kv: KvStore) {
        self.shared.set_kv_store(kv);
    }
}

/// Reads a component file; the plugin is named after the file stem.
async fn read_component(path: &Path) -> Result<(String, Vec<u8>), PluginError> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| PluginError::load(&name, format!("cannot read {}: {e}", path.display())))?;
    Ok((name, bytes))
}
