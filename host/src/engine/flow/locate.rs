//! Where a step or a field is in a flow file, for error messages: looked up in the file's
//! YAML tree ([`super::yaml`]), which keeps every node's line and column.

use super::yaml::Node;

/// The positions of a flow file's keys.
pub(super) struct Positions<'n> {
    root: &'n Node,
}

impl<'n> Positions<'n> {
    pub fn new(root: &'n Node) -> Self {
        Positions { root }
    }

    /// The node of step `step`'s mapping key.
    fn step_key(&self, step: &str) -> Option<&'n Node> {
        self.root.get("steps")?.key(step)
    }

    /// The line and column of a top-level key.
    pub fn top(&self, key: &str) -> Option<(usize, usize)> {
        self.root.key(key).map(Node::at)
    }

    /// The line and column of step `step`, or of its `field` when given and present.
    pub fn step(&self, step: &str, field: Option<&str>) -> Option<(usize, usize)> {
        let key = self.step_key(step)?;
        match field {
            None => Some(key.at()),
            Some(field) => self.root.get("steps")?.get(step)?.key(field).map(Node::at),
        }
    }

    /// The line and column of `field` of step `step` (else of its `type`), or of the step
    /// itself without a field.
    pub fn best(&self, step: &str, field: Option<&str>) -> (Option<usize>, Option<usize>) {
        match field {
            Some(field) => self
                .step(step, Some(field))
                .or_else(|| self.step(step, Some("type"))),
            None => None,
        }
        .or_else(|| self.step(step, None))
        .unzip()
    }

    /// The line and column of the key at `path` inside step `step`: field names, and list
    /// indexes (from 0) for items (`["cases", "1", "when"]`).
    pub fn nested(&self, step: &str, path: &[&str]) -> Option<(usize, usize)> {
        let mut node = self.root.get("steps")?.get(step)?;
        let mut at = None;
        for segment in path {
            match &node.kind {
                super::yaml::Kind::Seq(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    at = Some(node.at());
                }
                _ => {
                    at = Some(node.key(segment)?.at());
                    node = node.get(segment)?;
                }
            }
        }
        at
    }

    /// The names of every step in the file, decoded or not.
    pub fn step_names(&self) -> Vec<&'n str> {
        self.root
            .get("steps")
            .and_then(Node::entries)
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.text())
            .collect()
    }

    /// The variables every step sets, read from the file (for steps that could not be
    /// decoded): (step, variable).
    pub fn raw_assigned(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, step) in self
            .root
            .get("steps")
            .and_then(Node::entries)
            .into_iter()
            .flatten()
        {
            let Some(name) = key.text() else { continue };
            let mut add = |v: &str| out.push((name.to_string(), v.to_string()));
            for field in ["variable", "result"] {
                if let Some(v) = step.get(field).and_then(Node::text) {
                    add(v);
                }
            }
            if let Some(action) = step.get("action").and_then(Node::text) {
                add(&action.replace('-', "_"));
            }
            if step.get("type").and_then(Node::text) == Some("identify") {
                add("contact");
            }
            for (k, _) in step
                .get("set")
                .and_then(Node::entries)
                .into_iter()
                .flatten()
            {
                if let Some(v) = k.text() {
                    add(v);
                }
            }
        }
        out
    }

    /// The steps a step names in its path fields, read from the file (for steps that could
    /// not be decoded): every text value of a field that names a path in some step type.
    pub fn raw_targets(&self, step: &str) -> Vec<(String, &'n str)> {
        const PATHS: &[&str] = &[
            "next",
            "then",
            "else",
            "no_match",
            "no_input",
            "handoff",
            "error",
            "failure",
            "timeout",
            "found",
            "not_found",
            "open",
            "closed",
            "holiday",
            "emergency",
            "default",
        ];
        let Some(node) = self.root.get("steps").and_then(|s| s.get(step)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in node.entries().into_iter().flatten() {
            let Some(field) = key.text() else { continue };
            if PATHS.contains(&field)
                && let Some(target) = value.text()
            {
                out.push((field.to_string(), target));
            }
            if field == "cases"
                && let super::yaml::Kind::Seq(cases) = &value.kind
            {
                for case in cases {
                    if let Some(target) = case.get("next").and_then(Node::text) {
                        out.push(("cases".to_string(), target));
                    }
                }
            }
        }
        out
    }
}
