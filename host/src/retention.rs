//! `[retention]`: deletes webhook events processed more than `inbox_days` ago and the messages
//! (and uploaded files) of interactions that ended more than `messages_days` ago, once at start
//! and then every hour. It deletes in small batches, each its own unit of work, so the store's
//! writer is never held for long and the host's own work goes between them. Every host sharing a
//! store runs it; deleting what another host deleted already is nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::config::RetentionConfig;
use crate::model::now_ms;
use crate::store::Store;

/// How often retention runs.
pub const EVERY: Duration = Duration::from_secs(3600);
/// The most rows one batch deletes.
pub const BATCH: usize = 500;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The retention worker.
pub struct Retention {
    pub store: Arc<dyn Store>,
    pub config: RetentionConfig,
    /// The most rows one batch deletes ([`BATCH`]).
    pub batch: usize,
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub inbox_events: usize,
    pub messages: usize,
    pub attachments: usize,
    /// Units of work it took.
    pub batches: usize,
}

impl Retention {
    /// Runs a pass now and every [`EVERY`]; returns at once when `[retention]` is off.
    pub async fn run(self: Arc<Self>) {
        if !self.config.is_on() {
            return;
        }
        loop {
            match self.pass(now_ms()).await {
                Ok(d) if d.inbox_events + d.messages + d.attachments > 0 => tracing::info!(
                    inbox_events = d.inbox_events,
                    messages = d.messages,
                    attachments = d.attachments,
                    batches = d.batches,
                    "retention: deleted old data"
                ),
                Ok(_) => tracing::debug!("retention: nothing to delete"),
                Err(e) => {
                    tracing::warn!("retention: a pass failed (tried again in an hour): {e:#}")
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// Deletes, batch by batch, whatever is older than the configuration keeps at `now`.
    pub async fn pass(&self, now: i64) -> anyhow::Result<Deleted> {
        let mut deleted = Deleted::default();
        if let Some(days) = self.config.inbox_days {
            let before = now - i64::from(days) * DAY_MS;
            loop {
                let n = self.store.purge_inbox(before, self.batch).await?;
                deleted.inbox_events += n;
                deleted.batches += 1;
                if n < self.batch {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        if let Some(days) = self.config.messages_days {
            let before = now - i64::from(days) * DAY_MS;
            loop {
                let purged = self.store.purge_messages(before, self.batch).await?;
                deleted.messages += purged.messages;
                deleted.attachments += purged.attachments;
                deleted.batches += 1;
                if purged.messages < self.batch && purged.attachments < self.batch {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StoreConfig, SyncMode};
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn a_pass_deletes_in_batches_what_is_older_than_kept() {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-retention-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let store = SqliteStore::open(&StoreConfig {
            path: Some(dir.join("r.db")),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        })
        .unwrap();
        // Four interactions ended 30, 24, 18 and 12 days before `now` (a message and a reply
        // each); one has waited in a queue for 6 days.
        let now = 100 * DAY_MS;
        store.prefill("x", "support", 4, 1, now).await.unwrap();
        let retention = Retention {
            store: Arc::new(store),
            config: RetentionConfig {
                inbox_days: None,
                messages_days: Some(15),
            },
            batch: 4,
        };
        let first = retention.pass(now).await.unwrap();
        assert_eq!((first.messages, first.batches), (6, 2));
        assert_eq!(retention.pass(now).await.unwrap().messages, 0);
        // A week later the one that ended 12 days before goes too; the waiting one stays.
        assert_eq!(retention.pass(now + 7 * DAY_MS).await.unwrap().messages, 2);
        assert_eq!(retention.pass(now + 70 * DAY_MS).await.unwrap().messages, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
