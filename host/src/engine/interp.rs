//! The flow interpreter.
//!
//! A **turn** runs when something happens to a conversation in its flow: a customer message, an
//! `ask` that waited too long, or the result of a plugin call the previous turn asked for. It
//! starts at the flow's `start` (a new conversation) or resumes the step that was waiting, and
//! runs steps until one waits for the customer (`ask`, a `bot` that continues), needs a plugin
//! (`bot`, `data-action`, `identify`: the caller performs the call and runs the next turn with
//! its result), hands over (`transfer`, `transfer-flow`), ends (`disconnect`) or fails.
//!
//! Nothing here does I/O: the turn returns effects and the new state, which the caller stores
//! in one transaction, so a restart resumes exactly where the flow stopped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::flow::{Flow, QuickReplySpec, Step};
use super::{expr, schedule, slots, template};
use crate::events::QuickReply;

/// No turn runs more steps than this (Genesys Architect uses the same limit), so a flow that
/// loops through decisions cannot spin forever.
pub const MAX_STEPS_PER_TURN: u32 = 10_000;

/// What a conversation's flow remembers between turns; stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// The `ask` or `bot` step waiting for the customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_at: Option<String>,
    /// Answers that did not fit the waiting `ask` so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// The session data the bot of the waiting `bot` step returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_session: Option<String>,
    /// The step waiting for a plugin's result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The flow's variables (participant data).
    #[serde(default)]
    pub vars: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What started this turn.
#[derive(Debug, Clone)]
pub enum Event {
    /// The customer's message (in [`TurnInput::message`]).
    Message,
    /// The waiting `ask` timed out.
    Timeout,
    /// The result of the plugin call the previous turn asked for.
    PluginResult(PluginResult),
}

/// What the engine knows when a turn runs.
#[derive(Clone)]
pub struct TurnInput<'a> {
    pub event: Event,
    /// `message` in expressions: `text`, `quick_reply`, `kind`, `attachments`.
    pub message: Value,
    /// `customer` in expressions: `id`, `name`, `handle`, `verified`, `followers`, ...
    pub customer: Value,
    pub integration: &'a str,
    pub conversation: &'a str,
    /// Milliseconds since the epoch (`schedule`, timeouts).
    pub now_ms: i64,
    /// Whether a queue exists right now (a transfer to a missing one takes its `failure` path).
    pub queue_exists: &'a (dyn Fn(&str) -> bool + Sync),
}

/// A plugin call the caller performs before the next turn.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginCall {
    Bot {
        plugin: String,
        text: Option<String>,
        quick_reply: Option<String>,
        /// What the bot returned last time ("" at first).
        session: String,
        variables: Map<String, Value>,
    },
    DataAction {
        plugin: String,
        action: String,
        input: Map<String, Value>,
    },
}

/// The result of a [`PluginCall`].
#[derive(Debug, Clone, PartialEq)]
pub enum PluginResult {
    Bot(Result<BotTurn, String>),
    DataAction(Result<Map<String, Value>, ActionFailure>),
}

/// One bot turn's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BotTurn {
    pub replies: Vec<(String, Vec<QuickReply>)>,
    pub intent: Option<String>,
    pub confidence: Option<f32>,
    pub slots: Map<String, Value>,
    pub session: String,
    pub exit: BotExit,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum BotExit {
    /// The bot wants the customer's next message.
    #[default]
    Continue,
    Done,
    Handoff,
    Error(String),
}

/// Why a data action gave no outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionFailure {
    /// The action ran and reported a failure.
    Failed(String),
    /// The plugin ran past its deadline, trapped or could not be reached.
    Timeout(String),
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
    /// A step waits for the customer's next message (until `timeout_at`, if set).
    Waiting {
        step: String,
        timeout_at: Option<i64>,
    },
    /// The caller performs `call` and runs the next turn with its result.
    Call { step: String, call: PluginCall },
    /// The conversation goes to an ACD queue; the flow is done with it.
    Transferred {
        queue: String,
        priority: i64,
        skills: Vec<String>,
        language: Option<String>,
        preferred_agents: Vec<String>,
    },
    /// Continue in another flow (its latest version), with the same variables.
    TransferFlow { flow: String },
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

