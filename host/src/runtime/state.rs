//! The state of one plugin instance, that is of one call.
//!
//! Every plugin gets the same sandbox: a WASI context with nothing in it (no files, no
//! environment, no sockets, no stdio), a resource table, and a memory limiter that remembers a
//! refused growth so the error can say why. On top of it, each capability of `host/` keeps here
//! what it needs for this call, built by the world's loader: who the call serves (`logging`,
//! the channel `config`), the plugin's key-value store (`kv`) and its HTTP grant (`http`). A
//! world that does not import a capability leaves it empty, and its linker does not offer it.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::caller::Caller;
use super::engine::arm_deadline;
use super::http_gate::HttpGate;
use super::limits::Limits;
use crate::config::HostRule;
use crate::store::plugin_kv::KvStore;

/// The state of one instance (one call).
pub struct PluginState {
    pub(crate) plugin: Arc<str>,
    pub(crate) caller: Caller,
    /// The plugin's key-value store, for worlds that import `kv`.
    pub(crate) kv: Option<KvAccess>,
    /// The plugin's HTTP grant, for worlds that import `http`.
    pub(crate) http: Option<HttpAccess>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: TrackingLimits,
}

impl PluginState {
    /// The sandbox alone, with no `kv` or `http` capability.
    pub(crate) fn new(plugin: Arc<str>, caller: Caller, memory_bytes: usize) -> PluginState {
        PluginState {
            plugin,
            caller,
            kv: None,
            http: None,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: TrackingLimits {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory_bytes)
                    .trap_on_grow_failure(true)
                    .build(),
                exceeded: false,
            },
        }
    }

    /// A fresh store for this state with the call's memory limit and deadline armed.
    pub(crate) fn into_store(self, engine: &Engine, limits: Limits) -> Store<PluginState> {
        let mut store = Store::new(engine, self);
        store.limiter(|s| &mut s.limits);
        arm_deadline(&mut store, limits.deadline);
        store
    }

    /// Whether the plugin asked for more memory than its limit during this call.
    pub(crate) fn memory_exceeded(&self) -> bool {
        self.limits.exceeded
    }
}

/// What an instance's `kv` import needs: the store and the conversation the call serves (its
/// writes are that conversation's, for erasure); the namespace is the plugin's name.
pub(crate) struct KvAccess {
    pub(crate) store: KvStore,
    pub(crate) conversation: Option<String>,
}

impl KvAccess {
    pub(crate) fn new(store: KvStore, conversation: &str) -> KvAccess {
        KvAccess {
            store,
            conversation: (!conversation.is_empty()).then(|| conversation.to_string()),
        }
    }
}

/// What an instance's `http` import needs: the client, the plugin's granted hosts and the
/// moment the call's deadline passes.
pub(crate) struct HttpAccess {
    pub(crate) gate: HttpGate,
    pub(crate) rules: Arc<[HostRule]>,
    pub(crate) deadline: Instant,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `StoreLimits`, remembering whether a growth was refused so the error can say why.
struct TrackingLimits {
    inner: StoreLimits,
    exceeded: bool,
}

impl ResourceLimiter for TrackingLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.exceeded = true;
        }
        r
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}
