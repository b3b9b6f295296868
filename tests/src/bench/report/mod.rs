//! The report: the phases' results merged, the headline figures (each a ratio or a same-run
//! comparison where it can be), the goals beside them, and notes on anything that makes a
//! figure less than it looks. [`render`] writes it as Markdown; `report.json` is [`Report`].
//! With `--store postgres`, [`stores`] sets the PostgreSQL sessions beside SQLite's.

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::phases::peers::Peers;
use super::phases::session::HostSession;
use super::procfs::Machine;
use super::stats::ratio;

pub mod render;
pub mod stores;

use stores::StoreFigures;

/// A whole bench run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub figures: Figures,
    pub goals: Vec<Goal>,
    pub date: String,
    pub commit: Option<String>,
    pub machine: Machine,
    /// Wall time of the run, builds and the prefill excluded.
    pub bench_seconds: Option<f64>,
    /// The host's `[store] sync` in the bench config.
    pub store_sync: Option<String>,
    pub peers: Peers,
    pub host: HostSession,
    /// The session on the prefilled store (`--scale`).
    pub scale: Option<HostSession>,
    /// The sessions on PostgreSQL (`--store postgres`): one host, then `--hosts N` when N > 1.
    #[serde(default)]
    pub postgres: Vec<HostSession>,
    pub notes: Vec<String>,
}

/// The headline figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub baseline_req_per_s: f64,
    pub intake_req_per_s: Option<f64>,
    pub intake_p50_ms: Option<f64>,
    pub intake_p99_ms: Option<f64>,
    /// Intake req/s over bare hyper's, both closed loops on an otherwise idle machine.
    pub intake_ratio: Option<f64>,
    /// How long the host took, after the intake run, to send the replies it owed.
    pub drain_seconds: Option<f64>,
    pub sustained_msgs_per_s: Option<f64>,
    /// At half the sustained rate, webhook sent to first reply received.
    pub p50_first_reply_ms: Option<f64>,
    pub p99_first_reply_ms: Option<f64>,
    pub node_red_req_per_s: Option<f64>,
    pub sustained_vs_node_red: Option<f64>,
    pub sustained_1m_msgs_per_s: Option<f64>,
    pub sustained_1m_ratio: Option<f64>,
    /// The host's peak RSS on the prefilled store (on the empty one without `--scale`: see
    /// `peak_rss_store`).
    pub peak_rss_mb: Option<f64>,
    pub peak_rss_store: Option<String>,
    pub peak_rss_mb_empty: Option<f64>,
    /// X throughput beside the fault loops over intake throughput without them.
    pub faults_vs_intake: Option<f64>,
    /// SQLite beside PostgreSQL (`--store postgres`): SQLite's row (when it ran), then one per
    /// PostgreSQL session, each figure also over SQLite's; empty without `--store postgres`.
    #[serde(default)]
    pub stores: Vec<StoreFigures>,
}

/// Which side of its goal a figure must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    AtLeast,
    Below,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoalStatus {
    Pass,
    /// A floor not reached.
    Below,
    /// A ceiling exceeded.
    Above,
    NotMeasured,
}

/// A goal and where the figure stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub figure: String,
    pub bound: Bound,
    pub goal: f64,
    pub value: Option<f64>,
    pub status: GoalStatus,
}

impl Goal {
    fn new(figure: &str, bound: Bound, goal: f64, value: Option<f64>) -> Goal {
        let status = match (bound, value) {
            (_, None) => GoalStatus::NotMeasured,
            (Bound::AtLeast, Some(v)) if v >= goal => GoalStatus::Pass,
            (Bound::AtLeast, Some(_)) => GoalStatus::Below,
            (Bound::Below, Some(v)) if v < goal => GoalStatus::Pass,
            (Bound::Below, Some(_)) => GoalStatus::Above,
        };
        Goal {
            figure: figure.to_owned(),
            bound,
            goal,
            value,
            status,
        }
    }
}

/// What the report needs besides the phases' results.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub date: String,
    pub commit: Option<String>,
    pub machine: Machine,
    pub bench_seconds: Option<f64>,
    pub store_sync: Option<String>,
    /// Notes from the orchestration (what was skipped and why).
    pub notes: Vec<String>,
}

