//! Type-checking a flow's CEL expressions against the variables each path can have at that
//! step, so a mistake shows at validation rather than when a customer hits it.
//!
//! A forward data-flow pass over the flow's graph finds, for every step, the variables the paths
//! reaching it set (`ask`, `set-data`, `bot`, `data-action`, `identify`), their types and whether
//! every path sets them; the error handler sees what any step sees, plus `error`. Then each
//! expression (`condition`, `when`, `set`, `input`, `by`) is typed in its step's scope
//! ([`cel`]). `error` lives only in the turn a step failed: a step that waits or calls a plugin
//! ends the turn, and with it `error`.

mod cel;
mod ty;

use std::collections::BTreeMap;

use self::cel::{Scope, Var};
use self::ty::Ty;
use super::error::FlowError;
use super::locate::Positions;
use super::model::{Flow, Step};
use crate::engine::slots::SlotType;

/// The variables at a step.
type Env = BTreeMap<String, Var>;

/// One way into a step: from `(step, path label)` with the variables it carries.
type Contribution = ((String, String), Env);

impl Flow {
    /// Adds a problem for every expression that would fail, or never be true, at run time.
    /// When the flow has other errors (steps that could not be decoded, paths to missing
    /// steps), the paths are not all known: only type mistakes are reported, not variables
    /// that may be unset.
    pub(in crate::engine::flow) fn typecheck(
        &self,
        positions: &Positions<'_>,
        errors: &mut Vec<FlowError>,
    ) {
        let types_only = !errors.is_empty();
        let envs = self.scopes(positions);
        let mut assigned = self.assigned();
        for (name, variable) in positions.raw_assigned() {
            if !self.steps.contains_key(&name) {
                assigned.entry(variable).or_default().push(name);
            }
        }
        let nothing = Env::new();
        for (name, step) in &self.steps {
            // A step no path reaches is reported as such; with other errors, its types alone.
            let env = match envs.get(name) {
                Some(env) => env,
                None if types_only => &nothing,
                None => continue,
            };
            let scope = Scope {
                vars: env,
                assigned: &assigned,
            };
            let mut report = |path: &[&str], field: &str, problem: String| {
                let (line, column) = positions
                    .nested(name, path)
                    .map(|(l, c)| (Some(l), Some(c)))
                    .unwrap_or_else(|| positions.best(name, Some(path[0])));
                errors.push(FlowError {
                    line,
                    column,
                    message: format!("step `{name}`: in `{field}`: {problem}"),
                });
            };
            let mut condition = |path: &[&str], field: &str, source: &str| {
                let (ty, problems) = cel::check(source, &scope, types_only);
                for problem in problems {
                    report(path, field, problem);
                }
                if !ty.is_boolish() {
                    report(
                        path,
                        field,
                        format!("`{source}` gives {ty}, but a condition must give true or false"),
                    );
                }
            };
            match step {
                Step::Decision { condition: c, .. } => condition(&["condition"], "condition", c),
                Step::Switch { cases, .. } => {
                    for (i, case) in cases.iter().enumerate() {
                        let index = i.to_string();
                        condition(&["cases", &index, "when"], "when", &case.when);
                    }
                }
                _ => {
                    for (path, field, source) in expressions(step) {
                        let path: Vec<&str> = path.iter().map(String::as_str).collect();
                        for problem in cel::check(source, &scope, types_only).1 {
                            report(&path, &field, problem);
                        }
                    }
                }
            }
        }
    }

