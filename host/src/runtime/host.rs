//! Per-call state of a plugin instance and the host side of the imports every plugin gets:
//! logging (into the host's log, tagged with plugin and integration) and the integration's
//! settings. WASI is linked with an empty context: no files, no environment, no sockets.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Who a call serves: the integration and its settings.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub integration_id: String,
    pub settings: Arc<BTreeMap<String, String>>,
}

/// The state of one instance (one call).
pub struct PluginState {
    pub(crate) plugin: Arc<str>,
    pub(crate) ctx: CallContext,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: TrackingLimits,
}

impl PluginState {
    pub(crate) fn new(plugin: Arc<str>, ctx: CallContext, memory_bytes: usize) -> PluginState {
        PluginState {
            plugin,
            ctx,
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

    pub(crate) fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    /// Whether the plugin asked for more memory than its limit during this call.
    pub(crate) fn memory_exceeded(&self) -> bool {
        self.limits.exceeded
    }
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
