//! `cargo xtask serve --hosts N`: a local PostgreSQL for the demo (Debian's `postgresql`
//! package, in `target/serve-postgres/`, kept between runs) and the host configuration each of
//! the N hosts runs on: the demo's, with `[store] url` on that database and a port of its own.
//! `cargo xtask bench --store postgres` starts one the same way in `target/bench-run/postgres/`,
//! with a fresh database per session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{Running, describe, ensure_postgres, free_port, step};

/// A PostgreSQL server this command started; stopped (fast shutdown) when dropped.
pub struct LocalPostgres {
    bin: PathBuf,
    data: PathBuf,
    root: bool,
    server: Running,
    /// `postgres://postgres@127.0.0.1:PORT`, without a database.
    base: String,
    /// `postgres://postgres@127.0.0.1:PORT/switchboard`.
    pub url: String,
}

fn find_bin() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/*/bin/initdb")
}

/// `program` run as the `postgres` user when this is root (PostgreSQL refuses to run as root).
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn succeed(command: &mut Command) -> anyhow::Result<String> {
    step(&describe(command));
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", describe(command)))?;
    if !output.status.success() {
        bail!(
            "`{}` failed: {}",
            describe(command),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl LocalPostgres {
    /// Starts the demo's PostgreSQL in `dir` (created on first use) on a free loopback port,
    /// with a database `switchboard`.
    pub fn start(dir: &Path) -> anyhow::Result<LocalPostgres> {
        LocalPostgres::start_with(dir, &[])
    }

    /// [`LocalPostgres::start`] with server settings (`("max_connections", "300")`) for this
    /// run of the server.
    pub fn start_with(dir: &Path, settings: &[(&str, &str)]) -> anyhow::Result<LocalPostgres> {
        ensure_postgres()?;
        let bin = find_bin()?;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let data = dir.join("data");
        std::fs::create_dir_all(dir)?;
        if root {
            succeed(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir),
            )?;
        }
        if !data.join("PG_VERSION").exists() {
            succeed(
                as_server_user(&bin.join("initdb"), root)
                    .args([
                        "-A",
                        "trust",
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "-D",
                    ])
                    .arg(&data),
            )?;
        }
        let port = free_port()?.port();
        let log = std::fs::File::create(dir.join("postgres.log"))?;
        let mut server = as_server_user(&bin.join("postgres"), root);
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .args(
                settings
                    .iter()
                    .flat_map(|(key, value)| ["-c".to_owned(), format!("{key}={value}")]),
            )
            .arg("-k")
            .arg(dir)
            .stdout(log.try_clone()?)
            .stderr(log);
        let server = Running::spawn("postgres", &mut server)?;
        let started = Instant::now();
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "PostgreSQL did not start within 60 s; see {}",
                    dir.join("postgres.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let base = format!("postgres://postgres@127.0.0.1:{port}");
        let exists = succeed(Command::new(bin.join("psql")).args([
            "-X",
            "-At",
            "-d",
            &format!("{base}/postgres"),
            "-c",
            "SELECT 1 FROM pg_database WHERE datname = 'switchboard'",
        ]))?;
        if exists.trim() != "1" {
            succeed(Command::new(bin.join("createdb")).args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "switchboard",
            ]))?;
        }
        Ok(LocalPostgres {
            bin,
            data,
            root,
            server,
            url: format!("{base}/switchboard"),
            base,
        })
    }

    /// Creates the database `name` (dropping one left by an earlier run first) and returns its
    /// URL: a fresh, empty store.
    pub fn fresh_database(&self, name: &str) -> anyhow::Result<String> {
        let admin = format!("{}/postgres", self.base);
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\""),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            succeed(
                Command::new(self.bin.join("psql"))
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin, "-c"])
                    .arg(sql),
            )?;
        }
        Ok(format!("{}/{name}", self.base))
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"), self.root)
            .args(["-m", "fast", "-D"])
            .arg(&self.data)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.server.stop();
    }
}

/// The demo config `text` for host `index` of several: `[store]` on `url`, and the first host's
/// port plus `index` (the first keeps the configured one, where the simulator sends webhooks).
pub fn host_config(text: &str, url: &str, index: u16) -> anyhow::Result<(String, SocketAddr)> {
    let mut out = String::new();
    let mut in_store = false;
    let mut listen = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_store = trimmed.starts_with("[store]");
            out.push_str(line);
            out.push('\n');
            if in_store {
                out.push_str(&format!("url = \"{url}\"\npool_size = 8\n"));
            }
            continue;
        }
        if in_store && !trimmed.starts_with('#') && !trimmed.is_empty() {
            continue;
        }
        if listen.is_none()
            && let Some(value) = trimmed.strip_prefix("listen")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            let value = value
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            let mut addr: SocketAddr = value
                .parse()
                .with_context(|| format!("[server] listen {value:?}"))?;
            addr.set_port(addr.port() + index);
            out.push_str(&format!("listen = \"{addr}\"\n"));
            listen = Some(addr);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !text.contains("[store]") {
        out.push_str(&format!("\n[store]\nurl = \"{url}\"\npool_size = 8\n"));
    }
    let listen = match listen {
        Some(addr) => addr,
        None => bail!("the config has no [server] listen to give each host a port of its own"),
    };
    Ok((out, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_database_starts_again_on_the_folder_it_left() {
        // /tmp: as root the server runs as `postgres`, which must reach the folder.
        let dir = Path::new("/tmp").join(format!("xtask-pg-{}", std::process::id()));
        for _ in 0..2 {
            let postgres = LocalPostgres::start(&dir).unwrap();
            let answer = succeed(Command::new(postgres.bin.join("psql")).args([
                "-X",
                "-At",
                "-d",
                &postgres.url,
                "-c",
                "SELECT current_database()",
            ]))
            .unwrap();
            assert_eq!(answer.trim(), "switchboard");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fresh_database_is_empty_even_when_one_was_left() {
        let dir = Path::new("/tmp").join(format!("xtask-pg-fresh-{}", std::process::id()));
        let postgres = LocalPostgres::start_with(&dir, &[("max_connections", "150")]).unwrap();
        let psql = |url: &str, sql: &str| {
            succeed(
                Command::new(postgres.bin.join("psql")).args(["-X", "-At", "-d", url, "-c", sql]),
            )
            .unwrap()
            .trim()
            .to_owned()
        };
        assert_eq!(psql(&postgres.url, "SHOW max_connections"), "150");
        let url = postgres.fresh_database("bench_2_hosts").unwrap();
        assert!(url.ends_with("/bench_2_hosts"));
        psql(&url, "CREATE TABLE left_over (n int)");
        let again = postgres.fresh_database("bench_2_hosts").unwrap();
        assert_eq!(
            psql(
                &again,
                "SELECT count(*) FROM pg_tables WHERE tablename = 'left_over'"
            ),
            "0"
        );
        drop(postgres);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn each_host_gets_the_shared_store_and_a_port_of_its_own() {
        let text = "[server]\nlisten = \"127.0.0.1:8080\" # here\n\n[store]\n# the file\npath = \"data/x.db\"\nsync = \"full\"\n\n[flows]\ndir = \"flows\"\n";
        let (second, listen) = host_config(text, "postgres://p@127.0.0.1:5/s", 1).unwrap();
        assert_eq!(listen.to_string(), "127.0.0.1:8081");
        assert_eq!(
            second,
            "[server]\nlisten = \"127.0.0.1:8081\"\n\n[store]\nurl = \"postgres://p@127.0.0.1:5/s\"\npool_size = 8\n# the file\n\n[flows]\ndir = \"flows\"\n"
        );
    }
}
