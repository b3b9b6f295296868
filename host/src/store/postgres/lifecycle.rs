//! Erasure, the audit log and retention (see [`LifecycleStore`]) on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::PgStore;
use super::db::{exec, rows, scalar, unit};
use crate::store::api::Result;
use crate::store::lifecycle::{
    AuditEntry, Erased, ErasureRecord, LifecycleStore, NewAuditEntry, Purged,
};

async fn erase(
    c: &impl GenericClient,
    integration: &str,
    customer: &str,
    by: &str,
    now: i64,
) -> anyhow::Result<Option<Erased>> {
    let ids: Vec<String> = rows(
        c,
        "SELECT id FROM conversations WHERE integration = $1 AND customer_id = $2 FOR UPDATE",
        &[&integration, &customer],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<std::result::Result<_, _>>()?;
    let inbox_events = exec(
        c,
        "DELETE FROM inbox WHERE integration = $1 AND customer_id = $2",
        &[&integration, &customer],
    )
    .await? as i64;
    if ids.is_empty() && inbox_events == 0 {
        return Ok(None);
    }
    let mut erased = Erased {
        conversations: ids.len() as i64,
        inbox_events,
        ..Erased::default()
    };
    for id in &ids {
        erased.messages +=
            exec(c, "DELETE FROM messages WHERE conversation = $1", &[id]).await? as i64;
        erased.attachments +=
            exec(c, "DELETE FROM attachments WHERE conversation = $1", &[id]).await? as i64;
        exec(
            c,
            "UPDATE wrapups SET notes = NULL WHERE conversation = $1",
            &[id],
        )
        .await?;
        exec(
            c,
            "UPDATE transfers SET note = NULL WHERE conversation = $1",
            &[id],
        )
        .await?;
        exec(
            c,
            "UPDATE offers SET state = 'withdrawn' WHERE conversation = $1 AND state = 'offered'",
            &[id],
        )
        .await?;
        // An open conversation ends now; an ended one keeps when it ended.
        exec(
            c,
            "UPDATE conversations SET customer_id = 'erased-' || id, customer = '{}',
                participant_data = '{}', flow_state = NULL, flow_timeout_at = NULL,
                updated_at = CASE WHEN state = 'ended' THEN updated_at ELSE $2 END,
                state = 'ended', agent = NULL, version = version + 1
             WHERE id = $1",
            &[id, &now],
        )
        .await?;
    }
    exec(
        c,
        "DELETE FROM customer_leases WHERE integration = $1 AND customer = $2",
        &[&integration, &customer],
    )
    .await?;
    exec(
        c,
        "INSERT INTO erasures (integration, customer, erased_at, erased_by, conversations,
            messages, inbox_events, attachments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &integration,
            &customer,
            &now,
            &by,
            &erased.conversations,
            &erased.messages,
            &erased.inbox_events,
            &erased.attachments,
        ],
    )
    .await?;
    Ok(Some(erased))
}

fn erasure(r: &Row) -> anyhow::Result<ErasureRecord> {
    Ok(ErasureRecord {
        id: r.try_get(0)?,
        integration: r.try_get(1)?,
        customer: r.try_get(2)?,
        erased_at: r.try_get(3)?,
        by: r.try_get(4)?,
        erased: Erased {
            conversations: r.try_get(5)?,
            messages: r.try_get(6)?,
            inbox_events: r.try_get(7)?,
            attachments: r.try_get(8)?,
        },
    })
}

fn audit_entry(r: &Row) -> anyhow::Result<AuditEntry> {
    let status: i32 = r.try_get(6)?;
    Ok(AuditEntry {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        method: r.try_get(3)?,
        route: r.try_get(4)?,
        target: r.try_get(5)?,
        status: u16::try_from(status).unwrap_or_default(),
    })
}

#[async_trait]
impl LifecycleStore for PgStore {
    async fn customer_conversations(
        &self,
        integration: &str,
        customer: &str,
    ) -> Result<Vec<String>> {
        Ok(rows(
            &self.pool.get().await?,
            "SELECT id FROM conversations WHERE integration = $1 AND customer_id = $2 ORDER BY id",
            &[&integration, &customer],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?)
    }

    async fn erase_customer(
        &self,
        integration: &str,
        customer: &str,
        by: &str,
        now: i64,
    ) -> Result<Option<Erased>> {
        unit!(self.pool, |tx| erase(&tx, integration, customer, by, now)
            .await)
    }

    async fn erasures(&self, limit: usize) -> Result<Vec<ErasureRecord>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, integration, customer, erased_at, erased_by, conversations, messages,
                inbox_events, attachments FROM erasures ORDER BY id DESC LIMIT $1",
            &[&(limit as i64)],
        )
        .await?
        .iter()
        .map(erasure)
        .collect()
    }

    async fn record_audit(&self, e: NewAuditEntry) -> Result<i64> {
        let status = i32::from(e.status);
        unit!(self.pool, |tx| {
            scalar(
                &tx,
                "INSERT INTO audit_log (at, actor, method, route, target, status)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&e.at, &e.actor, &e.method, &e.route, &e.target, &status],
            )
            .await
        })
    }

    async fn audit(&self, limit: usize, before: Option<i64>) -> Result<Vec<AuditEntry>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, at, actor, method, route, target, status FROM audit_log
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
            &[&before.unwrap_or(i64::MAX), &(limit as i64)],
        )
        .await?
        .iter()
        .map(audit_entry)
        .collect()
    }

    async fn purge_inbox(&self, processed_before: i64, limit: usize) -> Result<usize> {
        let limit = limit as i64;
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox
                    WHERE processed_at IS NOT NULL AND processed_at < $1
                    ORDER BY processed_at LIMIT $2)",
                &[&processed_before, &limit],
            )
            .await
        })
        .map(|n| n as usize)
    }

    async fn purge_messages(&self, ended_before: i64, limit: usize) -> Result<Purged> {
        let limit = limit as i64;
        unit!(self.pool, |tx| {
            let messages = exec(
                &tx,
                "DELETE FROM messages WHERE rowid IN (SELECT m.rowid FROM messages m
                    JOIN conversations c ON c.id = m.conversation
                    WHERE m.created_at < $1 AND c.state = 'ended' AND c.updated_at < $1
                    ORDER BY m.created_at LIMIT $2)",
                &[&ended_before, &limit],
            )
            .await?;
            let attachments = exec(
                &tx,
                "DELETE FROM attachments WHERE id IN (SELECT a.id FROM attachments a
                    JOIN conversations c ON c.id = a.conversation
                    WHERE c.state = 'ended' AND c.updated_at < $1 LIMIT $2)",
                &[&ended_before, &limit],
            )
            .await?;
            Ok(Purged {
                messages: messages as usize,
                attachments: attachments as usize,
            })
        })
    }
}
