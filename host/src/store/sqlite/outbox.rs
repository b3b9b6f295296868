//! The outbox: claiming due messages for one attempt each, recording how attempts end, and the
//! daily send counts of capped integrations.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, conversations, messages};
use crate::events::MessageKind;
use crate::model::{Message, NewMessage};
use crate::store::api::{ClaimedSend, OutboxStore, SendRecord};
use crate::store::days::utc_day;

/// Reserves one send of today's allowance. Returns the count after the reservation, or `None`
/// when `cap` sends are already counted today.
pub fn reserve_send(
    conn: &Connection,
    integration: &str,
    cap: u32,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    let day = utc_day(now);
    let count: i64 = conn
        .prepare_cached("SELECT count FROM daily_sends WHERE integration = ?1 AND day = ?2")?
        .query_row(params![integration, day], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if count >= cap as i64 {
        return Ok(None);
    }
    conn.prepare_cached(
        "INSERT INTO daily_sends (integration, day, count) VALUES (?1, ?2, 1)
         ON CONFLICT (integration, day) DO UPDATE SET count = count + 1",
    )?
    .execute(params![integration, day])?;
    Ok(Some(count + 1))
}

/// Gives back a reservation whose send did not go out.
pub fn release_send(conn: &Connection, integration: &str, reserved_at: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE daily_sends SET count = MAX(count - 1, 0) WHERE integration = ?1 AND day = ?2",
    )?
    .execute(params![integration, utc_day(reserved_at)])?;
    Ok(())
}

pub fn sends_today(conn: &Connection, integration: &str, now: i64) -> anyhow::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count FROM daily_sends WHERE integration = ?1 AND day = ?2")?
        .query_row(params![integration, utc_day(now)], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// A claimed message with what its send needs: its conversation, and the post a public reply
/// goes under. `None` if the conversation is gone.
fn claimed_send(c: &Connection, message: Message) -> anyhow::Result<Option<ClaimedSend>> {
    let Some(conversation) = conversations::get(c, &message.conversation)? else {
        return Ok(None);
    };
    // A conversation a mention started is answered in public, each reply under the post it
    // answers (the customer's latest, for an agent).
    let started_public = messages::first_inbound(c, &conversation.id)?
        .is_some_and(|first| first.kind == MessageKind::Mention.as_str());
    let public_reply_to = match started_public {
        true => match message.in_reply_to.clone() {
            Some(post) => Some(post),
            None => {
                messages::latest_inbound(c, &conversation.id)?.and_then(|latest| latest.platform_id)
            }
        },
        false => None,
    };
    Ok(Some(ClaimedSend {
        message,
        conversation,
        public_reply_to,
    }))
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn queue_message(&self, message: NewMessage, now: i64) -> anyhow::Result<String> {
        self.db
            .call(move |c| messages::insert(c, &message, now))
            .await
    }

    async fn claim_sends(
        &self,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> anyhow::Result<Vec<ClaimedSend>> {
        self.db
            .call(move |c| {
                let mut claimed = Vec::new();
                for message in messages::claim_due(c, now, limit, lease_ms)? {
                    claimed.extend(claimed_send(c, message)?);
                }
                Ok(claimed)
            })
            .await
    }

    async fn record_sent_and_claim_next(
        &self,
        id: &str,
        conversation: &str,
        attempt: i64,
        platform_id: String,
        now: i64,
        lease_ms: i64,
    ) -> anyhow::Result<Option<ClaimedSend>> {
        let (id, conversation) = (id.to_string(), conversation.to_string());
        self.db
            .call(move |c| {
                if !messages::mark_sent(c, &id, &platform_id, attempt, now)? {
                    return Ok(None);
                }
                match messages::claim_next_of(c, &conversation, now, lease_ms)? {
                    Some(next) => claimed_send(c, next),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn release_claims(&self, now: i64) -> anyhow::Result<usize> {
        self.db
            .call(move |c| messages::release_all_claims(c, now))
            .await
    }

    async fn next_send_at(&self) -> anyhow::Result<Option<i64>> {
        self.reads.call(messages::next_due_at).await
    }

    async fn record_send(
        &self,
        id: &str,
        attempt: i64,
        record: SendRecord,
        now: i64,
    ) -> anyhow::Result<()> {
        let id = id.to_string();
        self.db
            .call(move |c| match &record {
                SendRecord::Sent { platform_id } => {
                    messages::mark_sent(c, &id, platform_id, attempt, now).map(|_| ())
                }
                SendRecord::Retry { error, at, uncount } => {
                    messages::schedule_retry(c, &id, error, attempt, *at, now, *uncount)
                }
                SendRecord::Failed { error } => messages::mark_failed(c, &id, error, attempt, now),
            })
            .await
    }

    async fn pending_sends(&self) -> anyhow::Result<i64> {
        self.reads.call(messages::pending_count).await
    }

    async fn reserve_daily_send(
        &self,
        integration: &str,
        cap: u32,
        now: i64,
    ) -> anyhow::Result<bool> {
        let integration = integration.to_string();
        self.db
            .call(move |c| Ok(reserve_send(c, &integration, cap, now)?.is_some()))
            .await
    }

    async fn release_daily_send(&self, integration: &str, reserved_at: i64) -> anyhow::Result<()> {
        let integration = integration.to_string();
        self.db
            .call(move |c| release_send(c, &integration, reserved_at))
            .await
    }

    async fn sends_today(&self, integration: &str, now: i64) -> anyhow::Result<i64> {
        let integration = integration.to_string();
        self.reads
            .call(move |c| sends_today(c, &integration, now))
            .await
    }
}
