//! The flow model and its parser/validator.
//!
//! A flow is a YAML file: a `start` step and a map of named steps, each with a `type`. Parsing
//! reports **every** problem it finds, each with the line and column it concerns, so an author
//! fixes a file in one round: each step is decoded on its own, so one bad step does not hide
//! the problems of the others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::Deserialize;

use super::{expr, schedule, slots};
use crate::events::QuickReply;

/// A parsed, validated flow.
#[derive(Debug, Clone)]
pub struct Flow {
    pub description: Option<String>,
    /// The first step of every run.
    pub start: String,
    /// The step a run jumps to when a step fails (`error.message` holds the reason).
    pub on_error: Option<String>,
    pub steps: BTreeMap<String, Step>,
}

/// The top level of a flow file; steps are decoded one by one afterwards.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    #[serde(default)]
    description: Option<String>,
    start: String,
    #[serde(default)]
    on_error: Option<String>,
    steps: BTreeMap<String, serde_yaml_ng::Value>,
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
    /// Ask a question and collect the answer into `variable`, checked against `expect`.
    Ask(Box<Ask>),
    /// Hand the conversation to a bot plugin, turn by turn, until it exits.
    Bot {
        plugin: String,
        /// Where the bot's result (`intent`, `confidence`, `slots`) is stored; default `bot`.
        #[serde(default = "default_bot_result")]
        result: String,
        /// The bot answered and is done.
        next: String,
        /// The bot (or the customer) asks for a human.
        #[serde(default)]
        handoff: Option<String>,
        /// The bot failed or ran past its deadline; without it, the flow's error handler.
        #[serde(default)]
        error: Option<String>,
    },
    /// Call a data-action plugin; its outputs land in `result`.
    DataAction {
        plugin: String,
        action: String,
        /// Inputs, each a CEL expression.
        #[serde(default)]
        input: BTreeMap<String, String>,
        /// The variable the outputs are stored in; default: the action's name with `_` for `-`.
        #[serde(default)]
        result: Option<String>,
        next: String,
        /// The action reported a failure.
        #[serde(default)]
        failure: Option<String>,
        /// The plugin ran past its deadline (or trapped); without it, `failure`.
        #[serde(default)]
        timeout: Option<String>,
    },
    /// Find the customer by their channel handle, through a data action (the `directory`
    /// plugin's `lookup-customer` by default); the record lands in `contact`.
    Identify {
        #[serde(default = "default_directory")]
        plugin: String,
        #[serde(default = "default_lookup")]
        action: String,
        /// What to look up by (CEL); default: the handle, or the platform id without one.
        #[serde(default)]
        by: Option<String>,
        found: String,
        not_found: String,
    },
    /// Go to `then` if the CEL `condition` is true, else to `else`.
    Decision {
        condition: String,
        then: String,
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// The first case whose CEL `when` is true, else `default`.
    Switch { cases: Vec<Case>, default: String },
    /// Set participant data from CEL expressions (kept through transfers, shown to agents).
    SetData {
        set: BTreeMap<String, String>,
        next: String,
    },
    /// Open, closed or holiday, from weekly hours in a time zone.
    Schedule(Box<Schedule>),
    /// Hand the conversation to an ACD queue; the flow ends here.
    Transfer {
        queue: String,
        #[serde(default)]
        priority: i64,
        #[serde(default)]
        skills: Vec<String>,
        #[serde(default)]
        language: Option<String>,
        #[serde(default)]
        preferred_agents: Vec<String>,
        /// An optional message sent before the transfer.
        #[serde(default)]
        text: Option<String>,
        /// Where to go if the queue does not exist.
        #[serde(default)]
        failure: Option<String>,
    },
    /// Continue in another flow (its latest version) with the same variables.
    TransferFlow { flow: String },
    /// End the conversation, optionally with a last message.
    Disconnect {
        #[serde(default)]
        text: Option<String>,
    },
}

