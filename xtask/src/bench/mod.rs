//! `cargo xtask bench`: builds release binaries, then starts the servers each phase needs and
//! runs the load driver (`tests/src/bin/bench.rs`) against them, in this order:
//!
//! 1. **peers**, with the host not running: the driver's in-process bare hyper server, then
//!    Node-RED 4 (installed with npm into `target/node-red/` when missing; skipped with a note
//!    when Node.js is not there) running `xtask/bench/node-red/flows.json`;
//! 2. unless `--no-sqlite`, **the host on an empty SQLite store**: the driver starts the X send
//!    API stand-in, xtask starts the host pointed at it, the driver runs intake, sustained and
//!    faults, writes its results, and xtask stops the host before the stand-in
//!    (`session.rs`);
//! 3. unless `--no-scale`, **the host on a million stored conversations** (10,000 of them
//!    waiting in `support` with no agent): the sustained phase again, from a copy of
//!    `target/bench/prefill-1000000.db` (made once by `switchboard bench-prefill`, about two
//!    minutes, not counted in the bench's time). It is on by default because it fits the
//!    ten-minute budget and two of the goals need it;
//! 4. with `--store postgres`, **the host on PostgreSQL**: a local server
//!    (`local_postgres.rs`, in `target/bench-run/postgres/`), then intake and sustained against
//!    one host on a fresh database, and with `--hosts N` (N > 1) against N hosts sharing
//!    another fresh database, the driver sending to them in turn;
//! 5. **report**: the driver merges the phases into `target/bench/report.json` and `report.md`
//!    and prints the Markdown.
//!
//! Every phase's results land in `target/bench/phases/`; the servers' logs in
//! `target/bench-run/`.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::Context;

use crate::local_postgres::LocalPostgres;
use crate::{Workspace, build_plugins, step};

mod args;
mod config;
mod node_red;
mod prefill;
mod session;

pub use args::Args;
use config::{BENCH_ACCOUNT_ID, BENCH_CONSUMER_SECRET};
use session::{SessionStore, Spec};

/// Where a bench run keeps things.
struct Dirs {
    /// `target/bench`: the report, the phases' results, the prefill cache.
    out: PathBuf,
    phases: PathBuf,
    /// `target/bench-run`: configs, databases and logs of this run.
    run: PathBuf,
}

