//! `serve --watch`: flow files and plugin components published as they change. A file that is
//! refused is logged with the reason, and the running version keeps serving.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::publish::{Deployer, PluginPublishError};
use crate::catalog::sha256_hex;
use crate::flows::{flow_files, flow_name};

/// How often the folders are looked at.
const POLL: Duration = Duration::from_millis(500);

/// Publishes flow files of `dir` as they change.
///
/// A file is compared with the content of the flow's active version, not with a first look at
/// the folder, so a change made while the host was starting is not missed; a file with no
/// version yet (added after start) is published when it appears.
pub async fn watch_flows(deployer: Arc<Deployer>, dir: PathBuf) {
    let mut seen: HashMap<PathBuf, String> = HashMap::new();
    for path in flow_files(&dir).unwrap_or_default() {
        let Some(name) = flow_name(&path) else {
            continue;
        };
        if let Ok(Some(active)) = deployer.store.active_flow(&name).await {
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
                    let hash = sha256_hex(source.as_bytes());
                    if seen.get(&path) == Some(&hash) {
                        continue;
                    }
                    seen.insert(path.clone(), hash);
                    let Some(name) = flow_name(&path) else {
                        continue;
                    };
                    match deployer.publish_flow(&name, source).await {
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
        tokio::time::sleep(POLL).await;
    }
}

/// Hot-loads changed component files of loaded plugins (an integration's adapter or a flow
/// plugin), like `PUT /admin/v1/plugins/{name}`.
///
/// Files are compared with the content hash of the component each plugin is running when the
/// watch starts (taken here, before the returned future first runs), so a file changed while
/// the host was starting is not missed.
pub fn watch_plugins(deployer: Arc<Deployer>) -> impl std::future::Future<Output = ()> {
    let mut seen: HashMap<String, String> = deployer
        .integrations
        .all()
        .iter()
        .map(|i| (i.config.adapter.clone(), i.adapter.hash().to_string()))
        .chain(
            deployer
                .catalog
                .flow_plugins()
                .into_iter()
                .map(|(name, plugin)| (name, plugin.hash().to_string())),
        )
        .collect();
    async move {
        let dir = deployer.catalog.dir().to_path_buf();
        tracing::info!("watching {} for plugin changes", dir.display());
        loop {
            let mut names: Vec<String> = deployer
                .integrations
                .all()
                .iter()
                .map(|i| i.config.adapter.clone())
                .collect();
            names.extend(
                deployer
                    .catalog
                    .flow_plugins()
                    .into_iter()
                    .map(|(name, _)| name),
            );
            names.sort();
            names.dedup();
            for name in names {
                let path = deployer.catalog.file(&name);
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let hash = sha256_hex(&bytes);
                if seen.get(&name) == Some(&hash) {
                    continue;
                }
                seen.insert(name.clone(), hash);
                match deployer.publish_plugin(&name, bytes).await {
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
            tokio::time::sleep(POLL).await;
        }
    }
}
