//! The example flows' scripted conversations (`flows/scripts/FLOW--CASE.yaml`), run as
//! `switchboard flow test` runs them: the real engine, the real plugin components.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_flow_script_passes() {
    let root = workspace();
    let plugins = std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/plugins"));
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root.join("flows/scripts"))
        .expect("flows/scripts")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    scripts.sort();
    assert!(
        scripts.len() >= 8,
        "the example flows ship with their scripts: {scripts:?}"
    );
    let mut failed = Vec::new();
    for script in &scripts {
        let stem = script.file_stem().unwrap().to_string_lossy();
        let flow = stem.split("--").next().unwrap();
        let flow_file = root.join("flows").join(format!("{flow}.yaml"));
        assert!(
            flow_file.exists(),
            "{} names flow `{flow}`, but {} is missing",
            script.display(),
            flow_file.display()
        );
        match switchboard::flowtest::run(&flow_file, script, &plugins).await {
            Ok(true) => {}
            Ok(false) => failed.push(script.display().to_string()),
            Err(e) => failed.push(format!("{}: {e:#}", script.display())),
        }
    }
    assert!(
        failed.is_empty(),
        "scripts failed (their output is above):\n{}",
        failed.join("\n")
    );
}