/// The sessions of a run: on SQLite (an empty store, and the prefilled one with `--scale`),
/// and on PostgreSQL.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    /// The empty-store SQLite session (everything `None` under `--no-sqlite`).
    pub host: HostSession,
    pub scale: Option<HostSession>,
    pub postgres: Vec<HostSession>,
}

/// Merges the phases into the report.
pub fn build(meta: Meta, peers: Peers, sessions: Sessions) -> Report {
    let Sessions {
        host,
        scale,
        postgres,
    } = sessions;
    let mut figures = figures(&peers, &host, scale.as_ref());
    figures.stores = stores::compare(&host, &postgres);
    let mut notes = meta.notes;
    notes.extend(findings(&peers, &host, scale.as_ref(), &postgres));
    Report {
        goals: goals(&figures),
        figures,
        date: meta.date,
        commit: meta.commit,
        machine: meta.machine,
        bench_seconds: meta.bench_seconds,
        store_sync: meta.store_sync,
        peers,
        host,
        scale,
        postgres,
        notes,
    }
}

pub fn figures(peers: &Peers, host: &HostSession, scale: Option<&HostSession>) -> Figures {
    let baseline = peers.baseline.req_per_s;
    let intake = host.intake.as_ref();
    let intake_rate = intake.map(|i| i.run.req_per_s);
    let sustained = host.sustained.as_ref();
    let sustained_rate = sustained.and_then(|s| s.sustained_msgs_per_s);
    let node_red = peers.node_red.as_ref().map(|n| n.req_per_s);
    let scale_rate = scale
        .and_then(|s| s.sustained.as_ref())
        .and_then(|s| s.sustained_msgs_per_s);
    let (peak_rss_mb, peak_rss_store) = match scale {
        Some(scale) => (scale.peak_rss_mb, Some("1m".to_owned())),
        None => (host.peak_rss_mb, Some("empty".to_owned())),
    };
    Figures {
        baseline_req_per_s: baseline,
        intake_req_per_s: intake_rate,
        intake_p50_ms: intake.and_then(|i| i.run.latency.p50_ms),
        intake_p99_ms: intake.and_then(|i| i.run.latency.p99_ms),
        intake_ratio: intake_rate.and_then(|i| ratio(i, baseline)),
        drain_seconds: intake.and_then(|i| i.drain.seconds),
        sustained_msgs_per_s: sustained_rate,
        p50_first_reply_ms: sustained.and_then(|s| s.p50_first_reply_ms),
        p99_first_reply_ms: sustained.and_then(|s| s.p99_first_reply_ms),
        node_red_req_per_s: node_red,
        sustained_vs_node_red: sustained_rate.zip(node_red).and_then(|(s, n)| ratio(s, n)),
        sustained_1m_msgs_per_s: scale_rate,
        sustained_1m_ratio: scale_rate
            .zip(sustained_rate)
            .and_then(|(s, e)| ratio(s, e)),
        peak_rss_mb,
        peak_rss_store,
        peak_rss_mb_empty: host.peak_rss_mb,
        faults_vs_intake: host.faults.as_ref().and_then(|f| f.vs_intake),
        stores: Vec::new(),
    }
}

/// The goals the team set, as floors and ceilings.
pub fn goals(figures: &Figures) -> Vec<Goal> {
    vec![
        Goal::new("intake_ratio", Bound::AtLeast, 0.30, figures.intake_ratio),
        Goal::new(
            "sustained_vs_node_red",
            Bound::AtLeast,
            2.0,
            figures.sustained_vs_node_red,
        ),
        Goal::new(
            "sustained_1m_ratio",
            Bound::AtLeast,
            0.8,
            figures.sustained_1m_ratio,
        ),
        Goal::new(
            "p99_first_reply_ms",
            Bound::Below,
            50.0,
            figures.p99_first_reply_ms,
        ),
        Goal::new(
            "peak_rss_mb",
            Bound::Below,
            500.0,
            // The goal is for a million stored conversations.
            figures
                .peak_rss_mb
                .filter(|_| figures.peak_rss_store.as_deref() == Some("1m")),
        ),
    ]
}

