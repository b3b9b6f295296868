//! Wake-ups between the stages: a webhook that stored events wakes the inbox worker, a flow
//! turn that queued replies wakes the sender, anything that may give routing work wakes the
//! router. Each worker also wakes on its own timer, so a lost wake-up only delays work.
//!
//! With several hosts on one store, the other hosts are woken too, through the store's signal
//! bus ([`Wakeups::connect`]), at most once per kind every few milliseconds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use crate::model::now_ms;
use crate::store::{Signal, WakeWork};

/// The least time between two remote wake-ups of one kind.
const REMOTE_EVERY_MS: i64 = 10;

/// How long a due time read from the store serves before it is read again.
const DUE_READ_EVERY: Duration = Duration::from_millis(200);

/// The wake-ups the workers wait on.
#[derive(Default)]
pub struct Wakeups {
    /// When the sender's next retry or run-out claim falls due.
    pub outbound_due: DueCache,
    /// When the next `ask` timeout falls due.
    pub timeout_due: DueCache,
    /// New inbox events are stored.
    pub inbox: Notify,
    /// New outbound messages are stored, or a send finished while the sender waited for room.
    pub outbound: Notify,
    /// Routing may have something to do (a new interaction, a freed agent, a decline).
    pub route: Notify,
    remote: OnceLock<mpsc::UnboundedSender<Signal>>,
    last_remote: [AtomicI64; 3],
}

impl Wakeups {
    /// Also wakes the other hosts, through `remote` (the signal bus).
    pub fn connect(&self, remote: mpsc::UnboundedSender<Signal>) {
        let _ = self.remote.set(remote);
    }

    pub fn wake_inbox(&self) {
        self.inbox.notify_one();
        self.remote(WakeWork::Inbox);
    }

    pub fn wake_outbound(&self) {
        self.outbound.notify_one();
        self.remote(WakeWork::Outbound);
    }

    pub fn wake_route(&self) {
        self.route.notify_one();
        self.remote(WakeWork::Route);
    }

    /// A wake-up another host sent.
    pub fn woken(&self, work: WakeWork) {
        match work {
            WakeWork::Inbox => self.inbox.notify_one(),
            WakeWork::Outbound => self.outbound.notify_one(),
            WakeWork::Route => self.route.notify_one(),
        }
    }

    fn remote(&self, work: WakeWork) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        let last = &self.last_remote[work as usize];
        let now = now_ms();
        let before = last.load(Ordering::Relaxed);
        if now - before < REMOTE_EVERY_MS
            || last
                .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let _ = remote.send(Signal::Wake { work });
    }
}

/// The earliest due time of some stored work (a retry, a timeout), read from the store at most
/// every [`DUE_READ_EVERY`]. A worker asks it after each claim that left nothing more to take;
/// under load that was hundreds of reads a second of a query that scans what is due, where a
/// due time only needs to be known within a fraction of a second (wake-ups bring new work at
/// once, and this host notes the due times it sets itself).
#[derive(Default)]
pub struct DueCache {
    last: Mutex<Option<(Instant, Option<i64>)>>,
}

impl DueCache {
    /// When to look for due work again (wall-clock ms), `None` when nothing is due at all:
    /// the due time read by `read` (or kept from a read within [`DUE_READ_EVERY`]) while it
    /// is ahead of `now`. One that has passed was claimed, or waits behind other work, so the
    /// answer is then the time of the next read.
    pub async fn next_due(
        &self,
        now: i64,
        read: impl Future<Output = anyhow::Result<Option<i64>>>,
    ) -> anyhow::Result<Option<i64>> {
        let kept = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (read_at, at) = match kept {
            Some((read_at, at)) if read_at.elapsed() < DUE_READ_EVERY => (read_at, at),
            _ => {
                let at = read.await?;
                let read_at = Instant::now();
                *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((read_at, at));
                (read_at, at)
            }
        };
        let next_read = now + DUE_READ_EVERY.saturating_sub(read_at.elapsed()).as_millis() as i64;
        Ok(at.map(|at| if at > now { at } else { next_read }))
    }

    /// Work this host stored falls due at `at`.
    pub fn note(&self, at: i64) {
        if let Some((_, due)) = self.last.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            *due = Some(due.map_or(at, |d| d.min(at)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_due_time_is_read_again_only_when_the_last_read_is_old() {
        let cache = DueCache::default();
        let reads = &std::sync::atomic::AtomicUsize::new(0);
        let read = |at: Option<i64>| async move {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(at)
        };
        assert_eq!(
            cache.next_due(1_000, read(Some(5_000))).await.unwrap(),
            Some(5_000)
        );
        // Kept: the store is not read again, whatever it would say.
        assert_eq!(
            cache.next_due(1_010, read(None)).await.unwrap(),
            Some(5_000)
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // A due time this host sets itself counts at once.
        cache.note(3_000);
        assert_eq!(
            cache.next_due(1_020, read(None)).await.unwrap(),
            Some(3_000)
        );
        // Once passed, the next look is the next read, within DUE_READ_EVERY.
        let next = cache.next_due(3_000, read(None)).await.unwrap().unwrap();
        assert!(
            next > 3_000 && next <= 3_000 + DUE_READ_EVERY.as_millis() as i64,
            "{next}"
        );
        // An old read is read again.
        *cache.last.lock().unwrap() = Some((Instant::now() - DUE_READ_EVERY, Some(3_000)));
        assert_eq!(cache.next_due(4_000, read(None)).await.unwrap(), None);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
