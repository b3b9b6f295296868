//! The data's lifecycle: erasing one customer's data on request, the audit log of admin
//! actions, and retention (deleting what is older than the admin keeps).
//!
//! Erasure keeps the conversations as empty shells (state, queue, agent, wrap-up code and times
//! stay, so supervisors' figures and the history's counts do not change) and removes everything
//! that says who the customer is or what was written: messages, uploaded files, the profile, the
//! participant data and flow variables, notes of wrap-ups and transfers, the webhook events, and
//! the customer's id itself (replaced by `erased-{conversation}`), so a second request finds
//! nothing. What was erased, when and by whom is kept in its own record.

use async_trait::async_trait;
use serde::Serialize;

use anyhow::Result;

/// How much an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Conversations whose customer data was cleared (open ones are ended).
    pub conversations: i64,
    pub messages: i64,
    /// Webhook events of the customer (processed or not).
    pub inbox_events: i64,
    /// Files agents uploaded to the customer's conversations.
    pub attachments: i64,
}

/// The record of one erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureRecord {
    pub id: i64,
    pub integration: String,
    pub customer: String,
    pub erased_at: i64,
    /// Who asked (the admin token's name, or `admin`).
    pub by: String,
    #[serde(flatten)]
    pub erased: Erased,
}

/// An admin action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who (the admin token's name, or `admin`).
    pub actor: String,
    pub method: String,
    /// The route's pattern, e.g. `/admin/v1/flows/{name}`.
    pub route: String,
    /// The path called, e.g. `/admin/v1/flows/support`.
    pub target: String,
    /// The HTTP status answered.
    pub status: u16,
    pub at: i64,
}

/// A recorded admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub method: String,
    pub route: String,
    pub target: String,
    pub status: u16,
}

/// What one retention batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub messages: usize,
    pub attachments: usize,
}

/// Erasure, the audit log and retention.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// The ids of `customer`'s conversations on `integration` (what an erasure will clear).
    async fn customer_conversations(
        &self,
        integration: &str,
        customer: &str,
    ) -> Result<Vec<String>>;

    /// Erases what is stored of `customer` on `integration` (see the module's docs) and records
    /// the erasure as done by `by` at `now`, in one unit. `None` (and no record) when nothing
    /// is known of that customer.
    async fn erase_customer(
        &self,
        integration: &str,
        customer: &str,
        by: &str,
        now: i64,
    ) -> Result<Option<Erased>>;

    /// The erasures done, newest first.
    async fn erasures(&self, limit: usize) -> Result<Vec<ErasureRecord>>;

    /// Records an admin action; returns its id (ids grow with time).
    async fn record_audit(&self, entry: NewAuditEntry) -> Result<i64>;

    /// Recorded admin actions, newest first, only those with an id below `before` when given.
    async fn audit(&self, limit: usize, before: Option<i64>) -> Result<Vec<AuditEntry>>;

    /// Deletes up to `limit` webhook events processed before `processed_before`; returns how
    /// many.
    async fn purge_inbox(&self, processed_before: i64, limit: usize) -> Result<usize>;

    /// Deletes up to `limit` messages (and up to `limit` uploaded files) of conversations that
    /// ended before `ended_before`.
    async fn purge_messages(&self, ended_before: i64, limit: usize) -> Result<Purged>;
}