/// What in the results makes a figure less than it looks.
fn findings(
    peers: &Peers,
    host: &HostSession,
    scale: Option<&HostSession>,
    postgres: &[HostSession],
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(reason) = &peers.node_red_skipped {
        notes.push(format!("Node-RED was not measured: {reason}."));
    }
    if !stores::ran(host) {
        notes.push(
            "The SQLite sessions were not run (`--no-sqlite`): no figure is compared with SQLite's."
                .into(),
        );
    }
    let mut closed = vec![
        ("bare hyper".to_owned(), Some(&peers.baseline)),
        ("Node-RED".to_owned(), peers.node_red.as_ref()),
        ("intake".to_owned(), host.intake.as_ref().map(|i| &i.run)),
        (
            "faults' X load".to_owned(),
            host.faults.as_ref().map(|f| &f.x),
        ),
    ];
    for session in postgres {
        closed.push((
            format!("{} intake", session.label),
            session.intake.as_ref().map(|i| &i.run),
        ));
    }
    for (name, run) in closed {
        let Some(run) = run else { continue };
        if !run.errors.is_empty() {
            notes.push(format!("{name}: requests failed: {:?}.", run.errors));
        }
        if run.exhausted_connections > 0 {
            notes.push(format!(
                "{name}: {} connection(s) used up their pre-signed bodies; the server outran \
                 --max-rate, so its figure is a floor.",
                run.exhausted_connections
            ));
        }
        if let (Some(machine), Some(driver)) = (run.cpu.machine_pct, run.cpu.driver_pct) {
            let others = machine - driver - run.cpu.server_pct.unwrap_or(0.0);
            if others > 25.0 {
                notes.push(format!(
                    "{name}: other processes used about {others:.0} % CPU during the run \
                     (the machine is shared)."
                ));
            }
        }
    }
    for session in std::iter::once(host).chain(postgres) {
        if let Some(intake) = &session.intake
            && !intake.drain.drained
        {
            notes.push(format!(
                "{}: after the intake run the host had not sent every reply when the bench \
                 stopped waiting: {} of {} messages unfinished; later phases started on a busy \
                 host.",
                session.label, intake.drain.unfinished, intake.drain.messages
            ));
        }
    }
    if !postgres.is_empty() {
        notes.push(
            "PostgreSQL ran on this machine with its defaults (every commit flushed to disk), \
             beside the hosts and the driver; its processes' CPU counts as the machine's, not \
             the server's. The SQLite sessions used `sync = normal` (see above)."
                .into(),
        );
    }
    for session in std::iter::once(host).chain(scale).chain(postgres) {
        let label = &session.label;
        let api = &session.x_api;
        if api.unauthorized + api.bad_requests + api.not_found + api.unknown_recipients > 0 {
            notes.push(format!(
                "{label}: the send API stand-in saw requests it refused or did not expect: {api:?}."
            ));
        }
        if session.extra_replies > 0 {
            notes.push(format!(
                "{label}: {} replies beyond the two each message should get.",
                session.extra_replies
            ));
        }
        if let Some(sustained) = &session.sustained {
            for step in sustained.steps.iter().chain(&sustained.half) {
                if step.started_with_backlog > 0 {
                    notes.push(format!(
                        "{label}: the {}/s step started with {} messages of earlier steps unfinished.",
                        step.rate, step.started_with_backlog
                    ));
                }
            }
        }
    }
    if scale.is_none() && stores::ran(host) {
        notes.push(
            "The scale session (a million stored conversations) was not run (`--no-scale`).".into(),
        );
    }
    notes
}

