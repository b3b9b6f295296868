//! `[store]`: where durable state lives, SQLite or PostgreSQL, and the checks on it.

use std::path::PathBuf;

use anyhow::bail;
use serde::Deserialize;

/// How durable a commit is. Both survive a crash of the host process; only `full` also
/// survives a power loss of the machine.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    #[default]
    Full,
    Normal,
}

/// Where durable state lives: an embedded SQLite file (`path`, the default) for one host, or a
/// PostgreSQL database (`url`) that several hosts share.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database file; its folder is created if missing. Default `data/switchboard.db`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// SQLite's durability: `full` (every commit synced) or `normal`.
    #[serde(default)]
    pub sync: SyncMode,
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/database`): the store
    /// several hosts share. Exclusive with `path`.
    #[serde(default)]
    pub url: Option<String>,
    /// The most connections this host opens to PostgreSQL (default 16).
    #[serde(default)]
    pub pool_size: Option<usize>,
    /// The key that encrypts the integrations admins set through the API (their settings hold
    /// platform credentials) in the store: 32 bytes as 64 hex digits (`openssl rand -hex 32`).
    /// Usually `secret_key_file = "/run/credentials/..."`; when unset, the environment variable
    /// `SWITCHBOARD_SECRET_KEY`.
    #[serde(default)]
    pub secret_key: Option<SecretKey>,
}

/// A secret the configuration holds, never shown by `{:?}`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretKey(pub String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl StoreConfig {
    /// The SQLite file (also where the plugins' key-value file goes, beside it).
    pub fn db_path(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(default_db_path)
    }

    /// Refuses a `[store]` that names both engines, or PostgreSQL settings without PostgreSQL.
    pub fn check(&self) -> anyhow::Result<()> {
        match (&self.path, &self.url) {
            (Some(_), Some(_)) => {
                bail!("[store] sets both `path` (SQLite) and `url` (PostgreSQL); set one of them")
            }
            (_, None) if self.pool_size.is_some() => bail!(
                "[store] `pool_size` applies to PostgreSQL only; set `url = \"postgres://...\"` or remove it"
            ),
            (_, Some(url))
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) =>
            {
                bail!("[store] `url` must start with postgres:// (got `{url}`)")
            }
            _ if self.pool_size == Some(0) => bail!("[store] `pool_size` must be at least 1"),
            _ => Ok(()),
        }
    }
}

fn default_db_path() -> PathBuf {
    PathBuf::from("data/switchboard.db")
}
