//! Developer tasks for the Switchboard workspace: `cargo xtask <command>`.
//!
//! - `build-plugins`: builds every crate under `plugins/` as a `wasm32-wasip2` component and
//!   copies it to `target/plugins/` (`plugins/x` → `x.wasm`, `plugins/fixtures/trap` →
//!   `fixtures/trap.wasm`), where the host looks for adapters by default; then the JavaScript
//!   and Python plugins (`plugins/*/package.json`, `plugins/*/pyproject.toml`, see
//!   `foreign_plugins.rs`) when Node.js or Python is there.
//! - `test [ARGS...]`: `build-plugins`, then `cargo test --workspace ARGS...` with
//!   `SWITCHBOARD_PLUGINS_DIR` pointing at the components.
//! - `serve [--config FILE]`: the demo: the platform simulator and the host, both reading one
//!   config (`switchboard.toml` by default).
//! - `dist [--profile dev|release]`: the release: a self-contained binary (plugins and console
//!   built in), a tarball and a Debian package in `target/dist/` (see `dist.rs`).
//! - `test-dist`: installs `dist --profile dev`'s package and runs the installed binary, as root
//!   on a throwaway machine (see `dist_test.rs`).
//! - `bench [--seconds N] [--connections N] [--step-seconds N] [--no-scale]
//!   [--store sqlite|postgres] [--hosts N] [--no-sqlite]`: release builds, then the bench's
//!   phases against bare hyper, Node-RED and the host, on SQLite and with `--store postgres`
//!   also on a local PostgreSQL with one host and N hosts (see `bench/mod.rs`), merged into
//!   `target/bench/report.json` and `report.md`.
//! - `chaos [--seconds N] [--seed S] [--kills N] [--customers N] [--callers N]`: the fault campaign (see
//!   `chaos.rs`): the real host killed with SIGKILL and the platform failing sends on a seeded
//!   schedule, then a checker over what was acknowledged, delivered and recorded; report in
//!   `target/chaos/report.json`.
//!
//! Every step is printed before it runs; a failing step stops the task with a non-zero exit code.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod architecture;
mod bench;
mod chaos;
mod demo;
mod dist;
mod dist_test;
mod foreign_plugins;
mod local_postgres;
mod new_plugin;
mod prerequisites;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  build-plugins                        build the Wasm adapters and fixtures into target/plugins/
  build-console                        build the browser console into console/dist (npm ci, npm run build)
  test [ARGS...]                       build-plugins, build-console, then `cargo test --workspace ARGS...`
  serve [--config FILE] [--keep] [--hosts N]
                                       the demo: platform simulator + host (default switchboard.toml),
                                       from a fresh demo state unless --keep; --hosts N: N hosts on a
                                       local PostgreSQL (target/serve-postgres)
  bench [--seconds N] [--connections N] [--step-seconds N] [--no-scale]
        [--store sqlite|postgres] [--hosts N] [--no-sqlite]
                                       measure a release host: intake beside bare hyper and
                                       Node-RED, sustained open-loop rate, faults, and the
                                       sustained rate on a million stored conversations unless
                                       --no-scale (defaults: 10 s, 32 connections, 20 s steps);
                                       --store postgres: also intake and sustained on a local
                                       PostgreSQL, 1 host and with --hosts N (2-16) N hosts
                                       sharing it, beside SQLite's figures (--no-sqlite skips
                                       the SQLite sessions); report in target/bench/
  chaos [--seconds N] [--seed S] [--kills N] [--customers N] [--callers N]
                                       fault campaign: SIGKILLs of the host and platform faults
                                       (429s, 5xx, timeouts, resets, slow answers) on a seeded
                                       schedule, while agents take the callers, then a checker
                                       (lost, duplicated, out of order, double assigned);
                                       defaults 120 s, 20 kills, 20 customers, 4 callers;
                                       report in target/chaos/, exits 1 on a broken promise
  dist [--profile dev|release]         a release in target/dist/: the binary with the plugins and
                                       console built in, a tarball and a Debian package
                                       (default profile: release)
  test-dist                            build `dist --profile dev`, install the .deb, run the
                                       installed binary, purge it (root only: CI's throwaway machine)
  check-architecture                   host/src: no import cycle, no file over 600 lines of
                                       non-test code, the database driver only under store/
  new-plugin KIND NAME [--out DIR]     a new plugin crate plugins/NAME from a template (KIND: adapter,
                                       bot, data-action); --out DIR: a standalone crate in DIR/NAME
  help                                 this text";

/// The component target plugins are built for.
const WASM_TARGET: &str = "wasm32-wasip2";
/// The Cargo profile plugins are built with (`[profile.plugin]` in the workspace Cargo.toml).
const PLUGIN_PROFILE: &str = "plugin";
/// How long a host `serve --hosts` starts may take to answer `/healthz` (it may compile plugins
/// first).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a simulator may take to accept connections.
const SIM_TIMEOUT: Duration = Duration::from_secs(30);
/// Where `serve`'s simulator listens (platform-sim's default).
const DEMO_SIM_ADDR: &str = "127.0.0.1:9090";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("build-plugins") => no_args("build-plugins", &rest)
            .and_then(|()| Workspace::locate())
            .and_then(|ws| build_plugins(&ws).map(|_| ExitCode::SUCCESS)),
        Some("build-console") => no_args("build-console", &rest)
            .and_then(|()| Workspace::locate())
            .and_then(|ws| build_console(&ws).map(|()| ExitCode::SUCCESS)),
        Some("test") => Workspace::locate().and_then(|ws| test(&ws, &rest)),
        Some("serve") => ServeArgs::parse(&rest)
            .and_then(|args| Workspace::locate().and_then(|ws| serve(&ws, args))),
        Some("bench") => bench::Args::parse(&rest)
            .and_then(|args| Workspace::locate().and_then(|ws| bench::run(&ws, args))),
        Some("chaos") => Workspace::locate().and_then(|ws| chaos::run(&ws, &rest)),
        Some("dist") => dist::Args::parse(&rest)
            .and_then(|args| Workspace::locate().and_then(|ws| dist::run_dist(&ws, args))),
        Some("test-dist") => no_args("test-dist", &rest)
            .and_then(|()| Workspace::locate())
            .and_then(|ws| dist_test::run_test_dist(&ws)),
        Some("check-architecture") => no_args("check-architecture", &rest)
            .and_then(|()| Workspace::locate())
            .and_then(|ws| check_architecture(&ws)),
        Some("new-plugin") => new_plugin::Args::parse(&rest).and_then(|args| {
            Workspace::locate()
                .and_then(|ws| new_plugin::run(&ws.root, &args).map(|()| ExitCode::SUCCESS))
        }),
        Some(other) => {
            eprintln!("xtask: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `check-architecture`: prints what breaks the host's layout rules, and the files' sizes.
fn check_architecture(ws: &Workspace) -> anyhow::Result<ExitCode> {
    let src = ws.root.join("host").join("src");
    let findings = architecture::check(&src)?;
    for (file, (code, all)) in architecture::line_counts(&src)? {
        println!("{code:>5} {all:>5}  host/src/{file}");
    }
    if findings.is_empty() {
        println!("host/src keeps its architecture (see ARCHITECTURE.md)");
        Ok(ExitCode::SUCCESS)
    } else {
        eprint!("{}", findings.report());
        Ok(ExitCode::FAILURE)
    }
}

fn no_args(command: &str, rest: &[String]) -> anyhow::Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => bail!("`{command}` takes no arguments, got {arg:?}"),
    }
}

/// Where things are: the workspace root, the Cargo target folder and the `cargo` to run.
struct Workspace {
    root: PathBuf,
    target: PathBuf,
    cargo: PathBuf,
}

impl Workspace {
    fn locate() -> anyhow::Result<Workspace> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .context("xtask's CARGO_MANIFEST_DIR has no parent folder")?
            .to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => absolute(Path::new(&dir))?,
            _ => root.join("target"),
        };
        let cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("cargo"));
        Ok(Workspace {
            root,
            target,
            cargo,
        })
    }

    fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command.current_dir(&self.root);
        command
    }

    /// The folder `build-plugins` fills.
    fn plugins_dir(&self) -> PathBuf {
        self.target.join("plugins")
    }

    /// A binary built by `cargo build` in `profile` (`debug` or `release`).
    fn bin(&self, profile: &str, name: &str) -> PathBuf {
        self.target
            .join(profile)
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot make {} absolute", path.display()))
}

