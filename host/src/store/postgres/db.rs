//! The connection pool and the unit of work. A unit is one transaction, run again from the
//! start when PostgreSQL reports that a concurrent one (from this host or another) conflicted
//! with it: a serialization failure, a deadlock, or a key inserted first.
//!
//! Units run at one of two isolation levels:
//!
//! - `SERIALIZABLE` (the default, `unit!(pool, |tx| ...)`): each unit behaves as if the units of
//!   every host ran one after another, like the single writer of the embedded engine. The ACD's
//!   passes and actions, the catalog and the admin's units run so.
//! - `READ COMMITTED` (`unit!(pool, ReadCommitted, |tx| ...)`) for the units on the path of every
//!   message (ingest, claims, threading, turns, sends), whose correctness rests on row locks
//!   rather than on what they read: the customer's lease row, locked by every unit that writes
//!   under it (so one host at a time writes a customer's work), conversations written back over
//!   the version they were read at (or read `FOR UPDATE` in the unit), claims taken with
//!   `FOR UPDATE SKIP LOCKED` and updates that check the state they change from. PostgreSQL
//!   tracks serializable units' reads with page-level predicate locks: under load every
//!   message's units shared the index pages of new rows and failed as "pivots" by the hundred
//!   thousand, each one run again after a pause. A unit at this level takes no predicate locks,
//!   so it neither fails nor makes a serializable one fail through what it reads; a serializable
//!   unit that writes a row one of these changed after its snapshot still fails and runs again
//!   (first writer wins), and the ACD locks the conversations it offers for that reason.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// Query parameters.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How often a unit of work is tried before its serialization failure is the caller's.
pub const MAX_TRIES: u32 = 40;

/// How long a connection may go without an answer from the database (unacknowledged data, or
/// keepalive probes) before it counts as lost, and how long a session may sit in an open
/// transaction: a host cut off from the database gives up its connections within this, and the
/// server ends the cut-off host's open transactions within it, so their locks (a customer's
/// lease row, the event-numbering lock) do not stall the other hosts.
pub const DEAD_CONNECTION: Duration = Duration::from_secs(10);

/// The connection settings of `url`, with this host's guards against a silent network: keepalive
/// probes and a TCP user timeout on both ends, a connect timeout, and a server-side limit on
/// sessions idle in a transaction. A URL that sets one of these keeps its own value.
pub fn config(url: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse().context("invalid PostgreSQL URL")?;
    let ms = DEAD_CONNECTION.as_millis();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEAD_CONNECTION);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(DEAD_CONNECTION);
    }
    config
        .keepalives(true)
        .keepalives_idle(DEAD_CONNECTION / 5)
        .keepalives_interval(DEAD_CONNECTION / 5)
        .keepalives_retries(4);
    if config.get_application_name().is_none() {
        config.application_name("switchboard");
    }
    let mut options = config.get_options().unwrap_or_default().to_string();
    for (setting, value) in [
        ("idle_in_transaction_session_timeout", ms.to_string()),
        ("tcp_user_timeout", ms.to_string()),
        ("tcp_keepalives_idle", (ms / 5000).max(1).to_string()),
        ("tcp_keepalives_interval", (ms / 5000).max(1).to_string()),
        ("tcp_keepalives_count", "4".to_string()),
    ] {
        if !options.contains(setting) {
            options.push_str(&format!(" -c {setting}={value}"));
        }
    }
    config.options(options.trim());
    Ok(config)
}

/// Opens a pool of at most `size` connections to `url` (with the settings of [`config`]).
pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let manager = deadpool_postgres::Manager::from_config(
        config(url)?,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .recycle_timeout(Some(Duration::from_secs(10)))
        .build()
        .context("invalid PostgreSQL settings")
}

/// Whether running the unit again may succeed: a serialization failure, a deadlock, or a key
/// that a concurrent unit inserted first.
pub fn retryable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<tokio_postgres::Error>())
        .any(|e| {
            matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::UNIQUE_VIOLATION
            )
        })
}

/// A short, growing, jittered pause before trying a unit again.
pub async fn backoff(attempt: u32) {
    let base = 2u64 << attempt.min(6);
    let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u8) % (base + 1);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

/// Runs `$body` (which uses the transaction `$tx` and evaluates to `anyhow::Result<T>`) as one
/// unit of work on `$pool`, at `SERIALIZABLE` or at the given level (see the module's
/// documentation for which units may run at `ReadCommitted`), again while PostgreSQL reports a
/// conflict.
macro_rules! unit {
    ($pool:expr, |$tx:ident| $body:expr) => {
        $crate::store::postgres::db::unit!($pool, Serializable, |$tx| $body)
    };
    ($pool:expr, $level:ident, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let result: anyhow::Result<_> = async {
                let mut client = $pool.get().await?;
                let $tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::$level)
                    .start()
                    .await?;
                let value = $crate::store::postgres::db::typed(async { $body }).await?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(e)
                    if $crate::store::postgres::db::retryable(&e)
                        && attempt + 1 < $crate::store::postgres::db::MAX_TRIES =>
                {
                    attempt += 1;
                    $crate::store::postgres::db::backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use unit;

/// Gives the body of [`unit!`] its result type.
pub async fn typed<T>(body: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    body.await
}

/// Runs a query and returns its rows.
pub async fn rows(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> anyhow::Result<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// Runs a query that returns at most one row.
pub async fn row(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> anyhow::Result<Option<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

/// Runs a statement and returns how many rows it changed.
pub async fn exec(c: &impl GenericClient, sql: &str, params: Params<'_>) -> anyhow::Result<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

/// The first column of the single row a query returns (an aggregate, a `RETURNING`).
pub async fn scalar<T>(c: &impl GenericClient, sql: &str, params: Params<'_>) -> anyhow::Result<T>
where
    T: for<'r> tokio_postgres::types::FromSql<'r>,
{
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?.try_get(0)?)
}
