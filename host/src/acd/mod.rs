//! The ACD, minimal for now: agents set their presence, list a queue, accept a waiting
//! conversation (atomically: two agents accepting at once cannot both get it), reply and wrap up.
//! Routing by skills, priority, last agent and alerting builds on this.

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::config::AgentConfig;
use crate::events::{Author, MessageKind, TemplateMessage};
use crate::outbound;
use crate::store::{self, ConversationState, Direction, NewMessage, Presence};

pub mod events;
pub mod filters;
pub mod inactivity;
pub mod router;

/// Why an agent action was refused.
#[derive(Debug)]
pub enum AcdError {
    NotFound(String),
    Forbidden(String),
    Conflict(String),
    Invalid(String),
    /// A platform rule refuses it (`window_closed`, `daily_cap_reached`); nothing was sent.
    Refused {
        code: &'static str,
        message: String,
    },
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AcdError {
    fn from(e: anyhow::Error) -> Self {
        AcdError::Internal(e)
    }
}

type Result<T> = std::result::Result<T, AcdError>;

pub async fn set_presence(app: &App, agent: &AgentConfig, presence: Presence) -> Result<Value> {
    if presence == Presence::NotResponding {
        return Err(AcdError::Invalid(
            "`not-responding` is set by the ACD, not by agents".into(),
        ));
    }
    let id = agent.id.clone();
    app.store
        .call(move |c| store::agents::set_presence(c, &id, presence, store::now_ms()))
        .await?;
    app.route_wake.notify_one();
    app.events
        .publish(&agent.id, "presence", json!({ "presence": presence }));
    Ok(json!({ "agent": agent.id, "presence": presence }))
}

/// The signed-in agent: who they are and what they are doing.
pub async fn me(app: &App, agent: &AgentConfig) -> Result<Value> {
    let id = agent.id.clone();
    let (presence, _) = app
        .store
        .call(move |c| store::agents::presence(c, &id))
        .await?;
    Ok(json!({
        "id": agent.id,
        "name": agent.name.clone().unwrap_or_else(|| agent.id.clone()),
        "queues": agent.queues,
        "presence": presence,
        "capacity": agent.capacity,
        "channel_capacity": agent.channel_capacity,
        "skills": agent.skills,
        "languages": agent.languages,
    }))
}

/// The interactions offered to or held by an agent.
pub async fn agent_interactions(app: &App, agent: &AgentConfig) -> Result<Value> {
    let id = agent.id.clone();
    let (held, offered) = app
        .store
        .call(move |c| {
            let held = store::conversations::assigned_to(c, &id)?;
            let mut offered = Vec::new();
            for (conversation, agent) in store::acd::open_offers(c)? {
                if agent == id
                    && let Some(conv) = store::conversations::get(c, &conversation)?
                {
                    let expires = store::acd::open_offer(c, &conversation)?.map(|(_, at)| at);
                    offered.push((conv, expires));
                }
            }
            Ok((held, offered))
        })
        .await?;
    let summary = |c: &store::Conversation, state: &str, expires_at: Option<i64>| {
        json!({
            "id": c.id,
            "state": state,
            "queue": c.queue,
            "integration": c.integration,
            "customer_id": c.customer_id,
            "customer": c.customer,
            "priority": c.priority,
            "skills": c.skills,
            "language": c.language,
            "data": c.participant_data,
            "created_at": c.created_at,
            "expires_at": expires_at,
        })
    };
    let mut all: Vec<Value> = offered
        .iter()
        .map(|(c, at)| summary(c, "offered", *at))
        .collect();
    all.extend(held.iter().map(|c| summary(c, "assigned", None)));
    Ok(json!({ "interactions": all }))
}

/// Declines an offer: the interaction goes to another agent.
pub async fn decline(app: &App, agent: &AgentConfig, id: &str) -> Result<Value> {
    let (agent_id, conversation) = (agent.id.clone(), id.to_string());
    let closed = app
        .store
        .call(move |c| store::acd::close_offer(c, &conversation, &agent_id, "declined"))
        .await?;
    if !closed {
        return Err(AcdError::Conflict(format!(
            "interaction `{id}` is not offered to agent `{}`",
            agent.id
        )));
    }
    app.route_wake.notify_one();
    Ok(json!({ "id": id, "state": "queued" }))
}

#[derive(Serialize)]
struct Waiting {
    id: String,
    integration: String,
    customer_id: String,
    customer: crate::events::Profile,
    priority: i64,
    skills: Vec<String>,
    queued_at: Option<i64>,
    data: serde_json::Map<String, Value>,
}

/// The queue's waiting conversations, highest priority first, then longest waiting.
pub async fn queue(app: &App, agent: &AgentConfig, queue: &str) -> Result<Value> {
    if !app.queues.contains(queue) {
        return Err(AcdError::NotFound(format!(
            "queue `{queue}` does not exist"
        )));
    }
    if !agent.queues.iter().any(|q| q == queue) {
        return Err(AcdError::Forbidden(format!(
            "agent `{}` is not a member of queue `{queue}`",
            agent.id
        )));
    }
    let q = queue.to_string();
    let mut waiting = app
        .store
        .call(move |c| store::conversations::queued(c, &q))
        .await?;
    waiting.sort_by_key(|c| (-c.priority, c.queued_at));
    let waiting: Vec<Waiting> = waiting
        .into_iter()
        .map(|c| Waiting {
            id: c.id,
            integration: c.integration,
            customer_id: c.customer_id,
            customer: c.customer,
            priority: c.priority,
            skills: c.skills,
            queued_at: c.queued_at,
            data: c.participant_data,
        })
        .collect();
    Ok(json!({ "queue": queue, "waiting": waiting }))
}

pub async fn accept(app: &App, agent: &AgentConfig, id: &str) -> Result<Value> {
    let (agent_id, queues, capacity, conversation) = (
        agent.id.clone(),
        agent.queues.clone(),
        agent.capacity,
        id.to_string(),
    );
    let outcome = app
        .store
        .call(move |c| {
            let Some(conv) = store::conversations::get(c, &conversation)? else {
                return Ok(Err(AcdError::NotFound(format!(
                    "interaction `{conversation}` does not exist"
                ))));
            };
            if conv.state == ConversationState::Assigned
                && conv.agent.as_deref() == Some(agent_id.as_str())
            {
                return Ok(Ok(conv)); // Accepting twice is harmless.
            }
            if conv.state != ConversationState::Queued {
                let why = match conv.state {
                    ConversationState::Assigned => "another agent has accepted it",
                    ConversationState::Ended => "it has ended",
                    _ => "it is still in its flow",
                };
                return Ok(Err(AcdError::Conflict(format!(
                    "interaction `{conversation}` cannot be accepted: {why}"
                ))));
            }
            let offer = store::acd::open_offer(c, &conversation)?;
            if let Some((offered_to, _)) = &offer
                && offered_to != &agent_id
            {
                return Ok(Err(AcdError::Conflict(format!(
                    "interaction `{conversation}` is offered to another agent"
                ))));
            }
            let queue = conv.queue.clone().unwrap_or_default();
            if !queues.contains(&queue) {
                return Ok(Err(AcdError::Forbidden(format!(
                    "agent `{agent_id}` is not a member of queue `{queue}`"
                ))));
            }
            let (presence, _) = store::agents::presence(c, &agent_id)?;
            if presence != Presence::Available {
                return Ok(Err(AcdError::Conflict(format!(
                    "agent `{agent_id}` is {}; set presence to available to accept interactions",
                    presence.as_str()
                ))));
            }
            let holding = store::conversations::assigned_to(c, &agent_id)?.len();
            if holding >= capacity as usize {
                return Ok(Err(AcdError::Conflict(format!(
                    "agent `{agent_id}` already holds {holding} interactions, the capacity"
                ))));
            }
            if !store::conversations::claim(c, &conversation, &agent_id, store::now_ms())? {
                return Ok(Err(AcdError::Conflict(format!(
                    "interaction `{conversation}` was accepted by another agent"
                ))));
            }
            if offer.is_some() {
                store::acd::close_offer(c, &conversation, &agent_id, "accepted")?;
            }
            Ok(Ok(
                store::conversations::get(c, &conversation)?.expect("claimed conversation exists")
            ))
        })
        .await??;
    app.events.publish(
        &agent.id,
        "accepted",
        json!({ "interaction": outcome.id, "agent": agent.id }),
    );
    app.route_wake.notify_one();
    // The customer sees the business has read them (where the platform shows that).
    app.mark_read(&outcome).await;
    Ok(
        json!({ "id": outcome.id, "state": outcome.state.as_str(), "agent": outcome.agent, "queue": outcome.queue }),
    )
}

/// Stores an agent's reply for sending. Answers with the message id; the transcript shows its
/// delivery status as it changes.
/// The interaction `id`, if `agent` holds it.
async fn held_by(app: &App, agent: &AgentConfig, id: &str) -> Result<store::Conversation> {
    let (agent_id, conversation) = (agent.id.clone(), id.to_string());
    let conv = app
        .store
        .call(move |c| store::conversations::get(c, &conversation))
        .await?;
    let Some(conv) = conv else {
        return Err(AcdError::NotFound(format!(
            "interaction `{id}` does not exist"
        )));
    };
    if conv.state != ConversationState::Assigned || conv.agent.as_deref() != Some(agent_id.as_str())
    {
        return Err(AcdError::Conflict(format!(
            "agent `{agent_id}` does not hold interaction `{id}`; accept it first"
        )));
    }
    Ok(conv)
}

/// The agent is writing a reply: show the customer a typing indicator where the platform and
/// the integration's adapter can (`encode-typing`, switchboard:channel@0.2.0).
pub async fn typing(app: &App, agent: &AgentConfig, id: &str) -> Result<Value> {
    let conv = held_by(app, agent, id).await?;
    Ok(match app.show_typing(&conv).await {
        Ok(()) => json!({ "sent": true }),
        Err(reason) => json!({ "sent": false, "reason": reason }),
    })
}

pub async fn send(
    app: &App,
    agent: &AgentConfig,
    id: &str,
    text: Option<String>,
    canned: Option<String>,
    template: Option<TemplateMessage>,
) -> Result<Value> {
    let conv = held_by(app, agent, id).await?;
    let agent_id = agent.id.clone();
    // A canned response is rendered with the customer and the agent.
    let text = match canned {
        Some(canned_id) => {
            let all = app.store.call(store::acd::canned).await?;
            let Some((_, _, template_text)) = all.into_iter().find(|(cid, _, _)| *cid == canned_id)
            else {
                return Err(AcdError::Invalid(format!(
                    "there is no canned response `{canned_id}`"
                )));
            };
            let mut vars = serde_json::Map::new();
            vars.insert(
                "customer".into(),
                crate::conversations::customer_value(&conv.customer_id, &conv.customer),
            );
            vars.insert("agent".into(), json!({ "id": agent.id, "name": agent.name.clone().unwrap_or_else(|| agent.id.clone()) }));
            vars.insert("data".into(), Value::Object(conv.participant_data.clone()));
            Some(
                crate::engine::template::render(&template_text, &vars)
                    .map_err(AcdError::Invalid)?,
            )
        }
        None => text,
    };
    let text = text.filter(|t| !t.trim().is_empty());
    if text.is_none() && template.is_none() {
        return Err(AcdError::Invalid(
            "send `text`, a `canned` response id, or a `template` where the platform has templates"
                .into(),
        ));
    }
    if let Some(text) = &text {
        let rules = app.store.call(store::acd::filters).await?;
        if let Some(message) = filters::blocked(&rules, text) {
            return Err(AcdError::Refused {
                code: "content_blocked",
                message,
            });
        }
    }
    if let Some(integration) = app.sender_for(&conv.integration) {
        let info = &integration.info;
        if let Some(text) = &text {
            let len = info.text_len(text);
            if len > info.text_limit as usize {
                return Err(AcdError::Invalid(format!(
                    "the text is {len} long; {} allows at most {}",
                    info.platform, info.text_limit
                )));
            }
        }
        if template.is_some() && !info.capabilities.templates {
            return Err(AcdError::Invalid(format!(
                "{} has no templates",
                info.platform
            )));
        }
        let now = store::now_ms();
        outbound::window_tag(
            info,
            conv.last_customer_written_at,
            Author::Agent,
            template.is_some(),
            now,
        )
        .map_err(|message| AcdError::Refused {
            code: "window_closed",
            message,
        })?;
        if let Some(size) = integration.config.size {
            let sender = integration.config.id.clone();
            let sent = app
                .store
                .call(move |c| store::integrations::sends_today(c, &sender, now))
                .await?;
            if sent >= size.daily_cap() as i64 {
                return Err(AcdError::Refused {
                    code: "daily_cap_reached",
                    message: outbound::cap_message(&integration.config.id, size),
                });
            }
        }
    }
    let conversation = id.to_string();
    let message_id = app
        .store
        .call(move |c| {
            store::messages::insert(
                c,
                NewMessage {
                    conversation,
                    direction: Direction::Outbound,
                    author: Author::Agent,
                    agent: Some(agent_id),
                    text,
                    attachments: Vec::new(),
                    quick_replies: Vec::new(),
                    quick_reply: None,
                    platform_id: None,
                    in_reply_to: None,
                    kind: MessageKind::Direct,
                    template,
                    reaction: None,
                    reply_to: None,
                },
                store::now_ms(),
            )
        })
        .await?;
    app.outbound_wake.notify_one();
    Ok(json!({ "id": message_id, "status": "pending" }))
}

pub async fn wrap_up(
    app: &App,
    agent: &AgentConfig,
    id: &str,
    code: String,
    notes: Option<String>,
) -> Result<Value> {
    if code.trim().is_empty() {
        return Err(AcdError::Invalid(
            "`code` (the wrap-up code) must not be empty".into(),
        ));
    }
    let codes = &app.config.wrapup_codes;
    if !codes.is_empty() && !codes.contains(&code) {
        return Err(AcdError::Invalid(format!(
            "unknown wrap-up code `{code}`; use one of: {}",
            codes.join(", ")
        )));
    }
    let (agent_id, conversation) = (agent.id.clone(), id.to_string());
    let code2 = code.clone();
    let done = app
        .store
        .call(move |c| {
            let now = store::now_ms();
            let done = store::conversations::wrap_up(
                c,
                &conversation,
                &agent_id,
                &code2,
                notes.as_deref(),
                now,
            )?;
            if done {
                store::agents::set_idle_since(c, &agent_id, now)?;
            }
            Ok(done)
        })
        .await?;
    app.route_wake.notify_one();
    if !done {
        return Err(AcdError::Conflict(format!(
            "agent `{}` does not hold interaction `{id}`",
            agent.id
        )));
    }
    Ok(json!({ "id": id, "state": "ended", "wrapup": code }))
}

/// The interaction with its transcript; each message carries its delivery status.
/// Visible to the agent who holds it and to members of its queue.
pub async fn interaction(app: &App, agent: Option<&AgentConfig>, id: &str) -> Result<Value> {
    let conversation = id.to_string();
    let found = app
        .store
        .call(move |c| {
            let Some(conv) = store::conversations::get(c, &conversation)? else {
                return Ok(None);
            };
            let transcript = store::messages::transcript(c, &conversation)?;
            let wrapups = store::conversations::wrapups(c, &conversation)?;
            Ok(Some((conv, transcript, wrapups)))
        })
        .await?;
    let Some((conv, transcript, wrapups)) = found else {
        return Err(AcdError::NotFound(format!(
            "interaction `{id}` does not exist"
        )));
    };
    if let Some(agent) = agent {
        let holds = conv.agent.as_deref() == Some(agent.id.as_str())
            || conv.last_agent.as_deref() == Some(agent.id.as_str());
        let member = conv
            .queue
            .as_ref()
            .is_some_and(|q| agent.queues.contains(q));
        if !holds && !member {
            return Err(AcdError::Forbidden(format!(
                "agent `{}` may not see interaction `{id}`",
                agent.id
            )));
        }
    }
    let messages: Vec<Value> = transcript
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "direction": m.direction,
                "author": m.author.as_str(),
                "agent": m.agent,
                "text": m.text,
                "attachments": m.attachments,
                "quick_replies": m.quick_replies,
                "quick_reply": m.quick_reply,
                "kind": m.kind,
                "template": m.template,
                "reaction": m.reaction,
                "reply_to": m.reply_to,
                "platform_id": m.platform_id,
                "status": m.status,
                "error": m.error,
                "attempts": m.attempts,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            })
        })
        .collect();
    let wrapups: Vec<Value> =
        wrapups.into_iter().map(|(agent, code, notes, at)| json!({"agent": agent, "code": code, "notes": notes, "at": at})).collect();
    Ok(json!({
        "id": conv.id,
        "integration": conv.integration,
        "customer_id": conv.customer_id,
        "customer": conv.customer,
        "state": conv.state.as_str(),
        "flow": conv.flow,
        "flow_version": conv.flow_version,
        "queue": conv.queue,
        "priority": conv.priority,
        "skills": conv.skills,
        "agent": conv.agent,
        "data": conv.participant_data,
        "created_at": conv.created_at,
        "messages": messages,
        "wrapups": wrapups,
    }))
}
