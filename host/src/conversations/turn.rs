//! One unit of inbox work: a customer message (threaded, then its flow run), a receipt, a read
//! marker, a typing indicator, or an `ask` that timed out.

use std::sync::Arc;

use serde_json::{Value, json};

use super::plugins::HostPlugins;
use super::worker::Inbox;
use crate::engine::{self, Drive, Effect, Event, Flow, FlowState, Outcome, TurnInput};
use crate::events::{Author, InboundEvent, InboundMessage, MessageKind};
use crate::model::{Conversation, ConversationState, InboxEvent, NewMessage, now_ms};
use crate::rules::threading;
use crate::store::{Lease, ThreadMessage, TurnRecord};

/// What a flow run led to, for metrics and wake-ups.
#[derive(Default)]
struct Report {
    steps: u32,
    sends: usize,
    failure: Option<String>,
    queued: bool,
}

impl Inbox {
    pub(super) async fn process(&self, event: &InboxEvent, lease: &Lease) -> anyhow::Result<()> {
        let seq = event.seq;
        let integration = &event.integration;
        match &event.event {
            InboundEvent::Message(message) => self.handle_message(event, message, lease).await?,
            InboundEvent::Receipt(receipt) => {
                let changed = self
                    .store
                    .apply_receipt(integration, seq, receipt.clone(), lease, now_ms())
                    .await?;
                // Tell the agent holding the conversation, if any.
                if let Some(r) = changed {
                    self.live.notify_holder(
                        r.agent.as_deref(),
                        "delivery_status",
                        json!({ "interaction": r.conversation, "message_id": r.message, "status": r.status, "error": r.reason }),
                    );
                }
            }
            InboundEvent::Read(read) => {
                self.store
                    .apply_read(integration, seq, read.clone(), lease, now_ms())
                    .await?;
            }
            // Typing indicators matter only to a live agent view.
            InboundEvent::Typing(_) => self.store.mark_processed(seq, lease, now_ms()).await?,
        }
        Ok(())
    }

    async fn handle_message(
        &self,
        event: &InboxEvent,
        message: &InboundMessage,
        lease: &Lease,
    ) -> anyhow::Result<()> {
        let seq = event.seq;
        let Some(integration) = self.integrations.get(&event.integration) else {
            tracing::warn!(integration = %event.integration, "a stored message belongs to an integration no longer configured; skipped");
            return self.store.mark_processed(seq, lease, now_ms()).await;
        };
        let flow = integration.config.flow.clone();
        let conversation = self
            .store
            .thread_message(ThreadMessage {
                lease: lease.clone(),
                integration: event.integration.clone(),
                seq,
                message: message.clone(),
                flow_version: self.flows.latest_version(&flow),
                flow,
                window_ms: integration.config.threading_window_ms(),
                now: now_ms(),
            })
            .await?;
        if !threading::runs_flow(&conversation, message) {
            match conversation.state {
                ConversationState::Assigned => self.live.notify_holder(
                    conversation.agent.as_deref(),
                    "customer_message",
                    json!({
                        "interaction": conversation.id,
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
                ConversationState::Queued => self.wake.wake_route(),
                _ => {}
            }
            return Ok(());
        }
        let flow = self.flow_of(&conversation).await?;
        let input_message = json!({
            "id": message.id,
            "text": message.text.clone().unwrap_or_default(),
            "quick_reply": message.quick_reply,
            "attachments": message.attachments,
            "kind": message.kind.as_str(),
            "reply_to": message.reply_to,
            "reaction": message.reaction,
        });
        let drive = self
            .run_flow(&conversation, flow, Event::Message, input_message)
            .await?;
        let (turn, report) = record(
            conversation,
            drive,
            Some(message.id.clone()),
            lease.clone(),
            now_ms(),
        )?;
        self.store
            .apply_turn(TurnRecord {
                processed: Some(seq),
                ..turn
            })
            .await?;
        self.publish(report, &event.integration);
        Ok(())
    }

    /// A waiting `ask` timed out: run the flow's no-input path.
    pub(super) async fn timeout(&self, id: &str, lease: &Lease) -> anyhow::Result<()> {
        let Some(conversation) = self.store.conversation(id).await? else {
            return Ok(());
        };
        let due = conversation.state == ConversationState::Flow
            && conversation
                .flow_timeout_at
                .is_some_and(|at| at <= now_ms());
        if !due {
            return Ok(());
        }
        let flow = self.flow_of(&conversation).await?;
        let integration = conversation.integration.clone();
        let drive = self
            .run_flow(
                &conversation,
                flow,
                Event::Timeout,
                json!({ "text": "", "kind": "timeout" }),
            )
            .await?;
        let (turn, report) = record(conversation, drive, None, lease.clone(), now_ms())?;
        self.store.apply_turn(turn).await?;
        self.publish(report, &integration);
        Ok(())
    }

    /// The flow version the conversation is pinned to.
    async fn flow_of(&self, conversation: &Conversation) -> anyhow::Result<Arc<Flow>> {
        self.flows
            .load(
                conversation.flow.as_deref().unwrap_or_default(),
                conversation.flow_version.unwrap_or(0),
            )
            .await
    }

    /// Runs the conversation's flow for one event, performing plugin calls.
    async fn run_flow(
        &self,
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
        let queues = self.flows.queues().clone();
        let queue_exists = move |q: &str| queues.contains(q);
        let input = TurnInput {
            event,
            message,
            customer: engine::customer_value(&conversation.customer_id, &conversation.customer),
            integration: &conversation.integration,
            conversation: &conversation.id,
            now_ms: now_ms(),
            queue_exists: &queue_exists,
            schedules: &*self.schedules,
        };
        let plugins = HostPlugins::new(self.catalog.clone(), self.metrics.clone(), conversation);
        let started = std::time::Instant::now();
        let drive = engine::drive(flow, state, input, &plugins, &*self.flows).await;
        self.metrics.flow_turn(
            conversation.flow.as_deref().unwrap_or_default(),
            started.elapsed().as_secs_f64(),
        );
        Ok(drive)
    }

    fn publish(&self, report: Report, integration: &str) {
        self.metrics.flow_steps(report.steps);
        if let Some(error) = report.failure {
            self.metrics.flow_failed();
            tracing::error!(integration = %integration, "flow failed: {error}");
        }
        if report.sends > 0 {
            self.wake.wake_outbound();
        }
        if report.queued {
            self.wake.wake_route();
        }
    }
}

/// What the flow did, as a record to store: its messages, its state and where the conversation
/// goes next.
fn record(
    mut conversation: Conversation,
    drive: Drive,
    in_reply_to: Option<String>,
    lease: Lease,
    now: i64,
) -> anyhow::Result<(TurnRecord, Report)> {
    let mut report = Report {
        steps: drive.steps_run,
        ..Report::default()
    };
    let mut replies = Vec::new();
    for effect in drive.effects {
        let Effect::Send {
            text,
            quick_replies,
        } = effect;
        replies.push(NewMessage {
            quick_replies,
            in_reply_to: in_reply_to.clone(),
            kind: MessageKind::Direct,
            ..NewMessage::outbound(&conversation.id, Author::Bot, Some(text))
        });
    }
    report.sends = replies.len();
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
    Ok((
        TurnRecord {
            lease,
            conversation,
            replies,
            processed: None,
            now,
        },
        report,
    ))
}
