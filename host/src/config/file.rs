//! The host's configuration file (`switchboard.toml`): its sections, their defaults, and the
//! checks serde cannot express.
//!
//! Every section has a default, so `switchboard serve` with no file runs on built-in defaults:
//! 127.0.0.1:8080, SQLite under `./data`, flows from `./flows`, plugins from the folder
//! `cargo xtask build-plugins` fills (`./target/plugins`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::grants::{PluginGrant, check_http_host};
use super::retention::RetentionConfig;
use super::schedules::{ScheduleConfig, ScheduleGroupConfig};
use super::server::ServerConfig;
use super::store::StoreConfig;
use super::supervisors::{SupervisorConfig, check_supervisors};

/// The whole configuration. Unknown keys are refused so a typo never goes unnoticed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub flows: FlowsConfig,
    #[serde(default)]
    pub outbound: OutboundConfig,
    #[serde(default, rename = "integration")]
    pub integrations: Vec<IntegrationConfig>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<QueueConfig>,
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentConfig>,
    /// Supervisors, who watch queues and agents live: `[[supervisor]]`.
    #[serde(default, rename = "supervisor")]
    pub supervisors: Vec<SupervisorConfig>,
    /// The wrap-up codes agents choose from.
    #[serde(default = "default_wrapup_codes")]
    pub wrapup_codes: Vec<String>,
    /// What each flow plugin (bot or data action) may do beyond the defaults: `[[plugin]]`.
    #[serde(default, rename = "plugin")]
    pub plugin_grants: Vec<PluginGrant>,
    /// Named schedules: `[[schedule]]`.
    #[serde(default, rename = "schedule")]
    pub schedules: Vec<ScheduleConfig>,
    /// Schedule groups flows name in `schedule` steps: `[[schedule_group]]`.
    #[serde(default, rename = "schedule_group")]
    pub schedule_groups: Vec<ScheduleGroupConfig>,
    /// How long processed webhook events and ended interactions' messages are kept.
    #[serde(default)]
    pub retention: RetentionConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// The folder holding `NAME.wasm` components; the plugin name is the file stem.
    #[serde(default = "default_plugins_dir")]
    pub dir: PathBuf,
    /// Where compiled components are cached, keyed by content hash and engine settings.
    #[serde(default = "default_cache_dir")]
    pub cache_dir: PathBuf,
    /// The longest one plugin call may run before it is interrupted.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// The most linear memory one plugin instance may grow to, in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// The most one adapter call may return (a webhook answer with its events, a send request).
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
}

