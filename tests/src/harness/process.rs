//! [`HostProcess`]: the real `switchboard serve`, on a temporary config and database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use anyhow::bail;
use hyper::StatusCode;

use super::api::Api;
use super::paths::{TempDir, host_binary, workspace_dir};
use super::wait::{WAIT, eventually};

/// How long the host may take to answer `/healthz` after it was spawned (a cold plugin cache
/// compiles every component first).
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running `switchboard serve`, killed when dropped.
pub struct HostProcess {
    dir: TempDir,
    config_path: PathBuf,
    log_path: PathBuf,
    listen: SocketAddr,
    child: Option<Child>,
    starts: u32,
    /// Arguments after `serve --config FILE` (e.g. `--watch`).
    args: Vec<String>,
    /// The host's open-file limit (`ulimit -n`), when a test sets one.
    open_files: Option<u64>,
    /// Environment variables set for the host (e.g. secrets the config names as `${NAME}`).
    env: Vec<(String, String)>,
    /// A command the host runs under (e.g. `ip netns exec NAME`), which must exec it.
    wrapper: Vec<String>,
}

impl HostProcess {
    /// Writes `config_toml` to `dir/switchboard.toml`, spawns the host and waits until it is
    /// healthy. The listen address is read from the config's `[server] listen`.
    pub async fn start(dir: TempDir, config_toml: &str) -> HostProcess {
        HostProcess::start_with_args(dir, config_toml, &[]).await
    }

    /// As [`HostProcess::start`], with more arguments to `serve` (e.g. `--watch`).
    pub async fn start_with_args(dir: TempDir, config_toml: &str, args: &[&str]) -> HostProcess {
        HostProcess::start_limited(dir, config_toml, args, None).await
    }

    /// As [`HostProcess::start_with_args`], with the host's open-file limit at `open_files`.
    pub async fn start_limited(
        dir: TempDir,
        config_toml: &str,
        args: &[&str],
        open_files: Option<u64>,
    ) -> HostProcess {
        HostProcess::start_full(dir, config_toml, args, open_files, &[], &[]).await
    }

