//! Counters and gauges for `/metrics`, written by hand in the Prometheus text format
//! (version 0.0.4): a handful of families does not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-label counters: `labels → value`, where labels are rendered `k="v",...`.
#[derive(Default)]
struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    fn add(&self, labels: String, n: u64) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(labels)
            .or_default() += n;
    }

    fn render(&self, out: &mut String, name: &str, help: &str, kind: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The upper bounds, in seconds, of every latency histogram's buckets: 1 ms to 10 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One label set's histogram: bucket counts (not cumulative; summed when rendered), the sum in
/// microseconds and the count.
type Histogram = ([u64; BUCKETS.len()], u64, u64);

/// Per-label latency histograms.
#[derive(Default)]
struct Histograms(Mutex<BTreeMap<String, Histogram>>);

impl Histograms {
    fn observe(&self, labels: String, seconds: f64) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (buckets, sum_micros, count) = all.entry(labels).or_default();
        if let Some(i) = BUCKETS.iter().position(|&le| seconds <= le) {
            buckets[i] += 1;
        }
        *sum_micros += (seconds * 1e6) as u64;
        *count += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (labels, (buckets, sum_micros, count)) in
            self.0.lock().unwrap_or_else(|e| e.into_inner()).iter()
        {
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(buckets) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", *sum_micros as f64 / 1e6);
            let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
        }
    }
}

/// Escapes a label value as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The host's metrics. Cheap to update from any task.
#[derive(Default)]
pub struct Metrics {
    webhooks_received: Family,
    webhooks_refused: Family,
    messages_stored: Family,
    duplicates: Family,
    flow_steps: AtomicU64,
    flow_failures: AtomicU64,
    outbound_sent: Family,
    outbound_failed: Family,
    outbound_retries: Family,
    plugin_calls: Family,
    plugin_call_micros: Family,
    plugin_errors: Family,
    plugin_versions: Family,
    webhook_seconds: Histograms,
    plugin_call_seconds: Histograms,
}

/// Gauges read from the store when `/metrics` is scraped.
#[derive(Default)]
pub struct Gauges {
    /// (queue, waiting conversations)
    pub queue_depth: Vec<(String, i64)>,
    /// (state, conversations)
    pub conversations: Vec<(String, i64)>,
    pub outbound_pending: i64,
    /// (integration, deauthorized)
    pub integrations: Vec<(String, bool)>,
}

impl Metrics {
    pub fn webhook_received(&self, integration: &str) {
        self.webhooks_received
            .add(format!("integration=\"{}\"", label(integration)), 1);
    }

    /// A webhook answered with an error; `reason` is the error code (`unauthorized`, ...).
    pub fn webhook_refused(&self, integration: &str, reason: &str) {
        self.webhooks_refused.add(
            format!(
                "integration=\"{}\",reason=\"{}\"",
                label(integration),
                label(reason)
            ),
            1,
        );
    }

    pub fn messages_stored(&self, integration: &str, kind: &str, n: u64) {
        self.messages_stored.add(
            format!(
                "integration=\"{}\",kind=\"{}\"",
                label(integration),
                label(kind)
            ),
            n,
        );
    }

    /// How long a webhook of a known integration took to answer, stored events included.
    pub fn webhook_handled(&self, integration: &str, seconds: f64) {
        self.webhook_seconds
            .observe(format!("integration=\"{}\"", label(integration)), seconds);
    }

    pub fn duplicate(&self, integration: &str) {
        self.duplicates
            .add(format!("integration=\"{}\"", label(integration)), 1);
    }

