//! Conversation rows: one customer on one integration, from the first message until the
//! threading window after the last one runs out.

use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::Row;

use super::db::{exec, row, rows, scalar, unit};
use crate::model::{Conversation, ConversationState, Wrapup};
use crate::store::api::{DueTimeout, StateCount, Superseded};

const COLUMNS: &str = "id, integration, customer_id, customer, state, flow, flow_version, flow_state, queue, \
     priority, skills, agent, last_agent, participant_data, queued_at, created_at, updated_at, last_customer_at, last_customer_written_at, flow_timeout_at, language, preferred_agents, inactivity_warned_at, assigned_at, version";

/// A conversation from the columns of [`COLUMNS`] starting at column `at`.
fn row_at(r: &Row, at: usize) -> anyhow::Result<Conversation> {
    let customer: String = r.try_get(at + 3)?;
    let state: String = r.try_get(at + 4)?;
    let skills: String = r.try_get(at + 10)?;
    let data: String = r.try_get(at + 13)?;
    let preferred: String = r.try_get(at + 21)?;
    Ok(Conversation {
        id: r.try_get(at)?,
        integration: r.try_get(at + 1)?,
        customer_id: r.try_get(at + 2)?,
        customer: serde_json::from_str(&customer).unwrap_or_default(),
        state: ConversationState::parse(&state),
        flow: r.try_get(at + 5)?,
        flow_version: r.try_get(at + 6)?,
        flow_state: r.try_get(at + 7)?,
        queue: r.try_get(at + 8)?,
        priority: r.try_get(at + 9)?,
        skills: serde_json::from_str(&skills).unwrap_or_default(),
        agent: r.try_get(at + 11)?,
        last_agent: r.try_get(at + 12)?,
        participant_data: serde_json::from_str(&data).unwrap_or_default(),
        queued_at: r.try_get(at + 14)?,
        created_at: r.try_get(at + 15)?,
        updated_at: r.try_get(at + 16)?,
        last_customer_at: r.try_get(at + 17)?,
        last_customer_written_at: r
            .try_get::<_, Option<i64>>(at + 18)?
            .unwrap_or(r.try_get(at + 17)?),
        flow_timeout_at: r.try_get(at + 19)?,
        language: r.try_get(at + 20)?,
        preferred_agents: serde_json::from_str(&preferred).unwrap_or_default(),
        inactivity_warned_at: r.try_get(at + 22)?,
        assigned_at: r.try_get(at + 23)?,
        version: r.try_get(at + 24)?,
    })
}

fn all(found: Vec<Row>) -> anyhow::Result<Vec<Conversation>> {
    found.iter().map(|r| row_at(r, 0)).collect()
}

pub async fn get(c: &impl GenericClient, id: &str) -> anyhow::Result<Option<Conversation>> {
    row(
        c,
        &format!("SELECT {COLUMNS} FROM conversations WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| row_at(&r, 0))
    .transpose()
}

/// The customer's latest conversation on this integration whose last customer message is
/// within the threading window, whatever its state, its row locked until the unit ends (the
/// caller writes it back, and a routing pass must not offer it meanwhile).
pub async fn find_threaded(
    c: &impl GenericClient,
    integration: &str,
    customer_id: &str,
    window_start: i64,
) -> anyhow::Result<Option<Conversation>> {
    row(
        c,
        &format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE integration = $1 AND customer_id = $2 AND last_customer_at >= $3
             ORDER BY last_customer_at DESC LIMIT 1 FOR UPDATE"
        ),
        &[&integration, &customer_id, &window_start],
    )
    .await?
    .map(|r| row_at(&r, 0))
    .transpose()
}

/// The customer's latest conversation on this integration, however old (locked, as above).
pub async fn latest_for_customer(
    c: &impl GenericClient,
    integration: &str,
    customer_id: &str,
) -> anyhow::Result<Option<Conversation>> {
    find_threaded(c, integration, customer_id, i64::MIN).await
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(value)?)
}

