//! The gauges `/metrics` shows about the store (queue depth, conversations per state, messages
//! waiting to be sent) and the integrations' deauthorized flags, read every [`EVERY`] (and once
//! at start) by a background task, so that a scrape reads memory only. Counting conversations is
//! not free on a large store, and a scrape that queried it would put Prometheus's load on the
//! store's readers.
//!
//! With several hosts on one PostgreSQL store each host reads the shared store, so every host
//! reports the cluster's figures: sum `switchboard_queue_depth` over hosts and you count each
//! conversation once per host. The deauthorized flags are this host's view (every host learns
//! of a refusal when its own sends are refused, or from the store when it starts).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::integrations::Integrations;
use crate::metrics::{Figures, Metrics};
use crate::model::ConversationState;
use crate::store::Store;

/// How often the gauges are read.
pub const EVERY: Duration = Duration::from_secs(5);

/// The gauges' refresher.
pub struct GaugeRefresher {
    pub store: Arc<dyn Store>,
    pub integrations: Arc<Integrations>,
    pub metrics: Arc<Metrics>,
    /// The configured queues: each has a depth, 0 when nobody waits.
    pub queues: Vec<String>,
}

impl GaugeRefresher {
    /// Refreshes the gauges now and every [`EVERY`]. A failed read leaves the last figures.
    pub async fn run(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = self.refresh().await {
                tracing::warn!("cannot refresh the metrics' gauges from the store: {e:#}");
            }
        }
    }

    /// Reads the store and the integrations and sets the gauges.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let mut figures = store_figures(&*self.store, &self.queues).await?;
        figures.integrations = self
            .integrations
            .all()
            .iter()
            .map(|i| {
                let id = i.config.id.clone();
                let deauthorized = self.integrations.deauthorized(&id).is_some();
                (id, deauthorized)
            })
            .collect();
        self.metrics.set_figures(figures);
        Ok(())
    }
}

/// The store's figures: conversations per state, waiting ones per queue (every one of `queues`
/// included) and pending sends. `integrations` is left empty.
pub async fn store_figures(store: &dyn Store, queues: &[String]) -> anyhow::Result<Figures> {
    let counts = store.count_by_state().await?;
    let outbound_pending = store.pending_sends().await?;
    let mut by_state = BTreeMap::<String, i64>::new();
    let mut by_queue: BTreeMap<String, i64> = queues.iter().map(|q| (q.clone(), 0)).collect();
    for c in counts {
        *by_state.entry(c.state.clone()).or_default() += c.count;
        if c.state == ConversationState::Queued.as_str()
            && let Some(q) = c.queue
        {
            *by_queue.entry(q).or_default() += c.count;
        }
    }
    Ok(Figures {
        queue_depth: by_queue.into_iter().collect(),
        conversations: by_state.into_iter().collect(),
        outbound_pending,
        integrations: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StoreConfig, SyncMode};
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn the_gauges_show_what_the_store_holds() {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-gauges-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let store = SqliteStore::open(&StoreConfig {
            path: Some(dir.join("g.db")),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        })
        .unwrap();
        let metrics = Metrics::default();
        let queues = ["sales".to_string(), "support".to_string()];
        // Empty: every configured queue at 0, nothing pending.
        metrics.set_figures(store_figures(&store, &queues).await.unwrap());
        let text = metrics.render();
        assert!(
            text.contains("switchboard_queue_depth{queue=\"sales\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_queue_depth{queue=\"support\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("switchboard_outbound_pending 0\n"), "{text}");
        // Four ended conversations and two waiting in `support`.
        store
            .prefill("x", "support", 4, 2, 100 * 86_400_000)
            .await
            .unwrap();
        metrics.set_figures(store_figures(&store, &queues).await.unwrap());
        let text = metrics.render();
        for line in [
            "switchboard_queue_depth{queue=\"sales\"} 0\n",
            "switchboard_queue_depth{queue=\"support\"} 2\n",
            "switchboard_conversations{state=\"ended\"} 4\n",
            "switchboard_conversations{state=\"queued\"} 2\n",
            "switchboard_outbound_pending 0\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