/// `ask`: a question, a slot type, reprompts and a no-input timeout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub text: String,
    pub variable: String,
    /// The slot type: text (default), number, email, phone, date, choice, regex.
    #[serde(default)]
    pub expect: slots::SlotType,
    /// For `expect: regex`.
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub quick_replies: Vec<QuickReplySpec>,
    /// Sent when an answer does not fit; default: a generic line plus the question.
    #[serde(default)]
    pub reprompt: Option<String>,
    /// How many times to reprompt before taking `no_match`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    pub next: String,
    /// After the last reprompt fails; without it, the flow's error handler.
    #[serde(default)]
    pub no_match: Option<String>,
    /// Minutes to wait for an answer before taking `no_input` (fractions allowed: 0.5 is 30 s).
    #[serde(default)]
    pub timeout_minutes: Option<f64>,
    #[serde(default)]
    pub no_input: Option<String>,
}

/// `schedule`: weekly hours in a time zone, and holidays.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// An IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Opening hours per weekday (`mon` ... `sun`), e.g. `"09:00-17:00"` or `"09:00-12:00, 13:00-17:00"`.
    pub hours: BTreeMap<String, String>,
    /// Dates (`YYYY-MM-DD`) that are closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
    pub open: String,
    pub closed: String,
    /// Without it, holidays take `closed`.
    #[serde(default)]
    pub holiday: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub when: String,
    pub next: String,
}

fn default_bot_result() -> String {
    "bot".into()
}
fn default_directory() -> String {
    "directory".into()
}
fn default_lookup() -> String {
    "lookup-customer".into()
}
fn default_retries() -> u32 {
    2
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
            Step::Ask(_) => "ask",
            Step::Bot { .. } => "bot",
            Step::DataAction { .. } => "data-action",
            Step::Identify { .. } => "identify",
            Step::Decision { .. } => "decision",
            Step::Switch { .. } => "switch",
            Step::SetData { .. } => "set-data",
            Step::Schedule(_) => "schedule",
            Step::Transfer { .. } => "transfer",
            Step::TransferFlow { .. } => "transfer-flow",
            Step::Disconnect { .. } => "disconnect",
        }
    }

    /// The steps this one can lead to, each with the label of the path (the field naming it).
    pub fn targets(&self) -> Vec<(String, &str)> {
        fn one<'s>(label: &str, t: &'s str) -> (String, &'s str) {
            (label.to_string(), t)
        }
        fn opt<'s>(out: &mut Vec<(String, &'s str)>, label: &str, t: &'s Option<String>) {
            if let Some(t) = t {
                out.push((label.to_string(), t.as_str()));
            }
        }
        let mut out = Vec::new();
        match self {
            Step::Send { next, .. } | Step::SetData { next, .. } => out.push(one("next", next)),
            Step::Ask(ask) => {
                out.push(one("next", &ask.next));
                opt(&mut out, "no_match", &ask.no_match);
                opt(&mut out, "no_input", &ask.no_input);
            }
            Step::Bot {
                next,
                handoff,
                error,
                ..
            } => {
                out.push(one("next", next));
                opt(&mut out, "handoff", handoff);
                opt(&mut out, "error", error);
            }
            Step::DataAction {
                next,
                failure,
                timeout,
                ..
            } => {
                out.push(one("next", next));
                opt(&mut out, "failure", failure);
                opt(&mut out, "timeout", timeout);
            }
            Step::Identify {
                found, not_found, ..
            } => {
                out.push(one("found", found));
                out.push(one("not_found", not_found));
            }
            Step::Decision {
                then, otherwise, ..
            } => {
                out.push(one("then", then));
                out.push(one("else", otherwise));
            }
            Step::Switch { cases, default } => {
                for case in cases {
                    out.push((format!("when {}", case.when), case.next.as_str()));
                }
                out.push(one("default", default));
            }
            Step::Schedule(s) => {
                out.push(one("open", &s.open));
                out.push(one("closed", &s.closed));
                opt(&mut out, "holiday", &s.holiday);
            }
            Step::Transfer { failure, .. } => opt(&mut out, "failure", failure),
            Step::TransferFlow { .. } | Step::Disconnect { .. } => {}
        }
        out
    }
}

