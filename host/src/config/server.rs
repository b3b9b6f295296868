//! `[server]`: where the host listens, who may use the admin API, and the limits of its
//! HTTP listener (bodies, uploads, connections, header reads, the stop deadline).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP server listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Bearer token for `/admin/v1/*`. Without it the admin API is disabled.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// The largest webhook body accepted; larger ones get 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The built browser console (`cargo xtask build-console`), served at `/console/`.
    #[serde(default = "default_console_dir")]
    pub console_dir: PathBuf,
    /// Where platforms reach this host (`https://switchboard.example.com`): files agents send
    /// are fetched by platforms from `{public_url}/media/{id}`. Default `http://{listen}`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The largest file an agent may upload to send; larger ones get 413.
    #[serde(default = "default_max_attachment")]
    pub max_attachment_bytes: usize,
    /// Open connections at most; keep it below the process's open-file limit (often 1,024). At
    /// the cap the oldest connection with no request in progress is closed for the new one.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, from connecting or from its
    /// previous answer; then the connection is closed (idle and slowloris sockets).
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// How long SIGTERM waits for requests in flight and open connections before the process
    /// exits anyway (agents' event streams are closed at once, so this bounds the rest).
    #[serde(default = "default_shutdown_deadline")]
    pub shutdown_deadline_ms: u64,
}

fn default_shutdown_deadline() -> u64 {
    10_000
}

fn default_max_connections() -> usize {
    512
}
fn default_header_read_timeout_ms() -> u64 {
    10_000
}

fn default_max_attachment() -> usize {
    10 * 1024 * 1024
}

impl ServerConfig {
    /// The base URL platforms reach this host at, without a trailing `/`.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

fn default_console_dir() -> PathBuf {
    PathBuf::from("console/dist")
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            admin_token: None,
            max_body_bytes: default_max_body(),
            console_dir: default_console_dir(),
            public_url: None,
            max_attachment_bytes: default_max_attachment(),
            max_connections: default_max_connections(),
            header_read_timeout_ms: default_header_read_timeout_ms(),
            shutdown_deadline_ms: default_shutdown_deadline(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_max_body() -> usize {
    1024 * 1024
}