fn default_max_output_bytes() -> usize {
    4 << 20
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: default_plugins_dir(),
            cache_dir: default_cache_dir(),
            deadline_ms: default_deadline_ms(),
            max_output_bytes: default_max_output_bytes(),
            memory_mib: default_memory_mib(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowsConfig {
    /// The folder holding `NAME.yaml` flows; the flow name is the file stem.
    #[serde(default = "default_flows_dir")]
    pub dir: PathBuf,
}

impl Default for FlowsConfig {
    fn default() -> Self {
        Self {
            dir: default_flows_dir(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    /// Timeout of one platform send request.
    #[serde(default = "default_send_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts before a message is marked failed (transient failures and rate limits retry).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay; each further retry doubles it (with jitter), capped at 5 minutes. It
    /// is also the floor under a platform's named rate-limit end (a reset in the past or
    /// `Retry-After: 0` waits for it).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// The longest wait a platform's `Retry-After` or rate-limit reset is obeyed for (15 minutes
    /// by default); the platform is asked again then. While a platform names a wait, the
    /// message is held: `max_attempts` does not fail it.
    #[serde(default = "default_max_retry_after_ms")]
    pub max_retry_after_ms: u64,
    /// Sends in flight at once across all integrations.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            timeout_ms: default_send_timeout_ms(),
            max_attempts: default_max_attempts(),
            backoff_ms: default_backoff_ms(),
            max_retry_after_ms: default_max_retry_after_ms(),
            concurrency: default_concurrency(),
        }
    }
}

/// One platform account connected to the host, e.g. one X account or one open-messaging partner.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    /// Appears in the webhook URL: `/webhooks/{id}`.
    pub id: String,
    /// The adapter plugin's name (a component `NAME.wasm` in the plugins folder).
    pub adapter: String,
    /// The flow new conversations start in.
    pub flow: String,
    /// Messages from one customer closer together than this are one conversation (0-72 h).
    #[serde(default = "default_threading_hours")]
    pub threading_window_hours: f64,
    /// The platform's size tier, which caps the messages sent per UTC day (X: entry 200,
    /// small 1,000, medium 3,000, large 9,000). Without it, no daily cap.
    #[serde(default)]
    pub size: Option<IntegrationSize>,
    /// Send this integration's replies through another integration of the same adapter (for
    /// example, answer DMs of a regional X account from the main support account).
    #[serde(default)]
    pub reply_as: Option<String>,
    /// How fast this integration may send, e.g. `["80/s"]` or `["200/15m", "1000/24h"]` (see
    /// [`super::SendLimit`]); `[]` for no pacing. Without it, the platform's
    /// documented limits ([`crate::rules::pacing::documented_limits`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_limits: Option<Vec<String>>,
    /// Passed to the adapter through its `config` import; secrets live here.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

impl IntegrationConfig {
    /// Settings as the adapter sees them: every value a string.
    pub fn settings_as_strings(&self) -> BTreeMap<String, String> {
        self.settings
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect()
    }

    pub fn threading_window_ms(&self) -> i64 {
        (self.threading_window_hours * 3_600_000.0) as i64
    }
}

/// An integration's size tier and its daily outbound cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationSize {
    Entry,
    Small,
    Medium,
    Large,
}

impl IntegrationSize {
    pub fn daily_cap(self) -> u32 {
        match self {
            IntegrationSize::Entry => 200,
            IntegrationSize::Small => 1_000,
            IntegrationSize::Medium => 3_000,
            IntegrationSize::Large => 9_000,
        }
    }
}

/// An ACD queue flows can transfer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// How long an offer waits for the agent to accept before the agent is set to
    /// not-responding and the interaction goes to someone else.
    #[serde(default = "default_alerting_seconds")]
    pub alerting_timeout_seconds: f64,
    /// What happens when a customer in an agent's conversation stops answering.
    #[serde(default)]
    pub inactivity: Option<InactivityConfig>,
    /// The service-level threshold supervisors see: the share of interactions an agent
    /// accepted within this many seconds of entering the queue.
    #[serde(default = "default_service_level_seconds")]
    pub service_level_seconds: u32,
}

fn default_service_level_seconds() -> u32 {
    60
}

/// The inactivity timer of a queue's conversations: a warning, then the end.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InactivityConfig {
    /// Minutes of customer silence before the warning.
    pub warn_after_minutes: f64,
    #[serde(default = "default_inactivity_warning")]
    pub warning: String,
    /// Minutes of customer silence before the conversation ends (or moves to `flow`).
    pub end_after_minutes: f64,
    /// Sent when it ends.
    #[serde(default)]
    pub end_text: Option<String>,
    /// Move the conversation to this flow instead of ending it.
    #[serde(default)]
    pub flow: Option<String>,
}

fn default_alerting_seconds() -> f64 {
    30.0
}

fn default_inactivity_warning() -> String {
    "Are you still there? This conversation will close soon if we do not hear from you.".into()
}

/// An agent who may work queues through the agent API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Bearer token the agent signs in with, in plaintext: hashed while the file is read (see
    /// `credentials.rs`), and `None` from then on.
    #[serde(default)]
    pub token: Option<String>,
    /// The token's Argon2 hash (a PHC string), given instead of `token` or made from it.
    #[serde(default)]
    pub token_hash: Option<String>,
    /// Queues the agent is a member of.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Conversations the agent may hold at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// At most this many at once per platform (`x`, `whatsapp`, ...), within `capacity`.
    #[serde(default)]
    pub channel_capacity: BTreeMap<String, u32>,
    /// Skills with a proficiency (1-5); a transfer's skills must all be here.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent serves; a transfer with a language needs it here.
    #[serde(default)]
    pub languages: Vec<String>,
}

