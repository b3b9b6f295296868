//! Pictures of a flow: Mermaid (renders in GitHub and most docs tools) and Graphviz DOT.

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
        Step::Schedule(s) => format!("schedule {}", s.timezone),
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

/// Mermaid ids allow letters, digits and `_`.
fn id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

pub fn mermaid(flow: &Flow) -> String {
    let escape = |s: &str| s.replace('"', "#quot;").replace('\n', "<br/>");
    let mut out = String::from("flowchart TD\n");
    let _ = writeln!(out, "    start((start)) --> {}", id(&flow.start));
    for (name, step) in &flow.steps {
        let text = escape(&label(name, step));
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
        let _ = writeln!(out, "    {}{shape}", id(name));
    }
    for (name, step) in &flow.steps {
        for (path, target) in step.targets() {
            if path == "next" {
                let _ = writeln!(out, "    {} --> {}", id(name), id(target));
            } else {
                let _ = writeln!(
                    out,
                    "    {} -->|\"{}\"| {}",
                    id(name),
                    escape(&shorten(&path)),
                    id(target)
                );
            }
        }
    }
    if let Some(handler) = &flow.on_error {
        let _ = writeln!(out, "    on_error((on error)) -.-> {}", id(handler));
    }
    out
}

pub fn dot(flow: &Flow) -> String {
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
        "    \"(start)\" [shape=circle, label=\"start\"];\n    \"(start)\" -> \"{}\";",
        escape(&flow.start)
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
            escape(name),
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
                escape(name),
                escape(target)
            );
        }
    }
    if let Some(handler) = &flow.on_error {
        let _ = writeln!(
            out,
            "    \"(error)\" [shape=circle, label=\"on error\"];\n    \"(error)\" -> \"{}\" [style=dashed];",
            escape(handler)
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
            m.contains("a -->|\"then\"| b")
                && m.contains("a -->|\"else\"| c")
                && m.contains("b --> c"),
            "{m}"
        );
        assert!(m.contains("c([\"c<br/>disconnect\"])"), "{m}");
        let d = dot(&flow);
        assert!(
            d.contains("\"a\" -> \"b\" [label=\"then\"];") && d.contains("\"b\" -> \"c\";"),
            "{d}"
        );
        assert!(d.contains("message.text == \\\"x\\\""), "{d}");
    }
}
