//! Routing: which agent is offered which waiting interaction, one agent at a time.
//!
//! The candidates are the queue's members who are available, have every skill the transfer
//! asked for and its language, and have room (total capacity and per-channel capacity, counting
//! open offers). Among them, those who have not refused the interaction since it was queued
//! come first (refusing is declining an offer, letting it ring out, or transferring the
//! interaction away); when every candidate has refused it, it goes back round, to the one who
//! refused it longest ago. So an interaction is never stranded while an eligible agent has room:
//! an agent who refused is only skipped while they are not available (declining or letting an
//! offer ring out makes them not-responding until they set themselves available again, as in
//! Genesys Cloud). Then: the transfer's preferred agents first, then the last agent who handled
//! the customer (last-agent routing), then the longest idle. Interactions are taken in order of
//! priority and waiting time, a priority point being worth a minute of waiting.
//!
//! An interaction an agent transferred to another agent is offered to that agent only, while
//! they are available and have not refused it; then it is open to its queue like any other.
//!
//! [`Assigner`] decides one waiting interaction at a time, in the order the store reads them
//! through an index (so a pass costs what it offers, not what waits); [`choose`] does the same
//! over a whole [`Snapshot`]. The store decides in the same transaction in which it records the
//! offers, so an interaction is never offered to two agents at once.

use std::collections::HashMap;

use crate::config::{AgentConfig, QueueConfig};
use crate::model::{Conversation, Presence, Transfer};

/// A priority point is worth this much waiting.
pub const PRIORITY_POINT_MS: i64 = 60_000;

/// What routing needs from the configuration.
#[derive(Debug, Clone, Default)]
pub struct RoutingConfig {
    pub agents: Vec<AgentConfig>,
    pub queues: HashMap<String, QueueConfig>,
    /// Integration id → platform (`x`, `whatsapp`, ...), for per-channel capacity.
    pub platforms: HashMap<String, String>,
}

impl RoutingConfig {
    /// The platform of an integration (empty when unknown).
    pub fn platform_of(&self, integration: &str) -> &str {
        self.platforms.get(integration).map_or("", String::as_str)
    }

    /// How long an offer from `queue` waits for the agent, in ms (30 s for an unknown queue).
    pub fn alerting_ms(&self, queue: &str) -> i64 {
        let seconds = self
            .queues
            .get(queue)
            .map_or(30.0, |q| q.alerting_timeout_seconds);
        (seconds * 1000.0) as i64
    }
}

/// What an agent holds or is being offered, in total and per platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Load {
    pub total: u32,
    pub per_platform: HashMap<String, u32>,
}

impl Load {
    pub fn add(&mut self, platform: &str) {
        self.total += 1;
        *self.per_platform.entry(platform.to_string()).or_default() += 1;
    }
}

/// An interaction waiting for an agent, with who refused it since it was queued.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub conversation: Conversation,
    /// Agent → when they last refused it since it was queued (declined an offer, let one ring
    /// out, or transferred it away).
    pub refused_by: HashMap<String, i64>,
    /// The transfer that queued it, when an agent transferred it.
    pub transfer: Option<Transfer>,
}

/// What routing decides over.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Agent id → stored presence and idle-since (agents never seen are offline).
    pub presence: HashMap<String, (Presence, i64)>,
    /// Agent id → what they hold and are being offered now.
    pub load: HashMap<String, Load>,
    /// Waiting interactions with no open offer, in any order.
    pub waiting: Vec<Waiting>,
}

/// An offer to make.
#[derive(Debug, Clone)]
pub struct Offer {
    pub agent: String,
    pub conversation: Conversation,
    pub expires_at: i64,
    /// The transfer that queued it, shown to the agent with its note.
    pub transfer: Option<Transfer>,
}

/// The order waiting interactions are taken in: smaller first. A priority point is worth
/// [`PRIORITY_POINT_MS`] of waiting, so this is the time the interaction "counts as" queued since.
pub fn route_key(conversation: &Conversation, now: i64) -> i64 {
    conversation.queued_at.unwrap_or(now) - conversation.priority * PRIORITY_POINT_MS
}

