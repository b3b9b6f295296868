//! Publishing and rollback of flows and plugins.

use std::sync::Arc;

use crate::catalog::{PluginCatalog, world_of};
use crate::engine::FlowError;
use crate::flows::FlowRegistry;
use crate::integrations::Integrations;
use crate::runtime::Loaded;
use crate::store::{CatalogStore, Signal, SignalBus};

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

/// Publishes and rolls back flows and plugins (see the module docs).
pub struct Deployer {
    pub catalog: Arc<PluginCatalog>,
    pub integrations: Arc<Integrations>,
    pub flows: Arc<FlowRegistry>,
    pub store: Arc<dyn CatalogStore>,
    /// The signals between hosts sharing the store, when its engine has them.
    pub bus: Option<Arc<dyn SignalBus>>,
}

impl Deployer {
    /// Validates (against the queues and the loaded plugins) and publishes a flow.
    /// `Ok(Err(errors))` when it does not validate; `Ok(Ok((version, created)))` otherwise.
    pub async fn publish_flow(
        &self,
        name: &str,
        source: String,
    ) -> anyhow::Result<Result<(i64, bool), Vec<FlowError>>> {
        let result = self
            .flows
            .publish(name, source, &self.catalog.kinds())
            .await?;
        if let Ok((version, true)) = result {
            self.announce(Signal::FlowPublished {
                name: name.to_string(),
                version,
            })
            .await;
        }
        Ok(result)
    }

    /// Makes version `version` of flow `name` active again; `Ok(None)` when there is none.
    pub async fn rollback_flow(&self, name: &str, version: i64) -> anyhow::Result<Option<i64>> {
        let rolled = self.flows.rollback(name, version).await?;
        if let Some(version) = rolled {
            self.announce(Signal::FlowPublished {
                name: name.to_string(),
                version,
            })
            .await;
        }
        Ok(rolled)
    }

    /// Adds or replaces an integration (the admin API), here and on the other hosts.
    pub async fn put_integration(
        &self,
        integration: crate::config::IntegrationConfig,
    ) -> anyhow::Result<()> {
        let id = integration.id.clone();
        self.integrations.put(integration).await?;
        self.announce(Signal::IntegrationSaved { id }).await;
        Ok(())
    }

