//! Flow plugins (`switchboard:flow@0.1.0`): bots (world `bot`) and data actions (world
//! `data-action`). Loading, the world and version check, the health check and the typed calls,
//! each in a fresh sandboxed instance with the plugin's grant applied; and the host side of the
//! imports they get: `logging`, `kv` (the [`KvStore`]) and `http` (only to granted hosts).
//!
//! The generated bindings stay in this file: callers see the host types below.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime_wasi::{WasiCtxView, WasiView};

use super::error::PluginError;
use super::flow_http::{FetchError, FetchRequest, HostRule, HttpGate, check_http_host};
use super::host::{CallContext, PluginState};
use super::kv::KvStore;
use super::{Limits, PluginRuntime};
use crate::config::PluginGrant;
use crate::events::QuickReply;

/// WIT versions of `switchboard:flow` this host can run, newest first.
pub const SUPPORTED_FLOW_VERSIONS: &[&str] = &["0.1.0"];

pub(super) const BOT_EXPORT: &str = "switchboard:flow/bot@";
pub(super) const DATA_ACTION_EXPORT: &str = "switchboard:flow/data-action@";

mod bot_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/flow",
        world: "bot-plugin",
        imports: {
            "switchboard:flow/http.fetch": async,
            "switchboard:flow/kv": trappable,
        },
        exports: { default: async },
    });
}

mod action_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/flow",
        world: "data-action-plugin",
        exports: { default: async },
        with: {
            "switchboard:flow/types": super::bot_bindings::switchboard::flow::types,
            "switchboard:flow/logging": super::bot_bindings::switchboard::flow::logging,
            "switchboard:flow/kv": super::bot_bindings::switchboard::flow::kv,
            "switchboard:flow/http": super::bot_bindings::switchboard::flow::http,
        },
    });
}

use bot_bindings::switchboard::flow::{http as whttp, kv as wkv, logging, types as wt};

// ---------------------------------------------------------------------------------------------
// Host types

/// Who a flow-plugin call serves, for the plugin's log lines.
#[derive(Debug, Clone, Default)]
pub struct FlowCallContext {
    /// The flow making the call.
    pub flow: String,
    /// The conversation the call is about ("" when none).
    pub conversation_id: String,
}

/// A customer's turn, as a flow hands it to a bot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotInput {
    pub conversation_id: String,
    pub customer_id: String,
    pub text: Option<String>,
    pub quick_reply: Option<String>,
    /// What the bot returned as `session` on the previous turn; "" at first.
    pub session: String,
    /// The flow's variables.
    pub variables: Map<String, Value>,
}

/// One message a bot sends.
#[derive(Debug, Clone, PartialEq)]
pub struct BotReply {
    pub text: String,
    pub quick_replies: Vec<QuickReply>,
}

/// How the conversation goes on after a bot's turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotExit {
    /// The bot waits for the customer's next message.
    Continue,
    /// The bot is done; the flow goes on with its intent and slots.
    Done,
    /// The customer wants a human.
    Handoff,
    /// The bot cannot go on.
    Error(String),
}

/// A bot's answer to a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct BotOutput {
    pub replies: Vec<BotReply>,
    pub intent: Option<String>,
    /// Between 0 and 1 (the host clamps it; a NaN becomes `None`).
    pub confidence: Option<f32>,
    /// Every value is a JSON string.
    pub slots: Map<String, Value>,
    pub session: String,
    pub exit: BotExit,
}

/// One action of a data-action plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// Why a data action returned no outputs (the plugin ran and said so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("no action `{0}`")]
    NotFound(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("failed: {0}")]
    Failed(String),
}

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
    pub fn manifest(&self) -> Option<&super::Manifest> {
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

// ---------------------------------------------------------------------------------------------
// The runtime's part

/// What the runtime keeps for flow plugins: their linker, the key-value store and the HTTP gate.
pub(super) struct FlowHost {
    linker: Linker<FlowState>,
    kv: RwLock<KvStore>,
    http: HttpGate,
}

impl FlowHost {
    pub(super) fn new(engine: &wasmtime::Engine) -> anyhow::Result<FlowHost> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wt::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        logging::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        wkv::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        whttp::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        Ok(FlowHost {
            linker,
            kv: RwLock::new(KvStore::in_memory()?),
            http: HttpGate::new()?,
        })
    }
}

