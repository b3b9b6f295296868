//! The signals hosts sharing a store send each other (part of the Store interface, `api.rs`).

use async_trait::async_trait;

/// As the rest of the Store interface (`api.rs`), which re-exports this file.
type Result<T> = anyhow::Result<T>;

/// What a host tells the others that share its store (and itself): agents' live events,
/// wake-ups for work another host may take, and news that an admin published something.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A live event for an agent, whichever host holds the agent's stream.
    Agent {
        agent: String,
        name: String,
        data: serde_json::Value,
    },
    /// Work of this kind may be waiting.
    Wake { work: WakeWork },
    /// Flow `name` has a new active version.
    FlowPublished { name: String, version: i64 },
    /// Plugin `name` has a new active version.
    PluginPublished { name: String },
    /// Integration `id` was set through the admin API.
    IntegrationSaved { id: String },
    /// An admin switched schedule group `group` (an emergency, a holiday).
    ScheduleSwitched { group: String },
    /// An admin added, changed or removed agent or supervisor `id` through the API.
    AccountChanged { id: String },
}

/// The kinds of work a wake-up is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WakeWork {
    Inbox,
    Outbound,
    Route,
}

/// Signals between the hosts sharing a store. An engine that only one process opens has none
/// (everything is local); a shared one carries them (PostgreSQL: LISTEN/NOTIFY).
#[async_trait]
pub trait SignalBus: Send + Sync {
    /// Sends `signal` to every host, this one included.
    async fn signal(&self, signal: Signal) -> Result<()>;

    /// Every signal any host sends from now on.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Signal>;
}
