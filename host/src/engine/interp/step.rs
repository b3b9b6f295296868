//! Running one step: what each step type does when the flow reaches it.

use serde_json::{Map, Value};

use super::{Next, Outcome, PluginCall, Run};
use crate::engine::flow::Step;
use crate::engine::{expr, schedule};

impl Run<'_, '_> {
    pub(super) fn step(&mut self, name: &str) -> Result<Next, String> {
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
                let now = self.input.now_ms;
                let status = match &s.group {
                    Some(group) => self
                        .input
                        .schedules
                        .status(group, now)
                        .ok_or_else(|| format!("schedule group `{group}` does not exist"))?,
                    None => schedule::Hours::parse(
                        s.timezone.as_deref().unwrap_or_default(),
                        s.hours.as_ref().unwrap_or(&Default::default()),
                        &s.holidays,
                    )
                    .map_err(|e| e.message)?
                    .status(now),
                };
                Next::Goto(match status {
                    schedule::Status::Open => s.open.clone(),
                    schedule::Status::Closed => s.closed.clone(),
                    schedule::Status::Holiday => s.holiday.clone().unwrap_or(s.closed.clone()),
                    schedule::Status::Emergency => s.emergency.clone().unwrap_or(s.closed.clone()),
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
    use super::super::test_support::{input, say};
    use super::super::*;
    use crate::engine::flow::Known;

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
}