enum Next {
    Goto(String),
    Wait { timeout_at: Option<i64> },
    Call(PluginCall),
    Stop(Outcome),
}

struct Run<'f, 'i> {
    flow: &'f Flow,
    input: &'i TurnInput<'i>,
    state: FlowState,
    effects: Vec<Effect>,
}

/// Runs one turn of `flow` from `state` (`None` for a new conversation).
pub fn run_turn(flow: &Flow, state: Option<FlowState>, input: &TurnInput<'_>) -> Turn {
    let mut run = Run {
        flow,
        input,
        state: state.unwrap_or_default(),
        effects: Vec::new(),
    };
    let mut steps_run = 0;
    let mut in_handler = false;

    // Where this turn begins, and what the resumed step does with the event.
    let resumed = match (
        run.state.pending.take(),
        run.state.waiting_at.clone(),
        &input.event,
    ) {
        (Some(step), _, Event::PluginResult(result)) => run.plugin_result(&step, result.clone()),
        (None, Some(step), Event::Message) => run.answer(&step),
        (None, Some(step), Event::Timeout) => run.timed_out(&step),
        // A timeout for a step no longer waiting, or a stray result: nothing to do.
        (None, Some(step), _) => Ok(Next::Wait { timeout_at: None }).map(|n| (step, n)),
        (_, None, _) | (Some(_), Some(_), _) => {
            Ok((flow.start.clone(), Next::Goto(flow.start.clone())))
        }
    };
    let (mut at, mut next) = match resumed {
        Ok(pair) => pair,
        Err((step, error)) => {
            let handled = run.handle_error(&step, error, &mut in_handler);
            (step, handled)
        }
    };

    let outcome = loop {
        match next {
            Next::Wait { timeout_at } => {
                run.state.waiting_at = Some(at.clone());
                break Outcome::Waiting {
                    step: at,
                    timeout_at,
                };
            }
            Next::Call(call) => {
                run.state.pending = Some(at.clone());
                break Outcome::Call { step: at, call };
            }
            Next::Stop(outcome) => break outcome,
            Next::Goto(target) => {
                at = target;
                run.state.waiting_at = None;
                run.state.attempts = 0;
                run.state.bot_session = None;
            }
        }
        if steps_run >= MAX_STEPS_PER_TURN {
            break Outcome::Failed {
                step: at,
                error: format!(
                    "the flow ran {MAX_STEPS_PER_TURN} steps without waiting for the customer; it probably loops"
                ),
            };
        }
        steps_run += 1;
        next = match run.step(&at) {
            Ok(next) => next,
            Err(error) => run.handle_error(&at, error, &mut in_handler),
        };
    };
    run.state.vars.remove("error");
    Turn {
        effects: run.effects,
        outcome,
        state: run.state,
        steps_run,
    }
}

impl Run<'_, '_> {
    fn handle_error(&mut self, step: &str, error: String, in_handler: &mut bool) -> Next {
        match &self.flow.on_error {
            Some(handler) if !*in_handler => {
                *in_handler = true;
                self.state
                    .vars
                    .insert("error".into(), json!({ "step": step, "message": error }));
                Next::Goto(handler.clone())
            }
            _ => Next::Stop(Outcome::Failed {
                step: step.to_string(),
                error,
            }),
        }
    }

    /// The variables expressions and templates see.
    fn scope(&self) -> Map<String, Value> {
        let mut vars = self.state.vars.clone();
        vars.insert("message".into(), self.input.message.clone());
        vars.insert("customer".into(), self.input.customer.clone());
        vars.insert(
            "integration".into(),
            Value::String(self.input.integration.to_string()),
        );
        vars.insert(
            "conversation".into(),
            Value::String(self.input.conversation.to_string()),
        );
        vars.insert("now".into(), Value::from(self.input.now_ms));
        vars
    }

