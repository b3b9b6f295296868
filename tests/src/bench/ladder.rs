//! The sustained phase's rules, without I/O: when one rate step counts as sustained, and which
//! rate to try next.
//!
//! A rate is sustained when the host keeps up with it: at the end of the step fewer than one
//! second of input is still unfinished (a message is finished when both its replies reached the
//! send API), every webhook was answered 2xx, and the driver itself held the schedule. The
//! ladder starts near a tenth of the closed-loop intake rate (an open loop runs the whole flow,
//! not only intake), multiplies by 1.5 while steps pass, steps down when the first one fails,
//! and refines once between the last good rate and the first bad one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How far behind its schedule the driver may dispatch a request before the step says more
/// about the driver (or the machine it shares with the host) than about the host.
pub const MAX_DISPATCH_LAG: Duration = Duration::from_millis(250);

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The backlog stayed under one second of input and every webhook was answered 2xx.
    Sustained,
    /// One second of input or more was unfinished at the end of the step.
    Backlog,
    /// Webhooks were answered with something other than 2xx, or not at all.
    Refused,
    /// The driver fell behind its own schedule (see [`MAX_DISPATCH_LAG`]).
    DriverBehind,
}

impl Verdict {
    pub fn is_sustained(self) -> bool {
        self == Verdict::Sustained
    }
}

/// What the verdict of one step is decided on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCounts {
    /// Messages per second the step sent.
    pub rate: f64,
    /// Webhooks answered non-2xx or failing without an answer.
    pub refused: u64,
    /// Messages of the step whose two replies had not both arrived when the step ended
    /// (webhooks still unanswered included).
    pub unfinished_at_end: u64,
    /// The latest the driver dispatched a request after its scheduled time.
    pub max_dispatch_lag: Duration,
}

/// The backlog rule: fewer than one second of input unfinished.
pub fn backlog_bounded(unfinished: u64, rate: f64) -> bool {
    (unfinished as f64) < rate
}

/// The verdict of one step.
pub fn verdict(counts: &StepCounts) -> Verdict {
    if counts.max_dispatch_lag > MAX_DISPATCH_LAG {
        Verdict::DriverBehind
    } else if counts.refused > 0 {
        Verdict::Refused
    } else if backlog_bounded(counts.unfinished_at_end, counts.rate) {
        Verdict::Sustained
    } else {
        Verdict::Backlog
    }
}

/// The first rate of the ladder: a tenth of the closed-loop intake rate, at least 1/s.
pub fn first_rate(intake_req_per_s: f64) -> f64 {
    round_rate(intake_req_per_s / 10.0)
}

/// Rates are whole messages per second, at least one.
fn round_rate(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.round().max(1.0)
    } else {
        1.0
    }
}

/// Which rate to try next, from the steps tried so far.
#[derive(Debug, Clone)]
pub struct Ladder {
    start: f64,
    /// Multiplier between steps while they pass (and divisor while they fail).
    pub factor: f64,
    /// Steps tried between the last good and the first bad rate, once both are known.
    pub refinements: usize,
    /// The most steps in all.
    pub max_steps: usize,
    /// The most steps down when the first rate already fails.
    pub max_down: usize,
    /// No rate above this is tried (what the driver can send).
    pub max_rate: f64,
    tried: Vec<(f64, bool)>,
    /// How many steps had been tried when a good and a bad rate were first both known.
    bracketed_after: Option<usize>,
}

impl Ladder {
    pub fn new(start: f64) -> Ladder {
        Ladder {
            start: round_rate(start),
            factor: 1.5,
            refinements: 1,
            max_steps: 12,
            max_down: 4,
            max_rate: f64::INFINITY,
            tried: Vec::new(),
            bracketed_after: None,
        }
    }

    /// Records the outcome of a step at `rate`.
    pub fn record(&mut self, rate: f64, sustained: bool) {
        self.tried.push((rate, sustained));
        if self.bracketed_after.is_none() && self.best().is_some() && self.lowest_bad().is_some() {
            self.bracketed_after = Some(self.tried.len());
        }
    }

