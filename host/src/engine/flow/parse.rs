//! Reading a flow file: the YAML is decoded step by step, so one bad step does not hide the
//! problems of the others, and every problem is reported with the line and column it concerns,
//! so an author fixes a file in one round.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::FlowError;
use super::locate::{locate, locate_value};
use super::model::{Flow, Step};
use super::validate::Known;

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
