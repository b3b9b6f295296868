//! The live integrations and their adapters.
//!
//! Integrations come from the configuration file and from the admin API (stored, they override
//! the file's on the next start). Each binds one adapter; an adapter may serve several
//! integrations (one `describe()` per integration, with its settings: one adapter may serve
//! several platforms, e.g. Messenger and Instagram). A hot-loaded adapter is swapped in for
//! every integration using it at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};

use crate::catalog::PluginCatalog;
use crate::config::{IntegrationConfig, check_integrations};
use crate::events::AdapterInfo;
use crate::flows::FlowRegistry;
use crate::model::now_ms;
use crate::runtime::{AdapterPlugin, CallContext};
use crate::store::CatalogStore;
use crate::wake::Wakeups;

use super::sealed::{KEY_VARIABLE, Sealer};

/// One configured integration with its loaded adapter.
pub struct Integration {
    pub config: IntegrationConfig,
    pub adapter: Arc<AdapterPlugin>,
    pub ctx: CallContext,
    /// What the adapter says about the platform with this integration's settings.
    pub info: AdapterInfo,
    /// The adapter's plugin version.
    pub adapter_version: i64,
}

/// The live integrations (see the module docs).
pub struct Integrations {
    live: RwLock<HashMap<String, Arc<Integration>>>,
    /// Integrations whose adapter has no component yet (neither stored nor a file): their
    /// webhooks answer 503 until an admin publishes it, which makes them live.
    waiting: RwLock<HashMap<String, IntegrationConfig>>,
    /// Integrations whose credentials the platform refused: id → (since, reason).
    deauthorized: RwLock<HashMap<String, (i64, String)>>,
    store: Arc<dyn CatalogStore>,
    catalog: Arc<PluginCatalog>,
    flows: Arc<FlowRegistry>,
    flows_dir: std::path::PathBuf,
    wake: Arc<Wakeups>,
    /// Encrypts what is stored (see `sealed.rs`).
    sealer: Sealer,
}

impl Integrations {
    /// Loads every integration: the file's, overridden and extended by those admins set through
    /// the API. Their flows must be published already.
    pub async fn open(
        mut configs: Vec<IntegrationConfig>,
        store: Arc<dyn CatalogStore>,
        catalog: Arc<PluginCatalog>,
        flows: Arc<FlowRegistry>,
        flows_dir: std::path::PathBuf,
        wake: Arc<Wakeups>,
        sealer: Sealer,
    ) -> anyhow::Result<Integrations> {
        for (id, stored) in store.saved_integrations().await? {
            let json = sealer.open(&id, &stored)?;
            let saved: IntegrationConfig = serde_json::from_str(&json)
                .with_context(|| format!("stored integration `{id}` cannot be read"))?;
            match configs.iter_mut().find(|i| i.id == id) {
                Some(existing) => *existing = saved,
                None => configs.push(saved),
            }
        }
        check_integrations(&configs)?;
        let deauthorized = store
            .deauthorized()
            .await?
            .into_iter()
            .map(|(id, since, reason)| (id, (since, reason)))
            .collect();
        let integrations = Integrations {
            live: RwLock::new(HashMap::new()),
            waiting: RwLock::new(HashMap::new()),
            deauthorized: RwLock::new(deauthorized),
            store,
            catalog,
            flows,
            flows_dir,
            wake,
            sealer,
        };
        let mut adapters = HashMap::new();
        for config in configs {
            if !integrations.catalog.has_component(&config.adapter).await? {
                integrations.check_flow(&config)?;
                tracing::warn!(
                    integration = %config.id,
                    "adapter plugin `{}` is not published yet: /webhooks/{} answers 503 until it is (PUT /admin/v1/plugins/{})",
                    config.adapter, config.id, config.adapter
                );
                integrations
                    .waiting
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(config.id.clone(), config);
                continue;
            }
            integrations.install(config, &mut adapters).await?;
        }
        Ok(integrations)
    }

    /// The adapter integration `id` waits for, when it waits for one.
    pub fn waiting_for(&self, id: &str) -> Option<String> {
        let waiting = self.waiting.read().unwrap_or_else(|e| e.into_inner());
        waiting.get(id).map(|c| c.adapter.clone())
    }

