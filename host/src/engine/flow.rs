//! The flow model and its parser/validator.
//!
//! A flow is a YAML file: a `start` step and a map of named steps, each with a `type`. Parsing
//! reports **every** problem it finds, each with the line (and column where known) it concerns,
//! so an author fixes a file in one round.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde::Deserialize;

use super::expr;
use crate::events::QuickReply;

/// A parsed, validated flow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(default)]
    pub description: Option<String>,
    /// The first step of every run.
    pub start: String,
    /// The step a run jumps to when a step fails (`error` holds the reason).
    #[serde(default)]
    pub on_error: Option<String>,
    pub steps: BTreeMap<String, Step>,
}

/// One step. `next` names the step that follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Send a message (text with `{{variable}}` templates, optional quick replies).
    Send {
        text: String,
        #[serde(default)]
        quick_replies: Vec<QuickReplySpec>,
        next: String,
    },
    /// Send a question and wait for the customer's answer, stored in `variable`.
    Ask {
        text: String,
        variable: String,
        #[serde(default)]
        quick_replies: Vec<QuickReplySpec>,
        next: String,
    },
    /// Go to `then` if the CEL `condition` is true, else to `else`.
    Decision {
        condition: String,
        then: String,
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// Set variables from CEL expressions.
    SetData {
        set: BTreeMap<String, String>,
        next: String,
    },
    /// Hand the conversation to an ACD queue; the flow ends here.
    Transfer {
        queue: String,
        #[serde(default)]
        priority: i64,
        #[serde(default)]
        skills: Vec<String>,
        /// An optional message sent before the transfer.
        #[serde(default)]
        text: Option<String>,
        /// Where to go if the queue does not exist.
        #[serde(default)]
        failure: Option<String>,
    },
    /// End the conversation, optionally with a last message.
    Disconnect {
        #[serde(default)]
        text: Option<String>,
    },
}

/// A quick reply: a plain string (label and payload alike) or `{label, payload}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QuickReplySpec {
    Label(String),
    Full { label: String, payload: String },
}

impl QuickReplySpec {
    pub fn to_quick_reply(&self) -> QuickReply {
        match self {
            QuickReplySpec::Label(l) => QuickReply {
                label: l.clone(),
                payload: l.clone(),
            },
            QuickReplySpec::Full { label, payload } => QuickReply {
                label: label.clone(),
                payload: payload.clone(),
            },
        }
    }
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Send { .. } => "send",
            Step::Ask { .. } => "ask",
            Step::Decision { .. } => "decision",
            Step::SetData { .. } => "set-data",
            Step::Transfer { .. } => "transfer",
            Step::Disconnect { .. } => "disconnect",
        }
    }

    /// The steps this one can lead to, with the field that names each.
    pub fn targets(&self) -> Vec<(&'static str, &str)> {
        match self {
            Step::Send { next, .. } | Step::Ask { next, .. } | Step::SetData { next, .. } => {
                vec![("next", next)]
            }
            Step::Decision {
                then, otherwise, ..
            } => vec![("then", then), ("else", otherwise)],
            Step::Transfer { failure, .. } => {
                failure.iter().map(|f| ("failure", f.as_str())).collect()
            }
            Step::Disconnect { .. } => vec![],
        }
    }
}

/// One problem in a flow file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}

/// What the flow may refer to outside itself; `None` skips that check.
#[derive(Debug, Default, Clone)]
pub struct Known<'a> {
    pub queues: Option<&'a HashSet<String>>,
}

impl Flow {
    /// Parses and validates a flow. On failure, returns every problem found.
    pub fn parse(source: &str, known: &Known<'_>) -> Result<Flow, Vec<FlowError>> {
        let flow: Flow = serde_yaml_ng::from_str(source).map_err(|e| {
            let location = e.location();
            vec![FlowError {
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: e
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }]
        })?;
        let errors = flow.validate(source, known);
        if errors.is_empty() {
            Ok(flow)
        } else {
            Err(errors)
        }
    }

    fn validate(&self, source: &str, known: &Known<'_>) -> Vec<FlowError> {
        let mut errors = Vec::new();
        let at = |step: &str, field: Option<&str>, message: String| FlowError {
            line: locate(source, step, field),
            column: None,
            message,
        };
        if !self.steps.contains_key(&self.start) {
            errors.push(FlowError {
                line: locate_top(source, "start"),
                column: None,
                message: format!("`start` names step `{}`, which does not exist", self.start),
            });
        }
        if let Some(handler) = &self.on_error
            && !self.steps.contains_key(handler)
        {
            errors.push(FlowError {
                line: locate_top(source, "on_error"),
                column: None,
                message: format!("`on_error` names step `{handler}`, which does not exist"),
            });
        }
        for (name, step) in &self.steps {
            for (field, target) in step.targets() {
                if !self.steps.contains_key(target) {
                    errors.push(at(
                        name,
                        Some(field),
                        format!(
                            "step `{name}`: `{field}` names step `{target}`, which does not exist"
                        ),
                    ));
                }
            }
            match step {
                Step::Send { text, .. } => check_template(&mut errors, &at, name, text),
                Step::Ask { text, variable, .. } => {
                    check_template(&mut errors, &at, name, text);
                    if !is_identifier(variable) {
                        errors.push(at(name, Some("variable"), format!(
                            "step `{name}`: variable `{variable}` must be a letter or `_` followed by letters, digits or `_`"
                        )));
                    }
                    if RESERVED.contains(&variable.as_str()) {
                        errors.push(at(name, Some("variable"), format!("step `{name}`: `{variable}` is reserved; choose another variable name")));
                    }
                }
                Step::Decision { condition, .. } => {
                    if let Err(e) = expr::compile(condition) {
                        errors.push(at(
                            name,
                            Some("condition"),
                            format!("step `{name}`: bad condition: {e}"),
                        ));
                    }
                }
                Step::SetData { set, .. } => {
                    for (var, expression) in set {
                        if !is_identifier(var) || RESERVED.contains(&var.as_str()) {
                            errors.push(at(name, Some(var), format!("step `{name}`: cannot set `{var}`: not a variable name, or reserved")));
                        }
                        if let Err(e) = expr::compile(expression) {
                            errors.push(at(
                                name,
                                Some(var),
                                format!("step `{name}`: bad expression for `{var}`: {e}"),
                            ));
                        }
                    }
                }
                Step::Transfer { queue, text, .. } => {
                    if let Some(text) = text {
                        check_template(&mut errors, &at, name, text);
                    }
                    if let Some(queues) = known.queues
                        && !queues.contains(queue)
                    {
                        errors.push(at(
                            name,
                            Some("queue"),
                            format!("step `{name}`: queue `{queue}` is not configured"),
                        ));
                    }
                }
                Step::Disconnect { text } => {
                    if let Some(text) = text {
                        check_template(&mut errors, &at, name, text);
                    }
                }
            }
        }
        if errors.is_empty() {
            for name in self.unreachable() {
                errors.push(at(
                    &name,
                    None,
                    format!("step `{name}` can never be reached"),
                ));
            }
        }
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        errors
    }

