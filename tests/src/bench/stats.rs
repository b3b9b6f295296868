//! Percentiles and latency summaries.
//!
//! A latency that never came (a reply still missing when the bench stopped waiting) counts as
//! longer than every measured one, so a percentile that falls among the missing is unknown
//! rather than flattered by leaving them out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A latency distribution as the report shows it, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Latencies measured.
    pub count: u64,
    /// Latencies that never came (counted as longer than any measured one).
    #[serde(default)]
    pub missing: u64,
    /// `None` when the percentile falls among the missing (or nothing was measured).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Latency {
    /// Summarizes `measured` (in any order) plus `missing` that never came.
    pub fn of(mut measured: Vec<Duration>, missing: u64) -> Latency {
        measured.sort_unstable();
        Latency {
            count: measured.len() as u64,
            missing,
            p50_ms: percentile_ms(&measured, missing, 0.50),
            p99_ms: percentile_ms(&measured, missing, 0.99),
            max_ms: if missing > 0 {
                None
            } else {
                measured.last().map(ms)
            },
        }
    }
}

/// Nearest-rank percentile `p` (0..=1) of `sorted` latencies followed by `missing` infinite
/// ones, in milliseconds; `None` when the rank falls among the missing or there is nothing.
pub fn percentile_ms(sorted: &[Duration], missing: u64, p: f64) -> Option<f64> {
    let total = sorted.len() as u64 + missing;
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
    sorted.get(usize::try_from(rank - 1).ok()?).map(ms)
}

/// A duration in milliseconds.
pub fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A number with `digits` decimals, or `n/a`.
pub fn show(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
}

/// `a / b`, or `None` when `b` is not positive.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(range: std::ops::RangeInclusive<u64>) -> Vec<Duration> {
        range.map(Duration::from_millis).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted = millis(1..=100);
        assert_eq!(percentile_ms(&sorted, 0, 0.50), Some(50.0));
        assert_eq!(percentile_ms(&sorted, 0, 0.99), Some(99.0));
        assert_eq!(percentile_ms(&sorted[..1], 0, 0.99), Some(1.0));
        assert_eq!(percentile_ms(&[], 0, 0.5), None);
    }

    #[test]
    fn missing_latencies_count_as_the_longest() {
        // 98 measured and 2 missing: the 99th percentile is one of the missing.
        let sorted = millis(1..=98);
        assert_eq!(percentile_ms(&sorted, 2, 0.50), Some(50.0));
        assert_eq!(percentile_ms(&sorted, 2, 0.99), None);
        assert_eq!(percentile_ms(&[], 3, 0.5), None);
    }

    #[test]
    fn a_summary_sorts_and_says_what_is_missing() {
        let mut shuffled = millis(1..=100);
        shuffled.reverse();
        let summary = Latency::of(shuffled, 0);
        assert_eq!(
            (
                summary.count,
                summary.p50_ms,
                summary.p99_ms,
                summary.max_ms
            ),
            (100, Some(50.0), Some(99.0), Some(100.0))
        );
        let with_missing = Latency::of(millis(1..=10), 1);
        assert_eq!((with_missing.missing, with_missing.max_ms), (1, None));
        assert_eq!(Latency::of(Vec::new(), 0).p50_ms, None);
    }

    #[test]
    fn ratios_need_a_positive_divisor() {
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(3.0, 0.0), None);
        assert_eq!(
            (show(Some(2.345), 1), show(None, 1)),
            ("2.3".into(), "n/a".into())
        );
    }
}