pub fn run(ws: &Workspace, args: Args) -> anyhow::Result<ExitCode> {
    let plugins = build_plugins(ws)?;
    crate::run(ws.cargo().args([
        "build",
        "--release",
        "-p",
        "switchboard",
        "-p",
        "switchboard-tests",
        "--bins",
    ]))?;

    let dirs = Dirs {
        out: ws.target.join("bench"),
        phases: ws.target.join("bench").join("phases"),
        run: ws.target.join("bench-run"),
    };
    for dir in [&dirs.phases, &dirs.run] {
        step(&format!("fresh {}", dir.display()));
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::survive_ctrl_c();

    let prefilled = if args.scale {
        Some(prefill::ensure(ws, &plugins, &dirs.out)?)
    } else {
        None
    };
    let started = Instant::now();

    // 1. Peers, with the host not running.
    let node_red = node_red::prepare(ws);
    peers(ws, &args, &dirs, node_red)?;

    // 2. The host on an empty SQLite store.
    if args.sqlite {
        let spec = Spec {
            label: "empty".into(),
            store: SessionStore::Sqlite { prefilled: None },
            hosts: 1,
            phases: "intake,sustained,faults",
            driver_args: driver_host_args(&args),
        };
        session::run(ws, &plugins, &dirs, spec)?;
    }

    // 3. The host on a million stored conversations.
    if let Some(db) = &prefilled {
        let mut driver = driver_host_args(&args);
        driver.push("--ladder-from".into());
        driver.push(dirs.phases.join("host.json").display().to_string());
        let spec = Spec {
            label: "1m".into(),
            store: SessionStore::Sqlite {
                prefilled: Some(db),
            },
            hosts: 1,
            phases: "sustained",
            driver_args: driver,
        };
        session::run(ws, &plugins, &dirs, spec)?;
    }

    // 4. The host on PostgreSQL: one host, then N on one database.
    let postgres_sessions = args.postgres_sessions();
    if !postgres_sessions.is_empty() {
        // Each host opens up to its default pool (16) plus one listener connection.
        let max_connections = (17 * u32::from(args.hosts) + 20).max(100).to_string();
        let postgres = LocalPostgres::start_with(
            &dirs.run.join("postgres"),
            &[("max_connections", max_connections.as_str())],
        )?;
        for hosts in postgres_sessions {
            let url = postgres.fresh_database(&format!("bench_{hosts}_hosts"))?;
            let spec = Spec {
                label: format!("postgres-{hosts}"),
                store: SessionStore::Postgres { url },
                hosts,
                phases: "intake,sustained",
                driver_args: driver_host_args(&args),
            };
            session::run(ws, &plugins, &dirs, spec)?;
        }
    }

    // 5. The report.
    let elapsed = started.elapsed().as_secs_f64();
    let mut report = Command::new(ws.bin("release", "bench"));
    report
        .arg("report")
        .arg("--dir")
        .arg(&dirs.out)
        .args(["--commit", &git_commit(ws)])
        .args(["--bench-seconds", &format!("{elapsed:.0}")])
        .args(["--store-sync", config::BENCH_STORE_SYNC]);
    crate::run(&mut report)?;
    step(&format!(
        "bench took {:.0} s (builds{} excluded)",
        elapsed,
        if args.scale { " and the prefill" } else { "" }
    ));
    Ok(ExitCode::SUCCESS)
}

/// The closed-loop and step flags every driver run shares.
fn driver_host_args(args: &Args) -> Vec<String> {
    vec![
        "--seconds".into(),
        args.seconds.to_string(),
        "--connections".into(),
        args.connections.to_string(),
        "--step-seconds".into(),
        args.step_seconds.to_string(),
    ]
}

fn signer_args(command: &mut Command) {
    command
        .args(["--consumer-secret", BENCH_CONSUMER_SECRET])
        .args(["--account-id", BENCH_ACCOUNT_ID]);
}

/// The peers phase: bare hyper in the driver, then Node-RED when it could be prepared.
fn peers(
    ws: &Workspace,
    args: &Args,
    dirs: &Dirs,
    node_red: Result<node_red::Installed, String>,
) -> anyhow::Result<()> {
    let mut driver = Command::new(ws.bin("release", "bench"));
    driver
        .arg("peers")
        .arg("--out")
        .arg(dirs.phases.join("peers.json"))
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--connections", &args.connections.to_string()]);
    signer_args(&mut driver);
    let mut running = None;
    match node_red.and_then(|installed| {
        node_red::start(ws, &installed, &dirs.run, BENCH_CONSUMER_SECRET)
            .map_err(|e| format!("Node-RED did not start ({e:#})"))
    }) {
        Ok((process, addr)) => {
            driver
                .arg("--node-red")
                .arg(format!("http://{addr}/webhooks/x-bench"));
            if let Some(pid) = process.pid() {
                driver.args(["--node-red-pid", &pid.to_string()]);
            }
            running = Some(process);
        }
        Err(reason) => {
            step(&format!("note: the Node-RED peer is skipped: {reason}"));
            driver.args(["--node-red-skipped", &reason]);
        }
    }
    let result = crate::run(&mut driver);
    if let Some(mut node_red) = running {
        node_red.stop();
    }
    result
}

/// The commit measured: `git describe`'s short hash, `-dirty` when the tree has changes.
fn git_commit(ws: &Workspace) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&ws.root)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{hash}-dirty"),
            _ => hash,
        },
        None => "unknown".into(),
    }
}
