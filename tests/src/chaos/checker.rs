//! The checker: pure rules over a recorded [`History`], no I/O, so each rule is unit-tested on
//! small hand-written histories.
//!
//! Every customer message `cN mK` is answered by the chaos flow with one reply `echo: cN mK`.
//! From what the platform delivered, what the host recorded and when the host was killed:
//!
//! - `lost`: acknowledged, no reply delivered and none recorded failed;
//! - `duplicated`: a reply delivered again with no kill to explain it, or a message processed
//!   twice (two replies recorded for it);
//! - `resent_after_kill`: a reply delivered again after a kill that struck between the
//!   platform's taking the earlier copy and the host's recording it (the host never stored the
//!   earlier copy's platform id; see [`KILL_SKEW_MS`]): X has no idempotency key, so this window cannot be closed, only
//!   kept small. Each kill's sends in flight are the larger of the calls the platform held
//!   unanswered at the kill and the answers the host never recorded;
//! - `out_of_order`: a customer's first copies of replies arriving out of message order;
//! - `failed_typed` / `failed_untyped`: replies the host recorded failed, with or without one of
//!   the host's failure codes (`transient: ...`, `rate_limited: ...`);
//! - `double_assigned`: an interaction held by two agents at once ([`assign`]).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::assign::{self, AcdHistory, Assignments};
use super::schedule::KillMoment;

/// The host's failure codes: a reply recorded failed starts with one and a colon.
const FAILURE_CODES: &[&str] = &[
    "rate_limited",
    "window_closed",
    "recipient_unreachable",
    "auth",
    "transient",
    "permanent",
    "daily_cap_reached",
];

/// How much earlier than the platform saw a call the host may have made it: the simulator
/// stamps a call once it has read it, and on a loaded machine a call a host wrote just before
/// it was killed can be read a little after. A resend counts as caused by a kill that fell at
/// most this long before the platform took the earlier copy (which the host never recorded: a
/// host that lives on records its answers, and no fault the nemesis injects delivers a call the
/// host gave up on).
pub const KILL_SKEW_MS: u64 = 1_000;

/// At most this many problems are listed (each counter still counts them all).
const MAX_PROBLEMS: usize = 40;

/// Everything the campaign saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub customers: Vec<CustomerHistory>,
    pub kills: Vec<Kill>,
    /// The agents' accepts and wrap-ups, and the host's records of who held what.
    pub acd: AcdHistory,
}

/// One customer: what they sent, what the host acknowledged, what reached them, what the host
/// recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerHistory {
    /// `c17`: the prefix of their messages.
    pub label: String,
    /// Their X user id.
    pub id: String,
    /// Messages `1..=sent` were posted (each until acknowledged or given up).
    pub sent: u64,
    /// The numbers the host answered 2xx.
    pub acknowledged: Vec<u64>,
    /// What the platform delivered to them, in arrival order.
    pub delivered: Vec<Delivery>,
    /// The host's outbound records of their conversations (its transcripts).
    pub recorded: Vec<Recorded>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    pub text: String,
    /// The id the platform answered with.
    pub platform_id: String,
    /// When the platform received the call (Unix ms).
    pub at_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Recorded {
    pub text: String,
    /// `pending`, `sent`, `failed`, ...
    pub status: String,
    pub error: Option<String>,
    pub platform_id: Option<String>,
}

/// One SIGKILL of the host.
#[derive(Debug, Clone, Serialize)]
pub struct Kill {
    pub at_ms: u64,
    pub moment: KillMoment,
    /// Send calls the platform held unanswered at the kill.
    pub open_sends: usize,
}

/// What the checker found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub kills: usize,
    pub sent: u64,
    pub acknowledged: u64,
    pub replied: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub resent_after_kill: u64,
    pub out_of_order: u64,
    pub double_assigned: u64,
    /// What [`assign::check`] found (its problems are listed with the others).
    pub assignments: Assignments,
    pub failed_typed: u64,
    pub failed_untyped: u64,
    /// Delivered texts that are no reply of the chaos flow.
    pub unexpected: u64,
    /// Replies the host still had pending when the checker looked.
    pub still_pending: u64,
    /// Per kill: answers the platform gave that the host never recorded (charged to the first
    /// kill after them).
    pub unrecorded_at_kills: Vec<u64>,
    /// Per kill: sends in flight, the larger of the calls the platform held unanswered at the
    /// kill and the answers the host never recorded.
    pub in_flight_at_kills: Vec<u64>,
    pub in_flight_total: u64,
    pub problems: Vec<String>,
}

