//! A model-based test of the routing rule: proptest drives random sequences of what agents and
//! customers do (presence changes, arrivals, routing passes, accepts, declines, offers ringing
//! out, transfers to a queue or an agent, ends, time passing) through [`choose`], keeping the
//! state the store would keep, and checks after every routing pass:
//!
//! - an interaction is offered to at most one agent, and never while held or already offered;
//! - no agent is offered past their capacity, total or per channel, nor while not available,
//!   nor outside their queues, nor without the skills and language the interaction needs;
//! - nobody eligible stays idle while a customer waits: after a pass, a waiting interaction
//!   without an offer has no eligible agent with room (except one transferred to an agent, who
//!   alone is offered it while available and not having refused it).

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::routing::{Load, RoutingConfig, Snapshot, Waiting, choose};
use crate::config::AgentConfig;
use crate::model::{Conversation, ConversationState, Presence, Transfer};

const QUEUES: [&str; 2] = ["support", "billing"];
const INTEGRATIONS: [(&str, &str); 2] = [("x-demo", "x"), ("wa", "whatsapp")];

#[derive(Debug, Clone)]
enum Op {
    Presence {
        agent: usize,
        presence: Presence,
    },
    Arrive {
        queue: usize,
        integration: usize,
        priority: i64,
        skill: bool,
        language: bool,
    },
    Route,
    Accept {
        pick: usize,
    },
    Decline {
        pick: usize,
    },
    RingOut {
        pick: usize,
    },
    End {
        pick: usize,
    },
    Transfer {
        pick: usize,
        to_agent: Option<usize>,
        queue: usize,
    },
    Tick {
        ms: i64,
    },
}

fn presence() -> impl Strategy<Value = Presence> {
    prop_oneof![
        3 => Just(Presence::Available),
        1 => Just(Presence::Away),
        1 => Just(Presence::Offline),
    ]
}

fn op(agents: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..agents, presence()).prop_map(|(agent, presence)| Op::Presence { agent, presence }),
        3 => (0..2usize, 0..2usize, 0..3i64, any::<bool>(), any::<bool>()).prop_map(
            |(queue, integration, priority, skill, language)| Op::Arrive {
                queue,
                integration,
                priority,
                skill,
                language,
            }
        ),
        3 => Just(Op::Route),
        2 => any::<usize>().prop_map(|pick| Op::Accept { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Decline { pick }),
        1 => any::<usize>().prop_map(|pick| Op::RingOut { pick }),
        1 => any::<usize>().prop_map(|pick| Op::End { pick }),
        1 => (any::<usize>(), proptest::option::of(0..agents), 0..2usize)
            .prop_map(|(pick, to_agent, queue)| Op::Transfer { pick, to_agent, queue }),
        1 => (1..120_000i64).prop_map(|ms| Op::Tick { ms }),
    ]
}

fn agent_config() -> impl Strategy<Value = (Vec<bool>, u32, Option<u32>, bool, bool)> {
    (
        proptest::collection::vec(any::<bool>(), 2),
        1..4u32,
        proptest::option::of(0..3u32),
        any::<bool>(),
        any::<bool>(),
    )
}

fn agents() -> impl Strategy<Value = Vec<AgentConfig>> {
    proptest::collection::vec(agent_config(), 1..5).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(
                |(i, (queues, capacity, wa_cap, skilled, speaks_fr))| AgentConfig {
                    id: format!("agent-{i}"),
                    name: None,
                    token: None,
                    token_hash: None,
                    queues: QUEUES
                        .iter()
                        .zip(queues)
                        .filter(|(_, member)| *member)
                        .map(|(q, _)| q.to_string())
                        .collect(),
                    capacity,
                    channel_capacity: wa_cap
                        .map(|cap| [("whatsapp".to_string(), cap)].into())
                        .unwrap_or_default(),
                    skills: match skilled {
                        true => [("refunds".to_string(), 5)].into(),
                        false => Default::default(),
                    },
                    languages: match speaks_fr {
                        true => vec!["en".into(), "fr".into()],
                        false => vec!["en".into()],
                    },
                },
            )
            .collect()
    })
}

fn conversation(id: String, queue: &str, integration: &str, now: i64) -> Conversation {
    Conversation {
        id: id.clone(),
        integration: integration.into(),
        customer_id: format!("customer-{id}"),
        customer: Default::default(),
        state: ConversationState::Queued,
        flow: None,
        flow_version: None,
        flow_state: None,
        queue: Some(queue.into()),
        priority: 0,
        skills: vec![],
        agent: None,
        last_agent: None,
        participant_data: Default::default(),
        queued_at: Some(now),
        created_at: now,
        updated_at: now,
        last_customer_at: now,
        last_customer_written_at: now,
        flow_timeout_at: None,
        language: None,
        preferred_agents: vec![],
        inactivity_warned_at: None,
        assigned_at: None,
        version: 0,
    }
}