impl Config {
    /// Read and check a configuration file. Relative paths in it are resolved against the
    /// current directory, like the defaults.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid configuration in {}", path.display()))
    }

    /// Reads a configuration, with its secrets taken from the environment (`"${NAME}"`) or
    /// from files (`NAME_file = "/run/secrets/x"`) as `secrets.rs` says.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let mut table: toml::Table = toml::from_str(text)?;
        let config: Config = if super::secrets::resolve(&mut table)? {
            toml::Value::Table(table).try_into()?
        } else {
            // Parsed from the text, so an error says its line.
            toml::from_str(text)?
        };
        let mut config = config;
        config.check()?;
        config.seal_tokens()?;
        Ok(config)
    }

    /// Replaces every plaintext agent and supervisor token by its salted hash, so the running
    /// host keeps none in plaintext.
    pub fn seal_tokens(&mut self) -> anyhow::Result<()> {
        for agent in &mut self.agents {
            let who = format!("agent `{}`", agent.id);
            agent.token_hash = Some(super::credentials::resolve(
                agent.token.take(),
                agent.token_hash.take(),
                &who,
            )?);
        }
        for supervisor in &mut self.supervisors {
            let who = format!("supervisor `{}`", supervisor.id);
            supervisor.token_hash = Some(super::credentials::resolve(
                supervisor.token.take(),
                supervisor.token_hash.take(),
                &who,
            )?);
        }
        Ok(())
    }

    /// Checks the rules serde cannot express, naming the offending entry.
    pub fn check(&self) -> anyhow::Result<()> {
        self.store.check()?;
        self.retention.check()?;
        let mut seen = std::collections::HashSet::new();
        for integration in &self.integrations {
            Self::check_integration(integration)?;
            if !seen.insert(integration.id.as_str()) {
                bail!("integration id `{}` is defined twice", integration.id);
            }
        }
        check_integrations(&self.integrations)?;
        let mut queues = std::collections::HashSet::new();
        for queue in &self.queues {
            if !queues.insert(queue.id.as_str()) {
                bail!("queue `{}` is defined twice", queue.id);
            }
        }
        let mut agents = std::collections::HashSet::new();
        for agent in &self.agents {
            if !agents.insert(agent.id.as_str()) {
                bail!("agent `{}` is defined twice", agent.id);
            }
            for queue in &agent.queues {
                if !queues.contains(queue.as_str()) {
                    bail!(
                        "agent `{}` is a member of unknown queue `{queue}`",
                        agent.id
                    );
                }
            }
            super::credentials::check_token_fields(
                &format!("agent `{}`", agent.id),
                agent.token.as_deref(),
                agent.token_hash.as_deref(),
            )?;
        }
        let agent_tokens: Vec<&str> = self
            .agents
            .iter()
            .filter_map(|a| a.token.as_deref())
            .collect();
        check_supervisors(&self.supervisors, &queues, &agent_tokens)?;
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("server.public_url must start with http:// or https://, not `{url}`");
        }
        if self.plugins.deadline_ms == 0 || self.plugins.memory_mib == 0 {
            bail!("plugins.deadline_ms and plugins.memory_mib must be greater than 0");
        }
        let mut grants = std::collections::HashSet::new();
        for grant in &self.plugin_grants {
            if !grants.insert(grant.name.as_str()) {
                bail!("plugin `{}` has two [[plugin]] sections", grant.name);
            }
            self.check_grant(grant)?;
        }
        super::schedules::check(&self.schedules, &self.schedule_groups)?;
        Ok(())
    }

    fn check_grant(&self, grant: &PluginGrant) -> anyhow::Result<()> {
        if grant.name.is_empty() {
            bail!("a [[plugin]] section needs a `name`");
        }
        if grant.deadline_ms == Some(0)
            || grant.memory_mib == Some(0)
            || grant.max_output_bytes == Some(0)
        {
            bail!(
                "plugin `{}`: deadline_ms, memory_mib and max_output_bytes must be greater than 0",
                grant.name
            );
        }
        if let Some(m) = grant.memory_mib
            && m > self.plugins.memory_mib
        {
            bail!(
                "plugin `{}`: memory_mib {m} is above plugins.memory_mib ({}), the most any instance can get",
                grant.name,
                self.plugins.memory_mib
            );
        }
        for host in &grant.http_hosts {
            if let Err(m) = check_http_host(host) {
                bail!("plugin `{}`: http_hosts entry {m}", grant.name);
            }
        }
        Ok(())
    }

    /// What the plugin `name` is granted; nothing when it has no `[[plugin]]` section.
    pub fn plugin_grant(&self, name: &str) -> PluginGrant {
        self.plugin_grants
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .unwrap_or_else(|| PluginGrant::none(name))
    }

    /// The rules one integration must follow on its own.
    pub fn check_integration(integration: &IntegrationConfig) -> anyhow::Result<()> {
        if !is_slug(&integration.id) {
            bail!(
                "integration id `{}` must be lower-case letters, digits, `-` or `_` (it is part of the webhook URL)",
                integration.id
            );
        }
        if !is_plugin_name(&integration.adapter) {
            bail!(
                "integration `{}`: adapter must be a plugin name in the plugins folder (letters, digits, `-`, `_`, and `/` between folders; at most {MAX_PLUGIN_NAME} characters)",
                integration.id
            );
        }
        for limit in integration.send_limits.iter().flatten() {
            if let Err(e) = limit.parse::<super::SendLimit>() {
                bail!("integration `{}`: {e}", integration.id);
            }
        }
        if !(0.0..=72.0).contains(&integration.threading_window_hours) {
            bail!(
                "integration `{}`: threading_window_hours must be between 0 and 72, not {}",
                integration.id,
                integration.threading_window_hours
            );
        }
        Ok(())
    }
}

