//! The ACD's promise, checked over a recorded history (pure, no I/O): no interaction is held by
//! two agents at once.
//!
//! Two sources, both recorded by the campaign:
//!
//! - what the simulated agents saw: every accept the host answered 2xx, and every wrap-up they
//!   or transfer sent (answered or not: a host killed while answering may have applied it). An accept is
//!   placed at the moment its answer arrived, a release at the moment its request left (the host
//!   applied each in between), so the check never blames a race the host resolved in order;
//! - what the host recorded once the campaign was quiet: each interaction's wrap-ups (who,
//!   when) and transfers.
//!
//! An interaction is `double_assigned` when an agent's accept succeeded while another agent's
//! earlier successful accept had not been released (no wrap-up sent, no transfer recorded), or
//! when the host recorded an agent's wrap-up while another agent held it that way. A conversation
//! that reopens after a wrap-up and goes to another agent is a handover, not a double.

use std::collections::BTreeMap;

use serde::Serialize;

/// What the ACD side of the campaign saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AcdHistory {
    /// Every 2xx accept of the simulated agents, and every wrap-up and transfer they sent.
    pub events: Vec<AgentEvent>,
    /// The host's record of every interaction of the customers who asked for an agent.
    pub records: Vec<AssignmentRecord>,
    /// Accept requests sent (offers taken and claims of waiting interactions, retries included).
    pub accept_attempts: u64,
    /// Accepts the host refused with 409 (someone else was faster, or it had ended).
    pub accept_conflicts: u64,
    /// Wrap-ups and transfers the host answered 2xx.
    pub wrapups_ok: u64,
    pub transfers_ok: u64,
    /// Agent requests that got no answer (the host was down).
    pub unanswered: u64,
    /// Messages of the customers who asked for an agent that the host acknowledged.
    pub caller_messages: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEvent {
    pub interaction: String,
    pub agent: String,
    pub kind: EventKind,
    /// Unix ms: when the 2xx arrived (accept) or when the request left (release).
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The host answered the agent's accept 2xx.
    Accepted,
    /// The agent sent a wrap-up or a transfer (answered or not: it may have been applied), so
    /// it may no longer hold the interaction.
    Released,
}

/// The host's record of one interaction (`GET /api/v1/interactions/{id}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssignmentRecord {
    pub interaction: String,
    pub state: String,
    /// `agent`, or else `last_agent`.
    pub agent: Option<String>,
    /// Its wrap-ups: who, and when the host recorded it (Unix ms).
    pub wrapups: Vec<(String, u64)>,
    /// Its transfers: from which agent, and when (Unix ms).
    pub transfers: Vec<(String, u64)>,
}

/// What the check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Assignments {
    /// Interactions that reached an agent (an accept succeeded or the host recorded one).
    pub interactions: u64,
    /// Successful accepts, and the wrap-ups the host recorded.
    pub accepts_ok: u64,
    pub wrapups: u64,
    /// Accepts that took an interaction another agent had held before (a handover).
    pub handovers: u64,
    pub double_assigned: u64,
    pub problems: Vec<String>,
}

