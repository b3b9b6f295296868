//! Waiting for the host to finish what a load left it: every accepted message's two replies at
//! the send API stand-in. A phase only starts on an idle host, and how long the wait took is a
//! figure of its own (the host's processing rate with no input arriving).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::bench::customers::Customers;

/// How often the slots are looked at while waiting.
const POLL: Duration = Duration::from_millis(50);

/// How a wait for the backlog went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drain {
    /// Messages waited for.
    pub messages: u64,
    /// Of those, unfinished when the load stopped.
    pub backlog: u64,
    /// Whether every one finished before the wait gave up.
    pub drained: bool,
    /// Still unfinished when the wait ended (0 when drained).
    pub unfinished: u64,
    /// From the end of the load to the last reply (`None` when not drained).
    pub seconds: Option<f64>,
    /// The backlog divided by `seconds`: the host's pace with no input arriving.
    pub msgs_per_s: Option<f64>,
}

/// Waits until every one of `customers` has both replies, or `timeout` after now; the load
/// ended at `load_end`.
pub async fn wait(
    registry: &Customers,
    customers: &[u64],
    load_end: Instant,
    timeout: Duration,
) -> Drain {
    let end = registry.since_epoch(load_end);
    let backlog = registry.unfinished_by(customers, end);
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<u64> = customers
        .iter()
        .copied()
        .filter(|c| !registry.seen(*c).finished_by(end))
        .collect();
    loop {
        pending.retain(|c| registry.seen(*c).second_reply.is_none());
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let drained = pending.is_empty();
    let last_reply = customers
        .iter()
        .filter_map(|c| registry.seen(*c).second_reply)
        .max();
    let seconds = drained.then(|| {
        last_reply
            .map_or(Duration::ZERO, |last| last.saturating_sub(end))
            .as_secs_f64()
    });
    Drain {
        messages: customers.len() as u64,
        backlog,
        drained,
        unfinished: pending.len() as u64,
        seconds,
        msgs_per_s: seconds
            .filter(|s| *s > 0.0 && backlog > 0)
            .map(|s| backlog as f64 / s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drain_reports_the_time_to_the_last_reply() {
        let registry = Customers::new();
        let customers: Vec<u64> = registry.reserve(3).collect();
        let end = Instant::now();
        for c in &customers {
            registry.sent(*c, end - Duration::from_millis(10));
        }
        // Customer 0 finished before the end; 1 and 2 after it.
        registry.replied(0, end - Duration::from_millis(5));
        registry.replied(0, end - Duration::from_millis(4));
        for c in [1, 2] {
            registry.replied(c, end + Duration::from_millis(100));
            registry.replied(c, end + Duration::from_millis(200 * c));
        }
        let drain = wait(&registry, &customers, end, Duration::from_secs(1)).await;
        assert!(drain.drained);
        assert_eq!((drain.messages, drain.backlog, drain.unfinished), (3, 2, 0));
        assert!((drain.seconds.unwrap() - 0.4).abs() < 1e-9);
        assert!((drain.msgs_per_s.unwrap() - 5.0).abs() < 1e-6);

        let stuck: Vec<u64> = registry.reserve(1).collect();
        let drain = wait(&registry, &stuck, end, Duration::from_millis(60)).await;
        assert!(!drain.drained);
        assert_eq!((drain.unfinished, drain.seconds), (1, None));
    }
}
