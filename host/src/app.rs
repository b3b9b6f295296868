//! The running host: configuration, store, plugins, flows and metrics in one place, and the
//! background workers (inbox processing, outbound sending) that act on them.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::{Context, bail};
use tokio::sync::Notify;

use crate::config::{AgentConfig, Config, IntegrationConfig};
use crate::engine::{Flow, FlowError, Known, PluginKind};
use crate::events::OutboundMessage;
use crate::metrics::Metrics;
use crate::runtime::{
    AdapterError, AdapterPlugin, CallContext, FlowPlugin, FlowPluginKind, HttpRequest, Loaded,
    PluginError, PluginRuntime, WebhookOutcome, WebhookRequest,
};
use crate::store::{self, Store};

/// One configured integration with its loaded adapter.
pub struct Integration {
    pub config: IntegrationConfig,
    pub adapter: Arc<AdapterPlugin>,
    pub ctx: CallContext,
    /// What the adapter says about the platform with this integration's settings (one
    /// adapter may serve several platforms, e.g. Messenger and Instagram).
    pub info: crate::runtime::AdapterInfo,
    /// The adapter's plugin version (see `plugin_versions` in the store).
    pub adapter_version: i64,
}

/// What is known about a loaded plugin's version.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    pub version: i64,
    pub world: String,
    pub loaded_at: i64,
}

/// Parsed flow versions, shared by every conversation that runs them.
#[derive(Default)]
pub struct FlowRegistry {
    latest: RwLock<HashMap<String, i64>>,
    parsed: Mutex<HashMap<(String, i64), Arc<Flow>>>,
}

impl crate::engine::Flows for FlowRegistry {
    fn latest(&self, name: &str) -> Option<(i64, Arc<Flow>)> {
        let version = FlowRegistry::latest(self, name)?;
        let parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        parsed
            .get(&(name.to_string(), version))
            .map(|flow| (version, flow.clone()))
    }
}

impl FlowRegistry {
    /// The version new conversations of flow `name` start on.
    pub fn latest(&self, name: &str) -> Option<i64> {
        self.latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
    }

    pub fn set_latest(&self, name: &str, version: i64, flow: Flow) {
        self.parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((name.to_string(), version), Arc::new(flow));
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), version);
    }

    /// Version `version` of flow `name`, parsed once and then shared. Runs on the store thread.
    pub fn load(
        &self,
        conn: &rusqlite::Connection,
        name: &str,
        version: i64,
    ) -> anyhow::Result<Arc<Flow>> {
        let key = (name.to_string(), version);
        if let Some(flow) = self
            .parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(flow.clone());
        }
        let stored = store::flows::get(conn, name, version)?
            .with_context(|| format!("flow `{name}` version {version} is not in the store"))?;
        let flow = Flow::parse(&stored.source, &Known::default()).map_err(|errors| {
            anyhow::anyhow!(
                "stored flow `{name}` v{version} no longer parses: {}",
                join(&errors)
            )
        })?;
        let flow = Arc::new(flow);
        self.parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, flow.clone());
        Ok(flow)
    }
}