/// Writes `value` as pretty JSON, through a temporary file so a reader never sees half of it.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::closed::ClosedResult;
    use crate::bench::phases::intake::Intake;
    use crate::bench::phases::sustained::Sustained;

    /// Phases as a small run would leave them.
    pub(crate) fn sample() -> (Peers, HostSession, HostSession) {
        let closed = |rate: f64| ClosedResult {
            connections: 32,
            seconds: 10.0,
            requests: (rate * 10.0) as u64,
            req_per_s: rate,
            ..ClosedResult::default()
        };
        let peers = Peers {
            baseline: closed(20_000.0),
            node_red: Some(closed(2_000.0)),
            node_red_skipped: None,
        };
        let session = |label: &str, rate: f64, rss: f64| HostSession {
            label: label.into(),
            intake: Some(Intake {
                run: closed(3_000.0),
                ..Intake::default()
            }),
            sustained: Some(Sustained {
                start_rate: 300.0,
                step_seconds: 20.0,
                sustained_msgs_per_s: Some(rate),
                p50_first_reply_ms: Some(8.0),
                p99_first_reply_ms: Some(60.0),
                ..Sustained::default()
            }),
            peak_rss_mb: Some(rss),
            ..HostSession::default()
        };
        (
            peers,
            session("empty", 500.0, 120.0),
            session("1m", 450.0, 700.0),
        )
    }

    #[test]
    fn figures_are_ratios_of_one_run() {
        let (peers, host, scale) = sample();
        let f = figures(&peers, &host, Some(&scale));
        assert_eq!(f.intake_ratio, Some(0.15));
        assert_eq!(f.sustained_vs_node_red, Some(0.25));
        assert_eq!(f.sustained_1m_ratio, Some(0.9));
        assert_eq!(
            (f.peak_rss_mb, f.peak_rss_mb_empty),
            (Some(700.0), Some(120.0))
        );
    }

    #[test]
    fn goals_say_pass_below_above_or_not_measured() {
        let (peers, host, scale) = sample();
        let statuses = |report: &Report| -> Vec<(String, GoalStatus)> {
            report
                .goals
                .iter()
                .map(|g| (g.figure.clone(), g.status))
                .collect()
        };
        let report = build(
            Meta::default(),
            peers.clone(),
            Sessions {
                host: host.clone(),
                scale: Some(scale),
                postgres: Vec::new(),
            },
        );
        assert_eq!(
            statuses(&report),
            vec![
                ("intake_ratio".into(), GoalStatus::Below),
                ("sustained_vs_node_red".into(), GoalStatus::Below),
                ("sustained_1m_ratio".into(), GoalStatus::Pass),
                ("p99_first_reply_ms".into(), GoalStatus::Above),
                ("peak_rss_mb".into(), GoalStatus::Above),
            ]
        );
        // Without the scale session its goals are not measured, and the note says how to run it.
        let report = build(
            Meta::default(),
            peers,
            Sessions {
                host,
                ..Sessions::default()
            },
        );
        assert_eq!(report.goals[2].status, GoalStatus::NotMeasured);
        assert_eq!(report.goals[4].status, GoalStatus::NotMeasured);
        assert!(report.notes.iter().any(|n| n.contains("--no-scale")));
    }

    #[test]
    fn postgres_sessions_are_compared_with_sqlite_and_noted() {
        let (peers, host, _) = sample();
        let mut postgres = host.clone();
        postgres.label = "postgres-2".into();
        postgres.store = "postgres".into();
        postgres.hosts = 2;
        postgres.extra_replies = 3;
        let report = build(
            Meta::default(),
            peers.clone(),
            Sessions {
                host: host.clone(),
                scale: None,
                postgres: vec![postgres.clone()],
            },
        );
        let rows = &report.figures.stores;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].sustained_vs_sqlite, Some(1.0));
        assert!(report.notes.iter().any(|n| n.contains("PostgreSQL ran")));
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.starts_with("postgres-2: 3 replies beyond"))
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["figures"]["stores"][1]["hosts"], 2);
        assert_eq!(json["postgres"][0]["store"], "postgres");

        // `--no-sqlite`: no SQLite figures, no ratios, and a note saying why.
        let report = build(
            Meta::default(),
            peers,
            Sessions {
                host: HostSession::default(),
                scale: None,
                postgres: vec![postgres],
            },
        );
        assert_eq!(report.figures.stores.len(), 1);
        assert_eq!(report.figures.stores[0].intake_vs_sqlite, None);
        assert!(report.notes.iter().any(|n| n.contains("--no-sqlite")));
        assert!(!report.notes.iter().any(|n| n.contains("--no-scale")));
    }

    #[test]
    fn a_skipped_peer_is_noted_not_fatal() {
        let (mut peers, host, _) = sample();
        peers.node_red = None;
        peers.node_red_skipped = Some("node is not installed".into());
        let report = build(
            Meta::default(),
            peers,
            Sessions {
                host,
                ..Sessions::default()
            },
        );
        assert_eq!(report.figures.sustained_vs_node_red, None);
        assert!(report.notes[0].contains("node is not installed"));
    }
}
