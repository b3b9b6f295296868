//! From stored inbox events to conversations: threading, the flow run, receipts, timeouts.
//!
//! Webhooks only store events (durably, before the platform's 2xx). This worker takes them from
//! the inbox in order and spreads them over shards by customer, so one customer's messages (and
//! their `ask` timeouts) are handled in order while different customers proceed in parallel.
//!
//! A message is handled in two transactions around the flow run: the first threads it into a
//! conversation and stores it (idempotently: a redelivered event finds it there), the second
//! stores what the flow did (its replies as pending outbound messages, its new state) and marks
//! the inbox event processed. Plugin calls (bots, data actions) run between the two, outside any
//! transaction. A crash at any point leaves the event unprocessed; on restart it runs again from
//! the same stored state.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app::App;
use crate::engine::{self, Drive, Effect, Event, Flow, FlowState, Outcome, TurnInput};
use crate::events::{Author, DeliveryStatus, InboundEvent, InboundMessage, MessageKind, Profile};
use crate::store::{
    self, Conversation, ConversationState, Direction, InboxEvent, MessageStatus, NewMessage,
};

const SHARDS: usize = 8;
const BATCH: usize = 512;

/// Work for a shard: an inbox event, or an `ask` that timed out.
enum Job {
    Inbox(InboxEvent),
    Timeout { conversation: String },
}

