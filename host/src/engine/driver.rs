//! Drives a flow through plugin calls and flow transfers until it waits, hands over or ends.
//!
//! [`run_turn`] stops whenever a plugin is needed; the driver performs the call through
//! [`Plugins`] (the host's Wasm runtime, or anything else in tests and `flow test`) and runs the
//! next turn with its result. A `transfer-flow` continues in the latest version of the named
//! flow with the same variables. The step limit holds across the whole drive.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::flow::Flow;
use super::interp::{
    Effect, Event, FlowState, MAX_STEPS_PER_TURN, Outcome, PluginCall, PluginResult, TurnInput,
    run_turn,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Performs plugin calls for the engine.
pub trait Plugins: Send + Sync {
    fn call<'a>(&'a self, call: &'a PluginCall) -> BoxFuture<'a, PluginResult>;
}

/// Finds flows for `transfer-flow`: the latest version of a flow by name.
pub trait Flows: Send + Sync {
    fn latest(&self, name: &str) -> Option<(i64, Arc<Flow>)>;
}

/// The most plugin calls one drive makes (a bot and a data action calling each other forever
/// would otherwise never stop).
pub const MAX_CALLS_PER_DRIVE: u32 = 100;

/// What a drive did.
#[derive(Debug)]
pub struct Drive {
    pub effects: Vec<Effect>,
    pub outcome: Outcome,
    pub state: FlowState,
    pub steps_run: u32,
    pub calls: u32,
    /// Set when a `transfer-flow` moved the conversation to another flow (name, version).
    pub switched_to: Option<(String, i64)>,
}

/// Runs `flow` from `state` for `input`, performing plugin calls and flow transfers.
pub async fn drive(
    flow: Arc<Flow>,
    state: Option<FlowState>,
    mut input: TurnInput<'_>,
    plugins: &dyn Plugins,
    flows: &dyn Flows,
) -> Drive {
    let mut flow = flow;
    let mut state = state;
    let mut effects = Vec::new();
    let mut steps_run = 0;
    let mut calls = 0;
    let mut switched_to = None;
    loop {
        let turn = run_turn(&flow, state.take(), &input);
        effects.extend(turn.effects);
        steps_run += turn.steps_run;
        let done = |outcome, state| Drive {
            effects: Vec::new(),
            outcome,
            state,
            steps_run: 0,
            calls: 0,
            switched_to: None,
        };
        let mut result = match turn.outcome {
            Outcome::Call { step, call } => {
                if calls >= MAX_CALLS_PER_DRIVE || steps_run >= MAX_STEPS_PER_TURN {
                    done(
                        Outcome::Failed {
                            step,
                            error: format!(
                                "the flow made {calls} plugin calls and ran {steps_run} steps without waiting for the customer; it probably loops"
                            ),
                        },
                        turn.state,
                    )
                } else {
                    calls += 1;
                    let result = plugins.call(&call).await;
                    state = Some(turn.state);
                    input.event = Event::PluginResult(result);
                    continue;
                }
            }
            Outcome::TransferFlow { flow: name } => match flows.latest(&name) {
                Some((version, next)) if steps_run < MAX_STEPS_PER_TURN => {
                    flow = next;
                    switched_to = Some((name, version));
                    state = Some(FlowState {
                        vars: turn.state.vars,
                        ..FlowState::default()
                    });
                    input.event = Event::Message;
                    continue;
                }
                Some(_) => done(
                    Outcome::Failed {
                        step: name,
                        error: "the flows transfer to each other without end".into(),
                    },
                    turn.state,
                ),
                None => done(
                    Outcome::Failed {
                        step: name.clone(),
                        error: format!("flow `{name}` does not exist"),
                    },
                    turn.state,
                ),
            },
            outcome => done(outcome, turn.state),
        };
        result.effects = effects;
        result.steps_run = steps_run;
        result.calls = calls;
        result.switched_to = switched_to;
        return result;
    }
}