/// Rules across integrations, also checked when an admin changes one at run time.
pub fn check_integrations(integrations: &[IntegrationConfig]) -> anyhow::Result<()> {
    let entry: Vec<&str> = integrations
        .iter()
        .filter(|i| i.size == Some(IntegrationSize::Entry))
        .map(|i| i.id.as_str())
        .collect();
    if entry.len() > 1 {
        bail!(
            "at most one integration per host may have size \"entry\"; these do: {}",
            entry.join(", ")
        );
    }
    for integration in integrations {
        if let Some(other) = &integration.reply_as {
            match integrations.iter().find(|i| &i.id == other) {
                None => bail!(
                    "integration `{}`: reply_as names `{other}`, which is not an integration",
                    integration.id
                ),
                Some(o) if o.adapter != integration.adapter => bail!(
                    "integration `{}`: reply_as `{other}` uses adapter `{}`, not `{}`",
                    integration.id,
                    o.adapter,
                    integration.adapter
                ),
                Some(o) if o.reply_as.is_some() => {
                    bail!(
                        "integration `{}`: reply_as `{other}` itself replies as another integration",
                        integration.id
                    )
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The longest plugin name.
pub const MAX_PLUGIN_NAME: usize = 128;

/// A plugin name: `/`-separated parts of letters, digits, `-` and `_` (`fixtures/trap` is
/// `fixtures/trap.wasm` in the plugins folder), so that `NAME.wasm` stays inside the plugins
/// folder: no `..`, no absolute path, no `\\`, no empty part.
pub fn is_plugin_name(s: &str) -> bool {
    s.len() <= MAX_PLUGIN_NAME
        && s.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn default_plugins_dir() -> PathBuf {
    PathBuf::from("target/plugins")
}
fn default_cache_dir() -> PathBuf {
    PathBuf::from("data/plugin-cache")
}
fn default_deadline_ms() -> u64 {
    1000
}
fn default_memory_mib() -> u64 {
    64
}
fn default_flows_dir() -> PathBuf {
    PathBuf::from("flows")
}
fn default_send_timeout_ms() -> u64 {
    10_000
}
fn default_max_attempts() -> u32 {
    6
}
fn default_backoff_ms() -> u64 {
    500
}
fn default_max_retry_after_ms() -> u64 {
    15 * 60 * 1000
}
fn default_concurrency() -> usize {
    128
}
fn default_threading_hours() -> f64 {
    72.0
}
fn default_wrapup_codes() -> Vec<String> {
    ["resolved", "follow-up", "no-reply", "spam"]
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn default_capacity() -> u32 {
    4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.store.db_path(), PathBuf::from("data/switchboard.db"));
        assert_eq!(c.flows.dir, PathBuf::from("flows"));
    }

    #[test]
    fn the_store_is_sqlite_or_postgresql() {
        let both = "[store]\npath = \"a.db\"\nurl = \"postgres://u@127.0.0.1/db\"\n";
        let err = Config::parse(both).unwrap_err().to_string();
        assert!(
            err.contains("both `path` (SQLite) and `url` (PostgreSQL)"),
            "{err}"
        );
        let err = Config::parse("[store]\npool_size = 4\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("PostgreSQL only"), "{err}");
        let err = Config::parse("[store]\nurl = \"mysql://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must start with postgres://"), "{err}");
        let pg =
            Config::parse("[store]\nurl = \"postgres://u@127.0.0.1/db\"\npool_size = 4\n").unwrap();
        assert_eq!(pg.store.pool_size, Some(4));
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `lisen`"),
            "{err:#}"
        );
    }

    #[test]
    fn threading_window_is_bounded() {
        let text = "[[integration]]\nid = \"a\"\nadapter = \"x\"\nflow = \"f\"\nthreading_window_hours = 80\n";
        let err = Config::parse(text).unwrap_err();
        assert!(err.to_string().contains("between 0 and 72"), "{err}");
    }

    #[test]
    fn plugin_grants_parse_and_default_to_nothing() {
        let text = "[[plugin]]\nname = \"http-lookup\"\nhttp_hosts = [\"127.0.0.1:9000\", \"api.example.com\"]\ndeadline_ms = 3000\nmemory_mib = 16\n\n[[plugin]]\nname = \"faq-bot\"\n";
        let c = Config::parse(text).unwrap();
        assert_eq!(c.plugin_grants.len(), 2);
        let g = c.plugin_grant("http-lookup");
        assert_eq!(g.http_hosts, ["127.0.0.1:9000", "api.example.com"]);
        assert_eq!(g.deadline_ms, Some(3000));
        assert_eq!(g.memory_mib, Some(16));
        let bot = c.plugin_grant("faq-bot");
        assert!(bot.http_hosts.is_empty() && bot.deadline_ms.is_none() && bot.memory_mib.is_none());
        assert_eq!(c.plugin_grant("unknown"), PluginGrant::none("unknown"));
        assert!(Config::parse("").unwrap().plugin_grants.is_empty());
    }

    #[test]
    fn bad_plugin_grants_are_refused() {
        let cases = [
            (
                "[[plugin]]\nname = \"a\"\n[[plugin]]\nname = \"a\"\n",
                "two [[plugin]]",
            ),
            (
                "[[plugin]]\nname = \"a\"\nhttp_hosts = [\"https://x.com\"]\n",
                "host or host:port",
            ),
            (
                "[[plugin]]\nname = \"a\"\nhttp_hosts = [\"*.x.com\"]\n",
                "wildcard",
            ),
            (
                "[[plugin]]\nname = \"a\"\ndeadline_ms = 0\n",
                "greater than 0",
            ),
            (
                "[[plugin]]\nname = \"a\"\nmax_output_bytes = 0\n",
                "greater than 0",
            ),
            (
                "[[plugin]]\nname = \"a\"\nmemory_mib = 65\n",
                "above plugins.memory_mib",
            ),
            (
                "[[plugin]]\nname = \"a\"\nhttp_host = []\n",
                "unknown field",
            ),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn settings_become_strings() {
        let text = "[[integration]]\nid = \"a\"\nadapter = \"x\"\nflow = \"f\"\n[integration.settings]\nk = \"v\"\nn = 5\n";
        let c = Config::parse(text).unwrap();
        let s = c.integrations[0].settings_as_strings();
        assert_eq!(s["k"], "v");
        assert_eq!(s["n"], "5");
    }

    const QUEUES: &str = "[[queue]]\nid = \"support\"\n[[queue]]\nid = \"billing\"\n";

    #[test]
    fn supervisors_parse_and_watch_their_queues() {
        let text = format!(
            "{QUEUES}[[supervisor]]\nid = \"sue\"\nname = \"Sue\"\ntoken = \"sue-token-1\"\nqueues = [\"billing\"]\n[[supervisor]]\nid = \"max\"\ntoken = \"max-token-1\"\n"
        );
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.supervisors.len(), 2);
        assert!(c.supervisors[0].watches("billing") && !c.supervisors[0].watches("support"));
        assert!(
            c.supervisors[1].watches("support"),
            "no queues: every queue"
        );
        assert_eq!(c.queues[0].service_level_seconds, 60);
    }

    #[test]
    fn bad_supervisors_are_refused() {
        let cases = [
            (
                "[[supervisor]]\nid = \"s\"\ntoken = \"short\"\n",
                "at least 8",
            ),
            (
                "[[supervisor]]\nid = \"s\"\ntoken = \"long-enough\"\nqueues = [\"nope\"]\n",
                "unknown queue `nope`",
            ),
            (
                "[[supervisor]]\nid = \"s\"\ntoken = \"long-enough\"\n[[supervisor]]\nid = \"s\"\ntoken = \"other-token\"\n",
                "defined twice",
            ),
            (
                "[[agent]]\nid = \"a\"\ntoken = \"long-enough\"\n[[supervisor]]\nid = \"s\"\ntoken = \"long-enough\"\n",
                "an agent's too",
            ),
        ];
        for (text, expected) in cases {
            let err = format!(
                "{:#}",
                Config::parse(&format!("{QUEUES}{text}")).unwrap_err()
            );
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn tokens_are_kept_only_as_hashes() {
        let hash = crate::config::credentials::hash_token("bob-token-1").unwrap();
        let text = format!(
            "{QUEUES}[[agent]]\nid = \"ann\"\ntoken = \"ann-token-1\"\n[[agent]]\nid = \"bob\"\ntoken_hash = \"{hash}\"\n[[supervisor]]\nid = \"sue\"\ntoken = \"sue-token-1\"\n"
        );
        let c = Config::parse(&text).unwrap();
        let verify = crate::config::credentials::verify_token;
        assert!(c.agents[0].token.is_none(), "the plaintext is dropped");
        assert!(verify(
            "ann-token-1",
            c.agents[0].token_hash.as_deref().unwrap()
        ));
        assert_eq!(c.agents[1].token_hash.as_deref(), Some(hash.as_str()));
        assert!(c.supervisors[0].token.is_none());
        assert!(verify(
            "sue-token-1",
            c.supervisors[0].token_hash.as_deref().unwrap()
        ));

        for (text, expected) in [
            (
                "[[agent]]\nid = \"a\"\n",
                "agent `a`: needs a `token` or a `token_hash`",
            ),
            (
                "[[agent]]\nid = \"a\"\ntoken_hash = \"long-enough\"\n",
                "switchboard hash-token",
            ),
            (
                "[[agent]]\nid = \"a\"\ntoken = \"long-enough\"\ntoken_hash = \"$argon2id$x\"\n",
                "not both",
            ),
        ] {
            let err = format!(
                "{:#}",
                Config::parse(&format!("{QUEUES}{text}")).unwrap_err()
            );
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
