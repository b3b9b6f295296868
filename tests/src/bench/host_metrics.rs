//! The host's own counters (`GET /metrics`), read between phases to say where a backlog sits:
//! webhooks not yet answered, messages stored but not yet through their flow turn, or replies
//! written but not yet sent. Also the time spent in each plugin function, per call.
//!
//! `/metrics` reads the host's memory only; its gauges about the store (`outbound_pending`
//! among them) are refreshed every 5 s, so they may lag a step's end by that much. The phases
//! scrape at the edges of a step.
//!
//! Several hosts on one store are scraped each and added up ([`HostCounters::merge`]): the
//! counters count what each process did, while every host's `outbound_pending` is read from the
//! shared store (the largest is kept).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{self, Target, Targets};

/// The counters of one integration, and the host-wide gauges, at one scrape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostCounters {
    pub events_stored: u64,
    pub replies_sent: u64,
    pub replies_failed: u64,
    pub send_retries: u64,
    pub flow_steps: u64,
    /// Messages written and waiting to be sent (every integration).
    pub outbound_pending: u64,
    /// Calls and microseconds per plugin function (every plugin).
    pub plugin_calls: Vec<PluginCalls>,
}

/// Calls into one plugin function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginCalls {
    pub plugin: String,
    pub function: String,
    pub calls: u64,
    pub micros: u64,
}

impl PluginCalls {
    pub fn mean_us(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.micros as f64 / self.calls as f64)
    }
}

/// Where the messages of a step that were not finished at its end were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backlog {
    /// Webhooks sent and not yet answered.
    pub webhooks_unanswered: u64,
    /// Messages stored whose flow turn had not yet written their replies (estimated from the
    /// counters: stored, less half the replies written).
    pub awaiting_flow: u64,
    /// Replies written and waiting to be sent.
    pub awaiting_send: u64,
}

/// Reads `/metrics` of `host` for `integration`; `None` (with a note on stderr) if it fails.
pub async fn scrape(host: &Target, integration: &str) -> Option<HostCounters> {
    let metrics = host.at("/metrics").ok()?;
    match http::get(&metrics, Duration::from_secs(20)).await {
        Ok((status, text)) if status.is_success() => Some(parse(&text, integration)),
        Ok((status, _)) => {
            eprintln!(
                "bench: GET /metrics answered {status}; going on without the host's counters"
            );
            None
        }
        Err(e) => {
            eprintln!("bench: GET /metrics failed ({e:#}); going on without the host's counters");
            None
        }
    }
}

/// The counters of every host in `hosts` added up; `None` if one of them cannot be read (a
/// partial sum would pass for the whole).
pub async fn scrape_all(hosts: &Targets, integration: &str) -> Option<HostCounters> {
    let mut each = Vec::with_capacity(hosts.len());
    for host in hosts.iter() {
        each.push(scrape(host, integration).await?);
    }
    Some(HostCounters::merge(&each))
}

/// One sample line: name, labels, value.
fn sample(line: &str) -> Option<(&str, &str, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    match series.split_once('{') {
        Some((name, labels)) => Some((name, labels.strip_suffix('}')?, value)),
        None => Some((series, "", value)),
    }
}

/// The value of label `key` in `k="v",k2="v2"` (values as the host writes them: no commas).
fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.trim_matches('"'))
    })
}

/// The counters of `integration` in the Prometheus text `text`.
pub fn parse(text: &str, integration: &str) -> HostCounters {
    let mut counters = HostCounters::default();
    for (name, labels, value) in text.lines().filter_map(sample) {
        let value = value as u64;
        let ours = label(labels, "integration") == Some(integration);
        match name {
            "switchboard_events_stored_total" if ours => counters.events_stored += value,
            "switchboard_outbound_sent_total" if ours => counters.replies_sent += value,
            "switchboard_outbound_failed_total" if ours => counters.replies_failed += value,
            "switchboard_outbound_retries_total" if ours => counters.send_retries += value,
            "switchboard_flow_steps_total" => counters.flow_steps += value,
            "switchboard_outbound_pending" => counters.outbound_pending += value,
            "switchboard_plugin_calls_total" | "switchboard_plugin_call_microseconds_total" => {
                let (Some(plugin), Some(function)) =
                    (label(labels, "plugin"), label(labels, "function"))
                else {
                    continue;
                };
                let entry = match counters
                    .plugin_calls
                    .iter_mut()
                    .position(|c| c.plugin == plugin && c.function == function)
                {
                    Some(i) => &mut counters.plugin_calls[i],
                    None => {
                        counters.plugin_calls.push(PluginCalls {
                            plugin: plugin.to_owned(),
                            function: function.to_owned(),
                            ..PluginCalls::default()
                        });
                        counters.plugin_calls.last_mut().expect("just pushed")
                    }
                };
                if name == "switchboard_plugin_calls_total" {
                    entry.calls += value;
                } else {
                    entry.micros += value;
                }
            }
            _ => {}
        }
    }
    counters
}

