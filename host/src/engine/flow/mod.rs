//! Flows: a flow is a YAML file with a `start` step and a map of named steps, each with a
//! `type`. `model` holds the types a parsed flow is made of and what can be asked of them (where
//! a step leads, which plugins a flow calls); reading a file into them is in `parse`, checking
//! them in `validate` (every problem a [`FlowError`], with the line and column found by
//! `locate`).

mod error;
mod locate;
mod model;
mod parse;
mod schema;
mod shape;
mod typecheck;
mod validate;
mod yaml;

pub use error::FlowError;
pub use model::{Ask, Case, Flow, PluginKind, QuickReplySpec, Schedule, Step};
pub use schema::{SCHEMA_ID, schema};
pub use validate::{Known, RESERVED};

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const GOOD: &str = r#"description: test
start: greet
steps:
  greet:
    type: send
    text: "Hi {{customer.name | \"there\"}}"
    next: ask
  ask:
    type: ask
    text: What do you need?
    variable: topic
    quick_replies: [Orders, Other]
    next: route
  route:
    type: decision
    condition: 'topic.contains("Order")'
    then: orders
    else: bye
  orders:
    type: transfer
    queue: orders
    skills: [orders]
  bye:
    type: disconnect
    text: Bye
"#;

    #[test]
    fn a_good_flow_parses() {
        let flow = Flow::parse(GOOD, &Known::default()).unwrap();
        assert_eq!(flow.start, "greet");
        assert_eq!(flow.steps.len(), 5);
    }
}