    /// The highest sustained rate so far.
    pub fn best(&self) -> Option<f64> {
        self.tried
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(rate, _)| *rate)
            .reduce(f64::max)
    }

    /// The lowest failed rate above the best one (or the lowest failed rate at all).
    fn lowest_bad(&self) -> Option<f64> {
        let floor = self.best().unwrap_or(0.0);
        self.tried
            .iter()
            .filter(|(rate, ok)| !*ok && *rate > floor)
            .map(|(rate, _)| *rate)
            .reduce(f64::min)
    }

    /// The next rate to try, or `None` when the ladder is done.
    pub fn next(&self) -> Option<f64> {
        if self.tried.len() >= self.max_steps {
            return None;
        }
        let rate = match (self.best(), self.lowest_bad()) {
            (None, None) => self.start,
            (Some(good), None) => round_rate(good * self.factor).max(good + 1.0),
            (None, Some(bad)) => {
                let down = self.tried.len();
                let rate = round_rate(bad / self.factor);
                if down > self.max_down || rate >= bad {
                    return None;
                }
                rate
            }
            (Some(good), Some(bad)) => {
                let refined = self.tried.len() - self.bracketed_after.unwrap_or(0);
                let middle = round_rate((good * bad).sqrt());
                if refined >= self.refinements || middle <= good || middle >= bad {
                    return None;
                }
                middle
            }
        };
        (rate <= self.max_rate).then_some(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rate: f64, refused: u64, unfinished: u64, lag_ms: u64) -> StepCounts {
        StepCounts {
            rate,
            refused,
            unfinished_at_end: unfinished,
            max_dispatch_lag: Duration::from_millis(lag_ms),
        }
    }

    #[test]
    fn a_rate_is_sustained_with_less_than_a_second_of_input_unfinished() {
        assert_eq!(verdict(&counts(100.0, 0, 99, 0)), Verdict::Sustained);
        assert_eq!(verdict(&counts(100.0, 0, 100, 0)), Verdict::Backlog);
        assert_eq!(verdict(&counts(100.0, 1, 0, 0)), Verdict::Refused);
        assert_eq!(verdict(&counts(100.0, 0, 0, 400)), Verdict::DriverBehind);
        assert!(backlog_bounded(0, 0.5));
        assert!(!backlog_bounded(1, 0.5));
    }

    #[test]
    fn the_first_rate_is_a_tenth_of_intake() {
        assert_eq!(first_rate(1234.0), 123.0);
        assert_eq!(first_rate(3.0), 1.0);
        assert_eq!(first_rate(f64::NAN), 1.0);
    }

    /// Runs a ladder against a host that sustains up to `capacity` messages per second.
    fn climb(start: f64, capacity: f64) -> (Vec<f64>, Option<f64>) {
        let mut ladder = Ladder::new(start);
        let mut rates = Vec::new();
        while let Some(rate) = ladder.next() {
            rates.push(rate);
            ladder.record(rate, rate <= capacity);
        }
        (rates, ladder.best())
    }

    #[test]
    fn the_ladder_climbs_by_half_then_refines_once() {
        let (rates, best) = climb(100.0, 400.0);
        // 100, 150, 225, 338 pass, 507 fails, then one step at sqrt(338 * 507) = 414 fails.
        assert_eq!(rates, vec![100.0, 150.0, 225.0, 338.0, 507.0, 414.0]);
        assert_eq!(best, Some(338.0));
        let (rates, best) = climb(100.0, 420.0);
        assert_eq!(rates.last(), Some(&414.0));
        assert_eq!(best, Some(414.0));
    }

    #[test]
    fn the_ladder_steps_down_when_the_first_rate_fails() {
        let (rates, best) = climb(100.0, 50.0);
        // 100 fails, 67 fails, 45 passes, then one refinement at sqrt(45 * 67) = 55 fails.
        assert_eq!(rates, vec![100.0, 67.0, 45.0, 55.0]);
        assert_eq!(best, Some(45.0));
        // Nothing passes: at most `max_down` steps down.
        let (rates, best) = climb(10.0, 0.0);
        assert_eq!(rates, vec![10.0, 7.0, 5.0, 3.0, 2.0]);
        assert_eq!(best, None);
    }

    #[test]
    fn small_rates_still_climb_and_the_ladder_is_bounded() {
        let (rates, _) = climb(1.0, 3.0);
        assert_eq!(&rates[..4], &[1.0, 2.0, 3.0, 5.0]);
        let mut ladder = Ladder::new(10.0);
        ladder.max_steps = 3;
        let mut n = 0;
        while let Some(rate) = ladder.next() {
            ladder.record(rate, true);
            n += 1;
        }
        assert_eq!(n, 3);
        let mut capped = Ladder::new(100.0);
        capped.max_rate = 200.0;
        capped.record(100.0, true);
        capped.record(150.0, true);
        assert_eq!(capped.next(), None, "225 is above the driver's maximum");
    }
}
