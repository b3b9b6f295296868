//! The connection pool and the unit of work: every write runs in one `SERIALIZABLE`
//! transaction, run again from the start when PostgreSQL reports that a concurrent one (from
//! this host or another) made it unserializable. So each unit behaves as if the units of every
//! host ran one after another, like the single writer of the embedded engine; the row locks and
//! `SKIP LOCKED` claims in the units keep such retries rare.

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

/// Opens a pool of at most `size` connections to `url`.
pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let mut config = deadpool_postgres::Config::new();
    config.url = Some(url.to_string());
    config.application_name = Some("switchboard".into());
    config.pool = Some(deadpool_postgres::PoolConfig {
        max_size: size,
        timeouts: deadpool_postgres::Timeouts {
            wait: Some(Duration::from_secs(30)),
            create: Some(Duration::from_secs(10)),
            recycle: Some(Duration::from_secs(10)),
        },
        ..Default::default()
    });
    config.manager = Some(deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    });
    config
        .create_pool(
            Some(deadpool_postgres::Runtime::Tokio1),
            tokio_postgres::NoTls,
        )
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
/// serializable unit of work on `$pool`, again while PostgreSQL reports a conflict.
macro_rules! unit {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let result: anyhow::Result<_> = async {
                let mut client = $pool.get().await?;
                let $tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::Serializable)
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