/// What the store keeps, as far as routing is concerned.
struct Model {
    config: RoutingConfig,
    presence: HashMap<String, (Presence, i64)>,
    /// Conversation → agent holding it.
    held: BTreeMap<String, String>,
    /// Conversation → agent it is offered to.
    offers: BTreeMap<String, String>,
    /// Queued conversations (offered or not), with who refused them and the transfer.
    waiting: BTreeMap<String, Waiting>,
    /// Held conversations, to queue them again on a transfer.
    conversations: HashMap<String, Conversation>,
    next_id: u64,
    now: i64,
}

impl Model {
    fn new(agents: Vec<AgentConfig>) -> Model {
        Model {
            config: RoutingConfig {
                agents,
                queues: HashMap::new(),
                platforms: INTEGRATIONS
                    .iter()
                    .map(|(i, p)| (i.to_string(), p.to_string()))
                    .collect(),
            },
            presence: HashMap::new(),
            held: BTreeMap::new(),
            offers: BTreeMap::new(),
            waiting: BTreeMap::new(),
            conversations: HashMap::new(),
            next_id: 0,
            now: 1_000_000,
        }
    }

    fn load(&self) -> HashMap<String, Load> {
        let mut load: HashMap<String, Load> = HashMap::new();
        for (conversation, agent) in self.held.iter().chain(self.offers.iter()) {
            let integration = &self.conversations[conversation].integration;
            load.entry(agent.clone())
                .or_default()
                .add(self.config.platform_of(integration));
        }
        load
    }

    fn agent(&self, id: &str) -> &AgentConfig {
        self.config.agents.iter().find(|a| a.id == id).unwrap()
    }

    fn eligible(
        &self,
        agent: &AgentConfig,
        c: &Conversation,
        load: &HashMap<String, Load>,
    ) -> bool {
        let held = load.get(&agent.id).cloned().unwrap_or_default();
        let platform = self.config.platform_of(&c.integration);
        self.presence.get(&agent.id).map(|p| p.0) == Some(Presence::Available)
            && c.queue.as_ref().is_some_and(|q| agent.queues.contains(q))
            && c.skills
                .iter()
                .all(|s| agent.skills.get(s).is_some_and(|p| *p > 0))
            && c.language
                .as_ref()
                .is_none_or(|l| agent.languages.contains(l))
            && held.total < agent.capacity
            && agent
                .channel_capacity
                .get(platform)
                .is_none_or(|cap| held.per_platform.get(platform).copied().unwrap_or(0) < *cap)
    }

