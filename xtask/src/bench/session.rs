//! One host session of the bench: the driver (with the X send API stand-in) first, then the
//! hosts, then the driver's phases; the hosts stop before the stand-in does.
//!
//! A session runs one host on a SQLite file, or one or several hosts on one PostgreSQL
//! database. Several hosts each get a port of their own and the same config otherwise (the same
//! stand-in for their replies); the driver spreads the load over them in turn.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use super::config::{self, BENCH_ACCESS_TOKEN, BENCH_FAULTS};
use super::{Dirs, prefill, signer_args};
use crate::{Running, Workspace, free_port, redirect_output, step, tail};

/// How long a driver may take to bring up the X send API stand-in.
const STAND_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a session's hosts store.
pub enum SessionStore<'a> {
    /// A fresh SQLite file in the session's folder, or a copy of the prefilled one.
    Sqlite { prefilled: Option<&'a Path> },
    /// A database on the bench's PostgreSQL, fresh for this session.
    Postgres { url: String },
}

/// What a session runs.
pub struct Spec<'a> {
    /// `empty`, `1m` or `postgres-N`: its folder under `target/bench-run/`, its label in the
    /// report, and (but for `empty` and `1m`, whose files are `host.json` and `scale.json`) its
    /// results' file name in `target/bench/phases/`.
    pub label: String,
    pub store: SessionStore<'a>,
    pub hosts: u16,
    /// The driver's phases: `intake,sustained,faults` or fewer (the fault fixtures are called
    /// on the first host).
    pub phases: &'static str,
    /// The driver's load flags.
    pub driver_args: Vec<String>,
}

impl Spec<'_> {
    fn out_file(&self) -> String {
        match self.label.as_str() {
            "empty" => "host.json".into(),
            "1m" => "scale.json".into(),
            label => format!("{label}.json"),
        }
    }
}

/// The name of host `index`'s config or log file: `switchboard.EXT` when the session has one
/// host, `host-INDEX.EXT` when it has several.
fn host_file(hosts: u16, index: u16, ext: &str) -> String {
    if hosts == 1 {
        format!("switchboard.{ext}")
    } else {
        format!("host-{index}.{ext}")
    }
}

/// A host of the session, once configured.
struct Host {
    config: PathBuf,
    log: PathBuf,
    addr: std::net::SocketAddr,
}

