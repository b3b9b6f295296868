//! `[retention]`: how long the host keeps what it no longer needs. Off unless set.

use anyhow::bail;
use serde::Deserialize;

/// How many days data is kept; each key is off when unset.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Webhook events are deleted this many days after they were processed (a platform's
    /// redelivery older than that would no longer be recognised as one: at least 1).
    #[serde(default)]
    pub inbox_days: Option<u32>,
    /// The messages (and uploaded files) of an interaction are deleted this many days after it
    /// ended; the interaction itself (queue, agent, wrap-up, times) is kept.
    #[serde(default)]
    pub messages_days: Option<u32>,
}

impl RetentionConfig {
    /// Whether anything is to be deleted.
    pub fn is_on(&self) -> bool {
        self.inbox_days.is_some() || self.messages_days.is_some()
    }

    /// Refuses 0 days (which would delete events a platform may still redeliver, and messages
    /// of an interaction the customer may continue).
    pub fn check(&self) -> anyhow::Result<()> {
        for (key, days) in [
            ("inbox_days", self.inbox_days),
            ("messages_days", self.messages_days),
        ] {
            if days == Some(0) {
                bail!("[retention] `{key}` must be at least 1 (remove it to keep everything)");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn retention_is_off_unless_set_and_never_zero_days() {
        let off = Config::parse("").unwrap().retention;
        assert!(!off.is_on());
        let on = Config::parse("[retention]\ninbox_days = 7\n")
            .unwrap()
            .retention;
        assert_eq!((on.inbox_days, on.messages_days), (Some(7), None));
        assert!(on.is_on());
        let zero = Config::parse("[retention]\nmessages_days = 0\n").unwrap_err();
        assert!(
            format!("{zero:#}").contains("[retention] `messages_days` must be at least 1"),
            "{zero:#}"
        );
        let typo = Config::parse("[retention]\ninbox_day = 7\n").unwrap_err();
        assert!(format!("{typo:#}").contains("inbox_day"), "{typo:#}");
    }
}
