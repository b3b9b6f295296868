//! Publishing and rollback of flows and plugins.

use std::sync::Arc;

use crate::catalog::{PluginCatalog, world_of};
use crate::engine::FlowError;
use crate::flows::FlowRegistry;
use crate::integrations::Integrations;
use crate::runtime::Loaded;
use crate::store::CatalogStore;

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
}

impl Deployer {
    /// Validates (against the queues and the loaded plugins) and publishes a flow.
    /// `Ok(Err(errors))` when it does not validate; `Ok(Ok((version, created)))` otherwise.
    pub async fn publish_flow(
        &self,
        name: &str,
        source: String,
    ) -> anyhow::Result<Result<(i64, bool), Vec<FlowError>>> {
        self.flows
            .publish(name, source, &self.catalog.kinds())
            .await
    }

    /// Makes version `version` of flow `name` active again; `Ok(None)` when there is none.
    pub async fn rollback_flow(&self, name: &str, version: i64) -> anyhow::Result<Option<i64>> {
        self.flows.rollback(name, version).await
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
                if !self.integrations.using_adapter(name).is_empty() {
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
                let version = self
                    .catalog
                    .record_version(name, adapter.hash(), "adapter", &bytes)
                    .await
                    .map_err(|e| refuse(&e))?;
                self.integrations
                    .swap_adapter(adapter.clone(), version, described);
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
        self.publish_plugin(name, stored.bytes).await
    }
}
