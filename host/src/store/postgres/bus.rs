//! The signal bus between hosts sharing the database: `NOTIFY switchboard` sends a signal to
//! every listening session, this host's included. One connection of each host listens and
//! hands what arrives to the host's subscribers; when it is lost it reconnects, and the
//! subscribers get a wake-up of every kind, since signals sent meanwhile were missed (work is
//! always in the store, so a wake-up is all that is needed to find it again).

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::db::{row, scalar, unit};
use crate::model::now_ms;
use crate::store::api::{Signal, SignalBus, WakeWork};

/// The channel every host listens on.
const CHANNEL: &str = "switchboard";
const LISTEN: &str = "LISTEN switchboard";
/// The largest payload sent inline (PostgreSQL's limit is 8000 bytes); a larger signal is
/// stored in `signals` and its id sent instead.
const INLINE_MAX: usize = 7000;
/// How long a stored signal is kept for listeners to read.
const STORED_FOR_MS: i64 = 60_000;

/// The LISTEN/NOTIFY bus of one host.
pub struct PgBus {
    pool: Pool,
    local: broadcast::Sender<Signal>,
}

impl PgBus {
    /// Starts listening on `url` (with a connection of its own, outside the pool).
    pub async fn start(url: &str, pool: Pool) -> anyhow::Result<PgBus> {
        let (local, _) = broadcast::channel(4096);
        let first = listen(url).await?;
        tokio::spawn(run(url.to_string(), pool.clone(), local.clone(), first));
        Ok(PgBus { pool, local })
    }
}

type Listening = (
    tokio_postgres::Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
);

async fn listen(url: &str) -> anyhow::Result<Listening> {
    let (client, mut connection) = super::db::config(url)?
        .connect(tokio_postgres::NoTls)
        .await?;
    // The connection must be polled for the LISTEN to complete: drive it until it has.
    {
        let listened = client.batch_execute(LISTEN);
        tokio::pin!(listened);
        loop {
            tokio::select! {
                result = &mut listened => { result?; break; }
                message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => anyhow::bail!("the PostgreSQL connection closed"),
                }
            }
        }
    }
    Ok((client, connection))
}

/// Forwards notifications to the local subscribers, reconnecting when the connection is lost.
async fn run(url: String, pool: Pool, local: broadcast::Sender<Signal>, first: Listening) {
    let mut listening = Some(first);
    loop {
        let (client, mut connection) = match listening.take() {
            Some(l) => l,
            None => match listen(&url).await {
                Ok(l) => {
                    for work in [WakeWork::Inbox, WakeWork::Outbound, WakeWork::Route] {
                        let _ = local.send(Signal::Wake { work });
                    }
                    l
                }
                Err(e) => {
                    tracing::warn!("signal bus: cannot listen on PostgreSQL: {e:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => match decode(&pool, n.payload()).await {
                    Ok(signal) => {
                        let _ = local.send(signal);
                    }
                    Err(e) => tracing::warn!("signal bus: unreadable signal: {e:#}"),
                },
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("signal bus: connection lost: {e}");
                    break;
                }
            }
        }
        drop(client);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A signal from a payload: JSON, or `@id` of one stored in `signals`.
async fn decode(pool: &Pool, payload: &str) -> anyhow::Result<Signal> {
    let json = match payload.strip_prefix('@') {
        Some(id) => {
            let id: i64 = id.parse()?;
            let found = row(
                &pool.get().await?,
                "SELECT payload FROM signals WHERE id = $1",
                &[&id],
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("stored signal {id} is gone"))?;
            found.try_get::<_, String>(0)?
        }
        None => payload.to_string(),
    };
    Ok(serde_json::from_str(&json)?)
}

#[async_trait]
impl SignalBus for PgBus {
    async fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let json = serde_json::to_string(&signal)?;
        let now = now_ms();
        unit!(self.pool, |tx| {
            let payload = if json.len() <= INLINE_MAX {
                json.clone()
            } else {
                let old = now - STORED_FOR_MS;
                super::db::exec(&tx, "DELETE FROM signals WHERE sent_at < $1", &[&old]).await?;
                let id: i64 = scalar(
                    &tx,
                    "INSERT INTO signals (payload, sent_at) VALUES ($1, $2) RETURNING id",
                    &[&json, &now],
                )
                .await?;
                format!("@{id}")
            };
            super::db::exec(&tx, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await?;
            Ok(())
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.local.subscribe()
    }
}
