//! Checking a decoded flow: every step it names exists and is reachable, its expressions,
//! templates, variables, slot types and schedules are valid, and the queues, plugins and flows
//! it refers to exist (when the caller knows them, [`Known`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::super::{expr, schedule, slots, template};
use super::error::FlowError;
use super::locate::Positions;
use super::model::{Flow, PluginKind, Schedule, Step};

#[derive(Debug, Default, Clone)]
pub struct Known<'a> {
    pub queues: Option<&'a HashSet<String>>,
    /// Loaded flow plugins and their kinds.
    pub plugins: Option<&'a HashMap<String, PluginKind>>,
    /// Flows `transfer-flow` may name.
    pub flows: Option<&'a HashSet<String>>,
    /// Schedule groups `schedule` steps may name.
    pub schedule_groups: Option<&'a HashSet<String>>,
}

impl Flow {
    pub(super) fn validate(
        &self,
        positions: &Positions<'_>,
        known: &Known<'_>,
        errors: &mut Vec<FlowError>,
    ) {
        let at = |step: &str, field: Option<&str>, message: String| {
            let (line, column) = positions.best(step, field);
            FlowError {
                line,
                column,
                message,
            }
        };
        let names: BTreeSet<&str> = positions.step_names().into_iter().collect();
        let exists = |target: &str| names.contains(target);
        if !exists(&self.start) {
            let (line, column) = positions.top("start").unzip();
            errors.push(FlowError {
                line,
                column,
                message: format!("`start` names step `{}`, which does not exist", self.start),
            });
        }
        if let Some(handler) = &self.on_error
            && !exists(handler)
        {
            let (line, column) = positions.top("on_error").unzip();
            errors.push(FlowError {
                line,
                column,
                message: format!("`on_error` names step `{handler}`, which does not exist"),
            });
        }
        // Paths of the steps that could not be decoded, read from the file.
        for name in &names {
            if self.steps.contains_key(*name) {
                continue;
            }
            for (field, target) in positions.raw_targets(name) {
                if !exists(target) {
                    errors.push(at(
                        name,
                        Some(&field),
                        format!(
                            "step `{name}`: `{field}` names step `{target}`, which does not exist"
                        ),
                    ));
                }
            }
        }
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
                if let Err(e) = expr::check(source_expr) {
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
                Step::Schedule(s) => check_schedule(errors, &at, name, s, known),
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
        // A path to a missing step cuts off the steps behind it: name the path, not them.
        let dangling = errors
            .iter()
            .any(|e| e.message.contains(", which does not exist"));
        if exists(&self.start) && !dangling {
            for name in self.unreachable(positions) {
                errors.push(at(
                    &name,
                    None,
                    format!("step `{name}` can never be reached"),
                ));
            }
        }
    }

    /// Steps no path from `start` (or the error handler) leads to, following the paths of the
    /// decoded steps and those read from the file for the others.
    fn unreachable(&self, positions: &Positions<'_>) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = vec![self.start.clone()];
        todo.extend(self.on_error.clone());
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            match self.steps.get(&name) {
                Some(step) => todo.extend(step.targets().into_iter().map(|(_, t)| t.to_string())),
                None => todo.extend(
                    positions
                        .raw_targets(&name)
                        .into_iter()
                        .map(|(_, t)| t.to_string()),
                ),
            }
        }
        positions
            .step_names()
            .into_iter()
            .filter(|k| !seen.contains(*k))
            .map(str::to_string)
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

/// A `schedule` step names a group of the configuration, or has its own hours.
fn check_schedule(
    errors: &mut Vec<FlowError>,
    at: &impl Fn(&str, Option<&str>, String) -> FlowError,
    step: &str,
    s: &Schedule,
    known: &Known<'_>,
) {
    match (&s.group, &s.timezone, &s.hours) {
        (Some(group), None, None) if s.holidays.is_empty() => {
            if let Some(groups) = known.schedule_groups
                && !groups.contains(group)
            {
                errors.push(at(
                    step,
                    Some("group"),
                    format!("step `{step}`: schedule group `{group}` is not configured"),
                ));
            }
        }
        (Some(_), _, _) => errors.push(at(
            step,
            Some("group"),
            format!(
                "step `{step}`: `group` takes its hours from the configuration; leave out `timezone`, `hours` and `holidays`"
            ),
        )),
        (None, Some(timezone), Some(hours)) => {
            if let Err(e) = schedule::Hours::parse(timezone, hours, &s.holidays) {
                errors.push(at(step, Some(e.field), format!("step `{step}`: {}", e.message)));
            }
        }
        (None, None, _) => errors.push(at(
            step,
            Some("hours"),
            format!("step `{step}`: a schedule needs `group`, or `timezone` and `hours`"),
        )),
        (None, Some(_), None) => errors.push(at(
            step,
            Some("timezone"),
            format!("step `{step}`: `timezone` needs `hours`"),
        )),
    }
    if s.emergency.is_some() && s.group.is_none() {
        errors.push(at(
            step,
            Some("emergency"),
            format!(
                "step `{step}`: `emergency` needs a schedule `group` (only groups have emergencies)"
            ),
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
        assert_eq!(errors[0].to_string(), "5:3: step `b` can never be reached");

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
                "5:5: step `a`: plugin `faq-bot` is a bot, not a data action".to_string(),
                "10:5: step `b`: plugin `nope` is not loaded".to_string(),
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
            text[0].starts_with("7:5:") && text[0].contains("pattern"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("11:5:") && text[1].contains("Mars/Olympus"),
            "{text:#?}"
        );

        let src = "start: a\nsteps:\n  a:\n    type: ask\n    text: x\n    variable: v\n    expect: colour\n    next: a\n";
        let errors = Flow::parse(src, &Known::default()).unwrap_err();
        assert!(
            errors[0]
                .message
                .contains("`expect` must be one of text, number"),
            "{:?}",
            errors[0]
        );
        assert_eq!(errors[0].line, Some(7));
    }
}
