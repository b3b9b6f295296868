//! Resuming a waiting step: the customer's answer to an `ask` (slot filling, reprompts,
//! `no_match`), an `ask` that waited too long (`no_input`), the next message for a bot that
//! continues, and the result of the plugin call a step asked for.

use serde_json::{Value, json};

use super::{ActionFailure, BotExit, Effect, Next, PluginCall, PluginResult, Run};
use crate::engine::flow::Step;
use crate::engine::slots;
use crate::events::QuickReply;

impl Run<'_, '_> {
    /// The customer's message while step `name` waits.
    pub(super) fn answer(&mut self, name: &str) -> Result<(String, Next), (String, String)> {
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

    pub(super) fn timed_out(&mut self, name: &str) -> Result<(String, Next), (String, String)> {
        match self.get(name).map_err(|e| (name.to_string(), e))? {
            Step::Ask(ask) => match &ask.no_input {
                Some(no_input) => Ok((name.to_string(), Next::Goto(no_input.clone()))),
                None => Ok((name.to_string(), Next::Wait { timeout_at: None })),
            },
            _ => Ok((name.to_string(), Next::Wait { timeout_at: None })),
        }
    }

    pub(super) fn bot_call(&self, plugin: &str) -> PluginCall {
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
    pub(super) fn plugin_result(
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{FLOW, input, say};
    use super::super::*;
    use crate::engine::flow::Known;

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
}
