//! Reading a flow file, in one pass that reports every problem: the YAML is read into a tree
//! that keeps positions (`yaml`), its structure checked against the flow's schema (`shape`),
//! the steps that are sound decoded one by one, then the whole flow validated (`validate`) and
//! its expressions type-checked against the variables each path can have (`typecheck`). Every
//! problem comes with the line and column it concerns, so an author fixes a file in one round.

use std::collections::BTreeMap;

use super::error::FlowError;
use super::locate::Positions;
use super::model::{Flow, Step};
use super::validate::Known;
use super::{shape, yaml};

impl Flow {
    /// Parses and validates a flow. On failure, returns every problem found, by position.
    pub fn parse(source: &str, known: &Known<'_>) -> Result<Flow, Vec<FlowError>> {
        Self::parse_with(source, known, true)
    }

    /// Reads a version that was published before: checked as it was then, without the type
    /// check a newer host adds, so conversations pinned to it keep running after an upgrade.
    pub fn parse_stored(source: &str) -> Result<Flow, Vec<FlowError>> {
        Self::parse_with(source, &Known::default(), false)
    }

    fn parse_with(
        source: &str,
        known: &Known<'_>,
        typecheck: bool,
    ) -> Result<Flow, Vec<FlowError>> {
        let root = yaml::load(source).map_err(|e| vec![e])?;
        let structure = shape::check(&root);
        let mut errors = structure.errors;
        if !structure.usable {
            sort(&mut errors);
            return Err(errors);
        }
        // The structure fits, so the decoder agrees with it; its own wording is only a
        // fallback for what the schema cannot say.
        let document: serde_yaml_ng::Value = match serde_yaml_ng::from_str(source) {
            Ok(document) => document,
            Err(e) => {
                // Without a place (aliases expanded past the decoder's limit), the file's start.
                let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                errors.push(FlowError {
                    line: Some(line),
                    column: Some(column),
                    message: format!(
                        "the YAML cannot be read: {}",
                        e.to_string().split(" at line ").next().unwrap_or_default()
                    ),
                });
                sort(&mut errors);
                return Err(errors);
            }
        };
        let text = |key: &str| root.get(key).and_then(yaml::Node::text).map(str::to_string);
        let positions = Positions::new(&root);
        let mut steps = BTreeMap::new();
        for (name, value) in document
            .get("steps")
            .and_then(serde_yaml_ng::Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let Some(name) = name.as_str() else { continue };
            if structure.broken.contains(name) {
                continue;
            }
            match serde_yaml_ng::from_value::<Step>(value.clone()) {
                Ok(step) => {
                    steps.insert(name.to_string(), step);
                }
                Err(e) => {
                    let (line, column) = positions.best(name, None);
                    errors.push(FlowError {
                        line,
                        column,
                        message: format!(
                            "step `{name}`: {}",
                            e.to_string().split(" at line ").next().unwrap_or_default()
                        ),
                    });
                }
            }
        }
        let flow = Flow {
            description: text("description"),
            start: text("start").unwrap_or_default(),
            on_error: text("on_error").filter(|h| !h.is_empty()),
            steps,
        };
        flow.validate(&positions, known, &mut errors);
        if typecheck {
            flow.typecheck(&positions, &mut errors);
        }
        sort(&mut errors);
        if errors.is_empty() {
            Ok(flow)
        } else {
            Err(errors)
        }
    }
}

fn sort(errors: &mut [FlowError]) {
    errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the flow fuzzer: aliases of aliases under the tree's limit but past the
    /// decoder's were reported without a line.
    #[test]
    fn aliases_past_the_decoders_limit_are_located() {
        let mut src = String::from("start: a\nsteps:\n  a:\n    type: disconnect\n");
        src.push_str("b0: &b0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..5 {
            let items = vec![format!("*b{}", level - 1); 10].join(", ");
            src.push_str(&format!("b{level}: &b{level} [{items}]\n"));
        }
        let errors = Flow::parse(&src, &Known::default()).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("repetition limit")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .all(|e| e.line.is_some() && e.column.is_some()),
            "{errors:?}"
        );
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
            text[0].starts_with("5:5:") && text[0].contains("{{"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("6:5:") && text[1].contains("`nowhere`"),
            "{text:#?}"
        );
        assert!(
            text[2].starts_with("10:5:") && text[2].contains("9lives"),
            "{text:#?}"
        );
        assert!(
            text[3].starts_with("14:5:") && text[3].contains("bad expression"),
            "{text:#?}"
        );
        assert!(
            text[4].starts_with("18:11:") && text[4].contains("`sned` is not a step type"),
            "{text:#?}"
        );
        assert!(
            text[5].starts_with("22:5:") && text[5].contains("has no field `txt`"),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .all(|t| !t.contains("unknown variant") && !t.contains("unknown field")),
            "no serde wording: {text:#?}"
        );
    }
}
