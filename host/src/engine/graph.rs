//! Pictures of a flow: Mermaid (renders in GitHub and most docs tools) and Graphviz DOT.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::flow::{Flow, Step};

/// A short label for a step's box: its name, kind and the gist of what it does.
fn label(name: &str, step: &Step) -> String {
    let detail = match step {
        Step::Send { text, .. } => format!("send: {}", shorten(text)),
        Step::Ask(ask) => format!("ask {} ({:?})", ask.variable, ask.expect).to_lowercase(),
        Step::Bot { plugin, .. } => format!("bot {plugin}"),
        Step::DataAction { plugin, action, .. } => format!("{plugin}.{action}"),
        Step::Identify { plugin, .. } => format!("identify via {plugin}"),
        Step::Decision { condition, .. } => shorten(condition),
        Step::Switch { .. } => "switch".to_string(),
        Step::SetData { set, .. } => {
            format!("set {}", set.keys().cloned().collect::<Vec<_>>().join(", "))
        }
        Step::Schedule(s) => match (&s.group, &s.timezone) {
            (Some(group), _) => format!("schedule group {group}"),
            (None, Some(tz)) => format!("schedule {tz}"),
            (None, None) => "schedule".to_string(),
        },
        Step::Transfer {
            queue, priority, ..
        } => format!("queue {queue}, priority {priority}"),
        Step::TransferFlow { flow } => format!("to flow {flow}"),
        Step::Disconnect { .. } => "disconnect".to_string(),
    };
    format!("{name}\n{detail}")
}

fn shorten(s: &str) -> String {
    let s: String = s.chars().filter(|c| *c != '\n').collect();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(39).collect::<String>())
    } else {
        s
    }
}

/// The node id of every step, unique and safe in both Mermaid and DOT whatever the step names
/// are: `s_` and the name with every character but ASCII letters, digits and `_` replaced by `_`
/// (so no id is a keyword such as Mermaid's `end`, and none is `start` or `on_error`, the ids of
/// the two circles), with `_2`, `_3`, ... when two names map to the same id (`a-b` and `a_b`).
fn ids(flow: &Flow) -> BTreeMap<&str, String> {
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for name in flow.steps.keys() {
        let base: String = std::iter::once("s_".to_string())
            .chain(name.chars().map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c.to_string()
                } else {
                    "_".to_string()
                }
            }))
            .collect();
        let mut id = base.clone();
        let mut n = 2;
        while !taken.insert(id.clone()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        out.insert(name.as_str(), id);
    }
    out
}

/// The id of the node a path leads to (a path to a missing step never reaches here: the flow
/// validated).
fn node<'a>(ids: &'a BTreeMap<&str, String>, name: &str) -> &'a str {
    ids.get(name).map_or("missing", String::as_str)
}

/// Text inside a Mermaid label: quotes, angle brackets, `#`, backticks and line breaks as
/// entities, so no step name or text can end the label or start markup.
fn mermaid_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The flow as a Mermaid flowchart. Node ids come from [`ids`]; names and texts appear only in
/// labels, escaped.
pub fn mermaid(flow: &Flow) -> String {
    let ids = ids(flow);
    let mut out = String::from("flowchart TD\n");
    let _ = writeln!(out, "    start((start)) --> {}", node(&ids, &flow.start));
    for (name, step) in &flow.steps {
        let text = mermaid_text(&label(name, step));
        let shape = match step {
            Step::Decision { .. }
            | Step::Switch { .. }
            | Step::Schedule(_)
            | Step::Identify { .. } => format!("{{\"{text}\"}}"),
            Step::Transfer { .. } | Step::TransferFlow { .. } | Step::Disconnect { .. } => {
                format!("([\"{text}\"])")
            }
            _ => format!("[\"{text}\"]"),
        };
        let _ = writeln!(out, "    {}{shape}", node(&ids, name));
    }
    for (name, step) in &flow.steps {
        for (path, target) in step.targets() {
            if path == "next" {
                let _ = writeln!(out, "    {} --> {}", node(&ids, name), node(&ids, target));
            } else {
                let _ = writeln!(
                    out,
                    "    {} -->|\"{}\"| {}",
                    node(&ids, name),
                    mermaid_text(&shorten(&path)),
                    node(&ids, target)
                );
            }
        }
    }
    if let Some(handler) = &flow.on_error {
        let _ = writeln!(out, "    on_error((on error)) -.-> {}", node(&ids, handler));
    }
    out
}