// ---------------------------------------------------------------------------------------------
// build-plugins

/// A plugin crate: its folder relative to `plugins/` and its package name.
struct PluginCrate {
    rel: Vec<String>,
    package: String,
}

fn build_plugins(ws: &Workspace) -> anyhow::Result<PathBuf> {
    ensure_wasm_target(ws)?;

    let plugins_src = ws.root.join("plugins");
    let mut crates = Vec::new();
    find_plugin_crates(&plugins_src, &mut Vec::new(), &mut crates)?;
    if crates.is_empty() {
        bail!(
            "no plugin crates (folders with a Cargo.toml) under {}",
            plugins_src.display()
        );
    }
    crates.sort_by(|a, b| a.rel.cmp(&b.rel));

    let mut build = ws.cargo();
    build.args([
        "build",
        "--profile",
        PLUGIN_PROFILE,
        "--target",
        WASM_TARGET,
    ]);
    for plugin in &crates {
        build.args(["-p", &plugin.package]);
    }
    run(&mut build)?;

    let built = ws.target.join(WASM_TARGET).join(PLUGIN_PROFILE);
    let out_dir = ws.plugins_dir();
    for plugin in &crates {
        let from = built.join(format!("{}.wasm", plugin.package.replace('-', "_")));
        let mut to = out_dir.clone();
        for segment in &plugin.rel {
            to.push(segment);
        }
        to.set_extension("wasm");
        if !from.is_file() {
            bail!(
                "{} was built but {} is missing (is its crate-type \"cdylib\"?)",
                plugin.package,
                from.display()
            );
        }
        let parent = to.parent().context("plugin output has no parent folder")?;
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        step(&format!("copy {} -> {}", from.display(), to.display()));
        fs::copy(&from, &to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    let foreign = foreign_plugins::build(&plugins_src, &ws.target, &out_dir)?;
    step(&format!(
        "{} plugin(s) in {}{}",
        crates.len() + foreign.built,
        out_dir.display(),
        match foreign.skipped.as_slice() {
            [] => String::new(),
            skipped => format!(" (skipped: {})", skipped.join(", ")),
        }
    ));
    Ok(out_dir)
}

/// The PostgreSQL engine's tests (the store conformance suite, `scale_out`) start a real
/// PostgreSQL from Debian's `postgresql` package. Installs it with apt when it is missing and
/// this is root; otherwise says the one command to run.
pub(crate) fn ensure_postgres() -> anyhow::Result<()> {
    let installed = std::env::var_os("SWITCHBOARD_PG_BIN").is_some()
        || std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin").join("initdb").exists())
        });
    if installed {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        bail!(
            "the store tests need PostgreSQL (Debian's `postgresql` package); install it with:\n    sudo apt-get install -y postgresql"
        );
    }
    step("PostgreSQL is missing: apt-get install -y postgresql");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}