impl PluginRuntime {
    /// The key-value store flow plugins use. Until [`PluginRuntime::set_kv_store`] is called it
    /// is an in-memory store, lost at exit.
    pub fn kv_store(&self) -> KvStore {
        self.inner
            .flow
            .kv
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes flow plugins use `kv` from their next call on (e.g. `KvStore::open("data/plugin-kv.db")`).
    pub fn set_kv_store(&self, kv: KvStore) {
        *self
            .inner
            .flow
            .kv
            .write()
            .unwrap_or_else(|e| e.into_inner()) = kv;
    }

    /// Compile (or fetch from the cache) and check the flow plugin at `path`, naming it after the
    /// file stem. `grant` says what it may do; its `name` is not consulted.
    pub async fn load_flow_plugin_file(
        &self,
        path: &std::path::Path,
        grant: PluginGrant,
    ) -> Result<FlowPlugin, PluginError> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_string();
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            PluginError::load(&name, format!("cannot read {}: {e}", path.display()))
        })?;
        self.load_flow_plugin(&name, bytes, grant).await
    }

    /// Compile (or fetch from the cache) and check a flow plugin from its bytes.
    pub async fn load_flow_plugin(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: PluginGrant,
    ) -> Result<FlowPlugin, PluginError> {
        let limits = self.plugin_limits(name, &grant)?;
        let manifest = super::manifest::read(&bytes).map_err(|m| PluginError::load(name, m))?;
        let (component, hash) = self.compile(name, bytes).await?;
        let (kind, wit_version) =
            flow_world(self, &component).map_err(|m| PluginError::load(name, m))?;
        if let Some(manifest) = &manifest {
            let where_granted = format!("the [[plugin]] entry with name = \"{name}\"");
            let granted = super::manifest::Granted {
                http_hosts: Some(&grant.http_hosts),
                limits,
                where_granted: &where_granted,
            };
            manifest
                .check(&granted)
                .map_err(|m| PluginError::load(name, m))?;
        }
        let host_rules = grant
            .http_hosts
            .iter()
            .map(|h| check_http_host(h).and_then(|()| HostRule::parse(h)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| PluginError::load(name, format!("invalid grant: {m}")))?;
        let instance_pre = self
            .inner
            .flow
            .linker
            .instantiate_pre(&component)
            .map_err(|e| {
                PluginError::load(name, format!("its imports cannot be satisfied: {e:#}"))
            })?;
        let core = Core {
            runtime: self.clone(),
            name: name.into(),
            wit_version,
            hash,
            limits,
            host_rules: host_rules.into(),
            grant: PluginGrant {
                name: name.to_string(),
                ..grant
            },
            manifest,
        };
        match kind {
            FlowPluginKind::Bot => {
                let pre = bot_bindings::BotPluginPre::new(instance_pre).map_err(|e| {
                    PluginError::load(name, format!("it does not match world `bot`: {e:#}"))
                })?;
                Ok(FlowPlugin::Bot(BotPlugin { core, pre }))
            }
            FlowPluginKind::DataAction => {
                let pre = action_bindings::DataActionPluginPre::new(instance_pre).map_err(|e| {
                    PluginError::load(
                        name,
                        format!("it does not match world `data-action`: {e:#}"),
                    )
                })?;
                let mut plugin = DataActionPlugin {
                    core,
                    pre,
                    actions: Vec::new(),
                };
                // The health check: a data action that cannot list its actions is not loaded.
                plugin.actions = plugin
                    .describe(&FlowCallContext::default())
                    .await
                    .map_err(|e| PluginError::load(name, e.to_string()))?;
                Ok(FlowPlugin::DataAction(plugin))
            }
        }
    }

    /// The runtime's limits with the grant's overrides.
    /// The limits a plugin's calls run under: `[plugins]`, overridden by its grant.
    pub(super) fn plugin_limits(
        &self,
        name: &str,
        grant: &PluginGrant,
    ) -> Result<Limits, PluginError> {
        let base = self.limits();
        let memory_bytes = match grant.memory_mib {
            None => base.memory_bytes,
            Some(mib) => {
                let bytes = (mib as usize).saturating_mul(1024 * 1024);
                if bytes == 0 || bytes > base.memory_bytes {
                    return Err(PluginError::load(
                        name,
                        format!(
                            "its grant asks for {mib} MiB of memory; allowed: 1 to {} MiB",
                            base.memory_bytes / (1024 * 1024)
                        ),
                    ));
                }
                bytes
            }
        };
        let deadline = match grant.deadline_ms {
            None => base.deadline,
            Some(0) => {
                return Err(PluginError::load(name, "its grant has a deadline of 0 ms"));
            }
            Some(ms) => Duration::from_millis(ms),
        };
        Ok(Limits {
            deadline,
            memory_bytes,
            max_output_bytes: grant.max_output_bytes.unwrap_or(base.max_output_bytes),
        })
    }
}

