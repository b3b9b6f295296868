//! The inbox: every normalized event an adapter produced, stored before the webhook is
//! answered and processed afterwards. A platform's redelivery of the same event is ignored
//! here, by its dedupe key.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::events::InboundEvent;
use crate::model::{InboxEvent, InsertOutcome};
use crate::store::api::InboxStore;

pub fn insert(
    conn: &Connection,
    integration: &str,
    events: &[InboundEvent],
    now: i64,
) -> anyhow::Result<Vec<InsertOutcome>> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO inbox (integration, kind, dedupe_key, customer_id, event, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (integration, kind, dedupe_key) DO NOTHING
         RETURNING seq",
    )?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let json = serde_json::to_string(event)?;
        let seq: Option<i64> = stmt
            .query_row(
                params![
                    integration,
                    event.kind(),
                    event.dedupe_key(),
                    event.customer_id(),
                    json,
                    now
                ],
                |r| r.get(0),
            )
            .optional()?;
        outcomes.push(seq.map_or(InsertOutcome::Duplicate, InsertOutcome::Stored));
    }
    Ok(outcomes)
}

/// Unprocessed events after `after_seq`, oldest first.
pub fn pending(conn: &Connection, after_seq: i64, limit: usize) -> anyhow::Result<Vec<InboxEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, integration, event, received_at FROM inbox
         WHERE processed_at IS NULL AND seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after_seq, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, integration, json, received_at) = row?;
        let event = serde_json::from_str(&json)
            .map_err(|e| anyhow::anyhow!("inbox event {seq} is unreadable: {e}"))?;
        out.push(InboxEvent {
            seq,
            integration,
            event,
            received_at,
        });
    }
    Ok(out)
}

pub fn mark_processed(conn: &Connection, seq: i64, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE inbox SET processed_at = ?2 WHERE seq = ?1")?
        .execute(params![seq, now])?;
    Ok(())
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn ingest(
        &self,
        integration: &str,
        events: Vec<InboundEvent>,
        now: i64,
    ) -> anyhow::Result<Vec<InsertOutcome>> {
        let integration = integration.to_string();
        self.db
            .call(move |c| insert(c, &integration, &events, now))
            .await
    }

    async fn pending_events(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<InboxEvent>> {
        self.reads.call(move |c| pending(c, after_seq, limit)).await
    }

    async fn mark_processed(&self, seq: i64, now: i64) -> anyhow::Result<()> {
        self.db.call(move |c| mark_processed(c, seq, now)).await
    }
}
