//! How interactions look in JSON, wherever the agent API returns them: in lists (`summary`),
//! and whole, with the transcript, wrap-ups and transfers (`record_json`).

use serde_json::{Value, json};

use crate::acd::Record;
use crate::model::{Conversation, Message};

/// An interaction as a list shows it.
pub fn summary(c: &Conversation, state: &str, expires_at: Option<i64>) -> Value {
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
        "updated_at": c.updated_at,
        "agent": c.agent,
        "last_agent": c.last_agent,
        "expires_at": expires_at,
    })
}

/// One message of a transcript, with its delivery status.
pub fn message_json(m: Message) -> Value {
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
}

/// An interaction with its transcript (each message with its delivery status), wrap-ups and
/// transfers.
pub fn record_json(record: Record) -> Value {
    let conv = record.transcript.conversation;
    let messages: Vec<Value> = record
        .transcript
        .messages
        .into_iter()
        .map(message_json)
        .collect();
    let wrapups: Vec<Value> = record
        .transcript
        .wrapups
        .into_iter()
        .map(|w| json!({"agent": w.agent, "code": w.code, "notes": w.notes, "at": w.at}))
        .collect();
    json!({
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
        "language": conv.language,
        "agent": conv.agent,
        "last_agent": conv.last_agent,
        "data": conv.participant_data,
        "created_at": conv.created_at,
        "updated_at": conv.updated_at,
        "messages": messages,
        "wrapups": wrapups,
        "transfers": record.transfers,
    })
}