    /// Whether an integration waits for adapter `name`.
    pub fn is_awaited(&self, name: &str) -> bool {
        let waiting = self.waiting.read().unwrap_or_else(|e| e.into_inner());
        waiting.values().any(|c| c.adapter == name)
    }

    /// The integrations waiting for adapter `name`, with what it says for each one's settings;
    /// fails when it fails for one (the publish is refused).
    pub async fn describe_waiting(
        &self,
        name: &str,
        adapter: &AdapterPlugin,
    ) -> anyhow::Result<Vec<(IntegrationConfig, AdapterInfo)>> {
        let configs: Vec<IntegrationConfig> = {
            let waiting = self.waiting.read().unwrap_or_else(|e| e.into_inner());
            waiting
                .values()
                .filter(|c| c.adapter == name)
                .cloned()
                .collect()
        };
        let mut described = Vec::new();
        for config in configs {
            let info = adapter
                .describe(&context(&config))
                .await
                .with_context(|| format!("integration `{}`: describe() failed", config.id))?;
            described.push((config, info));
        }
        Ok(described)
    }

    fn check_flow(&self, config: &IntegrationConfig) -> anyhow::Result<()> {
        if self.flows.latest_version(&config.flow).is_none() {
            bail!(
                "integration `{}`: flow `{}` not found (looked for {})",
                config.id,
                config.flow,
                self.flows_dir
                    .join(format!("{}.yaml", config.flow))
                    .display()
            );
        }
        Ok(())
    }

    /// Loads an integration's adapter (once per plugin name, through `adapters`) and makes the
    /// integration live.
    async fn install(
        &self,
        config: IntegrationConfig,
        adapters: &mut HashMap<String, (Arc<AdapterPlugin>, i64)>,
    ) -> anyhow::Result<()> {
        let (adapter, adapter_version) = match adapters.get(&config.adapter) {
            Some(loaded) => loaded.clone(),
            None => {
                let loaded = self
                    .catalog
                    .load_adapter(&config.adapter)
                    .await
                    .with_context(|| {
                        format!(
                            "integration `{}`: adapter plugin `{}`",
                            config.id, config.adapter
                        )
                    })?;
                adapters.insert(config.adapter.clone(), loaded.clone());
                loaded
            }
        };
        self.check_flow(&config)?;
        let ctx = context(&config);
        let info = adapter
            .describe(&ctx)
            .await
            .with_context(|| format!("integration `{}`: describe() failed", config.id))?;
        self.live.write().unwrap_or_else(|e| e.into_inner()).insert(
            config.id.clone(),
            Arc::new(Integration {
                config,
                adapter,
                ctx,
                info,
                adapter_version,
            }),
        );
        Ok(())
    }

