//! Who may sign in: the agents and supervisors the configuration names and those admins add
//! through the API (`acd/roster.rs` keeps those in step with the store), and the tokens they
//! sign in with.
//!
//! Tokens are held only as Argon2 hashes (`config/credentials.rs`). Finding whose a token is
//! means verifying it against each member's hash, which is slow on purpose; so a token, once
//! verified, is remembered by its SHA-256 (never the token itself) until that member changes
//! or leaves, and a token that matched no one is remembered as such until anyone changes. A
//! request with a known token costs one hash lookup.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use crate::config::credentials::verify_token;
use crate::config::{AgentConfig, SupervisorConfig};

/// One who may sign in: an agent (takes interactions) or a supervisor (watches queues).
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Agent(AgentConfig),
    Supervisor(SupervisorConfig),
}

impl Member {
    pub fn id(&self) -> &str {
        match self {
            Member::Agent(a) => &a.id,
            Member::Supervisor(s) => &s.id,
        }
    }

    /// `agent` or `supervisor`.
    pub fn role(&self) -> &'static str {
        match self {
            Member::Agent(_) => "agent",
            Member::Supervisor(_) => "supervisor",
        }
    }

    /// The hash of the token they sign in with.
    pub fn token_hash(&self) -> Option<&str> {
        match self {
            Member::Agent(a) => a.token_hash.as_deref(),
            Member::Supervisor(s) => s.token_hash.as_deref(),
        }
    }
}

/// Where a member was declared: the configuration wins over the API for the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Api => "api",
        }
    }
}

/// The most tokens remembered as matching no one; the set starts again when full.
const MAX_REJECTED: usize = 4096;

type TokenKey = [u8; 32];

#[derive(Default)]
struct Inner {
    /// By role, then id (an agent and a supervisor of the configuration may share an id).
    agents: HashMap<String, (AgentConfig, Source)>,
    supervisors: HashMap<String, (SupervisorConfig, Source)>,
    /// SHA-256 of a verified token → (role, id, the hash it verified against).
    verified: HashMap<TokenKey, (&'static str, String, String)>,
    /// SHA-256 of tokens that matched no one.
    rejected: HashSet<TokenKey>,
    /// Counts changes, so that a verification that raced one is not remembered.
    generation: u64,
}

impl Inner {
    fn member(&self, role: &str, id: &str) -> Option<Member> {
        match role {
            "agent" => self.agents.get(id).map(|(a, _)| Member::Agent(a.clone())),
            _ => self
                .supervisors
                .get(id)
                .map(|(s, _)| Member::Supervisor(s.clone())),
        }
    }

