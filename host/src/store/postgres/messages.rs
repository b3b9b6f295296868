//! Message rows: the transcript of every conversation, both directions, with delivery statuses.
//! Outbound messages double as the outbox: a `pending` one is waiting to be sent, a `sending`
//! one is claimed by a sender (of any host) for one attempt.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::db::{exec, row, rows, scalar};
use crate::events::Author;
use crate::model::{Direction, Message, MessageStatus, NewMessage, new_id};

const COLUMNS: &str = "id, conversation, direction, author, agent, text, attachments, quick_replies, quick_reply, \
     platform_id, in_reply_to, status, error, attempts, next_attempt_at, created_at, updated_at, kind, template, reaction, reply_to";

fn parse(r: &Row) -> anyhow::Result<Message> {
    let direction: String = r.try_get(2)?;
    let author: String = r.try_get(3)?;
    let attachments: String = r.try_get(6)?;
    let quick_replies: String = r.try_get(7)?;
    let status: String = r.try_get(11)?;
    Ok(Message {
        id: r.try_get(0)?,
        conversation: r.try_get(1)?,
        direction: if direction == "inbound" {
            Direction::Inbound
        } else {
            Direction::Outbound
        },
        author: match author.as_str() {
            "customer" => Author::Customer,
            "agent" => Author::Agent,
            _ => Author::Bot,
        },
        agent: r.try_get(4)?,
        text: r.try_get(5)?,
        attachments: serde_json::from_str(&attachments).unwrap_or_default(),
        quick_replies: serde_json::from_str(&quick_replies).unwrap_or_default(),
        quick_reply: r.try_get(8)?,
        platform_id: r.try_get(9)?,
        in_reply_to: r.try_get(10)?,
        status: MessageStatus::parse(&status),
        error: r.try_get(12)?,
        attempts: r.try_get(13)?,
        next_attempt_at: r.try_get(14)?,
        created_at: r.try_get(15)?,
        updated_at: r.try_get(16)?,
        kind: r.try_get(17)?,
        template: r
            .try_get::<_, Option<String>>(18)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        reaction: r.try_get(19)?,
        reply_to: r.try_get(20)?,
    })
}

fn all(found: Vec<Row>) -> anyhow::Result<Vec<Message>> {
    found.iter().map(parse).collect()
}

/// Adds a message; outbound ones start `pending` and are due at once. Returns its id.
pub async fn insert(c: &impl GenericClient, m: NewMessage, now: i64) -> anyhow::Result<String> {
    let id = new_id("m");
    let (status, due) = match m.direction {
        Direction::Inbound => (MessageStatus::Received, None),
        Direction::Outbound => (MessageStatus::Pending, Some(now)),
    };
    let attachments = serde_json::to_string(&m.attachments)?;
    let quick_replies = serde_json::to_string(&m.quick_replies)?;
    let template = m.template.as_ref().map(serde_json::to_string).transpose()?;
    exec(
        c,
        &format!(
            "INSERT INTO messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, 0, $13, $14, $14, $15, $16, $17, $18)"
        ),
        &[
            &id,
            &m.conversation,
            &m.direction.as_str(),
            &m.author.as_str(),
            &m.agent,
            &m.text,
            &attachments,
            &quick_replies,
            &m.quick_reply,
            &m.platform_id,
            &m.in_reply_to,
            &status.as_str(),
            &due,
            &now,
            &m.kind.as_str(),
            &template,
            &m.reaction,
            &m.reply_to,
        ],
    )
    .await?;
    Ok(id)
}

pub async fn transcript(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Vec<Message>> {
    all(rows(
        c,
        &format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation = $1 ORDER BY created_at, rowid"
        ),
        &[&conversation],
    )
    .await?)
}

