//! The HTTP listener, with the limits a public endpoint needs so that idle or slow clients cannot
//! starve the platforms' webhooks:
//!
//! - a header-read timeout: a connection that has not sent a whole request head within
//!   `header_read_timeout_ms` of opening, or of its previous answer (keep-alive), is closed, so a
//!   socket that never speaks or trickles its headers (slowloris) is held only that long;
//! - a cap on open connections (`max_connections`), below the process's open-file limit: at the
//!   cap, the oldest connection with no request in progress is closed to make room for the new
//!   one, so a flood of idle sockets costs the flood, not the webhook that arrives next. Only when
//!   every connection has a request in progress is the new one turned away.
//!
//! Shutting down stops accepting, lets requests in progress finish, and closes idle connections.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The listener's limits (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, from opening or from its last
    /// answer.
    pub header_read_timeout: Duration,
}

/// One open connection, as the cap sees it.
struct Open {
    /// Requests in progress on it.
    busy: Arc<AtomicUsize>,
    /// Closes it.
    evict: CancellationToken,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Table {
    next: u64,
    open: BTreeMap<u64, Open>,
}

impl Table {
    /// Makes room for one more connection under `max`: closes the oldest idle one if needed.
    /// `false` when every connection has a request in progress.
    fn make_room(&mut self, max: usize) -> bool {
        if self.open.len() < max.max(1) {
            return true;
        }
        let idle = self
            .open
            .iter()
            .find(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
            .map(|(id, _)| *id);
        match idle.and_then(|id| self.open.remove(&id)) {
            Some(evicted) => {
                evicted.evict.cancel();
                true
            }
            None => false,
        }
    }
}

/// Counts a request in progress for as long as it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> anyhow::Result<()> {
    let table = Arc::new(Mutex::new(Table::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, every connection has ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was taken: the
                    // listener stays; wait a moment so an exhausted limit is not spun on.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let busy = Arc::new(AtomicUsize::new(0));
        let evict = CancellationToken::new();
        let id = {
            let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
            if !table.make_room(limits.max_connections) {
                tracing::warn!(
                    "{} connections, each with a request in progress: a new one is turned away",
                    table.open.len()
                );
                continue;
            }
            let id = table.next;
            table.next += 1;
            table.open.insert(
                id,
                Open {
                    busy: busy.clone(),
                    evict: evict.clone(),
                },
            );
            id
        };
        let _ = stream.set_nodelay(true);
        let inner = TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(move |request| {
            let busy = Busy::new(&busy);
            let answer = inner.call(request);
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let table = table.clone();
        let mut stop = stop_rx.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                // Closed to make room: dropping the connection closes the socket.
                _ = evict.cancelled() => {}
                _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            table
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .open
                .remove(&id);
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(table: &mut Table, busy: usize) -> (u64, CancellationToken) {
        let evict = CancellationToken::new();
        let id = table.next;
        table.next += 1;
        table.open.insert(
            id,
            Open {
                busy: Arc::new(AtomicUsize::new(busy)),
                evict: evict.clone(),
            },
        );
        (id, evict)
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let mut table = Table::default();
        let (_, busy_oldest) = open(&mut table, 1);
        let (_, idle_older) = open(&mut table, 0);
        let (_, idle_newer) = open(&mut table, 0);
        assert!(table.make_room(4), "under the cap nothing is closed");
        assert!(table.make_room(3));
        assert!(idle_older.is_cancelled() && !idle_newer.is_cancelled());
        assert!(!busy_oldest.is_cancelled(), "a request in progress is kept");
        assert_eq!(table.open.len(), 2);
        assert!(table.make_room(2));
        assert!(idle_newer.is_cancelled());
        assert!(
            !table.make_room(1),
            "only busy connections: the new one waits its turn"
        );
        assert!(!busy_oldest.is_cancelled());
    }
}