    fn send(&mut self, text: &str, quick_replies: &[QuickReplySpec]) -> Result<(), String> {
        let text = template::render(text, &self.scope())?;
        self.effects.push(Effect::Send {
            text,
            quick_replies: quick_replies.iter().map(|q| q.to_quick_reply()).collect(),
        });
        Ok(())
    }

    fn get(&self, name: &str) -> Result<&Step, String> {
        self.flow
            .steps
            .get(name)
            .ok_or_else(|| format!("step `{name}` does not exist"))
    }

    /// The customer's message while step `name` waits.
    fn answer(&mut self, name: &str) -> Result<(String, Next), (String, String)> {
        let fail = |e: String| (name.to_string(), e);
        match self.get(name).map_err(fail)?.clone() {
            Step::Ask(ask) => {
                let text = self
                    .input
                    .message
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let quick_reply = self
                    .input
                    .message
                    .get("quick_reply")
                    .and_then(Value::as_str);
                let options: Vec<QuickReply> = ask
                    .quick_replies
                    .iter()
                    .map(|q| q.to_quick_reply())
                    .collect();
                match slots::fill(
                    ask.expect,
                    ask.pattern.as_deref(),
                    text,
                    quick_reply,
                    &options,
                ) {
                    Some(value) => {
                        self.state.vars.insert(ask.variable.clone(), value);
                        Ok((name.to_string(), Next::Goto(ask.next.clone())))
                    }
                    None if self.state.attempts < ask.retries => {
                        self.state.attempts += 1;
                        let reprompt = ask
                            .reprompt
                            .clone()
                            .unwrap_or_else(|| format!("Sorry, I did not get that. {}", ask.text));
                        self.send(&reprompt, &ask.quick_replies).map_err(fail)?;
                        let timeout_at = ask
                            .timeout_minutes
                            .map(|m| self.input.now_ms + (m * 60_000.0) as i64);
                        Ok((name.to_string(), Next::Wait { timeout_at }))
                    }
                    None => match &ask.no_match {
                        Some(no_match) => Ok((name.to_string(), Next::Goto(no_match.clone()))),
                        None => Err(fail(format!(
                            "no answer fit `{}` after {} reprompts",
                            ask.variable, ask.retries
                        ))),
                    },
                }
            }
            Step::Bot { plugin, .. } => {
                let call = self.bot_call(&plugin);
                Ok((name.to_string(), Next::Call(call)))
            }
            // The flow was edited under a waiting conversation: start over.
            _ => Ok((self.flow.start.clone(), Next::Goto(self.flow.start.clone()))),
        }
    }

    fn timed_out(&mut self, name: &str) -> Result<(String, Next), (String, String)> {
        match self.get(name).map_err(|e| (name.to_string(), e))? {
            Step::Ask(ask) => match &ask.no_input {
                Some(no_input) => Ok((name.to_string(), Next::Goto(no_input.clone()))),
                None => Ok((name.to_string(), Next::Wait { timeout_at: None })),
            },
            _ => Ok((name.to_string(), Next::Wait { timeout_at: None })),
        }
    }

