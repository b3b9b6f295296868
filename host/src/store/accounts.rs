//! The agents and supervisors admins add through the API (`/admin/v1/agents`), kept in the
//! store so that every host sharing it signs them in alike. Only their token's hash is stored.
//! The tickets event streams open with live here too, so a ticket taken from one host opens a
//! stream on another.

use async_trait::async_trait;

/// As the rest of the Store interface (`api.rs`), which builds on this file.
type Result<T> = anyhow::Result<T>;

/// An agent or supervisor added through the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAccount {
    pub id: String,
    /// `agent` or `supervisor`.
    pub role: String,
    /// What the admin API took for them, without the token, as JSON.
    pub profile: String,
    /// The token's Argon2 hash (a PHC string).
    pub token_hash: String,
    pub updated_at: i64,
}

/// A ticket that opens one event stream, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamTicket {
    /// The SHA-256 of the ticket, hex.
    pub sha256: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// The agent's or supervisor's id (empty for the admin).
    pub member: String,
    pub expires_at: i64,
}

/// Agents and supervisors admins manage at run time, and the tickets their streams open with.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Every stored account, by id.
    async fn accounts(&self) -> Result<Vec<StoredAccount>>;

    /// Creates or replaces the account `account.id`.
    async fn save_account(&self, account: &StoredAccount) -> Result<()>;

    /// `false` when there was no such account.
    async fn delete_account(&self, id: &str) -> Result<bool>;

    /// Keeps a stream ticket (by its SHA-256, hex) for `role` `member` until `expires_at`, and
    /// forgets those expired by `now`.
    async fn issue_ticket(&self, ticket: &StreamTicket, now: i64) -> Result<()>;

    /// Takes the ticket `sha256` if it has not expired by `now`: a ticket opens one stream, on
    /// whichever host. `None` when unknown, used or expired.
    async fn redeem_ticket(&self, sha256: &str, now: i64) -> Result<Option<StreamTicket>>;
}
