//! Erasure, the audit log and retention (see [`LifecycleStore`]) on the embedded engine.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::store::api::Result;
use crate::store::lifecycle::{
    AuditEntry, Erased, ErasureRecord, LifecycleStore, NewAuditEntry, Purged,
};

fn customer_conversations(
    conn: &Connection,
    integration: &str,
    customer: &str,
) -> anyhow::Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM conversations WHERE integration = ?1 AND customer_id = ?2")?
        .query_map(params![integration, customer], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn erase(
    conn: &Connection,
    integration: &str,
    customer: &str,
    by: &str,
    now: i64,
) -> anyhow::Result<Option<Erased>> {
    let ids = customer_conversations(conn, integration, customer)?;
    let inbox_events = conn
        .prepare_cached("DELETE FROM inbox WHERE integration = ?1 AND customer_id = ?2")?
        .execute(params![integration, customer])? as i64;
    if ids.is_empty() && inbox_events == 0 {
        return Ok(None);
    }
    let mut erased = Erased {
        conversations: ids.len() as i64,
        inbox_events,
        ..Erased::default()
    };
    for id in &ids {
        erased.messages += conn
            .prepare_cached("DELETE FROM messages WHERE conversation = ?1")?
            .execute(params![id])? as i64;
        erased.attachments += conn
            .prepare_cached("DELETE FROM attachments WHERE conversation = ?1")?
            .execute(params![id])? as i64;
        conn.prepare_cached("UPDATE wrapups SET notes = NULL WHERE conversation = ?1")?
            .execute(params![id])?;
        conn.prepare_cached("UPDATE transfers SET note = NULL WHERE conversation = ?1")?
            .execute(params![id])?;
        conn.prepare_cached(
            "UPDATE offers SET state = 'withdrawn' WHERE conversation = ?1 AND state = 'offered'",
        )?
        .execute(params![id])?;
        // An open conversation ends now; an ended one keeps when it ended.
        conn.prepare_cached(
            "UPDATE conversations SET customer_id = 'erased-' || id, customer = '{}',
                participant_data = '{}', flow_state = NULL, flow_timeout_at = NULL,
                updated_at = CASE WHEN state = 'ended' THEN updated_at ELSE ?2 END,
                state = 'ended', agent = NULL, version = version + 1
             WHERE id = ?1",
        )?
        .execute(params![id, now])?;
    }
    conn.prepare_cached("DELETE FROM customer_leases WHERE integration = ?1 AND customer = ?2")?
        .execute(params![integration, customer])?;
    conn.prepare_cached(
        "INSERT INTO erasures (integration, customer, erased_at, erased_by, conversations,
            messages, inbox_events, attachments) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        integration,
        customer,
        now,
        by,
        erased.conversations,
        erased.messages,
        erased.inbox_events,
        erased.attachments
    ])?;
    Ok(Some(erased))
}

fn erasures(conn: &Connection, limit: usize) -> anyhow::Result<Vec<ErasureRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, integration, customer, erased_at, erased_by, conversations, messages,
                inbox_events, attachments FROM erasures ORDER BY id DESC LIMIT ?1",
        )?
        .query_map(params![limit as i64], |r| {
            Ok(ErasureRecord {
                id: r.get(0)?,
                integration: r.get(1)?,
                customer: r.get(2)?,
                erased_at: r.get(3)?,
                by: r.get(4)?,
                erased: Erased {
                    conversations: r.get(5)?,
                    messages: r.get(6)?,
                    inbox_events: r.get(7)?,
                    attachments: r.get(8)?,
                },
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn audit(conn: &Connection, limit: usize, before: Option<i64>) -> anyhow::Result<Vec<AuditEntry>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, at, actor, method, route, target, status FROM audit_log
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![before.unwrap_or(i64::MAX), limit as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                method: r.get(3)?,
                route: r.get(4)?,
                target: r.get(5)?,
                status: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

#[async_trait]
impl LifecycleStore for SqliteStore {
    async fn customer_conversations(
        &self,
        integration: &str,
        customer: &str,
    ) -> Result<Vec<String>> {
        let (integration, customer) = (integration.to_string(), customer.to_string());
        self.reads
            .call(move |c| customer_conversations(c, &integration, &customer))
            .await
    }

    async fn erase_customer(
        &self,
        integration: &str,
        customer: &str,
        by: &str,
        now: i64,
    ) -> Result<Option<Erased>> {
        let (integration, customer, by) = (
            integration.to_string(),
            customer.to_string(),
            by.to_string(),
        );
        self.db
            .call(move |c| erase(c, &integration, &customer, &by, now))
            .await
    }

    async fn erasures(&self, limit: usize) -> Result<Vec<ErasureRecord>> {
        self.reads.call(move |c| erasures(c, limit)).await
    }

    async fn record_audit(&self, e: NewAuditEntry) -> Result<i64> {
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO audit_log (at, actor, method, route, target, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    e.at, e.actor, e.method, e.route, e.target, e.status
                ])?;
                Ok(c.last_insert_rowid())
            })
            .await
    }

    async fn audit(&self, limit: usize, before: Option<i64>) -> Result<Vec<AuditEntry>> {
        self.reads.call(move |c| audit(c, limit, before)).await
    }

    async fn purge_inbox(&self, processed_before: i64, limit: usize) -> Result<usize> {
        self.db
            .call(move |c| {
                Ok(c.prepare_cached(
                    "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox
                        WHERE processed_at IS NOT NULL AND processed_at < ?1
                        ORDER BY processed_at LIMIT ?2)",
                )?
                .execute(params![processed_before, limit as i64])?)
            })
            .await
    }

    async fn purge_messages(&self, ended_before: i64, limit: usize) -> Result<Purged> {
        self.db
            .call(move |c| {
                let messages = c
                    .prepare_cached(
                        "DELETE FROM messages WHERE rowid IN (SELECT m.rowid FROM messages m
                            JOIN conversations c ON c.id = m.conversation
                            WHERE m.created_at < ?1 AND c.state = 'ended' AND c.updated_at < ?1
                            ORDER BY m.created_at LIMIT ?2)",
                    )?
                    .execute(params![ended_before, limit as i64])?;
                let attachments = c
                    .prepare_cached(
                        "DELETE FROM attachments WHERE id IN (SELECT a.id FROM attachments a
                            JOIN conversations c ON c.id = a.conversation
                            WHERE c.state = 'ended' AND c.updated_at < ?1 LIMIT ?2)",
                    )?
                    .execute(params![ended_before, limit as i64])?;
                Ok(Purged {
                    messages,
                    attachments,
                })
            })
            .await
    }
}