/// Makes offers one waiting interaction at a time, in the order the caller feeds them (by
/// [`route_key`]), keeping count of the load each offer adds. The store pages waiting
/// interactions through an index into this, and stops as soon as no agent has room.
pub struct Assigner<'a> {
    config: &'a RoutingConfig,
    presence: HashMap<String, (Presence, i64)>,
    load: HashMap<String, Load>,
}

impl<'a> Assigner<'a> {
    pub fn new(
        config: &'a RoutingConfig,
        presence: HashMap<String, (Presence, i64)>,
        load: HashMap<String, Load>,
    ) -> Assigner<'a> {
        Assigner {
            config,
            presence,
            load,
        }
    }

    fn available(&self, agent: &AgentConfig) -> bool {
        self.presence
            .get(&agent.id)
            .is_some_and(|(state, _)| *state == Presence::Available)
    }

    fn total(&self, agent: &AgentConfig) -> u32 {
        self.load.get(&agent.id).map_or(0, |l| l.total)
    }

    /// The queues in which an available agent has room: only these can get an offer now.
    pub fn queues_with_room(&self) -> Vec<String> {
        let mut queues: Vec<String> = self
            .config
            .agents
            .iter()
            .filter(|a| self.available(a) && self.total(a) < a.capacity)
            .flat_map(|a| a.queues.iter().cloned())
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }

    /// Offers `waiting` to the best eligible agent, if any has room; the offer counts into that
    /// agent's load from now on.
    pub fn offer(&mut self, waiting: Waiting, now: i64) -> Option<Offer> {
        let Waiting {
            conversation,
            refused_by,
            transfer,
        } = waiting;
        let queue = conversation.queue.as_deref()?;
        let platform = self.config.platform_of(&conversation.integration);
        let eligible = |agent: &AgentConfig| {
            let held = self.load.get(&agent.id).cloned().unwrap_or_default();
            self.available(agent)
                && agent.queues.iter().any(|q| q == queue)
                && conversation
                    .skills
                    .iter()
                    .all(|s| agent.skills.get(s).is_some_and(|p| *p > 0))
                && conversation
                    .language
                    .as_ref()
                    .is_none_or(|l| agent.languages.iter().any(|a| a.eq_ignore_ascii_case(l)))
                && held.total < agent.capacity
                && agent
                    .channel_capacity
                    .get(platform)
                    .is_none_or(|cap| held.per_platform.get(platform).copied().unwrap_or(0) < *cap)
        };
        // Transferred to an agent: only that agent, while they are available and have not
        // refused it.
        let directed = transfer
            .as_ref()
            .and_then(|t| t.to_agent.as_deref())
            .filter(|target| !refused_by.contains_key(*target))
            .and_then(|target| self.config.agents.iter().find(|a| a.id == target))
            .filter(|target| self.available(target));
        let candidates: Vec<&AgentConfig> = match directed {
            Some(target) => [target].into_iter().filter(|a| eligible(a)).collect(),
            None => self.config.agents.iter().filter(|a| eligible(a)).collect(),
        };
        // Who has not refused it first; when all have, back round from the earliest refusal.
        let refused_at = |a: &AgentConfig| refused_by.get(&a.id).copied();
        let round = candidates.iter().map(|a| refused_at(a)).min()?;
        let candidates: Vec<&AgentConfig> = candidates
            .into_iter()
            .filter(|a| refused_at(a) == round)
            .collect();
        let by_id = |id: &str| candidates.iter().find(|a| a.id == id).copied();
        let chosen = conversation
            .preferred_agents
            .iter()
            .find_map(|id| by_id(id))
            .or_else(|| conversation.last_agent.as_deref().and_then(by_id))
            .or_else(|| {
                candidates.iter().copied().min_by_key(|a| {
                    (
                        self.presence.get(&a.id).map_or(i64::MAX, |(_, idle)| *idle),
                        a.id.clone(),
                    )
                })
            })?;
        let agent = chosen.id.clone();
        let expires_at = now + self.config.alerting_ms(queue);
        self.load.entry(agent.clone()).or_default().add(platform);
        Some(Offer {
            agent,
            conversation,
            expires_at,
            transfer,
        })
    }
}

