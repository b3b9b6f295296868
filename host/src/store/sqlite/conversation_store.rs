//! The Conversation store: threading customer messages (per [`crate::rules::threading`]),
//! storing flow turns, receipts and read markers, `ask` timeouts, transcripts.

use async_trait::async_trait;
use rusqlite::Connection;

use super::conversations::{
    count_by_state, due_timeouts, find_threaded, get, insert, latest_for_customer, next_timeout,
    update, wrapups,
};
use super::{SqliteStore, inbox, leases, messages, presence};
use crate::events::{Author, DeliveryStatus, ReadMarker, Receipt};
use crate::model::{Conversation, Direction, Message, MessageStatus, NewMessage, new_id};
use crate::rules::threading;
use crate::store::api::{
    ConversationStore, DueTimeout, Lease, ReceiptApplied, StateCount, ThreadMessage, Transcript,
    TurnRecord,
};

/// Threads a message (see [`ConversationStore::thread_message`]).
fn thread(conn: &Connection, t: &ThreadMessage) -> anyhow::Result<Conversation> {
    let latest = match threading::window_start(t.window_ms, t.now) {
        Some(start) => find_threaded(conn, &t.integration, &t.message.customer_id, start)?,
        None => None,
    };
    if latest.is_none() && t.window_ms > 0 {
        abandon_lapsed(conn, t)?;
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
    if !is_new && messages::has_inbound(conn, &conversation.id, &t.message.id)? {
        return Ok(conversation);
    }
    threading::note_customer_message(&mut conversation, &t.message, is_new, t.now);
    if is_new {
        insert(conn, &conversation)?;
    } else {
        update(conn, &mut conversation)?;
    }
    let m = &t.message;
    messages::insert(
        conn,
        &NewMessage {
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
    )?;
    Ok(conversation)
}

/// The customer's earlier interaction, older than the window, that still waits in a queue ends
/// unanswered ([`threading::abandon_if_waiting`]); an open offer of it is withdrawn.
fn abandon_lapsed(conn: &Connection, t: &ThreadMessage) -> anyhow::Result<()> {
    let Some(mut stale) = latest_for_customer(conn, &t.integration, &t.message.customer_id)? else {
        return Ok(());
    };
    if threading::abandon_if_waiting(&mut stale, t.now) {
        update(conn, &mut stale)?;
        if let Some((agent, _)) = presence::open_offer(conn, &stale.id)? {
            presence::close_offer(conn, &stale.id, &agent, "withdrawn")?;
        }
    }
    Ok(())
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn thread_message(&self, message: ThreadMessage) -> anyhow::Result<Conversation> {
        self.db
            .call(move |c| {
                leases::check(c, &message.lease)?;
                inbox::check_unprocessed(c, message.seq)?;
                let conversation = thread(c, &message)?;
                if !threading::runs_flow(&conversation, &message.message) {
                    inbox::mark_processed_under(c, message.seq, &message.lease, message.now)?;
                }
                Ok(conversation)
            })
            .await
    }

    async fn conversation(&self, id: &str) -> anyhow::Result<Option<Conversation>> {
        let id = id.to_string();
        self.reads.call(move |c| get(c, &id)).await
    }

    async fn apply_turn(&self, turn: TurnRecord) -> anyhow::Result<()> {
        self.db
            .call(move |c| {
                leases::check(c, &turn.lease)?;
                let mut conversation = turn.conversation.clone();
                update(c, &mut conversation)?;
                for reply in &turn.replies {
                    messages::insert(c, reply, turn.now)?;
                }
                match turn.processed {
                    Some(seq) => inbox::mark_processed_under(c, seq, &turn.lease, turn.now)?,
                    None => leases::release_if_idle(c, &turn.lease)?,
                }
                Ok(())
            })
            .await
    }

    async fn due_flow_timeouts(&self, now: i64, limit: usize) -> anyhow::Result<Vec<DueTimeout>> {
        self.reads.call(move |c| due_timeouts(c, now, limit)).await
    }

    async fn next_flow_timeout(&self) -> anyhow::Result<Option<i64>> {
        self.reads.call(next_timeout).await
    }

    async fn apply_receipt(
        &self,
        integration: &str,
        seq: i64,
        receipt: Receipt,
        lease: &Lease,
        now: i64,
    ) -> anyhow::Result<Option<ReceiptApplied>> {
        let integration = integration.to_string();
        let lease = lease.clone();
        self.db
            .call(move |c| {
                let status = match receipt.status {
                    DeliveryStatus::Pending => MessageStatus::Pending,
                    DeliveryStatus::Sent => MessageStatus::Sent,
                    DeliveryStatus::Delivered => MessageStatus::Delivered,
                    DeliveryStatus::Read => MessageStatus::Read,
                    DeliveryStatus::Failed => MessageStatus::Failed,
                };
                let changed = messages::apply_receipt(
                    c,
                    &integration,
                    &receipt.message_id,
                    status,
                    receipt.reason.as_deref(),
                    now,
                )?;
                inbox::mark_processed_under(c, seq, &lease, now)?;
                let Some((message, conversation)) = changed else {
                    return Ok(None);
                };
                let agent = get(c, &conversation)?.and_then(|c| c.agent);
                Ok(Some(ReceiptApplied {
                    message,
                    conversation,
                    agent,
                    status,
                    reason: receipt.reason.clone(),
                }))
            })
            .await
    }

    async fn apply_read(
        &self,
        integration: &str,
        seq: i64,
        read: ReadMarker,
        lease: &Lease,
        now: i64,
    ) -> anyhow::Result<()> {
        let integration = integration.to_string();
        let lease = lease.clone();
        self.db
            .call(move |c| {
                if let Some(conversation) = latest_for_customer(c, &integration, &read.customer_id)?
                {
                    messages::mark_read_up_to(
                        c,
                        &conversation.id,
                        read.up_to_message_id.as_deref(),
                        now,
                    )?;
                }
                inbox::mark_processed_under(c, seq, &lease, now)
            })
            .await
    }

    async fn transcript(&self, id: &str) -> anyhow::Result<Option<Transcript>> {
        let id = id.to_string();
        self.reads
            .call(move |c| {
                let Some(conversation) = get(c, &id)? else {
                    return Ok(None);
                };
                Ok(Some(Transcript {
                    messages: messages::transcript(c, &id)?,
                    wrapups: wrapups(c, &id)?,
                    conversation,
                }))
            })
            .await
    }

    async fn latest_inbound(&self, conversation: &str) -> anyhow::Result<Option<Message>> {
        let conversation = conversation.to_string();
        self.reads
            .call(move |c| messages::latest_inbound(c, &conversation))
            .await
    }

    async fn count_by_state(&self) -> anyhow::Result<Vec<StateCount>> {
        self.reads.call(count_by_state).await
    }
}
