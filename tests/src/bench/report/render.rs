//! The report as Markdown: what was measured on which machine, the goals, SQLite beside
//! PostgreSQL (when measured), then each phase's table, then the notes.

use std::fmt::Write;

use super::{Bound, GoalStatus, Report};
use crate::bench::closed::ClosedResult;
use crate::bench::host_metrics::PluginCalls;
use crate::bench::phases::drain::Drain;
use crate::bench::phases::session::HostSession;
use crate::bench::phases::sustained::{Step, Sustained};
use crate::bench::procfs::Cpu;

use crate::bench::stats::show as num;

fn cpu(cpu: &Cpu) -> String {
    let pct = |v: Option<f64>| num(v, 0);
    format!(
        "{} / {} / {}",
        pct(cpu.driver_pct),
        pct(cpu.server_pct),
        pct(cpu.machine_pct)
    )
}

fn drain(drain: &Drain) -> String {
    if drain.drained {
        format!("{} s", num(drain.seconds, 1))
    } else {
        format!("not drained ({} left)", drain.unfinished)
    }
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let f = &report.figures;
    let m = &report.machine;
    let _ = writeln!(out, "# Switchboard performance report\n");
    let _ = writeln!(
        out,
        "Measured {} at commit `{}` on {} × {} (Linux {}, {} MiB), host store sync `{}`; \
         the bench took {} s. One run on a machine the bench shares with the host (and maybe \
         with others): read the ratios, not the absolute rates.\n",
        report.date,
        report.commit.as_deref().unwrap_or("unknown"),
        m.nproc,
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        m.kernel.as_deref().unwrap_or("?"),
        num(m.memory_mb, 0),
        report.store_sync.as_deref().unwrap_or("?"),
        num(report.bench_seconds, 0),
    );

    let _ = writeln!(
        out,
        "## Goals\n\n| figure | value | goal | status |\n|---|---|---|---|"
    );
    for goal in &report.goals {
        let bound = match goal.bound {
            Bound::AtLeast => ">=",
            Bound::Below => "<",
        };
        let status = match goal.status {
            GoalStatus::Pass => "PASS",
            GoalStatus::Below => "below",
            GoalStatus::Above => "above",
            GoalStatus::NotMeasured => "not measured",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {bound} {} | {status} |",
            goal.figure,
            num(goal.value, 2),
            goal.goal
        );
    }

    let _ = writeln!(out, "\n## Figures\n\n| figure | value |\n|---|---|");
    let rows: [(&str, Option<f64>, usize); 16] = [
        (
            "bare hyper req/s (host not running)",
            Some(f.baseline_req_per_s),
            0,
        ),
        ("intake req/s", f.intake_req_per_s, 0),
        ("intake p50 ms", f.intake_p50_ms, 2),
        ("intake p99 ms", f.intake_p99_ms, 2),
        ("`intake_ratio`", f.intake_ratio, 3),
        ("drain after intake, s", f.drain_seconds, 1),
        ("`sustained_msgs_per_s`", f.sustained_msgs_per_s, 0),
        ("`p50_first_reply_ms` (half rate)", f.p50_first_reply_ms, 1),
        ("`p99_first_reply_ms` (half rate)", f.p99_first_reply_ms, 1),
        ("`node_red_req_per_s`", f.node_red_req_per_s, 0),
        ("`sustained_vs_node_red`", f.sustained_vs_node_red, 3),
        ("sustained msgs/s, 1M stored", f.sustained_1m_msgs_per_s, 0),
        ("`sustained_1m_ratio`", f.sustained_1m_ratio, 3),
        ("`peak_rss_mb`", f.peak_rss_mb, 0),
        ("peak RSS MiB, empty store", f.peak_rss_mb_empty, 0),
        ("X throughput beside faults / intake", f.faults_vs_intake, 3),
    ];
    for (label, value, digits) in rows {
        let _ = writeln!(out, "| {label} | {} |", num(value, digits));
    }
    let _ = writeln!(
        out,
        "\n`peak_rss_mb` is the host's VmHWM over its life on the {} store. The empty-store \
         session also ran the intake backlog and the fault run (whose `hog` fixture grows a Wasm \
         memory to its limit), so its peak is not the store's alone.",
        f.peak_rss_store.as_deref().unwrap_or("?")
    );

    super::stores::markdown(&mut out, &f.stores);

    let _ = writeln!(
        out,
        "\n## Intake (closed loop)\n\n{} keep-alive connections, each sending its next signed DM \
         webhook when the last is answered. CPU is percent of one core: driver / server / whole \
         machine.\n",
        report.peers.baseline.connections
    );
    let _ = writeln!(
        out,
        "| server | req/s | p50 ms | p99 ms | errors | CPU % |\n|---|---|---|---|---|---|"
    );
    closed_row(
        &mut out,
        "bare hyper (in the driver; host not running)",
        &report.peers.baseline,
    );
    if let Some(intake) = &report.host.intake {
        closed_row(&mut out, "switchboard intake", &intake.run);
    }
    for session in &report.postgres {
        if let Some(intake) = &session.intake {
            closed_row(
                &mut out,
                &format!("switchboard intake, {}", on(session)),
                &intake.run,
            );
        }
    }
    match (&report.peers.node_red, &report.peers.node_red_skipped) {
        (Some(node_red), _) => closed_row(&mut out, "Node-RED 4 (no durability)", node_red),
        (None, Some(reason)) => {
            let _ = writeln!(out, "| Node-RED 4 | skipped: {reason} | | | | |");
        }
        (None, None) => {}
    }
    if let Some(intake) = &report.host.intake {
        let _ = writeln!(
            out,
            "\nThe run left the host {} accepted messages, {} of them without both replies when \
             it ended; the host finished them in {} ({} msgs/s with no input). Webhook to first \
             reply over those messages: p50 {} ms, p99 {} ms.",
            intake.accepted,
            intake.drain.backlog,
            drain(&intake.drain),
            num(intake.drain.msgs_per_s, 0),
            num(intake.first_reply.p50_ms, 0),
            num(intake.first_reply.p99_ms, 0),
        );
    }

    sustained_section(&mut out, "Sustained (open loop, empty store)", &report.host);
    for session in &report.postgres {
        sustained_section(
            &mut out,
            &format!("Sustained (open loop, empty store, {})", on(session)),
            session,
        );
    }
    if let Some(scale) = &report.scale {
        sustained_section(
            &mut out,
            "Scale (open loop, 1,000,000 conversations stored, 10,000 waiting)",
            scale,
        );
        let _ = writeln!(
            out,
            "\nPeak RSS of the host on this store: {} MiB.",
            num(scale.peak_rss_mb, 0)
        );
    }

    if let Some(faults) = &report.host.faults {
        let _ = writeln!(
            out,
            "\n## Faults\n\nThe intake load again while fault adapters fail in a loop beside it: \
             X {} req/s, {} of intake.\n\n| fault | calls | answers | p50 ms | max ms |\n|---|---|---|---|---|",
            num(Some(faults.x.req_per_s), 0),
            num(faults.vs_intake, 3)
        );
        for fault in &faults.loops {
            let answers: Vec<String> = fault
                .answers
                .iter()
                .map(|(status, n)| format!("{status} x{n}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                fault.name,
                fault.calls,
                answers.join(", "),
                num(fault.latency.p50_ms, 1),
                num(fault.latency.max_ms, 1)
            );
        }
    }

    plugin_section(&mut out, &report.host.plugin_calls);

    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

/// "PostgreSQL, 2 hosts".
fn on(session: &HostSession) -> String {
    super::stores::title(session.on_postgres(), session.host_count())
}

fn closed_row(out: &mut String, label: &str, run: &ClosedResult) {
    let errors: u64 = run.errors.values().sum();
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {errors} | {} |",
        num(Some(run.req_per_s), 0),
        num(run.latency.p50_ms, 2),
        num(run.latency.p99_ms, 2),
        cpu(&run.cpu)
    );
}

fn sustained_section(out: &mut String, title: &str, session: &HostSession) {
    let Some(sustained) = &session.sustained else {
        return;
    };
    let _ = writeln!(
        out,
        "\n## {title}\n\nSteps of {} s, each message a new customer through the support flow \
         to its `ask`; a rate is sustained when fewer than 1 s of input is unfinished at the end \
         of its step. Highest sustained: **{} msgs/s**; at half of it, first reply p50 {} ms, \
         p99 {} ms.\n",
        sustained.step_seconds,
        num(sustained.sustained_msgs_per_s, 0),
        num(sustained.p50_first_reply_ms, 1),
        num(sustained.p99_first_reply_ms, 1),
    );
    step_table(out, sustained);
}

fn step_table(out: &mut String, sustained: &Sustained) {
    let _ = writeln!(
        out,
        "| msgs/s | verdict | unfinished at end | webhook p99 ms | first reply p50 / p99 ms \
         | backlog: unanswered / in flow / to send | drain | CPU % |\n|---|---|---|---|---|---|---|---|"
    );
    let row = |out: &mut String, step: &Step, half: bool| {
        let backlog = step.backlog_at_end.as_ref().map_or_else(
            || "n/a".to_owned(),
            |b| {
                format!(
                    "{} / {} / {}",
                    b.webhooks_unanswered, b.awaiting_flow, b.awaiting_send
                )
            },
        );
        let verdict = format!("{:?}", step.verdict).to_lowercase();
        let _ = writeln!(
            out,
            "| {}{} | {verdict} | {} (< {}) | {} | {} / {} | {backlog} | {} | {} |",
            step.rate,
            if half { " (half)" } else { "" },
            step.unfinished_at_end,
            step.rate,
            num(step.webhook.p99_ms, 1),
            num(step.first_reply.p50_ms, 1),
            num(step.first_reply.p99_ms, 1),
            drain(&step.drain),
            cpu(&step.cpu)
        );
    };
    for step in &sustained.steps {
        row(out, step, false);
    }
    if let Some(half) = &sustained.half {
        row(out, half, true);
    }
}

fn plugin_section(out: &mut String, calls: &[PluginCalls]) {
    if calls.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Plugin calls (empty-store session)\n\n| plugin | function | calls | mean µs |\n|---|---|---|---|"
    );
    for call in calls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            call.plugin,
            call.function,
            call.calls,
            num(call.mean_us(), 0)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{Meta, Sessions, build};

    #[test]
    fn the_markdown_has_the_goals_figures_and_notes() {
        let (peers, host, scale) = crate::bench::report::tests::sample();
        let meta = Meta {
            date: "2026-05-01T10:00:00.000Z".into(),
            commit: Some("abc1234".into()),
            ..Meta::default()
        };
        let mut postgres = host.clone();
        postgres.label = "postgres-2".into();
        postgres.store = "postgres".into();
        postgres.hosts = 2;
        let sessions = Sessions {
            host,
            scale: Some(scale),
            postgres: vec![postgres],
        };
        let text = markdown(&build(meta, peers, sessions));
        assert!(text.contains("at commit `abc1234`"));
        assert!(text.contains("| `intake_ratio` | 0.15 | >= 0.3 | below |"));
        assert!(text.contains("| `sustained_1m_ratio` | 0.90 | >= 0.8 | PASS |"));
        assert!(text.contains("| `p99_first_reply_ms` | 60.00 | < 50 | above |"));
        assert!(text.contains("| bare hyper (in the driver; host not running) | 20000 |"));
        assert!(text.contains("Highest sustained: **500 msgs/s**"));
        assert!(text.contains("## Scale"));
        assert!(text.contains("## SQLite and PostgreSQL"));
        assert!(text.contains("| PostgreSQL, 2 hosts | 3000 (×1.00) |"));
        assert!(text.contains("| switchboard intake, PostgreSQL, 2 hosts | 3000 |"));
        assert!(text.contains("## Sustained (open loop, empty store, PostgreSQL, 2 hosts)"));
    }
}
