//! Conversation rows: one customer on one integration, from the first message until the
//! threading window after the last one runs out.

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{Conversation, ConversationState, Wrapup};
use crate::store::api::{DueTimeout, StateCount, Superseded};

const COLUMNS: &str = "id, integration, customer_id, customer, state, flow, flow_version, flow_state, queue, \
     priority, skills, agent, last_agent, participant_data, queued_at, created_at, updated_at, last_customer_at, last_customer_written_at, flow_timeout_at, language, preferred_agents, inactivity_warned_at, assigned_at, version";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Conversation> {
    row_at(r, 0)
}

/// A conversation from the columns of [`COLUMNS`] starting at column `at`.
fn row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Conversation> {
    let customer: String = r.get(at + 3)?;
    let state: String = r.get(at + 4)?;
    let skills: String = r.get(at + 10)?;
    let data: String = r.get(at + 13)?;
    Ok(Conversation {
        id: r.get(at)?,
        integration: r.get(at + 1)?,
        customer_id: r.get(at + 2)?,
        customer: serde_json::from_str(&customer).unwrap_or_default(),
        state: ConversationState::parse(&state),
        flow: r.get(at + 5)?,
        flow_version: r.get(at + 6)?,
        flow_state: r.get(at + 7)?,
        queue: r.get(at + 8)?,
        priority: r.get(at + 9)?,
        skills: serde_json::from_str(&skills).unwrap_or_default(),
        agent: r.get(at + 11)?,
        last_agent: r.get(at + 12)?,
        participant_data: serde_json::from_str(&data).unwrap_or_default(),
        queued_at: r.get(at + 14)?,
        created_at: r.get(at + 15)?,
        updated_at: r.get(at + 16)?,
        last_customer_at: r.get(at + 17)?,
        last_customer_written_at: r.get::<_, Option<i64>>(at + 18)?.unwrap_or(r.get(at + 17)?),
        flow_timeout_at: r.get(at + 19)?,
        language: r.get(at + 20)?,
        preferred_agents: serde_json::from_str(&r.get::<_, String>(at + 21)?).unwrap_or_default(),
        inactivity_warned_at: r.get(at + 22)?,
        assigned_at: r.get(at + 23)?,
        version: r.get(at + 24)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> anyhow::Result<Option<Conversation>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conversations WHERE id = ?1"
        ))?
        .query_row(params![id], row)
        .optional()?)
}

/// The customer's latest conversation on this integration whose last customer message is
/// within the threading window, whatever its state.
pub fn find_threaded(
    conn: &Connection,
    integration: &str,
    customer_id: &str,
    window_start: i64,
) -> anyhow::Result<Option<Conversation>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE integration = ?1 AND customer_id = ?2 AND last_customer_at >= ?3
             ORDER BY last_customer_at DESC LIMIT 1"
        ))?
        .query_row(params![integration, customer_id, window_start], row)
        .optional()?)
}

/// The customer's latest conversation on this integration, however old (receipts and read
/// markers refer to it).
pub fn latest_for_customer(
    conn: &Connection,
    integration: &str,
    customer_id: &str,
) -> anyhow::Result<Option<Conversation>> {
    find_threaded(conn, integration, customer_id, i64::MIN)
}

pub fn insert(conn: &Connection, c: &Conversation) -> anyhow::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO conversations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
    ))?
    .execute(params![
        c.id,
        c.integration,
        c.customer_id,
        serde_json::to_string(&c.customer)?,
        c.state.as_str(),
        c.flow,
        c.flow_version,
        c.flow_state,
        c.queue,
        c.priority,
        serde_json::to_string(&c.skills)?,
        c.agent,
        c.last_agent,
        serde_json::to_string(&c.participant_data)?,
        c.queued_at,
        c.created_at,
        c.updated_at,
        c.last_customer_at,
        c.last_customer_written_at,
        c.flow_timeout_at,
        c.language,
        serde_json::to_string(&c.preferred_agents)?,
        c.inactivity_warned_at,
        c.assigned_at,
        c.version,
    ])?;
    Ok(())
}

/// Writes every mutable field of `c` back, over the version it was read at (and bumps its
/// version): [`Superseded`] when another change came first.
pub fn update(conn: &Connection, c: &mut Conversation) -> anyhow::Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE conversations SET customer = ?2, state = ?3, flow = ?4, flow_version = ?5, flow_state = ?6,
            queue = ?7, priority = ?8, skills = ?9, agent = ?10, last_agent = ?11, participant_data = ?12,
            queued_at = ?13, updated_at = ?14, last_customer_at = ?15, last_customer_written_at = ?16,
            flow_timeout_at = ?17, language = ?18, preferred_agents = ?19, inactivity_warned_at = ?20,
            assigned_at = ?21, version = version + 1
         WHERE id = ?1 AND version = ?22",
        )?
        .execute(params![
            c.id,
            serde_json::to_string(&c.customer)?,
            c.state.as_str(),
            c.flow,
            c.flow_version,
            c.flow_state,
            c.queue,
            c.priority,
            serde_json::to_string(&c.skills)?,
            c.agent,
            c.last_agent,
            serde_json::to_string(&c.participant_data)?,
            c.queued_at,
            c.updated_at,
            c.last_customer_at,
            c.last_customer_written_at,
            c.flow_timeout_at,
            c.language,
            serde_json::to_string(&c.preferred_agents)?,
            c.inactivity_warned_at,
            c.assigned_at,
            c.version,
        ])?;
    if changed == 0 {
        return Err(Superseded {
            conversation: c.id.clone(),
        }
        .into());
    }
    c.version += 1;
    Ok(())
}

