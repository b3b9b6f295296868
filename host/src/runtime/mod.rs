//! The Wasm side of the host: one wasmtime engine, plugin loading, the sandbox, the limits.
//!
//! Every plugin call gets a fresh instance in a fresh store (about 11 µs with the pooling
//! allocator), so a plugin that traps, loops or leaks cannot affect the next call. Each call has
//! a deadline (epoch interruption, ticked by a background thread) and a memory limit; the WASI
//! context has nothing preopened, no environment, no sockets and no stdio.
//!
//! Organised by capability, as in wasmtime's and Spin's hosts:
//! - `engine.rs`: the engine, its pool, the epoch ticker; compilation through `cache.rs`.
//! - `detect.rs`: which world and WIT version a component implements, read from its exports;
//!   [`PluginRuntime::load`] picks the world from it.
//! - `worlds/`: one module per world (channel adapters 0.2.0 and 0.1.0, bots, data actions):
//!   loading, calls and conversions to the host's types. `bindings.rs` holds the generated code
//!   of every WIT version.
//! - `host/`: the imports, one file per interface (logging, settings, kv, http), each written
//!   once for every world and version that imports it.
//! - `grants.rs`: the limits and HTTP hosts granted per plugin; `manifest.rs`: what a plugin
//!   asks for; `state.rs`: one call's sandbox and capability state.
//!
//! Compiled components are cached on disk by content hash and engine settings, so a restart
//! (or a test run) does not compile the same component again.

mod bindings;
mod cache;
mod caller;
mod detect;
mod engine;
mod error;
mod grants;
mod host;
mod http_gate;
mod inspect;
mod limits;
mod manifest;
mod plugin_kv;
mod state;
mod worlds;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub use crate::config::check_http_host;
pub use crate::events::{AdapterInfo, Capabilities, TextUnit};
pub use caller::{CallContext, FlowCallContext};
pub use detect::{SUPPORTED_CHANNEL_VERSIONS, SUPPORTED_FLOW_VERSIONS};
pub use error::{AdapterError, CallErrorKind, PluginError};
pub use inspect::{Outline, outline};
pub use limits::Limits;
pub use manifest::Manifest;
pub use plugin_kv::{KvStore, MAX_KEY_BYTES, MAX_VALUE_BYTES, MemoryKv, PluginKv, check_kv_entry};
pub use state::PluginState;
pub use worlds::bot::{BotExit, BotInput, BotOutput, BotPlugin, BotReply};
pub use worlds::channel::{AdapterPlugin, HttpRequest, WebhookOutcome, WebhookRequest};
pub use worlds::data_action::{ActionError, ActionInfo, DataActionPlugin};
pub use worlds::flow::{FlowPlugin, FlowPluginKind};

#[cfg(test)]
pub(crate) use plugin_kv::conformance as kv_conformance;

use crate::config::{PluginGrant, PluginsConfig};
use detect::WorldKind;
use engine::WasmEngine;
use http_gate::HttpGate;

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
    inner: Arc<Inner>,
}

struct Inner {
    engine: WasmEngine,
    limits: Limits,
    channel_linker: Linker<PluginState>,
    flow_linker: Linker<PluginState>,
    kv: RwLock<KvStore>,
    http: HttpGate,
}

impl PluginRuntime {
    pub fn new(config: &PluginsConfig) -> anyhow::Result<PluginRuntime> {
        let limits = Limits {
            deadline: Duration::from_millis(config.deadline_ms),
            memory_bytes: (config.memory_mib as usize) * 1024 * 1024,
            max_output_bytes: config.max_output_bytes,
        };
        let engine = WasmEngine::new(limits, config.cache_dir.clone())?;
        let channel_linker = worlds::channel::linker(engine.engine())
            .context("cannot link the channel-adapter imports")?;
        let flow_linker =
            worlds::flow::linker(engine.engine()).context("cannot link the flow-plugin imports")?;
        Ok(PluginRuntime {
            inner: Arc::new(Inner {
                engine,
                limits,
                channel_linker,
                flow_linker,
                kv: RwLock::new(Arc::new(MemoryKv::default())),
                http: HttpGate::new()?,
            }),
        })
    }

    /// The limits of `[plugins]`, which a plugin's grant may override.
    pub fn limits(&self) -> Limits {
        self.inner.limits
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
        let compiled = self.inner.engine.compile(name, bytes).await?;
        let detected = detect::detect(&self.inner.engine.exports(&compiled.0))
            .map_err(|m| PluginError::load(name, m))?;
        if let Some(flow_plugin) = flow_plugin {
            detect::expect_kind(&detected, flow_plugin).map_err(|m| PluginError::load(name, m))?;
        }
        let flow_kind = match detected.kind() {
            WorldKind::Adapter => {
                let adapter = AdapterPlugin::load(
                    self.clone(),
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
        let plugin = worlds::flow::load(
            self.clone(),
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
        self.inner
            .kv
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes flow plugins use `kv` from their next call on (the host gives it
    /// `store::plugin_kv::SqlitePluginKv`, the file `plugin-kv.db` beside its database).
    pub fn set_kv_store(&self, kv: KvStore) {
        *self.inner.kv.write().unwrap_or_else(|e| e.into_inner()) = kv;
    }

    fn engine(&self) -> &Engine {
        self.inner.engine.engine()
    }

    fn channel_linker(&self) -> &Linker<PluginState> {
        &self.inner.channel_linker
    }

    fn flow_linker(&self) -> &Linker<PluginState> {
        &self.inner.flow_linker
    }

    fn http_gate(&self) -> &HttpGate {
        &self.inner.http
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
