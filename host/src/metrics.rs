//! The host's metrics for `/metrics`, kept with the `prometheus-client` crate. The crate writes
//! the OpenMetrics text format; `/metrics` serves it as the Prometheus text format (version
//! 0.0.4), which differs only in naming a counter's family with its `_total` and in having no
//! `# EOF` line ([`openmetrics_to_prometheus`]), so that every scraper and script that reads
//! the older format keeps working.
//!
//! Counters and latency histograms are updated where the work happens. The gauges that describe
//! the store (queue depth, conversations per state, messages waiting to be sent) and the
//! integrations' deauthorized flags are set by a background refresher (`crate::gauges`) every
//! few seconds, so a scrape reads memory only and never queries the store.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The upper bounds, in seconds, of every latency histogram's buckets: 1 ms to 10 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A series' labels, in order (the encoder escapes their values).
type Labels = Vec<(&'static str, String)>;
type Counters = Family<Labels, Counter>;
type Gauges = Family<Labels, Gauge>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> Labels {
    pairs.into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

/// What the store and the integrations hold now, for the gauges: read by the refresher, set
/// with [`Metrics::set_figures`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    /// (queue, waiting conversations)
    pub queue_depth: Vec<(String, i64)>,
    /// (state, conversations)
    pub conversations: Vec<(String, i64)>,
    pub outbound_pending: i64,
    /// (integration, deauthorized)
    pub integrations: Vec<(String, bool)>,
}

/// The host's metrics. Cheap to update from any task; rendering reads memory only.
pub struct Metrics {
    registry: Registry,
    webhooks_received: Counters,
    webhooks_refused: Counters,
    messages_stored: Counters,
    duplicates: Counters,
    flow_steps: Counter,
    flow_failures: Counter,
    outbound_sent: Counters,
    outbound_failed: Counters,
    outbound_retries: Counters,
    plugin_calls: Counters,
    plugin_call_micros: Counters,
    plugin_errors: Counters,
    plugin_versions: Counters,
    webhook_seconds: Histograms,
    plugin_call_seconds: Histograms,
    flow_turn_seconds: Histograms,
    send_seconds: Histograms,
    queue_depth: Gauges,
    conversations: Gauges,
    outbound_pending: Gauge,
    deauthorized: Gauges,
    /// The figures last set, so that a series no longer reported (a state no conversation is
    /// in any more) is dropped rather than left at its old value.
    last: Mutex<Figures>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let build_info = Gauges::default();
        build_info
            .get_or_create(&labels([("version", env!("CARGO_PKG_VERSION"))]))
            .set(1);
        // The help texts end without a full stop: the registry adds one.
        registry.register("switchboard_build_info", "The running build", build_info);
        let histograms = |registry: &mut Registry, name: &str, help: &str| {
            let family = Histograms::new_with_constructor(histogram);
            registry.register(name, help, family.clone());
            family
        };
        let webhook_seconds = histograms(
            &mut registry,
            "switchboard_webhook_duration_seconds",
            "Time to answer a webhook (adapter and durable store included), per integration",
        );
        let plugin_call_seconds = histograms(
            &mut registry,
            "switchboard_plugin_call_duration_seconds",
            "Time of one plugin call, per plugin and function",
        );
        let flow_turn_seconds = histograms(
            &mut registry,
            "switchboard_flow_turn_duration_seconds",
            "Time of one flow turn (the flow run for one event, its plugin calls included), per flow",
        );
        let send_seconds = histograms(
            &mut registry,
            "switchboard_send_duration_seconds",
            "Time of one send attempt (the adapter and the platform's answer), per integration and outcome (sent, retry, failed)",
        );
        // Counters: the registry names them with `_total` added.
        let mut counters = |name: &str, help: &str| {
            let family = Counters::default();
            registry.register(name, help, family.clone());
            family
        };
        let webhooks_received = counters(
            "switchboard_webhooks_received",
            "Webhook requests received, per integration",
        );
        let webhooks_refused = counters(
            "switchboard_webhooks_refused",
            "Webhook requests answered with an error, per integration and reason",
        );
        let messages_stored = counters(
            "switchboard_events_stored",
            "Inbound events stored durably, per integration and kind",
        );
        let duplicates = counters(
            "switchboard_events_duplicate",
            "Inbound events ignored as redeliveries of stored ones",
        );
        let outbound_sent = counters(
            "switchboard_outbound_sent",
            "Messages the platform accepted, per integration",
        );
        let outbound_failed = counters(
            "switchboard_outbound_failed",
            "Messages that failed for good, per integration and reason",
        );
        let outbound_retries = counters(
            "switchboard_outbound_retries",
            "Send attempts that will be retried, per integration and reason",
        );
        let plugin_calls = counters(
            "switchboard_plugin_calls",
            "Calls into plugins, per plugin and function",
        );
        let plugin_call_micros = counters(
            "switchboard_plugin_call_microseconds",
            "Time spent in plugin calls, per plugin and function",
        );
        let plugin_errors = counters(
            "switchboard_plugin_errors",
            "Plugin calls that trapped, timed out or ran out of memory",
        );
        let plugin_versions = counters(
            "switchboard_plugin_version_calls",
            "Plugin calls per plugin version (adapters), to follow a hot swap",
        );
        let flow_steps = Counter::default();
        registry.register(
            "switchboard_flow_steps",
            "Flow steps run",
            flow_steps.clone(),
        );
        let flow_failures = Counter::default();
        registry.register(
            "switchboard_flow_failures",
            "Flow turns that failed with no error handler",
            flow_failures.clone(),
        );
        let mut gauges = |name: &str, help: &str| {
            let family = Gauges::default();
            registry.register(name, help, family.clone());
            family
        };
        let queue_depth = gauges(
            "switchboard_queue_depth",
            "Conversations waiting in each queue (in the whole store: every host sharing it reports the same; refreshed every few seconds)",
        );
        let conversations = gauges(
            "switchboard_conversations",
            "Conversations per state (in the whole store: every host sharing it reports the same; refreshed every few seconds)",
        );
        let deauthorized = gauges(
            "switchboard_integration_deauthorized",
            "1 while the platform refuses the integration's credentials (refreshed every few seconds)",
        );
        let outbound_pending = Gauge::default();
        registry.register(
            "switchboard_outbound_pending",
            "Messages waiting to be sent (in the whole store: every host sharing it reports the same; refreshed every few seconds)",
            outbound_pending.clone(),
        );
        Metrics {
            registry,
            webhooks_received,
            webhooks_refused,
            messages_stored,
            duplicates,
            flow_steps,
            flow_failures,
            outbound_sent,
            outbound_failed,
            outbound_retries,
            plugin_calls,
            plugin_call_micros,
            plugin_errors,
            plugin_versions,
            webhook_seconds,
            plugin_call_seconds,
            flow_turn_seconds,
            send_seconds,
            queue_depth,
            conversations,
            outbound_pending,
            deauthorized,
            last: Mutex::default(),
        }
    }
}