    fn bot_call(&self, plugin: &str) -> PluginCall {
        PluginCall::Bot {
            plugin: plugin.to_string(),
            text: self
                .input
                .message
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_string),
            quick_reply: self
                .input
                .message
                .get("quick_reply")
                .and_then(Value::as_str)
                .map(str::to_string),
            session: self.state.bot_session.clone().unwrap_or_default(),
            variables: self.state.vars.clone(),
        }
    }

    /// The result of the plugin call step `name` asked for.
    fn plugin_result(
        &mut self,
        name: &str,
        result: PluginResult,
    ) -> Result<(String, Next), (String, String)> {
        let fail = |e: String| (name.to_string(), e);
        let step = self.get(name).map_err(fail)?.clone();
        let next = match (step, result) {
            (
                Step::Bot {
                    result,
                    next,
                    handoff,
                    error,
                    ..
                },
                PluginResult::Bot(outcome),
            ) => match outcome {
                Ok(turn) => {
                    for (text, quick_replies) in &turn.replies {
                        self.effects.push(Effect::Send {
                            text: text.clone(),
                            quick_replies: quick_replies.clone(),
                        });
                    }
                    self.state.vars.insert(
                        result,
                        json!({ "intent": turn.intent, "confidence": turn.confidence, "slots": turn.slots }),
                    );
                    match turn.exit {
                        BotExit::Continue => {
                            self.state.bot_session = Some(turn.session);
                            Next::Wait { timeout_at: None }
                        }
                        BotExit::Done => Next::Goto(next),
                        BotExit::Handoff => match handoff {
                            Some(handoff) => Next::Goto(handoff),
                            None => Next::Goto(next),
                        },
                        BotExit::Error(message) => match error {
                            Some(error) => Next::Goto(error),
                            None => return Err(fail(format!("the bot failed: {message}"))),
                        },
                    }
                }
                Err(message) => match error {
                    Some(error) => {
                        self.state
                            .vars
                            .insert("error".into(), json!({ "step": name, "message": message }));
                        Next::Goto(error)
                    }
                    None => return Err(fail(format!("the bot failed: {message}"))),
                },
            },
            (
                Step::DataAction {
                    action,
                    result,
                    next,
                    failure,
                    timeout,
                    ..
                },
                PluginResult::DataAction(outcome),
            ) => {
                let variable = result.unwrap_or_else(|| action.replace('-', "_"));
                match outcome {
                    Ok(outputs) => {
                        self.state.vars.insert(variable, Value::Object(outputs));
                        Next::Goto(next)
                    }
                    Err(ActionFailure::Timeout(message)) => match timeout.or(failure) {
                        Some(path) => {
                            self.state
                                .vars
                                .insert(variable, json!({ "error": message }));
                            Next::Goto(path)
                        }
                        None => {
                            return Err(fail(format!(
                                "data action `{action}` timed out: {message}"
                            )));
                        }
                    },
                    Err(ActionFailure::Failed(message)) => match failure {
                        Some(path) => {
                            self.state
                                .vars
                                .insert(variable, json!({ "error": message }));
                            Next::Goto(path)
                        }
                        None => {
                            return Err(fail(format!("data action `{action}` failed: {message}")));
                        }
                    },
                }
            }
            (
                Step::Identify {
                    found, not_found, ..
                },
                PluginResult::DataAction(outcome),
            ) => match outcome {
                Ok(outputs) => {
                    let is_found = matches!(outputs.get("found"), Some(Value::Bool(true)))
                        || matches!(outputs.get("found"), Some(Value::String(s)) if s == "true");
                    self.state
                        .vars
                        .insert("contact".into(), Value::Object(outputs));
                    Next::Goto(if is_found { found } else { not_found })
                }
                Err(ActionFailure::Failed(m) | ActionFailure::Timeout(m)) => {
                    return Err(fail(format!("identifying the customer failed: {m}")));
                }
            },
            (step, _) => {
                return Err(fail(format!(
                    "a plugin result arrived for a `{}` step",
                    step.kind()
                )));
            }
        };
        Ok((name.to_string(), next))
    }

    fn step(&mut self, name: &str) -> Result<Next, String> {
        let step = self.get(name)?.clone();
        let vars = self.scope();
        Ok(match step {
            Step::Send {
                text,
                quick_replies,
                next,
            } => {
                self.send(&text, &quick_replies)?;
                Next::Goto(next)
            }
            Step::Ask(ask) => {
                self.send(&ask.text, &ask.quick_replies)?;
                Next::Wait {
                    timeout_at: ask
                        .timeout_minutes
                        .map(|m| self.input.now_ms + (m * 60_000.0) as i64),
                }
            }
            Step::Bot { plugin, .. } => Next::Call(self.bot_call(&plugin)),
            Step::DataAction {
                plugin,
                action,
                input,
                ..
            } => {
                let mut values = Map::new();
                for (field, expression) in &input {
                    values.insert(
                        field.clone(),
                        expr::eval(expression, &vars)
                            .map_err(|e| format!("input `{field}`: {e}"))?,
                    );
                }
                Next::Call(PluginCall::DataAction {
                    plugin,
                    action,
                    input: values,
                })
            }
            Step::Identify {
                plugin, action, by, ..
            } => {
                let handle = match by {
                    Some(by) => expr::eval(&by, &vars)?,
                    None => {
                        let customer = &self.input.customer;
                        customer
                            .get("handle")
                            .filter(|h| !h.is_null())
                            .or_else(|| customer.get("id"))
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                };
                let mut input = Map::new();
                input.insert("handle".into(), handle);
                input.insert(
                    "integration".into(),
                    Value::String(self.input.integration.to_string()),
                );
                Next::Call(PluginCall::DataAction {
                    plugin,
                    action,
                    input,
                })
            }
            Step::Decision {
                condition,
                then,
                otherwise,
            } => {
                if expr::eval_bool(&condition, &vars)? {
                    Next::Goto(then)
                } else {
                    Next::Goto(otherwise)
                }
            }
            Step::Switch { cases, default } => {
                let mut chosen = default;
                for case in cases {
                    if expr::eval_bool(&case.when, &vars)? {
                        chosen = case.next;
                        break;
                    }
                }
                Next::Goto(chosen)
            }
            Step::SetData { set, next } => {
                for (name, expression) in &set {
                    let value = expr::eval(expression, &vars)
                        .map_err(|e| format!("setting `{name}`: {e}"))?;
                    self.state.vars.insert(name.clone(), value);
                }
                Next::Goto(next)
            }
            Step::Schedule(s) => {
                let hours = schedule::Hours::parse(&s.timezone, &s.hours, &s.holidays)
                    .map_err(|e| e.message)?;
                Next::Goto(match hours.status(self.input.now_ms) {
                    schedule::Status::Open => s.open.clone(),
                    schedule::Status::Closed => s.closed.clone(),
                    schedule::Status::Holiday => s.holiday.clone().unwrap_or(s.closed.clone()),
                })
            }
            Step::Transfer {
                queue,
                priority,
                skills,
                language,
                preferred_agents,
                text,
                failure,
            } => {
                if !(self.input.queue_exists)(&queue) {
                    return match failure {
                        Some(failure) => Ok(Next::Goto(failure)),
                        None => Err(format!("queue `{queue}` does not exist")),
                    };
                }
                if let Some(text) = text {
                    self.send(&text, &[])?;
                }
                Next::Stop(Outcome::Transferred {
                    queue,
                    priority,
                    skills,
                    language,
                    preferred_agents,
                })
            }
            Step::TransferFlow { flow } => Next::Stop(Outcome::TransferFlow { flow }),
            Step::Disconnect { text } => {
                if let Some(text) = text {
                    self.send(&text, &[])?;
                }
                Next::Stop(Outcome::Disconnected)
            }
        })
    }
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

    fn input<'a>(
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
        }
    }

    fn say(text: &str) -> Effect {
        Effect::Send {
            text: text.into(),
            quick_replies: vec![],
        }
    }

    #[test]
    fn greets_asks_then_routes_on_the_answer() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input(Event::Message, "hello", &all));
        assert_eq!(
            first.outcome,
            Outcome::Waiting {
                step: "ask".into(),
                timeout_at: Some(1_000_000 + 30 * 60_000)
            }
        );
        assert_eq!(first.effects[0], say("Hi Ada"));

        // The state survives a round trip through JSON, as it does through the store.
        let saved = serde_json::to_string(&first.state).unwrap();
        let second = run_turn(
            &flow,
            Some(serde_json::from_str(&saved).unwrap()),
            &input(Event::Message, "1", &all),
        );
        assert_eq!(
            second.outcome,
            Outcome::Transferred {
                queue: "billing".into(),
                priority: 5,
                skills: vec!["invoices".into()],
                language: Some("de".into()),
                preferred_agents: vec![]
            }
        );
        assert_eq!(
            second.effects,
            vec![say("Passing you to billing about Billing.")]
        );
    }

    #[test]
    fn a_wrong_answer_is_reprompted_then_takes_no_match_and_silence_takes_no_input() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input(Event::Message, "hi", &all));
        let second = run_turn(
            &flow,
            Some(first.state.clone()),
            &input(Event::Message, "pizza", &all),
        );
        assert!(matches!(second.outcome, Outcome::Waiting { .. }));
        let Effect::Send {
            text,
            quick_replies,
        } = &second.effects[0];
        assert_eq!(text, "Sorry, I did not get that. Billing or tech?");
        assert_eq!(quick_replies.len(), 2);
        let third = run_turn(
            &flow,
            Some(second.state),
            &input(Event::Message, "pasta", &all),
        );
        assert_eq!(third.outcome, Outcome::Disconnected);
        assert_eq!(third.effects, vec![say("Sorry, nobody is here.")]);

        let silent = run_turn(&flow, Some(first.state), &input(Event::Timeout, "", &all));
        assert_eq!(silent.outcome, Outcome::Disconnected);
    }

    #[test]
    fn a_missing_queue_takes_the_failure_path_and_errors_the_handler() {
        let flow = Flow::parse(FLOW, &Known::default()).unwrap();
        let none = |_: &str| false;
        let first = run_turn(&flow, None, &input(Event::Message, "hi", &none));
        let second = run_turn(
            &flow,
            Some(first.state),
            &input(Event::Message, "tech", &none),
        );
        assert_eq!(second.outcome, Outcome::Disconnected);
        assert_eq!(second.effects, vec![say("Sorry, nobody is here.")]);

        let src = FLOW.replace(r#"'topic.lowerAscii() == "billing"'"#, "'topic > 3'");
        let flow = Flow::parse(&src, &Known::default()).unwrap();
        let all = |_: &str| true;
        let first = run_turn(&flow, None, &input(Event::Message, "hi", &all));
        let second = run_turn(
            &flow,
            Some(first.state),
            &input(Event::Message, "tech", &all),
        );
        assert_eq!(second.outcome, Outcome::Disconnected);
        let Effect::Send { text, .. } = &second.effects[0];
        assert!(text.starts_with("Something broke: "), "{text}");
    }

    #[test]
    fn plugins_are_called_between_turns() {
        let src = r#"
start: who
steps:
  who:
    type: identify
    found: order
    not_found: faq
  order:
    type: data-action
    plugin: orders
    action: order-status
    input: { order_id: '"88-431"' }
    next: faq
    failure: sorry
    timeout: slow
  faq:
    type: bot
    plugin: faq-bot
    result: faq
    next: done
    handoff: agent
  done:
    type: disconnect
    text: "Status {{order_status.status}}, intent {{faq.intent}}"
  agent:
    type: transfer
    queue: support
  sorry:
    type: disconnect
    text: "failed: {{order_status.error}}"
  slow:
    type: disconnect
    text: slow
"#;
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let all = |_: &str| true;
        let t1 = run_turn(
            &flow,
            None,
            &input(Event::Message, "where is my order", &all),
        );
        let Outcome::Call {
            call:
                PluginCall::DataAction {
                    plugin,
                    input: lookup,
                    ..
                },
            ..
        } = &t1.outcome
        else {
            panic!("{:?}", t1.outcome)
        };
        assert_eq!(
            (plugin.as_str(), &lookup["handle"]),
            ("directory", &json!("ada"))
        );
        let found = PluginResult::DataAction(Ok(json!({"found": "true", "name": "Ada"})
            .as_object()
            .unwrap()
            .clone()));
        let t2 = run_turn(
            &flow,
            Some(t1.state),
            &input(Event::PluginResult(found), "where is my order", &all),
        );
        assert!(
            matches!(&t2.outcome, Outcome::Call { call: PluginCall::DataAction { action, .. }, .. } if action == "order-status")
        );
        let status = PluginResult::DataAction(Ok(json!({"status": "shipped"})
            .as_object()
            .unwrap()
            .clone()));
        let t3 = run_turn(
            &flow,
            Some(t2.state.clone()),
            &input(Event::PluginResult(status), "", &all),
        );
        assert!(
            matches!(&t3.outcome, Outcome::Call { call: PluginCall::Bot { session, .. }, .. } if session.is_empty())
        );

        // The bot asks back (continue): the flow waits; the next message goes to the bot again.
        let ask_back = BotTurn {
            replies: vec![("Which order?".into(), vec![])],
            session: "s1".into(),
            ..Default::default()
        };
        let t4 = run_turn(
            &flow,
            Some(t3.state),
            &input(
                Event::PluginResult(PluginResult::Bot(Ok(ask_back))),
                "",
                &all,
            ),
        );
        assert_eq!(t4.effects, vec![say("Which order?")]);
        assert!(matches!(t4.outcome, Outcome::Waiting { ref step, .. } if step == "faq"));
        let t5 = run_turn(
            &flow,
            Some(t4.state),
            &input(Event::Message, "88-431", &all),
        );
        assert!(
            matches!(&t5.outcome, Outcome::Call { call: PluginCall::Bot { session, text, .. }, .. } if session == "s1" && text.as_deref() == Some("88-431"))
        );
        let done = BotTurn {
            intent: Some("shipping".into()),
            exit: BotExit::Done,
            ..Default::default()
        };
        let t6 = run_turn(
            &flow,
            Some(t5.state),
            &input(Event::PluginResult(PluginResult::Bot(Ok(done))), "", &all),
        );
        assert_eq!(t6.outcome, Outcome::Disconnected);
        assert_eq!(t6.effects, vec![say("Status shipped, intent shipping")]);

        // A data action that times out takes its timeout path.
        let slow = PluginResult::DataAction(Err(ActionFailure::Timeout("deadline".into())));
        let t = run_turn(
            &flow,
            Some(t2.state),
            &input(Event::PluginResult(slow), "", &all),
        );
        assert_eq!(t.effects, vec![say("slow")]);
    }

    #[test]
    fn switch_schedule_and_transfer_flow() {
        let src = r#"
start: when
steps:
  when:
    type: schedule
    timezone: UTC
    hours: { thu: "00:00-12:00" }
    open: pick
    closed: after_hours
  pick:
    type: switch
    cases:
      - when: 'message.text == "a"'
        next: a
    default: b
  a:
    type: disconnect
    text: A
  b:
    type: disconnect
    text: B
  after_hours:
    type: transfer-flow
    flow: after-hours
"#;
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let all = |_: &str| true;
        // 1_000_000 ms after the epoch: Thursday 1970-01-01 00:16 UTC, open.
        let t = run_turn(&flow, None, &input(Event::Message, "a", &all));
        assert_eq!(t.effects, vec![say("A")]);
        let t = run_turn(&flow, None, &input(Event::Message, "z", &all));
        assert_eq!(t.effects, vec![say("B")]);
        let mut late = input(Event::Message, "a", &all);
        late.now_ms = 13 * 3_600_000;
        let t = run_turn(&flow, None, &late);
        assert_eq!(
            t.outcome,
            Outcome::TransferFlow {
                flow: "after-hours".into()
            }
        );
    }

    #[test]
    fn a_looping_flow_stops_at_the_step_limit() {
        let src = "start: a\nsteps:\n  a:\n    type: decision\n    condition: 'true'\n    then: b\n    else: b\n  b:\n    type: set-data\n    set:\n      n: '1'\n    next: a\n";
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let all = |_: &str| true;
        let turn = run_turn(&flow, None, &input(Event::Message, "hi", &all));
        assert_eq!(turn.steps_run, MAX_STEPS_PER_TURN);
        assert!(
            matches!(turn.outcome, Outcome::Failed { ref error, .. } if error.contains("10000 steps")),
            "{:?}",
            turn.outcome
        );
    }
}