    /// Ends the offer of `conversation` without acceptance: the agent refused it and becomes
    /// not-responding.
    fn refuse(&mut self, conversation: &str) {
        let agent = self.offers.remove(conversation).unwrap();
        self.waiting
            .get_mut(conversation)
            .unwrap()
            .refused_by
            .insert(agent.clone(), self.now);
        self.presence
            .insert(agent, (Presence::NotResponding, self.now));
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Presence { agent, presence } => {
                let id = self.config.agents[agent % self.config.agents.len()]
                    .id
                    .clone();
                self.presence.insert(id, (presence, self.now));
            }
            Op::Arrive {
                queue,
                integration,
                priority,
                skill,
                language,
            } => {
                self.next_id += 1;
                let id = format!("c{}", self.next_id);
                let mut c = conversation(
                    id.clone(),
                    QUEUES[queue],
                    INTEGRATIONS[integration].0,
                    self.now,
                );
                c.priority = priority;
                if skill {
                    c.skills = vec!["refunds".into()];
                }
                if language {
                    c.language = Some("fr".into());
                }
                self.conversations.insert(id.clone(), c.clone());
                self.waiting.insert(
                    id,
                    Waiting {
                        conversation: c,
                        refused_by: HashMap::new(),
                        transfer: None,
                    },
                );
            }
            Op::Route => self.route()?,
            Op::Accept { pick } => {
                if let Some(id) = nth_key(&self.offers, pick) {
                    let agent = self.offers.remove(&id).unwrap();
                    self.waiting.remove(&id);
                    let c = self.conversations.get_mut(&id).unwrap();
                    c.state = ConversationState::Assigned;
                    c.agent = Some(agent.clone());
                    self.held.insert(id, agent);
                }
            }
            Op::Decline { pick } | Op::RingOut { pick } => {
                if let Some(id) = nth_key(&self.offers, pick) {
                    self.refuse(&id);
                }
            }
            Op::End { pick } => {
                if let Some(id) = nth_key(&self.held, pick) {
                    self.held.remove(&id);
                    self.conversations.remove(&id);
                }
            }
            Op::Transfer {
                pick,
                to_agent,
                queue,
            } => {
                let Some(id) = nth_key(&self.held, pick) else {
                    return Ok(());
                };
                let from = self.held[&id].clone();
                let to_agent = to_agent
                    .map(|i| self.config.agents[i % self.config.agents.len()].id.clone())
                    .filter(|to| *to != from);
                // To an agent: one of their queues (the API refuses an agent with none).
                let to_queue = match &to_agent {
                    Some(to) => match self.agent(to).queues.first() {
                        Some(q) => q.clone(),
                        None => return Ok(()),
                    },
                    None => QUEUES[queue].to_string(),
                };
                self.held.remove(&id);
                let c = self.conversations.get_mut(&id).unwrap();
                c.state = ConversationState::Queued;
                c.last_agent = Some(from.clone());
                c.agent = None;
                c.queue = Some(to_queue.clone());
                c.queued_at = Some(self.now);
                let transfer = Transfer {
                    from_agent: from.clone(),
                    to_queue,
                    to_agent,
                    note: None,
                    at: self.now,
                };
                self.waiting.insert(
                    id,
                    Waiting {
                        conversation: c.clone(),
                        refused_by: [(from, self.now)].into(),
                        transfer: Some(transfer),
                    },
                );
            }
            Op::Tick { ms } => self.now += ms,
        }
        Ok(())
    }

    fn route(&mut self) -> Result<(), TestCaseError> {
        let load_before = self.load();
        let unoffered: Vec<Waiting> = self
            .waiting
            .values()
            .filter(|w| !self.offers.contains_key(&w.conversation.id))
            .cloned()
            .collect();
        let snapshot = Snapshot {
            presence: self.presence.clone(),
            load: load_before.clone(),
            waiting: unoffered.clone(),
        };
        let offers = choose(&self.config, snapshot, self.now);
        let mut load = load_before;
        for offer in &offers {
            let id = &offer.conversation.id;
            prop_assert!(!self.held.contains_key(id), "{id} offered while held");
            prop_assert!(!self.offers.contains_key(id), "{id} offered twice");
            let agent = self.agent(&offer.agent).clone();
            prop_assert!(
                self.eligible(&agent, &offer.conversation, &load),
                "{id} offered to {} who is not eligible (presence {:?}, load {:?})",
                agent.id,
                self.presence.get(&agent.id),
                load.get(&agent.id)
            );
            self.offers.insert(id.clone(), offer.agent.clone());
            load.entry(offer.agent.clone())
                .or_default()
                .add(self.config.platform_of(&offer.conversation.integration));
        }
        for (agent, l) in &load {
            let config = self.agent(agent);
            prop_assert!(l.total <= config.capacity, "{agent} over capacity: {l:?}");
            for (platform, cap) in &config.channel_capacity {
                prop_assert!(
                    l.per_platform.get(platform).copied().unwrap_or(0) <= *cap,
                    "{agent} over their {platform} capacity: {l:?}"
                );
            }
        }
        // Nobody eligible idle while a customer waits.
        for w in &unoffered {
            let c = &w.conversation;
            if self.offers.contains_key(&c.id) {
                continue;
            }
            let directed = w
                .transfer
                .as_ref()
                .and_then(|t| t.to_agent.as_ref())
                .filter(|to| !w.refused_by.contains_key(*to))
                .filter(|to| self.presence.get(*to).map(|p| p.0) == Some(Presence::Available));
            if directed.is_some() {
                continue;
            }
            let idle: Vec<&str> = self
                .config
                .agents
                .iter()
                .filter(|a| self.eligible(a, c, &load))
                .map(|a| a.id.as_str())
                .collect();
            prop_assert!(
                idle.is_empty(),
                "{} waits while {idle:?} could take it",
                c.id
            );
        }
        Ok(())
    }
}

fn nth_key<V>(map: &BTreeMap<String, V>, pick: usize) -> Option<String> {
    match map.len() {
        0 => None,
        n => map.keys().nth(pick % n).cloned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn routing_never_double_offers_overloads_or_strands(
        (agents, ops) in agents().prop_flat_map(|agents| {
            let n = agents.len();
            (Just(agents), proptest::collection::vec(op(n), 1..80))
        })
    ) {
        let mut model = Model::new(agents);
        for op in ops {
            model.apply(op)?;
        }
        model.apply(Op::Route)?;
    }
}