    pub fn flow_steps(&self, n: u32) {
        self.flow_steps.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn flow_failed(&self) {
        self.flow_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn outbound_sent(&self, integration: &str) {
        self.outbound_sent
            .add(format!("integration=\"{}\"", label(integration)), 1);
    }

    pub fn outbound_failed(&self, integration: &str, code: &str) {
        self.outbound_failed.add(
            format!(
                "integration=\"{}\",reason=\"{}\"",
                label(integration),
                label(code)
            ),
            1,
        );
    }

    pub fn outbound_retry(&self, integration: &str, code: &str) {
        self.outbound_retries.add(
            format!(
                "integration=\"{}\",reason=\"{}\"",
                label(integration),
                label(code)
            ),
            1,
        );
    }

    /// A call served by version `version` of a plugin (to see which version handles traffic
    /// across a hot swap).
    pub fn plugin_version_call(&self, plugin: &str, version: i64, function: &str) {
        self.plugin_versions.add(
            format!(
                "plugin=\"{}\",version=\"{version}\",function=\"{}\"",
                label(plugin),
                label(function)
            ),
            1,
        );
    }

    pub fn plugin_call(&self, plugin: &str, function: &str, micros: u64, error: Option<&str>) {
        let labels = format!(
            "plugin=\"{}\",function=\"{}\"",
            label(plugin),
            label(function)
        );
        self.plugin_call_seconds
            .observe(labels.clone(), micros as f64 / 1e6);
        self.plugin_calls.add(labels.clone(), 1);
        self.plugin_call_micros.add(labels.clone(), micros);
        if let Some(kind) = error {
            self.plugin_errors
                .add(format!("{labels},kind=\"{}\"", label(kind)), 1);
        }
    }

    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP switchboard_build_info The running build.\n# TYPE switchboard_build_info gauge\nswitchboard_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        self.webhook_seconds.render(
            &mut out,
            "switchboard_webhook_duration_seconds",
            "Time to answer a webhook (adapter and durable store included), per integration.",
        );
        self.plugin_call_seconds.render(
            &mut out,
            "switchboard_plugin_call_duration_seconds",
            "Time of one plugin call, per plugin and function.",
        );
        self.webhooks_received.render(
            &mut out,
            "switchboard_webhooks_received_total",
            "Webhook requests received, per integration.",
            "counter",
        );
        self.webhooks_refused.render(
            &mut out,
            "switchboard_webhooks_refused_total",
            "Webhook requests answered with an error, per integration and reason.",
            "counter",
        );
        self.messages_stored.render(
            &mut out,
            "switchboard_events_stored_total",
            "Inbound events stored durably, per integration and kind.",
            "counter",
        );
        self.duplicates.render(
            &mut out,
            "switchboard_events_duplicate_total",
            "Inbound events ignored as redeliveries of stored ones.",
            "counter",
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_flow_steps_total Flow steps run.\n# TYPE switchboard_flow_steps_total counter\nswitchboard_flow_steps_total {}",
            self.flow_steps.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_flow_failures_total Flow turns that failed with no error handler.\n# TYPE switchboard_flow_failures_total counter\nswitchboard_flow_failures_total {}",
            self.flow_failures.load(Ordering::Relaxed)
        );
        self.outbound_sent.render(
            &mut out,
            "switchboard_outbound_sent_total",
            "Messages the platform accepted, per integration.",
            "counter",
        );
        self.outbound_failed.render(
            &mut out,
            "switchboard_outbound_failed_total",
            "Messages that failed for good, per integration and reason.",
            "counter",
        );
        self.outbound_retries.render(
            &mut out,
            "switchboard_outbound_retries_total",
            "Send attempts that will be retried, per integration and reason.",
            "counter",
        );
        self.plugin_calls.render(
            &mut out,
            "switchboard_plugin_calls_total",
            "Calls into plugins, per plugin and function.",
            "counter",
        );
        self.plugin_call_micros.render(
            &mut out,
            "switchboard_plugin_call_microseconds_total",
            "Time spent in plugin calls, per plugin and function.",
            "counter",
        );
        self.plugin_errors.render(
            &mut out,
            "switchboard_plugin_errors_total",
            "Plugin calls that trapped, timed out or ran out of memory.",
            "counter",
        );
        self.plugin_versions.render(
            &mut out,
            "switchboard_plugin_version_calls_total",
            "Plugin calls per plugin version (adapters), to follow a hot swap.",
            "counter",
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_queue_depth Conversations waiting in each queue.\n# TYPE switchboard_queue_depth gauge"
        );
        for (queue, n) in &gauges.queue_depth {
            let _ = writeln!(
                out,
                "switchboard_queue_depth{{queue=\"{}\"}} {n}",
                label(queue)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_conversations Conversations per state.\n# TYPE switchboard_conversations gauge"
        );
        for (state, n) in &gauges.conversations {
            let _ = writeln!(
                out,
                "switchboard_conversations{{state=\"{}\"}} {n}",
                label(state)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_outbound_pending Messages waiting to be sent.\n# TYPE switchboard_outbound_pending gauge\nswitchboard_outbound_pending {}",
            gauges.outbound_pending
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_integration_deauthorized 1 while the platform refuses the integration's credentials.\n# TYPE switchboard_integration_deauthorized gauge"
        );
        for (integration, deauthorized) in &gauges.integrations {
            let _ = writeln!(
                out,
                "switchboard_integration_deauthorized{{integration=\"{}\"}} {}",
                label(integration),
                u8::from(*deauthorized)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::default();
        m.webhook_received("x-demo");
        m.webhook_received("x-demo");
        m.webhook_refused("x\"odd", "unauthorized");
        let text = m.render(&Gauges {
            queue_depth: vec![("support".into(), 3)],
            ..Default::default()
        });
        assert!(
            text.contains("switchboard_webhooks_received_total{integration=\"x-demo\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("switchboard_webhooks_refused_total{integration=\"x\\\"odd\",reason=\"unauthorized\"} 1\n"), "{text}");
        assert!(
            text.contains("switchboard_queue_depth{queue=\"support\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn histograms_are_cumulative_in_seconds() {
        let m = Metrics::default();
        m.webhook_handled("x-demo", 0.003);
        m.webhook_handled("x-demo", 0.2);
        m.webhook_handled("x-demo", 30.0);
        let text = m.render(&Gauges::default());
        let name = "switchboard_webhook_duration_seconds";
        for line in [
            format!("{name}_bucket{{integration=\"x-demo\",le=\"0.001\"}} 0\n"),
            format!("{name}_bucket{{integration=\"x-demo\",le=\"0.005\"}} 1\n"),
            format!("{name}_bucket{{integration=\"x-demo\",le=\"0.25\"}} 2\n"),
            format!("{name}_bucket{{integration=\"x-demo\",le=\"10\"}} 2\n"),
            format!("{name}_bucket{{integration=\"x-demo\",le=\"+Inf\"}} 3\n"),
            format!("{name}_sum{{integration=\"x-demo\"}} 30.203\n"),
            format!("{name}_count{{integration=\"x-demo\"}} 3\n"),
            format!("# TYPE {name} histogram\n"),
        ] {
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains("switchboard_build_info{version=\""), "{text}");
    }
}
