//! Runs the real `switchboard` binary for end-to-end tests.
//!
//! [`HostProcess`] writes a config into a [`TempDir`], spawns `switchboard serve --config FILE`
//! with its output in a log file next to it, waits for `GET /healthz` and kills the process when
//! dropped. [`TestConfig`] renders a config whose integrations point at a running
//! [`PlatformSim`](crate::sim::PlatformSim), with the same secrets [`sim_config`] gives the
//! simulator. [`Api`] is a small HTTP client for the host's routes, and [`eventually`] polls with a
//! deadline, so tests wait for what a user would see instead of sleeping.

use std::fmt::Write as _;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::sim::{OpenMessagingPartner, SimConfig, XAccount};

/// How long the host may take to answer `/healthz` after it was spawned (a cold plugin cache
/// compiles every component first).
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long one request to the host may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline of [`eventually`]-style waits in tests.
pub const WAIT: Duration = Duration::from_secs(30);

// The secrets and ids both sides are configured with (fake, for tests only).
pub const X_INTEGRATION: &str = "x-demo";
pub const X_CONSUMER_SECRET: &str = "e2e-consumer-secret";
pub const X_ACCESS_TOKEN: &str = "e2e-access-token";
pub const X_ACCOUNT_ID: &str = "1500000000000000001";
pub const OM_INTEGRATION: &str = "om-demo";
pub const OM_SECRET: &str = "e2e-open-messaging-secret";
pub const OM_PATH: &str = "om-demo";
pub const ALICE: &str = "alice";
pub const ALICE_TOKEN: &str = "e2e-alice-token";
pub const ADMIN_TOKEN: &str = "e2e-admin-token";

/// The workspace root (the parent of this crate's folder).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The built plugins: `SWITCHBOARD_PLUGINS_DIR` (set by `cargo xtask test`), else
/// `<workspace>/target/plugins`.
pub fn plugins_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target").join("plugins"))
}