impl Metrics {
    pub fn webhook_received(&self, integration: &str) {
        self.webhooks_received
            .get_or_create(&labels([("integration", integration)]))
            .inc();
    }

    /// A webhook answered with an error; `reason` is the error code (`unauthorized`, ...).
    pub fn webhook_refused(&self, integration: &str, reason: &str) {
        self.webhooks_refused
            .get_or_create(&labels([("integration", integration), ("reason", reason)]))
            .inc();
    }

    pub fn messages_stored(&self, integration: &str, kind: &str, n: u64) {
        self.messages_stored
            .get_or_create(&labels([("integration", integration), ("kind", kind)]))
            .inc_by(n);
    }

    /// How long a webhook of a known integration took to answer, stored events included.
    pub fn webhook_handled(&self, integration: &str, seconds: f64) {
        self.webhook_seconds
            .get_or_create(&labels([("integration", integration)]))
            .observe(seconds);
    }

    pub fn duplicate(&self, integration: &str) {
        self.duplicates
            .get_or_create(&labels([("integration", integration)]))
            .inc();
    }

    pub fn flow_steps(&self, n: u32) {
        self.flow_steps.inc_by(u64::from(n));
    }

    pub fn flow_failed(&self) {
        self.flow_failures.inc();
    }

    /// How long one flow turn of `flow` took, its plugin calls included.
    pub fn flow_turn(&self, flow: &str, seconds: f64) {
        self.flow_turn_seconds
            .get_or_create(&labels([("flow", flow)]))
            .observe(seconds);
    }

    /// How long one send attempt took; `outcome` is `sent`, `retry` or `failed`.
    pub fn send_attempt(&self, integration: &str, outcome: &str, seconds: f64) {
        self.send_seconds
            .get_or_create(&labels([
                ("integration", integration),
                ("outcome", outcome),
            ]))
            .observe(seconds);
    }

