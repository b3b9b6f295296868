//! Slot types for `ask`: what a customer's answer must look like, and its normalized value.

use serde::Deserialize;
use serde_json::Value;

use crate::events::QuickReply;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SlotType {
    /// Any non-empty text.
    #[default]
    Text,
    /// A number (`42`, `3.5`, `1,234`), stored as a number.
    Number,
    /// An email address (`local@domain.tld`), stored lower-cased.
    Email,
    /// A phone number: 7 to 15 digits, optionally with `+`, spaces, dashes, dots, brackets;
    /// stored as `+` and digits when it had a `+`, else digits.
    Phone,
    /// A date `YYYY-MM-DD`, `DD.MM.YYYY` or `DD/MM/YYYY`, stored as `YYYY-MM-DD`.
    Date,
    /// One of the quick replies, by payload, label or number.
    Choice,
    /// Matches `pattern` (the whole answer).
    Regex,
}

/// Checks a slot definition.
pub fn check(slot: SlotType, pattern: Option<&str>, choices: usize) -> Result<(), String> {
    match (slot, pattern) {
        (SlotType::Regex, None) => Err("`expect: regex` needs a `pattern`".into()),
        (SlotType::Regex, Some(p)) => regex::Regex::new(&format!("^(?:{p})$"))
            .map(|_| ())
            .map_err(|e| format!("bad `pattern`: {e}")),
        (_, Some(_)) => Err("`pattern` is only for `expect: regex`".into()),
        (SlotType::Choice, None) if choices == 0 => {
            Err("`expect: choice` needs `quick_replies`".into())
        }
        _ => Ok(()),
    }
}

/// The value an answer gives the slot, or `None` when it does not fit.
pub fn fill(
    slot: SlotType,
    pattern: Option<&str>,
    answer: &str,
    quick_reply: Option<&str>,
    options: &[QuickReply],
) -> Option<Value> {
    let text = answer.trim();
    // A tapped quick reply, or an option named by number or label, answers with its payload.
    let chosen = quick_reply.map(str::to_string).or_else(|| {
        let by_number = text
            .trim_end_matches('.')
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=options.len()).contains(n));
        by_number
            .map(|n| options[n - 1].payload.clone())
            .or_else(|| {
                options
                    .iter()
                    .find(|o| {
                        o.label.eq_ignore_ascii_case(text) || o.payload.eq_ignore_ascii_case(text)
                    })
                    .map(|o| o.payload.clone())
            })
    });
    match slot {
        SlotType::Choice => chosen.map(Value::String),
        _ if chosen.is_some() && slot == SlotType::Text => chosen.map(Value::String),
        SlotType::Text => (!text.is_empty()).then(|| Value::String(text.to_string())),
        SlotType::Number => {
            let cleaned: String = text
                .chars()
                .filter(|c| *c != ',' && *c != '_' && !c.is_whitespace())
                .collect();
            if let Ok(n) = cleaned.parse::<i64>() {
                Some(Value::from(n))
            } else {
                cleaned
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Value::from)
            }
        }
        SlotType::Email => {
            let (local, domain) = text.split_once('@')?;
            let ok = !local.is_empty()
                && !text.contains(char::is_whitespace)
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@');
            ok.then(|| Value::String(text.to_lowercase()))
        }
        SlotType::Phone => {
            let allowed = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            (allowed && (7..=15).contains(&digits.len()) && !text[1..].contains('+')).then(|| {
                Value::String(if text.starts_with('+') {
                    format!("+{digits}")
                } else {
                    digits
                })
            })
        }
        SlotType::Date => parse_date(text).map(Value::String),
        SlotType::Regex => {
            let re = regex::Regex::new(&format!("^(?:{})$", pattern.unwrap_or(".*"))).ok()?;
            re.is_match(text).then(|| Value::String(text.to_string()))
        }
    }
}

fn parse_date(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(['-', '.', '/']).collect();
    if parts.len() != 3 {
        return None;
    }
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (y, m, d) = if parts[0].len() == 4 {
        (nums[0], nums[1], nums[2])
    } else {
        (nums[2], nums[1], nums[0])
    };
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    Some(date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(slot: SlotType, answer: &str) -> Option<Value> {
        fill(slot, None, answer, None, &[])
    }

    #[test]
    fn slot_types() {
        assert_eq!(f(SlotType::Number, " 1,234 "), Some(json!(1234)));
        assert_eq!(f(SlotType::Number, "3.5"), Some(json!(3.5)));
        assert_eq!(f(SlotType::Number, "many"), None);
        assert_eq!(
            f(SlotType::Email, "Ada@Example.org"),
            Some(json!("ada@example.org"))
        );
        assert_eq!(f(SlotType::Email, "ada@example"), None);
        assert_eq!(
            f(SlotType::Phone, "+49 151 1234-5678"),
            Some(json!("+4915112345678"))
        );
        assert_eq!(f(SlotType::Phone, "12"), None);
        assert_eq!(f(SlotType::Date, "24.12.2026"), Some(json!("2026-12-24")));
        assert_eq!(f(SlotType::Date, "2026-02-30"), None);
        assert_eq!(
            fill(SlotType::Regex, Some(r"\d{2}-\d{3}"), "88-431", None, &[]),
            Some(json!("88-431"))
        );
        assert_eq!(
            fill(
                SlotType::Regex,
                Some(r"\d{2}-\d{3}"),
                "order 88-431",
                None,
                &[]
            ),
            None
        );
        let options = [QuickReply {
            label: "Billing".into(),
            payload: "billing".into(),
        }];
        assert_eq!(
            fill(SlotType::Choice, None, "1", None, &options),
            Some(json!("billing"))
        );
        assert_eq!(
            fill(SlotType::Choice, None, "BILLING", None, &options),
            Some(json!("billing"))
        );
        assert_eq!(fill(SlotType::Choice, None, "other", None, &options), None);
        assert_eq!(
            fill(SlotType::Text, None, "whatever", None, &options),
            Some(json!("whatever"))
        );
        assert!(check(SlotType::Regex, Some("("), 0).is_err());
    }
}
