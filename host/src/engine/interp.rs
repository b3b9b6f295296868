//! The flow interpreter.
//!
//! One **turn** runs when a customer message arrives for a conversation that is in its flow: it
//! starts at the flow's `start` (a new conversation) or resumes the `ask` step that was waiting,
//! and runs steps until one waits for the customer (`ask`), hands over (`transfer`), ends
//! (`disconnect`) or fails. The turn returns the effects to carry out and the new state; the
//! caller stores both in one transaction, so a restart resumes exactly where the flow stopped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::flow::{Flow, Step};
use super::{expr, template};
use crate::events::QuickReply;

/// No turn runs more steps than this (Genesys Architect uses the same limit), so a flow that
/// loops through decisions cannot spin forever.
pub const MAX_STEPS_PER_TURN: u32 = 10_000;

/// What a conversation's flow remembers between turns; stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// The `ask` step waiting for the customer's answer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_at: Option<String>,
    /// The flow's variables (`set-data` and `ask` results).
    #[serde(default)]
    pub vars: Map<String, Value>,
}

/// What the engine knows about the message that started this turn.
#[derive(Clone)]
pub struct TurnInput<'a> {
    /// `message` in expressions: `text`, `quick_reply`, `kind`, `attachments`.
    pub message: Value,
    /// `customer` in expressions: `id`, `name`, `screen_name`, ...
    pub customer: Value,
    pub integration: &'a str,
    pub conversation: &'a str,
    /// Whether a queue exists right now (a transfer to a missing one takes its `failure` path).
    pub queue_exists: &'a dyn Fn(&str) -> bool,
}

/// Something the turn asks the host to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        text: String,
        quick_replies: Vec<QuickReply>,
    },
}

/// How the turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An `ask` step waits for the customer's next message.
    Waiting { step: String },
    /// The conversation goes to an ACD queue; the flow is done with it.
    Transferred {
        queue: String,
        priority: i64,
        skills: Vec<String>,
    },
    /// The flow ended the conversation.
    Disconnected,
    /// A step failed with no error handler to go to (or the handler failed too).
    Failed { step: String, error: String },
}

/// The result of one turn.
#[derive(Debug, Clone)]
pub struct Turn {
    pub effects: Vec<Effect>,
    pub outcome: Outcome,
    pub state: FlowState,
    pub steps_run: u32,
}

/// Runs one turn of `flow` from `state` (`None` for a new conversation).
pub fn run_turn(flow: &Flow, state: Option<FlowState>, input: &TurnInput<'_>) -> Turn {
    let mut state = state.unwrap_or_default();
    let mut effects = Vec::new();
    let mut steps_run = 0;
    let mut in_handler = false;

    // Resume: the answer to the waiting `ask` goes into its variable.
    let mut at = match state.waiting_at.take() {
        Some(waiting) => match flow.steps.get(&waiting) {
            Some(Step::Ask {
                variable,
                next,
                quick_replies,
                ..
            }) => {
                state
                    .vars
                    .insert(variable.clone(), answer(&input.message, quick_replies));
                next.clone()
            }
            // The step vanished or changed kind (a flow edited under a conversation): start over.
            _ => flow.start.clone(),
        },
        None => flow.start.clone(),
    };

    let outcome = loop {
        if steps_run >= MAX_STEPS_PER_TURN {
            break Outcome::Failed {
                step: at,
                error: format!(
                    "the flow ran {MAX_STEPS_PER_TURN} steps without waiting for the customer; it probably loops"
                ),
            };
        }
        steps_run += 1;
        let Some(step) = flow.steps.get(&at) else {
            break Outcome::Failed {
                step: at.clone(),
                error: format!("step `{at}` does not exist"),
            };
        };
        let vars = scope(&state, input);
        match run_step(step, &vars, input, &mut effects) {
            Ok(Next::Goto(next)) => at = next,
            Ok(Next::SetVars(values, next)) => {
                state.vars.extend(values);
                at = next;
            }
            Ok(Next::Wait) => {
                state.waiting_at = Some(at.clone());
                break Outcome::Waiting { step: at };
            }
            Ok(Next::Stop(outcome)) => break outcome,
            Err(error) => match &flow.on_error {
                Some(handler) if !in_handler => {
                    in_handler = true;
                    state.vars.insert(
                        "error".into(),
                        serde_json::json!({ "step": at, "message": error }),
                    );
                    at = handler.clone();
                }
                _ => break Outcome::Failed { step: at, error },
            },
        }
    };
    state.vars.remove("error");
    Turn {
        effects,
        outcome,
        state,
        steps_run,
    }
}

