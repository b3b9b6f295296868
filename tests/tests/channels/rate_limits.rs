//! A platform's rate limits, against the simulator over real HTTP. The assertions are on the
//! times the simulator recorded each request, and only as lower bounds (the host must have
//! waited at least so long), so a slow machine cannot make them fail.

use std::time::{Duration, SystemTime};

use serde_json::json;
use switchboard_tests::harness::{TestEnv, X_INTEGRATION};
use switchboard_tests::sim::{Attempt, Fault};

/// The requests the simulator saw for `recipient`, in arrival order.
fn requests_to(env: &TestEnv, recipient: &str) -> Vec<Attempt> {
    env.sim
        .attempts()
        .into_iter()
        .filter(|a| a.recipient_id == recipient)
        .collect()
}

fn gap(later: &Attempt, earlier: &Attempt) -> Duration {
    later
        .received_at
        .duration_since(earlier.received_at)
        .unwrap_or_default()
}

/// A 429 whose reset is already past, and `Retry-After: 0`, wait for the backoff all the same:
/// before, four attempts went out within milliseconds and the reply failed for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_past_reset_or_retry_after_zero_waits_for_the_backoff() {
    const BACKOFF_MS: u64 = 300;
    let env = TestEnv::start("rate-floor", |c| {
        c.backoff_ms = BACKOFF_MS;
        c.max_attempts = 4;
    })
    .await;
    let customer = "1500000000000000901";
    env.sim.x_fail_next(
        1,
        Fault::RateLimited {
            reset_epoch_secs: 1,
        },
    );
    env.sim.x_fail_next(1, Fault::RetryAfter("0"));
    env.sim.x_fail_next(
        1,
        Fault::RateLimited {
            reset_epoch_secs: 1,
        },
    );
    env.send_dm_text(customer, "Hello").await;
    env.wait_delivered_to(customer, 2).await;
    let requests = requests_to(&env, customer);
    let statuses: Vec<u16> = requests.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses[..4],
        [429, 429, 429, 201],
        "the greeting is retried until it goes out: {statuses:?}"
    );
    for i in 0..3 {
        let waited = gap(&requests[i + 1], &requests[i]);
        let backoff = Duration::from_millis(BACKOFF_MS << i);
        assert!(
            waited >= backoff,
            "attempt {} came {waited:?} after attempt {}, before its backoff of {backoff:?}",
            i + 2,
            i + 1
        );
    }
}

/// `Retry-After: 86400` is obeyed only up to `max_retry_after_ms`: the reply goes out after the
/// cap, not a day later (the test would time out waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_long_retry_after_is_capped() {
    const CAP_MS: u64 = 1_500;
    let env = TestEnv::start("rate-cap", |c| {
        c.backoff_ms = 50;
        c.max_retry_after_ms = CAP_MS;
    })
    .await;
    let customer = "1500000000000000902";
    env.sim.x_fail_next(1, Fault::RetryAfter("86400"));
    env.send_dm_text(customer, "Hello").await;
    env.wait_delivered_to(customer, 2).await;
    let requests = requests_to(&env, customer);
    assert_eq!(requests[0].status, 429);
    assert_eq!(requests[1].status, 201);
    let waited = gap(&requests[1], &requests[0]);
    assert!(
        waited >= Duration::from_millis(CAP_MS),
        "the capped wait was still obeyed: {waited:?}"
    );
}

/// `Retry-After` as an HTTP date is understood: the retry comes no sooner than that date
/// (before, the date was ignored and the retry came after the 50 ms backoff).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_http_date_retry_after_is_obeyed() {
    let env = TestEnv::start("rate-date", |c| {
        c.backoff_ms = 50;
    })
    .await;
    let customer = "1500000000000000903";
    // Whole seconds, as HTTP dates are: at least two seconds from now.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let until = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() + 3);
    let date: &'static str = Box::leak(httpdate::fmt_http_date(until).into_boxed_str());
    env.sim.x_fail_next(1, Fault::RetryAfter(date));
    env.send_dm_text(customer, "Hello").await;
    env.wait_delivered_to(customer, 2).await;
    let requests = requests_to(&env, customer);
    assert_eq!(requests[0].status, 429);
    assert!(
        requests[1].received_at >= until,
        "the retry came {:?} before the date {date}",
        until
            .duration_since(requests[1].received_at)
            .unwrap_or_default()
    );
}

