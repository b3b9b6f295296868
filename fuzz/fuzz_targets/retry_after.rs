//! `Retry-After` (seconds or an HTTP date) and `x-rate-limit-reset` as a platform sends them,
//! then the retry they lead to: never before the backoff, never past the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::rules::outbound_retry::{RetryPolicy, named_retry_at};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (name, value) = text.split_once('\n').unwrap_or(("retry-after", &text));
    let now = 1_790_000_000_000;
    let named = named_retry_at(&[(name.to_string(), value.to_string())], now);
    let policy = RetryPolicy {
        backoff_ms: 500,
        max_retry_after_ms: 900_000,
    };
    for attempts in [1, 3, 40] {
        let retry = policy.retry(attempts, named, now, 0.5);
        assert!(retry.at >= now + policy.backoff(attempts));
        assert!(retry.at <= now + 900_000 || !retry.held);
    }
});
