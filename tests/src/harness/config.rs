//! The host's configuration for a test ([`TestConfig`]) and the simulator's matching setup
//! ([`sim_config`]): both sides get the same fake secrets and ids from the constants here.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::paths::{TempDir, free_port, plugins_dir, workspace_dir};
use crate::sim::{OpenMessagingPartner, SimConfig, XAccount};

// The secrets and ids both sides are configured with (fake, for tests only).
pub const X_INTEGRATION: &str = "x-demo";
pub const X_CONSUMER_SECRET: &str = "e2e-consumer-secret";
pub const X_ACCESS_TOKEN: &str = "e2e-access-token";
pub const X_ACCOUNT_ID: &str = "1500000000000000001";
pub const OM_INTEGRATION: &str = "om-demo";
pub const OM_SECRET: &str = "e2e-open-messaging-secret";
pub const OM_PATH: &str = "om-demo";
pub const ALICE: &str = "alice";
/// Alice's token: [`agent_token`]`(ALICE)`, as every agent's.
pub const ALICE_TOKEN: &str = "e2e-alice-token";
pub const ADMIN_TOKEN: &str = "e2e-admin-token";

/// What the repository's `flows/support.yaml` says, for tests that check it was said.
pub mod support_flow {
    /// The end of the greeting (`Hi NAME, thanks for writing to us.`).
    pub const GREETING_SUFFIX: &str = "thanks for writing to us.";
    /// The start of the question (followed by the options where a platform has no quick replies).
    pub const QUESTION: &str = "What can we help you with?";
    /// The answer to choosing Billing.
    pub const TO_BILLING: &str = "Thanks! A billing specialist will be with you shortly.";
}

/// The token of agent `id`: `e2e-{id}-token` (alice's is [`ALICE_TOKEN`]).
pub fn agent_token(id: &str) -> String {
    format!("e2e-{id}-token")
}

/// `[integration.settings]` pairs from string slices.
pub fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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

/// `tests/flows/invalid/six-errors.yaml`: a flow with six errors, on lines 5, 11, 15, 16, 20 and
/// 23; the last (a transfer to queue `no-such-queue`) only a configuration can tell.
pub fn invalid_flow() -> PathBuf {
    workspace_dir()
        .join("tests")
        .join("flows")
        .join("invalid")
        .join("six-errors.yaml")
}

/// A host config for tests: an X and an open-messaging integration whose replies go to the
/// simulator at `sim_base_url`, queues `support` and `billing`, agent alice, an admin token.
#[derive(Debug, Clone)]
pub struct TestConfig {
    /// The folder the host runs in: its config, database, log, and the flows folder
    /// [`TestConfig::own_flows`] makes.
    pub dir: PathBuf,
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    pub sim_base_url: String,
    /// Every plugin call's deadline (`[plugins] deadline_ms`). Long, so that no call is
    /// interrupted because a loaded machine ran it slowly; a test that needs a spinning plugin
    /// interrupted gives that plugin a short one with [`TestConfig::plugin_deadline`].
    pub deadline_ms: u64,
    pub memory_mib: u64,
    /// Kept small so retries happen quickly.
    pub backoff_ms: u64,
    /// `[outbound] timeout_ms`: how long a send request may take (default 10 s).
    pub send_timeout_ms: u64,
    pub max_attempts: u32,
    /// `[server] max_connections` and `header_read_timeout_ms`.
    pub max_connections: usize,
    pub header_read_timeout_ms: u64,
    /// `[outbound] max_retry_after_ms`: the longest platform-named rate-limit wait obeyed.
    pub max_retry_after_ms: u64,
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
    /// Extra keys of the open-messaging integration's table, as TOML lines.
    pub om_options: Vec<String>,
    /// The flows folder (default: the repository's `flows/`).
    pub flows_dir: Option<PathBuf>,
    /// The plugins folder (default: [`plugins_dir`]).
    pub plugins_dir: Option<PathBuf>,
    /// The built browser console, rendered as `[server] console_dir` (default: not set, so the
    /// host uses its own default).
    pub console_dir: Option<PathBuf>,
    /// Extra keys of `[server]`, as TOML lines (`shutdown_deadline_ms = 60000`).
    pub server_options: Vec<String>,
    /// TOML appended to the config (e.g. `[[plugin]]` grants, more `[[agent]]`s).
    pub extra_toml: String,
    /// Extra keys of the `billing` queue, as TOML lines (`alerting_timeout_seconds = 1`).
    pub billing_options: Vec<String>,
    /// A PostgreSQL URL: the host stores there (shared with other hosts) instead of in
    /// `db_path`.
    pub store_url: Option<String>,
}

