//! Agents' transfers (see [`crate::store::AcdStore::transfer`]), mirroring the embedded
//! engine's `transfers.rs`: the interaction waits in a queue again, and the transfer, with its
//! note, is kept for routing and for the transcript.
//!
//! Across hosts: a transfer locks the transferring agent's row first, as an accept does (what an
//! agent holds changes under that lock only), and moves the conversation over the version it
//! read; the unit is serializable besides.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::conversations;
use super::db::{exec, rows};
use super::presence::{presence, set_idle_since};
use crate::model::{ConversationState, Transfer};
use crate::store::api::{TransferRequest, Transferred};

/// A transfer from a row of (from_agent, to_queue, to_agent, note, at).
pub fn transfer_row(r: &Row) -> anyhow::Result<Transfer> {
    Ok(Transfer {
        from_agent: r.try_get(0)?,
        to_queue: r.try_get(1)?,
        to_agent: r.try_get(2)?,
        note: r.try_get(3)?,
        at: r.try_get(4)?,
    })
}

/// Queues the interaction `request.from_agent` holds in `request.to_queue` and records the
/// transfer, in one unit.
pub async fn transfer(
    c: &impl GenericClient,
    request: &TransferRequest,
) -> anyhow::Result<Transferred> {
    // The agent's row first, as an accept takes it.
    presence(c, &request.from_agent, true).await?;
    let Some(mut conversation) = conversations::get(c, &request.conversation).await? else {
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
    conversations::update(c, &mut conversation).await?;
    exec(
        c,
        "INSERT INTO transfers (conversation, from_agent, to_queue, to_agent, note, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &request.conversation,
            &request.from_agent,
            &request.to_queue,
            &request.to_agent,
            &request.note,
            &now,
        ],
    )
    .await?;
    set_idle_since(c, &request.from_agent, now).await?;
    Ok(Transferred::Done(Box::new(conversation)))
}

/// The transfers of a conversation, oldest first.
pub async fn transfers(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Vec<Transfer>> {
    rows(
        c,
        "SELECT from_agent, to_queue, to_agent, note, at FROM transfers
         WHERE conversation = $1 ORDER BY at, id",
        &[&conversation],
    )
    .await?
    .iter()
    .map(transfer_row)
    .collect()
}