pub async fn insert(c: &impl GenericClient, v: &Conversation) -> anyhow::Result<()> {
    let (customer, skills, data, preferred) = (
        json(&v.customer)?,
        json(&v.skills)?,
        json(&v.participant_data)?,
        json(&v.preferred_agents)?,
    );
    exec(
        c,
        &format!(
            "INSERT INTO conversations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        ),
        &[
            &v.id,
            &v.integration,
            &v.customer_id,
            &customer,
            &v.state.as_str(),
            &v.flow,
            &v.flow_version,
            &v.flow_state,
            &v.queue,
            &v.priority,
            &skills,
            &v.agent,
            &v.last_agent,
            &data,
            &v.queued_at,
            &v.created_at,
            &v.updated_at,
            &v.last_customer_at,
            &v.last_customer_written_at,
            &v.flow_timeout_at,
            &v.language,
            &preferred,
            &v.inactivity_warned_at,
            &v.assigned_at,
            &v.version,
        ],
    )
    .await?;
    Ok(())
}

/// Writes every mutable field of `v` back, over the version it was read at (and bumps its
/// version): [`Superseded`] when another change came first.
pub async fn update(c: &impl GenericClient, v: &mut Conversation) -> anyhow::Result<()> {
    let (customer, skills, data, preferred) = (
        json(&v.customer)?,
        json(&v.skills)?,
        json(&v.participant_data)?,
        json(&v.preferred_agents)?,
    );
    let changed = exec(
        c,
        "UPDATE conversations SET customer = $2, state = $3, flow = $4, flow_version = $5, flow_state = $6,
            queue = $7, priority = $8, skills = $9, agent = $10, last_agent = $11, participant_data = $12,
            queued_at = $13, updated_at = $14, last_customer_at = $15, last_customer_written_at = $16,
            flow_timeout_at = $17, language = $18, preferred_agents = $19, inactivity_warned_at = $20,
            assigned_at = $21, version = version + 1
         WHERE id = $1 AND version = $22",
        &[
            &v.id,
            &customer,
            &v.state.as_str(),
            &v.flow,
            &v.flow_version,
            &v.flow_state,
            &v.queue,
            &v.priority,
            &skills,
            &v.agent,
            &v.last_agent,
            &data,
            &v.queued_at,
            &v.updated_at,
            &v.last_customer_at,
            &v.last_customer_written_at,
            &v.flow_timeout_at,
            &v.language,
            &preferred,
            &v.inactivity_warned_at,
            &v.assigned_at,
            &v.version,
        ],
    )
    .await?;
    if changed == 0 {
        return Err(Superseded {
            conversation: v.id.clone(),
        }
        .into());
    }
    v.version += 1;
    Ok(())
}

/// Conversations waiting in a queue, highest priority first, then longest waiting.
pub async fn queued(c: &impl GenericClient, queue: &str) -> anyhow::Result<Vec<Conversation>> {
    all(rows(
        c,
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE queue = $1 AND state = 'queued'
             ORDER BY priority DESC, queued_at ASC"
        ),
        &[&queue],
    )
    .await?)
}

/// Conversations an agent holds right now.
pub async fn assigned_to(c: &impl GenericClient, agent: &str) -> anyhow::Result<Vec<Conversation>> {
    all(rows(
        c,
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE agent = $1 AND state = 'assigned'
             ORDER BY updated_at, rowid"
        ),
        &[&agent],
    )
    .await?)
}

/// Moves a queued conversation to `agent`, only if it is still queued: two agents accepting at
/// once cannot both get it. Returns whether this call won.
pub async fn claim(
    c: &impl GenericClient,
    id: &str,
    agent: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let n = exec(
        c,
        "UPDATE conversations SET state = 'assigned', agent = $2, last_agent = $2, updated_at = $3,
            assigned_at = $3, inactivity_warned_at = NULL, version = version + 1
         WHERE id = $1 AND state = 'queued'",
        &[&id, &agent, &now],
    )
    .await?;
    Ok(n == 1)
}

/// The advisory lock a host folds the appended count changes under (one host at a time; another
/// reading meanwhile sums the changes as they are).
const COUNT_FOLD_LOCK: i64 = 0x5357_4244_0003;

