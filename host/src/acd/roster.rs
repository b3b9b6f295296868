//! Agents and supervisors admins manage at run time (`/admin/v1/agents`): checked, stored with
//! their token hashed, applied to this host's directory at once and announced on the signal bus,
//! so every host sharing the store signs them in alike ([`Roster::follow`]).
//!
//! The configuration's `[[agent]]` and `[[supervisor]]` entries stay as they are: the API
//! cannot change or remove them, and a stored account with the id of one is ignored.
//!
//! Removing an agent ends their token at once (on every host, when the signal arrives), ends
//! their open event streams, sets them offline, and puts what they held back in its queue
//! (each counted as a transfer from them, with a note), where routing offers it anew.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::AcdError;
use crate::config::credentials::{MIN_TOKEN_CHARS, check_token_hash, hash_token};
use crate::config::{AgentConfig, QueueConfig, SupervisorConfig};
use crate::directory::{AgentDirectory, Member, Source};
use crate::live::AgentEvents;
use crate::model::{Presence, now_ms};
use crate::store::{Signal, SignalBus, Store, StoredAccount, TransferRequest, Transferred};
use crate::wake::Wakeups;

/// What the admin API takes for an agent or supervisor (`POST` adds `id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    #[serde(default)]
    pub id: Option<String>,
    /// `agent` (the default) or `supervisor`.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The token in plaintext: stored hashed, never returned. Needed to add; to change, optional.
    #[serde(default)]
    pub token: Option<String>,
    /// Or the token's Argon2 hash, made with `switchboard hash-token`.
    #[serde(default)]
    pub token_hash: Option<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    pub channel_capacity: BTreeMap<String, u32>,
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    #[serde(default)]
    pub languages: Vec<String>,
}

/// An account as stored, without its token (the `profile` column).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    name: Option<String>,
    queues: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    channel_capacity: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    skills: BTreeMap<String, u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    languages: Vec<String>,
}

/// The capacity of an agent added without one, as in `[[agent]]`.
const DEFAULT_CAPACITY: u32 = 1;

/// The runtime side of the directory: the store, the bus, and what a removal undoes.
pub struct Roster {
    pub store: Arc<dyn Store>,
    pub bus: Option<Arc<dyn SignalBus>>,
    pub directory: Arc<AgentDirectory>,
    pub queues: Arc<Vec<QueueConfig>>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
}

fn member_of(account: &StoredAccount) -> anyhow::Result<Member> {
    let p: Profile = serde_json::from_str(&account.profile)?;
    Ok(match account.role.as_str() {
        "supervisor" => Member::Supervisor(SupervisorConfig {
            id: account.id.clone(),
            name: p.name,
            token: None,
            token_hash: Some(account.token_hash.clone()),
            queues: p.queues,
        }),
        _ => Member::Agent(AgentConfig {
            id: account.id.clone(),
            name: p.name,
            token: None,
            token_hash: Some(account.token_hash.clone()),
            queues: p.queues,
            capacity: p.capacity.unwrap_or(DEFAULT_CAPACITY),
            channel_capacity: p.channel_capacity,
            skills: p.skills,
            languages: p.languages,
        }),
    })
}

/// Letters, digits, `-`, `_`, `.` and `@`, at most 64: an id sits in URLs.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

impl Roster {
    /// Reads the stored accounts into the directory (at start, and when any host changed one).
    /// The event streams of those whose token changed or who left are ended.
    pub async fn load(&self) -> anyhow::Result<()> {
        let mut members = Vec::new();
        for account in self.store.accounts().await? {
            match member_of(&account) {
                Ok(member) => members.push(member),
                Err(e) => {
                    tracing::error!(account = %account.id, "cannot read a stored agent: {e:#}")
                }
            }
        }
        let before: Vec<(String, Option<String>)> = self
            .directory
            .members()
            .into_iter()
            .map(|(m, _)| (m.id().to_string(), token_hash(&m)))
            .collect();
        for id in self.directory.set_stored(members) {
            let old = before
                .iter()
                .find(|(b, _)| *b == id)
                .map(|(_, h)| h.clone());
            let new = self.directory.member(&id).map(|(m, _)| token_hash(&m));
            if old.is_some() && old != new {
                self.live.end(&id);
            }
        }
        Ok(())
    }

    /// Another host changed an account: read them again.
    pub async fn follow(&self, id: &str) {
        if let Err(e) = self.load().await {
            tracing::error!(account = %id, "cannot follow a change of agents: {e:#}");
        }
    }

