//! The Node-RED peer: installed with npm into `target/node-red/` when missing, started headless
//! on a free loopback port with the flow and settings in `xtask/bench/node-red/`.
//!
//! Node-RED is a peer, not a requirement: when Node.js or npm is missing, too old, or the
//! install fails, [`prepare`] says why and the bench goes on without it (the report notes it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::{Running, Workspace, describe, free_port, redirect_output, step, tail};

/// Node-RED 4 needs Node.js 18 or later.
const MIN_NODE_MAJOR: u32 = 18;
/// How long Node-RED may take to start its flow (it is slow to start on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// An installed Node-RED.
pub struct Installed {
    red_js: PathBuf,
}

fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

/// The major version in `node --version`'s `v20.20.2`.
fn node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Finds Node.js and installs Node-RED 4 when it is not there yet; `Err` says why the peer
/// cannot run.
pub fn prepare(ws: &Workspace) -> Result<Installed, String> {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("Node.js is not installed (`node --version`: {e})"))?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    match node_major(&version) {
        Some(major) if major >= MIN_NODE_MAJOR => {}
        _ => {
            return Err(format!(
                "Node-RED 4 needs Node.js {MIN_NODE_MAJOR} or later, found {:?}",
                version.trim()
            ));
        }
    }
    let prefix = ws.target.join("node-red");
    let red_js = prefix.join("node_modules").join("node-red").join("red.js");
    if !red_js.is_file() {
        let mut install = Command::new(npm());
        install
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("node-red@4");
        step(&describe(&install));
        match install.status() {
            Ok(status) if status.success() => {}
            Ok(status) => return Err(format!("`npm install node-red@4` failed: {status}")),
            Err(e) => return Err(format!("npm is not installed ({e})")),
        }
        if !red_js.is_file() {
            return Err(format!(
                "npm installed Node-RED but {} is missing",
                red_js.display()
            ));
        }
    }
    Ok(Installed { red_js })
}

/// Starts Node-RED with the bench flow, answering on the returned address once the flow runs.
pub fn start(
    ws: &Workspace,
    installed: &Installed,
    run_dir: &Path,
    consumer_secret: &str,
) -> anyhow::Result<(Running, SocketAddr)> {
    let files = ws.root.join("xtask").join("bench").join("node-red");
    let user_dir = run_dir.join("node-red");
    std::fs::create_dir_all(&user_dir)
        .with_context(|| format!("cannot create {}", user_dir.display()))?;
    let addr = free_port()?;
    let log = run_dir.join("node-red.log");
    let mut command = Command::new("node");
    command
        .arg(&installed.red_js)
        .arg("--settings")
        .arg(files.join("settings.js"))
        .arg("--userDir")
        .arg(&user_dir)
        .args(["--port", &addr.port().to_string()])
        .arg(files.join("flows.json"))
        .env("BENCH_CONSUMER_SECRET", consumer_secret)
        .current_dir(&user_dir);
    redirect_output(&mut command, &log)?;
    let mut node_red = Running::spawn("node-red", &mut command)?;
    if let Err(e) = crate::wait_for_health(&mut node_red, addr, START_TIMEOUT) {
        node_red.stop();
        return Err(e.context(format!(
            "last lines of {}:\n{}",
            log.display(),
            tail(&log, 20)
        )));
    }
    Ok((node_red, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_are_read_by_major() {
        assert_eq!(node_major("v20.20.2\n"), Some(20));
        assert_eq!(node_major("v4.9.1"), Some(4));
        assert_eq!(node_major("20"), None);
    }
}
