//! Flow files in a folder: which files are flows, what each is named, and checking one (for
//! `switchboard flow validate`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;
use crate::engine::{Flow, FlowError, Known, PluginKind};
use crate::runtime::PluginRuntime;

/// The `*.yaml` and `*.yml` files of the flows folder, sorted (none if it does not exist).
pub fn flow_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
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
pub fn flow_name(path: &Path) -> Option<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
}

/// The plugins the flow files of `dir` name (the parseable ones).
pub fn plugins_named_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for flow_file in flow_files(dir)? {
        if let Ok(source) = std::fs::read_to_string(&flow_file)
            && let Ok(flow) = Flow::parse(&source, &Known::default())
        {
            names.extend(flow.plugins().into_keys());
        }
    }
    Ok(names)
}

/// Reads a flow file and validates it, against a configuration's queues, the loaded plugins'
/// kinds and the schedule groups when given.
pub fn validate_flow_file(
    path: &Path,
    queues: Option<&HashSet<String>>,
    plugins: Option<&HashMap<String, PluginKind>>,
    schedule_groups: Option<&HashSet<String>>,
) -> anyhow::Result<Result<Flow, Vec<FlowError>>> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Flow::parse(
        &source,
        &Known {
            queues,
            plugins,
            flows: None,
            schedule_groups,
        },
    ))
}

/// The kinds of the plugins a flow file names, loaded from the configuration's plugins folder or
/// built into the binary (missing ones are left out, so validation reports them).
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
        let grant = config.plugin_grant(&name);
        let plugin = if file.exists() {
            runtime.load_flow_plugin_file(&file, grant).await?
        } else if let Some(bytes) = crate::embedded::plugin(&name) {
            runtime
                .load_flow_plugin(&name, bytes.to_vec(), grant)
                .await?
        } else {
            continue;
        };
        kinds.insert(name, crate::catalog::kind_of(&plugin));
    }
    Ok(kinds)
}
