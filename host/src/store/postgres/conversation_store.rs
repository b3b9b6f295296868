//! The Conversation store: threading customer messages (per [`crate::rules::threading`]),
//! storing flow turns, receipts and read markers, `ask` timeouts, transcripts.
//!
//! One open conversation per contact, whichever host receives the message: threading runs
//! under the customer's lease (checked, and its row locked, in the same transaction), so one
//! host at a time threads a customer's messages, in the order they were stored.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::conversations::{
    count_by_state, due_timeouts, find_threaded, get, insert, latest_for_customer, next_timeout,
    update, wrapups,
};
use super::db::unit;
use super::{PgStore, inbox, leases, messages, presence};
use crate::events::{Author, DeliveryStatus, ReadMarker, Receipt};
use crate::model::{Conversation, Direction, Message, MessageStatus, NewMessage, new_id};
use crate::rules::threading;
use crate::store::api::{
    ConversationStore, DueTimeout, Lease, ReceiptApplied, StateCount, ThreadMessage, Transcript,
    TurnRecord,
};

/// Threads a message (see [`ConversationStore::thread_message`]).
async fn thread(c: &impl GenericClient, t: &ThreadMessage) -> anyhow::Result<Conversation> {
    leases::check(c, &t.lease).await?;
    inbox::check_unprocessed(c, t.seq).await?;
    let latest = match threading::window_start(t.window_ms, t.now) {
        Some(start) => find_threaded(c, &t.integration, &t.message.customer_id, start).await?,
        None => None,
    };
    if latest.is_none() && t.window_ms > 0 {
        abandon_lapsed(c, t).await?;
    }
    let threading::Threaded {
        mut conversation,
        is_new,
    } = threading::choose(
        latest,
        &t.message,
        || {
            threading::new_conversation(
                new_id("c"),
                &t.integration,
                &t.message,
                &t.flow,
                t.flow_version,
                t.now,
            )
        },
        t.now,
    );
    // A redelivered event (handled before a crash) finds its message already stored.
    if !is_new && messages::has_inbound(c, &conversation.id, &t.message.id).await? {
        return Ok(conversation);
    }
    threading::note_customer_message(&mut conversation, &t.message, is_new, t.now);
    if is_new {
        insert(c, &conversation).await?;
    } else {
        update(c, &mut conversation).await?;
    }
    let m = &t.message;
    messages::insert(
        c,
        NewMessage {
            conversation: conversation.id.clone(),
            direction: Direction::Inbound,
            author: Author::Customer,
            agent: None,
            text: m.text.clone(),
            attachments: m.attachments.clone(),
            quick_replies: Vec::new(),
            quick_reply: m.quick_reply.clone(),
            platform_id: Some(m.id.clone()),
            in_reply_to: None,
            kind: m.kind,
            template: None,
            reaction: m.reaction.clone(),
            reply_to: m.reply_to.clone(),
        },
        t.now,
    )
    .await?;
    if !threading::runs_flow(&conversation, &t.message) {
        inbox::mark_processed_held(c, t.seq, &t.lease, t.now).await?;
    }
    Ok(conversation)
}

async fn apply_turn(c: &impl GenericClient, turn: &TurnRecord) -> anyhow::Result<()> {
    leases::check(c, &turn.lease).await?;
    let mut conversation = turn.conversation.clone();
    update(c, &mut conversation).await?;
    for reply in &turn.replies {
        messages::insert(c, reply.clone(), turn.now).await?;
    }
    match turn.processed {
        Some(seq) => inbox::mark_processed_held(c, seq, &turn.lease, turn.now).await,
        None => leases::release_if_idle(c, &turn.lease).await,
    }
}

