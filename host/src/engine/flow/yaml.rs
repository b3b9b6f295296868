//! A flow file as a tree of YAML nodes, each with the line and column it starts at, so every
//! problem is reported where it is (the serde decoder forgets positions once a value is
//! decoded). Read with `saphyr-parser`'s event API; anchors and aliases are resolved.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

use super::error::FlowError;

/// One YAML node and where it starts (1-based line and column).
#[derive(Debug, Clone)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// A scalar: its text and whether it was written plain (unquoted), which decides whether
    /// it may be a number, a boolean or null.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys and values, in the file's order.
    Map(Vec<(Node, Node)>),
}

/// What a scalar is, by YAML 1.2's core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

impl Node {
    /// The scalar's text, if it is one.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of key `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key node of `key`, when this is a mapping that has it.
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(k, _)| k)
    }

    pub fn at(&self) -> (usize, usize) {
        (self.line, self.column)
    }

    /// The scalar's type, by the YAML core schema; `None` for a collection.
    pub fn scalar_type(&self) -> Option<ScalarType> {
        let Kind::Scalar { text, plain } = &self.kind else {
            return None;
        };
        if !plain {
            return Some(ScalarType::Str);
        }
        Some(match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => ScalarType::Null,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => ScalarType::Bool,
            t if is_int(t) => ScalarType::Int,
            t if is_float(t) => ScalarType::Float,
            _ => ScalarType::Str,
        })
    }

    /// What the node is, in words, for messages: `a list`, `a mapping`, `the number 3`...
    pub fn describe(&self) -> String {
        match (&self.kind, self.scalar_type()) {
            (Kind::Seq(_), _) => "a list".into(),
            (Kind::Map(_), _) => "a mapping".into(),
            (_, Some(ScalarType::Null)) => "empty".into(),
            (Kind::Scalar { text, .. }, Some(ScalarType::Bool)) => format!("`{text}`"),
            (Kind::Scalar { text, .. }, Some(ScalarType::Int | ScalarType::Float)) => {
                format!("the number {text}")
            }
            (Kind::Scalar { text, .. }, _) => format!("`{}`", shorten(text)),
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(39).collect::<String>())
    } else {
        s.to_string()
    }
}

fn is_int(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        || t.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
        || t.strip_prefix("0o")
            .is_some_and(|o| !o.is_empty() && o.chars().all(|c| ('0'..='7').contains(&c)))
}

fn is_float(t: &str) -> bool {
    matches!(
        t,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN"
    ) || (t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && t.parse::<f64>().is_ok())
}

/// Reads the first document of `source`; an empty file is an empty mapping. A syntax error is
/// one [`FlowError`] with its position.
pub fn load(source: &str) -> Result<Node, FlowError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    let parsed = parser.load(&mut builder, false);
    // The builder stopped at an earlier event than any the parser failed on.
    if let Some(error) = builder.error {
        return Err(error);
    }
    parsed.map_err(|e| FlowError {
        line: Some(e.marker().line()),
        column: Some(e.marker().col() + 1),
        message: format!("the YAML cannot be read: {}", e.info()),
    })?;
    Ok(builder.root.unwrap_or(Node {
        line: 1,
        column: 1,
        kind: Kind::Map(Vec::new()),
    }))
}

/// The deepest a flow file may nest (serde's YAML decoder stops at the same depth): deeper, the
/// tree would be dropped and checked by recursion deeper than a thread's stack.
const MAX_DEPTH: usize = 128;
/// The most nodes a flow file may make, aliases expanded: a few aliases of aliases ("billion
/// laughs") would otherwise make more than the memory holds.
const MAX_NODES: usize = 200_000;

/// Builds the tree from the parser's events.
#[derive(Default)]
struct Builder {
    /// Open collections: the node being filled, its anchor, for a mapping a key waiting for its
    /// value, and how many nodes it holds so far.
    stack: Vec<(Node, usize, Option<Node>, usize)>,
    /// Each anchor's node and how many nodes it holds.
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    error: Option<FlowError>,
    /// Nodes made so far, aliases expanded.
    nodes: usize,
    done: bool,
}

impl Builder {
    /// Stops building with `message`, located at `line`:`column`.
    fn fail(&mut self, line: usize, column: usize, message: String) {
        self.error = Some(FlowError {
            line: Some(line),
            column: Some(column),
            message,
        });
        self.done = true;
    }

