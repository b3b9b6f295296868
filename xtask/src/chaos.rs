//! `cargo xtask chaos [--seconds N] [--seed S] [--kills N] [--customers N] [--callers N]`: the fault campaign
//! (`switchboard_tests::chaos`). Builds the plugins, the host binary and the campaign's driver
//! (`tests/src/bin/chaos.rs`, which runs the platform simulator in its own process and starts,
//! kills and restarts the host), then runs the driver with the flags given. The report lands in
//! `target/chaos/report.json` (the run's config, database and host log in `target/chaos/run/`
//! while it runs, the log kept as `target/chaos/host.log`); the exit code is the verdict's.

use std::process::ExitCode;

use anyhow::bail;

use crate::{Workspace, build_plugins, step};

/// The flags the driver takes; each takes a value.
const FLAGS: &[&str] = &["--seconds", "--seed", "--kills", "--customers", "--callers"];

pub fn run(ws: &Workspace, args: &[String]) -> anyhow::Result<ExitCode> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
        if !FLAGS.contains(&flag) {
            bail!(
                "chaos: unexpected argument {arg:?} (flags: {})",
                FLAGS.join(", ")
            );
        }
        if !arg.contains('=') && rest.next().is_none() {
            bail!("chaos: {arg} needs a value");
        }
    }
    let plugins = build_plugins(ws)?;
    crate::run(ws.cargo().args([
        "build",
        "-p",
        "switchboard",
        "--bin",
        "switchboard",
        "-p",
        "switchboard-tests",
        "--bin",
        "chaos",
    ]))?;
    let out = ws.target.join("chaos");
    step(&format!("chaos campaign, report in {}", out.display()));
    let status = std::process::Command::new(ws.bin("debug", "chaos"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .env("SWITCHBOARD_PLUGINS_DIR", &plugins)
        .env("SWITCHBOARD_BIN", ws.bin("debug", "switchboard"))
        .current_dir(&ws.root)
        .status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
