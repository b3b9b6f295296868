//! `cargo xtask bench`: builds release binaries, then starts the servers each phase needs and
//! runs the load driver (`tests/src/bin/bench.rs`) against them, in this order:
//!
//! 1. **peers**, with the host not running: the driver's in-process bare hyper server, then
//!    Node-RED 4 (installed with npm into `target/node-red/` when missing; skipped with a note
//!    when Node.js is not there) running `xtask/bench/node-red/flows.json`;
//! 2. **the host on an empty store**: the driver starts the X send API stand-in, xtask starts
//!    the host pointed at it, the driver runs intake, sustained and faults, writes its results,
//!    and xtask stops the host before the stand-in;
//! 3. unless `--no-scale`, **the host on a million stored conversations** (10,000 of them
//!    waiting in `support` with no agent): the sustained phase again, from a copy of
//!    `target/bench/prefill-1000000.db` (made once by `switchboard bench-prefill`, about two
//!    minutes, not counted in the bench's time). It is on by default because it fits the
//!    ten-minute budget and two of the goals need it;
//! 4. **report**: the driver merges the phases into `target/bench/report.json` and `report.md`
//!    and prints the Markdown.
//!
//! Every phase's results land in `target/bench/phases/`; the servers' logs in
//! `target/bench-run/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{Running, Workspace, build_plugins, free_port, redirect_output, step, tail};

mod config;
mod node_red;
mod prefill;

use config::{BENCH_ACCESS_TOKEN, BENCH_ACCOUNT_ID, BENCH_CONSUMER_SECRET, BENCH_FAULTS};

/// How long a driver may take to bring up the X send API stand-in.
const STAND_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// `cargo xtask bench` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Measured seconds of each closed-loop run (after a 1 s warm-up).
    pub seconds: u64,
    pub connections: u64,
    /// Seconds of each open-loop rate step.
    pub step_seconds: u64,
    /// Also run the sustained phase on a million stored conversations (default; `--no-scale`
    /// skips it).
    pub scale: bool,
}

impl Args {
    pub fn parse(args: &[String]) -> anyhow::Result<Args> {
        const USAGE: &str = "usage: bench [--seconds N] [--connections N] [--step-seconds N] \
                             [--scale | --no-scale]";
        let mut parsed = Args {
            seconds: 10,
            connections: 32,
            step_seconds: 20,
            scale: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--scale" || arg == "--no-scale" {
                parsed.scale = arg == "--scale";
                continue;
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let slot = match flag {
                "--seconds" => &mut parsed.seconds,
                "--connections" => &mut parsed.connections,
                "--step-seconds" => &mut parsed.step_seconds,
                other => bail!("bench: unexpected argument {other:?} ({USAGE})"),
            };
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .with_context(|| format!("{flag} needs a number"))?
                    .clone(),
            };
            *slot = match value.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => bail!("{flag} must be a positive whole number, not {value:?}"),
            };
        }
        Ok(parsed)
    }
}

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

    // 2. The host on an empty store.
    let mut driver = driver_host_args(&args);
    driver.extend(["--phases".into(), "intake,sustained,faults".into()]);
    host_session(ws, &plugins, &dirs, "empty", None, driver)?;

    // 3. The host on a million stored conversations.
    if let Some(db) = &prefilled {
        let mut driver = driver_host_args(&args);
        driver.extend(["--phases".into(), "sustained".into()]);
        driver.push("--ladder-from".into());
        driver.push(dirs.phases.join("host.json").display().to_string());
        host_session(ws, &plugins, &dirs, "1m", Some(db), driver)?;
    }

    // 4. The report.
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