/// The flow as a Graphviz DOT digraph, with the same node ids as [`mermaid`].
pub fn dot(flow: &Flow) -> String {
    let ids = ids(flow);
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let mut out = String::from(
        "digraph flow {\n    rankdir=TB;\n    node [fontname=\"Helvetica\", fontsize=11];\n",
    );
    let _ = writeln!(
        out,
        "    \"start\" [shape=circle, label=\"start\"];\n    \"start\" -> \"{}\";",
        node(&ids, &flow.start)
    );
    for (name, step) in &flow.steps {
        let shape = match step {
            Step::Decision { .. }
            | Step::Switch { .. }
            | Step::Schedule(_)
            | Step::Identify { .. } => "diamond",
            Step::Transfer { .. } | Step::TransferFlow { .. } | Step::Disconnect { .. } => {
                "doubleoctagon"
            }
            _ => "box",
        };
        let _ = writeln!(
            out,
            "    \"{}\" [shape={shape}, label=\"{}\"];",
            node(&ids, name),
            escape(&label(name, step))
        );
    }
    for (name, step) in &flow.steps {
        for (path, target) in step.targets() {
            let attrs = if path == "next" {
                String::new()
            } else {
                format!(" [label=\"{}\"]", escape(&shorten(&path)))
            };
            let _ = writeln!(
                out,
                "    \"{}\" -> \"{}\"{attrs};",
                node(&ids, name),
                node(&ids, target)
            );
        }
    }
    if let Some(handler) = &flow.on_error {
        let _ = writeln!(
            out,
            "    \"on_error\" [shape=circle, label=\"on error\"];\n    \"on_error\" -> \"{}\" [style=dashed];",
            node(&ids, handler)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::Known;

    #[test]
    fn pictures_show_every_step_and_path() {
        let src = "start: a\non_error: c\nsteps:\n  a:\n    type: decision\n    condition: 'message.text == \"x\"'\n    then: b\n    else: c\n  b:\n    type: send\n    text: Hi\n    next: c\n  c:\n    type: disconnect\n";
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let m = mermaid(&flow);
        assert!(m.starts_with("flowchart TD\n"), "{m}");
        assert!(
            m.contains("s_a -->|\"then\"| s_b")
                && m.contains("s_a -->|\"else\"| s_c")
                && m.contains("s_b --> s_c"),
            "{m}"
        );
        assert!(m.contains("s_c([\"c<br/>disconnect\"])"), "{m}");
        let d = dot(&flow);
        assert!(
            d.contains("\"s_a\" -> \"s_b\" [label=\"then\"];") && d.contains("\"s_b\" -> \"s_c\";"),
            "{d}"
        );
        assert!(d.contains("message.text == \\\"x\\\""), "{d}");
    }

    /// Step names that are Mermaid keywords (`end`), that equal the start circle's id (`start`)
    /// or the error circle's (`on_error`), or that differ only in punctuation (`a-b`, `a_b`,
    /// `a.b`) each get a node of their own, and no name or text breaks out of its label.
    #[test]
    fn ids_are_escaped_and_unique_whatever_the_step_names() {
        let src = r#"start: start
on_error: on_error
steps:
  start:
    type: send
    text: 'Say "hi" <b>#1</b> `code` | pipe'
    next: end
  end:
    type: decision
    condition: 'message.text == "a"'
    then: a-b
    else: a_b
  a-b:
    type: send
    text: x
    next: a.b
  a_b:
    type: send
    text: y
    next: a.b
  a.b:
    type: disconnect
  on_error:
    type: disconnect
"#;
        let flow = Flow::parse(src, &Known::default()).unwrap();
        let ids = ids(&flow);
        let unique: BTreeSet<&String> = ids.values().collect();
        assert_eq!(unique.len(), flow.steps.len(), "{ids:?}");
        assert_eq!(ids["a-b"], "s_a_b");
        assert_eq!(ids["a.b"], "s_a_b_2");
        assert_eq!(ids["a_b"], "s_a_b_3");

        let m = mermaid(&flow);
        assert!(m.contains("    start((start)) --> s_start\n"), "{m}");
        assert!(m.contains("    s_start --> s_end\n"), "{m}");
        assert!(
            m.contains("    on_error((on error)) -.-> s_on_error\n"),
            "{m}"
        );
        assert!(m.contains("s_end -->|\"then\"| s_a_b\n"), "{m}");
        assert!(m.contains("s_end -->|\"else\"| s_a_b_3\n"), "{m}");
        for line in m.lines().skip(1) {
            let id = line.trim().split(['[', '(', '{', ' ']).next().unwrap();
            assert!(
                id == "start" || id == "on_error" || id.starts_with("s_"),
                "a node id that is not ours: {line}"
            );
            assert_ne!(id, "end", "{line}");
        }
        assert!(
            m.contains("#quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; #96;code#96; #124; pipe"),
            "{m}"
        );
        // Every line is a node, an edge or the header: nothing leaked out of a label.
        assert_eq!(m.lines().count(), 1 + 1 + 6 + 5 + 1, "{m}");

        let d = dot(&flow);
        assert!(d.contains("\"start\" -> \"s_start\";"), "{d}");
        assert!(
            d.contains("\"s_end\" -> \"s_a_b_3\" [label=\"else\"];"),
            "{d}"
        );
        assert!(
            d.contains("\"on_error\" -> \"s_on_error\" [style=dashed];"),
            "{d}"
        );
        assert!(d.contains("Say \\\"hi\\\""), "{d}");
    }
}