    pub fn outbound_sent(&self, integration: &str) {
        self.outbound_sent
            .get_or_create(&labels([("integration", integration)]))
            .inc();
    }

    pub fn outbound_failed(&self, integration: &str, code: &str) {
        self.outbound_failed
            .get_or_create(&labels([("integration", integration), ("reason", code)]))
            .inc();
    }

    pub fn outbound_retry(&self, integration: &str, code: &str) {
        self.outbound_retries
            .get_or_create(&labels([("integration", integration), ("reason", code)]))
            .inc();
    }

    /// A call served by version `version` of a plugin (to see which version handles traffic
    /// across a hot swap).
    pub fn plugin_version_call(&self, plugin: &str, version: i64, function: &str) {
        self.plugin_versions
            .get_or_create(&labels([
                ("plugin", plugin),
                ("version", &version.to_string()),
                ("function", function),
            ]))
            .inc();
    }

    pub fn plugin_call(&self, plugin: &str, function: &str, micros: u64, error: Option<&str>) {
        let series = labels([("plugin", plugin), ("function", function)]);
        self.plugin_call_seconds
            .get_or_create(&series)
            .observe(micros as f64 / 1e6);
        self.plugin_calls.get_or_create(&series).inc();
        self.plugin_call_micros
            .get_or_create(&series)
            .inc_by(micros);
        if let Some(kind) = error {
            let mut series = series;
            series.push(("kind", kind.to_string()));
            self.plugin_errors.get_or_create(&series).inc();
        }
    }

    /// Sets the gauges to `figures`, dropping the series of the previous figures that these no
    /// longer name.
    pub fn set_figures(&self, figures: Figures) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        set_family(
            &self.queue_depth,
            "queue",
            &last.queue_depth,
            &figures.queue_depth,
        );
        set_family(
            &self.conversations,
            "state",
            &last.conversations,
            &figures.conversations,
        );
        let deauthorized = |all: &[(String, bool)]| -> Vec<(String, i64)> {
            all.iter()
                .map(|(id, d)| (id.clone(), i64::from(*d)))
                .collect()
        };
        set_family(
            &self.deauthorized,
            "integration",
            &deauthorized(&last.integrations),
            &deauthorized(&figures.integrations),
        );
        self.outbound_pending.set(figures.outbound_pending);
        *last = figures;
    }

    /// Every metric in the Prometheus text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a `String` fails only if a metric's encoding does, which none here does.
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        openmetrics_to_prometheus(&out)
    }
}