/// A 429 pauses the whole integration, not only the message that met it: another customer who
/// writes meanwhile gets nothing from the platform before the limit ends, and none of that
/// customer's messages used an attempt on it (one request each).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_pauses_the_integrations_other_sends() {
    const LIMIT_SECS: u64 = 3;
    let env = TestEnv::start("rate-pause", |c| {
        c.backoff_ms = 50;
    })
    .await;
    let first = "1500000000000000904";
    let second = "1500000000000000905";
    env.sim.x_fail_next(1, Fault::RetryAfter("3"));
    env.send_dm_text(first, "Hello").await;
    let limited = switchboard_tests::harness::eventually(
        "the first customer's greeting is rate limited",
        Duration::from_secs(30),
        || async {
            requests_to(&env, first)
                .into_iter()
                .find(|a| a.status == 429)
                .ok_or_else(|| "no 429 yet".to_owned())
        },
    )
    .await;
    env.send_dm_text(second, "Hello").await;
    env.wait_delivered_to(first, 2).await;
    env.wait_delivered_to(second, 2).await;
    let requests = requests_to(&env, second);
    assert_eq!(
        requests.iter().map(|a| a.status).collect::<Vec<_>>(),
        [201, 201],
        "one request per message, none refused"
    );
    let waited = gap(&requests[0], &limited);
    assert!(
        waited >= Duration::from_millis(LIMIT_SECS * 1000 - 100),
        "the second customer's greeting went out {waited:?} after the 429, inside the limit of \
         {LIMIT_SECS} s"
    );
}

/// The open-messaging partner answers 429 with X's `x-rate-limit-reset` (an epoch second): the
/// retry comes no sooner than that second (before, the adapter ignored the header and the
/// retry came after the 50 ms backoff).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_messaging_partners_rate_limit_reset_is_obeyed() {
    let env = TestEnv::start("rate-om-reset", |c| {
        c.backoff_ms = 50;
        c.use_test_flows();
        c.om_flow = "echo".into();
    })
    .await;
    let customer = "om-rate-customer";
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    let reset_text: &'static str = Box::leak(reset.to_string().into_boxed_str());
    env.sim
        .om_fail_next(1, 429, &[("x-rate-limit-reset", reset_text)]);
    env.send_open(customer, "hi").await;
    env.wait_delivered_to(customer, 1).await;
    let requests = requests_to(&env, customer);
    assert_eq!(
        requests.iter().map(|a| a.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let until = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
    assert!(
        requests[1].received_at >= until,
        "the retry came {:?} before the reset",
        until
            .duration_since(requests[1].received_at)
            .unwrap_or_default()
    );
}

/// An integration keeps to its `send_limits` with no 429 to teach it: at one send per second,
/// six customers' replies (due at once) are spread over at least five seconds (less a
/// margin for the requests' own latency), each sent once. Without pacing they went out
/// within a fraction of a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_keep_to_the_integrations_send_limits() {
    const CUSTOMERS: u64 = 6;
    let env = TestEnv::start("rate-pacing", |c| {
        c.use_test_flows();
        c.x_flow = "echo".into();
        c.x_options = vec!["send_limits = [\"1/s\"]".into()];
    })
    .await;
    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("15000000000000009{i:02}"))
        .collect();
    for customer in &customers {
        env.send_dm_text(customer, "Hello").await;
    }
    for customer in &customers {
        env.wait_delivered_to(customer, 1).await;
    }
    let mut requests: Vec<Attempt> = env
        .sim
        .attempts()
        .into_iter()
        .filter(|a| customers.contains(&a.recipient_id))
        .collect();
    requests.sort_by_key(|a| a.received_at);
    assert_eq!(
        requests.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![201; CUSTOMERS as usize],
        "one request per reply, none refused"
    );
    let integration = env.integration(X_INTEGRATION).await;
    assert_eq!(integration["send_limits"], json!(["1/s"]), "{integration}");
    let spread = gap(requests.last().unwrap(), &requests[0]);
    assert!(
        spread >= Duration::from_millis((CUSTOMERS - 1) * 1000 - 1500),
        "{CUSTOMERS} replies at 1/s went out within {spread:?}"
    );
}