    /// Every variable the flow sets, with the steps that set it.
    fn assigned(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, step) in &self.steps {
            for variable in sets(step) {
                out.entry(variable).or_default().push(name.clone());
            }
        }
        out
    }

    /// The variables every reachable step sees: the join of what each way into it carries,
    /// until nothing changes.
    fn scopes(&self, positions: &Positions<'_>) -> BTreeMap<String, Env> {
        let mut into: BTreeMap<String, Vec<Contribution>> = BTreeMap::new();
        let mut envs: BTreeMap<String, Env> = BTreeMap::new();
        // Each round recomputes every step's scope from its predecessors' scopes; scopes only
        // grow less certain, so this settles (a round per step bounds it anyway).
        for _ in 0..=self.steps.len() + 2 {
            into.clear();
            into.entry(self.start.clone())
                .or_default()
                .push(((String::new(), String::new()), Env::new()));
            for (name, env) in &envs {
                let Some(step) = self.steps.get(name) else {
                    // A step that could not be decoded: its paths as written, nothing set.
                    for (label, target) in positions.raw_targets(name) {
                        into.entry(target.to_string())
                            .or_default()
                            .push(((name.clone(), label), env.clone()));
                    }
                    continue;
                };
                for (label, target) in step.targets() {
                    let out = self.after(name, step, &label, env);
                    into.entry(target.to_string())
                        .or_default()
                        .push(((name.clone(), label), out));
                }
            }
            if let Some(handler) = &self.on_error {
                // Any step may fail: the handler sees what any of them sees, and `error`.
                let mut ways: Vec<Contribution> = envs
                    .iter()
                    .map(|(name, env)| ((name.clone(), "on_error".to_string()), env.clone()))
                    .collect();
                for (_, env) in &mut ways {
                    env.insert(
                        "error".into(),
                        Var {
                            ty: Ty::obj(&[("step", Ty::Str), ("message", Ty::Str)]),
                            always: true,
                            missing_via: None,
                        },
                    );
                }
                into.entry(handler.clone()).or_default().extend(ways);
            }
            let next: BTreeMap<String, Env> = into
                .iter()
                .map(|(step, ways)| (step.clone(), join(ways)))
                .collect();
            if next == envs {
                break;
            }
            envs = next;
        }
        envs
    }

    /// The variables leaving `step` by path `label`.
    fn after(&self, name: &str, step: &Step, label: &str, env: &Env) -> Env {
        let mut out = env.clone();
        let set = |out: &mut Env, variable: &str, ty: Ty, always: bool| {
            let var = match (always, out.get(variable)) {
                (true, _) => Var {
                    ty,
                    always: true,
                    missing_via: None,
                },
                (false, Some(before)) => Var {
                    ty: before.ty.join(&ty),
                    ..before.clone()
                },
                (false, None) => Var {
                    ty,
                    always: false,
                    missing_via: Some((name.to_string(), label.to_string())),
                },
            };
            out.insert(variable.to_string(), var);
        };
        match step {
            Step::Ask(ask) => {
                out.remove("error");
                if label == "next" {
                    let ty = match ask.expect {
                        SlotType::Number => Ty::Num,
                        _ => Ty::Str,
                    };
                    set(&mut out, &ask.variable, ty, true);
                }
            }
            Step::Bot { result, .. } => {
                out.remove("error");
                let ty = Ty::obj(&[
                    ("intent", Ty::opt(Ty::Str)),
                    ("confidence", Ty::opt(Ty::Double)),
                    ("slots", Ty::Map(Box::new(Ty::Dyn))),
                ]);
                if label == "error" {
                    // A failed call sets `error` for this turn, a bot's own error its result.
                    set(&mut out, result, ty, false);
                    set(
                        &mut out,
                        "error",
                        Ty::obj(&[("step", Ty::Str), ("message", Ty::Str)]),
                        false,
                    );
                } else {
                    set(&mut out, result, ty, true);
                }
            }
            Step::DataAction { action, result, .. } => {
                out.remove("error");
                let variable = result.clone().unwrap_or_else(|| action.replace('-', "_"));
                set(&mut out, &variable, Ty::Map(Box::new(Ty::Str)), true);
            }
            Step::Identify { .. } => {
                out.remove("error");
                set(&mut out, "contact", Ty::Map(Box::new(Ty::Str)), true);
            }
            Step::SetData { set: values, .. } => {
                let assigned = self.assigned();
                let scope = Scope {
                    vars: env,
                    assigned: &assigned,
                };
                for (variable, source) in values {
                    let (ty, _) = cel::check(source, &scope, true);
                    set(&mut out, variable, ty, true);
                }
            }
            _ => {}
        }
        out
    }
}

