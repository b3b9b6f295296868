//! The outbox: claiming due messages for one attempt each (`FOR UPDATE SKIP LOCKED`, so hosts
//! claim side by side without waiting on each other), recording how attempts end, and the daily
//! send counts of capped integrations (counted in the database, for every host at once).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::db::{exec, row, unit};
use super::{PgStore, conversations, messages};
use crate::events::MessageKind;
use crate::model::{Message, NewMessage};
use crate::store::api::{ClaimedSend, OutboxStore, SendRecord};
use crate::store::days::utc_day;

async fn claim(
    c: &impl GenericClient,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> anyhow::Result<Vec<ClaimedSend>> {
    let mut claimed = Vec::new();
    for message in messages::claim_due(c, now, limit, lease_ms).await? {
        claimed.extend(claimed_send(c, message).await?);
    }
    Ok(claimed)
}

/// A claimed message with what its send needs: its conversation, and the post a public reply
/// goes under. `None` if the conversation is gone.
async fn claimed_send(
    c: &impl GenericClient,
    message: Message,
) -> anyhow::Result<Option<ClaimedSend>> {
    let Some(conversation) = conversations::get(c, &message.conversation).await? else {
        return Ok(None);
    };
    // A conversation a mention started is answered in public, each reply under the post it
    // answers (the customer's latest, for an agent).
    let started_public = messages::first_inbound(c, &conversation.id)
        .await?
        .is_some_and(|first| first.kind == MessageKind::Mention.as_str());
    let public_reply_to = match started_public {
        true => match message.in_reply_to.clone() {
            Some(post) => Some(post),
            None => messages::latest_inbound(c, &conversation.id)
                .await?
                .and_then(|latest| latest.platform_id),
        },
        false => None,
    };
    Ok(Some(ClaimedSend {
        message,
        conversation,
        public_reply_to,
    }))
}

/// Records a sent attempt and claims the next message of its conversation (see
/// [`OutboxStore::record_sent_and_claim_next`]).
async fn sent_and_next(
    c: &impl GenericClient,
    id: &str,
    conversation: &str,
    attempt: i64,
    platform_id: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<ClaimedSend>> {
    if !messages::mark_sent(c, id, platform_id, attempt, now).await? {
        return Ok(None);
    }
    match messages::claim_next_of(c, conversation, now, lease_ms).await? {
        Some(next) => claimed_send(c, next).await,
        None => Ok(None),
    }
}

/// Reserves one send of today's allowance; `false` when `cap` sends are already counted. The
/// day's row is locked by the upsert, so hosts reserving at once count one after the other.
async fn reserve_send(
    c: &impl GenericClient,
    integration: &str,
    cap: u32,
    now: i64,
) -> anyhow::Result<bool> {
    if cap == 0 {
        return Ok(false);
    }
    let cap = i64::from(cap);
    let counted = row(
        c,
        "INSERT INTO daily_sends (integration, day, count) VALUES ($1, $2, 1)
         ON CONFLICT (integration, day) DO UPDATE SET count = daily_sends.count + 1
             WHERE daily_sends.count < $3
         RETURNING count",
        &[&integration, &utc_day(now), &cap],
    )
    .await?;
    Ok(counted.is_some())
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn queue_message(&self, message: NewMessage, now: i64) -> anyhow::Result<String> {
        unit!(self.pool, ReadCommitted, |tx| messages::insert(
            &tx,
            message.clone(),
            now
        )
        .await)
    }

    async fn claim_sends(
        &self,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> anyhow::Result<Vec<ClaimedSend>> {
        unit!(self.pool, ReadCommitted, |tx| claim(
            &tx, now, limit, lease_ms
        )
        .await)
    }

    async fn release_claims(&self, now: i64) -> anyhow::Result<usize> {
        unit!(self.pool, ReadCommitted, |tx| messages::release_all_claims(
            &tx, now
        )
        .await)
    }

    async fn next_send_at(&self) -> anyhow::Result<Option<i64>> {
        messages::next_due_at(&self.pool.get().await?).await
    }

    async fn record_send(
        &self,
        id: &str,
        attempt: i64,
        record: SendRecord,
        now: i64,
    ) -> anyhow::Result<()> {
        unit!(self.pool, ReadCommitted, |tx| match &record {
            SendRecord::Sent { platform_id } => {
                messages::mark_sent(&tx, id, platform_id, attempt, now)
                    .await
                    .map(|_| ())
            }
            SendRecord::Retry { error, at, uncount } => {
                messages::schedule_retry(&tx, id, error, attempt, *at, now, *uncount).await
            }
            SendRecord::Failed { error } => {
                messages::mark_failed(&tx, id, error, attempt, now).await
            }
        })
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
        unit!(self.pool, ReadCommitted, |tx| sent_and_next(
            &tx,
            id,
            conversation,
            attempt,
            &platform_id,
            now,
            lease_ms
        )
        .await)
    }

    async fn pending_sends(&self) -> anyhow::Result<i64> {
        messages::pending_count(&self.pool.get().await?).await
    }

    async fn reserve_daily_send(
        &self,
        integration: &str,
        cap: u32,
        now: i64,
    ) -> anyhow::Result<bool> {
        unit!(self.pool, ReadCommitted, |tx| reserve_send(
            &tx,
            integration,
            cap,
            now
        )
        .await)
    }

    async fn release_daily_send(&self, integration: &str, reserved_at: i64) -> anyhow::Result<()> {
        unit!(self.pool, ReadCommitted, |tx| {
            exec(
                &tx,
                "UPDATE daily_sends SET count = GREATEST(count - 1, 0) WHERE integration = $1 AND day = $2",
                &[&integration, &utc_day(reserved_at)],
            )
            .await
            .map(|_| ())
        })
    }

    async fn sends_today(&self, integration: &str, now: i64) -> anyhow::Result<i64> {
        Ok(row(
            &self.pool.get().await?,
            "SELECT count FROM daily_sends WHERE integration = $1 AND day = $2",
            &[&integration, &utc_day(now)],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0))
    }
}
