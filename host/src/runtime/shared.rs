//! What every plugin of one runtime shares, which is all a world needs to run a call: the
//! engine, the linkers with the host's imports, the plugins' key-value store and the HTTP gate.
//!
//! [`PluginRuntime`](super::PluginRuntime) builds it once and hands each plugin it loads an
//! `Arc` of it, so the worlds never hold the runtime that loads them, and a key-value store set
//! later ([`PluginRuntime::set_kv_store`](super::PluginRuntime::set_kv_store)) reaches the
//! plugins already loaded.

use std::sync::RwLock;

use wasmtime::Engine;
use wasmtime::component::Linker;

use super::engine::WasmEngine;
use super::http_gate::HttpGate;
use super::state::PluginState;
use crate::store::plugin_kv::KvStore;

/// The engine, the linkers and what the imports share; plugins hold it in an `Arc`.
pub(crate) struct Shared {
    engine: WasmEngine,
    channel_linker: Linker<PluginState>,
    flow_linker: Linker<PluginState>,
    kv: RwLock<KvStore>,
    http: HttpGate,
}

impl Shared {
    pub(crate) fn new(
        engine: WasmEngine,
        channel_linker: Linker<PluginState>,
        flow_linker: Linker<PluginState>,
        kv: KvStore,
        http: HttpGate,
    ) -> Shared {
        Shared {
            engine,
            channel_linker,
            flow_linker,
            kv: RwLock::new(kv),
            http,
        }
    }

    /// The engine with its pool, ticker and compilation cache.
    pub(crate) fn wasm_engine(&self) -> &WasmEngine {
        &self.engine
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.engine.engine()
    }

    /// The imports of channel adapters (`worlds/channel`).
    pub(crate) fn channel_linker(&self) -> &Linker<PluginState> {
        &self.channel_linker
    }

    /// The imports of bots and data actions (`worlds/flow`).
    pub(crate) fn flow_linker(&self) -> &Linker<PluginState> {
        &self.flow_linker
    }

    /// The key-value store flow plugins' calls get, as it is now.
    pub(crate) fn kv_store(&self) -> KvStore {
        self.kv.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Gives flow plugins `kv` from their next call on.
    pub(crate) fn set_kv_store(&self, kv: KvStore) {
        *self.kv.write().unwrap_or_else(|e| e.into_inner()) = kv;
    }

    pub(crate) fn http_gate(&self) -> &HttpGate {
        &self.http
    }
}
