//! Agents' transfers (see [`crate::store::AcdStore::transfer`]): the interaction waits in a
//! queue again, and the transfer, with its note, is kept for routing and for the transcript.

use rusqlite::{Connection, params};

use super::conversations;
use super::presence::set_idle_since;
use crate::model::{ConversationState, Transfer};
use crate::store::api::{TransferRequest, Transferred};

/// Queues the interaction `request.from_agent` holds in `request.to_queue` and records the
/// transfer, in one unit.
pub fn transfer(conn: &Connection, request: &TransferRequest) -> anyhow::Result<Transferred> {
    let Some(mut conversation) = conversations::get(conn, &request.conversation)? else {
        return Ok(Transferred::NotFound);
    };
    if conversation.state != ConversationState::Assigned
        || conversation.agent.as_deref() != Some(request.from_agent.as_str())
    {
        return Ok(Transferred::NotHeld);
    }
    let now = request.now;
    conversation.state = ConversationState::Queued;
    conversation.queue = Some(request.to_queue.clone());
    conversation.queued_at = Some(now);
    conversation.agent = None;
    conversation.assigned_at = None;
    conversation.inactivity_warned_at = None;
    // The flow's routing asked for these in the queue it chose; the agent chose anew.
    conversation.skills.clear();
    conversation.preferred_agents.clear();
    conversation.updated_at = now;
    conversations::update(conn, &mut conversation)?;
    conn.prepare_cached(
        "INSERT INTO transfers (conversation, from_agent, to_queue, to_agent, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        request.conversation,
        request.from_agent,
        request.to_queue,
        request.to_agent,
        request.note,
        now
    ])?;
    set_idle_since(conn, &request.from_agent, now)?;
    Ok(Transferred::Done(Box::new(conversation)))
}

/// The transfers of a conversation, oldest first.
pub fn transfers(conn: &Connection, conversation: &str) -> anyhow::Result<Vec<Transfer>> {
    let mut stmt = conn.prepare_cached(
        "SELECT from_agent, to_queue, to_agent, note, at FROM transfers
         WHERE conversation = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![conversation], |r| {
        Ok(Transfer {
            from_agent: r.get(0)?,
            to_queue: r.get(1)?,
            to_agent: r.get(2)?,
            note: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
