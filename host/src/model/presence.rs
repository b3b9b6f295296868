//! Agents' presence. Who the agents are comes from the configuration; what they are doing right
//! now is stored so it survives a restart.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// On queue: may be offered and may accept conversations.
    Available,
    /// Signed in but not taking new conversations.
    Away,
    Offline,
    /// Set by the ACD when an offer was not answered in time; the agent gets no offers until
    /// they set themselves available again.
    NotResponding,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away => "away",
            Presence::Offline => "offline",
            Presence::NotResponding => "not-responding",
        }
    }

    /// The stored form back; anything unknown is offline.
    pub fn parse(s: &str) -> Presence {
        match s {
            "available" => Presence::Available,
            "away" => Presence::Away,
            "not-responding" => Presence::NotResponding,
            _ => Presence::Offline,
        }
    }
}

/// One agent's stored presence and when they last became free (`idle_since`, or when they last
/// set their presence): longest-idle routing picks the smallest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPresence {
    pub agent: String,
    pub presence: Presence,
    pub idle_since: i64,
}
