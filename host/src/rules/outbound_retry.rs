//! When a failed send is tried again, and whether the try counts as one of its attempts.
//!
//! The platforms name the moment a rate limit ends in different ways: `Retry-After` as seconds
//! or as an HTTP date (RFC 9110), X's `x-rate-limit-reset` as a Unix epoch second. Whatever they
//! say, three edges are held here:
//!
//! - a floor: the next attempt never comes sooner than the doubling backoff, so a reset in the
//!   past or `Retry-After: 0` cannot burn every attempt in a fraction of a second;
//! - a cap: a named wait longer than `max_retry_after_ms` (15 minutes by default) is shortened to
//!   it, so `Retry-After: 86400` does not freeze a conversation for a day (the platform is asked
//!   again then, and says again if it still means it);
//! - holding: while the platform names a time later than the backoff would have waited, the
//!   message is held rather than failed for good after a few resets: its attempts are still
//!   counted (every request the platform sees is one), but `max_attempts` does not end it.
//!
//! The backoff is jittered upwards (by up to half of it) so that messages that failed together
//! do not come back together.

use crate::events::SendFailure;

/// The longest wait between retries that the backoff alone makes.
pub const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// When to try a failed send again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Epoch milliseconds.
    pub at: i64,
    /// The platform asked for this wait (a rate limit with a named end): the message is held,
    /// whatever its attempts, rather than failed at `max_attempts`.
    pub held: bool,
}

/// The retry settings (from `[outbound]`).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The first retry's delay; each further retry doubles it, up to [`MAX_BACKOFF_MS`].
    pub backoff_ms: i64,
    /// The longest wait a platform's named rate-limit end is obeyed for.
    pub max_retry_after_ms: i64,
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1-based), before jitter.
    pub fn backoff(&self, attempts: i64) -> i64 {
        self.backoff_ms
            .max(1)
            .saturating_mul(1 << (attempts - 1).clamp(0, 20))
            .min(MAX_BACKOFF_MS)
    }

    /// When to retry after the `attempts`-th attempt failed at `now`; `named` is the time the
    /// platform gave (if any), `jitter` a random number in `[0, 1)`.
    pub fn retry(&self, attempts: i64, named: Option<i64>, now: i64, jitter: f64) -> Retry {
        let backoff = self.backoff(attempts);
        let jitter = (backoff as f64 / 2.0 * jitter.clamp(0.0, 1.0)) as i64;
        let floor = now + backoff + jitter;
        match named {
            Some(named) => {
                let capped = named.min(now + self.max_retry_after_ms.max(0));
                if capped > floor {
                    Retry {
                        at: capped,
                        held: true,
                    }
                } else {
                    Retry {
                        at: floor,
                        held: false,
                    }
                }
            }
            None => Retry {
                at: floor,
                held: false,
            },
        }
    }
}

/// What becomes of a message after one of its attempts failed (see
/// [`RetryPolicy::after_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub next: Next,
    /// A rate limit pauses the whole integration until then (the limit is on the account, not
    /// on the one message), whether or not this message is tried again.
    pub pause_until: Option<i64>,
}

/// The message's next step after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Tried again at `retry.at`, the attempt counted.
    Retry(Retry),
    /// The platform refused the credentials: the integration is deauthorized and the message
    /// waits, pending, for an admin to re-authorize it.
    Deauthorize,
    /// Failed for good; its reason is the failure's typed code.
    Fail,
}

impl RetryPolicy {
    /// What becomes of a message whose `attempts`-th attempt (1-based, counted) failed with
    /// `failure` at `now`: a retryable failure is tried again up to `max_attempts`, or whatever
    /// its attempts while the platform names a later end (held); anything else fails it.
    pub fn after_failure(
        &self,
        failure: &SendFailure,
        attempts: i64,
        max_attempts: i64,
        now: i64,
        jitter: f64,
    ) -> AfterFailure {
        if let SendFailure::Auth(_) = failure {
            return AfterFailure {
                next: Next::Deauthorize,
                pause_until: None,
            };
        }
        if !failure.is_retryable() {
            return AfterFailure {
                next: Next::Fail,
                pause_until: None,
            };
        }
        let named = match failure {
            SendFailure::RateLimited {
                retry_at_ms: Some(at),
                ..
            } => Some((*at).min(i64::MAX as u64) as i64),
            _ => None,
        };
        let retry = self.retry(attempts, named, now, jitter);
        AfterFailure {
            next: match retry.held || attempts < max_attempts {
                true => Next::Retry(retry),
                false => Next::Fail,
            },
            pause_until: matches!(failure, SendFailure::RateLimited { .. }).then_some(retry.at),
        }
    }
}