enum Next {
    Goto(String),
    SetVars(Map<String, Value>, String),
    Wait,
    Stop(Outcome),
}

/// The customer's answer to an `ask`: the quick-reply payload when the platform sent one;
/// otherwise the text, or the payload of the option it names (by label or, on platforms
/// where options are rendered as a numbered list, by number).
fn answer(message: &Value, options: &[super::flow::QuickReplySpec]) -> Value {
    if let Some(payload) = message.get("quick_reply").filter(|v| !v.is_null()) {
        return payload.clone();
    }
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let trimmed = text.trim();
    let options: Vec<QuickReply> = options.iter().map(|o| o.to_quick_reply()).collect();
    let chosen = match trimmed.trim_end_matches('.').parse::<usize>() {
        Ok(n) if (1..=options.len()).contains(&n) => Some(&options[n - 1]),
        _ => options
            .iter()
            .find(|o| o.label.eq_ignore_ascii_case(trimmed)),
    };
    Value::String(chosen.map_or_else(|| text.to_string(), |o| o.payload.clone()))
}

/// The variables expressions and templates see.
fn scope(state: &FlowState, input: &TurnInput<'_>) -> Map<String, Value> {
    let mut vars = state.vars.clone();
    vars.insert("message".into(), input.message.clone());
    vars.insert("customer".into(), input.customer.clone());
    vars.insert(
        "integration".into(),
        Value::String(input.integration.to_string()),
    );
    vars.insert(
        "conversation".into(),
        Value::String(input.conversation.to_string()),
    );
    vars
}

fn send(
    effects: &mut Vec<Effect>,
    text: &str,
    quick_replies: &[super::flow::QuickReplySpec],
    vars: &Map<String, Value>,
) -> Result<(), String> {
    let text = template::render(text, vars)?;
    effects.push(Effect::Send {
        text,
        quick_replies: quick_replies.iter().map(|q| q.to_quick_reply()).collect(),
    });
    Ok(())
}

