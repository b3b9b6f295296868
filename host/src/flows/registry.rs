//! Published flow versions, parsed once and shared.
//!
//! Publishing validates a flow against the queues and the loaded plugins, stores it as a new
//! immutable version when it changed, and makes it the one new conversations start on;
//! conversations already running keep theirs. Rollback makes an earlier version active again.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, bail};

use super::files::flow_files;
use crate::engine::{Flow, FlowError, Known, PluginKind};
use crate::model::now_ms;
use crate::store::CatalogStore;

/// The flows every conversation runs (see the module docs).
pub struct FlowRegistry {
    store: Arc<dyn CatalogStore>,
    queues: Arc<HashSet<String>>,
    schedule_groups: HashSet<String>,
    latest: RwLock<HashMap<String, i64>>,
    parsed: Mutex<HashMap<(String, i64), Arc<Flow>>>,
}

impl crate::engine::Flows for FlowRegistry {
    fn latest(&self, name: &str) -> Option<(i64, Arc<Flow>)> {
        let version = self.latest_version(name)?;
        let parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        parsed
            .get(&(name.to_string(), version))
            .map(|flow| (version, flow.clone()))
    }
}

impl FlowRegistry {
    /// A registry over `store`; flows may transfer to `queues` and name `schedule_groups`.
    pub fn new(
        store: Arc<dyn CatalogStore>,
        queues: Arc<HashSet<String>>,
        schedule_groups: HashSet<String>,
    ) -> FlowRegistry {
        FlowRegistry {
            store,
            queues,
            schedule_groups,
            latest: RwLock::new(HashMap::new()),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// The queues flows may transfer to.
    pub fn queues(&self) -> &Arc<HashSet<String>> {
        &self.queues
    }

    /// The version new conversations of flow `name` start on.
    pub fn latest_version(&self, name: &str) -> Option<i64> {
        self.latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
    }

    fn set_latest(&self, name: &str, version: i64, flow: Flow) {
        self.parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((name.to_string(), version), Arc::new(flow));
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), version);
    }

    /// Version `version` of flow `name`, parsed once and then shared.
    pub async fn load(&self, name: &str, version: i64) -> anyhow::Result<Arc<Flow>> {
        let key = (name.to_string(), version);
        if let Some(flow) = self
            .parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(flow.clone());
        }
        let stored = self
            .store
            .flow_version(name, version)
            .await?
            .with_context(|| format!("flow `{name}` version {version} is not in the store"))?;
        let flow = Flow::parse_stored(&stored.source).map_err(|errors| {
            anyhow::anyhow!(
                "stored flow `{name}` v{version} no longer parses: {}",
                join_errors(&errors)
            )
        })?;
        let flow = Arc::new(flow);
        self.parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, flow.clone());
        Ok(flow)
    }

    /// Validates and publishes a flow, checking the plugins it calls against `plugins` (the
    /// loaded flow plugins' kinds). `Ok(Err(errors))` when it does not validate;
    /// `Ok(Ok((version, created)))` otherwise (`created` is false when it equals the active
    /// version).
    pub async fn publish(
        &self,
        name: &str,
        source: String,
        plugins: &HashMap<String, PluginKind>,
    ) -> anyhow::Result<Result<(i64, bool), Vec<FlowError>>> {
        let flow = match Flow::parse(
            &source,
            &Known {
                queues: Some(&self.queues),
                plugins: Some(plugins),
                flows: None,
                schedule_groups: Some(&self.schedule_groups),
            },
        ) {
            Ok(flow) => flow,
            Err(errors) => return Ok(Err(errors)),
        };
        let hash = crate::catalog::sha256_hex(source.as_bytes());
        let (version, created) = self
            .store
            .publish_flow(name, &source, &hash, now_ms())
            .await?;
        self.set_latest(name, version, flow);
        if created {
            tracing::info!(flow = %name, version, "flow published");
        }
        Ok(Ok((version, created)))
    }

    /// Makes version `version` of flow `name` the one new conversations start on.
    /// `Ok(None)` when there is no such version.
    pub async fn rollback(&self, name: &str, version: i64) -> anyhow::Result<Option<i64>> {
        let Some(found) = self.store.activate_flow(name, version).await? else {
            return Ok(None);
        };
        let flow = Flow::parse_stored(&found.source).map_err(|e| {
            anyhow::anyhow!("version {version} no longer parses: {}", join_errors(&e))
        })?;
        self.set_latest(name, version, flow);
        tracing::info!(flow = %name, version, "flow rolled back");
        Ok(Some(version))
    }

    /// Takes flow `name`'s active version from the store when it is not the one new
    /// conversations start on here (another host published or rolled back).
    pub async fn reload(&self, name: &str) -> anyhow::Result<()> {
        let Some(active) = self.store.active_flow(name).await? else {
            return Ok(());
        };
        if self.latest_version(name) == Some(active.version) {
            return Ok(());
        }
        let flow = Flow::parse_stored(&active.source).map_err(|e| {
            anyhow::anyhow!(
                "flow `{name}` v{} no longer parses: {}",
                active.version,
                join_errors(&e)
            )
        })?;
        self.set_latest(name, active.version, flow);
        tracing::info!(flow = %name, version = active.version, "flow version taken from another host");
        Ok(())
    }

    /// Publishes every flow file of `dir` that differs from its active version. A file that
    /// does not validate never replaces a stored version: it is logged, and the stored one
    /// keeps serving; with no stored version, this fails with every error.
    pub async fn publish_folder(
        &self,
        dir: &Path,
        plugins: &HashMap<String, PluginKind>,
    ) -> anyhow::Result<()> {
        for path in flow_files(dir)? {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let Err(errors) = self.publish(&name, source, plugins).await? else {
                continue;
            };
            match self.store.active_flow(&name).await? {
                Some(v) => {
                    tracing::error!(flow = %name, "{} does not validate, keeping stored version {}: {}", path.display(), v.version, join_errors(&errors));
                    let flow = Flow::parse_stored(&v.source).map_err(|e| {
                        anyhow::anyhow!(
                            "stored flow `{name}` no longer parses: {}",
                            join_errors(&e)
                        )
                    })?;
                    self.set_latest(&name, v.version, flow);
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
        Ok(())
    }
}

/// Validation errors on one line.
pub fn join_errors(errors: &[FlowError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