    /// Forgets what was verified for `id` (either role), and every rejection.
    fn forget(&mut self, id: &str) {
        self.verified.retain(|_, (_, who, _)| who != id);
        self.rejected.clear();
        self.generation += 1;
    }
}

/// Agents and supervisors by id, and by token for signing in.
#[derive(Default)]
pub struct AgentDirectory {
    inner: RwLock<Inner>,
}

impl AgentDirectory {
    /// The members the configuration names (their tokens already hashed).
    pub fn new(agents: &[AgentConfig], supervisors: &[SupervisorConfig]) -> AgentDirectory {
        let inner = Inner {
            agents: agents
                .iter()
                .map(|a| (a.id.clone(), (a.clone(), Source::Config)))
                .collect(),
            supervisors: supervisors
                .iter()
                .map(|s| (s.id.clone(), (s.clone(), Source::Config)))
                .collect(),
            ..Inner::default()
        };
        AgentDirectory {
            inner: RwLock::new(inner),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<AgentConfig> {
        self.read().agents.get(id).map(|(a, _)| a.clone())
    }

    pub fn supervisor(&self, id: &str) -> Option<SupervisorConfig> {
        self.read().supervisors.get(id).map(|(s, _)| s.clone())
    }

    /// Every agent, in no particular order.
    pub fn all(&self) -> Vec<AgentConfig> {
        self.read()
            .agents
            .values()
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Every member with where it was declared, agents first, each by id.
    pub fn members(&self) -> Vec<(Member, Source)> {
        let inner = self.read();
        let mut agents: Vec<_> = inner
            .agents
            .values()
            .map(|(a, s)| (Member::Agent(a.clone()), *s))
            .collect();
        agents.sort_by(|a, b| a.0.id().cmp(b.0.id()));
        let mut supervisors: Vec<_> = inner
            .supervisors
            .values()
            .map(|(v, s)| (Member::Supervisor(v.clone()), *s))
            .collect();
        supervisors.sort_by(|a, b| a.0.id().cmp(b.0.id()));
        agents.extend(supervisors);
        agents
    }

    /// The member `id` (the agent when an agent and a supervisor share it) and its source.
    pub fn member(&self, id: &str) -> Option<(Member, Source)> {
        let inner = self.read();
        if let Some((a, s)) = inner.agents.get(id) {
            return Some((Member::Agent(a.clone()), *s));
        }
        inner
            .supervisors
            .get(id)
            .map(|(v, s)| (Member::Supervisor(v.clone()), *s))
    }

    /// The name an agent signs messages with (their id when they have none).
    pub fn display_name(&self, id: &str) -> Option<String> {
        self.get(id)
            .map(|a| a.name.clone().unwrap_or_else(|| a.id.clone()))
    }

    /// Replaces the members added through the API by `stored`; one whose id the configuration
    /// declares is left out (the configuration wins). Whatever was verified for a member that
    /// changed or left is forgotten, so an old token stops working at once. Returns the ids
    /// that changed.
    pub fn set_stored(&self, stored: Vec<Member>) -> Vec<String> {
        let mut inner = self.write();
        let mut changed = Vec::new();
        let mut agents = HashMap::new();
        let mut supervisors = HashMap::new();
        for member in stored {
            let id = member.id().to_string();
            let declared = matches!(inner.agents.get(&id), Some((_, Source::Config)))
                || matches!(inner.supervisors.get(&id), Some((_, Source::Config)));
            if declared {
                tracing::warn!(
                    member = %id,
                    "an agent stored through the admin API has the id of one in the configuration; the configuration's is used"
                );
                continue;
            }
            match member {
                Member::Agent(a) => {
                    agents.insert(id, (a, Source::Api));
                }
                Member::Supervisor(s) => {
                    supervisors.insert(id, (s, Source::Api));
                }
            }
        }
        let old_agents: Vec<(String, (AgentConfig, Source))> = inner
            .agents
            .iter()
            .filter(|(_, (_, s))| *s == Source::Api)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let old_supervisors: Vec<(String, (SupervisorConfig, Source))> = inner
            .supervisors
            .iter()
            .filter(|(_, (_, s))| *s == Source::Api)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, old) in &old_agents {
            if agents.get(id) != Some(old) {
                changed.push(id.clone());
            }
        }
        for (id, old) in &old_supervisors {
            if supervisors.get(id) != Some(old) {
                changed.push(id.clone());
            }
        }
        for id in agents.keys().chain(supervisors.keys()) {
            let was = old_agents.iter().any(|(k, _)| k == id)
                || old_supervisors.iter().any(|(k, _)| k == id);
            if !was {
                changed.push(id.clone());
            }
        }
        inner.agents.retain(|_, (_, s)| *s == Source::Config);
        inner.supervisors.retain(|_, (_, s)| *s == Source::Config);
        inner.agents.extend(agents);
        inner.supervisors.extend(supervisors);
        changed.sort();
        changed.dedup();
        for id in &changed {
            inner.forget(id);
        }
        changed
    }

    /// The member `token` belongs to: remembered when seen before, else verified against
    /// each member's hash (agents first).
    pub fn by_token(&self, token: &str) -> Option<Member> {
        let key: TokenKey = Sha256::digest(token.as_bytes()).into();
        let (candidates, generation): (Vec<(&'static str, String, String)>, u64) = {
            let inner = self.read();
            if let Some((role, id, _)) = inner.verified.get(&key) {
                return inner.member(role, id);
            }
            if inner.rejected.contains(&key) {
                return None;
            }
            let agents = inner
                .agents
                .values()
                .filter_map(|(a, _)| Some(("agent", a.id.clone(), a.token_hash.clone()?)));
            let supervisors = inner
                .supervisors
                .values()
                .filter_map(|(s, _)| Some(("supervisor", s.id.clone(), s.token_hash.clone()?)));
            (agents.chain(supervisors).collect(), inner.generation)
        };
        // Verified without the lock: each check takes a few milliseconds.
        let found = candidates
            .into_iter()
            .find(|(_, _, hash)| verify_token(token, hash));
        let mut inner = self.write();
        match found {
            Some((role, id, hash)) => {
                let member = inner.member(role, &id)?;
                // The member changed while this was verified: their new hash decides next time.
                if member.token_hash() != Some(hash.as_str()) {
                    return None;
                }
                inner.verified.insert(key, (role, id, hash));
                Some(member)
            }
            // Someone was added while this was verified: they may own it, so it is not
            // remembered as matching no one.
            None if inner.generation != generation => None,
            None => {
                if inner.rejected.len() >= MAX_REJECTED {
                    inner.rejected.clear();
                }
                inner.rejected.insert(key);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::credentials::hash_token;

    fn agent(id: &str, token: &str, queues: &[&str]) -> AgentConfig {
        AgentConfig {
            id: id.into(),
            name: None,
            token: None,
            token_hash: Some(hash_token(token).unwrap()),
            queues: queues.iter().map(|q| q.to_string()).collect(),
            capacity: 1,
            channel_capacity: Default::default(),
            skills: Default::default(),
            languages: vec![],
        }
    }

    fn supervisor(id: &str, token: &str) -> SupervisorConfig {
        SupervisorConfig {
            id: id.into(),
            name: None,
            token: None,
            token_hash: Some(hash_token(token).unwrap()),
            queues: vec![],
        }
    }

    #[test]
    fn tokens_find_their_member_and_stop_working_when_it_changes() {
        let directory = AgentDirectory::new(
            &[agent("ann", "ann-token-1", &["sales"])],
            &[supervisor("sue", "sue-token-1")],
        );
        assert_eq!(directory.by_token("ann-token-1").unwrap().id(), "ann");
        // Remembered: the same answer again.
        assert_eq!(directory.by_token("ann-token-1").unwrap().id(), "ann");
        assert_eq!(
            directory.by_token("sue-token-1").unwrap().role(),
            "supervisor"
        );
        assert!(directory.by_token("nobody-token").is_none());
        assert!(directory.by_token("nobody-token").is_none());

        // Added through the API: the token that matched no one now signs Bob in.
        let changed = directory.set_stored(vec![Member::Agent(agent("bob", "nobody-token", &[]))]);
        assert_eq!(changed, vec!["bob".to_string()]);
        assert_eq!(directory.by_token("nobody-token").unwrap().id(), "bob");

        // Bob's queues change: his token still works and the new queues are seen.
        directory.set_stored(vec![Member::Agent(AgentConfig {
            queues: vec!["sales".into()],
            ..directory.get("bob").unwrap()
        })]);
        let Some(Member::Agent(bob)) = directory.by_token("nobody-token") else {
            panic!("bob signs in");
        };
        assert_eq!(bob.queues, vec!["sales".to_string()]);

        // A new token: the old one stops at once.
        directory.set_stored(vec![Member::Agent(agent("bob", "bob-token-2", &[]))]);
        assert!(directory.by_token("nobody-token").is_none());
        assert_eq!(directory.by_token("bob-token-2").unwrap().id(), "bob");

        // Removed: the token stops at once, the configuration's members stay.
        assert_eq!(directory.set_stored(vec![]), vec!["bob".to_string()]);
        assert!(directory.by_token("bob-token-2").is_none());
        assert!(directory.get("bob").is_none());
        assert_eq!(directory.by_token("ann-token-1").unwrap().id(), "ann");
    }

    #[test]
    fn the_configuration_wins_over_the_api() {
        let directory = AgentDirectory::new(&[agent("ann", "ann-token-1", &["sales"])], &[]);
        let changed = directory.set_stored(vec![Member::Agent(agent("ann", "other-token", &[]))]);
        assert!(changed.is_empty());
        assert!(directory.by_token("other-token").is_none());
        let (member, source) = directory.member("ann").unwrap();
        assert_eq!(source, Source::Config);
        let Member::Agent(ann) = member else {
            panic!("ann is an agent")
        };
        assert_eq!(ann.queues, vec!["sales".to_string()]);
    }
}