/// Finds the flow world and version a component exports, or explains why it has none this host
/// supports.
fn flow_world(
    runtime: &PluginRuntime,
    component: &Component,
) -> Result<(FlowPluginKind, String), String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(runtime.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let mut found = Vec::new();
    for name in &exports {
        for (prefix, kind) in [
            (BOT_EXPORT, FlowPluginKind::Bot),
            (DATA_ACTION_EXPORT, FlowPluginKind::DataAction),
        ] {
            if let Some(version) = name.strip_prefix(prefix) {
                found.push((kind, version.to_string()));
            }
        }
    }
    if let Some((kind, version)) = found
        .iter()
        .find(|(_, v)| SUPPORTED_FLOW_VERSIONS.contains(&v.as_str()))
    {
        return Ok((*kind, version.clone()));
    }
    let supported = SUPPORTED_FLOW_VERSIONS.join(", ");
    if found.is_empty() {
        Err(format!(
            "it is not a flow plugin: expected an export `{BOT_EXPORT}VERSION` (world \
             switchboard:flow/bot) or `{DATA_ACTION_EXPORT}VERSION` (world \
             switchboard:flow/data-action), versions {supported}; it exports [{}]",
            exports.join(", ")
        ))
    } else {
        let versions: Vec<&str> = found.iter().map(|(_, v)| v.as_str()).collect();
        Err(format!(
            "it implements switchboard:flow version {}, but this host supports {supported}",
            versions.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Per-call state and the imports

/// The state of one flow-plugin instance (one call).
pub(crate) struct FlowState {
    base: PluginState,
    flow_ctx: FlowCallContext,
    kv: KvStore,
    http: HttpGate,
    host_rules: Arc<[HostRule]>,
    deadline: Instant,
}

impl WasiView for FlowState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.base.ctx()
    }
}

impl wt::Host for FlowState {}

impl logging::Host for FlowState {
    fn log(&mut self, level: logging::Level, message: String) {
        let plugin = &*self.base.plugin;
        let flow = &self.flow_ctx.flow;
        let conversation = &self.flow_ctx.conversation_id;
        match level {
            logging::Level::Trace => tracing::trace!(plugin, flow, conversation, "{message}"),
            logging::Level::Debug => tracing::debug!(plugin, flow, conversation, "{message}"),
            logging::Level::Info => tracing::info!(plugin, flow, conversation, "{message}"),
            logging::Level::Warn => tracing::warn!(plugin, flow, conversation, "{message}"),
            logging::Level::Error => tracing::error!(plugin, flow, conversation, "{message}"),
        }
    }
}

// A store failure traps the call: the plugin cannot tell a missing key from a broken disk.
impl wkv::Host for FlowState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.kv.get(&self.base.plugin, &key).map_err(kv_error)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        self.kv
            .put(&self.base.plugin, &key, &value)
            .map_err(kv_error)
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.kv
            .delete(&self.base.plugin, &key)
            .map(|_| ())
            .map_err(kv_error)
    }

    fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        self.kv
            .list_keys(&self.base.plugin, &prefix)
            .map_err(kv_error)
    }
}

fn kv_error(e: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::msg(format!("kv: {e:#}"))
}