    /// Adds or replaces an integration at run time (the admin API) and stores it so it
    /// survives a restart. Replacing an integration re-authorizes it: its waiting messages go
    /// out.
    pub async fn put(&self, integration: IntegrationConfig) -> anyhow::Result<()> {
        let mut all: Vec<IntegrationConfig> = self.all().iter().map(|i| i.config.clone()).collect();
        match all.iter_mut().find(|i| i.id == integration.id) {
            Some(existing) => *existing = integration.clone(),
            None => all.push(integration.clone()),
        }
        check_integrations(&all)?;
        let mut adapters: HashMap<String, (Arc<AdapterPlugin>, i64)> = self
            .all()
            .iter()
            .map(|i| {
                (
                    i.config.adapter.clone(),
                    (i.adapter.clone(), i.adapter_version),
                )
            })
            .collect();
        self.install(integration.clone(), &mut adapters).await?;
        let json = serde_json::to_string(&integration)?;
        if !self.sealer.has_key() {
            tracing::warn!(
                integration = %integration.id,
                "the integration's settings are stored unencrypted: set {KEY_VARIABLE} or [store] secret_key_file"
            );
        }
        let stored = self.sealer.seal(&integration.id, &json)?;
        self.store
            .save_integration(&integration.id, &stored, now_ms())
            .await?;
        self.deauthorized
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&integration.id);
        self.wake.wake_outbound();
        tracing::info!(integration = %integration.id, "integration updated");
        Ok(())
    }

    /// Installs integration `id` as an admin set it through the API on another host (from the
    /// store).
    pub async fn reload(&self, id: &str) -> anyhow::Result<()> {
        let saved = self.store.saved_integrations().await?;
        let Some((_, stored)) = saved.into_iter().find(|(saved, _)| saved == id) else {
            return Ok(());
        };
        let json = self.sealer.open(id, &stored)?;
        let integration: IntegrationConfig = serde_json::from_str(&json)
            .with_context(|| format!("stored integration `{id}` cannot be read"))?;
        if self.get(id).is_some_and(|live| {
            serde_json::to_string(&live.config).ok().as_deref() == Some(json.as_str())
        }) {
            return Ok(());
        }
        let mut adapters: HashMap<String, (Arc<AdapterPlugin>, i64)> = self
            .all()
            .iter()
            .map(|i| {
                (
                    i.config.adapter.clone(),
                    (i.adapter.clone(), i.adapter_version),
                )
            })
            .collect();
        self.install(integration, &mut adapters).await?;
        self.deauthorized
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.wake.wake_outbound();
        tracing::info!(integration = %id, "integration taken from another host");
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Integration>> {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Every live integration, by id.
    pub fn all(&self) -> Vec<Arc<Integration>> {
        let mut all: Vec<_> = self
            .live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.config.id.cmp(&b.config.id));
        all
    }

    /// The integrations bound to adapter `name`.
    pub fn using_adapter(&self, name: &str) -> Vec<Arc<Integration>> {
        self.all()
            .into_iter()
            .filter(|i| i.config.adapter == name)
            .collect()
    }

    /// Binds `adapter` (version `version`) to the integrations of `described`, each with what
    /// its `describe()` answered, in one swap: calls already running finish on the old one.
    /// The `waiting` integrations it was published for go live with it.
    pub fn swap_adapter(
        &self,
        adapter: Arc<AdapterPlugin>,
        version: i64,
        described: Vec<(Arc<Integration>, AdapterInfo)>,
        waiting: Vec<(IntegrationConfig, AdapterInfo)>,
    ) {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let mut still_waiting = self.waiting.write().unwrap_or_else(|e| e.into_inner());
        for (config, info) in waiting {
            still_waiting.remove(&config.id);
            tracing::info!(integration = %config.id, "adapter published: the integration is live");
            live.insert(
                config.id.clone(),
                Arc::new(Integration {
                    ctx: context(&config),
                    config,
                    adapter: adapter.clone(),
                    info,
                    adapter_version: version,
                }),
            );
        }
        for (old, info) in described {
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
    }

    /// Integration id → platform (`x`, `whatsapp`, ...).
    pub fn platforms(&self) -> HashMap<String, String> {
        self.all()
            .iter()
            .map(|i| (i.config.id.clone(), i.info.platform.clone()))
            .collect()
    }

    /// The integration that sends for `id`: itself, or the one its `reply_as` names.
    pub fn sender_for(&self, id: &str) -> Option<Arc<Integration>> {
        let integration = self.get(id)?;
        match &integration.config.reply_as {
            Some(other) => self.get(other),
            None => Some(integration),
        }
    }

    /// Since when and why the platform refuses the integration's credentials, if it does.
    pub fn deauthorized(&self, id: &str) -> Option<(i64, String)> {
        self.deauthorized
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Marks an integration deauthorized after the platform refused its credentials.
    pub async fn set_deauthorized(&self, id: &str, reason: &str) {
        let now = now_ms();
        self.deauthorized
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), (now, reason.to_string()));
        if let Err(e) = self.store.set_deauthorized(id, reason, now).await {
            tracing::error!("cannot record a deauthorization: {e:#}");
        }
    }
}

/// What an adapter call for this integration is given.
fn context(config: &IntegrationConfig) -> CallContext {
    CallContext {
        integration_id: config.id.clone(),
        settings: Arc::new(config.settings_as_strings()),
    }
}