    /// Counts `size` more nodes; false (and the building stopped) past [`MAX_NODES`].
    fn count(&mut self, size: usize, line: usize, column: usize) -> bool {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > MAX_NODES {
            self.fail(
                line,
                column,
                format!(
                    "the YAML makes more than {MAX_NODES} values (aliases expanded); a flow is far smaller"
                ),
            );
            return false;
        }
        true
    }

    fn push_value(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.3 += size;
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
                self.done = true;
            }
            Some((parent, _, pending_key, _)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                Kind::Scalar { .. } => {}
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.done {
            return;
        }
        let (line, column) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::Scalar(text, style, anchor, _) => {
                if self.count(1, line, column) {
                    let kind = Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    };
                    self.push_value(node_at(line, column, kind), anchor, 1);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.fail(
                        line,
                        column,
                        format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                    );
                }
                if self.count(1, line, column) {
                    let kind = match event {
                        Event::SequenceStart(..) => Kind::Seq(Vec::new()),
                        _ => Kind::Map(Vec::new()),
                    };
                    self.stack
                        .push((node_at(line, column, kind), anchor, None, 1));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _, size)) = self.stack.pop() {
                    self.push_value(node, anchor, size);
                }
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor).map(|(_, size)| *size) {
                Some(size) => {
                    if self.count(size, line, column) {
                        let mut node = self.anchors[&anchor].0.clone();
                        node.line = line;
                        node.column = column;
                        self.push_value(node, 0, size);
                    }
                }
                None => self.fail(line, column, "an alias names no anchor".into()),
            },
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
    }
}

fn node_at(line: usize, column: usize, kind: Kind) -> Node {
    Node { line, column, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_of_aliases_and_deep_nesting_are_refused_where_they_start() {
        // "Billion laughs": nine levels of ten aliases each would make 10^9 nodes.
        let mut src = String::from("l0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = format!("*a{}", level - 1);
            src.push_str(&format!(
                "l{level}: &a{level} [{}]\n",
                vec![prev; 10].join(", ")
            ));
        }
        let err = load(&src).unwrap_err();
        assert!(err.message.contains("more than 200000 values"), "{err:?}");
        assert_eq!((err.line, err.column), (Some(6), Some(10)), "{err:?}");

        let deep = |depth| {
            format!(
                "start: a\nsteps: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let err = load(&deep(200)).unwrap_err();
        assert!(err.message.contains("deeper than 128"), "{err:?}");
        assert_eq!((err.line, err.column), (Some(2), Some(135)), "{err:?}");
        // Far deeper, the parser stops first.
        let err = load(&deep(100_000)).unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        let ok = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(load(&ok).is_ok());

        let err = load("a: *nothing\n").unwrap_err();
        assert_eq!((err.line, err.column), (Some(1), Some(4)), "{err:?}");
    }

    #[test]
    fn nodes_know_where_they_are() {
        let src = "start: a\nsteps:\n  a:\n    type: send\n    text: \"Hi\"\n    quick_replies: [A, { label: B, payload: b }]\n    next: a\n";
        let root = load(src).unwrap();
        assert_eq!(root.key("steps").unwrap().at(), (2, 1));
        let a = root.get("steps").unwrap().get("a").unwrap();
        assert_eq!(a.key("text").unwrap().at(), (5, 5));
        assert_eq!(a.get("text").unwrap().at(), (5, 11));
        assert_eq!(a.get("text").unwrap().scalar_type(), Some(ScalarType::Str));
        let Kind::Seq(items) = &a.get("quick_replies").unwrap().kind else {
            panic!("a list");
        };
        assert_eq!(items[1].key("payload").unwrap().at(), (6, 36));
        let err = load("start: a\nsteps:\n  a: [\n").unwrap_err();
        assert!(
            err.line.is_some() && err.message.contains("cannot be read"),
            "{err:?}"
        );
    }

    #[test]
    fn scalars_are_typed_as_yaml_does() {
        let root = load("a: 3\nb: 3.5\nc: '3'\nd: true\ne:\nf: x\ng: -2\n").unwrap();
        let t = |k: &str| root.get(k).unwrap().scalar_type().unwrap();
        assert_eq!(t("a"), ScalarType::Int);
        assert_eq!(t("b"), ScalarType::Float);
        assert_eq!(t("c"), ScalarType::Str);
        assert_eq!(t("d"), ScalarType::Bool);
        assert_eq!(t("e"), ScalarType::Null);
        assert_eq!(t("f"), ScalarType::Str);
        assert_eq!(t("g"), ScalarType::Int);
    }
}