/// Conversations waiting in a queue, highest priority first, then longest waiting.
pub fn queued(conn: &Connection, queue: &str) -> anyhow::Result<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversations WHERE queue = ?1 AND state = 'queued'
         ORDER BY priority DESC, queued_at ASC"
    ))?;
    let rows = stmt.query_map(params![queue], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Conversations an agent holds right now.
pub fn assigned_to(conn: &Connection, agent: &str) -> anyhow::Result<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversations WHERE agent = ?1 AND state = 'assigned' ORDER BY updated_at"
    ))?;
    let rows = stmt.query_map(params![agent], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves a queued conversation to `agent`, only if it is still queued: two agents accepting at
/// once cannot both get it. Returns whether this call won.
pub fn claim(conn: &Connection, id: &str, agent: &str, now: i64) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE conversations SET state = 'assigned', agent = ?2, last_agent = ?2, updated_at = ?3,
                assigned_at = ?3, inactivity_warned_at = NULL, version = version + 1
             WHERE id = ?1 AND state = 'queued'",
        )?
        .execute(params![id, agent, now])?;
    Ok(n == 1)
}

/// Conversations per state and queue, from the counts the triggers keep.
pub fn count_by_state(conn: &Connection) -> anyhow::Result<Vec<StateCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, NULLIF(queue, ''), n FROM conversation_counts WHERE n > 0 ORDER BY state, queue",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StateCount {
            state: r.get(0)?,
            queue: r.get(1)?,
            count: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records the agent's wrap-up code and ends the conversation, only if `agent` holds it.
/// Returns whether it did.
pub fn wrap_up(
    conn: &Connection,
    id: &str,
    agent: &str,
    code: &str,
    notes: Option<&str>,
    now: i64,
) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE conversations SET state = 'ended', agent = NULL, updated_at = ?3,
                version = version + 1
             WHERE id = ?1 AND state = 'assigned' AND agent = ?2",
        )?
        .execute(params![id, agent, now])?;
    if n == 1 {
        conn.prepare_cached("INSERT INTO wrapups (conversation, agent, code, notes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![id, agent, code, notes, now])?;
    }
    Ok(n == 1)
}

/// The wrap-ups recorded for a conversation, oldest first.
pub fn wrapups(conn: &Connection, id: &str) -> anyhow::Result<Vec<Wrapup>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent, code, notes, created_at FROM wrapups WHERE conversation = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map(params![id], |r| {
        Ok(Wrapup {
            agent: r.get(0)?,
            code: r.get(1)?,
            notes: r.get(2)?,
            at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Conversations whose waiting `ask` has timed out by `now`, soonest first.
pub fn due_timeouts(conn: &Connection, now: i64, limit: usize) -> anyhow::Result<Vec<DueTimeout>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, integration, customer_id FROM conversations
         WHERE flow_timeout_at IS NOT NULL AND flow_timeout_at <= ?1 AND state = 'flow'
         ORDER BY flow_timeout_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| {
        Ok(DueTimeout {
            conversation: r.get(0)?,
            integration: r.get(1)?,
            customer_id: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next waiting `ask` times out, if any.
pub fn next_timeout(conn: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(flow_timeout_at) FROM conversations WHERE flow_timeout_at IS NOT NULL AND state = 'flow'",
        [],
        |r| r.get(0),
    )?)
}

/// Up to `limit` conversations waiting in `queue` with no open offer, after (`key`, `rowid`) in
/// route-key order (`queued_at - priority * 60000`, see `rules::routing::route_key`): (key,
/// rowid, conversation).
pub fn waiting_page(
    conn: &Connection,
    queue: &str,
    key: i64,
    rowid: i64,
    limit: usize,
) -> anyhow::Result<Vec<(i64, i64, Conversation)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT queued_at - priority * 60000, rowid, {COLUMNS} FROM conversations c
         WHERE queue = ?1 AND state = 'queued'
           AND (queued_at - priority * 60000 > ?2
                OR (queued_at - priority * 60000 = ?2 AND rowid > ?3))
           AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation = c.id AND o.state = 'offered')
         ORDER BY queued_at - priority * 60000, rowid LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![queue, key, rowid, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, row_at(r, 2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every conversation an agent holds, in all queues.
pub fn assigned_all(conn: &Connection) -> anyhow::Result<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversations WHERE state = 'assigned'"
    ))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
