//! The campaign's report: a table on standard output and `report.json`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::Plan;
use super::checker::{History, Verdict};
use super::schedule::{Action, KillMoment, Step};

/// What a run did and what the checker found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seed: u64,
    pub seconds: u64,
    pub customers: usize,
    pub callers: usize,
    /// The agents' accept requests, those refused with 409, and requests left unanswered.
    pub acd_accept_attempts: u64,
    pub acd_accept_conflicts: u64,
    pub acd_unanswered: u64,
    pub acd_caller_messages: u64,
    pub acd_transfers: u64,
    /// How long the load and the nemesis ran, then how long the host took to be quiet.
    pub load_ms: u64,
    pub quiet_ms: u64,
    /// False when the quiet deadline passed first (what was still pending is counted).
    pub quiet: bool,
    pub kills: usize,
    pub acknowledged: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub resent_after_kill: u64,
    pub out_of_order: u64,
    /// Interactions held by two agents at once (see `assign`).
    pub double_assigned: u64,
    pub failed_typed: u64,
    pub verdict: Verdict,
    pub kill_log: Vec<KillEntry>,
    /// The platform faults scripted, by kind, and how many send calls each took.
    pub platform_faults: Vec<(String, u64)>,
    /// Send calls that reached the platform (past its checks), and those answered with a
    /// fault (a reset or a timeout the host gave up on is counted when the platform answered).
    pub send_calls: usize,
    pub send_calls_faulted: usize,
    pub clean: bool,
    pub replay: String,
}

/// One kill as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct KillEntry {
    /// When (Unix ms).
    pub at_ms: u64,
    pub moment: KillMoment,
    /// Send calls the platform held unanswered at the kill.
    pub open_sends: usize,
    /// Answers the host never recorded, charged to this kill.
    pub unrecorded: u64,
    /// The larger of the two.
    pub in_flight: u64,
}

impl Report {
    pub fn new(
        plan: &Plan,
        steps: &[Step],
        history: &History,
        verdict: Verdict,
        load_ms: u64,
        quiet_ms: u64,
        quiet: bool,
    ) -> Report {
        let mut kills: Vec<_> = history.kills.iter().collect();
        kills.sort_by_key(|k| k.at_ms);
        let kill_log = kills
            .iter()
            .zip(
                verdict
                    .in_flight_at_kills
                    .iter()
                    .zip(&verdict.unrecorded_at_kills),
            )
            .map(|(k, (in_flight, unrecorded))| KillEntry {
                at_ms: k.at_ms,
                moment: k.moment,
                open_sends: k.open_sends,
                unrecorded: *unrecorded,
                in_flight: *in_flight,
            })
            .collect();
        let platform_faults = steps
            .iter()
            .filter_map(|s| match s.action {
                Action::Platform { fault, count } => Some((format!("{fault:?}"), count)),
                Action::Kill { .. } => None,
            })
            .collect();
        Report {
            seed: plan.seed,
            seconds: plan.seconds,
            customers: plan.customers,
            callers: plan.callers,
            acd_accept_attempts: history.acd.accept_attempts,
            acd_accept_conflicts: history.acd.accept_conflicts,
            acd_unanswered: history.acd.unanswered,
            acd_caller_messages: history.acd.caller_messages,
            acd_transfers: history
                .acd
                .records
                .iter()
                .map(|r| r.transfers.len() as u64)
                .sum(),
            load_ms,
            quiet_ms,
            quiet,
            kills: verdict.kills,
            acknowledged: verdict.acknowledged,
            lost: verdict.lost,
            duplicated: verdict.duplicated,
            resent_after_kill: verdict.resent_after_kill,
            out_of_order: verdict.out_of_order,
            double_assigned: verdict.double_assigned,
            failed_typed: verdict.failed_typed,
            clean: verdict.clean(),
            kill_log,
            platform_faults,
            send_calls: 0,
            send_calls_faulted: 0,
            replay: format!(
                "cargo xtask chaos --seed {} --seconds {} --kills {} --customers {} --callers {}",
                plan.seed, plan.seconds, plan.kills, plan.customers, plan.callers
            ),
            verdict,
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let v = &self.verdict;
        let rows: Vec<(&str, String)> = vec![
            ("seed", self.seed.to_string()),
            (
                "duration",
                format!(
                    "{:.1} s load + {:.1} s to quiet{}",
                    self.load_ms as f64 / 1000.0,
                    self.quiet_ms as f64 / 1000.0,
                    if self.quiet { "" } else { " (deadline passed)" }
                ),
            ),
            ("customers", self.customers.to_string()),
            ("kills", self.kills.to_string()),
            (
                "send calls",
                format!(
                    "{} ({} answered with a fault)",
                    self.send_calls, self.send_calls_faulted
                ),
            ),
            ("sent", v.sent.to_string()),
            ("acknowledged", self.acknowledged.to_string()),
            ("replied", v.replied.to_string()),
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            (
                "resent_after_kill",
                format!(
                    "{} (sends in flight at kills: {})",
                    self.resent_after_kill, v.in_flight_total
                ),
            ),
            ("out_of_order", self.out_of_order.to_string()),
            (
                "double_assigned",
                format!(
                    "{} (of {} interactions taken by agents, {} handed over to another agent)",
                    self.double_assigned, v.assignments.interactions, v.assignments.handovers
                ),
            ),
            (
                "acd",
                format!(
                    "{} callers ({} messages acknowledged); {} accepts sent, {} ok, {} refused 409; {} wrap-ups and {} transfers recorded; {} agent requests unanswered",
                    self.callers,
                    self.acd_caller_messages,
                    self.acd_accept_attempts,
                    v.assignments.accepts_ok,
                    self.acd_accept_conflicts,
                    v.assignments.wrapups,
                    self.acd_transfers,
                    self.acd_unanswered
                ),
            ),
            ("failed_typed", self.failed_typed.to_string()),
            ("failed_untyped", v.failed_untyped.to_string()),
            ("unexpected", v.unexpected.to_string()),
            ("still_pending", v.still_pending.to_string()),
            (
                "in flight per kill",
                self.kill_log
                    .iter()
                    .map(|k| k.in_flight.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            (
                "verdict",
                if self.clean { "clean" } else { "FAILED" }.into(),
            ),
        ];
        let mut out = String::new();
        for (name, value) in rows {
            let _ = writeln!(out, "| {name:<20} | {value} |");
        }
        for problem in &v.problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        if !self.clean {
            let _ = writeln!(out, "replay: {}", self.replay);
        }
        out
    }
}