/// The host binary: `SWITCHBOARD_BIN`, else `switchboard` next to the folder the test executable
/// runs from (`target/debug/deps/..` is `target/debug`).
pub fn host_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "SWITCHBOARD_BIN={} does not exist",
            bin.display()
        );
        return bin;
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| {
            if deps.file_name().is_some_and(|n| n == "deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("switchboard{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the switchboard binary is missing at {}: build it with `cargo build -p switchboard` or run `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A free loopback port: bound, read and released (the host binds it right after).
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free loopback port");
    listener
        .local_addr()
        .expect("the listener's address")
        .port()
}

/// A folder removed when dropped, unless the thread is panicking: a failed test keeps its config,
/// database and host log for a look.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "switchboard-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Another integration: `adapter` is a path under the plugins folder, e.g. `whatsapp` or
/// `fixtures/trap`.
#[derive(Debug, Clone, Default)]
pub struct ExtraIntegration {
    pub id: String,
    pub adapter: String,
    /// Extra keys of the `[[integration]]` table, as TOML lines (`size = "entry"`).
    pub options: Vec<String>,
    /// `[integration.settings]`.
    pub settings: Vec<(String, String)>,
}

/// Fills `dir` with the repository's example flows and the test flows of `tests/flows/`
/// (e.g. `echo`, which answers every message once), for [`TestConfig::flows_dir`].
pub fn flows_with_test_flows(dir: &Path) -> PathBuf {
    let workspace = workspace_dir();
    for source in [
        workspace.join("flows"),
        workspace.join("tests").join("flows"),
    ] {
        for entry in std::fs::read_dir(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()))
        {
            let path = entry.expect("a folder entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                std::fs::copy(&path, dir.join(path.file_name().expect("a file name")))
                    .unwrap_or_else(|e| panic!("cannot copy {}: {e}", path.display()));
            }
        }
    }
    dir.to_path_buf()
}

/// A host config for tests: an X and an open-messaging integration whose replies go to the
/// simulator at `sim_base_url`, queues `support` and `billing`, agent alice, an admin token.
#[derive(Debug, Clone)]
pub struct TestConfig {
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    pub sim_base_url: String,
    /// The plugin call deadline (`[plugins] deadline_ms`). Generous by default, so a legitimate
    /// call is never cut short on a loaded machine; tests of spinning plugins give those a short
    /// deadline of their own with a `[[plugin]]` grant (see [`TestConfig::short_deadline`]).
    pub deadline_ms: u64,
    pub memory_mib: u64,
    /// Kept small so retries happen quickly.
    pub backoff_ms: u64,
    pub max_attempts: u32,
    pub extra_integrations: Vec<ExtraIntegration>,
    /// Extra keys of the X integration's table, as TOML lines (`size = "entry"`).
    pub x_options: Vec<String>,
    /// The flow of the X integration (default `support`).
    pub x_flow: String,
    /// The adapter of the open-messaging integration (default `open-messaging`; its
    /// JavaScript and Python twins speak the same wire format).
    pub om_adapter: String,
    /// The flow of the open-messaging integration (default `support`).
    pub om_flow: String,
    /// The flows folder (default: the repository's `flows/`).
    pub flows_dir: Option<PathBuf>,
    /// The plugins folder (default: [`plugins_dir`]).
    pub plugins_dir: Option<PathBuf>,
    /// The built browser console, rendered as `[server] console_dir` (default: not set, so the
    /// host uses its own default).
    pub console_dir: Option<PathBuf>,
    /// TOML appended to the config (e.g. `[[plugin]]` grants, more `[[agent]]`s).
    pub extra_toml: String,
    /// Extra keys of the `billing` queue, as TOML lines (`alerting_timeout_seconds = 1`).
    pub billing_options: Vec<String>,
}

impl TestConfig {
    /// A config for a host listening on a free port, with its database in `dir`.
    pub fn new(dir: &TempDir, sim_base_url: &str) -> TestConfig {
        TestConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
            db_path: dir.path().join("switchboard.db"),
            sim_base_url: sim_base_url.trim_end_matches('/').to_owned(),
            deadline_ms: 10_000,
            memory_mib: 64,
            backoff_ms: 50,
            max_attempts: 4,
            extra_integrations: Vec::new(),
            x_options: Vec::new(),
            x_flow: "support".into(),
            om_adapter: "open-messaging".into(),
            om_flow: "support".into(),
            flows_dir: None,
            plugins_dir: None,
            console_dir: None,
            extra_toml: String::new(),
            billing_options: Vec::new(),
        }
    }

    /// Gives plugin `name` a call deadline of `ms` of its own (a `[[plugin]]` grant), e.g. so a
    /// spinning fixture is interrupted quickly while every other plugin keeps the default.
    pub fn short_deadline(&mut self, name: &str, ms: u64) {
        let _ = write!(
            self.extra_toml,
            "\n[[plugin]]\nname = {}\ndeadline_ms = {ms}\n",
            toml::Value::String(name.to_owned())
        );
    }

    pub fn render(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let path = |p: &Path| q(&p.to_string_lossy());
        let workspace = workspace_dir();
        let mut text = format!(
            r#"[server]
listen = {listen}
admin_token = {admin}
{console_dir}

[store]
path = {db}
sync = "normal"

[plugins]
dir = {plugins}
cache_dir = {cache}
deadline_ms = {deadline}
memory_mib = {memory}

[flows]
dir = {flows}

[outbound]
timeout_ms = 10000
backoff_ms = {backoff}
max_attempts = {attempts}

[[integration]]
id = {x_id}
adapter = "x"
flow = {x_flow}
{x_options}
[integration.settings]
consumer_secret = {x_secret}
access_token = {x_token}
account_id = {x_account}
api_base = {api_base}

[[integration]]
id = {om_id}
adapter = {om_adapter}
flow = {om_flow}
[integration.settings]
secret = {om_secret}
webhook_url = {om_url}
"#,
            listen = q(&self.listen.to_string()),
            admin = q(ADMIN_TOKEN),
            console_dir = self
                .console_dir
                .as_deref()
                .map(|dir| format!("console_dir = {}", path(dir)))
                .unwrap_or_default(),
            db = path(&self.db_path),
            plugins = path(self.plugins_dir.as_deref().unwrap_or(&plugins_dir())),
            cache = path(&workspace.join("target").join("plugin-cache-test")),
            deadline = self.deadline_ms,
            memory = self.memory_mib,
            flows = path(
                self.flows_dir
                    .as_deref()
                    .unwrap_or(&workspace.join("flows"))
            ),
            backoff = self.backoff_ms,
            attempts = self.max_attempts,
            x_id = q(X_INTEGRATION),
            x_options = self.x_options.join("\n"),
            x_flow = q(&self.x_flow),
            x_secret = q(X_CONSUMER_SECRET),
            x_token = q(X_ACCESS_TOKEN),
            x_account = q(X_ACCOUNT_ID),
            api_base = q(&self.sim_base_url),
            om_id = q(OM_INTEGRATION),
            om_adapter = q(&self.om_adapter),
            om_flow = q(&self.om_flow),
            om_secret = q(OM_SECRET),
            om_url = q(&format!("{}/open-messaging/{OM_PATH}", self.sim_base_url)),
        );
        for extra in &self.extra_integrations {
            let _ = write!(
                text,
                "\n[[integration]]\nid = {}\nadapter = {}\nflow = \"support\"\n",
                q(&extra.id),
                q(&extra.adapter)
            );
            for option in &extra.options {
                let _ = writeln!(text, "{option}");
            }
            if !extra.settings.is_empty() {
                let _ = writeln!(text, "[integration.settings]");
                for (key, value) in &extra.settings {
                    let _ = writeln!(text, "{key} = {}", q(value));
                }
            }
        }
        let _ = write!(
            text,
            r#"
[[queue]]
id = "support"
name = "Support"

[[queue]]
id = "billing"
name = "Billing"
{billing_options}

[[agent]]
id = {alice}
name = "Alice"
token = {alice_token}
queues = ["support", "billing"]
"#,
            alice = q(ALICE),
            alice_token = q(ALICE_TOKEN),
            billing_options = self.billing_options.join("\n"),
        );
        text.push_str(&self.extra_toml);
        text
    }
}

/// The simulator setup matching [`TestConfig`]: the X account and the open-messaging partner.
pub fn sim_config() -> SimConfig {
    SimConfig {
        x_accounts: vec![XAccount {
            access_token: X_ACCESS_TOKEN.into(),
            consumer_secret: X_CONSUMER_SECRET.into(),
            account_id: X_ACCOUNT_ID.into(),
            integration_id: X_INTEGRATION.into(),
        }],
        open_messaging: vec![OpenMessagingPartner {
            secret: OM_SECRET.into(),
            integration_id: OM_INTEGRATION.into(),
            path: OM_PATH.into(),
        }],
        ..SimConfig::default()
    }
}

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
}

impl HostProcess {
    /// Writes `config_toml` to `dir/switchboard.toml`, spawns the host and waits until it is
    /// healthy. The listen address is read from the config's `[server] listen`.
    pub async fn start(dir: TempDir, config_toml: &str) -> HostProcess {
        HostProcess::start_with_args(dir, config_toml, &[]).await
    }

    /// As [`HostProcess::start`], with more arguments to `serve` (e.g. `--watch`).
    pub async fn start_with_args(dir: TempDir, config_toml: &str, args: &[&str]) -> HostProcess {
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
    pub fn cli_publish(
        &self,
        kind: &str,
        file: &Path,
        name: &str,
        token: &str,
    ) -> std::process::Output {
        std::process::Command::new(host_binary())
            .args([kind, "publish"])
            .arg(file)
            .args(["--name", name, "--host", &self.base_url(), "--token", token])
            .output()
            .unwrap_or_else(|e| panic!("cannot run `switchboard {kind} publish`: {e}"))
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
        let child = Command::new(&binary)
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

/// An answer from the host.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON answer ({}), got {:?}: {e}",
                self.status,
                self.text()
            )
        })
    }
}

/// A small HTTP/1 client for the host (no connection reuse, so a restarted host is never reached
/// through a dead pooled connection).
#[derive(Clone)]
pub struct Api {
    base_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        Api {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// Sends a request; `token` goes in `Authorization: Bearer`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Response> {
        let url = format!("{}{path}", self.base_url);
        let uri: Uri = url.parse().with_context(|| format!("{url:?}"))?;
        let mut request = Request::builder().method(method.clone()).uri(uri);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(HeaderName::from_bytes(name.as_bytes())?, *value);
        }
        let request = request.body(Full::new(body.into()))?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .with_context(|| format!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {url}"))
    }

    async fn try_get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Response> {
        self.request(Method::GET, path, token, &[], Bytes::new())
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.try_get(path, token)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// POSTs JSON.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(
            Method::POST,
            path,
            token,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// PUTs JSON.
    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(
            Method::PUT,
            path,
            token,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// POSTs raw bytes with the given headers (webhooks).
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
        self.request(Method::POST, path, None, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// PUTs raw bytes with a token (flow YAML).
    pub async fn put_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        self.request(
            Method::PUT,
            path,
            token,
            &[(CONTENT_TYPE.as_str(), content_type)],
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let response = self.get("/metrics", None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.text()
    }
}

/// The value of one sample in Prometheus text, e.g.
/// `metric(&text, "switchboard_webhooks_received_total", &[("integration", "x-demo")])`: the sum
/// of the samples of `name` carrying every given label (0 when none does).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric_name != name {
                return None;
            }
            let all_match = labels
                .iter()
                .all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
            all_match.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Calls `probe` until it returns `Ok`, at most until `timeout`; then panics with `what` and the
/// last `Err` (a description of the state seen).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) => {
                if tokio::time::Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