impl whttp::Host for FlowState {
    async fn fetch(&mut self, request: wt::HttpRequest) -> Result<wt::HttpResponse, wt::HttpError> {
        let request = FetchRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        let url = request.url.clone();
        let result = self
            .http
            .fetch(&self.host_rules, self.deadline, request)
            .await;
        match result {
            Ok(r) => Ok(wt::HttpResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => {
                tracing::debug!(plugin = &*self.base.plugin, url, error = ?e, "plugin HTTP request failed");
                Err(match e {
                    FetchError::DeniedHost(h) => wt::HttpError::DeniedHost(h),
                    FetchError::Timeout => wt::HttpError::Timeout,
                    FetchError::Failed(m) => wt::HttpError::Failed(m),
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plugins

/// What bots and data actions share: identity, limits, grant.
struct Core {
    runtime: PluginRuntime,
    name: Arc<str>,
    wit_version: String,
    hash: String,
    limits: Limits,
    host_rules: Arc<[HostRule]>,
    grant: PluginGrant,
    manifest: Option<super::Manifest>,
}

impl Core {
    fn store(&self, ctx: &FlowCallContext) -> Store<FlowState> {
        let base = PluginState::new(
            self.name.clone(),
            CallContext {
                integration_id: String::new(),
                settings: Default::default(),
            },
            self.limits.memory_bytes,
        );
        let flow = &self.runtime.inner.flow;
        let state = FlowState {
            base,
            flow_ctx: ctx.clone(),
            kv: self.runtime.kv_store(),
            http: flow.http.clone(),
            host_rules: self.host_rules.clone(),
            deadline: Instant::now() + self.limits.deadline,
        };
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|s| s.base.limiter());
        self.limits.arm_deadline(&mut store);
        store
    }

    fn error(
        &self,
        function: &'static str,
        e: wasmtime::Error,
        store: &Store<FlowState>,
    ) -> PluginError {
        PluginError::call(
            &self.name,
            &self.wit_version,
            function,
            e,
            store.data().base.memory_exceeded(),
        )
    }
}

/// A loaded bot (`switchboard:flow/bot`).
pub struct BotPlugin {
    core: Core,
    pre: bot_bindings::BotPluginPre<FlowState>,
}

impl BotPlugin {
    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn wit_version(&self) -> &str {
        &self.core.wit_version
    }

    /// One customer turn. The outer error is the plugin failing (trap, deadline, memory); the
    /// inner one is the bot's own `Err`.
    pub async fn turn(
        &self,
        ctx: &FlowCallContext,
        input: BotInput,
    ) -> Result<Result<BotOutput, String>, PluginError> {
        const FUNCTION: &str = "turn";
        let mut store = self.core.store(ctx);
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        let input = wt::BotInput {
            conversation_id: input.conversation_id,
            customer_id: input.customer_id,
            text: input.text,
            quick_reply: input.quick_reply,
            session: input.session,
            variables: Value::Object(input.variables).to_string(),
        };
        let result = instance
            .switchboard_flow_bot()
            .call_turn(&mut store, &input)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        Ok(result.map(bot_output))
    }
}

fn bot_output(o: wt::BotOutput) -> BotOutput {
    BotOutput {
        replies: o
            .replies
            .into_iter()
            .map(|r| BotReply {
                text: r.text,
                quick_replies: r
                    .quick_replies
                    .into_iter()
                    .map(|q| QuickReply {
                        label: q.label,
                        payload: q.payload,
                    })
                    .collect(),
            })
            .collect(),
        intent: o.intent.filter(|i| !i.is_empty()),
        confidence: o
            .confidence
            .filter(|c| !c.is_nan())
            .map(|c| c.clamp(0.0, 1.0)),
        slots: fields_to_map(o.slots),
        session: o.session,
        exit: match o.exit {
            wt::ExitReason::Continue => BotExit::Continue,
            wt::ExitReason::Done => BotExit::Done,
            wt::ExitReason::Handoff => BotExit::Handoff,
            wt::ExitReason::Error(m) => BotExit::Error(m),
        },
    }
}

/// A loaded data-action plugin (`switchboard:flow/data-action`).
pub struct DataActionPlugin {
    core: Core,
    pre: action_bindings::DataActionPluginPre<FlowState>,
    actions: Vec<ActionInfo>,
}

impl DataActionPlugin {
    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn wit_version(&self) -> &str {
        &self.core.wit_version
    }

    /// The actions `describe()` listed at load.
    pub fn actions(&self) -> &[ActionInfo] {
        &self.actions
    }

    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }

    async fn instance(
        &self,
        ctx: &FlowCallContext,
        function: &'static str,
    ) -> Result<(Store<FlowState>, action_bindings::DataActionPlugin), PluginError> {
        let mut store = self.core.store(ctx);
        match self.pre.instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(self.core.error(function, e, &store)),
        }
    }

    /// Asks the plugin for its actions again.
    pub async fn describe(&self, ctx: &FlowCallContext) -> Result<Vec<ActionInfo>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "describe").await?;
        let actions = instance
            .switchboard_flow_data_action()
            .call_describe(&mut store)
            .await
            .map_err(|e| self.core.error("describe", e, &store))?;
        Ok(actions
            .into_iter()
            .map(|a| ActionInfo {
                name: a.name,
                inputs: a.inputs,
                outputs: a.outputs,
            })
            .collect())
    }

    /// Runs `action`. Input values reach the plugin as text (a JSON string as its contents, any
    /// other value as its JSON text, `null` not at all); outputs come back as JSON strings.
    pub async fn call(
        &self,
        ctx: &FlowCallContext,
        action: &str,
        input: Map<String, Value>,
    ) -> Result<Result<Map<String, Value>, ActionError>, PluginError> {
        const FUNCTION: &str = "call";
        let (mut store, instance) = self.instance(ctx, FUNCTION).await?;
        let fields: Vec<(String, String)> = input
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect();
        let result = instance
            .switchboard_flow_data_action()
            .call_call(&mut store, action, &fields)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        Ok(result.map(fields_to_map).map_err(|e| match e {
            wt::ActionError::NotFound(m) => ActionError::NotFound(m),
            wt::ActionError::InvalidInput(m) => ActionError::InvalidInput(m),
            wt::ActionError::Failed(m) => ActionError::Failed(m),
        }))
    }
}

/// Fields as a JSON object of strings; a repeated name keeps its last value.
fn fields_to_map(fields: Vec<(String, String)>) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}
