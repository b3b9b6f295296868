//! The structure of a flow file, checked against the flow's JSON Schema ([`super::schema`]):
//! unknown keys, unknown step types, missing fields and values of the wrong kind, every one
//! with its line and column and in an author's words ("a `send` step has no field `txt`; did you
//! mean `text`?"), never serde's. Steps with such a problem are left out of the decoding that
//! follows, so one broken step hides nothing else.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::error::FlowError;
use super::yaml::{Kind, Node, ScalarType};

static SCHEMA: LazyLock<Value> = LazyLock::new(super::schema::schema);

/// What the structure check found.
pub(super) struct Structure {
    pub errors: Vec<FlowError>,
    /// Steps with a structural problem: they are not decoded.
    pub broken: BTreeSet<String>,
    /// Whether `start`, `on_error` and `steps` are usable (else nothing more can be checked).
    pub usable: bool,
}

/// Where a value is, for messages: `step `greet``, then fields and list items.
#[derive(Clone)]
struct Place {
    step: Option<String>,
    path: Vec<String>,
}

impl Place {
    fn prefix(&self) -> String {
        match &self.step {
            Some(step) => format!("step `{step}`: "),
            None => String::new(),
        }
    }

    /// The field or item named in messages: `` `text` ``, `` `quick_replies` item 2 ``.
    fn name(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            if segment.starts_with("item ") {
                out.push_str(&format!(" {segment}"));
            } else if out.is_empty() {
                out.push_str(&format!("`{segment}`"));
            } else {
                out.push_str(&format!(", `{segment}`"));
            }
        }
        if out.is_empty() {
            "the value".into()
        } else {
            out
        }
    }

    fn with(&self, segment: String) -> Place {
        let mut path = self.path.clone();
        path.push(segment);
        Place {
            step: self.step.clone(),
            path,
        }
    }
}

fn error(node: &Node, message: String) -> FlowError {
    FlowError {
        line: Some(node.line),
        column: Some(node.column),
        message,
    }
}