pub fn run(ws: &Workspace, plugins: &Path, dirs: &Dirs, spec: Spec) -> anyhow::Result<()> {
    let dir = dirs.run.join(&spec.label);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let x_api_addr = free_port()?;
    let sqlite_file = dir.join("switchboard.db");
    let store = match &spec.store {
        SessionStore::Sqlite { prefilled } => {
            if let Some(db) = prefilled {
                prefill::copy(db, &sqlite_file)?;
            }
            config::Store::Sqlite(&sqlite_file)
        }
        SessionStore::Postgres { url } => config::Store::Postgres(url),
    };
    let mut hosts = Vec::new();
    for index in 0..spec.hosts {
        let addr = free_port()?;
        let config_path = dir.join(host_file(spec.hosts, index, "toml"));
        step(&format!("write {}", config_path.display()));
        fs::write(
            &config_path,
            config::host_config(ws, plugins, store, addr, x_api_addr),
        )
        .with_context(|| format!("cannot write {}", config_path.display()))?;
        hosts.push(Host {
            config: config_path,
            log: dir.join(host_file(spec.hosts, index, "log")),
            addr,
        });
    }

    let out = dirs.phases.join(spec.out_file());
    let pid_file = dir.join("host.pid");
    let mut driver = Command::new(ws.bin("release", "bench"));
    driver
        .arg("host")
        .arg("--out")
        .arg(&out)
        .args(["--label", &spec.label])
        .args([
            "--store",
            match spec.store {
                SessionStore::Sqlite { .. } => "sqlite",
                SessionStore::Postgres { .. } => "postgres",
            },
        ]);
    for host in &hosts {
        driver.arg("--target").arg(format!(
            "http://{}/webhooks/{}",
            host.addr,
            config::BENCH_INTEGRATION
        ));
    }
    driver
        .args(["--integration", config::BENCH_INTEGRATION])
        .args(["--access-token", BENCH_ACCESS_TOKEN])
        .args(["--x-api-listen", &x_api_addr.to_string()])
        .arg("--pid-file")
        .arg(&pid_file)
        .arg("--hold")
        .args(&spec.driver_args)
        .stdin(Stdio::piped());
    signer_args(&mut driver);
    driver.args(["--phases", spec.phases]);
    if spec.phases.contains("faults") {
        for kind in BENCH_FAULTS {
            driver.arg("--fault").arg(format!(
                "{kind}=http://{}/webhooks/{kind}-fixture",
                hosts[0].addr
            ));
        }
    }
    let mut driver = Running::spawn("bench", &mut driver)?;
    crate::wait_for_listener(&mut driver, x_api_addr, STAND_IN_TIMEOUT)?;

    // The hosts start together (PostgreSQL's migrations take turns under a lock); the driver
    // waits until each answers /healthz.
    let mut running = Vec::new();
    let mut pids = String::new();
    for host in &hosts {
        let mut command = Command::new(ws.bin("release", "switchboard"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&host.config)
            .current_dir(&dir)
            .env_remove("RUST_BACKTRACE")
            .env("RUST_LOG", "warn");
        redirect_output(&mut command, &host.log)?;
        let process = Running::spawn("switchboard", &mut command)?;
        let pid = process.pid().context("a host has no process id")?;
        pids.push_str(&format!("{pid}\n"));
        running.push(process);
    }
    fs::write(&pid_file, pids).with_context(|| format!("cannot write {}", pid_file.display()))?;

    let outcome = watch(&mut driver, &mut running, &hosts, &out);
    for host in &mut running {
        host.stop();
    }
    driver.close_stdin();
    let driver_status = driver.wait_or_stop(Duration::from_secs(10));
    for host in &hosts {
        step(&format!("host log: {}", host.log.display()));
    }
    outcome?;
    if let Some(status) = driver_status
        && !status.success()
    {
        bail!("the bench driver failed after writing its results: {status}");
    }
    Ok(())
}

/// Waits until the driver has written `out`, failing if the driver or a host exits first.
fn watch(
    driver: &mut Running,
    running: &mut [Running],
    hosts: &[Host],
    out: &Path,
) -> anyhow::Result<()> {
    loop {
        if out.exists() {
            return Ok(());
        }
        for (process, host) in running.iter_mut().zip(hosts) {
            if let Some(status) = process.try_exited() {
                eprintln!(
                    "--- last lines of {} ---\n{}",
                    host.log.display(),
                    tail(&host.log, 40)
                );
                bail!(
                    "the host on {} exited during the bench: {status}",
                    host.addr
                );
            }
        }
        if let Some(status) = driver.try_exited() {
            for host in hosts {
                eprintln!(
                    "--- last lines of {} ---\n{}",
                    host.log.display(),
                    tail(&host.log, 20)
                );
            }
            bail!(
                "the bench driver exited before writing {}: {status}",
                out.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_name_their_files_by_label_and_host() {
        let spec = |label: &str| Spec {
            label: label.into(),
            store: SessionStore::Sqlite { prefilled: None },
            hosts: 1,
            phases: "sustained",
            driver_args: Vec::new(),
        };
        assert_eq!(spec("empty").out_file(), "host.json");
        assert_eq!(spec("1m").out_file(), "scale.json");
        assert_eq!(spec("postgres-3").out_file(), "postgres-3.json");
        assert_eq!(host_file(1, 0, "toml"), "switchboard.toml");
        assert_eq!(host_file(3, 2, "log"), "host-2.log");
    }
}
