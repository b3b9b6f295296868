//! `cargo xtask test-dist`: installs the package `dist --profile dev` builds into this machine
//! and runs the installed binary (`tests/tests/dist.rs`), then purges the package.
//!
//! It changes the system (a `switchboard` user, `/usr/bin/switchboard`, `/etc/switchboard`), so
//! it is meant for a throwaway machine such as CI's, and runs only as root with dpkg; elsewhere
//! it says why it skipped. It refuses to run where a `switchboard` package is installed, which
//! its purge would remove. The debug binary and the plugins `cargo xtask test` built are reused.

use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

use crate::dist::{self, Profile};
use crate::{Workspace, run, step};

/// What the test runs: the installed binary.
const INSTALLED_BINARY: &str = "/usr/bin/switchboard";
const UNIT: &str = "/lib/systemd/system/switchboard.service";

pub fn run_test_dist(ws: &Workspace) -> anyhow::Result<ExitCode> {
    if let Some(reason) = why_not() {
        step(&format!("test-dist: skipped: {reason}"));
        return Ok(ExitCode::SUCCESS);
    }
    if installed_status().contains("installed") {
        bail!(
            "a `switchboard` package is already installed here; test-dist installs its own and purges it at the end, so it stops (remove it with `dpkg --purge switchboard` first)"
        );
    }
    let built = dist::build(ws, Profile::Dev)?;
    run(Command::new("dpkg").arg("--install").arg(&built.deb))?;
    let checked = check_installed(ws);
    let purged = run(Command::new("dpkg").args(["--purge", "switchboard"]));
    checked?;
    purged?;
    step("test-dist: the installed package passed; purged");
    Ok(ExitCode::SUCCESS)
}

/// Why this machine cannot run the test, if it cannot.
fn why_not() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some(
            "installing the package needs root (CI runs it as root on a throwaway machine)".into(),
        );
    }
    for tool in ["dpkg", "dpkg-deb", "setpriv"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` is missing (a Debian system has it)"));
        }
    }
    None
}

/// `dpkg-query`'s status of the `switchboard` package (empty when it is unknown).
fn installed_status() -> String {
    Command::new("dpkg-query")
        .args(["--show", "--showformat=${Status}", "switchboard"])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn check_installed(ws: &Workspace) -> anyhow::Result<()> {
    let conffiles = Command::new("dpkg-query")
        .args(["--show", "--showformat=${Conffiles}", "switchboard"])
        .output()
        .context("cannot run dpkg-query")?;
    let conffiles = String::from_utf8_lossy(&conffiles.stdout);
    if !conffiles.contains(dist::CONFIG_PATH) {
        bail!(
            "{} is not a conffile of the installed package (conffiles: {conffiles:?})",
            dist::CONFIG_PATH
        );
    }
    let has_analyze = Command::new("sh")
        .args(["-c", "command -v systemd-analyze"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_analyze {
        run(Command::new("systemd-analyze").args(["verify", UNIT]))
            .context("the installed systemd unit does not verify")?;
    } else {
        step("test-dist: systemd-analyze is missing; the unit file is not verified");
    }
    let mut test = ws.cargo();
    test.args([
        "test",
        "--workspace",
        "-p",
        "switchboard-tests",
        "--test",
        "dist",
        "--",
        "--ignored",
    ])
    .env("SWITCHBOARD_INSTALLED", INSTALLED_BINARY);
    run(&mut test)
}