impl TestConfig {
    /// A config for a host listening on a free port, with its database in `dir`.
    pub fn new(dir: &TempDir, sim_base_url: &str) -> TestConfig {
        TestConfig {
            dir: dir.path().to_path_buf(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
            db_path: dir.path().join("switchboard.db"),
            sim_base_url: sim_base_url.trim_end_matches('/').to_owned(),
            deadline_ms: 10_000,
            memory_mib: 64,
            backoff_ms: 50,
            send_timeout_ms: 10_000,
            max_attempts: 4,
            max_retry_after_ms: 15 * 60 * 1000,
            max_connections: 512,
            header_read_timeout_ms: 10_000,
            extra_integrations: Vec::new(),
            // The tests send faster than X's documented 200 DMs per 15 minutes; pacing has its
            // own test.
            x_options: vec!["send_limits = []".into()],
            x_flow: "support".into(),
            om_adapter: "open-messaging".into(),
            om_flow: "support".into(),
            om_options: Vec::new(),
            flows_dir: None,
            plugins_dir: None,
            console_dir: None,
            server_options: Vec::new(),
            extra_toml: String::new(),
            billing_options: Vec::new(),
            store_url: None,
        }
    }

    /// Gives the host a flows folder of its own, `DIR/flows`: the repository's `support.yaml`
    /// and `files` (file name, YAML). Returns the folder, which a `serve --watch` test may change.
    pub fn own_flows(&mut self, files: &[(&str, &str)]) -> PathBuf {
        let flows = self.dir.join("flows");
        std::fs::create_dir_all(&flows)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", flows.display()));
        let support = workspace_dir().join("flows").join("support.yaml");
        std::fs::copy(&support, flows.join("support.yaml"))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", support.display()));
        for (name, text) in files {
            std::fs::write(flows.join(name), text)
                .unwrap_or_else(|e| panic!("cannot write flow {name}: {e}"));
        }
        self.flows_dir = Some(flows.clone());
        flows
    }

    /// Gives the host the repository's example flows and the test flows of `tests/flows/`
    /// (see [`flows_with_test_flows`]) in `DIR/flows`.
    pub fn use_test_flows(&mut self) {
        let flows = self.dir.join("flows");
        std::fs::create_dir_all(&flows)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", flows.display()));
        self.flows_dir = Some(flows_with_test_flows(&flows));
    }

    /// Gives plugin `name` (e.g. `fixtures/spin`) its own call deadline, as a `[[plugin]]` grant.
    pub fn plugin_deadline(&mut self, name: &str, deadline_ms: u64) {
        let _ = write!(
            self.extra_toml,
            "\n[[plugin]]\nname = \"{name}\"\ndeadline_ms = {deadline_ms}\n"
        );
    }

    /// One more agent in queue `billing`, with token [`agent_token`]`(id)`; `extra` is more TOML
    /// lines of its table (`skills = { invoices = 3 }`).
    pub fn add_agent(&mut self, id: &str, capacity: u32, extra: &str) {
        let _ = write!(
            self.extra_toml,
            "\n[[agent]]\nid = \"{id}\"\nname = \"{id}\"\ntoken = \"{}\"\nqueues = [\"billing\"]\ncapacity = {capacity}\n{extra}\n",
            agent_token(id)
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
max_connections = {max_connections}
header_read_timeout_ms = {header_read_timeout}
{console_dir}
{server_options}

[store]
{store}

[plugins]
dir = {plugins}
cache_dir = {cache}
deadline_ms = {deadline}
memory_mib = {memory}

[flows]
dir = {flows}

[outbound]
timeout_ms = {send_timeout}
backoff_ms = {backoff}
max_attempts = {attempts}
max_retry_after_ms = {max_retry_after}

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
{om_options}
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
            server_options = self.server_options.join("\n"),
            store = match &self.store_url {
                Some(url) => format!("url = {}\npool_size = 8", q(url)),
                None => format!("path = {}\nsync = \"normal\"", path(&self.db_path)),
            },
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
            send_timeout = self.send_timeout_ms,
            attempts = self.max_attempts,
            max_retry_after = self.max_retry_after_ms,
            max_connections = self.max_connections,
            header_read_timeout = self.header_read_timeout_ms,
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
            om_options = self.om_options.join("\n"),
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
