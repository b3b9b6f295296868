//! Message rows: the transcript of every conversation, both directions, with delivery statuses.
//! Outbound messages double as the outbox: a `pending` one is waiting to be sent, a `sending`
//! one is claimed by a sender for one attempt.

use rusqlite::{Connection, OptionalExtension, params};

use crate::events::Author;
use crate::model::{Direction, Message, MessageStatus, NewMessage, new_id};

const COLUMNS: &str = "id, conversation, direction, author, agent, text, attachments, quick_replies, quick_reply, \
     platform_id, in_reply_to, status, error, attempts, next_attempt_at, created_at, updated_at, kind, template, reaction, reply_to";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let direction: String = r.get(2)?;
    let author: String = r.get(3)?;
    let attachments: String = r.get(6)?;
    let quick_replies: String = r.get(7)?;
    let status: String = r.get(11)?;
    Ok(Message {
        id: r.get(0)?,
        conversation: r.get(1)?,
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
        agent: r.get(4)?,
        text: r.get(5)?,
        attachments: serde_json::from_str(&attachments).unwrap_or_default(),
        quick_replies: serde_json::from_str(&quick_replies).unwrap_or_default(),
        quick_reply: r.get(8)?,
        platform_id: r.get(9)?,
        in_reply_to: r.get(10)?,
        status: MessageStatus::parse(&status),
        error: r.get(12)?,
        attempts: r.get(13)?,
        next_attempt_at: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        kind: r.get(17)?,
        template: r
            .get::<_, Option<String>>(18)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        reaction: r.get(19)?,
        reply_to: r.get(20)?,
    })
}

/// Adds a message; outbound ones start `pending` and are due at once. Returns its id.
pub fn insert(conn: &Connection, m: &NewMessage, now: i64) -> anyhow::Result<String> {
    let id = new_id("m");
    let (status, due) = match m.direction {
        Direction::Inbound => (MessageStatus::Received, None),
        Direction::Outbound => (MessageStatus::Pending, Some(now)),
    };
    conn.prepare_cached(&format!(
        "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, 0, ?13, ?14, ?14, ?15, ?16, ?17, ?18)"
    ))?
    .execute(params![
        id,
        m.conversation,
        m.direction.as_str(),
        m.author.as_str(),
        m.agent,
        m.text,
        serde_json::to_string(&m.attachments)?,
        serde_json::to_string(&m.quick_replies)?,
        m.quick_reply,
        m.platform_id,
        m.in_reply_to,
        status.as_str(),
        due,
        now,
        m.kind.as_str(),
        m.template.as_ref().map(serde_json::to_string).transpose()?,
        m.reaction,
        m.reply_to,
    ])?;
    Ok(id)
}

pub fn transcript(conn: &Connection, conversation: &str) -> anyhow::Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE conversation = ?1 ORDER BY created_at, rowid"
    ))?;
    let rows = stmt.query_map(params![conversation], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Outbound messages due for a send attempt, oldest first: pending ones whose time has come,
/// and claims left unfinished past `claimed_until` (a sender that died mid-send). A message
/// waits while an earlier one of its conversation is still pending or being sent, so a
/// conversation's messages go out in order.
pub fn due(conn: &Connection, now: i64, limit: usize) -> anyhow::Result<Vec<Message>> {
    // Two queries, each served by its partial index (`messages_outbox`, `messages_sending`),
    // rather than one with an OR that would read the whole table.
    let mut due = Vec::new();
    for sql in [
        "SELECT {COLUMNS} FROM messages m
         WHERE status = 'sending' AND claimed_until <= ?1
         ORDER BY claimed_until, rowid LIMIT ?2",
        "SELECT {COLUMNS} FROM messages m
         WHERE status = 'pending' AND next_attempt_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation = m.conversation
                           AND p.status IN ('pending', 'sending') AND p.rowid < m.rowid)
         ORDER BY next_attempt_at, rowid LIMIT ?2",
    ] {
        let left = limit - due.len();
        if left == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(&sql.replace("{COLUMNS}", COLUMNS))?;
        let rows = stmt.query_map(params![now, left as i64], row)?;
        for message in rows {
            due.push(message?);
        }
    }
    Ok(due)
}