/// Claims up to `limit` due messages for sending: pending ones whose time has come, and claims
/// left unfinished past `claimed_until` (a sender that died mid-send). A message waits while an
/// earlier one of its conversation is still pending or being sent, so a conversation's messages
/// go out in order. Rows another host is claiming right now are skipped (`SKIP LOCKED`), not
/// waited for; each claimed message moves to `sending`, its attempt counted, until
/// `now + lease_ms`, and comes back with its new attempt number, which fences the result.
pub async fn claim_due(
    c: &impl GenericClient,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> anyhow::Result<Vec<Message>> {
    let until = now + lease_ms;
    let mut claimed = Vec::new();
    for sql in [
        "SELECT id FROM messages m
         WHERE status = 'sending' AND claimed_until <= $1
         ORDER BY claimed_until, rowid LIMIT $2 FOR UPDATE SKIP LOCKED",
        "SELECT id FROM messages m
         WHERE status = 'pending' AND next_attempt_at <= $1
           AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation = m.conversation
                           AND p.status IN ('pending', 'sending') AND p.rowid < m.rowid)
         ORDER BY next_attempt_at, rowid LIMIT $2 FOR UPDATE SKIP LOCKED",
    ] {
        let left = (limit - claimed.len()) as i64;
        if left == 0 {
            break;
        }
        let ids: Vec<String> = rows(c, sql, &[&now, &left])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            continue;
        }
        let mut taken = all(rows(
            c,
            &format!(
                "UPDATE messages SET status = 'sending', attempts = attempts + 1, claimed_until = $2,
                    updated_at = $3
                 WHERE id = ANY($1)
                 RETURNING {COLUMNS}"
            ),
            &[&ids, &until, &now],
        )
        .await?)?;
        // In the order they fell due.
        taken.sort_by_key(|m| ids.iter().position(|id| *id == m.id));
        claimed.extend(taken);
    }
    Ok(claimed)
}

/// Gives back every claim still open. Returns how many there were.
pub async fn release_all_claims(c: &impl GenericClient, now: i64) -> anyhow::Result<usize> {
    Ok(exec(
        c,
        "UPDATE messages SET status = 'pending', next_attempt_at = $1, claimed_until = NULL
         WHERE status = 'sending'",
        &[&now],
    )
    .await? as usize)
}

/// When the next pending message falls due, or an unfinished claim may be taken again.
pub async fn next_due_at(c: &impl GenericClient) -> anyhow::Result<Option<i64>> {
    scalar(
        c,
        "SELECT MIN(at) FROM (
            SELECT MIN(next_attempt_at) AS at FROM messages m WHERE status = 'pending'
              AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation = m.conversation
                              AND p.status IN ('pending', 'sending') AND p.rowid < m.rowid)
            UNION ALL
            SELECT MIN(claimed_until) FROM messages WHERE status = 'sending') due",
        &[],
    )
    .await
}

/// Records that attempt `attempts` went out. Only the holder of that claim can.
pub async fn mark_sent(
    c: &impl GenericClient,
    id: &str,
    platform_id: &str,
    attempts: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let n = exec(
        c,
        "UPDATE messages SET status = 'sent', platform_id = NULLIF($2, ''), next_attempt_at = NULL,
            claimed_until = NULL, error = NULL, updated_at = $4
         WHERE id = $1 AND status = 'sending' AND attempts = $3",
        &[&id, &platform_id, &attempts, &now],
    )
    .await?;
    Ok(n == 1)
}

