//! From stored inbox events to conversations: threading, the flow run, receipts.
//!
//! Webhooks only store events (durably, before the platform's 2xx). This worker takes them from
//! the inbox in order and spreads them over shards by customer, so one customer's messages are
//! handled in order while different customers proceed in parallel. Each event is handled in one
//! store transaction: the message, the conversation's new flow state, the flow's replies (as
//! pending outbound messages) and the inbox mark commit together or not at all, so a crash at any
//! point leaves the event unprocessed and it is handled again on restart.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app::App;
use crate::engine::{self, Effect, FlowState, Outcome, TurnInput};
use crate::events::{Author, DeliveryStatus, InboundEvent, InboundMessage, MessageKind, Profile};
use crate::store::{
    self, Conversation, ConversationState, Direction, InboxEvent, MessageStatus, NewMessage,
};

const SHARDS: usize = 8;
const BATCH: usize = 512;

/// Runs forever: dispatches pending inbox events to the shard workers.
pub async fn run(app: Arc<App>) {
    let shards: Vec<mpsc::Sender<InboxEvent>> = (0..SHARDS)
        .map(|_| {
            let (tx, rx) = mpsc::channel(BATCH);
            tokio::spawn(shard(app.clone(), rx));
            tx
        })
        .collect();
    let mut after = 0;
    loop {
        let wake = app.inbox_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        match app
            .store
            .call(move |c| store::inbox::pending(c, after, BATCH))
            .await
        {
            Ok(batch) if !batch.is_empty() => {
                for event in batch {
                    after = event.seq;
                    let mut h = DefaultHasher::new();
                    (&event.integration, event.event.customer_id()).hash(&mut h);
                    if shards[(h.finish() as usize) % SHARDS]
                        .send(event)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!("cannot read the inbox: {e:#}"),
        }
        tokio::select! {
            _ = &mut wake => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

async fn shard(app: Arc<App>, mut events: mpsc::Receiver<InboxEvent>) {
    while let Some(event) = events.recv().await {
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=3 {
            match process(&app, &event).await {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    tracing::warn!(
                        seq = event.seq,
                        "processing an inbox event failed, retrying: {e:#}"
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                // Left unprocessed in the inbox: it is tried again at the next start.
                Err(e) => {
                    tracing::error!(seq = event.seq, integration = %event.integration, "cannot process an inbox event: {e:#}")
                }
            }
        }
    }
}

/// What a processed message led to, for metrics and wake-ups.
#[derive(Default)]
struct Report {
    steps: u32,
    sends: usize,
    failure: Option<String>,
}

async fn process(app: &Arc<App>, event: &InboxEvent) -> anyhow::Result<()> {
    let seq = event.seq;
    let integration_id = event.integration.clone();
    match &event.event {
        InboundEvent::Message(message) => {
            let Some(integration) = app.integration(&integration_id) else {
                tracing::warn!(integration = %integration_id, "a stored message belongs to an integration no longer configured; skipped");
                return app
                    .store
                    .call(move |c| store::inbox::mark_processed(c, seq, store::now_ms()))
                    .await;
            };
            let message = message.clone();
            let flow_name = integration.config.flow.clone();
            let window_ms = integration.config.threading_window_ms();
            let latest = app.flows.latest(&flow_name);
            let app2 = app.clone();
            let report = app
                .store
                .call(move |conn| {
                    let now = store::now_ms();
                    let report = handle_message(
                        conn,
                        &app2,
                        &integration_id,
                        &message,
                        &flow_name,
                        latest,
                        window_ms,
                        now,
                    )?;
                    store::inbox::mark_processed(conn, seq, now)?;
                    Ok(report)
                })
                .await?;
            app.metrics.flow_steps(report.steps);
            if let Some(error) = report.failure {
                app.metrics.flow_failed();
                tracing::error!(integration = %event.integration, "flow failed: {error}");
            }
            if report.sends > 0 {
                app.outbound_wake.notify_one();
            }
        }
        InboundEvent::Receipt(receipt) => {
            let receipt = receipt.clone();
            app.store
                .call(move |c| {
                    let now = store::now_ms();
                    let status = match receipt.status {
                        DeliveryStatus::Pending => MessageStatus::Pending,
                        DeliveryStatus::Sent => MessageStatus::Sent,
                        DeliveryStatus::Delivered => MessageStatus::Delivered,
                        DeliveryStatus::Read => MessageStatus::Read,
                        DeliveryStatus::Failed => MessageStatus::Failed,
                    };
                    store::messages::apply_receipt(
                        c,
                        &integration_id,
                        &receipt.message_id,
                        status,
                        receipt.reason.as_deref(),
                        now,
                    )?;
                    store::inbox::mark_processed(c, seq, now)
                })
                .await?;
        }
        InboundEvent::Read(read) => {
            let read = read.clone();
            app.store
                .call(move |c| {
                    let now = store::now_ms();
                    if let Some(conversation) = store::conversations::latest_for_customer(
                        c,
                        &integration_id,
                        &read.customer_id,
                    )? {
                        store::messages::mark_read_up_to(
                            c,
                            &conversation.id,
                            read.up_to_message_id.as_deref(),
                            now,
                        )?;
                    }
                    store::inbox::mark_processed(c, seq, now)
                })
                .await?;
        }
        // Typing indicators matter only to a live agent view (the ACD issue's agent events).
        InboundEvent::Typing(_) => {
            app.store
                .call(move |c| store::inbox::mark_processed(c, seq, store::now_ms()))
                .await?;
        }
    }
    Ok(())
}

/// Threads the message into a conversation, stores it and, while the conversation is in its
/// flow, runs a flow turn. Runs on the store thread, inside the event's transaction.
#[allow(clippy::too_many_arguments)]
fn handle_message(
    conn: &rusqlite::Connection,
    app: &App,
    integration: &str,
    message: &InboundMessage,
    flow_name: &str,
    latest: Option<i64>,
    window_ms: i64,
    now: i64,
) -> anyhow::Result<Report> {
    let threaded = if window_ms > 0 {
        store::conversations::find_threaded(
            conn,
            integration,
            &message.customer_id,
            now - window_ms,
        )?
    } else {
        None
    };
    let (mut conversation, is_new) = match threaded {
        Some(c) if c.state != ConversationState::Ended => (c, false),
        _ => (
            Conversation {
                id: store::new_id("c"),
                integration: integration.to_string(),
                customer_id: message.customer_id.clone(),
                customer: Profile::default(),
                state: ConversationState::Flow,
                flow: Some(flow_name.to_string()),
                flow_version: latest,
                flow_state: None,
                queue: None,
                priority: 0,
                skills: Vec::new(),
                agent: None,
                last_agent: None,
                participant_data: Default::default(),
                queued_at: None,
                created_at: now,
                updated_at: now,
                last_customer_at: now,
                last_customer_written_at: now,
            },
            true,
        ),
    };
    if let Some(profile) = &message.profile {
        conversation.customer = profile.clone();
    }
    // Reply windows count from when the customer wrote (the platform's timestamp), not from
    // when the webhook arrived; a clock ahead of ours is not trusted.
    let written_at = match message.timestamp_ms as i64 {
        0 => now,
        at => at.min(now),
    };
    conversation.last_customer_at = now;
    conversation.last_customer_written_at = if is_new {
        written_at
    } else {
        conversation.last_customer_written_at.max(written_at)
    };
    conversation.updated_at = now;
    if is_new {
        store::conversations::insert(conn, &conversation)?;
    }
    store::messages::insert(
        conn,
        NewMessage {
            conversation: conversation.id.clone(),
            direction: Direction::Inbound,
            author: Author::Customer,
            agent: None,
            text: message.text.clone(),
            attachments: message.attachments.clone(),
            quick_replies: Vec::new(),
            quick_reply: message.quick_reply.clone(),
            platform_id: Some(message.id.clone()),
            in_reply_to: None,
            kind: message.kind,
            template: None,
            reaction: message.reaction.clone(),
            reply_to: message.reply_to.clone(),
        },
        now,
    )?;

    let mut report = Report::default();
    // A reaction is shown to agents but is no answer to a question: it never moves the flow.
    if conversation.state == ConversationState::Flow && message.kind != MessageKind::Reaction {
        run_flow(conn, app, &mut conversation, message, now, &mut report)?;
    }
    store::conversations::update(conn, &conversation)?;
    Ok(report)
}

fn run_flow(
    conn: &rusqlite::Connection,
    app: &App,
    conversation: &mut Conversation,
    message: &InboundMessage,
    now: i64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (Some(name), Some(version)) = (conversation.flow.clone(), conversation.flow_version) else {
        anyhow::bail!("conversation {} has no flow version", conversation.id);
    };
    let flow = app.flows.load(conn, &name, version)?;
    let state: Option<FlowState> = conversation
        .flow_state
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let queues = app.queues.clone();
    let queue_exists = move |q: &str| queues.contains(q);
    let input = TurnInput {
        message: json!({
            "id": message.id,
            "text": message.text.clone().unwrap_or_default(),
            "quick_reply": message.quick_reply,
            "attachments": message.attachments,
            "kind": message.kind.as_str(),
            "reply_to": message.reply_to,
            "reaction": message.reaction,
        }),
        customer: customer_value(&conversation.customer_id, &conversation.customer),
        integration: &conversation.integration,
        conversation: &conversation.id,
        queue_exists: &queue_exists,
    };
    let turn = engine::run_turn(&flow, state, &input);
    report.steps = turn.steps_run;
    for effect in turn.effects {
        let Effect::Send {
            text,
            quick_replies,
        } = effect;
        store::messages::insert(
            conn,
            NewMessage {
                conversation: conversation.id.clone(),
                direction: Direction::Outbound,
                author: Author::Bot,
                agent: None,
                text: Some(text),
                attachments: Vec::new(),
                quick_replies,
                quick_reply: None,
                platform_id: None,
                in_reply_to: Some(message.id.clone()),
                kind: MessageKind::Direct,
                template: None,
                reaction: None,
                reply_to: None,
            },
            now,
        )?;
        report.sends += 1;
    }
    conversation.participant_data = turn.state.vars.clone();
    conversation.flow_state = Some(serde_json::to_string(&turn.state)?);
    match turn.outcome {
        Outcome::Waiting { .. } => {}
        Outcome::Transferred {
            queue,
            priority,
            skills,
        } => {
            conversation.state = ConversationState::Queued;
            conversation.queue = Some(queue);
            conversation.priority = priority;
            conversation.skills = skills;
            conversation.queued_at = Some(now);
        }
        Outcome::Disconnected => conversation.state = ConversationState::Ended,
        Outcome::Failed { step, error } => {
            conversation.state = ConversationState::Ended;
            report.failure = Some(format!(
                "flow `{name}` v{version}, conversation {}, step `{step}`: {error}",
                conversation.id
            ));
        }
    }
    Ok(())
}

/// `customer` as flows see it.
fn customer_value(id: &str, profile: &Profile) -> Value {
    json!({
        "id": id,
        "name": profile.display_name,
        "handle": profile.handle,
        "verified": profile.verified,
        "followers": profile.followers,
        "posts": profile.posts,
        "email": profile.email,
    })
}