fn run_step(
    step: &Step,
    vars: &Map<String, Value>,
    input: &TurnInput<'_>,
    effects: &mut Vec<Effect>,
) -> Result<Next, String> {
    Ok(match step {
        Step::Send {
            text,
            quick_replies,
            next,
        } => {
            send(effects, text, quick_replies, vars)?;
            Next::Goto(next.clone())
        }
        Step::Ask {
            text,
            quick_replies,
            ..
        } => {
            send(effects, text, quick_replies, vars)?;
            Next::Wait
        }
        Step::Decision {
            condition,
            then,
            otherwise,
        } => {
            if expr::eval_bool(condition, vars)? {
                Next::Goto(then.clone())
            } else {
                Next::Goto(otherwise.clone())
            }
        }
        Step::SetData { set, next } => {
            let mut values = Map::new();
            for (name, expression) in set {
                let value =
                    expr::eval(expression, vars).map_err(|e| format!("setting `{name}`: {e}"))?;
                values.insert(name.clone(), value);
            }
            Next::SetVars(values, next.clone())
        }
        Step::Transfer {
            queue,
            priority,
            skills,
            text,
            failure,
        } => {
            if !(input.queue_exists)(queue) {
                return match failure {
                    Some(failure) => Ok(Next::Goto(failure.clone())),
                    None => Err(format!("queue `{queue}` does not exist")),
                };
            }
            if let Some(text) = text {
                send(effects, text, &[], vars)?;
            }
            Next::Stop(Outcome::Transferred {
                queue: queue.clone(),
                priority: *priority,
                skills: skills.clone(),
            })
        }
        Step::Disconnect { text } => {
            if let Some(text) = text {
                send(effects, text, &[], vars)?;
            }
            Next::Stop(Outcome::Disconnected)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::Known;
    use serde_json::json;

    const FLOW: &str = r#"
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
    quick_replies: [Billing, Tech]
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

    fn input<'a>(text: &str, queues: &'a dyn Fn(&str) -> bool) -> TurnInput<'a> {
        TurnInput {
            message: json!({"text": text, "quick_reply": null}),
            customer: json!({"id": "42", "name": "Ada"}),
            integration: "x-demo",
            conversation: "c1",
            queue_exists: queues,
        }
    }

    #[test]
    fn greets_asks_then_routes_on_the_answer() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input("hello", &all));
        assert_eq!(first.outcome, Outcome::Waiting { step: "ask".into() });
        assert_eq!(first.effects.len(), 2);
        assert_eq!(
            first.effects[0],
            Effect::Send {
                text: "Hi Ada".into(),
                quick_replies: vec![]
            }
        );

        // The state survives a round trip through JSON, as it does through the store.
        let saved = serde_json::to_string(&first.state).unwrap();
        let second = run_turn(
            &flow,
            Some(serde_json::from_str(&saved).unwrap()),
            &input("Billing", &all),
        );
        assert_eq!(
            second.outcome,
            Outcome::Transferred {
                queue: "billing".into(),
                priority: 5,
                skills: vec![]
            }
        );
        assert_eq!(
            second.effects,
            vec![Effect::Send {
                text: "Passing you to billing about Billing.".into(),
                quick_replies: vec![]
            }]
        );
        assert_eq!(second.state.vars["topic"], json!("Billing"));
    }

    #[test]
    fn an_option_can_be_answered_by_number_or_label() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input("hi", &all));
        let by_number = run_turn(&flow, Some(first.state.clone()), &input(" 1 ", &all));
        assert_eq!(by_number.state.vars["topic"], json!("Billing"));
        let by_label = run_turn(&flow, Some(first.state), &input("tech", &all));
        assert_eq!(by_label.state.vars["topic"], json!("Tech"));
    }

    #[test]
    fn a_missing_queue_takes_the_failure_path() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let none = |_: &str| false;
        let first = run_turn(&flow, None, &input("hi", &none));
        let second = run_turn(&flow, Some(first.state), &input("tech", &none));
        assert_eq!(second.outcome, Outcome::Disconnected);
        assert_eq!(
            second.effects,
            vec![Effect::Send {
                text: "Sorry, nobody is here.".into(),
                quick_replies: vec![]
            }]
        );
    }

    #[test]
    fn a_failing_step_goes_to_the_error_handler() {
        let src = FLOW.replace(r#"'topic.lowerAscii() == "billing"'"#, "'topic > 3'");
        let flow = Flow::parse(&src, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input("hi", &all));
        let second = run_turn(&flow, Some(first.state), &input("tech", &all));
        assert_eq!(second.outcome, Outcome::Disconnected);
        let Effect::Send { text, .. } = &second.effects[0];
        assert!(text.starts_with("Something broke: "), "{text}");
    }

    #[test]
    fn a_looping_flow_stops_at_the_step_limit() {
        let src = "start: a\nsteps:\n  a:\n    type: decision\n    condition: 'true'\n    then: b\n    else: b\n  b:\n    type: set-data\n    set:\n      n: '1'\n    next: a\n";
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let all = |_: &str| true;
        let turn = run_turn(&flow, None, &input("hi", &all));
        assert_eq!(turn.steps_run, MAX_STEPS_PER_TURN);
        assert!(
            matches!(turn.outcome, Outcome::Failed { ref error, .. } if error.contains("10000 steps")),
            "{:?}",
            turn.outcome
        );
    }
}
