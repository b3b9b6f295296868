//! [`eventually`]: wait for what a user would see, with a deadline, instead of sleeping.

use std::future::Future;
use std::time::Duration;

/// The default deadline of [`eventually`]-style waits in tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// Calls `probe` until it returns `Ok`, at most until `timeout`; then panics with `what` and the
/// last `Err` (a description of the state seen).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) => {
                if tokio::time::Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `probe` answers `want` (as [`eventually`], with the [`WAIT`] deadline); panics
/// with `what` and the last answer.
pub async fn eventually_eq<T, F, Fut>(what: &str, want: T, mut probe: F)
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    eventually(what, WAIT, || {
        let seen = probe();
        async {
            let seen = seen.await;
            if seen == want {
                Ok(())
            } else {
                Err(format!("{seen:?}, not {want:?}"))
            }
        }
    })
    .await
}