async fn apply_receipt(
    c: &impl GenericClient,
    integration: &str,
    seq: i64,
    receipt: &Receipt,
    lease: &Lease,
    now: i64,
) -> anyhow::Result<Option<ReceiptApplied>> {
    let status = match receipt.status {
        DeliveryStatus::Pending => MessageStatus::Pending,
        DeliveryStatus::Sent => MessageStatus::Sent,
        DeliveryStatus::Delivered => MessageStatus::Delivered,
        DeliveryStatus::Read => MessageStatus::Read,
        DeliveryStatus::Failed => MessageStatus::Failed,
    };
    let changed = messages::apply_receipt(
        c,
        integration,
        &receipt.message_id,
        status,
        receipt.reason.as_deref(),
        now,
    )
    .await?;
    inbox::mark_processed_under(c, seq, lease, now).await?;
    let Some((message, conversation)) = changed else {
        return Ok(None);
    };
    let agent = get(c, &conversation).await?.and_then(|c| c.agent);
    Ok(Some(ReceiptApplied {
        message,
        conversation,
        agent,
        status,
        reason: receipt.reason.clone(),
    }))
}

/// The customer's earlier interaction, older than the window, that still waits in a queue ends
/// unanswered ([`threading::abandon_if_waiting`]); an open offer of it is withdrawn. Under the
/// customer's lease, like the threading itself; over the version it read.
async fn abandon_lapsed(c: &impl GenericClient, t: &ThreadMessage) -> anyhow::Result<()> {
    let Some(mut stale) = latest_for_customer(c, &t.integration, &t.message.customer_id).await?
    else {
        return Ok(());
    };
    if threading::abandon_if_waiting(&mut stale, t.now) {
        update(c, &mut stale).await?;
        if let Some((agent, _)) = presence::open_offer(c, &stale.id).await? {
            presence::close_offer(c, &stale.id, &agent, "withdrawn").await?;
        }
    }
    Ok(())
}

#[async_trait]
impl ConversationStore for PgStore {
    async fn thread_message(&self, message: ThreadMessage) -> anyhow::Result<Conversation> {
        unit!(self.pool, ReadCommitted, |tx| thread(&tx, &message).await)
    }

    async fn conversation(&self, id: &str) -> anyhow::Result<Option<Conversation>> {
        get(&self.pool.get().await?, id).await
    }

    async fn apply_turn(&self, turn: TurnRecord) -> anyhow::Result<()> {
        unit!(self.pool, ReadCommitted, |tx| apply_turn(&tx, &turn).await)
    }

    async fn due_flow_timeouts(&self, now: i64, limit: usize) -> anyhow::Result<Vec<DueTimeout>> {
        due_timeouts(&self.pool.get().await?, now, limit).await
    }

    async fn next_flow_timeout(&self) -> anyhow::Result<Option<i64>> {
        next_timeout(&self.pool.get().await?).await
    }

    async fn apply_receipt(
        &self,
        integration: &str,
        seq: i64,
        receipt: Receipt,
        lease: &Lease,
        now: i64,
    ) -> anyhow::Result<Option<ReceiptApplied>> {
        unit!(self.pool, ReadCommitted, |tx| {
            apply_receipt(&tx, integration, seq, &receipt, lease, now).await
        })
    }

    async fn apply_read(
        &self,
        integration: &str,
        seq: i64,
        read: ReadMarker,
        lease: &Lease,
        now: i64,
    ) -> anyhow::Result<()> {
        unit!(self.pool, ReadCommitted, |tx| {
            if let Some(conversation) =
                latest_for_customer(&tx, integration, &read.customer_id).await?
            {
                messages::mark_read_up_to(
                    &tx,
                    &conversation.id,
                    read.up_to_message_id.as_deref(),
                    now,
                )
                .await?;
            }
            inbox::mark_processed_under(&tx, seq, lease, now).await
        })
    }

    async fn transcript(&self, id: &str) -> anyhow::Result<Option<Transcript>> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(conversation) = get(&tx, id).await? else {
            return Ok(None);
        };
        let transcript = Transcript {
            messages: messages::transcript(&tx, id).await?,
            wrapups: wrapups(&tx, id).await?,
            conversation,
        };
        tx.commit().await?;
        Ok(Some(transcript))
    }

    async fn latest_inbound(&self, conversation: &str) -> anyhow::Result<Option<Message>> {
        messages::latest_inbound(&self.pool.get().await?, conversation).await
    }

    async fn count_by_state(&self) -> anyhow::Result<Vec<StateCount>> {
        count_by_state(&self.pool).await
    }
}
