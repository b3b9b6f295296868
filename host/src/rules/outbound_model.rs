//! A model-based test of the outbound policy: proptest drives random sequences of what happens to
//! replies (queued, claimed and sent, the platform answering with success, a rate limit with or
//! without a named end, a transient or permanent failure, refused credentials; time passing; an
//! admin re-authorizing) through the real rules: [`RetryPolicy::after_failure`] (retries,
//! backoff, holding, the integration-wide pause) and each integration's [`Pacer`]. The sender's
//! part is modelled as it uses them: a claim counts the attempt, a put-back (paused, paced,
//! deauthorized) gives it back, a pause holds every send of the integration until it ends. After every step:
//!
//! - a message is never sent twice: once the platform took it, it is never requested again;
//! - every request the platform sees is a counted attempt, and a put-back reaches nobody;
//! - attempts never exceed `max_attempts` except while the platform names a later end (held);
//! - a rate-limited integration sends nothing before the end it was given (floored by the first
//!   backoff, capped by `max_retry_after_ms`), whichever message met the limit;
//! - a retry is never sooner than the doubling backoff, nor later than it plus half, unless held;
//! - a failed reply has the typed reason of the failure that ended it, and a retryable failure
//!   ends one only after `max_attempts` attempts, never while the platform names a later end;
//! - and at the end, with the platform healthy again, every reply is sent once or failed.

use proptest::prelude::*;

use super::outbound_retry::{MAX_BACKOFF_MS, Next, RetryPolicy};
use super::pacing::{Limit, Pacer};
use crate::events::SendFailure;

const INTEGRATIONS: usize = 2;
const DEAUTHORIZED_RECHECK_MS: i64 = 60_000;

/// What the platform answers a request.
#[derive(Debug, Clone)]
enum Answer {
    Sent,
    /// A 429; the end it names, relative to now (in the past, now, or later, up to a day).
    RateLimited(Option<i64>),
    Transient,
    Permanent,
    WindowClosed,
    Unreachable,
    Auth,
}