/// One life of a host: the driver (with the send API stand-in) first, then the host, then the
/// phases; the host stops before the stand-in does.
fn host_session(
    ws: &Workspace,
    plugins: &Path,
    dirs: &Dirs,
    label: &'static str,
    prefilled: Option<&Path>,
    driver_args: Vec<String>,
) -> anyhow::Result<()> {
    let dir = dirs.run.join(label);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let host_addr = free_port()?;
    let x_api_addr = free_port()?;
    let config_path = dir.join("switchboard.toml");
    let store = dir.join("switchboard.db");
    if let Some(db) = prefilled {
        prefill::copy(db, &store)?;
    }
    step(&format!("write {}", config_path.display()));
    fs::write(
        &config_path,
        config::host_config(ws, plugins, &store, host_addr, x_api_addr),
    )
    .with_context(|| format!("cannot write {}", config_path.display()))?;

    let out = dirs.phases.join(match label {
        "empty" => "host.json",
        _ => "scale.json",
    });
    let pid_file = dir.join("host.pid");
    let mut driver = Command::new(ws.bin("release", "bench"));
    driver
        .arg("host")
        .arg("--out")
        .arg(&out)
        .args(["--label", label])
        .arg("--target")
        .arg(format!(
            "http://{host_addr}/webhooks/{}",
            config::BENCH_INTEGRATION
        ))
        .args(["--integration", config::BENCH_INTEGRATION])
        .args(["--access-token", BENCH_ACCESS_TOKEN])
        .args(["--x-api-listen", &x_api_addr.to_string()])
        .arg("--pid-file")
        .arg(&pid_file)
        .arg("--hold")
        .args(&driver_args)
        .stdin(Stdio::piped());
    signer_args(&mut driver);
    for kind in BENCH_FAULTS {
        driver
            .arg("--fault")
            .arg(format!("{kind}=http://{host_addr}/webhooks/{kind}-fixture"));
    }
    let mut driver = Running::spawn("bench", &mut driver)?;
    crate::wait_for_listener(&mut driver, x_api_addr, STAND_IN_TIMEOUT)?;

    let host_log = dir.join("switchboard.log");
    let mut host = Command::new(ws.bin("release", "switchboard"));
    host.arg("serve")
        .arg("--config")
        .arg(&config_path)
        .current_dir(&dir)
        .env_remove("RUST_BACKTRACE")
        .env("RUST_LOG", "warn");
    redirect_output(&mut host, &host_log)?;
    let mut host = Running::spawn("switchboard", &mut host)?;
    let pid = host.pid().context("the host has no process id")?;
    fs::write(&pid_file, pid.to_string())
        .with_context(|| format!("cannot write {}", pid_file.display()))?;

    let outcome = watch(&mut driver, &mut host, &out, &host_log);
    host.stop();
    driver.close_stdin();
    let driver_status = driver.wait_or_stop(Duration::from_secs(10));
    step(&format!("host log: {}", host_log.display()));
    outcome?;
    if let Some(status) = driver_status
        && !status.success()
    {
        bail!("the bench driver failed after writing its results: {status}");
    }
    Ok(())
}

/// Waits until the driver has written `out`, failing if the driver or the host exits first.
fn watch(
    driver: &mut Running,
    host: &mut Running,
    out: &Path,
    host_log: &Path,
) -> anyhow::Result<()> {
    loop {
        if out.exists() {
            return Ok(());
        }
        if let Some(status) = host.try_exited() {
            eprintln!(
                "--- last lines of {} ---\n{}",
                host_log.display(),
                tail(host_log, 40)
            );
            bail!("the host exited during the bench: {status}");
        }
        if let Some(status) = driver.try_exited() {
            eprintln!(
                "--- last lines of {} ---\n{}",
                host_log.display(),
                tail(host_log, 20)
            );
            bail!(
                "the bench driver exited before writing {}: {status}",
                out.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Args> {
        Args::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn bench_args_have_defaults_and_check_numbers() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args,
            Args {
                seconds: 10,
                connections: 32,
                step_seconds: 20,
                scale: true
            }
        );
        let args = parse(&[
            "--seconds",
            "3",
            "--connections=8",
            "--no-scale",
            "--step-seconds=5",
        ])
        .unwrap();
        assert_eq!(
            (
                args.seconds,
                args.connections,
                args.step_seconds,
                args.scale
            ),
            (3, 8, 5, false)
        );
        assert!(parse(&["--no-scale", "--scale"]).unwrap().scale);
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--rate", "1"]).is_err());
    }
}
