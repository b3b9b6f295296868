//! Agents' presence rows and offers: each queued interaction is offered to one agent at a time,
//! and an offer ends accepted, declined, timed out or withdrawn.

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{AgentPresence, Presence};

// Presence.

pub fn set_presence(
    conn: &Connection,
    agent: &str,
    presence: Presence,
    now: i64,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO agents (id, presence, presence_since) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, presence_since = excluded.presence_since",
        params![agent, presence.as_str(), now],
    )?;
    Ok(())
}

/// The agent's presence and since when; an agent never seen is offline.
pub fn presence(conn: &Connection, agent: &str) -> anyhow::Result<(Presence, Option<i64>)> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT presence, presence_since FROM agents WHERE id = ?1")?
        .query_row(params![agent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((p, since)) => (Presence::parse(&p), Some(since)),
        None => (Presence::Offline, None),
    })
}

/// Every agent's presence and when they last became free (`idle_since`, or when they last set
/// their presence).
pub fn all(conn: &Connection) -> anyhow::Result<Vec<AgentPresence>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, presence, COALESCE(idle_since, presence_since) FROM agents")?;
    let rows = stmt.query_map([], |r| {
        Ok(AgentPresence {
            agent: r.get(0)?,
            presence: Presence::parse(&r.get::<_, String>(1)?),
            idle_since: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agent just became free (an interaction wrapped up): they are now the longest idle last.
pub fn set_idle_since(conn: &Connection, agent: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE agents SET idle_since = ?2 WHERE id = ?1")?
        .execute(params![agent, now])?;
    Ok(())
}

// Offers: each queued interaction is offered to one agent at a time.

/// The open offer of a conversation: (agent, expires at).
pub fn open_offer(conn: &Connection, conversation: &str) -> anyhow::Result<Option<(String, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT agent, expires_at FROM offers WHERE conversation = ?1 AND state = 'offered'",
        )?
        .query_row(params![conversation], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn create_offer(
    conn: &Connection,
    conversation: &str,
    agent: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO offers (conversation, agent, offered_at, expires_at, state) VALUES (?1, ?2, ?3, ?4, 'offered')",
    )?
    .execute(params![conversation, agent, now, expires_at])?;
    Ok(())
}

/// Moves the open offer of `conversation` to `agent` into `state`. Returns whether there was one.
pub fn close_offer(
    conn: &Connection,
    conversation: &str,
    agent: &str,
    state: &str,
) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE offers SET state = ?3 WHERE conversation = ?1 AND agent = ?2 AND state = 'offered'")?
        .execute(params![conversation, agent, state])?;
    Ok(n > 0)
}

/// Offers not answered in time, now marked `timeout`: (conversation, agent).
pub fn expire_offers(conn: &Connection, now: i64) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE offers SET state = 'timeout' WHERE state = 'offered' AND expires_at <= ?1 RETURNING conversation, agent",
    )?;
    let rows = stmt.query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Open offers: (conversation, agent).
pub fn open_offers(conn: &Connection) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT conversation, agent FROM offers WHERE state = 'offered'")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next open offer expires.
pub fn next_expiry(conn: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(expires_at) FROM offers WHERE state = 'offered'",
        [],
        |r| r.get(0),
    )?)
}
