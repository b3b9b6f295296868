//! What the interpreter's tests share: a flow with an ask, a decision, transfers and an
//! error handler, and a turn input for it.

use serde_json::json;

use super::{Effect, Event, TurnInput};

pub const FLOW: &str = r#"
start: greet
on_error: oops
steps:
  greet:
    type: send
    text: "Hi {{customer.name | \"there\"}}"
    next: ask
  ask:
    type: ask
    text: Billing or tech?
    variable: topic
    expect: choice
    quick_replies: [Billing, Tech]
    retries: 1
    no_match: bye
    timeout_minutes: 30
    no_input: bye
    next: route
  route:
    type: decision
    condition: 'topic.lowerAscii() == "billing"'
    then: billing
    else: tech
  billing:
    type: transfer
    queue: billing
    priority: 5
    skills: [invoices]
    language: de
    text: "Passing you to billing about {{topic}}."
  tech:
    type: transfer
    queue: tech
    failure: bye
  bye:
    type: disconnect
    text: Sorry, nobody is here.
  oops:
    type: disconnect
    text: "Something broke: {{error.message}}"
"#;

pub fn input<'a>(
    event: Event,
    text: &str,
    queues: &'a (dyn Fn(&str) -> bool + Sync),
) -> TurnInput<'a> {
    TurnInput {
        event,
        message: json!({"text": text, "quick_reply": null}),
        customer: json!({"id": "42", "name": "Ada", "handle": "ada"}),
        integration: "x-demo",
        conversation: "c1",
        now_ms: 1_000_000,
        queue_exists: queues,
        schedules: &crate::engine::schedule::NoGroups,
    }
}

pub fn say(text: &str) -> Effect {
    Effect::Send {
        text: text.into(),
        quick_replies: vec![],
    }
}