/// Claims the next message of `conversation` for its next attempt, if it is due by `now`: the
/// conversation's earliest message still pending or being sent, when it is pending and no other
/// host claimed it first (the update checks again under the row's lock).
pub async fn claim_next_of(
    c: &impl GenericClient,
    conversation: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<Message>> {
    let next = row(
        c,
        "SELECT id, status, next_attempt_at FROM messages
         WHERE conversation = $1 AND status IN ('pending', 'sending')
         ORDER BY rowid LIMIT 1",
        &[&conversation],
    )
    .await?;
    let Some(next) = next else {
        return Ok(None);
    };
    let (id, status, due): (String, String, Option<i64>) =
        (next.try_get(0)?, next.try_get(1)?, next.try_get(2)?);
    if status != "pending" || due.is_none_or(|at| at > now) {
        return Ok(None);
    }
    let claimed = row(
        c,
        &format!(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, claimed_until = $2,
                updated_at = $3
             WHERE id = $1 AND status = 'pending'
             RETURNING {COLUMNS}"
        ),
        &[&id, &(now + lease_ms), &now],
    )
    .await?;
    claimed.as_ref().map(parse).transpose()
}

/// Records that attempt `attempts` failed for good.
pub async fn mark_failed(
    c: &impl GenericClient,
    id: &str,
    error: &str,
    attempts: i64,
    now: i64,
) -> anyhow::Result<()> {
    exec(
        c,
        "UPDATE messages SET status = 'failed', error = $2, next_attempt_at = NULL,
            claimed_until = NULL, updated_at = $4
         WHERE id = $1 AND status IN ('pending', 'sending') AND attempts = $3",
        &[&id, &error, &attempts, &now],
    )
    .await?;
    Ok(())
}

/// Attempt `attempts` did not go out: the message is pending again, due at `at`.
pub async fn schedule_retry(
    c: &impl GenericClient,
    id: &str,
    error: &str,
    attempts: i64,
    at: i64,
    now: i64,
    uncount: bool,
) -> anyhow::Result<()> {
    let uncount = uncount as i64;
    exec(
        c,
        "UPDATE messages SET status = 'pending', error = $2, attempts = attempts - $6,
            next_attempt_at = $4, claimed_until = NULL, updated_at = $5
         WHERE id = $1 AND status = 'sending' AND attempts = $3",
        &[&id, &error, &attempts, &at, &now, &uncount],
    )
    .await?;
    Ok(())
}

/// Applies a platform receipt (see `ConversationStore::apply_receipt`). Returns the message id
/// and its conversation if anything changed.
pub async fn apply_receipt(
    c: &impl GenericClient,
    integration: &str,
    platform_id: &str,
    status: MessageStatus,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<(String, String)>> {
    let Some(found) = row(
        c,
        "SELECT m.id, m.status, m.conversation FROM messages m JOIN conversations c ON c.id = m.conversation
         WHERE m.platform_id = $1 AND c.integration = $2 AND m.direction = 'outbound'
         FOR UPDATE OF m",
        &[&platform_id, &integration],
    )
    .await?
    else {
        return Ok(None);
    };
    let (id, current, conversation): (String, String, String) =
        (found.try_get(0)?, found.try_get(1)?, found.try_get(2)?);
    let current = MessageStatus::parse(&current);
    let advance =
        status == MessageStatus::Failed || (current != MessageStatus::Failed && status > current);
    if !advance {
        return Ok(None);
    }
    exec(
        c,
        "UPDATE messages SET status = $2, error = COALESCE($3, error), updated_at = $4 WHERE id = $1",
        &[&id, &status.as_str(), &reason, &now],
    )
    .await?;
    Ok(Some((id, conversation)))
}

/// Marks our sent/delivered messages of a conversation read, up to the one with
/// `up_to_platform_id` (or all of them when it is unknown).
pub async fn mark_read_up_to(
    c: &impl GenericClient,
    conversation: &str,
    up_to_platform_id: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let limit: Option<i64> = match up_to_platform_id {
        Some(pid) => row(
            c,
            "SELECT created_at FROM messages WHERE conversation = $1 AND platform_id = $2",
            &[&conversation, &pid],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?,
        None => None,
    };
    let limit = limit.unwrap_or(i64::MAX);
    exec(
        c,
        "UPDATE messages SET status = 'read', updated_at = $3
         WHERE conversation = $1 AND direction = 'outbound' AND status IN ('sent', 'delivered') AND created_at <= $2",
        &[&conversation, &limit, &now],
    )
    .await?;
    Ok(())
}

/// Outbound messages waiting to be sent or being sent.
pub async fn pending_count(c: &impl GenericClient) -> anyhow::Result<i64> {
    scalar(
        c,
        "SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'sending')",
        &[],
    )
    .await
}

async fn inbound(
    c: &impl GenericClient,
    conversation: &str,
    order: &str,
) -> anyhow::Result<Option<Message>> {
    row(
        c,
        &format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation = $1 AND direction = 'inbound'
             ORDER BY {order} LIMIT 1"
        ),
        &[&conversation],
    )
    .await?
    .map(|r| parse(&r))
    .transpose()
}

/// The customer's latest message in a conversation.
pub async fn latest_inbound(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Option<Message>> {
    inbound(c, conversation, "created_at DESC, rowid DESC").await
}

/// The customer's first message in a conversation (a mention makes the whole conversation public).
pub async fn first_inbound(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Option<Message>> {
    inbound(c, conversation, "created_at, rowid").await
}

/// Makes the pending messages of an integration's conversations due now.
pub async fn wake_integration(
    c: &impl GenericClient,
    integration: &str,
    now: i64,
) -> anyhow::Result<()> {
    exec(
        c,
        "UPDATE messages SET next_attempt_at = $2
         WHERE status = 'pending' AND conversation IN (SELECT id FROM conversations WHERE integration = $1)",
        &[&integration, &now],
    )
    .await?;
    Ok(())
}

/// Whether a conversation already holds the customer message with this platform id.
pub async fn has_inbound(
    c: &impl GenericClient,
    conversation: &str,
    platform_id: &str,
) -> anyhow::Result<bool> {
    Ok(row(
        c,
        "SELECT 1 FROM messages WHERE conversation = $1 AND platform_id = $2 AND direction = 'inbound'",
        &[&conversation, &platform_id],
    )
    .await?
    .is_some())
}

/// A new outbound message of `author` (used by the timers' replies).
pub async fn insert_outbound(
    c: &impl GenericClient,
    conversation: &str,
    author: Author,
    text: &str,
    now: i64,
) -> anyhow::Result<String> {
    insert(
        c,
        NewMessage::outbound(conversation, author, Some(text.to_string())),
        now,
    )
    .await
}