/// Conversations per state and queue: the totals, plus the changes appended since they were last
/// folded in (the schema's `conversation_counts`). Folds them first when no other host is.
pub async fn count_by_state(pool: &Pool) -> anyhow::Result<Vec<StateCount>> {
    unit!(pool, ReadCommitted, |tx| {
        let folding: bool = scalar(
            &tx,
            "SELECT pg_try_advisory_xact_lock($1)",
            &[&COUNT_FOLD_LOCK],
        )
        .await?;
        if folding {
            exec(
                &tx,
                "WITH moved AS (DELETE FROM conversation_count_changes RETURNING state, queue, n)
                 INSERT INTO conversation_counts (state, queue, n)
                     SELECT state, queue, SUM(n) FROM moved GROUP BY state, queue
                 ON CONFLICT (state, queue) DO UPDATE SET n = conversation_counts.n + excluded.n",
                &[],
            )
            .await?;
        }
        rows(
            &tx,
            "SELECT state, NULLIF(queue, ''), SUM(n)::BIGINT FROM (
                 SELECT state, queue, n FROM conversation_counts
                 UNION ALL SELECT state, queue, n FROM conversation_count_changes
             ) c GROUP BY state, queue HAVING SUM(n) <> 0 ORDER BY state, queue",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(StateCount {
                state: r.try_get(0)?,
                queue: r.try_get(1)?,
                count: r.try_get(2)?,
            })
        })
        .collect()
    })
}

/// Records the agent's wrap-up code and ends the conversation, only if `agent` holds it.
pub async fn wrap_up(
    c: &impl GenericClient,
    id: &str,
    agent: &str,
    code: &str,
    notes: Option<&str>,
    now: i64,
) -> anyhow::Result<bool> {
    let n = exec(
        c,
        "UPDATE conversations SET state = 'ended', agent = NULL, updated_at = $3,
            version = version + 1
         WHERE id = $1 AND state = 'assigned' AND agent = $2",
        &[&id, &agent, &now],
    )
    .await?;
    if n == 1 {
        exec(
            c,
            "INSERT INTO wrapups (conversation, agent, code, notes, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &agent, &code, &notes, &now],
        )
        .await?;
    }
    Ok(n == 1)
}

/// The wrap-ups recorded for a conversation, oldest first.
pub async fn wrapups(c: &impl GenericClient, id: &str) -> anyhow::Result<Vec<Wrapup>> {
    rows(
        c,
        "SELECT agent, code, notes, created_at FROM wrapups WHERE conversation = $1 ORDER BY id",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Wrapup {
            agent: r.try_get(0)?,
            code: r.try_get(1)?,
            notes: r.try_get(2)?,
            at: r.try_get(3)?,
        })
    })
    .collect()
}

/// Conversations whose waiting `ask` has timed out by `now`, soonest first.
pub async fn due_timeouts(
    c: &impl GenericClient,
    now: i64,
    limit: usize,
) -> anyhow::Result<Vec<DueTimeout>> {
    let limit = limit as i64;
    rows(
        c,
        "SELECT id, integration, customer_id FROM conversations
         WHERE flow_timeout_at IS NOT NULL AND flow_timeout_at <= $1 AND state = 'flow'
         ORDER BY flow_timeout_at LIMIT $2",
        &[&now, &limit],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(DueTimeout {
            conversation: r.try_get(0)?,
            integration: r.try_get(1)?,
            customer_id: r.try_get(2)?,
        })
    })
    .collect()
}

/// When the next waiting `ask` times out, if any.
pub async fn next_timeout(c: &impl GenericClient) -> anyhow::Result<Option<i64>> {
    scalar(
        c,
        "SELECT MIN(flow_timeout_at) FROM conversations WHERE flow_timeout_at IS NOT NULL AND state = 'flow'",
        &[],
    )
    .await
}

/// Up to `limit` conversations waiting in `queue` with no open offer, after (`key`, `rowid`) in
/// route-key order (`queued_at - priority * 60000`): (key, rowid, conversation).
pub async fn waiting_page(
    c: &impl GenericClient,
    queue: &str,
    key: i64,
    rowid: i64,
    limit: usize,
) -> anyhow::Result<Vec<(i64, i64, Conversation)>> {
    let limit = limit as i64;
    rows(
        c,
        &format!(
            "SELECT queued_at - priority * 60000, rowid, {COLUMNS} FROM conversations c
             WHERE queue = $1 AND state = 'queued'
               AND (queued_at - priority * 60000, rowid) > ($2, $3)
               AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation = c.id AND o.state = 'offered')
             ORDER BY queued_at - priority * 60000, rowid LIMIT $4"
        ),
        &[&queue, &key, &rowid, &limit],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, row_at(r, 2)?)))
    .collect()
}

/// Every conversation an agent holds, in all queues.
pub async fn assigned_all(c: &impl GenericClient) -> anyhow::Result<Vec<Conversation>> {
    all(rows(
        c,
        &format!("SELECT {COLUMNS} FROM conversations WHERE state = 'assigned' ORDER BY rowid"),
        &[],
    )
    .await?)
}
