//! The nemesis's schedule: which fault happens when, drawn up front from the seed, so a run is
//! replayed with `--seed` (the same faults at the same offsets; the host's own timing still
//! varies, as it would on any machine).

use std::time::Duration;

use serde::Serialize;

use crate::sim::Fault;

/// A small seeded generator (SplitMix64): the same seed gives the same schedule on every
/// machine and every version of the campaign's dependencies.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high` (`low` when the range is empty).
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            low
        } else {
            low + self.next_u64() % (high - low)
        }
    }

    /// True with probability `percent` in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
}

/// When a kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillMoment {
    /// At the scheduled time, whatever the host is doing.
    Anytime,
    /// At the first moment after the scheduled time when the platform holds a send of the host
    /// unanswered (a slow answer is scripted just before, so there is one).
    SendInFlight,
    /// Right after the next webhook the host acknowledged (between its commit and its sends).
    AfterAck,
}

/// A platform fault, as the nemesis scripts it on the simulator's X send API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformFault {
    /// 429 with `x-rate-limit-reset` this many seconds ahead (0: a reset already past).
    RateLimitedReset { in_secs: u64 },
    /// 429 with `Retry-After` of this many seconds (0 included) and no reset header.
    RetryAfter { secs: u64 },
    /// A 5xx.
    ServerError { status: u16 },
    /// 403 with X's code 349 ("You cannot send messages to this user."): a permanent refusal,
    /// which the host must record failed with its reason, not retry.
    Refused,
    /// No answer within the host's send timeout.
    Timeout,
    /// The connection broken mid-answer.
    Reset,
    /// A delivered send answered after a delay.
    Slow { delay_ms: u64 },
}

impl PlatformFault {
    /// The simulator's fault; `now_secs` is the Unix time when it is scripted, `send_timeout_ms`
    /// the host's send timeout (a timeout holds the call a second longer).
    pub fn to_sim(self, now_secs: u64, send_timeout_ms: u64) -> Fault {
        match self {
            PlatformFault::RateLimitedReset { in_secs } => Fault::RateLimited {
                reset_epoch_secs: if in_secs == 0 {
                    now_secs.saturating_sub(30)
                } else {
                    now_secs + in_secs
                },
            },
            PlatformFault::RetryAfter { secs } => Fault::RetryAfter(match secs {
                0 => "0",
                1 => "1",
                _ => "2",
            }),
            PlatformFault::ServerError { status } => Fault::Status(status),
            PlatformFault::Refused => Fault::Status(403),
            PlatformFault::Timeout => Fault::Hang {
                hold_ms: send_timeout_ms + 1_000,
            },
            PlatformFault::Reset => Fault::Reset,
            PlatformFault::Slow { delay_ms } => Fault::Slow { delay_ms },
        }
    }
}

/// One thing the nemesis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// SIGKILL the host at `moment`, then start it again on the same store.
    Kill { moment: KillMoment },
    /// The next `count` send calls get `fault`.
    Platform { fault: PlatformFault, count: u64 },
}

/// An action and when, from the start of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
}

/// The whole schedule for a run of `seconds` with `kills` kills, in time order: kills spread over
/// the run (none in its first and last second), platform faults between them.
pub fn schedule(seed: u64, seconds: u64, kills: u64) -> Vec<Step> {
    let mut rng = Rng::new(seed);
    let span_ms = seconds * 1_000;
    let (from, to) = (1_000.min(span_ms), span_ms.saturating_sub(1_000).max(1_000));
    let mut steps = Vec::new();
    for _ in 0..kills {
        let moment = match rng.range(0, 3) {
            0 => KillMoment::Anytime,
            1 => KillMoment::SendInFlight,
            _ => KillMoment::AfterAck,
        };
        steps.push(Step {
            at_ms: rng.range(from, to),
            action: Action::Kill { moment },
        });
    }
    // About one burst of platform faults every two seconds.
    for _ in 0..(seconds / 2).max(1) {
        let fault = match rng.range(0, 9) {
            0 => PlatformFault::RateLimitedReset {
                in_secs: rng.range(0, 3),
            },
            1 => PlatformFault::RetryAfter {
                secs: rng.range(0, 3),
            },
            2 => PlatformFault::ServerError {
                status: [500, 502, 503][rng.range(0, 3) as usize],
            },
            3 => PlatformFault::Timeout,
            4 => PlatformFault::Reset,
            5 => PlatformFault::Refused,
            _ => PlatformFault::Slow {
                delay_ms: rng.range(200, 1_500),
            },
        };
        steps.push(Step {
            at_ms: rng.range(from, to),
            action: Action::Platform {
                fault,
                count: rng.range(1, 4),
            },
        });
    }
    steps.sort_by_key(|step| step.at_ms);
    steps
}

/// How long a [`KillMoment`] other than `Anytime` waits for its moment before killing anyway.
pub const MOMENT_PATIENCE: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_schedule_with_the_kills_asked_for() {
        let a = schedule(42, 60, 20);
        assert_eq!(a, schedule(42, 60, 20));
        assert_ne!(a, schedule(43, 60, 20));
        let kills = a
            .iter()
            .filter(|s| matches!(s.action, Action::Kill { .. }))
            .count();
        assert_eq!(kills, 20);
        assert!(a.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert!(a.iter().all(|s| (1_000..59_000).contains(&s.at_ms)));
    }

    #[test]
    fn the_generator_is_stable_across_versions() {
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
