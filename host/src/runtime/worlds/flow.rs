//! What bots and data actions (`switchboard:flow@0.1.0`) share: the linker with their imports
//! (`logging`, `kv`, `http`), loading with the plugin's grant, and the per-call state, in which
//! each call gets the plugin's key-value namespace and its HTTP grant with the call's deadline.
//! The two worlds' calls are in `bot.rs` and `data_action.rs`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use super::super::PluginRuntime;
use super::super::bindings::flow_v0_1;
use super::super::caller::{Caller, FlowCallContext};
use super::super::error::PluginError;
use super::super::grants;
use super::super::host::{http, kv, logging};
use super::super::limits::Limits;
use super::super::manifest::Manifest;
use super::super::state::{HttpAccess, KvAccess, PluginState};
use super::bot::BotPlugin;
use super::data_action::DataActionPlugin;
use crate::config::{HostRule, PluginGrant};

/// Which world a flow plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowPluginKind {
    Bot,
    DataAction,
}

/// A loaded, checked flow plugin.
pub enum FlowPlugin {
    Bot(BotPlugin),
    DataAction(DataActionPlugin),
}

impl FlowPlugin {
    fn core(&self) -> &Core {
        match self {
            FlowPlugin::Bot(p) => &p.core,
            FlowPlugin::DataAction(p) => &p.core,
        }
    }

    pub fn kind(&self) -> FlowPluginKind {
        match self {
            FlowPlugin::Bot(_) => FlowPluginKind::Bot,
            FlowPlugin::DataAction(_) => FlowPluginKind::DataAction,
        }
    }

    pub fn name(&self) -> &str {
        &self.core().name
    }

    pub fn wit_version(&self) -> &str {
        &self.core().wit_version
    }

    /// SHA-256 of the component's bytes.
    pub fn hash(&self) -> &str {
        &self.core().hash
    }

    pub fn grant(&self) -> &PluginGrant {
        &self.core().grant
    }

    /// The limits its calls run under (the configuration's, overridden by its grant).
    pub fn limits(&self) -> Limits {
        self.core().limits
    }

    /// What the component's manifest asks for, if it has one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.core().manifest.as_ref()
    }

    pub fn as_bot(&self) -> Option<&BotPlugin> {
        match self {
            FlowPlugin::Bot(p) => Some(p),
            FlowPlugin::DataAction(_) => None,
        }
    }

    pub fn as_data_action(&self) -> Option<&DataActionPlugin> {
        match self {
            FlowPlugin::DataAction(p) => Some(p),
            FlowPlugin::Bot(_) => None,
        }
    }
}

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

/// Checks the manifest and the HTTP grant, links the component for its world and, for a data
/// action, runs the health check.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn load(
    runtime: PluginRuntime,
    name: &str,
    (component, hash): (Component, String),
    kind: FlowPluginKind,
    wit_version: &str,
    grant: &PluginGrant,
    limits: Limits,
    manifest: Option<Manifest>,
) -> Result<FlowPlugin, PluginError> {
    grants::check_manifest(name, manifest.as_ref(), limits, Some(&grant.http_hosts))?;
    let host_rules = grants::http_rules(name, grant)?;
    let instance_pre = runtime
        .flow_linker()
        .instantiate_pre(&component)
        .map_err(|e| PluginError::load(name, format!("its imports cannot be satisfied: {e:#}")))?;
    let core = Core {
        runtime,
        name: name.into(),
        wit_version: wit_version.to_string(),
        hash,
        limits,
        host_rules,
        grant: PluginGrant {
            name: name.to_string(),
            ..grant.clone()
        },
        manifest,
    };
    match kind {
        FlowPluginKind::Bot => BotPlugin::new(core, instance_pre).map(FlowPlugin::Bot),
        FlowPluginKind::DataAction => DataActionPlugin::load(core, instance_pre)
            .await
            .map(FlowPlugin::DataAction),
    }
}

/// What bots and data actions share: identity, limits, grant.
pub(crate) struct Core {
    runtime: PluginRuntime,
    pub(crate) name: Arc<str>,
    pub(crate) wit_version: String,
    hash: String,
    limits: Limits,
    host_rules: Arc<[HostRule]>,
    grant: PluginGrant,
    manifest: Option<Manifest>,
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
        state.kv = Some(KvAccess::new(self.runtime.kv_store()));
        state.http = Some(HttpAccess {
            gate: self.runtime.http_gate().clone(),
            rules: self.host_rules.clone(),
            deadline: Instant::now() + self.limits.deadline,
        });
        state.into_store(self.runtime.engine(), self.limits)
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
