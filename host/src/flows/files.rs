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
    let source = match read_source(path)? {
        Ok(source) => source,
        Err(error) => return Ok(Err(vec![error])),
    };
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

/// A flow file's text; a file that is not UTF-8 is an invalid flow, located at its first bad
/// byte, not an unreadable file.
fn read_source(path: &Path) -> anyhow::Result<Result<String, FlowError>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = &bytes[..e.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        FlowError {
            line: Some(valid.iter().filter(|&&b| b == b'\n').count() + 1),
            column: Some(column),
            message: format!(
                "the file is not UTF-8 text (byte 0x{:02x})",
                bytes[valid.len()]
            ),
        }
    }))
}

/// The kinds of the plugins a flow file names, loaded from the configuration's plugins folder or
/// built into the binary (missing ones are left out, so validation reports them).
pub async fn plugin_kinds_for(
    path: &Path,
    config: &Config,
) -> anyhow::Result<HashMap<String, PluginKind>> {
    let Ok(Ok(source)) = read_source(path) else {
        return Ok(HashMap::new());
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_utf8_is_an_invalid_flow_located_at_its_first_bad_byte() {
        let path = std::env::temp_dir().join(format!("not-utf8-{}.yaml", std::process::id()));
        std::fs::write(&path, b"start: a\nst\xc3\xa9\xffps: {}\n").unwrap();
        let errors = validate_flow_file(&path, None, None, None)
            .expect("readable")
            .expect_err("invalid");
        std::fs::remove_file(&path).ok();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].to_string(),
            "2:4: the file is not UTF-8 text (byte 0xff)"
        );
    }
}