/// Adds the `wasm32-wasip2` target with rustup when it is missing. Without rustup (a toolchain
/// installed some other way) the build itself says whether the target is there.
fn ensure_wasm_target(ws: &Workspace) -> anyhow::Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"])
        .current_dir(&ws.root);
    step(&describe(&list));
    let installed = match list.stderr(Stdio::inherit()).output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Ok(output) => {
            step(&format!(
                "warning: `rustup target list --installed` failed ({}); assuming {WASM_TARGET} is installed",
                output.status
            ));
            return Ok(());
        }
        Err(e) => {
            step(&format!(
                "warning: cannot run rustup ({e}); assuming {WASM_TARGET} is installed"
            ));
            return Ok(());
        }
    };
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET])
        .current_dir(&ws.root);
    run(&mut add)
}

/// Every folder under `dir` with a Cargo.toml is a plugin crate; its sub-folders are not searched.
fn find_plugin_crates(
    dir: &Path,
    rel: &mut Vec<String>,
    out: &mut Vec<PluginCrate>,
) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name.starts_with('.') || name == "target" {
            continue;
        }
        rel.push(name);
        let manifest = path.join("Cargo.toml");
        if manifest.is_file() {
            let text = fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let package = package_name(&text)
                .with_context(|| format!("no `name` under [package] in {}", manifest.display()))?;
            out.push(PluginCrate {
                rel: rel.clone(),
                package,
            });
        } else if !foreign_plugins::is_project(&path) {
            find_plugin_crates(&path, rel, out)?;
        }
        rel.pop();
    }
    Ok(())
}