pub fn join(errors: &[FlowError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything the server and the workers share.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub runtime: PluginRuntime,
    pub metrics: Metrics,
    pub flows: FlowRegistry,
    integrations: RwLock<HashMap<String, Arc<Integration>>>,
    /// Bots and data actions, by plugin name.
    flow_plugins: RwLock<HashMap<String, Arc<FlowPlugin>>>,
    /// The active version of every loaded plugin.
    plugin_meta: RwLock<HashMap<String, PluginMeta>>,
    pub queues: Arc<HashSet<String>>,
    agents: HashMap<String, AgentConfig>,
    /// Woken when new inbox events are stored.
    pub inbox_wake: Notify,
    /// Woken when new outbound messages are stored.
    pub outbound_wake: Notify,
    /// The client every platform request goes through.
    pub http: reqwest::Client,
    /// Live events for agents.
    pub events: crate::acd::events::AgentEvents,
    /// Woken when routing may have something to do.
    pub route_wake: Notify,
    /// Integrations whose credentials the platform refused: id → (since, reason).
    deauthorized: RwLock<HashMap<String, (i64, String)>>,
    /// When a typing indicator last went out, per conversation.
    typing_sent: std::sync::Mutex<HashMap<String, Instant>>,
}

/// A platform's typing indicator lasts a few seconds; showing it more often is noise.
const TYPING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

impl App {
    /// Opens the store, loads every integration's adapter and publishes the flows folder.
    pub async fn open(config: Config) -> anyhow::Result<Arc<App>> {
        let store = Store::open(&config.store)?;
        let runtime = PluginRuntime::new(&config.plugins)?;
        let queues: Arc<HashSet<String>> =
            Arc::new(config.queues.iter().map(|q| q.id.clone()).collect());
        let agents = config
            .agents
            .iter()
            .map(|a| (a.id.clone(), a.clone()))
            .collect();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(config.outbound.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        let mut config = config;
        // Integrations admins set through the API override the file's.
        for (id, json) in store.call(store::integrations::saved).await? {
            let saved: IntegrationConfig = serde_json::from_str(&json)
                .with_context(|| format!("stored integration `{id}` cannot be read"))?;
            match config.integrations.iter_mut().find(|i| i.id == id) {
                Some(existing) => *existing = saved,
                None => config.integrations.push(saved),
            }
        }
        crate::config::check_integrations(&config.integrations)?;
        let deauthorized = store
            .call(store::integrations::deauthorized)
            .await?
            .into_iter()
            .map(|(id, since, reason)| (id, (since, reason)))
            .collect();
        let app = App {
            store,
            runtime,
            metrics: Metrics::default(),
            flows: FlowRegistry::default(),
            integrations: RwLock::new(HashMap::new()),
            flow_plugins: RwLock::new(HashMap::new()),
            plugin_meta: RwLock::new(HashMap::new()),
            queues,
            agents,
            inbox_wake: Notify::new(),
            outbound_wake: Notify::new(),
            http,
            events: Default::default(),
            route_wake: Notify::new(),
            deauthorized: RwLock::new(deauthorized),
            typing_sent: Default::default(),
            config,
        };
        let kv_path = app.config.store.path.with_file_name("plugin-kv.db");
        app.runtime.set_kv_store(Arc::new(
            store::plugin_kv::SqlitePluginKv::open(&kv_path).with_context(|| {
                format!(
                    "cannot open the plugin key-value store {}",
                    kv_path.display()
                )
            })?,
        ));
        app.load_flow_plugins().await?;
        app.load_flows().await?;
        app.load_integrations().await?;
        Ok(Arc::new(app))
    }

    /// Loads the bots and data actions the flows name (e.g. `faq-bot`, `fixtures/spin-bot`) and
    /// those the configuration grants something to. Others load when published through the
    /// admin API.
    async fn load_flow_plugins(&self) -> anyhow::Result<()> {
        let dir = self.config.plugins.dir.clone();
        let mut names: Vec<String> = self
            .config
            .plugin_grants
            .iter()
            .map(|g| g.name.clone())
            .collect();
        for flow_file in flow_files(&self.config.flows.dir)? {
            if let Ok(source) = std::fs::read_to_string(&flow_file)
                && let Ok(flow) = Flow::parse(&source, &Known::default())
            {
                names.extend(flow.plugins().into_keys());
            }
        }
        names.sort();
        names.dedup();
        for name in names {
            if self.flow_plugin(&name).is_some() {
                continue;
            }
            // A plugin that is missing or fails to load is reported here, and again by the
            // validation of every flow that names it.
            if let Err(e) = self.load_flow_plugin(&name).await {
                tracing::error!(plugin = %name, "cannot load flow plugin from {}: {e:#}", dir.display());
            }
        }
        Ok(())
    }

    /// Loads (or reloads) the flow plugin `name` from the plugins folder, with its grant.
    pub async fn load_flow_plugin(&self, name: &str) -> anyhow::Result<()> {
        let (bytes, _) = self.plugin_bytes(name).await?;
        let grant = self
            .config
            .plugin_grants
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .unwrap_or_else(|| crate::config::PluginGrant::none(name));
        let plugin = self
            .runtime
            .load_flow_plugin(name, bytes.clone(), grant)
            .await?;
        let world = match plugin.kind() {
            FlowPluginKind::Bot => "bot",
            FlowPluginKind::DataAction => "data-action",
        };
        self.record_version(name, plugin.hash(), world, &bytes)
            .await?;
        tracing::info!(plugin = %name, kind = ?plugin.kind(), "flow plugin loaded");
        self.flow_plugins
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Arc::new(plugin));
        Ok(())
    }

    /// The component to load for plugin `name`: the version an admin published (kept in the
    /// store), else the file in the plugins folder. Returns the bytes and whether they came
    /// from the store.
    async fn plugin_bytes(&self, name: &str) -> anyhow::Result<(Vec<u8>, bool)> {
        let owned = name.to_string();
        let path = self.config.plugins.dir.join(format!("{name}.wasm"));
        if let Some(stored) = self
            .store
            .call(move |c| store::plugins::active(c, &owned))
            .await?
        {
            if let Ok(file) = std::fs::read(&path) {
                use sha2::Digest;
                if hex::encode(sha2::Sha256::digest(&file)) != stored.hash {
                    // A file rebuilt since: it becomes a new version (an admin can roll back).
                    return Ok((file, false));
                }
            }
            return Ok((stored.bytes, true));
        }
        if !path.exists() {
            bail!(
                "not found at {} (run `cargo xtask build-plugins`, set [plugins] dir, or PUT it to /admin/v1/plugins/{name})",
                path.display()
            );
        }
        Ok((
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
            false,
        ))
    }

    /// Stores the loaded component as a version (a no-op when it is the active one) and
    /// remembers it as loaded.
    async fn record_version(
        &self,
        name: &str,
        hash: &str,
        world: &str,
        bytes: &[u8],
    ) -> anyhow::Result<i64> {
        let (owned, hash, world_owned, bytes) = (
            name.to_string(),
            hash.to_string(),
            world.to_string(),
            bytes.to_vec(),
        );
        let (version, _) = self
            .store
            .call(move |c| {
                store::plugins::publish(c, &owned, &hash, &world_owned, &bytes, store::now_ms())
            })
            .await?;
        self.plugin_meta
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                name.to_string(),
                PluginMeta {
                    version,
                    world: world.to_string(),
                    loaded_at: store::now_ms(),
                },
            );
        Ok(version)
    }

    pub fn plugin_meta(&self, name: &str) -> Option<PluginMeta> {
        self.plugin_meta
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Hot-loads a component as plugin `name`: checks its world and version, compiles it, runs
    /// its health check (`describe()` for every integration using an adapter), stores it as a
    /// new version and swaps it in. Calls already running finish on the old version; a
    /// component that fails any step is refused with the reason and the old one keeps serving.
    pub async fn publish_plugin(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Published, PluginPublishError> {
        let refuse = |e: &dyn std::fmt::Display| PluginPublishError::Refused(format!("{e:#}"));
        let before = self.plugin_meta(name).map(|m| m.version);
        let grant = self.config.plugin_grant(name);
        let loaded = self
            .runtime
            .load(name, bytes.clone(), &grant)
            .await
            .map_err(|e| refuse(&e))?;
        let published = match loaded {
            Loaded::Adapter(adapter) => {
                if self.flow_plugin(name).is_some() {
                    return Err(PluginPublishError::Refused(format!(
                        "`{name}` is a flow plugin; this component is a channel adapter"
                    )));
                }
                let adapter = Arc::new(adapter);
                let mut replaced = Vec::new();
                for integration in self
                    .integrations()
                    .into_iter()
                    .filter(|i| i.config.adapter == name)
                {
                    let info = adapter
                        .describe(&integration.ctx)
                        .await
                        .map_err(|e| refuse(&e))?;
                    replaced.push((integration, info));
                }
                let version = self
                    .record_version(name, adapter.hash(), "adapter", &bytes)
                    .await
                    .map_err(|e| refuse(&e))?;
                let mut live = self.integrations.write().unwrap_or_else(|e| e.into_inner());
                for (old, info) in replaced {
                    live.insert(
                        old.config.id.clone(),
                        Arc::new(Integration {
                            config: old.config.clone(),
                            adapter: adapter.clone(),
                            ctx: old.ctx.clone(),
                            info,
                            adapter_version: version,
                        }),
                    );
                }
                drop(live);
                tracing::info!(plugin = %name, version, hash = &adapter.hash()[..12], "adapter swapped in");
                Published {
                    version,
                    created: before != Some(version),
                    world: "adapter".into(),
                    wit: format!("switchboard:channel@{}", adapter.wit_version()),
                    hash: adapter.hash().to_string(),
                }
            }
            Loaded::Flow(plugin) => {
                if self.integrations().iter().any(|i| i.config.adapter == name) {
                    return Err(PluginPublishError::Refused(format!(
                        "`{name}` is a channel adapter in use; this component is a flow plugin"
                    )));
                }
                let world = match plugin.kind() {
                    FlowPluginKind::Bot => "bot",
                    FlowPluginKind::DataAction => "data-action",
                };
                let version = self
                    .record_version(name, plugin.hash(), world, &bytes)
                    .await
                    .map_err(|e| refuse(&e))?;
                let published = Published {
                    version,
                    created: before != Some(version),
                    world: world.into(),
                    wit: format!("switchboard:flow@{}", plugin.wit_version()),
                    hash: plugin.hash().to_string(),
                };
                self.flow_plugins
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), Arc::new(plugin));
                tracing::info!(plugin = %name, version, "flow plugin swapped in");
                published
            }
        };
        Ok(published)
    }

    /// Makes an earlier version of a plugin active again, hot, like a publish.
    pub async fn rollback_plugin(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Published, PluginPublishError> {
        let owned = name.to_string();
        let stored = self
            .store
            .call(move |c| store::plugins::get(c, &owned, version))
            .await
            .map_err(|e| PluginPublishError::Refused(format!("{e:#}")))?
            .ok_or_else(|| {
                PluginPublishError::NotFound(format!("plugin `{name}` has no version {version}"))
            })?;
        // Publishing the same bytes again finds their version rather than making a new one.
        let owned = name.to_string();
        self.store
            .call(move |c| store::plugins::activate(c, &owned, version))
            .await
            .map_err(|e| PluginPublishError::Refused(format!("{e:#}")))?;
        self.publish_plugin(name, stored.bytes).await
    }

    pub fn flow_plugin(&self, name: &str) -> Option<Arc<FlowPlugin>> {
        self.flow_plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

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
    pub fn plugin_kinds(&self) -> HashMap<String, PluginKind> {
        self.flow_plugins()
            .into_iter()
            .map(|(name, p)| {
                let kind = match p.kind() {
                    FlowPluginKind::Bot => PluginKind::Bot,
                    FlowPluginKind::DataAction => PluginKind::DataAction,
                };
                (name, kind)
            })
            .collect()
    }

    async fn load_integrations(&self) -> anyhow::Result<()> {
        let mut adapters: HashMap<String, Arc<AdapterPlugin>> = HashMap::new();
        for integration in &self.config.integrations {
            self.install_integration(integration.clone(), &mut adapters)
                .await?;
        }
        Ok(())
    }

    /// Loads an integration's adapter (once per plugin name) and makes it live.
    async fn install_integration(
        &self,
        integration: IntegrationConfig,
        adapters: &mut HashMap<String, Arc<AdapterPlugin>>,
    ) -> anyhow::Result<()> {
        let adapter = match adapters.get(&integration.adapter) {
            Some(adapter) => adapter.clone(),
            None => {
                let (bytes, _) =
                    self.plugin_bytes(&integration.adapter)
                        .await
                        .with_context(|| {
                            format!(
                                "integration `{}`: adapter plugin `{}`",
                                integration.id, integration.adapter
                            )
                        })?;
                let adapter = Arc::new(
                    self.runtime
                        .load_adapter(
                            &integration.adapter,
                            bytes.clone(),
                            &self.config.plugin_grant(&integration.adapter),
                        )
                        .await
                        .with_context(|| format!("integration `{}`", integration.id))?,
                );
                let version = self
                    .record_version(&integration.adapter, adapter.hash(), "adapter", &bytes)
                    .await?;
                tracing::info!(plugin = %integration.adapter, version, wit = adapter.wit_version(), hash = &adapter.hash()[..12], "adapter loaded");
                adapters.insert(integration.adapter.clone(), adapter.clone());
                adapter
            }
        };
        let adapter_version = self
            .plugin_meta(&integration.adapter)
            .map_or(1, |m| m.version);
        if self.flows.latest(&integration.flow).is_none() {
            bail!(
                "integration `{}`: flow `{}` not found (looked for {})",
                integration.id,
                integration.flow,
                self.config
                    .flows
                    .dir
                    .join(format!("{}.yaml", integration.flow))
                    .display()
            );
        }
        let ctx = CallContext {
            integration_id: integration.id.clone(),
            settings: Arc::new(integration.settings_as_strings()),
        };
        let info = adapter
            .describe(&ctx)
            .await
            .with_context(|| format!("integration `{}`: describe() failed", integration.id))?;
        self.integrations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                integration.id.clone(),
                Arc::new(Integration {
                    config: integration,
                    adapter,
                    ctx,
                    info,
                    adapter_version,
                }),
            );
        Ok(())
    }

    /// Adds or replaces an integration at run time (the admin API) and stores it so it
    /// survives a restart. Replacing an integration re-authorizes it: its waiting messages go out.
    pub async fn put_integration(&self, integration: IntegrationConfig) -> anyhow::Result<()> {
        let mut all: Vec<IntegrationConfig> = self
            .integrations()
            .iter()
            .map(|i| i.config.clone())
            .collect();
        match all.iter_mut().find(|i| i.id == integration.id) {
            Some(existing) => *existing = integration.clone(),
            None => all.push(integration.clone()),
        }
        crate::config::check_integrations(&all)?;
        let mut adapters: HashMap<String, Arc<AdapterPlugin>> = self
            .integrations()
            .iter()
            .map(|i| (i.config.adapter.clone(), i.adapter.clone()))
            .collect();
        self.install_integration(integration.clone(), &mut adapters)
            .await?;
        let (id, json) = (integration.id.clone(), serde_json::to_string(&integration)?);
        self.store
            .call(move |c| {
                let now = store::now_ms();
                store::integrations::save(c, &id, &json, now)?;
                store::integrations::clear_deauthorized(c, &id)?;
                store::messages::wake_integration(c, &id, now)
            })
            .await?;
        self.deauthorized
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&integration.id);
        self.outbound_wake.notify_one();
        tracing::info!(integration = %integration.id, "integration updated");
        Ok(())
    }

    /// The integration that sends for `id`: itself, or the one its `reply_as` names.
    pub fn sender_for(&self, id: &str) -> Option<Arc<Integration>> {
        let integration = self.integration(id)?;
        match &integration.config.reply_as {
            Some(other) => self.integration(other),
            None => Some(integration),
        }
    }

    pub fn deauthorized(&self, id: &str) -> Option<(i64, String)> {
        self.deauthorized
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Marks an integration deauthorized after the platform refused its credentials.
    pub async fn set_deauthorized(&self, id: &str, reason: &str) {
        let now = store::now_ms();
        self.deauthorized
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), (now, reason.to_string()));
        let (id, reason) = (id.to_string(), reason.to_string());
        if let Err(e) = self
            .store
            .call(move |c| store::integrations::set_deauthorized(c, &id, &reason, now))
            .await
        {
            tracing::error!("cannot record a deauthorization: {e:#}");
        }
    }

    /// Tells the platform the business has read the customer's latest message, where the
    /// platform has such a call. Best effort: a failure is logged, nothing else depends on it.
    pub async fn mark_read(&self, conversation: &crate::store::Conversation) {
        let Some(integration) = self.sender_for(&conversation.integration) else {
            return;
        };
        let id = conversation.id.clone();
        let latest = match self
            .store
            .call(move |c| store::messages::latest_inbound(c, &id))
            .await
        {
            Ok(Some(m)) => m,
            _ => return,
        };
        let Some(platform_id) = latest.platform_id else {
            return;
        };
        let started = Instant::now();
        let request = integration
            .adapter
            .encode_mark_read(&integration.ctx, &conversation.customer_id, &platform_id)
            .await;
        self.record(
            &integration,
            "encode-mark-read",
            started,
            request.as_ref().err(),
        );
        if let Ok(Some(request)) = request {
            match crate::outbound::http_call(&self.http, request).await {
                Ok((status, _, _)) if (200..300).contains(&status) => {}
                Ok((status, _, body)) => tracing::warn!(
                    integration = %integration.config.id,
                    "marking a message read got HTTP {status}: {}",
                    String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                ),
                Err(e) => tracing::warn!(
                    integration = %integration.config.id,
                    "marking a message read failed: {}",
                    e.detail()
                ),
            }
        }
    }

    /// Shows the customer that an agent is typing, at most once per [`TYPING_INTERVAL`] per
    /// conversation. Best effort, like [`App::mark_read`]; the error says why nothing was shown.
    pub async fn show_typing(
        &self,
        conversation: &crate::store::Conversation,
    ) -> Result<(), String> {
        let Some(integration) = self.sender_for(&conversation.integration) else {
            return Err(format!(
                "integration `{}` is not loaded",
                conversation.integration
            ));
        };
        let adapter = &integration.adapter;
        if !adapter.has_typing_call() {
            return Err(format!(
                "adapter `{}` implements switchboard:channel@{}, which has no typing indicator \
                 (added in 0.2.0)",
                adapter.name(),
                adapter.wit_version()
            ));
        }
        {
            let mut sent = self.typing_sent.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if let Some(last) = sent.get(&conversation.id)
                && now.duration_since(*last) < TYPING_INTERVAL
            {
                return Err(format!(
                    "a typing indicator went out {} ms ago; it is sent at most every {} s",
                    now.duration_since(*last).as_millis(),
                    TYPING_INTERVAL.as_secs()
                ));
            }
            sent.retain(|_, last| now.duration_since(*last) < TYPING_INTERVAL);
            sent.insert(conversation.id.clone(), now);
        }
        let started = Instant::now();
        let request = integration
            .adapter
            .encode_typing(&integration.ctx, &conversation.customer_id)
            .await;
        self.record(
            &integration,
            "encode-typing",
            started,
            request.as_ref().err(),
        );
        let request = match request {
            Ok(Some(request)) => request,
            Ok(None) => {
                return Err(format!(
                    "{} has no typing indicator",
                    adapter.info().platform
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        match crate::outbound::http_call(&self.http, request).await {
            Ok((status, _, _)) if (200..300).contains(&status) => Ok(()),
            Ok((status, _, body)) => Err(format!(
                "the platform answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )),
            Err(e) => Err(format!("the platform could not be reached: {}", e.detail())),
        }
    }

    /// Publishes every `*.yaml` in the flows folder that differs from its stored latest version.
    /// A file that does not validate never replaces a stored version: it is logged, and the
    /// stored one keeps serving; with no stored version, startup fails with every error.
    async fn load_flows(&self) -> anyhow::Result<()> {
        let files = flow_files(&self.config.flows.dir)?;
        for path in files {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if let Err(errors) = self.publish_flow(&name, source).await? {
                let stored = self
                    .store
                    .call({
                        let name = name.clone();
                        move |c| store::flows::latest(c, &name)
                    })
                    .await?;
                match stored {
                    Some(v) => {
                        tracing::error!(flow = %name, "{} does not validate, keeping stored version {}: {}", path.display(), v.version, join(&errors));
                        let flow = Flow::parse(&v.source, &Known::default()).map_err(|e| {
                            anyhow::anyhow!("stored flow `{name}` no longer parses: {}", join(&e))
                        })?;
                        self.flows.set_latest(&name, v.version, flow);
                    }
                    None => {
                        let list: Vec<String> = errors
                            .iter()
                            .map(|e| format!("  {}:{}", path.display(), e))
                            .collect();
                        bail!("flow `{name}` does not validate:\n{}", list.join("\n"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Validates and publishes a flow. `Ok(Err(errors))` when it does not validate;
    /// `Ok(Ok((version, created)))` otherwise (`created` is false when it equals the latest).
    pub async fn publish_flow(
        &self,
        name: &str,
        source: String,
    ) -> anyhow::Result<Result<(i64, bool), Vec<FlowError>>> {
        let flow = match Flow::parse(
            &source,
            &Known {
                queues: Some(&self.queues),
                plugins: Some(&self.plugin_kinds()),
                flows: None,
            },
        ) {
            Ok(flow) => flow,
            Err(errors) => return Ok(Err(errors)),
        };
        let hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(source.as_bytes()))
        };
        let owned = name.to_string();
        let (version, created) = self
            .store
            .call(move |c| store::flows::publish(c, &owned, &source, &hash, store::now_ms()))
            .await?;
        self.flows.set_latest(name, version, flow);
        if created {
            tracing::info!(flow = %name, version, "flow published");
        }
        Ok(Ok((version, created)))
    }

    /// Makes version `version` of flow `name` the one new conversations start on.
    /// `Ok(None)` when there is no such version.
    pub async fn rollback_flow(&self, name: &str, version: i64) -> anyhow::Result<Option<i64>> {
        let owned = name.to_string();
        let Some(found) = self
            .store
            .call(move |c| store::flows::activate(c, &owned, version))
            .await?
        else {
            return Ok(None);
        };
        let flow = Flow::parse(&found.source, &Known::default())
            .map_err(|e| anyhow::anyhow!("version {version} no longer parses: {}", join(&e)))?;
        self.flows.set_latest(name, version, flow);
        tracing::info!(flow = %name, version, "flow rolled back");
        Ok(Some(version))
    }

    pub fn integration(&self, id: &str) -> Option<Arc<Integration>> {
        self.integrations
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn integrations(&self) -> Vec<Arc<Integration>> {
        let mut all: Vec<_> = self
            .integrations
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.config.id.cmp(&b.config.id));
        all
    }

    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.get(id)
    }

    pub fn agent_by_token(&self, token: &str) -> Option<&AgentConfig> {
        use subtle::ConstantTimeEq;
        self.agents
            .values()
            .find(|a| bool::from(a.token.as_bytes().ct_eq(token.as_bytes())))
    }

    /// Calls `handle-webhook`, recording its time and failures.
    pub async fn handle_webhook(
        &self,
        integration: &Integration,
        request: WebhookRequest,
    ) -> Result<Result<WebhookOutcome, AdapterError>, PluginError> {
        let started = Instant::now();
        let result = integration
            .adapter
            .handle_webhook(&integration.ctx, request)
            .await;
        self.record(
            integration,
            "handle-webhook",
            started,
            result.as_ref().err(),
        );
        result
    }

    pub async fn encode_send(
        &self,
        integration: &Integration,
        message: &OutboundMessage,
    ) -> Result<Result<HttpRequest, AdapterError>, PluginError> {
        let started = Instant::now();
        let result = integration
            .adapter
            .encode_send(&integration.ctx, message)
            .await;
        self.record(integration, "encode-send", started, result.as_ref().err());
        result
    }

    pub async fn decode_send_response(
        &self,
        integration: &Integration,
        message_id: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<crate::events::SendResult, PluginError> {
        let started = Instant::now();
        let result = integration
            .adapter
            .decode_send_response(&integration.ctx, message_id, status, headers, body)
            .await;
        self.record(
            integration,
            "decode-send-response",
            started,
            result.as_ref().err(),
        );
        result
    }

    fn record(
        &self,
        integration: &Integration,
        function: &str,
        started: Instant,
        error: Option<&PluginError>,
    ) {
        let micros = started.elapsed().as_micros() as u64;
        self.metrics.plugin_version_call(
            integration.adapter.name(),
            integration.adapter_version,
            function,
        );
        let kind = error.map(|e| e.kind().map_or("load", |k| k.as_str()));
        self.metrics
            .plugin_call(integration.adapter.name(), function, micros, kind);
        if let Some(e) = error {
            tracing::error!(integration = %integration.config.id, "{e}");
        }
    }

    /// Starts the inbox processor, the outbound sender, the router and the inactivity timer.
    pub fn spawn_workers(self: &Arc<Self>) {
        tokio::spawn(crate::conversations::run(self.clone()));
        tokio::spawn(crate::outbound::run(self.clone()));
        tokio::spawn(crate::acd::router::run(self.clone()));
        tokio::spawn(crate::acd::inactivity::run(self.clone()));
    }

    /// What routing needs from the configuration and the integrations.
    pub fn routing_config(&self) -> crate::acd::router::RoutingConfig {
        crate::acd::router::RoutingConfig {
            agents: self.agents.values().cloned().collect(),
            queues: self
                .config
                .queues
                .iter()
                .map(|q| (q.id.clone(), q.clone()))
                .collect(),
            platforms: self
                .integrations()
                .iter()
                .map(|i| (i.config.id.clone(), i.info.platform.clone()))
                .collect(),
        }
    }

    /// Tells the agent holding a conversation that something changed in it.
    pub fn notify_agent(&self, agent: Option<&str>, name: &'static str, data: serde_json::Value) {
        if let Some(agent) = agent {
            self.events.publish(agent, name, data);
        }
    }
}

/// The `*.yaml` and `*.yml` files of the flows folder, sorted (none if it does not exist).
pub fn flow_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the flows folder {}", dir.display()))?
        {
            let path = entry?.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The flow a file in the flows folder publishes: its name without the extension.
fn flow_name(path: &Path) -> Option<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
}

/// Reads a flow file and validates it (for `flow validate`), against a configuration's queues
/// and the loaded plugins' kinds when given.
pub fn validate_flow_file(
    path: &Path,
    queues: Option<&HashSet<String>>,
    plugins: Option<&HashMap<String, PluginKind>>,
) -> anyhow::Result<Result<Flow, Vec<FlowError>>> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Flow::parse(
        &source,
        &Known {
            queues,
            plugins,
            flows: None,
        },
    ))
}

/// The kinds of the plugins a flow file names, loaded from the configuration's plugins folder
/// (missing ones are left out, so validation reports them).
pub async fn plugin_kinds_for(
    path: &Path,
    config: &Config,
) -> anyhow::Result<HashMap<String, PluginKind>> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(flow) = Flow::parse(&source, &Known::default()) else {
        return Ok(HashMap::new());
    };
    let runtime = PluginRuntime::new(&config.plugins)?;
    let mut kinds = HashMap::new();
    for name in flow.plugins().into_keys() {
        let file = config.plugins.dir.join(format!("{name}.wasm"));
        if !file.exists() {
            continue;
        }
        let plugin = runtime
            .load_flow_plugin_file(&file, config.plugin_grant(&name))
            .await?;
        let kind = match plugin.kind() {
            FlowPluginKind::Bot => PluginKind::Bot,
            FlowPluginKind::DataAction => PluginKind::DataAction,
        };
        kinds.insert(name, kind);
    }
    Ok(kinds)
}

/// `serve --watch`: publishes flow files as they change. A file that does not validate is
/// logged with every error and never replaces the working version.
///
/// A file is compared with the content of the flow's active version, not with a first look at
/// the folder, so a change made while the host was starting is not missed; a file with no
/// version yet (added after start) is published when it appears.
pub async fn watch_flows(app: Arc<App>) {
    let dir = app.config.flows.dir.clone();
    let mut seen: HashMap<std::path::PathBuf, String> = HashMap::new();
    for path in flow_files(&dir).unwrap_or_default() {
        let Some(name) = flow_name(&path) else {
            continue;
        };
        if let Ok(Some(active)) = app
            .store
            .call(move |c| store::flows::latest(c, &name))
            .await
        {
            seen.insert(path, active.hash);
        }
    }
    tracing::info!("watching {} for flow changes", dir.display());
    loop {
        match flow_files(&dir) {
            Ok(files) => {
                for path in files {
                    let Ok(source) = std::fs::read_to_string(&path) else {
                        continue;
                    };
                    let hash = {
                        use sha2::Digest;
                        hex::encode(sha2::Sha256::digest(source.as_bytes()))
                    };
                    if seen.get(&path) == Some(&hash) {
                        continue;
                    }
                    seen.insert(path.clone(), hash);
                    let Some(name) = flow_name(&path) else {
                        continue;
                    };
                    match app.publish_flow(&name, source).await {
                        Ok(Ok((version, true))) => {
                            tracing::info!(flow = %name, version, "published from {}", path.display())
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(errors)) => tracing::error!(
                            flow = %name,
                            "{} does not validate; the working version keeps serving:\n{}",
                            path.display(),
                            errors.iter().map(|e| format!("  {}:{e}", path.display())).collect::<Vec<_>>().join("\n")
                        ),
                        Err(e) => {
                            tracing::error!(flow = %name, "cannot publish {}: {e:#}", path.display())
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read the flows folder: {e:#}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// A plugin version that is now active.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Published {
    pub version: i64,
    pub created: bool,
    pub world: String,
    pub wit: String,
    pub hash: String,
}

/// Why a plugin publish was refused.
#[derive(Debug)]
pub enum PluginPublishError {
    /// The component failed validation, compilation or its health check; the old one serves on.
    Refused(String),
    NotFound(String),
}

/// `serve --watch`, plugins: a changed component file of a loaded plugin (an integration's
/// adapter or a flow plugin) is hot-loaded like `PUT /admin/v1/plugins/{name}`. A file that is
/// refused is logged with the reason and the running version keeps serving.
///
/// Files are compared with the content hash of the component each plugin is running when the
/// watch starts (taken here, before the returned future first runs), so a file changed while
/// the host was starting is not missed.
pub fn watch_plugins(app: Arc<App>) -> impl std::future::Future<Output = ()> {
    let mut seen: HashMap<String, String> = app
        .integrations()
        .iter()
        .map(|i| (i.config.adapter.clone(), i.adapter.hash().to_string()))
        .chain(
            app.flow_plugins()
                .into_iter()
                .map(|(name, plugin)| (name, plugin.hash().to_string())),
        )
        .collect();
    async move {
        let dir = app.config.plugins.dir.clone();
        tracing::info!("watching {} for plugin changes", dir.display());
        loop {
            let mut names: Vec<String> = app
                .integrations()
                .iter()
                .map(|i| i.config.adapter.clone())
                .collect();
            names.extend(app.flow_plugins().into_iter().map(|(name, _)| name));
            names.sort();
            names.dedup();
            for name in names {
                let path = dir.join(format!("{name}.wasm"));
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let hash = {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(&bytes))
                };
                if seen.get(&name) == Some(&hash) {
                    continue;
                }
                seen.insert(name.clone(), hash);
                match app.publish_plugin(&name, bytes).await {
                    Ok(published) if published.created => {
                        tracing::info!(plugin = %name, version = published.version, "hot-loaded from {}", path.display())
                    }
                    Ok(_) => {}
                    Err(
                        PluginPublishError::Refused(reason) | PluginPublishError::NotFound(reason),
                    ) => {
                        tracing::error!(
                            plugin = %name,
                            "{} was refused; the running version keeps serving: {reason}",
                            path.display()
                        )
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}