/// Runs forever: dispatches pending inbox events and due timeouts to the shard workers.
pub async fn run(app: Arc<App>) {
    let timeouts_in_flight: Arc<Mutex<HashSet<String>>> = Default::default();
    let shards: Vec<mpsc::Sender<Job>> = (0..SHARDS)
        .map(|_| {
            let (tx, rx) = mpsc::channel(BATCH);
            tokio::spawn(shard(app.clone(), rx, timeouts_in_flight.clone()));
            tx
        })
        .collect();
    let shard_of = |integration: &str, customer: &str| {
        let mut h = DefaultHasher::new();
        (integration, customer).hash(&mut h);
        (h.finish() as usize) % SHARDS
    };
    tokio::spawn(run_timeouts(
        app.clone(),
        shards.clone(),
        timeouts_in_flight,
        shard_of,
    ));
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
                    let shard = shard_of(&event.integration, event.event.customer_id());
                    if shards[shard].send(Job::Inbox(event)).await.is_err() {
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

/// Runs forever: hands `ask` steps whose no-input timeout has passed to their shard.
async fn run_timeouts(
    app: Arc<App>,
    shards: Vec<mpsc::Sender<Job>>,
    in_flight: Arc<Mutex<HashSet<String>>>,
    shard_of: impl Fn(&str, &str) -> usize,
) {
    loop {
        let now = store::now_ms();
        let due = app
            .store
            .call(move |c| {
                Ok((
                    store::conversations::due_timeouts(c, now, BATCH)?,
                    store::conversations::next_timeout(c)?,
                ))
            })
            .await;
        let next = match due {
            Ok((due, next)) => {
                for (conversation, integration, customer) in due {
                    if !in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(conversation.clone())
                    {
                        continue;
                    }
                    if shards[shard_of(&integration, &customer)]
                        .send(Job::Timeout { conversation })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                next
            }
            Err(e) => {
                tracing::error!("cannot read flow timeouts: {e:#}");
                None
            }
        };
        let wait = next.map_or(1000, |at| (at - store::now_ms()).clamp(50, 1000));
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

async fn shard(
    app: Arc<App>,
    mut jobs: mpsc::Receiver<Job>,
    timeouts_in_flight: Arc<Mutex<HashSet<String>>>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Inbox(event) => {
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
            Job::Timeout { conversation } => {
                if let Err(e) = timeout(&app, &conversation).await {
                    tracing::error!(conversation = %conversation, "cannot run a flow timeout: {e:#}");
                }
                timeouts_in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&conversation);
            }
        }
    }
}

async fn process(app: &Arc<App>, event: &InboxEvent) -> anyhow::Result<()> {
    let seq = event.seq;
    let integration_id = event.integration.clone();
    match &event.event {
        InboundEvent::Message(message) => handle_message(app, event, message).await?,
        InboundEvent::Receipt(receipt) => {
            let receipt = receipt.clone();
            let changed = app
                .store
                .call(move |c| {
                    let now = store::now_ms();
                    let status = match receipt.status {
                        DeliveryStatus::Pending => MessageStatus::Pending,
                        DeliveryStatus::Sent => MessageStatus::Sent,
                        DeliveryStatus::Delivered => MessageStatus::Delivered,
                        DeliveryStatus::Read => MessageStatus::Read,
                        DeliveryStatus::Failed => MessageStatus::Failed,
                    };
                    let changed = store::messages::apply_receipt(
                        c,
                        &integration_id,
                        &receipt.message_id,
                        status,
                        receipt.reason.as_deref(),
                        now,
                    )?;
                    store::inbox::mark_processed(c, seq, now)?;
                    // Who to tell: the agent holding the conversation, if any.
                    let Some((message, conversation)) = changed else {
                        return Ok(None);
                    };
                    let agent = store::conversations::get(c, &conversation)?.and_then(|c| c.agent);
                    Ok(Some((message, conversation, agent, status, receipt.reason)))
                })
                .await?;
            if let Some((message, conversation, agent, status, reason)) = changed {
                app.notify_agent(
                    agent.as_deref(),
                    "delivery_status",
                    json!({ "interaction": conversation, "message_id": message, "status": status, "error": reason }),
                );
            }
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

/// What the first transaction found: the conversation and, when its flow should run, the flow.
struct Threaded {
    conversation: Conversation,
    flow: Option<Arc<Flow>>,
}

async fn handle_message(
    app: &Arc<App>,
    event: &InboxEvent,
    message: &InboundMessage,
) -> anyhow::Result<()> {
    let seq = event.seq;
    let integration_id = event.integration.clone();
    let Some(integration) = app.integration(&integration_id) else {
        tracing::warn!(integration = %integration_id, "a stored message belongs to an integration no longer configured; skipped");
        return app
            .store
            .call(move |c| store::inbox::mark_processed(c, seq, store::now_ms()))
            .await;
    };
    let flow_name = integration.config.flow.clone();
    let window_ms = integration.config.threading_window_ms();
    let latest = app.flows.latest(&flow_name);
    let app2 = app.clone();
    let msg = message.clone();
    let threaded = app
        .store
        .call(move |conn| {
            let now = store::now_ms();
            let conversation = thread_message(
                conn,
                &integration_id,
                &msg,
                &flow_name,
                latest,
                window_ms,
                now,
            )?;
            // A reaction is shown to agents but answers no question: it never moves the flow.
            let runs =
                conversation.state == ConversationState::Flow && msg.kind != MessageKind::Reaction;
            if !runs {
                store::inbox::mark_processed(conn, seq, now)?;
                return Ok(Threaded {
                    conversation,
                    flow: None,
                });
            }
            let (name, version) = (
                conversation.flow.clone().unwrap_or_default(),
                conversation.flow_version.unwrap_or(0),
            );
            let flow = app2.flows.load(conn, &name, version)?;
            Ok(Threaded {
                conversation,
                flow: Some(flow),
            })
        })
        .await?;
    let Some(flow) = threaded.flow else {
        let c = &threaded.conversation;
        match c.state {
            ConversationState::Assigned => app.notify_agent(
                c.agent.as_deref(),
                "customer_message",
                json!({
                    "interaction": c.id,
                    "message": {
                        "direction": "inbound",
                        "author": "customer",
                        "text": message.text,
                        "kind": message.kind.as_str(),
                        "reaction": message.reaction,
                        "attachments": message.attachments,
                        "platform_id": message.id,
                        "status": "received",
                    },
                }),
            ),
            ConversationState::Queued => app.route_wake.notify_one(),
            _ => {}
        }
        return Ok(());
    };
    let mut conversation = threaded.conversation;
    let input_message = json!({
        "id": message.id,
        "text": message.text.clone().unwrap_or_default(),
        "quick_reply": message.quick_reply,
        "attachments": message.attachments,
        "kind": message.kind.as_str(),
        "reply_to": message.reply_to,
        "reaction": message.reaction,
    });
    let drive = run_flow(app, &conversation, flow, Event::Message, input_message).await?;
    let in_reply_to = Some(message.id.clone());
    let report = app
        .store
        .call(move |conn| {
            let now = store::now_ms();
            let report = apply(conn, &mut conversation, drive, in_reply_to, now)?;
            store::inbox::mark_processed(conn, seq, now)?;
            Ok(report)
        })
        .await?;
    report.publish(app, &event.integration);
    Ok(())
}

/// A waiting `ask` timed out: run the flow's no-input path.
async fn timeout(app: &Arc<App>, id: &str) -> anyhow::Result<()> {
    let app2 = app.clone();
    let id = id.to_string();
    let found = app
        .store
        .call(move |conn| {
            let Some(conversation) = store::conversations::get(conn, &id)? else {
                return Ok(None);
            };
            let due = conversation.state == ConversationState::Flow
                && conversation
                    .flow_timeout_at
                    .is_some_and(|at| at <= store::now_ms());
            if !due {
                return Ok(None);
            }
            let (name, version) = (
                conversation.flow.clone().unwrap_or_default(),
                conversation.flow_version.unwrap_or(0),
            );
            let flow = app2.flows.load(conn, &name, version)?;
            Ok(Some((conversation, flow)))
        })
        .await?;
    let Some((mut conversation, flow)) = found else {
        return Ok(());
    };
    let integration = conversation.integration.clone();
    let drive = run_flow(
        app,
        &conversation,
        flow,
        Event::Timeout,
        json!({ "text": "", "kind": "timeout" }),
    )
    .await?;
    let report = app
        .store
        .call(move |conn| apply(conn, &mut conversation, drive, None, store::now_ms()))
        .await?;
    report.publish(app, &integration);
    Ok(())
}

/// Runs the conversation's flow for one event, performing plugin calls.
async fn run_flow(
    app: &Arc<App>,
    conversation: &Conversation,
    flow: Arc<Flow>,
    event: Event,
    message: Value,
) -> anyhow::Result<Drive> {
    let state: Option<FlowState> = conversation
        .flow_state
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let queues = app.queues.clone();
    let queue_exists = move |q: &str| queues.contains(q);
    let input = TurnInput {
        event,
        message,
        customer: customer_value(&conversation.customer_id, &conversation.customer),
        integration: &conversation.integration,
        conversation: &conversation.id,
        now_ms: store::now_ms(),
        queue_exists: &queue_exists,
    };
    let plugins = crate::flow_plugins::HostPlugins::new(app.clone(), conversation);
    Ok(engine::drive(flow, state, input, &plugins, &app.flows).await)
}

/// What a flow run led to, for metrics and wake-ups.
#[derive(Default)]
struct Report {
    steps: u32,
    sends: usize,
    failure: Option<String>,
    queued: bool,
}

impl Report {
    fn publish(self, app: &App, integration: &str) {
        app.metrics.flow_steps(self.steps);
        if let Some(error) = self.failure {
            app.metrics.flow_failed();
            tracing::error!(integration = %integration, "flow failed: {error}");
        }
        if self.sends > 0 {
            app.outbound_wake.notify_one();
        }
        if self.queued {
            app.route_wake.notify_one();
        }
    }
}

/// Stores what the flow did: its messages, its state and where the conversation goes.
fn apply(
    conn: &rusqlite::Connection,
    conversation: &mut Conversation,
    drive: Drive,
    in_reply_to: Option<String>,
    now: i64,
) -> anyhow::Result<Report> {
    let mut report = Report {
        steps: drive.steps_run,
        ..Report::default()
    };
    for effect in drive.effects {
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
                in_reply_to: in_reply_to.clone(),
                kind: MessageKind::Direct,
                template: None,
                reaction: None,
                reply_to: None,
            },
            now,
        )?;
        report.sends += 1;
    }
    if let Some((name, version)) = drive.switched_to {
        conversation.flow = Some(name);
        conversation.flow_version = Some(version);
    }
    conversation.participant_data = drive.state.vars.clone();
    conversation.flow_state = Some(serde_json::to_string(&drive.state)?);
    conversation.flow_timeout_at = None;
    conversation.updated_at = now;
    let flow = conversation.flow.clone().unwrap_or_default();
    match drive.outcome {
        Outcome::Waiting { timeout_at, .. } => conversation.flow_timeout_at = timeout_at,
        Outcome::Transferred {
            queue,
            priority,
            skills,
            language,
            preferred_agents,
        } => {
            conversation.state = ConversationState::Queued;
            conversation.queue = Some(queue);
            conversation.priority = priority;
            conversation.skills = skills;
            conversation.language = language;
            conversation.preferred_agents = preferred_agents;
            conversation.queued_at = Some(now);
            report.queued = true;
        }
        Outcome::Disconnected => conversation.state = ConversationState::Ended,
        Outcome::Failed { step, error } => {
            conversation.state = ConversationState::Ended;
            report.failure = Some(format!(
                "flow `{flow}`, conversation {}, step `{step}`: {error}",
                conversation.id
            ));
        }
        // The driver performs calls and flow transfers; they never end a drive.
        Outcome::Call { step, .. } | Outcome::TransferFlow { flow: step } => {
            conversation.state = ConversationState::Ended;
            report.failure = Some(format!(
                "conversation {}: the flow stopped at `{step}` unexpectedly",
                conversation.id
            ));
        }
    }
    store::conversations::update(conn, conversation)?;
    Ok(report)
}

/// Threads the message into a conversation and stores it (once: a redelivery finds it there).
/// Runs on the store thread.
fn thread_message(
    conn: &rusqlite::Connection,
    integration: &str,
    message: &InboundMessage,
    flow_name: &str,
    latest: Option<i64>,
    window_ms: i64,
    now: i64,
) -> anyhow::Result<Conversation> {
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
        // A reaction to an ended conversation is kept there; it opens nothing.
        Some(c) if message.kind == MessageKind::Reaction => (c, false),
        // Within the threading window, a customer writing again after the wrap-up continues
        // the same interaction: it goes back to the queue (and to the last agent, if available).
        Some(mut c) if c.queue.is_some() => {
            c.state = ConversationState::Queued;
            c.queued_at = Some(now);
            c.agent = None;
            c.inactivity_warned_at = None;
            (c, false)
        }
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
                flow_timeout_at: None,
                language: None,
                preferred_agents: Vec::new(),
                inactivity_warned_at: None,
                assigned_at: None,
            },
            true,
        ),
    };
    if !is_new && store::messages::has_inbound(conn, &conversation.id, &message.id)? {
        return Ok(conversation);
    }
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
    conversation.inactivity_warned_at = None;
    conversation.last_customer_written_at = if is_new {
        written_at
    } else {
        conversation.last_customer_written_at.max(written_at)
    };
    conversation.updated_at = now;
    if is_new {
        store::conversations::insert(conn, &conversation)?;
    } else {
        store::conversations::update(conn, &conversation)?;
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
    Ok(conversation)
}

/// `customer` as flows see it.
pub fn customer_value(id: &str, profile: &Profile) -> Value {
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
