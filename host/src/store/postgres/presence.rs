//! Agents' presence rows and offers (mirrors the embedded engine's `presence.rs`): each queued
//! interaction has at most one open offer (the partial unique index `offers_one_open`), and an
//! offer ends accepted, declined, timed out or withdrawn.

use anyhow::Context;
use deadpool_postgres::GenericClient;

use super::db::{exec, row, rows, scalar};
use crate::model::{AgentPresence, Presence};

pub async fn set_presence(
    c: &impl GenericClient,
    agent: &str,
    presence: Presence,
    now: i64,
) -> anyhow::Result<()> {
    exec(
        c,
        "INSERT INTO agents (id, presence, presence_since) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET presence = EXCLUDED.presence, presence_since = EXCLUDED.presence_since",
        &[&agent, &presence.as_str(), &now],
    )
    .await?;
    Ok(())
}

pub async fn presence(
    c: &impl GenericClient,
    agent: &str,
    lock: bool,
) -> anyhow::Result<(Presence, Option<i64>)> {
    let sql = if lock {
        "SELECT presence, presence_since FROM agents WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT presence, presence_since FROM agents WHERE id = $1"
    };
    Ok(match row(c, sql, &[&agent]).await? {
        Some(r) => (
            Presence::parse(&r.try_get::<_, String>(0)?),
            Some(r.try_get(1)?),
        ),
        None => (Presence::Offline, None),
    })
}

pub async fn all(c: &impl GenericClient) -> anyhow::Result<Vec<AgentPresence>> {
    rows(
        c,
        "SELECT id, presence, COALESCE(idle_since, presence_since) FROM agents ORDER BY id",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(AgentPresence {
            agent: r.try_get(0)?,
            presence: Presence::parse(&r.try_get::<_, String>(1)?),
            idle_since: r.try_get(2)?,
        })
    })
    .collect()
}

pub async fn set_idle_since(c: &impl GenericClient, agent: &str, now: i64) -> anyhow::Result<()> {
    exec(
        c,
        "UPDATE agents SET idle_since = $2 WHERE id = $1",
        &[&agent, &now],
    )
    .await?;
    Ok(())
}

/// The open offer of a conversation: (agent, expires at).
pub async fn open_offer(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Option<(String, i64)>> {
    row(
        c,
        "SELECT agent, expires_at FROM offers WHERE conversation = $1 AND state = 'offered'",
        &[&conversation],
    )
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

pub async fn close_offer(
    c: &impl GenericClient,
    conversation: &str,
    agent: &str,
    state: &str,
) -> anyhow::Result<bool> {
    Ok(exec(
        c,
        "UPDATE offers SET state = $3 WHERE conversation = $1 AND agent = $2 AND state = 'offered'",
        &[&conversation, &agent, &state],
    )
    .await?
        > 0)
}

/// When the next open offer expires.
pub async fn next_expiry(c: &impl GenericClient) -> anyhow::Result<Option<i64>> {
    scalar(
        c,
        "SELECT MIN(expires_at) FROM offers WHERE state = 'offered'",
        &[],
    )
    .await
}

/// Records an open offer of `conversation` to `agent`.
pub async fn create_offer(
    c: &impl GenericClient,
    conversation: &str,
    agent: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    // The conversation's row is locked first: a unit that changed it since this (serializable)
    // unit's snapshot makes this one fail and run again, even one at `READ COMMITTED` that takes
    // no predicate locks (the threading of a customer's message); one that comes later waits
    // for the offer and sees it.
    row(
        c,
        "SELECT 1 FROM conversations WHERE id = $1 FOR SHARE",
        &[&conversation],
    )
    .await?
    .with_context(|| format!("conversation {conversation} is gone"))?;
    exec(
        c,
        "INSERT INTO offers (conversation, agent, offered_at, expires_at, state) VALUES ($1, $2, $3, $4, 'offered')",
        &[&conversation, &agent, &now, &expires_at],
    )
    .await?;
    Ok(())
}

/// Offers not answered in time, now marked `timeout`: (conversation, agent).
pub async fn expire_offers(
    c: &impl GenericClient,
    now: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    rows(
        c,
        "UPDATE offers SET state = 'timeout' WHERE state = 'offered' AND expires_at <= $1
         RETURNING conversation, agent",
        &[&now],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}