/// The end of a rate limit as the response's headers name it, in epoch milliseconds:
/// `Retry-After` (seconds or an HTTP date), else `x-rate-limit-reset` (epoch seconds). `None`
/// when neither is there or readable.
pub fn named_retry_at(headers: &[(String, String)], now_ms: i64) -> Option<i64> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    if let Some(value) = header("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(now_ms.saturating_add(seconds.min(i64::MAX as u64 / 1000) as i64 * 1000));
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            let ms = date
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64);
            return Some(ms);
        }
    }
    let reset: u64 = header("x-rate-limit-reset")?.parse().ok()?;
    Some(reset.min(i64::MAX as u64 / 1000) as i64 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        backoff_ms: 500,
        max_retry_after_ms: 15 * 60 * 1000,
    };
    const NOW: i64 = 1_790_000_000_000;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_reset_in_the_past_or_zero_waits_for_the_backoff() {
        // Six attempts against a platform that always says "now": they spread over the backoff.
        let mut at = NOW;
        for attempts in 1..6 {
            let retry = POLICY.retry(attempts, Some(NOW - 60_000), at, 0.0);
            assert!(!retry.held, "a past reset counts the attempt");
            assert_eq!(retry.at - at, 500 << (attempts - 1));
            at = retry.at;
        }
        assert_eq!(at - NOW, 500 + 1000 + 2000 + 4000 + 8000);
        let zero = named_retry_at(&headers(&[("Retry-After", "0")]), NOW);
        assert_eq!(POLICY.retry(1, zero, NOW, 0.0).at, NOW + 500);
    }

    #[test]
    fn a_long_retry_after_is_capped_and_held() {
        let day = named_retry_at(&headers(&[("retry-after", "86400")]), NOW);
        assert_eq!(day, Some(NOW + 86_400_000));
        let retry = POLICY.retry(3, day, NOW, 0.5);
        assert_eq!(
            retry,
            Retry {
                at: NOW + 15 * 60 * 1000,
                held: true
            }
        );
        // A named end beyond the backoff is obeyed as named, and the attempt given back.
        let retry = POLICY.retry(1, Some(NOW + 30_000), NOW, 0.9);
        assert_eq!(
            retry,
            Retry {
                at: NOW + 30_000,
                held: true
            }
        );
    }

    #[test]
    fn backoff_doubles_with_upward_jitter_and_a_ceiling() {
        assert_eq!(POLICY.retry(1, None, NOW, 0.0).at, NOW + 500);
        assert_eq!(POLICY.retry(1, None, NOW, 0.999_999).at, NOW + 749);
        assert_eq!(POLICY.retry(3, None, NOW, 0.5).at, NOW + 2000 + 500);
        assert_eq!(POLICY.retry(40, None, NOW, 0.0).at, NOW + MAX_BACKOFF_MS);
        let a = POLICY.retry(2, None, NOW, 0.1).at;
        let b = POLICY.retry(2, None, NOW, 0.7).at;
        assert!(a < b, "jitter spreads retries: {a} {b}");
    }

    #[test]
    fn rate_limit_ends_in_every_spelling() {
        assert_eq!(
            named_retry_at(&headers(&[("Retry-After", " 30 ")]), NOW),
            Some(NOW + 30_000)
        );
        assert_eq!(
            named_retry_at(
                &headers(&[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                NOW
            ),
            Some(1_445_412_480_000)
        );
        assert_eq!(
            named_retry_at(&headers(&[("x-rate-limit-reset", "1790000900")]), NOW),
            Some(1_790_000_900_000)
        );
        // Retry-After wins over the window's reset; garbage is no time at all.
        assert_eq!(
            named_retry_at(
                &headers(&[("x-rate-limit-reset", "1790000900"), ("retry-after", "5")]),
                NOW
            ),
            Some(NOW + 5_000)
        );
        assert_eq!(
            named_retry_at(&headers(&[("retry-after", "soon")]), NOW),
            None
        );
        assert_eq!(
            named_retry_at(&headers(&[("retry-after", "99999999999999999999")]), NOW),
            None
        );
        assert_eq!(named_retry_at(&[], NOW), None);
    }
}
