//! The inactivity timer of queues: when a customer in an agent's conversation goes quiet, a
//! warning goes out, and later the conversation ends (or moves to a flow).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::app::App;
use crate::events::{Author, MessageKind};
use crate::store::{self, ConversationState, Direction, NewMessage};

/// Runs forever, checking every second.
pub async fn run(app: Arc<App>) {
    loop {
        if let Err(e) = tick(&app).await {
            tracing::error!("inactivity timer: {e:#}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn tick(app: &Arc<App>) -> anyhow::Result<()> {
    let queues: Vec<_> = app
        .config
        .queues
        .iter()
        .filter(|q| q.inactivity.is_some())
        .cloned()
        .collect();
    if queues.is_empty() {
        return Ok(());
    }
    let latest_flows: Vec<(String, Option<i64>)> = queues
        .iter()
        .filter_map(|q| q.inactivity.as_ref()?.flow.clone())
        .map(|f| {
            let v = app.flows.latest(&f);
            (f, v)
        })
        .collect();
    let (changed, sends) = app
        .store
        .call(move |c| {
            let now = store::now_ms();
            let mut changed = Vec::new();
            let mut sends = 0;
            for conv in store::conversations::assigned_all(c)? {
                let Some(rule) = queues
                    .iter()
                    .find(|q| conv.queue.as_deref() == Some(q.id.as_str()))
                    .and_then(|q| q.inactivity.clone())
                else {
                    continue;
                };
                let quiet_since = conv.last_customer_at.max(conv.assigned_at.unwrap_or(0));
                let quiet = now - quiet_since;
                let say = |c: &rusqlite::Connection, text: &str| {
                    store::messages::insert(
                        c,
                        NewMessage {
                            conversation: conv.id.clone(),
                            direction: Direction::Outbound,
                            author: Author::Bot,
                            agent: None,
                            text: Some(text.to_string()),
                            attachments: Vec::new(),
                            quick_replies: Vec::new(),
                            quick_reply: None,
                            platform_id: None,
                            in_reply_to: None,
                            kind: MessageKind::Direct,
                            template: None,
                            reaction: None,
                            reply_to: None,
                        },
                        now,
                    )
                };
                if quiet as f64 >= rule.end_after_minutes * 60_000.0 {
                    let mut conv = conv.clone();
                    if let Some(text) = &rule.end_text {
                        say(c, text)?;
                        sends += 1;
                    }
                    let agent = conv.agent.take();
                    match &rule.flow {
                        Some(flow) => {
                            conv.state = ConversationState::Flow;
                            conv.flow = Some(flow.clone());
                            conv.flow_version = latest_flows
                                .iter()
                                .find(|(f, _)| f == flow)
                                .and_then(|(_, v)| *v);
                            conv.flow_state = None;
                        }
                        None => conv.state = ConversationState::Ended,
                    }
                    conv.updated_at = now;
                    store::conversations::update(c, &conv)?;
                    if let Some(agent) = &agent {
                        store::agents::set_idle_since(c, agent, now)?;
                    }
                    changed.push((agent, conv.id.clone()));
                } else if quiet as f64 >= rule.warn_after_minutes * 60_000.0
                    && conv.inactivity_warned_at.is_none()
                {
                    say(c, &rule.warning)?;
                    sends += 1;
                    let mut conv = conv.clone();
                    conv.inactivity_warned_at = Some(now);
                    store::conversations::update(c, &conv)?;
                }
            }
            Ok((changed, sends))
        })
        .await?;
    if sends > 0 {
        app.outbound_wake.notify_one();
    }
    for (agent, conversation) in changed {
        if let Some(agent) = agent {
            app.events.publish(
                &agent,
                "disconnected",
                json!({ "interaction": conversation, "reason": "inactivity" }),
            );
        }
        app.route_wake.notify_one();
    }
    Ok(())
}