/// Claims up to `limit` due messages for sending (see [`due`]): each moves to `sending`, its
/// attempt counted, until `now + lease_ms`. Only what this call claimed is returned (with its
/// new attempt number), so no other pass or worker can send the same message; the attempt
/// number fences the result: only the holder of that attempt can record it.
pub fn claim_due(
    conn: &Connection,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> anyhow::Result<Vec<Message>> {
    let mut claimed = Vec::new();
    for mut message in due(conn, now, limit)? {
        if claim(conn, &message.id, message.attempts, now, lease_ms)? {
            message.attempts += 1;
            message.status = MessageStatus::Sending;
            claimed.push(message);
        }
    }
    Ok(claimed)
}

/// Claims one message for its attempt `attempts + 1`, only if it is still due with `attempts`
/// recorded. Returns whether this call won.
pub fn claim(
    conn: &Connection,
    id: &str,
    attempts: i64,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, claimed_until = ?3,
                updated_at = ?4
             WHERE id = ?1 AND attempts = ?2
               AND ((status = 'pending' AND next_attempt_at <= ?4)
                    OR (status = 'sending' AND claimed_until <= ?4))",
        )?
        .execute(params![id, attempts, now + lease_ms, now])?;
    Ok(n == 1)
}

/// Gives back every claim still open (at start, when this process is the only sender: a claim
/// left from before a crash may or may not have reached the platform, and is sent again).
/// Returns how many there were.
pub fn release_all_claims(conn: &Connection, now: i64) -> anyhow::Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE messages SET status = 'pending', next_attempt_at = ?1, claimed_until = NULL
             WHERE status = 'sending'",
        )?
        .execute(params![now])?)
}

/// When the next pending message falls due (one not waiting behind an earlier one of its
/// conversation), or an unfinished claim may be taken again.
pub fn next_due_at(conn: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(at) FROM (
            SELECT MIN(next_attempt_at) AS at FROM messages m WHERE status = 'pending'
              AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation = m.conversation
                              AND p.status IN ('pending', 'sending') AND p.rowid < m.rowid)
            UNION ALL
            SELECT MIN(claimed_until) FROM messages WHERE status = 'sending')",
        [],
        |r| r.get(0),
    )?)
}

/// Records that attempt `attempts` went out. Only the holder of that claim can: returns whether
/// this call held it.
pub fn mark_sent(
    conn: &Connection,
    id: &str,
    platform_id: &str,
    attempts: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let n = conn.prepare_cached(
        "UPDATE messages SET status = 'sent', platform_id = NULLIF(?2, ''), next_attempt_at = NULL,
            claimed_until = NULL, error = NULL, updated_at = ?4
         WHERE id = ?1 AND status = 'sending' AND attempts = ?3",
    )?
    .execute(params![id, platform_id, attempts, now])?;
    Ok(n == 1)
}

/// Claims the next message of `conversation` for its next attempt, if it is due by `now`: the
/// conversation's earliest message still pending or being sent, when it is pending (see
/// [`claim`]).
pub fn claim_next_of(
    conn: &Connection,
    conversation: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<Message>> {
    let next = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages
             WHERE conversation = ?1 AND status IN ('pending', 'sending')
             ORDER BY rowid LIMIT 1"
        ))?
        .query_row(params![conversation], row)
        .optional()?;
    let Some(mut message) = next.filter(|m| {
        m.status == MessageStatus::Pending && m.next_attempt_at.is_some_and(|at| at <= now)
    }) else {
        return Ok(None);
    };
    if !claim(conn, &message.id, message.attempts, now, lease_ms)? {
        return Ok(None);
    }
    message.attempts += 1;
    message.status = MessageStatus::Sending;
    Ok(Some(message))
}

/// Records that attempt `attempts` failed for good (or that the message cannot be sent at all).
pub fn mark_failed(
    conn: &Connection,
    id: &str,
    error: &str,
    attempts: i64,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET status = 'failed', error = ?2, next_attempt_at = NULL,
            claimed_until = NULL, updated_at = ?4
         WHERE id = ?1 AND status IN ('pending', 'sending') AND attempts = ?3",
    )?
    .execute(params![id, error, attempts, now])?;
    Ok(())
}

/// Attempt `attempts` did not go out: the message is pending again, due at `at`. `uncount`
/// gives the attempt back (nothing was tried, e.g. the integration is deauthorized).
pub fn schedule_retry(
    conn: &Connection,
    id: &str,
    error: &str,
    attempts: i64,
    at: i64,
    now: i64,
    uncount: bool,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET status = 'pending', error = ?2, attempts = attempts - ?6,
            next_attempt_at = ?4, claimed_until = NULL, updated_at = ?5
         WHERE id = ?1 AND status = 'sending' AND attempts = ?3",
    )?
    .execute(params![id, error, attempts, at, now, uncount as i64])?;
    Ok(())
}