impl Verdict {
    /// Whether the promises held.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.double_assigned == 0
            && self.failed_untyped == 0
            && self.unexpected == 0
            && self.resent_after_kill <= self.in_flight_total
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// The reply the chaos flow gives to message `label mK`: `echo: label mK`.
pub fn reply_text(label: &str, number: u64) -> String {
    format!("echo: {label} m{number}")
}

/// The message number of a reply to `label`'s message, if it is one.
fn reply_number(label: &str, text: &str) -> Option<u64> {
    text.strip_prefix("echo: ")?
        .strip_prefix(label)?
        .strip_prefix(" m")?
        .parse()
        .ok()
}

/// Checks `history`.
pub fn check(history: &History) -> Verdict {
    let mut kills: Vec<&Kill> = history.kills.iter().collect();
    kills.sort_by_key(|k| k.at_ms);
    let mut verdict = Verdict {
        kills: kills.len(),
        ..Verdict::default()
    };
    // Answers the host never recorded, charged to the first kill after them.
    let mut unrecorded_at_kill = vec![0u64; kills.len()];
    let first_kill_after = |at_ms: u64| kills.iter().position(|k| k.at_ms + KILL_SKEW_MS >= at_ms);

    for customer in &history.customers {
        let label = &customer.label;
        verdict.sent += customer.sent;
        verdict.acknowledged += customer.acknowledged.len() as u64;
        let recorded_ids: HashSet<&str> = customer
            .recorded
            .iter()
            .filter_map(|r| r.platform_id.as_deref())
            .collect();

        // Deliveries per message number, in arrival order; first copies in arrival order.
        let mut by_number: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
        let mut highest = 0;
        for delivery in &customer.delivered {
            let Some(number) = reply_number(label, &delivery.text) else {
                verdict.unexpected += 1;
                let text = format!("{label}: unexpected delivery {:?}", delivery.text);
                verdict.problem(text);
                continue;
            };
            let copies = by_number.entry(number).or_default();
            if copies.is_empty() {
                if number < highest {
                    verdict.out_of_order += 1;
                    let text = format!("{label}: reply to m{number} arrived after m{highest}");
                    verdict.problem(text);
                }
                highest = highest.max(number);
            }
            copies.push(delivery);
            if !recorded_ids.contains(delivery.platform_id.as_str())
                && let Some(k) = first_kill_after(delivery.at_ms)
            {
                unrecorded_at_kill[k] += 1;
            }
        }
        for (number, copies) in &by_number {
            for pair in copies.windows(2) {
                let (earlier, again) = (pair[0], pair[1]);
                let killed_between = kills.iter().any(|k| {
                    (earlier.at_ms.saturating_sub(KILL_SKEW_MS)..=again.at_ms).contains(&k.at_ms)
                });
                if killed_between && !recorded_ids.contains(earlier.platform_id.as_str()) {
                    verdict.resent_after_kill += 1;
                } else {
                    verdict.duplicated += 1;
                    let why = if killed_between {
                        "the earlier copy was recorded"
                    } else {
                        "no kill between"
                    };
                    let text = format!(
                        "{label}: reply to m{number} delivered again {} ms later ({why})",
                        again.at_ms.saturating_sub(earlier.at_ms)
                    );
                    verdict.problem(text);
                }
            }
        }

        // The host's records per message number.
        let mut records: BTreeMap<u64, Vec<&Recorded>> = BTreeMap::new();
        for record in &customer.recorded {
            if let Some(number) = reply_number(label, &record.text) {
                records.entry(number).or_default().push(record);
            }
        }
        for (number, recorded) in &records {
            if recorded.len() > 1 {
                verdict.duplicated += recorded.len() as u64 - 1;
                let text = format!(
                    "{label}: m{number} was processed {} times (replies recorded)",
                    recorded.len()
                );
                verdict.problem(text);
            }
            for record in recorded {
                match record.status.as_str() {
                    "failed" => {
                        let typed = record.error.as_deref().is_some_and(|e| {
                            FAILURE_CODES
                                .iter()
                                .any(|code| e.starts_with(&format!("{code}:")))
                        });
                        if typed {
                            verdict.failed_typed += 1;
                        } else {
                            verdict.failed_untyped += 1;
                            let text = format!(
                                "{label}: reply to m{number} failed without a reason code: {:?}",
                                record.error
                            );
                            verdict.problem(text);
                        }
                    }
                    "pending" | "sending" => verdict.still_pending += 1,
                    _ => {}
                }
            }
        }

        for number in &customer.acknowledged {
            if by_number.contains_key(number) {
                verdict.replied += 1;
                continue;
            }
            let failed = records
                .get(number)
                .is_some_and(|r| r.iter().any(|r| r.status == "failed"));
            if !failed {
                verdict.lost += 1;
                let state = match records.get(number) {
                    Some(r) => format!("recorded {}", r[0].status),
                    None => "no reply recorded".to_owned(),
                };
                verdict.problem(format!(
                    "{label}: m{number} was acknowledged, its reply never delivered ({state})"
                ));
            }
        }
    }

    verdict.assignments = assign::check(&history.acd);
    verdict.double_assigned = verdict.assignments.double_assigned;
    for problem in verdict.assignments.problems.clone() {
        verdict.problem(problem);
    }

    // Both figures are lower bounds of the sends in flight and may count the same call (a slow
    // answer held at the kill and delivered after it), so the larger one is taken.
    verdict.unrecorded_at_kills = unrecorded_at_kill.clone();
    verdict.in_flight_at_kills = kills
        .iter()
        .zip(&unrecorded_at_kill)
        .map(|(kill, unrecorded)| (kill.open_sends as u64).max(*unrecorded))
        .collect();
    verdict.in_flight_total = verdict.in_flight_at_kills.iter().sum();
    if verdict.resent_after_kill > verdict.in_flight_total {
        let text = format!(
            "{} replies resent after kills, more than the {} sends in flight at them",
            verdict.resent_after_kill, verdict.in_flight_total
        );
        verdict.problem(text);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(label: &str, n: u64, id: &str, at_ms: u64) -> Delivery {
        Delivery {
            text: reply_text(label, n),
            platform_id: id.into(),
            at_ms,
        }
    }

    fn sent(label: &str, n: u64, id: &str) -> Recorded {
        Recorded {
            text: reply_text(label, n),
            status: "sent".into(),
            error: None,
            platform_id: Some(id.into()),
        }
    }

    fn kill(at_ms: u64, open_sends: usize) -> Kill {
        Kill {
            at_ms,
            moment: KillMoment::Anytime,
            open_sends,
        }
    }

    #[test]
    fn a_kill_just_before_the_platform_read_the_call_explains_its_resend() {
        let customer = |first_recorded: bool| CustomerHistory {
            label: "c1".into(),
            id: "1".into(),
            sent: 1,
            acknowledged: vec![1],
            delivered: vec![
                delivery("c1", 1, "a", 10_300),
                delivery("c1", 1, "b", 11_000),
            ],
            recorded: vec![sent("c1", 1, if first_recorded { "a" } else { "b" })],
        };
        let history = |first_recorded| History {
            customers: vec![customer(first_recorded)],
            kills: vec![kill(10_000, 0)],
            ..History::default()
        };
        let resent = check(&history(false));
        assert_eq!((resent.resent_after_kill, resent.duplicated), (1, 0));
        assert_eq!(resent.in_flight_at_kills, vec![1]);
        assert!(resent.clean());
        // Had the host recorded the first copy, the second would be a duplicate.
        assert_eq!(check(&history(true)).duplicated, 1);
    }

    #[test]
    fn a_clean_history_is_clean() {
        let history = History {
            customers: vec![CustomerHistory {
                label: "c1".into(),
                id: "1".into(),
                sent: 2,
                acknowledged: vec![1, 2],
                delivered: vec![delivery("c1", 1, "a", 10), delivery("c1", 2, "b", 20)],
                recorded: vec![sent("c1", 1, "a"), sent("c1", 2, "b")],
            }],
            kills: vec![kill(15, 0)],
            ..History::default()
        };
        let verdict = check(&history);
        assert!(verdict.clean(), "{verdict:?}");
        assert_eq!((verdict.acknowledged, verdict.replied), (2, 2));
    }

    #[test]
    fn losses_duplicates_resends_and_disorder_are_told_apart() {
        let mut failed = sent("c1", 4, "");
        failed.status = "failed".into();
        failed.platform_id = None;
        failed.error = Some("transient: 503".into());
        let mut untyped = failed.clone();
        untyped.text = reply_text("c1", 6);
        untyped.error = Some("boom".into());
        let history = History {
            customers: vec![CustomerHistory {
                label: "c1".into(),
                id: "1".into(),
                sent: 7,
                acknowledged: vec![1, 2, 3, 4, 5, 6, 7],
                delivered: vec![
                    // m1 twice around a kill, the first copy never recorded: a resend.
                    delivery("c1", 1, "a", 10_000),
                    delivery("c1", 1, "a2", 30_000),
                    // m3 before m2: out of order.
                    delivery("c1", 3, "c", 40_000),
                    delivery("c1", 2, "b", 50_000),
                    // m2 again with no kill between: a duplicate.
                    delivery("c1", 2, "b2", 60_000),
                    delivery("c9", 1, "x", 70_000),
                ],
                recorded: vec![
                    sent("c1", 1, "a2"),
                    sent("c1", 2, "b2"),
                    sent("c1", 3, "c"),
                    failed,
                    untyped,
                ],
            }],
            kills: vec![kill(20_000, 1)],
            ..History::default()
        };
        let v = check(&history);
        assert_eq!(v.resent_after_kill, 1);
        assert_eq!(v.duplicated, 1);
        assert_eq!(v.out_of_order, 1);
        assert_eq!(v.unexpected, 1);
        // m5 and m7: no reply; m4 and m6 failed (one without a code).
        assert_eq!(v.lost, 2);
        assert_eq!((v.failed_typed, v.failed_untyped), (1, 1));
        // One call held at the kill; the unrecorded copy "a" before it.
        assert_eq!(v.in_flight_at_kills, vec![1]);
        assert_eq!(v.unrecorded_at_kills, vec![1]);
        assert!(!v.clean());
    }
}
