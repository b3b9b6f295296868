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
//!
//! The turn's loop and what every step shares are here; the types a turn takes and returns are
//! in `state`, running one step in `step`, and what a waiting step does with the event that
//! resumes it (an answer to an `ask`, a timeout, a plugin's result) in `resume`.

mod resume;
mod state;
mod step;
#[cfg(test)]
mod test_support;

use serde_json::{Map, Value, json};

use super::flow::{Flow, QuickReplySpec, Step};
use super::template;

pub use state::{
    ActionFailure, BotExit, BotTurn, Effect, Event, FlowState, Outcome, PluginCall, PluginResult,
    Turn, TurnInput,
};

/// No turn runs more steps than this (Genesys Architect uses the same limit), so a flow that
/// loops through decisions cannot spin forever.
pub const MAX_STEPS_PER_TURN: u32 = 10_000;

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
}

#[cfg(test)]
mod tests {
    use super::test_support::{FLOW, input, say};
    use super::*;
    use crate::engine::flow::Known;

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

        let src = FLOW.replace(r#"'topic.lowerAscii() == "billing"'"#, "'int(topic) > 3'");
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