impl Answer {
    fn failure(&self, now: i64) -> Option<SendFailure> {
        let d = String::new;
        Some(match self {
            Answer::Sent => return None,
            Answer::RateLimited(named) => SendFailure::RateLimited {
                retry_at_ms: named.map(|n| (now + n).max(0) as u64),
                detail: d(),
            },
            Answer::Transient => SendFailure::Transient(d()),
            Answer::Permanent => SendFailure::Permanent(d()),
            Answer::WindowClosed => SendFailure::WindowClosed(d()),
            Answer::Unreachable => SendFailure::RecipientUnreachable(d()),
            Answer::Auth => SendFailure::Auth(d()),
        })
    }
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        integration: usize,
    },
    /// The sender claims a due message (the `pick`-th) and the platform answers.
    Send {
        pick: usize,
        answer: Answer,
        jitter: f64,
    },
    Reauthorize {
        integration: usize,
    },
    Tick {
        ms: i64,
    },
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => Just(Answer::Sent),
        4 => proptest::option::of(prop_oneof![
            -60_000..=0i64,
            1..5_000i64,
            5_000..7_200_000i64,
            Just(86_400_000i64),
        ])
        .prop_map(Answer::RateLimited),
        3 => Just(Answer::Transient),
        1 => Just(Answer::Permanent),
        1 => Just(Answer::WindowClosed),
        1 => Just(Answer::Unreachable),
        1 => Just(Answer::Auth),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..INTEGRATIONS).prop_map(|integration| Op::Enqueue { integration }),
        6 => (any::<usize>(), answer(), 0.0..1.0f64)
            .prop_map(|(pick, answer, jitter)| Op::Send { pick, answer, jitter }),
        1 => (0..INTEGRATIONS).prop_map(|integration| Op::Reauthorize { integration }),
        3 => prop_oneof![1..2_000i64, 2_000..600_000i64, Just(3_600_000i64)]
            .prop_map(|ms| Op::Tick { ms }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Pending { due: i64 },
    Sent,
    Failed { reason: &'static str },
}

#[derive(Debug, Clone)]
struct Msg {
    integration: usize,
    status: Status,
    /// Counted attempts, as the store keeps them.
    attempts: i64,
    /// Requests the platform saw.
    requests: i64,
    /// Failed requests that were retried without being held.
    unheld_retries: i64,
}

struct Model {
    policy: RetryPolicy,
    max_attempts: i64,
    limits: Vec<Vec<Limit>>,
    pacers: Vec<Pacer>,
    /// Per integration: paused until (the sender's `Pauses`).
    pauses: Vec<i64>,
    deauthorized: Vec<bool>,
    /// Per integration: no request may reach the platform before this (from the 429s it gave).
    quiet_until: Vec<i64>,
    msgs: Vec<Msg>,
    now: i64,
}

impl Model {
    fn backoff(&self, attempts: i64) -> i64 {
        let mut b = self.policy.backoff_ms.max(1);
        for _ in 1..attempts {
            b = (b * 2).min(MAX_BACKOFF_MS);
        }
        b.min(MAX_BACKOFF_MS)
    }

    /// Puts a claimed message back, its attempt given back (nothing reached the platform).
    fn put_back(&mut self, m: usize, at: i64) {
        let msg = &mut self.msgs[m];
        msg.attempts -= 1;
        msg.status = Status::Pending { due: at };
    }

    fn send(&mut self, pick: usize, answer: Answer, jitter: f64) -> Result<(), TestCaseError> {
        let now = self.now;
        let due: Vec<usize> = (0..self.msgs.len())
            .filter(|&i| matches!(self.msgs[i].status, Status::Pending { due } if due <= now))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let m = due[pick % due.len()];
        let integration = self.msgs[m].integration;
        // The claim counts the attempt.
        self.msgs[m].attempts += 1;
        let attempts = self.msgs[m].attempts;
        if self.deauthorized[integration] {
            self.put_back(m, now + DEAUTHORIZED_RECHECK_MS);
            return Ok(());
        }
        if self.pauses[integration] > now {
            let until = self.pauses[integration];
            let spread = (self.policy.backoff_ms as f64 / 2.0 * jitter) as i64;
            self.put_back(m, until + spread);
            return Ok(());
        }
        if let Err(at) = self.pacers[integration].take(now) {
            prop_assert!(at > now);
            self.put_back(m, at);
            return Ok(());
        }
        // The request reaches the platform.
        prop_assert!(
            now >= self.quiet_until[integration],
            "integration {integration} requested at {now}, before its rate limit ends at {}",
            self.quiet_until[integration]
        );
        prop_assert!(
            self.msgs[m].status != Status::Sent,
            "message {m} requested again after it was sent"
        );
        self.msgs[m].requests += 1;
        let Some(failure) = answer.failure(now) else {
            self.msgs[m].status = Status::Sent;
            return Ok(());
        };
        let after = self
            .policy
            .after_failure(&failure, attempts, self.max_attempts, now, jitter);
        let floor = now + self.backoff(attempts);
        if let Answer::RateLimited(named) = answer {
            // However the platform names the end, the integration waits at least the backoff,
            // and for the end it named up to the cap.
            let named_end =
                named.map_or(now, |n| (now + n).min(now + self.policy.max_retry_after_ms));
            let quiet = floor.max(named_end);
            prop_assert!(
                after.pause_until.is_some_and(|until| until >= quiet),
                "a 429 (named {named:?}) at {now} pauses until {:?}, not at least {quiet}",
                after.pause_until
            );
            self.quiet_until[integration] = self.quiet_until[integration].max(quiet);
        } else {
            prop_assert_eq!(after.pause_until, None);
        }
        if let Some(until) = after.pause_until {
            self.pauses[integration] = self.pauses[integration].max(until);
        }
        match after.next {
            Next::Retry(retry) => {
                prop_assert!(failure.is_retryable(), "{failure:?} retried");
                prop_assert!(
                    retry.at >= floor,
                    "retry at {} before the backoff {floor}",
                    retry.at
                );
                if retry.held {
                    prop_assert!(retry.at <= now + self.policy.max_retry_after_ms);
                } else {
                    let backoff = self.backoff(attempts);
                    prop_assert!(retry.at <= now + backoff + backoff / 2);
                    self.msgs[m].unheld_retries += 1;
                    prop_assert!(
                        self.msgs[m].unheld_retries < self.max_attempts,
                        "message {m} retried {} times without being held; max_attempts {}",
                        self.msgs[m].unheld_retries,
                        self.max_attempts
                    );
                }
                self.msgs[m].status = Status::Pending { due: retry.at };
            }
            Next::Deauthorize => {
                prop_assert!(matches!(failure, SendFailure::Auth(_)));
                self.deauthorized[integration] = true;
                self.msgs[m].status = Status::Pending {
                    due: now + DEAUTHORIZED_RECHECK_MS,
                };
            }
            Next::Fail => {
                if failure.is_retryable() {
                    prop_assert!(
                        attempts >= self.max_attempts,
                        "{failure:?} failed the message after {attempts} of {} attempts",
                        self.max_attempts
                    );
                    if let Answer::RateLimited(Some(n)) = answer {
                        let named_end = now + n.min(self.policy.max_retry_after_ms);
                        prop_assert!(
                            named_end <= now + self.backoff(attempts) * 3 / 2 + 1,
                            "a reply failed while the platform named a later end ({n} ms)"
                        );
                    }
                }
                self.msgs[m].status = Status::Failed {
                    reason: failure.code(),
                };
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Enqueue { integration } => self.msgs.push(Msg {
                integration,
                status: Status::Pending { due: self.now },
                attempts: 0,
                requests: 0,
                unheld_retries: 0,
            }),
            Op::Send {
                pick,
                answer,
                jitter,
            } => self.send(pick, answer, jitter)?,
            Op::Reauthorize { integration } => self.deauthorized[integration] = false,
            Op::Tick { ms } => self.now += ms,
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for (i, m) in self.msgs.iter().enumerate() {
            prop_assert_eq!(
                m.attempts,
                m.requests,
                "message {}: counted attempts differ from the requests the platform saw",
                i
            );
            if let Status::Failed { reason } = m.status {
                prop_assert!(
                    [
                        "rate_limited",
                        "window_closed",
                        "recipient_unreachable",
                        "transient",
                        "permanent",
                        "daily_cap_reached"
                    ]
                    .contains(&reason),
                    "untyped failure {reason}"
                );
                prop_assert!(m.requests >= 1, "message {i} failed without a request");
            }
        }
        Ok(())
    }

    /// The platform is healthy again and every integration authorized: everything pending goes
    /// out, once.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        self.deauthorized.iter_mut().for_each(|d| *d = false);
        for _ in 0..100_000 {
            let next = self
                .msgs
                .iter()
                .filter_map(|m| match m.status {
                    Status::Pending { due } => Some(due),
                    _ => None,
                })
                .min();
            let Some(due) = next else {
                return Ok(());
            };
            self.now = self.now.max(due);
            self.apply(Op::Send {
                pick: 0,
                answer: Answer::Sent,
                jitter: 0.5,
            })?;
        }
        prop_assert!(false, "replies still pending after 100,000 sends");
        Ok(())
    }
}

fn limits() -> impl Strategy<Value = Vec<Limit>> {
    proptest::collection::vec(
        (1..5u32, prop_oneof![100..2_000i64, 60_000..900_000i64])
            .prop_map(|(count, per_ms)| Limit { count, per_ms }),
        0..2,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replies_go_out_once_within_attempts_pauses_and_backoff(
        max_attempts in 1..7i64,
        backoff_ms in 1..3_000i64,
        max_retry_after_ms in prop_oneof![Just(0i64), 1..60_000i64, Just(900_000i64)],
        limits in proptest::collection::vec(limits(), INTEGRATIONS),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let now = 1_790_000_000_000;
        let mut model = Model {
            policy: RetryPolicy { backoff_ms, max_retry_after_ms },
            max_attempts,
            pacers: limits.iter().map(|l| Pacer::new(l, now)).collect(),
            limits,
            pauses: vec![0; INTEGRATIONS],
            deauthorized: vec![false; INTEGRATIONS],
            quiet_until: vec![0; INTEGRATIONS],
            msgs: Vec::new(),
            now,
        };
        for op in ops {
            model.apply(op)?;
        }
        model.drain()?;
        for (i, m) in model.msgs.iter().enumerate() {
            prop_assert!(
                matches!(m.status, Status::Sent | Status::Failed { .. }),
                "message {i} neither sent nor failed: {:?}", m.status
            );
        }
        prop_assert!(model.limits.len() == INTEGRATIONS);
    }
}