    /// Steps no path from `start` (or the error handler) leads to.
    fn unreachable(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![self.start.as_str()];
        todo.extend(self.on_error.as_deref());
        while let Some(name) = todo.pop() {
            if !seen.insert(name.to_string()) {
                continue;
            }
            if let Some(step) = self.steps.get(name) {
                todo.extend(step.targets().into_iter().map(|(_, t)| t));
            }
        }
        self.steps
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect()
    }
}

/// Names a flow author may not use for variables: the engine provides them.
pub const RESERVED: &[&str] = &[
    "message",
    "customer",
    "integration",
    "conversation",
    "error",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_template(
    errors: &mut Vec<FlowError>,
    at: &impl Fn(&str, Option<&str>, String) -> FlowError,
    step: &str,
    text: &str,
) {
    if let Err(e) = super::template::check(text) {
        errors.push(at(step, Some("text"), format!("step `{step}`: {e}")));
    }
}

/// The line of a top-level key.
fn locate_top(source: &str, key: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
        .map(|i| i + 1)
}

/// The line of step `step` under `steps:`, or of its `field` when given and found.
fn locate(source: &str, step: &str, field: Option<&str>) -> Option<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let steps_at = lines
        .iter()
        .position(|l| l.starts_with("steps") && l[5..].trim_start().starts_with(':'))?;
    let mut step_line = None;
    let mut step_indent = 0;
    for (i, line) in lines.iter().enumerate().skip(steps_at + 1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if step_line.is_none() {
            let key = trimmed.trim_matches(|c| c == '"' || c == '\'');
            if indent > 0
                && (key.starts_with(&format!("{step}:"))
                    || trimmed.starts_with(&format!("\"{step}\":")))
            {
                step_line = Some(i);
                step_indent = indent;
            }
            continue;
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent <= step_indent {
            break;
        }
        if let Some(field) = field
            && trimmed.starts_with(&format!("{field}:"))
        {
            return Some(i + 1);
        }
    }
    step_line.map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"description: test
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

    #[test]
    fn every_error_is_reported_with_its_line() {
        let bad = r#"start: greet
steps:
  greet:
    type: send
    text: "Hi {{customer.name"
    next: nowhere
  ask:
    type: ask
    text: Hi
    variable: 9lives
    next: route
  route:
    type: decision
    condition: 'topic ==='
    then: ask
    else: ask
"#;
        let errors = Flow::parse(bad, &Known::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text[0].starts_with("line 5:") && text[0].contains("{{"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("line 6:") && text[1].contains("`nowhere`"),
            "{text:#?}"
        );
        assert!(
            text[2].starts_with("line 10:") && text[2].contains("9lives"),
            "{text:#?}"
        );
        assert!(
            text[3].starts_with("line 14:") && text[3].contains("bad condition"),
            "{text:#?}"
        );
    }

    #[test]
    fn unknown_step_type_and_field_are_refused_with_a_line() {
        let errors = Flow::parse(
            "start: a\nsteps:\n  a:\n    type: sned\n    text: x\n",
            &Known::default(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("unknown variant `sned`"),
            "{:?}",
            errors[0]
        );
        assert_eq!(errors[0].line, Some(4));

        let errors = Flow::parse(
            "start: a\nsteps:\n  a:\n    type: disconnect\n    txt: x\n",
            &Known::default(),
        )
        .unwrap_err();
        assert!(
            errors[0].message.contains("unknown field `txt`"),
            "{:?}",
            errors[0]
        );
    }

    #[test]
    fn unreachable_steps_and_unknown_queues_are_errors() {
        let queues: HashSet<String> = ["general".to_string()].into();
        let errors = Flow::parse(
            GOOD,
            &Known {
                queues: Some(&queues),
            },
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("queue `orders` is not configured")
        );
        assert_eq!(errors[0].line, Some(21));

        let src = "start: a\nsteps:\n  a:\n    type: disconnect\n  b:\n    type: disconnect\n";
        let errors = Flow::parse(src, &Known::default()).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "line 5: step `b` can never be reached"
        );
    }
}