    /// As [`HostProcess::start_with_args`], with environment variables `env` set for the host.
    pub async fn start_with_env(
        dir: TempDir,
        config_toml: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> HostProcess {
        HostProcess::start_full(dir, config_toml, args, None, env, &[]).await
    }

    /// As [`HostProcess::start_with_args`], run by `wrapper` (e.g. `ip netns exec NAME`: a
    /// command that execs the host, so that killing the child kills the host).
    pub async fn start_wrapped(
        dir: TempDir,
        config_toml: &str,
        args: &[&str],
        wrapper: &[&str],
    ) -> HostProcess {
        HostProcess::start_full(dir, config_toml, args, None, &[], wrapper).await
    }

    async fn start_full(
        dir: TempDir,
        config_toml: &str,
        args: &[&str],
        open_files: Option<u64>,
        env: &[(&str, &str)],
        wrapper: &[&str],
    ) -> HostProcess {
        let config_path = dir.path().join("switchboard.toml");
        std::fs::write(&config_path, config_toml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config_path.display()));
        let listen = listen_address(config_toml);
        let log_path = dir.path().join("host.log");
        let mut host = HostProcess {
            dir,
            config_path,
            log_path,
            listen,
            child: None,
            starts: 0,
            args: args.iter().map(|a| a.to_string()).collect(),
            open_files,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            wrapper: wrapper.iter().map(|a| a.to_string()).collect(),
        };
        host.spawn_and_wait().await;
        host
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Runs `switchboard {flow|plugin} publish FILE --name NAME` against this host, as an admin
    /// would from another terminal.
    pub fn cli_publish(&self, kind: &str, file: &Path, name: &str, token: &str) -> Output {
        run_cli(|command| {
            command.args([kind, "publish"]).arg(file).args([
                "--name",
                name,
                "--host",
                &self.base_url(),
                "--token",
                token,
            ]);
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A client for this host's routes.
    pub fn api(&self) -> Api {
        Api::new(&self.base_url())
    }

    /// Kills the process with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process (SIGSTOP) until [`HostProcess::resume`]: it does nothing meanwhile,
    /// and its connections stay open.
    pub fn pause(&self) {
        self.signal("-STOP").expect("pausing the host");
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT").expect("resuming the host");
    }

    /// Sends `signal` (`-TERM`, `-STOP`, ...) to the running process.
    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let Some(child) = self.child.as_ref() else {
            bail!("the host is not running");
        };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("`kill {signal} {}` failed: {status}", child.id());
        }
        Ok(())
    }

    /// Sends SIGTERM, as systemd or a deploy does, and waits up to `within` for the process to
    /// exit; returns its status and how long it took, or an error saying it was still running.
    pub async fn terminate(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<(std::process::ExitStatus, Duration)> {
        let sent = std::time::Instant::now();
        self.signal("-TERM")?;
        let Some(child) = self.child.as_mut() else {
            bail!("the host is not running");
        };
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok((status, sent.elapsed()));
            }
            if sent.elapsed() >= within {
                bail!("still running {within:?} after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the host again on the same config and database (killing it first if running).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn_and_wait().await;
    }

    /// The last `lines` lines of the host's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until the last 200 lines of the host's log say `needle` (what an admin watching
    /// the log would see, e.g. why `serve --watch` refused a file).
    pub async fn wait_for_log(&self, what: &str, needle: &str) {
        eventually(what, WAIT, || async {
            if self.log_tail(200).contains(needle) {
                Ok(())
            } else {
                Err(self.log_tail(20))
            }
        })
        .await
    }

    async fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log_path.display()));
        let mut log_for_stdout = log.try_clone().expect("cloning the log file handle");
        let _ = writeln_file(
            &mut log_for_stdout,
            &format!("==== start #{} ====", self.starts),
        );
        let binary = host_binary();
        let mut command = match (self.wrapper.split_first(), self.open_files) {
            (Some((program, args)), _) => {
                let mut command = Command::new(program);
                command.args(args).arg(&binary);
                command
            }
            // The shell lowers its limit and becomes the host (same process).
            (None, Some(limit)) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(&binary);
                command
            }
            (None, None) => Command::new(&binary),
        };
        let child = command
            .arg("serve")
            .arg("--config")
            .arg(&self.config_path)
            .args(&self.args)
            .current_dir(self.dir.path())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG")
                    .unwrap_or_else(|_| "info,cranelift=warn,wasmtime=warn".into()),
            )
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", binary.display()));
        self.child = Some(child);
        if let Err(e) = self.wait_healthy().await {
            self.kill();
            panic!(
                "the host did not become healthy: {e:#}\n--- {} (tail) ---\n{}",
                self.log_path.display(),
                self.log_tail(40)
            );
        }
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let api = self.api();
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("the host exited with {status} before answering /healthz");
            }
            if let Ok(response) = api.try_get("/healthz", None).await
                && response.status == StatusCode::OK
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "GET {}/healthz did not answer 200 within {START_DEADLINE:?}",
                    self.base_url()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- host log {} (tail) ---\n{}",
                self.log_path.display(),
                self.log_tail(60)
            );
        }
    }
}

/// Runs the `switchboard` command as `args` sets it up, in the workspace folder (so relative
/// paths such as `flows/support.yaml` work), and returns what it did.
pub fn run_cli(args: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(host_binary());
    command.current_dir(workspace_dir());
    args(&mut command);
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// The trimmed standard output of a command that must have succeeded; panics with what it said
/// otherwise.
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "the command failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn writeln_file(file: &mut std::fs::File, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(file, "{line}")
}

fn listen_address(config_toml: &str) -> SocketAddr {
    let value: toml::Table = toml::from_str(config_toml).expect("the test config is valid TOML");
    value
        .get("server")
        .and_then(|s| s.get("listen"))
        .and_then(|l| l.as_str())
        .expect("the test config sets [server] listen")
        .parse()
        .expect("[server] listen is an address")
}