/// The Prometheus text format (0.0.4) of OpenMetrics text with counters, gauges and histograms
/// only (what [`Metrics`] registers): a counter's `# HELP` and `# TYPE` name its samples'
/// `_total` name, and the `# EOF` line goes. Samples are the same in both.
fn openmetrics_to_prometheus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // A `# HELP` line waits for its `# TYPE` line to know whether the family is a counter.
    let mut help: Option<(&str, &str)> = None;
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest.split_once(' ');
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, kind)) = rest.split_once(' ')
        {
            let suffix = if kind == "counter" { "_total" } else { "" };
            if let Some((help_name, help_text)) = help.take()
                && help_name == name
            {
                out.push_str(&format!("# HELP {name}{suffix} {help_text}\n"));
            }
            out.push_str(&format!("# TYPE {name}{suffix} {kind}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Sets a gauge family with one label to `now`, removing the series only `before` had.
fn set_family(family: &Gauges, key: &'static str, before: &[(String, i64)], now: &[(String, i64)]) {
    for (value, n) in now {
        family.get_or_create(&labels([(key, value)])).set(*n);
    }
    for (value, _) in before {
        if !now.iter().any(|(v, _)| v == value) {
            family.remove(&labels([(key, value)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `series` (name and labels as rendered) in `text`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn renders_every_family_under_its_old_name() {
        let m = Metrics::default();
        m.webhook_received("x-demo");
        m.webhook_received("x-demo");
        m.webhook_refused("x\"odd", "unauthorized");
        m.messages_stored("x-demo", "message", 3);
        m.duplicate("x-demo");
        m.flow_steps(4);
        m.flow_failed();
        m.outbound_sent("x-demo");
        m.outbound_failed("x-demo", "rejected");
        m.outbound_retry("x-demo", "rate_limited");
        m.plugin_call("faq-bot", "answer", 1500, Some("trap"));
        m.plugin_version_call("x", 2, "handle-webhook");
        let text = m.render();
        for line in [
            "switchboard_webhooks_received_total{integration=\"x-demo\"} 2\n",
            "switchboard_webhooks_refused_total{integration=\"x\\\"odd\",reason=\"unauthorized\"} 1\n",
            "switchboard_events_stored_total{integration=\"x-demo\",kind=\"message\"} 3\n",
            "switchboard_events_duplicate_total{integration=\"x-demo\"} 1\n",
            "switchboard_flow_steps_total 4\n",
            "switchboard_flow_failures_total 1\n",
            "switchboard_outbound_sent_total{integration=\"x-demo\"} 1\n",
            "switchboard_outbound_failed_total{integration=\"x-demo\",reason=\"rejected\"} 1\n",
            "switchboard_outbound_retries_total{integration=\"x-demo\",reason=\"rate_limited\"} 1\n",
            "switchboard_plugin_calls_total{plugin=\"faq-bot\",function=\"answer\"} 1\n",
            "switchboard_plugin_call_microseconds_total{plugin=\"faq-bot\",function=\"answer\"} 1500\n",
            "switchboard_plugin_errors_total{plugin=\"faq-bot\",function=\"answer\",kind=\"trap\"} 1\n",
            "switchboard_plugin_version_calls_total{plugin=\"x\",version=\"2\",function=\"handle-webhook\"} 1\n",
            "# TYPE switchboard_webhooks_received_total counter\n",
            "# HELP switchboard_webhooks_received_total Webhook requests received, per integration.\n",
            "# TYPE switchboard_flow_steps_total counter\n",
            "# TYPE switchboard_build_info gauge\n",
            &format!(
                "switchboard_build_info{{version=\"{}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
        // No help text ends with two full stops (the registry adds one).
        assert!(!text.contains(".."), "{text}");
    }

    /// In the Prometheus text format a sample is named as its family's `# TYPE` line, with
    /// `_bucket`, `_sum` or `_count` after it for a histogram; the families have a `# HELP`.
    #[test]
    fn every_sample_belongs_to_the_family_typed_before_it() {
        let m = Metrics::default();
        m.webhook_received("x-demo");
        m.webhook_refused("x-demo", "malformed");
        m.messages_stored("x-demo", "message", 1);
        m.duplicate("x-demo");
        m.outbound_sent("x-demo");
        m.outbound_failed("x-demo", "rejected");
        m.outbound_retry("x-demo", "timeout");
        m.plugin_version_call("x", 1, "handle-webhook");
        m.webhook_handled("x-demo", 0.01);
        m.flow_turn("support", 0.01);
        m.send_attempt("x-demo", "sent", 0.01);
        m.plugin_call("faq-bot", "answer", 10, Some("timeout"));
        m.set_figures(Figures {
            queue_depth: vec![("support".into(), 1)],
            conversations: vec![("queued".into(), 1)],
            outbound_pending: 1,
            integrations: vec![("x-demo".into(), false)],
        });
        let text = m.render();
        let (mut family, mut kind, mut helped) = (String::new(), String::new(), String::new());
        let mut families = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                helped = rest.split_once(' ').unwrap().0.to_string();
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, k) = rest.split_once(' ').unwrap();
                assert_eq!(helped, name, "{line} has its # HELP before it");
                (family, kind) = (name.to_string(), k.to_string());
                families += 1;
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                let ok = match kind.as_str() {
                    "histogram" => ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name == format!("{family}{s}")),
                    "counter" | "gauge" => {
                        name == family && name.ends_with("_total") == (kind == "counter")
                    }
                    _ => false,
                };
                assert!(ok, "{line} under # TYPE {family} {kind}");
            }
        }
        // Every family registered, none left out: build info, 4 histograms, 13 counters and
        // 4 gauges.
        assert_eq!(families, 22, "{text}");
    }

    #[test]
    fn histograms_are_cumulative_in_seconds() {
        let m = Metrics::default();
        m.webhook_handled("x-demo", 0.003);
        m.webhook_handled("x-demo", 0.2);
        m.webhook_handled("x-demo", 30.0);
        let text = m.render();
        let name = "switchboard_webhook_duration_seconds";
        for (series, value) in [
            (
                format!("{name}_bucket{{le=\"0.001\",integration=\"x-demo\"}}"),
                0.0,
            ),
            (
                format!("{name}_bucket{{le=\"0.005\",integration=\"x-demo\"}}"),
                1.0,
            ),
            (
                format!("{name}_bucket{{le=\"0.25\",integration=\"x-demo\"}}"),
                2.0,
            ),
            (
                format!("{name}_bucket{{le=\"10.0\",integration=\"x-demo\"}}"),
                2.0,
            ),
            (
                format!("{name}_bucket{{le=\"+Inf\",integration=\"x-demo\"}}"),
                3.0,
            ),
            (format!("{name}_count{{integration=\"x-demo\"}}"), 3.0),
        ] {
            assert_eq!(sample(&text, &series), Some(value), "{series} in {text}");
        }
        let sum = sample(&text, &format!("{name}_sum{{integration=\"x-demo\"}}")).unwrap();
        assert!((sum - 30.203).abs() < 1e-9, "{sum}");
        assert!(
            text.contains(&format!("# TYPE {name} histogram\n")),
            "{text}"
        );
    }

    #[test]
    fn flow_turns_sends_and_plugin_calls_have_histograms() {
        let m = Metrics::default();
        m.flow_turn("support", 0.02);
        m.send_attempt("x-demo", "sent", 0.3);
        m.send_attempt("x-demo", "retry", 2.0);
        m.plugin_call("faq-bot", "answer", 4_000, None);
        let text = m.render();
        for (series, value) in [
            (
                "switchboard_flow_turn_duration_seconds_count{flow=\"support\"}",
                1.0,
            ),
            (
                "switchboard_flow_turn_duration_seconds_bucket{le=\"0.025\",flow=\"support\"}",
                1.0,
            ),
            (
                "switchboard_flow_turn_duration_seconds_bucket{le=\"0.01\",flow=\"support\"}",
                0.0,
            ),
            (
                "switchboard_send_duration_seconds_count{integration=\"x-demo\",outcome=\"sent\"}",
                1.0,
            ),
            (
                "switchboard_send_duration_seconds_count{integration=\"x-demo\",outcome=\"retry\"}",
                1.0,
            ),
            (
                "switchboard_send_duration_seconds_bucket{le=\"1.0\",integration=\"x-demo\",outcome=\"retry\"}",
                0.0,
            ),
            (
                "switchboard_plugin_call_duration_seconds_bucket{le=\"0.005\",plugin=\"faq-bot\",function=\"answer\"}",
                1.0,
            ),
            (
                "switchboard_plugin_call_duration_seconds_sum{plugin=\"faq-bot\",function=\"answer\"}",
                0.004,
            ),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in {text}");
        }
    }

    #[test]
    fn gauges_show_the_figures_last_set() {
        let m = Metrics::default();
        m.set_figures(Figures {
            queue_depth: vec![("support".into(), 3), ("sales".into(), 0)],
            conversations: vec![("queued".into(), 3), ("bot".into(), 2)],
            outbound_pending: 7,
            integrations: vec![("x-demo".into(), true)],
        });
        let text = m.render();
        for (series, value) in [
            ("switchboard_queue_depth{queue=\"support\"}", 3.0),
            ("switchboard_queue_depth{queue=\"sales\"}", 0.0),
            ("switchboard_conversations{state=\"queued\"}", 3.0),
            ("switchboard_conversations{state=\"bot\"}", 2.0),
            ("switchboard_outbound_pending", 7.0),
            (
                "switchboard_integration_deauthorized{integration=\"x-demo\"}",
                1.0,
            ),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in {text}");
        }
        // The next figures replace these: a state no longer counted is dropped, not left at 2.
        m.set_figures(Figures {
            queue_depth: vec![("support".into(), 1)],
            conversations: vec![("queued".into(), 1)],
            outbound_pending: 0,
            integrations: vec![("x-demo".into(), false)],
        });
        let text = m.render();
        assert_eq!(
            sample(&text, "switchboard_queue_depth{queue=\"support\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "switchboard_queue_depth{queue=\"sales\"}"),
            None
        );
        assert_eq!(
            sample(&text, "switchboard_conversations{state=\"bot\"}"),
            None
        );
        assert_eq!(sample(&text, "switchboard_outbound_pending"), Some(0.0));
        assert_eq!(
            sample(
                &text,
                "switchboard_integration_deauthorized{integration=\"x-demo\"}"
            ),
            Some(0.0)
        );
    }
}