/// Applies a platform receipt to our message with that platform id in a conversation of this
/// integration. Statuses only move forward (a late `delivered` never undoes `read`), except
/// that `failed` always wins. Returns the message id and new status if anything changed.
pub fn apply_receipt(
    conn: &Connection,
    integration: &str,
    platform_id: &str,
    status: MessageStatus,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<(String, String)>> {
    let found: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT m.id, m.status, m.conversation FROM messages m JOIN conversations c ON c.id = m.conversation
             WHERE m.platform_id = ?1 AND c.integration = ?2 AND m.direction = 'outbound'",
        )?
        .query_row(params![platform_id, integration], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((id, current, conversation)) = found else {
        return Ok(None);
    };
    let current = MessageStatus::parse(&current);
    let advance =
        status == MessageStatus::Failed || (current != MessageStatus::Failed && status > current);
    if !advance {
        return Ok(None);
    }
    conn.prepare_cached("UPDATE messages SET status = ?2, error = COALESCE(?3, error), updated_at = ?4 WHERE id = ?1")?
        .execute(params![id, status.as_str(), reason, now])?;
    Ok(Some((id, conversation)))
}

/// Marks our sent/delivered messages of a conversation read, up to the one with
/// `up_to_platform_id` (or all of them when it is unknown). Returns the ids changed.
pub fn mark_read_up_to(
    conn: &Connection,
    conversation: &str,
    up_to_platform_id: Option<&str>,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let limit: Option<i64> = match up_to_platform_id {
        Some(pid) => conn
            .prepare_cached(
                "SELECT created_at FROM messages WHERE conversation = ?1 AND platform_id = ?2",
            )?
            .query_row(params![conversation, pid], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let mut stmt = conn.prepare_cached(
        "UPDATE messages SET status = 'read', updated_at = ?3
         WHERE conversation = ?1 AND direction = 'outbound' AND status IN ('sent', 'delivered') AND created_at <= ?2
         RETURNING id",
    )?;
    let rows = stmt.query_map(params![conversation, limit.unwrap_or(i64::MAX), now], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Outbound messages waiting to be sent or being sent (a gauge for `/metrics`, kept by
/// triggers).
pub fn pending_count(conn: &Connection) -> anyhow::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT n FROM outbox_count WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// The customer's latest message in a conversation (what a reply answers, what an agent reads).
pub fn latest_inbound(conn: &Connection, conversation: &str) -> anyhow::Result<Option<Message>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation = ?1 AND direction = 'inbound'
             ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ))?
        .query_row(params![conversation], row)
        .optional()?)
}

/// The customer's first message in a conversation (a mention makes the whole conversation public).
pub fn first_inbound(conn: &Connection, conversation: &str) -> anyhow::Result<Option<Message>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation = ?1 AND direction = 'inbound'
             ORDER BY created_at, rowid LIMIT 1"
        ))?
        .query_row(params![conversation], row)
        .optional()?)
}

/// Makes the pending messages of an integration's conversations due now (after it was
/// re-authorized).
pub fn wake_integration(conn: &Connection, integration: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET next_attempt_at = ?2
         WHERE status = 'pending' AND conversation IN (SELECT id FROM conversations WHERE integration = ?1)",
    )?
    .execute(params![integration, now])?;
    Ok(())
}

/// Whether a conversation already holds the customer message with this platform id (an inbox
/// event handled again after a crash).
pub fn has_inbound(
    conn: &Connection,
    conversation: &str,
    platform_id: &str,
) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages WHERE conversation = ?1 AND platform_id = ?2 AND direction = 'inbound'")?
        .query_row(params![conversation, platform_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A new outbound message of `author` (used by the flow's and the timers' replies).
pub fn insert_outbound(
    conn: &Connection,
    conversation: &str,
    author: Author,
    text: &str,
    now: i64,
) -> anyhow::Result<String> {
    insert(
        conn,
        &NewMessage::outbound(conversation, author, Some(text.to_string())),
        now,
    )
}

/// Marks a reply written by the benchmark's prefill as sent, without a claim.
pub fn mark_prefilled_sent(
    conn: &Connection,
    id: &str,
    platform_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET status = 'sent', platform_id = ?2, attempts = 1,
            next_attempt_at = NULL, updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, platform_id, now])?;
    Ok(())
}