impl HostCounters {
    /// The counters of several hosts on one store at about the same time: what each process
    /// counted is added up; the pending sends, read from the store they share, are counted once
    /// (the highest reading, as the scrapes are a moment apart).
    pub fn merge(hosts: &[HostCounters]) -> HostCounters {
        let mut total = HostCounters::default();
        for host in hosts {
            total.events_stored += host.events_stored;
            total.replies_sent += host.replies_sent;
            total.replies_failed += host.replies_failed;
            total.send_retries += host.send_retries;
            total.flow_steps += host.flow_steps;
            total.outbound_pending = total.outbound_pending.max(host.outbound_pending);
            for calls in &host.plugin_calls {
                match total
                    .plugin_calls
                    .iter_mut()
                    .find(|c| c.plugin == calls.plugin && c.function == calls.function)
                {
                    Some(sum) => {
                        sum.calls += calls.calls;
                        sum.micros += calls.micros;
                    }
                    None => total.plugin_calls.push(calls.clone()),
                }
            }
        }
        total
    }

    /// What the counters grew by since `before`; gauges keep their current value.
    pub fn since(&self, before: &HostCounters) -> HostCounters {
        HostCounters {
            events_stored: self.events_stored.saturating_sub(before.events_stored),
            replies_sent: self.replies_sent.saturating_sub(before.replies_sent),
            replies_failed: self.replies_failed.saturating_sub(before.replies_failed),
            send_retries: self.send_retries.saturating_sub(before.send_retries),
            flow_steps: self.flow_steps.saturating_sub(before.flow_steps),
            outbound_pending: self.outbound_pending,
            plugin_calls: self
                .plugin_calls
                .iter()
                .map(|now| {
                    let then = before
                        .plugin_calls
                        .iter()
                        .find(|c| c.plugin == now.plugin && c.function == now.function);
                    PluginCalls {
                        calls: now.calls - then.map_or(0, |c| c.calls.min(now.calls)),
                        micros: now.micros - then.map_or(0, |c| c.micros.min(now.micros)),
                        ..now.clone()
                    }
                })
                .filter(|c| c.calls > 0)
                .collect(),
        }
    }
}

/// Where the unfinished messages of a step were at its end, from the counters at its start
/// (`before`, the host idle) and at its end, each message needing two replies.
pub fn backlog(before: &HostCounters, after: &HostCounters, webhooks_unanswered: u64) -> Backlog {
    let grown = after.since(before);
    let written = grown.replies_sent + grown.replies_failed + after.outbound_pending;
    let written = written.saturating_sub(before.outbound_pending);
    Backlog {
        webhooks_unanswered,
        awaiting_flow: grown.events_stored.saturating_sub(written / 2),
        awaiting_send: after.outbound_pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = r#"# HELP switchboard_events_stored_total Inbound events stored durably.
# TYPE switchboard_events_stored_total counter
switchboard_events_stored_total{integration="x-bench",kind="message"} 120
switchboard_events_stored_total{integration="trap-fixture",kind="message"} 7
switchboard_flow_steps_total 300
switchboard_outbound_sent_total{integration="x-bench"} 150
switchboard_outbound_pending 40
switchboard_plugin_calls_total{plugin="x",function="handle-webhook"} 120
switchboard_plugin_call_microseconds_total{plugin="x",function="handle-webhook"} 24000
"#;

    #[test]
    fn counters_are_read_for_one_integration() {
        let counters = parse(SCRAPE, "x-bench");
        assert_eq!(counters.events_stored, 120);
        assert_eq!(
            (
                counters.flow_steps,
                counters.replies_sent,
                counters.outbound_pending
            ),
            (300, 150, 40)
        );
        assert_eq!(counters.plugin_calls.len(), 1);
        assert_eq!(counters.plugin_calls[0].mean_us(), Some(200.0));
    }

    #[test]
    fn the_backlog_is_split_between_flow_and_send() {
        let before = HostCounters::default();
        let after = parse(SCRAPE, "x-bench");
        // 120 stored; 150 sent + 40 pending = 190 replies written, 95 messages' worth:
        // 25 messages still wait for their flow turn, 40 replies wait to be sent.
        let backlog = backlog(&before, &after, 3);
        assert_eq!(
            backlog,
            Backlog {
                webhooks_unanswered: 3,
                awaiting_flow: 25,
                awaiting_send: 40
            }
        );
        let delta = after.since(&after);
        assert_eq!((delta.events_stored, delta.plugin_calls.len()), (0, 0));
    }

    #[test]
    fn hosts_on_one_store_add_their_counters_and_share_the_pending_sends() {
        let a = parse(SCRAPE, "x-bench");
        let b = parse(
            &SCRAPE
                .replace("} 120", "} 80")
                .replace("outbound_pending 40", "outbound_pending 42"),
            "x-bench",
        );
        let both = HostCounters::merge(&[a.clone(), b]);
        assert_eq!(
            (both.events_stored, both.replies_sent, both.outbound_pending),
            (200, 300, 42)
        );
        assert_eq!(both.plugin_calls.len(), 1);
        assert_eq!(
            (both.plugin_calls[0].calls, both.plugin_calls[0].micros),
            (200, 48_000)
        );
        assert_eq!(HostCounters::merge(std::slice::from_ref(&a)), a);
    }
}
