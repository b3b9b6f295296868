//! Message templates: text with `{{path}}` or `{{path | "fallback"}}` placeholders, where `path`
//! is a dotted name into the flow's variables (`customer.name`, `topic`). A missing value renders
//! as its fallback, or as nothing.

use serde_json::{Map, Value};

/// One piece of a template.
#[derive(Debug, PartialEq)]
enum Part<'a> {
    Text(&'a str),
    Var {
        path: Vec<&'a str>,
        fallback: Option<String>,
    },
}

fn parse(text: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "`{{{{` at `{}` is never closed with `}}}}`",
                snippet(&rest[open..])
            )
        })?;
        parts.push(parse_placeholder(&after[..close])?);
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok(parts)
}

fn parse_placeholder(inner: &str) -> Result<Part<'_>, String> {
    let (path, fallback) = match inner.split_once('|') {
        Some((path, fallback)) => {
            let fallback = fallback.trim();
            let unquoted = fallback
                .strip_prefix('"')
                .and_then(|f| f.strip_suffix('"'))
                .ok_or_else(|| {
                    format!("the fallback in `{{{{{inner}}}}}` must be a quoted string")
                })?;
            (path.trim(), Some(unquoted.to_string()))
        }
        None => (inner.trim(), None),
    };
    let segments: Vec<&str> = path.split('.').collect();
    let valid = |s: &&str| {
        let mut c = s.chars();
        matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if segments.is_empty() || !segments.iter().all(valid) {
        return Err(format!(
            "`{{{{{inner}}}}}` must name a variable, like `{{{{customer.name}}}}`"
        ));
    }
    Ok(Part::Var {
        path: segments,
        fallback,
    })
}

fn snippet(s: &str) -> String {
    s.chars().take(20).collect()
}

/// Checks a template's syntax.
pub fn check(text: &str) -> Result<(), String> {
    parse(text).map(|_| ())
}

/// Renders a template against the variables. Strings render bare; other values as JSON.
pub fn render(text: &str, vars: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for part in parse(text)? {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Var { path, fallback } => {
                let mut value = vars.get(path[0]);
                for segment in &path[1..] {
                    value = value.and_then(|v| v.get(segment));
                }
                match value {
                    Some(Value::String(s)) if !s.is_empty() => out.push_str(s),
                    Some(Value::Null) | None => out.push_str(fallback.as_deref().unwrap_or("")),
                    Some(Value::String(_)) => out.push_str(fallback.as_deref().unwrap_or("")),
                    Some(other) => out.push_str(&other.to_string()),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paths_and_fallbacks() {
        let vars = json!({"customer": {"name": "Ada", "followers": 3}, "topic": ""});
        let vars = vars.as_object().unwrap();
        assert_eq!(render("Hi {{customer.name}}!", vars).unwrap(), "Hi Ada!");
        assert_eq!(
            render("{{ customer.followers }} followers", vars).unwrap(),
            "3 followers"
        );
        assert_eq!(
            render(r#"About {{topic | "your question"}}"#, vars).unwrap(),
            "About your question"
        );
        assert_eq!(render("{{missing.deep}}.", vars).unwrap(), ".");
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(
            check("Hi {{customer.name")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(check("Hi {{9}}").is_err());
        assert!(check("Hi {{a | fallback}}").unwrap_err().contains("quoted"));
        assert!(check("plain text, no placeholders").is_ok());
    }
}