    /// Adds (`create`: refused when the id is taken) or replaces account `id`. A replacement
    /// without a token keeps the old one.
    pub async fn put(
        &self,
        id: &str,
        body: AccountBody,
        create: bool,
    ) -> Result<(Member, Source), AcdError> {
        if !valid_id(id) {
            return Err(AcdError::Invalid(format!(
                "agent id `{id}` must be 1-64 letters, digits, `-`, `_`, `.` or `@`"
            )));
        }
        let existing = self.directory.member(id);
        match &existing {
            Some((_, Source::Config)) => {
                return Err(AcdError::Conflict(format!(
                    "`{id}` is declared in the configuration; change it there"
                )));
            }
            Some(_) if create => {
                return Err(AcdError::Conflict(format!("agent `{id}` exists already")));
            }
            _ => {}
        }
        let role = body.role.clone().unwrap_or_else(|| "agent".into());
        let profile = self.profile(&role, &body)?;
        let token_hash = match (body.token, body.token_hash) {
            (Some(_), Some(_)) => {
                return Err(AcdError::Invalid(
                    "give `token` or `token_hash`, not both".into(),
                ));
            }
            (Some(token), None) => {
                if token.chars().count() < MIN_TOKEN_CHARS {
                    return Err(AcdError::Invalid(format!(
                        "token must be at least {MIN_TOKEN_CHARS} characters"
                    )));
                }
                tokio::task::spawn_blocking(move || hash_token(&token))
                    .await
                    .map_err(|e| AcdError::Internal(e.into()))??
            }
            (None, Some(hash)) => {
                check_token_hash(&hash).map_err(|e| AcdError::Invalid(format!("{e:#}")))?;
                hash
            }
            (None, None) => match existing.as_ref().and_then(|(m, _)| token_hash(m)) {
                Some(hash) => hash,
                None => {
                    return Err(AcdError::Invalid(
                        "a new agent needs a `token` (or a `token_hash`)".into(),
                    ));
                }
            },
        };
        let account = StoredAccount {
            id: id.to_string(),
            role,
            profile: serde_json::to_string(&profile).map_err(anyhow::Error::from)?,
            token_hash,
            updated_at: now_ms(),
        };
        self.store.save_account(&account).await?;
        self.changed(id).await?;
        // New queues or capacity count from the next routing pass.
        self.wake.wake_route();
        self.directory
            .member(id)
            .ok_or_else(|| AcdError::Internal(anyhow::anyhow!("agent `{id}` was not kept")))
    }

    /// Removes account `id`: see the module's docs for what happens to their work.
    pub async fn delete(&self, id: &str) -> Result<usize, AcdError> {
        let Some((member, source)) = self.directory.member(id) else {
            return Err(AcdError::NotFound(format!("agent `{id}` does not exist")));
        };
        if source == Source::Config {
            return Err(AcdError::Conflict(format!(
                "`{id}` is declared in the configuration; remove it there"
            )));
        }
        if !self.store.delete_account(id).await? {
            return Err(AcdError::NotFound(format!("agent `{id}` does not exist")));
        }
        self.changed(id).await?;
        let mut requeued = 0;
        if let Member::Agent(_) = member {
            let now = now_ms();
            self.store.set_presence(id, Presence::Offline, now).await?;
            for conversation in self.store.assigned_to(id).await? {
                let Some(queue) = conversation.queue.clone() else {
                    continue;
                };
                let request = TransferRequest {
                    conversation: conversation.id.clone(),
                    from_agent: id.to_string(),
                    to_queue: queue,
                    to_agent: None,
                    note: Some(format!("agent `{id}` was removed")),
                    now,
                };
                if let Transferred::Done(_) = self.store.transfer(request).await? {
                    requeued += 1;
                }
            }
            if requeued > 0 {
                self.wake.wake_route();
            }
        }
        tracing::info!(agent = %id, requeued, "agent removed through the admin API");
        Ok(requeued)
    }

    /// Applies the store's accounts here, and tells the other hosts.
    async fn changed(&self, id: &str) -> anyhow::Result<()> {
        self.load().await?;
        if let Some(bus) = &self.bus {
            let signal = Signal::AccountChanged { id: id.to_string() };
            if let Err(e) = bus.signal(signal).await {
                tracing::warn!("cannot tell the other hosts about agent `{id}`: {e:#}");
            }
        }
        Ok(())
    }

    fn profile(&self, role: &str, body: &AccountBody) -> Result<Profile, AcdError> {
        for queue in &body.queues {
            if !self.queues.iter().any(|q| q.id == *queue) {
                return Err(AcdError::Invalid(format!("queue `{queue}` does not exist")));
            }
        }
        match role {
            "agent" => {}
            "supervisor" => {
                if body.capacity.is_some()
                    || !body.channel_capacity.is_empty()
                    || !body.skills.is_empty()
                    || !body.languages.is_empty()
                {
                    return Err(AcdError::Invalid(
                        "a supervisor takes no interactions: give only `name`, `queues` and a token"
                            .into(),
                    ));
                }
            }
            other => {
                return Err(AcdError::Invalid(format!(
                    "role must be `agent` or `supervisor`, not `{other}`"
                )));
            }
        }
        if body.capacity == Some(0) {
            return Err(AcdError::Invalid("capacity must be at least 1".into()));
        }
        if let Some((skill, level)) = body.skills.iter().find(|(_, l)| !(1..=5).contains(*l)) {
            return Err(AcdError::Invalid(format!(
                "skill `{skill}`: proficiency is 1-5, not {level}"
            )));
        }
        Ok(Profile {
            name: body.name.clone().filter(|n| !n.trim().is_empty()),
            queues: body.queues.clone(),
            capacity: body.capacity,
            channel_capacity: body.channel_capacity.clone(),
            skills: body.skills.clone(),
            languages: body.languages.clone(),
        })
    }
}

fn token_hash(member: &Member) -> Option<String> {
    member.token_hash().map(str::to_string)
}

/// An account as the admin API shows it: never its token or hash.
pub fn account_json(member: &Member, source: Source) -> serde_json::Value {
    match member {
        Member::Agent(a) => json!({
            "id": a.id,
            "role": "agent",
            "name": a.name,
            "queues": a.queues,
            "capacity": a.capacity,
            "channel_capacity": a.channel_capacity,
            "skills": a.skills,
            "languages": a.languages,
            "source": source.as_str(),
        }),
        Member::Supervisor(s) => json!({
            "id": s.id,
            "role": "supervisor",
            "name": s.name,
            "queues": s.queues,
            "source": source.as_str(),
        }),
    }
}
