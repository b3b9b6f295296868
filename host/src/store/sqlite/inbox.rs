//! The inbox: every normalized event an adapter produced, stored before the webhook is
//! answered and processed afterwards. A platform's redelivery of the same event is ignored
//! here, by its dedupe key.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use std::collections::HashMap;

use super::{SqliteStore, conversations, leases};
use crate::events::InboundEvent;
use crate::model::{InboxEvent, InsertOutcome};
use crate::store::api::{AlreadyProcessed, ClaimBatch, Claimed, InboxStore, Lease, Work};

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
    read_events(&mut stmt, params![after_seq, limit as i64])
}

/// `customer`'s unprocessed events up to `up_to`, oldest first.
fn pending_of(
    conn: &Connection,
    integration: &str,
    customer: &str,
    up_to: i64,
    limit: usize,
) -> anyhow::Result<Vec<InboxEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, integration, event, received_at FROM inbox
         WHERE integration = ?1 AND customer_id = ?2 AND processed_at IS NULL AND seq <= ?3
         ORDER BY seq LIMIT ?4",
    )?;
    read_events(
        &mut stmt,
        params![integration, customer, up_to, limit as i64],
    )
}

/// The events `stmt` selects (`seq, integration, event, received_at`).
fn read_events(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> anyhow::Result<Vec<InboxEvent>> {
    let rows = stmt.query_map(params, |r| {
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
        out.push(InboxEvent::stored(seq, integration, &json, received_at)?);
    }
    Ok(out)
}

/// Claims work for `holder` (see [`InboxStore::claim_work`]).
fn claim(
    conn: &Connection,
    holder: &str,
    after_seq: i64,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> anyhow::Result<ClaimBatch> {
    let mut batch = ClaimBatch {
        claimed: Vec::new(),
        read_up_to: after_seq,
    };
    // Each customer's lease is looked at once per claim. A customer whose lease is taken here
    // (not renewed) gets its unprocessed events below the cursor first: a claim that read them
    // while another holder had the customer moved past them, and they come before the ones
    // read now. (A renewed lease was held when the cursor passed its events: they were
    // claimed then.)
    let mut held: HashMap<(String, String), Option<Lease>> = HashMap::new();
    let mut lease_of = |integration: &str,
                        customer: &str,
                        claimed: &mut Vec<Claimed>|
     -> anyhow::Result<Option<Lease>> {
        let key = (integration.to_string(), customer.to_string());
        if let Some(lease) = held.get(&key) {
            return Ok(lease.clone());
        }
        let acquired = leases::acquire(conn, holder, integration, customer, now, lease_ms)?;
        if let Some((lease, true)) = &acquired
            && after_seq > 0
        {
            for event in pending_of(conn, integration, customer, after_seq, limit)? {
                claimed.push(Claimed {
                    work: Work::Event(event),
                    lease: lease.clone(),
                });
            }
        }
        let lease = acquired.map(|(lease, _)| lease);
        held.insert(key, lease.clone());
        Ok(lease)
    };
    for event in pending(conn, after_seq, limit)? {
        batch.read_up_to = batch.read_up_to.max(event.seq);
        if let Some(lease) = lease_of(
            &event.integration,
            event.event.customer_id(),
            &mut batch.claimed,
        )? {
            batch.claimed.push(Claimed {
                work: Work::Event(event),
                lease,
            });
        }
    }
    for due in conversations::due_timeouts(conn, now, limit)? {
        if let Some(lease) = lease_of(&due.integration, &due.customer_id, &mut batch.claimed)? {
            batch.claimed.push(Claimed {
                work: Work::Timeout(due),
                lease,
            });
        }
    }
    Ok(batch)
}

/// Marks an event processed under `lease` (fenced), and gives the lease back when the customer
/// has nothing left to process.
pub fn mark_processed_under(
    conn: &Connection,
    seq: i64,
    lease: &Lease,
    now: i64,
) -> anyhow::Result<()> {
    leases::check(conn, lease)?;
    let changed = conn
        .prepare_cached(
            "UPDATE inbox SET processed_at = ?2 WHERE seq = ?1 AND processed_at IS NULL",
        )?
        .execute(params![seq, now])?;
    if changed == 0 && exists(conn, seq)? {
        return Err(AlreadyProcessed { seq }.into());
    }
    leases::release_if_idle(conn, lease)
}

/// Fails with [`AlreadyProcessed`] when event `seq` was processed already.
pub fn check_unprocessed(conn: &Connection, seq: i64) -> anyhow::Result<()> {
    let processed = conn
        .prepare_cached("SELECT processed_at IS NOT NULL FROM inbox WHERE seq = ?1")?
        .query_row(params![seq], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false);
    if processed {
        Err(AlreadyProcessed { seq }.into())
    } else {
        Ok(())
    }
}

fn exists(conn: &Connection, seq: i64) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM inbox WHERE seq = ?1")?
        .query_row(params![seq], |_| Ok(()))
        .optional()?
        .is_some())
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

    async fn start_holder(&self, _holder: &str, _now: i64) -> anyhow::Result<()> {
        // Only this process opens the file: leases a previous process left are its own.
        self.db.call(leases::clear).await
    }

    async fn claim_work(
        &self,
        holder: &str,
        after_seq: i64,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> anyhow::Result<ClaimBatch> {
        let holder = holder.to_string();
        self.db
            .call(move |c| claim(c, &holder, after_seq, now, limit, lease_ms))
            .await
    }

    async fn renew_leases(&self, holder: &str, now: i64, lease_ms: i64) -> anyhow::Result<usize> {
        let holder = holder.to_string();
        self.db
            .call(move |c| leases::renew(c, &holder, now, lease_ms))
            .await
    }

    async fn mark_processed(&self, seq: i64, lease: &Lease, now: i64) -> anyhow::Result<()> {
        let lease = lease.clone();
        self.db
            .call(move |c| mark_processed_under(c, seq, &lease, now))
            .await
    }
}
