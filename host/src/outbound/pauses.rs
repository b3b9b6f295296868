//! Integration-wide rate-limit pauses: a platform's rate limit is on the account (X per user
//! and app, WhatsApp per number, Messenger per Page), not on the one message that met it, so a
//! 429 pauses every send of that integration until the limit ends. Sends claimed meanwhile are
//! put back, their attempt not counted, due when the pause ends.
//!
//! The pauses live in this process: with several hosts on one store each learns of a limit from
//! its own 429.

use std::collections::HashMap;
use std::sync::Mutex;

/// Until when each integration's sends wait (epoch milliseconds).
#[derive(Debug, Default)]
pub struct Pauses {
    until: Mutex<HashMap<String, i64>>,
}

impl Pauses {
    /// Pauses `integration` until `until`, or longer if it is already paused longer.
    pub fn pause(&self, integration: &str, until: i64) {
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(integration.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Until when `integration` is paused, if it is at `now`.
    pub fn paused_until(&self, integration: &str, now: i64) -> Option<i64> {
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(integration) {
            Some(&until) if until > now => Some(until),
            Some(_) => {
                map.remove(integration);
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_until_its_end_and_only_extends() {
        let pauses = Pauses::default();
        assert_eq!(pauses.paused_until("x", 0), None);
        pauses.pause("x", 1_000);
        pauses.pause("x", 500);
        assert_eq!(pauses.paused_until("x", 999), Some(1_000));
        assert_eq!(pauses.paused_until("other", 999), None);
        assert_eq!(pauses.paused_until("x", 1_000), None);
        assert_eq!(
            pauses.paused_until("x", 0),
            None,
            "an ended pause is forgotten"
        );
    }
}