/// The offers to make now for every interaction of `snapshot`, in the order of who waited
/// longest (weighted by priority).
pub fn choose(config: &RoutingConfig, snapshot: Snapshot, now: i64) -> Vec<Offer> {
    let Snapshot {
        presence,
        load,
        mut waiting,
    } = snapshot;
    waiting.sort_by_key(|w| route_key(&w.conversation, now));
    let mut assigner = Assigner::new(config, presence, load);
    waiting
        .into_iter()
        .filter_map(|w| assigner.offer(w, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConversationState;

    const MIN: i64 = 60_000;

    fn agent(id: &str, queues: &[&str], capacity: u32) -> AgentConfig {
        AgentConfig {
            id: id.into(),
            name: None,
            token: None,
            token_hash: None,
            queues: queues.iter().map(|q| q.to_string()).collect(),
            capacity,
            channel_capacity: Default::default(),
            skills: Default::default(),
            languages: Vec::new(),
        }
    }

    fn waiting(id: &str, queue: &str, priority: i64, queued_at: i64) -> Waiting {
        Waiting {
            conversation: Conversation {
                id: id.into(),
                integration: "x-demo".into(),
                customer_id: format!("customer-{id}"),
                customer: Default::default(),
                state: ConversationState::Queued,
                flow: None,
                flow_version: None,
                flow_state: None,
                queue: Some(queue.into()),
                priority,
                skills: vec![],
                agent: None,
                last_agent: None,
                participant_data: Default::default(),
                queued_at: Some(queued_at),
                created_at: 0,
                updated_at: 0,
                last_customer_at: 0,
                last_customer_written_at: 0,
                flow_timeout_at: None,
                language: None,
                preferred_agents: vec![],
                inactivity_warned_at: None,
                assigned_at: None,
                version: 0,
            },
            refused_by: HashMap::new(),
            transfer: None,
        }
    }

    fn config(agents: Vec<AgentConfig>) -> RoutingConfig {
        RoutingConfig {
            agents,
            queues: HashMap::new(),
            platforms: [
                ("x-demo".to_string(), "x".to_string()),
                ("wa".to_string(), "whatsapp".to_string()),
            ]
            .into(),
        }
    }

    fn available(ids: &[(&str, i64)]) -> HashMap<String, (Presence, i64)> {
        ids.iter()
            .map(|(id, idle)| (id.to_string(), (Presence::Available, *idle)))
            .collect()
    }

    fn offered(offers: &[Offer]) -> Vec<(String, String)> {
        offers
            .iter()
            .map(|o| (o.conversation.id.clone(), o.agent.clone()))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(c, a)| (c.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn the_longest_waiting_goes_to_the_longest_idle_and_capacity_holds() {
        let config = config(vec![
            agent("alice", &["support"], 1),
            agent("bob", &["support"], 1),
        ]);
        let snapshot = Snapshot {
            presence: available(&[("alice", 500), ("bob", 100)]),
            load: HashMap::new(),
            waiting: vec![
                waiting("new", "support", 0, 10 * MIN),
                waiting("old", "support", 0, 0),
                waiting("third", "support", 0, 5 * MIN),
            ],
        };
        let offers = choose(&config, snapshot, 20 * MIN);
        // bob has been idle longer; each agent gets one (capacity 1); the newest waits.
        assert_eq!(
            offered(&offers),
            pairs(&[("old", "bob"), ("third", "alice")])
        );
        assert_eq!(offers[0].expires_at, 20 * MIN + 30_000);
    }

    #[test]
    fn a_priority_point_is_worth_a_minute() {
        let config = config(vec![agent("alice", &["support"], 1)]);
        let snapshot = Snapshot {
            presence: available(&[("alice", 0)]),
            load: HashMap::new(),
            // Waited 3 minutes with priority 0, against 1 minute with priority 5.
            waiting: vec![
                waiting("patient", "support", 0, 7 * MIN),
                waiting("vip", "support", 5, 9 * MIN),
            ],
        };
        assert_eq!(
            offered(&choose(&config, snapshot, 10 * MIN)),
            pairs(&[("vip", "alice")])
        );
    }

    #[test]
    fn presence_membership_skills_and_language_decide_eligibility() {
        let mut skilled = agent("sam", &["support"], 5);
        skilled.skills.insert("spanish-billing".into(), 3);
        skilled.languages.push("ES".into());
        let config = config(vec![
            agent("away", &["support"], 5),
            agent("other-queue", &["billing"], 5),
            agent("plain", &["support"], 5),
            skilled,
        ]);
        let mut presence = available(&[("other-queue", 0), ("plain", 0), ("sam", 9)]);
        presence.insert("away".into(), (Presence::Away, 0));
        let mut needs_skill = waiting("skill", "support", 0, 0);
        needs_skill.conversation.skills = vec!["spanish-billing".into()];
        needs_skill.conversation.language = Some("es".into());
        let snapshot = Snapshot {
            presence,
            load: HashMap::new(),
            waiting: vec![waiting("open", "support", 0, 0), needs_skill],
        };
        // `open` goes to the longest idle member (away is away, billing is another queue);
        // `skill` only to sam.
        assert_eq!(
            offered(&choose(&config, snapshot, MIN)),
            pairs(&[("open", "plain"), ("skill", "sam")])
        );
    }

    #[test]
    fn who_has_not_refused_comes_first_then_it_goes_back_round() {
        let config = config(vec![
            agent("alice", &["support"], 5),
            agent("bob", &["support"], 5),
            agent("carol", &["support"], 5),
        ]);
        let refused = |by: &[(&str, i64)]| {
            let mut w = waiting("x", "support", 0, 0);
            w.refused_by = by.iter().map(|(a, at)| (a.to_string(), *at)).collect();
            w.conversation.last_agent = Some("alice".into());
            w
        };
        let offer_to = |presence: &[(&str, i64)], w: Waiting| {
            let snapshot = Snapshot {
                presence: available(presence),
                load: HashMap::new(),
                waiting: vec![w],
            };
            offered(&choose(&config, snapshot, MIN))
        };
        let everyone = [("alice", 0), ("bob", 0), ("carol", 50)];
        // Carol has not refused it: she gets it, before the last agent and the longest idle.
        assert_eq!(
            offer_to(&everyone, refused(&[("alice", 5), ("bob", 3)])),
            pairs(&[("x", "carol")])
        );
        // Everyone available refused it: back round, from the earliest refusal.
        assert_eq!(
            offer_to(&everyone[..2], refused(&[("alice", 5), ("bob", 3)])),
            pairs(&[("x", "bob")])
        );
        // One agent, who refused it and is available again: offered again.
        assert_eq!(
            offer_to(&[("alice", 0)], refused(&[("alice", 5)])),
            pairs(&[("x", "alice")])
        );
        // Nobody available: it waits.
        assert!(offer_to(&[], refused(&[("alice", 5)])).is_empty());
    }

    #[test]
    fn a_transfer_to_an_agent_waits_for_that_agent_while_they_are_available() {
        let config = config(vec![
            agent("alice", &["support"], 5),
            agent("bob", &["support"], 1),
            agent("carol", &["support"], 5),
        ]);
        let transferred = |refused_by_bob: bool| {
            let mut w = waiting("x", "support", 0, 0);
            w.transfer = Some(Transfer {
                from_agent: "alice".into(),
                to_queue: "support".into(),
                to_agent: Some("bob".into()),
                note: Some("needs a refund".into()),
                at: 0,
            });
            w.refused_by.insert("alice".into(), 0);
            if refused_by_bob {
                w.refused_by.insert("bob".into(), 10);
            }
            w
        };
        let route = |presence: HashMap<String, (Presence, i64)>, bob_busy: bool, w: Waiting| {
            let mut load = HashMap::new();
            if bob_busy {
                let mut held = Load::default();
                held.add("x");
                load.insert("bob".to_string(), held);
            }
            let snapshot = Snapshot {
                presence,
                load,
                waiting: vec![w],
            };
            choose(&config, snapshot, MIN)
        };
        let all = available(&[("alice", 0), ("bob", 90), ("carol", 10)]);
        // To bob, though carol has been idle longer; the note goes with the offer.
        let offers = route(all.clone(), false, transferred(false));
        assert_eq!(offered(&offers), pairs(&[("x", "bob")]));
        assert_eq!(
            offers[0].transfer.as_ref().unwrap().note.as_deref(),
            Some("needs a refund")
        );
        // Bob is available but full: it waits for him.
        assert!(route(all.clone(), true, transferred(false)).is_empty());
        // Bob refused it, or is away: open to the queue, the transferring agent last.
        assert_eq!(
            offered(&route(all.clone(), false, transferred(true))),
            pairs(&[("x", "carol")])
        );
        let mut bob_away = all.clone();
        bob_away.insert("bob".into(), (Presence::Away, 0));
        assert_eq!(
            offered(&route(bob_away, false, transferred(false))),
            pairs(&[("x", "carol")])
        );
    }

    #[test]
    fn preferred_agents_come_first_then_the_last_agent() {
        let config = config(vec![
            agent("alice", &["support"], 5),
            agent("bob", &["support"], 5),
            agent("carol", &["support"], 5),
        ]);
        let mut preferred = waiting("preferred", "support", 0, 0);
        preferred.conversation.preferred_agents = vec!["nobody".into(), "carol".into()];
        preferred.conversation.last_agent = Some("bob".into());
        let mut returning = waiting("returning", "support", 0, 1);
        returning.conversation.last_agent = Some("bob".into());
        let snapshot = Snapshot {
            presence: available(&[("alice", 0), ("bob", 50), ("carol", 100)]),
            load: HashMap::new(),
            waiting: vec![preferred, returning],
        };
        assert_eq!(
            offered(&choose(&config, snapshot, MIN)),
            pairs(&[("preferred", "carol"), ("returning", "bob")])
        );
    }

    #[test]
    fn per_channel_capacity_counts_what_an_agent_holds_and_is_offered() {
        let mut alice = agent("alice", &["support"], 3);
        alice.channel_capacity.insert("x".into(), 1);
        let config = config(vec![alice]);
        let mut wa = waiting("wa-1", "support", 0, 2);
        wa.conversation.integration = "wa".into();
        let mut load = HashMap::new();
        let mut held = Load::default();
        held.add("whatsapp");
        load.insert("alice".to_string(), held);
        let snapshot = Snapshot {
            presence: available(&[("alice", 0)]),
            load,
            waiting: vec![
                waiting("x-1", "support", 0, 0),
                waiting("x-2", "support", 0, 1),
                wa,
            ],
        };
        // One X at a time; WhatsApp still fits (3 in all: 1 held + x-1 + wa-1).
        assert_eq!(
            offered(&choose(&config, snapshot, MIN)),
            pairs(&[("x-1", "alice"), ("wa-1", "alice")])
        );
    }

    #[test]
    fn only_queues_with_an_available_agent_with_room_are_read() {
        let mut full = agent("full", &["billing"], 1);
        full.queues.push("vip".into());
        let config = config(vec![
            agent("alice", &["support"], 2),
            full,
            agent("away", &["sales"], 5),
        ]);
        let mut presence = available(&[("alice", 0), ("full", 0)]);
        presence.insert("away".into(), (Presence::Away, 0));
        let mut load = HashMap::new();
        let mut held = Load::default();
        held.add("x");
        load.insert("full".to_string(), held);
        let assigner = Assigner::new(&config, presence, load);
        assert_eq!(assigner.queues_with_room(), ["support"]);
    }

    #[test]
    fn the_route_key_weighs_priority_as_minutes() {
        let mut a = waiting("a", "support", 2, 10 * MIN).conversation;
        assert_eq!(route_key(&a, 20 * MIN), 8 * MIN);
        a.queued_at = None;
        assert_eq!(route_key(&a, 20 * MIN), 18 * MIN);
    }
}