/// Where several ways meet: a variable every way sets keeps `always`; one some way lacks does
/// not, and remembers that way.
fn join(ways: &[Contribution]) -> Env {
    let mut names: Vec<&String> = ways.iter().flat_map(|(_, env)| env.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Env::new();
    for name in names {
        let mut var: Option<Var> = None;
        let mut missing = None;
        for ((from, label), env) in ways {
            match env.get(name) {
                Some(v) => {
                    var = Some(match var {
                        None => v.clone(),
                        Some(acc) => Var {
                            ty: acc.ty.join(&v.ty),
                            always: acc.always && v.always,
                            missing_via: acc.missing_via.or(v.missing_via.clone()),
                        },
                    });
                }
                None => {
                    missing.get_or_insert((from.clone(), label.clone()));
                }
            }
        }
        if let Some(mut var) = var {
            if let Some(missing) = missing {
                var.always = false;
                var.missing_via = Some(missing);
            }
            out.insert(name.clone(), var);
        }
    }
    out
}

/// The variables a step sets.
fn sets(step: &Step) -> Vec<String> {
    match step {
        Step::Ask(ask) => vec![ask.variable.clone()],
        Step::Bot { result, .. } => vec![result.clone()],
        Step::DataAction { action, result, .. } => {
            vec![result.clone().unwrap_or_else(|| action.replace('-', "_"))]
        }
        Step::Identify { .. } => vec!["contact".into()],
        Step::SetData { set, .. } => set.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A step's expressions other than conditions: (where it is, the field named in messages, the
/// expression).
fn expressions(step: &Step) -> Vec<(Vec<String>, String, &str)> {
    match step {
        Step::SetData { set, .. } => set
            .iter()
            .map(|(k, v)| {
                (
                    vec!["set".into(), k.clone()],
                    format!("set.{k}"),
                    v.as_str(),
                )
            })
            .collect(),
        Step::DataAction { input, .. } => input
            .iter()
            .map(|(k, v)| {
                (
                    vec!["input".into(), k.clone()],
                    format!("input.{k}"),
                    v.as_str(),
                )
            })
            .collect(),
        Step::Identify { by: Some(by), .. } => vec![(vec!["by".into()], "by".into(), by.as_str())],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::flow::{Flow, Known};

    fn findings(src: &str) -> Vec<String> {
        match Flow::parse(src, &Known::default()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// A flow with known type mistakes: each is found, where it is, and nothing else.
    #[test]
    fn the_type_checker_finds_the_known_mistakes_of_a_flow() {
        let src = r#"start: ask_topic
on_error: sorry
steps:
  ask_topic:
    type: ask
    text: What is it about?
    variable: topic
    quick_replies: [Billing, Orders]
    retries: 1
    no_match: route
    next: route
  route:
    type: decision
    condition: 'topic == 3 || topc.contains("bill")'
    then: vip
    else: count
  vip:
    type: decision
    condition: 'customer.followers > 10000 || customer.nmae == "Dana"'
    then: count
    else: count
  count:
    type: set-data
    set:
      visits: '1'
      label: 'topic + 1'
    next: check
  check:
    type: switch
    cases:
      - when: 'visits'
        next: sorry
      - when: 'customer.followers != null && customer.followers > 10 && visits + 1.5 > 2.0'
        next: sorry
    default: sorry
  sorry:
    type: disconnect
    text: 'Sorry: {{error.message | "no error"}}'
"#;
        let found = findings(src);
        let expected = [
            "14:5: step `route`: in `condition`: `topic == 3` compares text (`topic`) with a whole number (int) (`3`), so it is always false",
            "14:5: step `route`: in `condition`: `topic` may not be set here: the path from step `ask_topic` (`no_match`) reaches this step without it; give it a value on that path (e.g. a `set-data` step)",
            "14:5: step `route`: in `condition`: unknown variable `topc`; did you mean `topic`?",
            "19:5: step `vip`: in `condition`: `customer.followers` may be null, which an order comparison fails on: test `customer.followers != null &&` first",
            "19:5: step `vip`: in `condition`: `customer` has no field `nmae`; did you mean `name`? (it has email, followers, handle, id, name, posts, verified)",
            "26:7: step `count`: in `set.label`: `topic` may not be set here: the path from step `ask_topic` (`no_match`) reaches this step without it; give it a value on that path (e.g. a `set-data` step)",
            "26:7: step `count`: in `set.label`: `topic + 1` combines text (`topic`) with a whole number (int) (`1`), which fails",
            "31:9: step `check`: in `when`: `visits` gives a whole number (int), but a condition must give true or false",
            "33:9: step `check`: in `when`: `visits + 1.5` mixes a whole number and a fraction, which fails: convert with `double(...)`",
        ];
        for e in &expected {
            assert!(
                found.contains(&e.to_string()),
                "missing {e:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn guarded_and_well_typed_expressions_pass() {
        let src = r#"start: a
on_error: sorry
steps:
  a:
    type: ask
    text: Qty?
    variable: qty
    expect: number
    next: b
  b:
    type: set-data
    set:
      total: 'qty * 2'
      vip: 'customer.verified == true || (customer.followers != null && customer.followers > 10000)'
      name: 'customer.name != null ? customer.name.upperAscii() : "there"'
      words: 'message.text.split(" ").size()'
      big: 'math.greatest(1, 2) > 1 && [1, 2].exists(x, x > 1)'
    next: c
  c:
    type: data-action
    plugin: directory
    action: lookup-customer
    input:
      handle: 'customer.handle != null ? customer.handle : customer.id'
    next: d
  d:
    type: decision
    condition: 'lookup_customer.found == "true" && has(lookup_customer.tier) && vip && total > 3'
    then: sorry
    else: sorry
  sorry:
    type: disconnect
    text: 'Bye {{name}}'
"#;
        assert_eq!(findings(src), Vec::<String>::new());
    }
}