/// The `name = "..."` line of a Cargo.toml's `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "name" {
            continue;
        }
        let value = value.trim();
        let value = value.split('#').next().unwrap_or(value).trim();
        let name = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
        return Some(name.to_owned());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// test

/// `npm ci` (when the lock file changed) and `npm run build` in console/.
fn build_console(ws: &Workspace) -> anyhow::Result<()> {
    let dir = ws.root.join("console");
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    let fresh = |a: &Path, b: &Path| -> bool {
        match (
            fs::metadata(a).and_then(|m| m.modified()),
            fs::metadata(b).and_then(|m| m.modified()),
        ) {
            (Ok(a), Ok(b)) => a >= b,
            _ => false,
        }
    };
    if !fresh(&installed, &lock) {
        run(Command::new(npm)
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .current_dir(&dir))
        .context("installing the console's packages (needs Node.js and npm)")?;
    }
    run(Command::new(npm).args(["run", "build"]).current_dir(&dir))?;
    Ok(())
}

fn test(ws: &Workspace, extra: &[String]) -> anyhow::Result<ExitCode> {
    prerequisites::ensure();
    ensure_postgres()?;
    let plugins = build_plugins(ws)?;
    build_console(ws)?;
    // The end-to-end tests spawn the real `switchboard` binary. Building it with the test
    // build's own feature set (rather than `cargo build -p switchboard`) keeps wasmtime from
    // being compiled twice; `cargo test` builds the binary for the host's integration tests.
    run(ws.cargo().args(["test", "--workspace", "--no-run"]))?;
    let mut command = ws.cargo();
    command
        .args(["test", "--workspace"])
        .args(extra)
        .env("SWITCHBOARD_PLUGINS_DIR", &plugins)
        .env(
            "SWITCHBOARD_BIN",
            ws.target.join("debug").join("switchboard"),
        );
    run(&mut command)?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// serve

struct ServeArgs {
    config: Option<PathBuf>,
    /// Keep the demo's store from the last run (default: start fresh).
    keep: bool,
    /// How many hosts; more than one share a local PostgreSQL.
    hosts: u16,
}

impl ServeArgs {
    fn parse(args: &[String]) -> anyhow::Result<ServeArgs> {
        let mut config = None;
        let mut keep = false;
        let mut hosts = 1;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if let Some(value) = arg.strip_prefix("--config=") {
                config = Some(PathBuf::from(value));
                continue;
            }
            match arg.as_str() {
                "--config" => {
                    let value = args.next().context("--config needs a file")?;
                    config = Some(PathBuf::from(value));
                }
                "--keep" => keep = true,
                "--hosts" => {
                    let value = args.next().context("--hosts needs a number")?;
                    hosts = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=16).contains(n))
                        .with_context(|| format!("--hosts {value:?}: a number from 1 to 16"))?;
                }
                other => {
                    bail!(
                        "serve: unexpected argument {other:?} (usage: serve [--config FILE] [--keep] [--hosts N])"
                    )
                }
            }
        }
        Ok(ServeArgs {
            config,
            keep,
            hosts,
        })
    }
}

