//! What admins publish and keep: flow and plugin versions, canned responses, content filters,
//! and the wrap-ups agents record.

/// A published flow version. Each publish of a changed flow is a new, immutable version; a
/// conversation keeps the version it started with.
#[derive(Debug, Clone)]
pub struct FlowVersion {
    pub name: String,
    pub version: i64,
    pub source: String,
    pub hash: String,
    pub created_at: i64,
}

/// A flow version without its source, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersionInfo {
    pub version: i64,
    pub hash: String,
    pub created_at: i64,
}

/// A stored plugin version: every component published is kept; one version per name is active.
#[derive(Debug, Clone)]
pub struct PluginVersion {
    pub name: String,
    pub version: i64,
    pub hash: String,
    pub world: String,
    pub bytes: Vec<u8>,
    pub created_at: i64,
}

/// A plugin version without its bytes, for listings and rollback.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginVersionInfo {
    pub version: i64,
    pub hash: String,
    pub world: String,
    pub created_at: i64,
    /// The version the plugin runs.
    pub active: bool,
}

/// What admins switched on a schedule group at run time, over what the configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleOverride {
    pub group: String,
    /// `Some`: the emergency as an admin set it; `None`: as the configuration says.
    pub emergency: Option<bool>,
    /// Holiday dates (`YYYY-MM-DD`) admins added.
    pub holidays: Vec<String>,
}

/// A canned response agents can send, rendered with the customer's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canned {
    pub id: String,
    pub title: String,
    pub text: String,
}

/// A content filter rule: outbound agent text must not match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRule {
    pub id: String,
    /// `word` (a whole word or phrase, any case) or `regex`.
    pub kind: String,
    pub pattern: String,
}

/// A wrap-up an agent recorded when ending an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapup {
    pub agent: String,
    pub code: String,
    pub notes: Option<String>,
    pub at: i64,
}
