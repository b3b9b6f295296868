//! Checking a decoded flow: every step it names exists and is reachable, its expressions,
//! templates, variables, slot types and schedules are valid, and the queues, plugins and flows
//! it refers to exist (when the caller knows them, [`Known`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::super::{expr, schedule, slots, template};
use super::error::FlowError;
use super::locate::{locate, locate_top};
use super::model::{Flow, PluginKind, Step};

#[derive(Debug, Default, Clone)]
pub struct Known<'a> {
    pub queues: Option<&'a HashSet<String>>,
    /// Loaded flow plugins and their kinds.
    pub plugins: Option<&'a HashMap<String, PluginKind>>,
    /// Flows `transfer-flow` may name.
    pub flows: Option<&'a HashSet<String>>,
}

impl Flow {
    pub(super) fn validate(&self, source: &str, known: &Known<'_>, errors: &mut Vec<FlowError>) {
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
}

/// The field of a step that names a path, for error locations.
fn target_field(label: &str) -> &str {
    if label.starts_with("when ") {
        "cases"
    } else {
        label
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
    if let Err(e) = template::check(text) {
        errors.push(at(step, Some(field), format!("step `{step}`: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::engine::flow::tests::GOOD;

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