/// The closest of `options` to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    options
        .into_iter()
        .map(|o| (distance(word, o), o))
        .filter(|(d, o)| *d <= (o.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

/// Edit distance with transpositions (optimal string alignment), ASCII-case-insensitive:
/// `sned` is one edit from `send`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_ascii_lowercase().chars().collect();
    let b: Vec<char> = b.to_ascii_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn did_you_mean(word: &str, options: &[&str]) -> String {
    match suggest(word, options.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

fn listed(options: &[&str]) -> String {
    options.join(", ")
}

/// Follows `$ref` (and the one-element `allOf` schemars wraps a described `$ref` in).
fn resolve(schema: &Value) -> &Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return resolve(&SCHEMA["definitions"][name]);
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return resolve(only);
    }
    schema
}

fn properties(schema: &Value) -> Vec<&str> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The step types, from the schema's `oneOf`.
fn step_variants() -> Vec<(&'static str, &'static Value)> {
    SCHEMA["definitions"]["Step"]["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["properties"]["type"]["const"].as_str()?, v)))
        .collect()
}

/// Checks the flow file's structure.
pub(super) fn check(root: &Node) -> Structure {
    let mut out = Structure {
        errors: Vec::new(),
        broken: BTreeSet::new(),
        usable: true,
    };
    let top = &*SCHEMA;
    let Some(entries) = root.entries() else {
        out.errors.push(error(
            root,
            "a flow file is a mapping with `start` and `steps` (and `description`, `on_error`)"
                .into(),
        ));
        out.usable = false;
        return out;
    };
    let keys = properties(top);
    for (key, value) in entries {
        let name = key.text().unwrap_or_default();
        if !keys.contains(&name) {
            out.errors.push(error(
                key,
                format!(
                    "unknown key `{name}` at the top of the flow{} (a flow has {})",
                    did_you_mean(name, &keys),
                    listed(&keys)
                ),
            ));
            continue;
        }
        if name == "steps" {
            check_steps(value, &mut out);
            continue;
        }
        let place = Place {
            step: None,
            path: vec![name.to_string()],
        };
        if !value_fits(value, &top["properties"][name], &place, &mut out.errors) {
            out.usable = false;
        }
    }
    for required in top["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap_or_default();
        if root.get(required).is_none() {
            out.usable = false;
            out.errors.push(FlowError {
                line: Some(1),
                column: Some(1),
                message: match required {
                    "start" => "the flow has no `start` (the name of its first step)".into(),
                    "steps" => "the flow has no `steps`".into(),
                    other => format!("the flow has no `{other}`"),
                },
            });
        }
    }
    out
}

fn check_steps(steps: &Node, out: &mut Structure) {
    let Some(entries) = steps.entries() else {
        out.usable = false;
        out.errors.push(error(
            steps,
            format!(
                "`steps` maps step names to steps, but it is {}",
                steps.describe()
            ),
        ));
        return;
    };
    let variants = step_variants();
    let types: Vec<&str> = variants.iter().map(|(t, _)| *t).collect();
    for (key, step) in entries {
        let name = key.text().unwrap_or_default().to_string();
        let place = Place {
            step: Some(name.clone()),
            path: Vec::new(),
        };
        let before = out.errors.len();
        check_step(&name, key, step, &variants, &types, &place, &mut out.errors);
        if out.errors.len() > before {
            out.broken.insert(name);
        }
    }
}

fn check_step(
    name: &str,
    key: &Node,
    step: &Node,
    variants: &[(&str, &Value)],
    types: &[&str],
    place: &Place,
    errors: &mut Vec<FlowError>,
) {
    if step.entries().is_none() {
        errors.push(error(
            step,
            format!(
                "step `{name}` must be a mapping with a `type` ({}), but it is {}",
                listed(types),
                step.describe()
            ),
        ));
        return;
    }
    let Some(kind_node) = step.get("type") else {
        errors.push(error(
            key,
            format!("step `{name}` has no `type` (one of {})", listed(types)),
        ));
        return;
    };
    let kind = kind_node.text().unwrap_or_default();
    let Some((_, schema)) = variants.iter().find(|(t, _)| *t == kind) else {
        errors.push(error(
            kind_node,
            format!(
                "step `{name}`: `{kind}` is not a step type{} (the types are {})",
                did_you_mean(kind, types),
                listed(types)
            ),
        ));
        return;
    };
    object_fits(
        step,
        schema,
        place,
        &format!("a `{kind}` step"),
        step.key("type"),
        errors,
    );
}

/// Checks a mapping against an object schema; `what` names it in messages (`a `send` step`).
fn object_fits(
    node: &Node,
    schema: &Value,
    place: &Place,
    what: &str,
    anchor: Option<&Node>,
    errors: &mut Vec<FlowError>,
) -> bool {
    let Some(entries) = node.entries() else {
        errors.push(error(
            node,
            format!(
                "{}{} must be a mapping, not {}",
                place.prefix(),
                place.name(),
                node.describe()
            ),
        ));
        return false;
    };
    let before = errors.len();
    let mut suggested = Vec::new();
    let fields = properties(schema);
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    let open_values = schema.get("additionalProperties").filter(|v| v.is_object());
    for (key, value) in entries {
        let field = key.text().unwrap_or_default();
        match schema["properties"].get(field) {
            Some(field_schema) => {
                if field != "type" || place.step.is_none() || !place.path.is_empty() {
                    value_fits(value, field_schema, &place.with(field.into()), errors);
                }
            }
            None if closed => {
                let takes: Vec<&str> = fields.iter().copied().filter(|f| *f != "type").collect();
                suggested.extend(suggest(field, takes.iter().copied()));
                errors.push(error(
                    key,
                    format!(
                        "{}{what} has no field `{field}`{} (it takes {})",
                        place.prefix(),
                        did_you_mean(field, &takes),
                        listed(&takes)
                    ),
                ));
            }
            None => {
                if let Some(values) = open_values {
                    value_fits(value, values, &place.with(field.into()), errors);
                }
            }
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap_or_default();
        // `txt:` for `text:` is one mistake, said once ("did you mean `text`?").
        if node.get(required).is_none() && !suggested.contains(&required) {
            errors.push(error(
                anchor.unwrap_or(node),
                format!("{}{what} needs `{required}`", place.prefix()),
            ));
        }
    }
    errors.len() == before
}

/// Checks any value against its schema. Returns whether it fits.
fn value_fits(node: &Node, schema: &Value, place: &Place, errors: &mut Vec<FlowError>) -> bool {
    let schema = resolve(schema);
    if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
        return one_of(node, alternatives, place, errors);
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        return any_of(node, alternatives, place, errors);
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    let scalar = node.scalar_type();
    if scalar == Some(ScalarType::Null) && types.contains(&"null") {
        return true;
    }
    let wrong = |expected: &str| {
        error(
            node,
            format!(
                "{}{} must be {expected}, not {}",
                place.prefix(),
                place.name(),
                node.describe()
            ),
        )
    };
    if types.contains(&"object") {
        if node.entries().is_none() {
            errors.push(wrong("a mapping"));
            return false;
        }
        if schema.get("properties").is_some() {
            return object_fits(node, schema, place, &place.name(), None, errors);
        }
        let mut ok = true;
        if let (Some(entries), Some(values)) = (node.entries(), schema.get("additionalProperties"))
        {
            for (key, value) in entries {
                let key = key.text().unwrap_or_default().to_string();
                ok &= value_fits(value, values, &place.with(key), errors);
            }
        }
        return ok;
    }
    if types.contains(&"array") {
        let Kind::Seq(items) = &node.kind else {
            errors.push(wrong("a list"));
            return false;
        };
        let mut ok = true;
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                ok &= value_fits(
                    item,
                    item_schema,
                    &place.with(format!("item {}", i + 1)),
                    errors,
                );
            }
        }
        return ok;
    }
    let fits = match scalar {
        None => false,
        Some(ScalarType::Null) => false,
        Some(ScalarType::Int) => types
            .iter()
            .any(|t| matches!(*t, "integer" | "number" | "string")),
        Some(ScalarType::Float) => types.iter().any(|t| matches!(*t, "number" | "string")),
        Some(ScalarType::Bool) => types.iter().any(|t| matches!(*t, "boolean" | "string")),
        Some(ScalarType::Str) => types.contains(&"string"),
    };
    if !fits {
        let expected = if types.contains(&"integer") {
            "a whole number"
        } else if types.contains(&"number") {
            "a number"
        } else if types.contains(&"boolean") {
            "true or false"
        } else {
            "text"
        };
        errors.push(wrong(expected));
        return false;
    }
    if let (Some(min), Some(text)) = (schema.get("minimum").and_then(Value::as_f64), node.text())
        && text.parse::<f64>().is_ok_and(|n| n < min)
    {
        errors.push(error(
            node,
            format!("{}{} must be at least {min}", place.prefix(), place.name()),
        ));
        return false;
    }
    true
}

/// Alternatives that are string constants (an enum such as `expect`), or object shapes.
fn one_of(node: &Node, alternatives: &[Value], place: &Place, errors: &mut Vec<FlowError>) -> bool {
    let constants: Vec<&str> = alternatives
        .iter()
        .flat_map(|a| {
            let a = resolve(a);
            a.get("const")
                .into_iter()
                .chain(
                    a.get("enum")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                )
                .filter_map(Value::as_str)
        })
        .collect();
    if !constants.is_empty() {
        let text = node.text().unwrap_or_default();
        if node.text().is_some() && constants.contains(&text) {
            return true;
        }
        errors.push(error(
            node,
            format!(
                "{}{} must be one of {}, not {}{}",
                place.prefix(),
                place.name(),
                listed(&constants),
                node.describe(),
                did_you_mean(text, &constants)
            ),
        ));
        return false;
    }
    any_of(node, alternatives, place, errors)
}

/// Fits if one alternative fits; otherwise reports the mapping alternative's problems for a
/// mapping, else what the value may be.
fn any_of(node: &Node, alternatives: &[Value], place: &Place, errors: &mut Vec<FlowError>) -> bool {
    if alternatives
        .iter()
        .any(|a| value_fits(node, a, place, &mut Vec::new()))
    {
        return true;
    }
    let object = alternatives
        .iter()
        .map(resolve)
        .find(|a| a.get("type") == Some(&Value::String("object".into())));
    if let (Some(_), Some(object)) = (node.entries(), object) {
        return value_fits(node, object, place, errors);
    }
    let kinds: Vec<String> = alternatives
        .iter()
        .map(resolve)
        .map(|a| describe_schema(a.as_object()))
        .collect();
    errors.push(error(
        node,
        format!(
            "{}{} must be {}, not {}",
            place.prefix(),
            place.name(),
            kinds.join(" or "),
            node.describe()
        ),
    ));
    false
}

fn describe_schema(schema: Option<&Map<String, Value>>) -> String {
    let Some(schema) = schema else {
        return "something else".into();
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => "text".into(),
        Some("object") => {
            let fields: Vec<String> = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                .unwrap_or_default();
            format!("a mapping with {}", fields.join(" and "))
        }
        Some("array") => "a list".into(),
        Some("integer") => "a whole number".into(),
        Some("number") => "a number".into(),
        Some(other) => other.into(),
        None => "something else".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::load;
    use super::*;

    fn messages(src: &str) -> Vec<String> {
        let structure = check(&load(src).unwrap());
        structure
            .errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line.unwrap(), e.column.unwrap(), e.message))
            .collect()
    }

    #[test]
    fn structural_mistakes_are_named_in_an_authors_words() {
        let found = messages(
            "start: a\nstpes: {}\nsteps:\n  a:\n    type: send\n    txt: Hi\n    next: b\n  b:\n    type: sned\n  c:\n    type: ask\n    text: [x]\n    variable: v\n    retries: two\n    expect: colour\n    next: a\n  d:\n    text: Hi\n",
        );
        assert_eq!(
            found,
            vec![
                "2:1: unknown key `stpes` at the top of the flow; did you mean `steps`? (a flow has description, on_error, start, steps)",
                "6:5: step `a`: a `send` step has no field `txt`; did you mean `text`? (it takes next, quick_replies, text)",
                "9:11: step `b`: `sned` is not a step type; did you mean `send`? (the types are send, ask, bot, data-action, identify, decision, switch, set-data, schedule, transfer, transfer-flow, disconnect)",
                "12:11: step `c`: `text` must be text, not a list",
                "14:14: step `c`: `retries` must be a whole number, not `two`",
                "15:13: step `c`: `expect` must be one of text, number, email, phone, date, choice, regex, not `colour`",
                "17:3: step `d` has no `type` (one of send, ask, bot, data-action, identify, decision, switch, set-data, schedule, transfer, transfer-flow, disconnect)",
            ],
            "{found:#?}"
        );
    }
}