/// One step of an interaction's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'a> {
    /// An agent's accept answered 2xx.
    Accepted(&'a str),
    /// An agent sent a wrap-up, or the host recorded a transfer away from it.
    Released(&'a str),
    /// The host recorded this agent's wrap-up: the agent held it just before.
    WrappedUp(&'a str),
}

/// Checks `acd`: per interaction, the agents' accepts and releases and the host's wrap-ups and
/// transfers on one timeline (the host and the campaign share the machine's clock).
pub fn check(acd: &AcdHistory) -> Assignments {
    let mut found = Assignments::default();
    let mut timelines: BTreeMap<&str, Vec<(u64, Step<'_>)>> = BTreeMap::new();
    for event in &acd.events {
        let step = match event.kind {
            EventKind::Accepted => Step::Accepted(&event.agent),
            EventKind::Released => Step::Released(&event.agent),
        };
        timelines
            .entry(&event.interaction)
            .or_default()
            .push((event.at_ms, step));
    }
    for record in &acd.records {
        let timeline = timelines.entry(&record.interaction).or_default();
        for (agent, at) in &record.wrapups {
            timeline.push((*at, Step::WrappedUp(agent)));
        }
        for (agent, at) in &record.transfers {
            timeline.push((*at, Step::Released(agent)));
        }
    }

    for (interaction, timeline) in &mut timelines {
        // At one time, releases go first: they were applied no later than that.
        timeline.sort_by_key(|(at, step)| (*at, matches!(step, Step::Accepted(_))));
        let mut holders: Vec<&str> = Vec::new();
        let mut previous: Option<&str> = None;
        let mut double = None;
        for (at, step) in timeline.iter() {
            match *step {
                Step::Accepted(agent) => {
                    found.accepts_ok += 1;
                    if let Some(other) = holders.iter().find(|h| **h != agent) {
                        double.get_or_insert(format!(
                            "interaction {interaction}: {agent} accepted it (2xx at {at}) while {other} held it (accepted, nothing sent to release it)"
                        ));
                    }
                    if previous.is_some_and(|p| p != agent) && !holders.contains(&agent) {
                        found.handovers += 1;
                    }
                    if !holders.contains(&agent) {
                        holders.push(agent);
                    }
                    previous = Some(agent);
                }
                Step::Released(agent) => holders.retain(|h| *h != agent),
                Step::WrappedUp(agent) => {
                    found.wrapups += 1;
                    if let Some(other) = holders.iter().find(|h| **h != agent) {
                        double.get_or_insert(format!(
                            "interaction {interaction}: the host recorded {agent}'s wrap-up at {at} while {other} held it (accepted, nothing sent to release it)"
                        ));
                    }
                    holders.retain(|h| *h != agent);
                }
            }
        }
        found.interactions += 1;
        if let Some(problem) = double {
            found.double_assigned += 1;
            found.problems.push(problem);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    use EventKind::{Accepted, Released};

    fn event(interaction: &str, agent: &str, kind: EventKind, at_ms: u64) -> AgentEvent {
        AgentEvent {
            interaction: interaction.into(),
            agent: agent.into(),
            kind,
            at_ms,
        }
    }

    fn record(
        interaction: &str,
        wrapups: &[(&str, u64)],
        transfers: &[(&str, u64)],
    ) -> AssignmentRecord {
        let own = |all: &[(&str, u64)]| all.iter().map(|(a, at)| (a.to_string(), *at)).collect();
        AssignmentRecord {
            interaction: interaction.into(),
            state: "ended".into(),
            agent: None,
            wrapups: own(wrapups),
            transfers: own(transfers),
        }
    }

    #[test]
    fn two_accepts_without_a_release_between_are_a_double_assignment() {
        let acd = AcdHistory {
            events: vec![
                event("i1", "ann", Accepted, 100),
                event("i1", "bob", Accepted, 150),
                event("i1", "ann", Released, 390),
            ],
            records: vec![record("i1", &[("ann", 400)], &[])],
            ..AcdHistory::default()
        };
        let found = check(&acd);
        assert_eq!(found.double_assigned, 1, "{found:?}");
        assert!(found.problems[0].contains("bob accepted it"), "{found:?}");
    }

    #[test]
    fn a_transfer_or_a_wrap_up_between_two_accepts_is_a_handover() {
        let acd = AcdHistory {
            events: vec![
                // Ann transfers i1 (the host records it); Bob takes it from the queue.
                event("i1", "ann", Accepted, 100),
                event("i1", "bob", Accepted, 300),
                event("i1", "bob", Released, 390),
                // Cid wraps i2 up; it reopens and Ann takes it.
                event("i2", "cid", Accepted, 100),
                event("i2", "cid", Released, 190),
                event("i2", "ann", Accepted, 300),
                // The same agent's accept answered twice (a retry after a restart).
                event("i3", "cid", Accepted, 100),
                event("i3", "cid", Accepted, 120),
            ],
            records: vec![
                record("i1", &[("bob", 400)], &[("ann", 200)]),
                record("i2", &[("cid", 200)], &[]),
                record("i3", &[], &[]),
            ],
            ..AcdHistory::default()
        };
        let found = check(&acd);
        assert_eq!(found.double_assigned, 0, "{found:?}");
        assert_eq!((found.interactions, found.accepts_ok), (3, 6));
        assert_eq!((found.wrapups, found.handovers), (2, 2));
        // Without the transfer, Bob's accept came while Ann held i1.
        let mut untransferred = acd.clone();
        untransferred.records[0].transfers.clear();
        assert_eq!(check(&untransferred).double_assigned, 1);
    }

    #[test]
    fn the_host_recording_a_wrap_up_while_another_agent_held_it_is_a_double_assignment() {
        // Bob's accept came back at 150 and he sent nothing to release it, yet the host
        // recorded Ann's wrap-up at 300: both held it.
        let acd = AcdHistory {
            events: vec![event("i1", "bob", Accepted, 150)],
            records: vec![record("i1", &[("ann", 300)], &[])],
            ..AcdHistory::default()
        };
        let found = check(&acd);
        assert_eq!(found.double_assigned, 1, "{found:?}");
        assert!(found.problems[0].contains("ann's wrap-up"), "{found:?}");
    }
}