    /// Hot-loads a component as plugin `name`: reads its world from the component, compiles it,
    /// runs its health check (`describe()` for every integration using an adapter), stores it as
    /// a new version and swaps it in. Calls already running finish on the old version; a
    /// component that fails any step is refused with the reason and the old one keeps serving.
    pub async fn publish_plugin(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Published, PluginPublishError> {
        let published = self.install_plugin(name, bytes).await?;
        if published.created {
            self.announce(Signal::PluginPublished {
                name: name.to_string(),
            })
            .await;
        }
        Ok(published)
    }

    /// Validates, compiles, health-checks and swaps in a component, recording it as a version
    /// (or finding the version that has these bytes); the work of a publish, without telling
    /// the other hosts.
    async fn install_plugin(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Published, PluginPublishError> {
        let refuse = |e: &dyn std::fmt::Display| PluginPublishError::Refused(format!("{e:#}"));
        let before = self.catalog.meta(name).map(|m| m.version);
        let grant = self.catalog.grant(name);
        let loaded = self
            .catalog
            .runtime()
            .load(name, bytes.clone(), &grant)
            .await
            .map_err(|e| refuse(&e))?;
        match loaded {
            Loaded::Flow(plugin) => {
                if !self.integrations.using_adapter(name).is_empty()
                    || self.integrations.is_awaited(name)
                {
                    return Err(PluginPublishError::Refused(format!(
                        "`{name}` is a channel adapter in use; this component is a flow plugin"
                    )));
                }
                let world = world_of(&plugin);
                let version = self
                    .catalog
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
                self.catalog.set_flow_plugin(name, plugin);
                tracing::info!(plugin = %name, version, "flow plugin swapped in");
                Ok(published)
            }
            Loaded::Adapter(adapter) => {
                if self.catalog.flow_plugin(name).is_some() {
                    return Err(PluginPublishError::Refused(format!(
                        "`{name}` is a flow plugin; this component is a channel adapter"
                    )));
                }
                let adapter = Arc::new(adapter);
                let mut described = Vec::new();
                for integration in self.integrations.using_adapter(name) {
                    let info = adapter
                        .describe(&integration.ctx)
                        .await
                        .map_err(|e| refuse(&e))?;
                    described.push((integration, info));
                }
                let waiting = self
                    .integrations
                    .describe_waiting(name, &adapter)
                    .await
                    .map_err(|e| refuse(&e))?;
                let version = self
                    .catalog
                    .record_version(name, adapter.hash(), "adapter", &bytes)
                    .await
                    .map_err(|e| refuse(&e))?;
                self.integrations
                    .swap_adapter(adapter.clone(), version, described, waiting);
                tracing::info!(plugin = %name, version, hash = &adapter.hash()[..12], "adapter swapped in");
                Ok(Published {
                    version,
                    created: before != Some(version),
                    world: "adapter".into(),
                    wit: format!("switchboard:channel@{}", adapter.wit_version()),
                    hash: adapter.hash().to_string(),
                })
            }
        }
    }

    /// Makes an earlier version of a plugin active again, hot, like a publish.
    pub async fn rollback_plugin(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Published, PluginPublishError> {
        let stored = self
            .store
            .plugin_version(name, version)
            .await
            .map_err(|e| PluginPublishError::Refused(format!("{e:#}")))?
            .ok_or_else(|| {
                PluginPublishError::NotFound(format!("plugin `{name}` has no version {version}"))
            })?;
        // Publishing the same bytes again finds their version rather than making a new one.
        self.store
            .activate_plugin(name, version)
            .await
            .map_err(|e| PluginPublishError::Refused(format!("{e:#}")))?;
        let published = self.install_plugin(name, stored.bytes).await?;
        self.announce(Signal::PluginPublished {
            name: name.to_string(),
        })
        .await;
        Ok(published)
    }

    /// Tells the other hosts sharing the store, if any.
    async fn announce(&self, signal: Signal) {
        if let Some(bus) = &self.bus
            && let Err(e) = bus.signal(signal).await
        {
            tracing::warn!("cannot tell the other hosts what was published: {e:#}");
        }
    }

    /// Acts on what another host published: loads the flow's, the plugin's or the
    /// integration's active version from the store when it is not the one running here.
    pub async fn follow(&self, signal: Signal) {
        let result = match &signal {
            Signal::FlowPublished { name, .. } => self.flows.reload(name).await,
            Signal::PluginPublished { name } => self.reload_plugin(name).await,
            Signal::IntegrationSaved { id } => self.integrations.reload(id).await,
            Signal::Agent { .. }
            | Signal::Wake { .. }
            | Signal::ScheduleSwitched { .. }
            | Signal::AccountChanged { .. } => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!("cannot follow {signal:?}: {e:#}");
        }
    }

    /// Swaps in plugin `name`'s active version when this host runs another.
    async fn reload_plugin(&self, name: &str) -> anyhow::Result<()> {
        let Some(active) = self.store.active_plugin(name).await? else {
            return Ok(());
        };
        let running = self
            .catalog
            .flow_plugin(name)
            .map(|p| p.hash().to_string())
            .or_else(|| {
                self.integrations
                    .using_adapter(name)
                    .first()
                    .map(|i| i.adapter.hash().to_string())
            });
        if running.as_deref() == Some(active.hash.as_str()) {
            return Ok(());
        }
        self.install_plugin(name, active.bytes)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                PluginPublishError::Refused(m) | PluginPublishError::NotFound(m) => {
                    anyhow::anyhow!(m)
                }
            })
    }
}