fn serve(ws: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
    // A relative --config is relative to where the command was typed; the host runs in the root.
    let demo_config = args.config.is_none();
    let config = match args.config {
        Some(path) => absolute(&path)?,
        None => ws.root.join("switchboard.toml"),
    };
    if !config.is_file() {
        bail!("config file {} does not exist", config.display());
    }
    if ws.target != ws.root.join("target") {
        step(&format!(
            "note: CARGO_TARGET_DIR is set, so the plugins are in {}; the host looks in its \
             [plugins] dir (default ./target/plugins)",
            ws.plugins_dir().display()
        ));
    }
    // The console is a bonus for the demo: without Node.js the host still serves everything else.
    if let Err(e) = build_console(ws) {
        step(&format!(
            "note: the browser console was not built ({e:#}); /console/ will say so"
        ));
    }

    build_plugins(ws)?;
    let mut build = ws.cargo();
    build.args([
        "build",
        "-p",
        "switchboard",
        "-p",
        "switchboard-tests",
        "--bins",
    ]);
    run(&mut build)?;

    // Ctrl-C reaches the simulator and the host through the process group; xtask outlives it to
    // clean up and report the host's exit code.
    survive_ctrl_c();

    let mut sim = Command::new(ws.bin("debug", "platform-sim"));
    sim.arg("--config").arg(&config).current_dir(&ws.root);
    let mut sim = Running::spawn("platform-sim", &mut sim)?;
    let sim_addr: SocketAddr = DEMO_SIM_ADDR.parse().context("simulator address")?;
    wait_for_listener(&mut sim, sim_addr, SIM_TIMEOUT)?;

    let demo = demo::read(&fs::read_to_string(&config).unwrap_or_default());
    // The demo starts fresh: a second walkthrough must not continue the first one's
    // conversations. Another configuration's store is never touched.
    if demo_config && !args.keep {
        let removed: Vec<String> = demo::state_files(&ws.root, &demo)
            .into_iter()
            .filter(|file| fs::remove_file(file).is_ok())
            .map(|file| file.display().to_string())
            .collect();
        if !removed.is_empty() {
            step(&format!(
                "a fresh demo state: removed {} (`cargo xtask serve --keep` keeps it)",
                removed.join(", ")
            ));
        }
    }
    for line in demo::banner(&demo) {
        step(&line);
    }
    // Several hosts: a local PostgreSQL, and each host on the demo config with `[store] url`
    // on it and a port of its own; the first keeps the configured port (where the simulator
    // sends webhooks) and runs in the foreground.
    let mut config = config;
    let mut others = Vec::new();
    let postgres = match args.hosts {
        1 => None,
        n => {
            let postgres = local_postgres::LocalPostgres::start(&ws.target.join("serve-postgres"))?;
            let text = fs::read_to_string(&config)
                .with_context(|| format!("cannot read {}", config.display()))?;
            let dir = ws.target.join("serve-hosts");
            fs::create_dir_all(&dir)?;
            for i in (0..n).rev() {
                let (host_text, listen) = local_postgres::host_config(&text, &postgres.url, i)?;
                let path = dir.join(format!("host-{i}.toml"));
                fs::write(&path, host_text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                if i == 0 {
                    config = path;
                    continue;
                }
                let mut host = Command::new(ws.bin("debug", "switchboard"));
                host.arg("serve")
                    .arg("--config")
                    .arg(&path)
                    .current_dir(&ws.root);
                let log = dir.join(format!("host-{i}.log"));
                redirect_output(&mut host, &log)?;
                let mut running = Running::spawn("switchboard", &mut host)?;
                wait_for_health(&mut running, listen, HEALTH_TIMEOUT)?;
                step(&format!(
                    "host {i} serves on http://{listen} (log: {})",
                    log.display()
                ));
                others.push(running);
            }
            Some(postgres)
        }
    };

    let mut host = Command::new(ws.bin("debug", "switchboard"));
    host.arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(&ws.root);
    step(&describe(&host));
    let status = host
        .status()
        .with_context(|| format!("cannot start {}", ws.bin("debug", "switchboard").display()))?;
    step(&format!("switchboard exited: {status}"));
    for mut other in others {
        other.stop();
    }
    drop(postgres);
    sim.stop();
    Ok(exit_code(status))
}

// ---------------------------------------------------------------------------------------------
// helpers shared by serve and bench

/// A path as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let mut out = String::from('"');
    for c in path.to_string_lossy().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A loopback address with a port nobody was using a moment ago.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot bind a free port on 127.0.0.1")?;
    listener.local_addr().context("reading the free port")
}

fn redirect_output(command: &mut Command, log: &Path) -> anyhow::Result<()> {
    let file = fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let copy = file
        .try_clone()
        .with_context(|| format!("cannot reopen {}", log.display()))?;
    command.stdout(copy).stderr(file);
    Ok(())
}

