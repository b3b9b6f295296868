//! The outbound content filter: admin-defined words and regular expressions that an agent's
//! message may not contain.

use crate::model::FilterRule;

/// The reason a text is blocked, naming the rule; `None` when it passes.
pub fn blocked(rules: &[FilterRule], text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    for FilterRule { id, kind, pattern } in rules {
        let hit = match kind.as_str() {
            "word" => {
                let word = pattern.to_lowercase();
                lower
                    .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
                    .any(|w| w == word)
                    || (word.contains(' ') && lower.contains(&word))
            }
            _ => regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .is_ok_and(|re| re.is_match(text)),
        };
        if hit {
            return Some(format!(
                "the message matches content filter `{id}` ({kind} `{pattern}`); nothing was sent"
            ));
        }
    }
    None
}

/// Checks a rule before it is stored.
pub fn check(kind: &str, pattern: &str) -> Result<(), String> {
    match kind {
        "word" if pattern.trim().is_empty() => {
            Err("a word rule needs a non-empty `pattern`".into())
        }
        "word" => Ok(()),
        "regex" => regex::Regex::new(pattern)
            .map(|_| ())
            .map_err(|e| format!("bad regular expression: {e}")),
        other => Err(format!("`kind` must be `word` or `regex`, not `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_whole_words_and_patterns_match_anywhere() {
        let rule = |id: &str, kind: &str, pattern: &str| FilterRule {
            id: id.into(),
            kind: kind.into(),
            pattern: pattern.into(),
        };
        let rules = vec![
            rule("no-refunds", "word", "refund"),
            rule("card", "regex", r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b"),
        ];
        assert!(
            blocked(&rules, "You will get a REFUND.")
                .unwrap()
                .contains("`no-refunds`")
        );
        assert_eq!(blocked(&rules, "Refunded items ship back"), None);
        assert!(
            blocked(&rules, "Card 4111 1111 1111 1111")
                .unwrap()
                .contains("`card`")
        );
        assert_eq!(blocked(&rules, "All good"), None);
        assert!(check("regex", "(").is_err());
        assert!(check("glob", "x").is_err());
    }
}
