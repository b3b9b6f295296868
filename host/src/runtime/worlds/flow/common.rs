//! What bots and data actions (`switchboard:flow@0.1.0`) share: the linker with their imports
//! (`logging`, `kv`, `http`), and the [`Core`] of a loaded plugin, whose per-call state gives
//! each call the plugin's key-value namespace and its HTTP grant with the call's deadline.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store};

use super::super::super::bindings::flow_v0_1;
use super::super::super::caller::{Caller, FlowCallContext};
use super::super::super::error::PluginError;
use super::super::super::host::{http, kv, logging};
use super::super::super::limits::Limits;
use super::super::super::manifest::Manifest;
use super::super::super::shared::Shared;
use super::super::super::state::{HttpAccess, KvAccess, PluginState};
use crate::config::{HostRule, PluginGrant};

/// The linker for both flow worlds: an empty WASI, `logging`, `kv` and `http`.
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    flow_v0_1::types::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    logging::link_flow(&mut linker)?;
    kv::link(&mut linker)?;
    http::link(&mut linker)?;
    Ok(linker)
}

// `types` holds only types, but still needs a `Host` impl to be linked.
impl flow_v0_1::types::Host for PluginState {}

/// What bots and data actions share: identity, limits, grant.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    pub(crate) name: Arc<str>,
    pub(crate) wit_version: String,
    pub(crate) hash: String,
    pub(crate) limits: Limits,
    pub(crate) host_rules: Arc<[HostRule]>,
    pub(crate) grant: PluginGrant,
    pub(crate) manifest: Option<Manifest>,
}

impl Core {
    /// A fresh store for one call: the sandbox, the plugin's kv namespace and its HTTP grant,
    /// with the call's memory limit and deadline.
    pub(crate) fn store(&self, ctx: &FlowCallContext) -> Store<PluginState> {
        let mut state = PluginState::new(
            self.name.clone(),
            Caller::Flow(ctx.clone()),
            self.limits.memory_bytes,
        );
        state.kv = Some(KvAccess::new(self.shared.kv_store(), &ctx.conversation_id));
        state.http = Some(HttpAccess {
            gate: self.shared.http_gate().clone(),
            rules: self.host_rules.clone(),
            deadline: Instant::now() + self.limits.deadline,
        });
        state.into_store(self.shared.engine(), self.limits)
    }

    pub(crate) fn error(
        &self,
        function: &'static str,
        e: wasmtime::Error,
        store: &Store<PluginState>,
    ) -> PluginError {
        PluginError::call(
            &self.name,
            &self.wit_version,
            function,
            e,
            store.data().memory_exceeded(),
        )
    }
}

/// Fields as a JSON object of strings; a repeated name keeps its last value.
pub(crate) fn fields_to_map(fields: Vec<(String, String)>) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}
