//! The ACD's records: offers to agents, canned responses and content filters.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};

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

/// Withdraws any open offer of a conversation (someone took it, or it ended). Returns the agents.
pub fn withdraw_offers(conn: &Connection, conversation: &str) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE offers SET state = 'withdrawn' WHERE conversation = ?1 AND state = 'offered' RETURNING agent",
    )?;
    let rows = stmt.query_map(params![conversation], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
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

/// Agents who declined or let an offer of this conversation time out since `since`.
pub fn refused_by(
    conn: &Connection,
    conversation: &str,
    since: i64,
) -> anyhow::Result<HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent FROM offers WHERE conversation = ?1 AND state IN ('declined', 'timeout') AND offered_at >= ?2",
    )?;
    let rows = stmt.query_map(params![conversation, since], |r| r.get(0))?;
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

/// A canned response: (id, title, text).
pub type Canned = (String, String, String);

pub fn canned(conn: &Connection) -> anyhow::Result<Vec<Canned>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, title, text FROM canned_responses ORDER BY title, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_canned(conn: &Connection, id: &str, title: &str, text: &str) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO canned_responses (id, title, text) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET title = ?2, text = ?3",
    )?
    .execute(params![id, title, text])?;
    Ok(())
}

pub fn delete_canned(conn: &Connection, id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM canned_responses WHERE id = ?1")?
        .execute(params![id])?
        > 0)
}

/// A content filter rule: (id, kind `word` | `regex`, pattern).
pub type FilterRule = (String, String, String);

pub fn filters(conn: &Connection) -> anyhow::Result<Vec<FilterRule>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, kind, pattern FROM content_filters ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_filter(conn: &Connection, id: &str, kind: &str, pattern: &str) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO content_filters (id, kind, pattern) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET kind = ?2, pattern = ?3",
    )?
    .execute(params![id, kind, pattern])?;
    Ok(())
}

pub fn delete_filter(conn: &Connection, id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM content_filters WHERE id = ?1")?
        .execute(params![id])?
        > 0)
}