/// Polls `GET /healthz` until it answers 200.
fn wait_for_health(host: &mut Running, addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    step(&format!("wait for GET http://{addr}/healthz -> 200"));
    let start = Instant::now();
    loop {
        if let Some(status) = host.try_exited() {
            bail!("{} exited before it was healthy: {status}", host.name);
        }
        let last = match health_status(addr) {
            Ok(200) => {
                step(&format!(
                    "healthy after {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
                return Ok(());
            }
            Ok(code) => format!("HTTP {code}"),
            Err(e) => format!("{e:#}"),
        };
        if start.elapsed() > timeout {
            bail!(
                "{} did not answer GET /healthz with 200 within {} s (last: {last})",
                host.name,
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The status code of one `GET /healthz`.
fn health_status(addr: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|code| code.parse().ok()),
    ) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => Ok(code),
        _ => bail!("not an HTTP response: {status_line:?}"),
    }
}

/// Waits until something accepts connections on `addr`, failing if `child` exits first.
fn wait_for_listener(
    child: &mut Running,
    addr: SocketAddr,
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_exited() {
            bail!("{} exited at start-up: {status}", child.name);
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            // Someone else may hold the port: give our child a moment to fail binding it.
            std::thread::sleep(Duration::from_millis(100));
            if let Some(status) = child.try_exited() {
                bail!(
                    "{} exited at start-up: {status} (is {addr} already in use?)",
                    child.name
                );
            }
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!(
                "{} did not listen on {addr} within {} s",
                child.name,
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `lines` lines of a log file.
fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            if all.is_empty() {
                "(empty)".to_owned()
            } else {
                all[from..].join("\n")
            }
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

// ---------------------------------------------------------------------------------------------
// processes

/// A background child that is killed when it goes out of scope, so no error path leaves it behind.
struct Running {
    name: &'static str,
    child: Option<Child>,
}

impl Running {
    fn spawn(name: &'static str, command: &mut Command) -> anyhow::Result<Running> {
        step(&format!("{} &", describe(command)));
        let child = command.spawn().with_context(|| {
            format!(
                "cannot start {} (was it built?)",
                Path::new(command.get_program()).display()
            )
        })?;
        Ok(Running {
            name,
            child: Some(child),
        })
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Closes the child's standard input (when it was piped), which some children wait for.
    fn close_stdin(&mut self) {
        if let Some(child) = self.child.as_mut() {
            drop(child.stdin.take());
        }
    }

    /// Waits up to `timeout` for the child to exit by itself; kills it after that.
    fn wait_or_stop(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.try_exited() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop();
        None
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        step(&format!("stop {} (pid {})", self.name, child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a step in the foreground; a failure names the command.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = describe(command);
    step(&shown);
    let status = command
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed: {status}");
    }
    Ok(())
}

fn step(text: &str) {
    eprintln!("xtask: {text}");
}

/// A command as a shell line: `KEY=VALUE program args` plus the folder it runs in.
fn describe(command: &Command) -> String {
    let mut parts = Vec::new();
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => parts.push(format!("{}={}", key.to_string_lossy(), quote(value))),
            None => parts.push(format!("-u {}", key.to_string_lossy())),
        }
    }
    if parts.iter().any(|part| part.starts_with("-u ")) {
        parts.insert(0, "env".to_owned());
    }
    parts.push(quote(command.get_program()));
    parts.extend(command.get_args().map(quote));
    let mut line = parts.join(" ");
    if let Some(dir) = command.get_current_dir() {
        line.push_str(&format!("   (in {})", dir.display()));
    }
    line
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The status as an exit code: the child's own code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

/// Lets Ctrl-C pass xtask by: the terminal sends SIGINT to the whole foreground process group,
/// so the children get it and shut down, and xtask waits for them instead of dying first and
/// leaving them behind. A caught signal (unlike an ignored one) is reset to its default action
/// in a child at exec, so the children still see Ctrl-C normally.
#[cfg(unix)]
fn survive_ctrl_c() {
    use std::os::raw::c_int;

    const SIGINT: c_int = 2;
    unsafe extern "C" {
        fn signal(signum: c_int, handler: usize) -> usize;
    }
    extern "C" fn ignore(_: c_int) {}

    // SAFETY: `signal` is the C library's; the handler does nothing, so it is async-signal-safe.
    unsafe {
        signal(SIGINT, ignore as extern "C" fn(c_int) as usize);
    }
}

#[cfg(not(unix))]
fn survive_ctrl_c() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_is_read_from_the_package_table() {
        let manifest = "[workspace]\nname = \"no\"\n\n[package]\nversion = \"1\"\nname = \"switchboard-adapter-x\" # x\n\n[lib]\nname = \"other\"\n";
        assert_eq!(
            package_name(manifest).as_deref(),
            Some("switchboard-adapter-x")
        );
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }

    #[test]
    fn paths_are_valid_toml_strings() {
        assert_eq!(toml_string(Path::new(r#"C:\a "b""#)), r#""C:\\a \"b\"""#);
    }
}
