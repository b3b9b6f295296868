//! SQLite beside PostgreSQL (`cargo xtask bench --store postgres [--hosts N]`): the headline
//! figures of each session on an empty store (intake rate and p99, highest sustained rate,
//! first-reply p99 at half of it), each also divided by SQLite's figure of the same run, since
//! rates measured on a shared machine only compare within one run.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::bench::phases::session::HostSession;
use crate::bench::stats::{ratio, show};

/// One row of the comparison: a session's figures and each as a ratio to SQLite's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreFigures {
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Hosts that shared the load (and the store).
    pub hosts: u32,
    /// The session's label (`empty`, `postgres-1`, `postgres-N`): its file in `phases/`.
    pub label: String,
    pub intake_req_per_s: Option<f64>,
    pub intake_p99_ms: Option<f64>,
    pub sustained_msgs_per_s: Option<f64>,
    /// Webhook sent to first reply, at half the sustained rate.
    pub p99_first_reply_ms: Option<f64>,
    /// This figure over SQLite's (`None` on SQLite's own row, or when either is missing).
    pub intake_vs_sqlite: Option<f64>,
    pub intake_p99_vs_sqlite: Option<f64>,
    pub sustained_vs_sqlite: Option<f64>,
    pub p99_first_reply_vs_sqlite: Option<f64>,
}

impl StoreFigures {
    /// "SQLite, 1 host", "PostgreSQL, 3 hosts".
    pub fn title(&self) -> String {
        title(self.store == "postgres", self.hosts)
    }
}

/// "SQLite, 1 host", "PostgreSQL, 3 hosts".
pub fn title(postgres: bool, hosts: u32) -> String {
    let store = if postgres { "PostgreSQL" } else { "SQLite" };
    let plural = if hosts == 1 { "" } else { "s" };
    format!("{store}, {hosts} host{plural}")
}

/// Whether a session measured anything (the SQLite session is missing under `--no-sqlite`).
pub fn ran(session: &HostSession) -> bool {
    session.intake.is_some() || session.sustained.is_some()
}

fn row(session: &HostSession, sqlite: Option<&StoreFigures>) -> StoreFigures {
    let intake = session.intake.as_ref();
    let sustained = session.sustained.as_ref();
    let mut row = StoreFigures {
        store: if session.on_postgres() {
            "postgres".into()
        } else {
            "sqlite".into()
        },
        hosts: session.host_count(),
        label: session.label.clone(),
        intake_req_per_s: intake.map(|i| i.run.req_per_s),
        intake_p99_ms: intake.and_then(|i| i.run.latency.p99_ms),
        sustained_msgs_per_s: sustained.and_then(|s| s.sustained_msgs_per_s),
        p99_first_reply_ms: sustained.and_then(|s| s.p99_first_reply_ms),
        ..StoreFigures::default()
    };
    if let Some(sqlite) = sqlite {
        let over = |a: Option<f64>, b: Option<f64>| a.zip(b).and_then(|(a, b)| ratio(a, b));
        row.intake_vs_sqlite = over(row.intake_req_per_s, sqlite.intake_req_per_s);
        row.intake_p99_vs_sqlite = over(row.intake_p99_ms, sqlite.intake_p99_ms);
        row.sustained_vs_sqlite = over(row.sustained_msgs_per_s, sqlite.sustained_msgs_per_s);
        row.p99_first_reply_vs_sqlite = over(row.p99_first_reply_ms, sqlite.p99_first_reply_ms);
    }
    row
}

/// The comparison rows: SQLite's (when it ran), then each PostgreSQL session's; empty when
/// no session ran on PostgreSQL.
pub fn compare(sqlite: &HostSession, postgres: &[HostSession]) -> Vec<StoreFigures> {
    if postgres.is_empty() {
        return Vec::new();
    }
    let reference = ran(sqlite).then(|| row(sqlite, None));
    let mut rows: Vec<StoreFigures> = reference.iter().cloned().collect();
    rows.extend(postgres.iter().map(|s| row(s, reference.as_ref())));
    rows
}

/// The comparison as a Markdown section (nothing when there is no comparison).
pub fn markdown(out: &mut String, rows: &[StoreFigures]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## SQLite and PostgreSQL\n\nThe same intake and sustained phases on a fresh store of \
         each kind, in this run; several hosts share one PostgreSQL database and get the load in \
         turn, request by request, as behind a round-robin load balancer. In brackets: the figure \
         divided by SQLite's (for the latencies, above 1 is slower).\n"
    );
    let _ = writeln!(
        out,
        "| store | intake req/s | intake p99 ms | sustained msgs/s | first reply p99 ms (half rate) |\n\
         |---|---|---|---|---|"
    );
    let cell = |value: Option<f64>, digits: usize, vs: Option<f64>| match vs {
        Some(vs) => format!("{} (×{})", show(value, digits), show(Some(vs), 2)),
        None => show(value, digits),
    };
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.title(),
            cell(row.intake_req_per_s, 0, row.intake_vs_sqlite),
            cell(row.intake_p99_ms, 2, row.intake_p99_vs_sqlite),
            cell(row.sustained_msgs_per_s, 0, row.sustained_vs_sqlite),
            cell(row.p99_first_reply_ms, 1, row.p99_first_reply_vs_sqlite),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample;

    fn on_postgres(hosts: u32, intake: f64, sustained: f64) -> HostSession {
        let (_, mut session, _) = sample();
        session.label = format!("postgres-{hosts}");
        session.store = "postgres".into();
        session.hosts = hosts;
        if let Some(i) = session.intake.as_mut() {
            i.run.req_per_s = intake;
        }
        if let Some(s) = session.sustained.as_mut() {
            s.sustained_msgs_per_s = Some(sustained);
            s.p99_first_reply_ms = Some(90.0);
        }
        session
    }

    #[test]
    fn each_postgres_session_is_divided_by_sqlite() {
        let (_, sqlite, _) = sample();
        let rows = compare(
            &sqlite,
            &[
                on_postgres(1, 1_500.0, 250.0),
                on_postgres(3, 1_200.0, 600.0),
            ],
        );
        let titles: Vec<String> = rows.iter().map(StoreFigures::title).collect();
        assert_eq!(
            titles,
            [
                "SQLite, 1 host",
                "PostgreSQL, 1 host",
                "PostgreSQL, 3 hosts"
            ]
        );
        assert_eq!(rows[0].intake_vs_sqlite, None);
        assert_eq!(rows[1].intake_vs_sqlite, Some(0.5));
        assert_eq!(rows[1].sustained_vs_sqlite, Some(0.5));
        assert_eq!(rows[1].p99_first_reply_vs_sqlite, Some(1.5));
        assert_eq!(rows[2].sustained_vs_sqlite, Some(1.2));
        assert_eq!(rows[2].label, "postgres-3");

        let mut text = String::new();
        markdown(&mut text, &rows);
        assert!(text.contains("| SQLite, 1 host | 3000 | n/a | 500 | 60.0 |"));
        assert!(
            text.contains(
                "| PostgreSQL, 3 hosts | 1200 (×0.40) | n/a | 600 (×1.20) | 90.0 (×1.50) |"
            )
        );
    }

    #[test]
    fn without_postgres_there_is_no_comparison_and_without_sqlite_no_ratios() {
        let (_, sqlite, _) = sample();
        assert!(compare(&sqlite, &[]).is_empty());
        let rows = compare(&HostSession::default(), &[on_postgres(2, 1_000.0, 100.0)]);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].hosts, rows[0].intake_vs_sqlite), (2, None));
        let mut text = String::new();
        markdown(&mut text, &[]);
        assert!(text.is_empty());
    }
}