/// The field of a step that names a path, for error locations.
fn target_field(label: &str) -> &str {
    if label.starts_with("when ") {
        "cases"
    } else {
        label
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

/// The kinds of flow plugins a flow can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Bot,
    DataAction,
}

/// What the flow may refer to outside itself; `None` skips that check.
#[derive(Debug, Default, Clone)]
pub struct Known<'a> {
    pub queues: Option<&'a HashSet<String>>,
    /// Loaded flow plugins and their kinds.
    pub plugins: Option<&'a HashMap<String, PluginKind>>,
    /// Flows `transfer-flow` may name.
    pub flows: Option<&'a HashSet<String>>,
}

impl Flow {
    /// Parses and validates a flow. On failure, returns every problem found.
    pub fn parse(source: &str, known: &Known<'_>) -> Result<Flow, Vec<FlowError>> {
        let raw: RawFlow = serde_yaml_ng::from_str(source).map_err(|e| {
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
        let mut errors = Vec::new();
        let mut steps = BTreeMap::new();
        for (name, value) in raw.steps {
            match serde_yaml_ng::from_value::<Step>(value) {
                Ok(step) => {
                    steps.insert(name, step);
                }
                Err(e) => {
                    let message = e.to_string();
                    // Point at the field the message names (`unknown field `txt``), else at
                    // the step's `type`.
                    let named = message.split('`').nth(1).unwrap_or("type");
                    let place = if message.starts_with("unknown variant") {
                        locate_value(source, &name, named)
                    } else {
                        locate(source, &name, Some(named))
                    };
                    let (line, column) = place
                        .or_else(|| locate(source, &name, Some("type")))
                        .or_else(|| locate(source, &name, None))
                        .unzip();
                    let message = message.split(" at line ").next().unwrap_or_default();
                    errors.push(FlowError {
                        line,
                        column,
                        message: format!("step `{name}`: {message}"),
                    });
                }
            }
        }
        let flow = Flow {
            description: raw.description,
            start: raw.start,
            on_error: raw.on_error,
            steps,
        };
        flow.validate(source, known, &mut errors);
        errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
        if errors.is_empty() {
            Ok(flow)
        } else {
            Err(errors)
        }
    }

    fn validate(&self, source: &str, known: &Known<'_>, errors: &mut Vec<FlowError>) {
        let at = |step: &str, field: Option<&str>, message: String| {
            let (line, column) = locate(source, step, field)
                .or_else(|| locate(source, step, None))
                .unzip();
            FlowError {
                line,
                column,
                message,
            }
        };
        let decoded_all = errors.is_empty();
        if !self.steps.contains_key(&self.start)
            && (decoded_all || !source.contains(&format!("{}:", self.start)))
        {
            let (line, column) = locate_top(source, "start").unzip();
            errors.push(FlowError {
                line,
                column,
                message: format!("`start` names step `{}`, which does not exist", self.start),
            });
        }
        if let Some(handler) = &self.on_error
            && !self.steps.contains_key(handler)
            && (decoded_all || !source.contains(&format!("{handler}:")))
        {
            let (line, column) = locate_top(source, "on_error").unzip();
            errors.push(FlowError {
                line,
                column,
                message: format!("`on_error` names step `{handler}`, which does not exist"),
            });
        }
        let exists = |target: &str| {
            self.steps.contains_key(target)
                || (!decoded_all && source.contains(&format!("  {target}:")))
        };
        let check_plugin =
            |errors: &mut Vec<FlowError>, name: &str, plugin: &str, want: PluginKind| {
                if let Some(plugins) = known.plugins {
                    match plugins.get(plugin) {
                        None => errors.push(at(
                            name,
                            Some("plugin"),
                            format!("step `{name}`: plugin `{plugin}` is not loaded"),
                        )),
                        Some(kind) if *kind != want => errors.push(at(
                            name,
                            Some("plugin"),
                            format!(
                                "step `{name}`: plugin `{plugin}` is a {}, not a {}",
                                kind_name(*kind),
                                kind_name(want)
                            ),
                        )),
                        Some(_) => {}
                    }
                }
            };
        let check_expr =
            |errors: &mut Vec<FlowError>, name: &str, field: &str, source_expr: &str| {
                if let Err(e) = expr::compile(source_expr) {
                    errors.push(at(
                        name,
                        Some(field),
                        format!("step `{name}`: bad expression in `{field}`: {e}"),
                    ));
                }
            };
        for (name, step) in &self.steps {
            for (label, target) in step.targets() {
                if !exists(target) {
                    errors.push(at(
                        name,
                        Some(target_field(&label)),
                        format!(
                            "step `{name}`: `{label}` names step `{target}`, which does not exist"
                        ),
                    ));
                }
            }
            match step {
                Step::Send { text, .. } => check_template(errors, &at, name, "text", text),
                Step::Ask(ask) => {
                    check_template(errors, &at, name, "text", &ask.text);
                    if let Some(reprompt) = &ask.reprompt {
                        check_template(errors, &at, name, "reprompt", reprompt);
                    }
                    check_variable(errors, &at, name, "variable", &ask.variable);
                    if let Err(e) =
                        slots::check(ask.expect, ask.pattern.as_deref(), ask.quick_replies.len())
                    {
                        errors.push(at(name, Some("expect"), format!("step `{name}`: {e}")));
                    }
                    if ask
                        .timeout_minutes
                        .is_some_and(|m| !(m > 0.0 && m <= 43_200.0))
                    {
                        errors.push(at(
                            name,
                            Some("timeout_minutes"),
                            format!("step `{name}`: `timeout_minutes` must be more than 0 and at most 30 days (43200)"),
                        ));
                    }
                    if ask.timeout_minutes.is_some() != ask.no_input.is_some() {
                        errors.push(at(
                            name,
                            Some(if ask.timeout_minutes.is_some() {
                                "timeout_minutes"
                            } else {
                                "no_input"
                            }),
                            format!("step `{name}`: `timeout_minutes` and `no_input` go together"),
                        ));
                    }
                }
                Step::Bot { plugin, result, .. } => {
                    check_plugin(errors, name, plugin, PluginKind::Bot);
                    check_variable(errors, &at, name, "result", result);
                }
                Step::DataAction {
                    plugin,
                    input,
                    result,
                    ..
                } => {
                    check_plugin(errors, name, plugin, PluginKind::DataAction);
                    for (field, expression) in input {
                        check_expr(errors, name, field, expression);
                    }
                    if let Some(result) = result {
                        check_variable(errors, &at, name, "result", result);
                    }
                }
                Step::Identify { plugin, by, .. } => {
                    check_plugin(errors, name, plugin, PluginKind::DataAction);
                    if let Some(by) = by {
                        check_expr(errors, name, "by", by);
                    }
                }
                Step::Decision { condition, .. } => {
                    check_expr(errors, name, "condition", condition)
                }
                Step::Switch { cases, .. } => {
                    for case in cases {
                        check_expr(errors, name, "when", &case.when);
                    }
                }
                Step::SetData { set, .. } => {
                    for (var, expression) in set {
                        check_variable(errors, &at, name, var, var);
                        check_expr(errors, name, var, expression);
                    }
                }
                Step::Schedule(s) => {
                    if let Err(e) = schedule::Hours::parse(&s.timezone, &s.hours, &s.holidays) {
                        errors.push(at(
                            name,
                            Some(e.field),
                            format!("step `{name}`: {}", e.message),
                        ));
                    }
                }
                Step::Transfer { queue, text, .. } => {
                    if let Some(text) = text {
                        check_template(errors, &at, name, "text", text);
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
                Step::TransferFlow { flow } => {
                    if let Some(flows) = known.flows
                        && !flows.contains(flow)
                    {
                        errors.push(at(
                            name,
                            Some("flow"),
                            format!("step `{name}`: flow `{flow}` does not exist"),
                        ));
                    }
                }
                Step::Disconnect { text } => {
                    if let Some(text) = text {
                        check_template(errors, &at, name, "text", text);
                    }
                }
            }
        }
        if decoded_all && errors.is_empty() {
            for name in self.unreachable() {
                errors.push(at(
                    &name,
                    None,
                    format!("step `{name}` can never be reached"),
                ));
            }
        }
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

    /// The flow plugins this flow calls, with their kinds.
    pub fn plugins(&self) -> BTreeMap<String, PluginKind> {
        let mut out = BTreeMap::new();
        for step in self.steps.values() {
            match step {
                Step::Bot { plugin, .. } => {
                    out.insert(plugin.clone(), PluginKind::Bot);
                }
                Step::DataAction { plugin, .. } | Step::Identify { plugin, .. } => {
                    out.insert(plugin.clone(), PluginKind::DataAction);
                }
                _ => {}
            }
        }
        out
    }
}

fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Bot => "bot",
        PluginKind::DataAction => "data action",
    }
}

/// Names a flow author may not use for variables: the engine provides them.
pub const RESERVED: &[&str] = &[
    "message",
    "customer",
    "integration",
    "conversation",
    "error",
    "now",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_variable(
    errors: &mut Vec<FlowError>,
    at: &impl Fn(&str, Option<&str>, String) -> FlowError,
    step: &str,
    field: &str,
    variable: &str,
) {
    if !is_identifier(variable) {
        errors.push(at(step, Some(field), format!(
            "step `{step}`: variable `{variable}` must be a letter or `_` followed by letters, digits or `_`"
        )));
    } else if RESERVED.contains(&variable) {
        errors.push(at(
            step,
            Some(field),
            format!("step `{step}`: `{variable}` is reserved; choose another variable name"),
        ));
    }
}

fn check_template(
    errors: &mut Vec<FlowError>,
    at: &impl Fn(&str, Option<&str>, String) -> FlowError,
    step: &str,
    field: &str,
    text: &str,
) {
    if let Err(e) = super::template::check(text) {
        errors.push(at(step, Some(field), format!("step `{step}`: {e}")));
    }
}

/// The line and column of the field of step `step` whose value is `value`.
fn locate_value(source: &str, step: &str, value: &str) -> Option<(usize, usize)> {
    let (step_line, step_column) = locate(source, step, None)?;
    for (i, line) in source.lines().enumerate().skip(step_line) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent < step_column {
            break;
        }
        if let Some((_, v)) = trimmed.split_once(':')
            && v.trim().trim_matches(|c| c == '"' || c == '\'') == value
        {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

/// The line and column of a top-level key.
fn locate_top(source: &str, key: &str) -> Option<(usize, usize)> {
    source
        .lines()
        .position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
        .map(|i| (i + 1, 1))
}

/// The line and column of step `step` under `steps:`, or of its `field` when given and found.
fn locate(source: &str, step: &str, field: Option<&str>) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let steps_at = lines
        .iter()
        .position(|l| l.starts_with("steps") && l[5..].trim_start().starts_with(':'))?;
    let mut step_at = None;
    let mut step_indent = 0;
    for (i, line) in lines.iter().enumerate().skip(steps_at + 1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if step_at.is_none() {
            let key = trimmed.trim_matches(|c| c == '"' || c == '\'');
            if indent > 0
                && (key.starts_with(&format!("{step}:"))
                    || trimmed.starts_with(&format!("\"{step}\":")))
            {
                step_at = Some((i + 1, indent + 1));
                step_indent = indent;
            }
            continue;
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent <= step_indent {
            break;
        }
        if let Some(field) = field {
            let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            if item.starts_with(&format!("{field}:")) || item.starts_with(&format!("\"{field}\":"))
            {
                return Some((i + 1, indent + 1 + (trimmed.len() - item.len())));
            }
        }
    }
    if field.is_some() { None } else { step_at }
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
    fn every_error_is_reported_with_its_line_and_column() {
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
  typo:
    type: sned
    text: x
  extra:
    type: disconnect
    txt: bye
"#;
        let errors = Flow::parse(bad, &Known::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 6, "{text:#?}");
        assert!(
            text[0].starts_with("line 5, column 5:") && text[0].contains("{{"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("line 6, column 5:") && text[1].contains("`nowhere`"),
            "{text:#?}"
        );
        assert!(
            text[2].starts_with("line 10, column 5:") && text[2].contains("9lives"),
            "{text:#?}"
        );
        assert!(
            text[3].starts_with("line 14, column 5:") && text[3].contains("bad expression"),
            "{text:#?}"
        );
        assert!(
            text[4].starts_with("line 18, column 5:") && text[4].contains("unknown variant `sned`"),
            "{text:#?}"
        );
        assert!(
            text[5].starts_with("line 22, column 5:") && text[5].contains("unknown field `txt`"),
            "{text:#?}"
        );
    }

    #[test]
    fn unknown_plugins_queues_and_unreachable_steps_are_errors() {
        let queues: HashSet<String> = ["general".to_string()].into();
        let errors = Flow::parse(
            GOOD,
            &Known {
                queues: Some(&queues),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("queue `orders` is not configured")
        );
        assert_eq!((errors[0].line, errors[0].column), (Some(21), Some(5)));

        let src = "start: a\nsteps:\n  a:\n    type: disconnect\n  b:\n    type: disconnect\n";
        let errors = Flow::parse(src, &Known::default()).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "line 5, column 3: step `b` can never be reached"
        );

        let plugins: HashMap<String, PluginKind> =
            [("faq-bot".to_string(), PluginKind::Bot)].into();
        let src = "start: a\nsteps:\n  a:\n    type: data-action\n    plugin: faq-bot\n    action: x\n    next: b\n  b:\n    type: bot\n    plugin: nope\n    next: c\n  c:\n    type: disconnect\n";
        let errors = Flow::parse(
            src,
            &Known {
                plugins: Some(&plugins),
                ..Default::default()
            },
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "line 5, column 5: step `a`: plugin `faq-bot` is a bot, not a data action"
                    .to_string(),
                "line 10, column 5: step `b`: plugin `nope` is not loaded".to_string(),
            ]
        );
    }

    #[test]
    fn slot_types_and_schedules_are_checked() {
        let src = r#"start: a
steps:
  a:
    type: ask
    text: Order number?
    variable: order
    expect: regex
    next: s
  s:
    type: schedule
    timezone: Mars/Olympus
    hours: { mon: "09:00-17:00" }
    open: a
    closed: a
"#;
        let errors = Flow::parse(src, &Known::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 2, "{text:#?}");
        assert!(
            text[0].starts_with("line 7, column 5:") && text[0].contains("pattern"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("line 11, column 5:") && text[1].contains("Mars/Olympus"),
            "{text:#?}"
        );

        let src = "start: a\nsteps:\n  a:\n    type: ask\n    text: x\n    variable: v\n    expect: colour\n    next: a\n";
        let errors = Flow::parse(src, &Known::default()).unwrap_err();
        assert!(
            errors[0].message.contains("unknown variant `colour`"),
            "{:?}",
            errors[0]
        );
        assert_eq!(errors[0].line, Some(7));
    }
}
