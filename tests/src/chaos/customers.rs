//! The customers: each posts numbered DMs (`c17 m5`), signed as X signs its webhooks, and posts
//! each one again, with the same event id as X's retries do, until the host acknowledges it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::schedule::Rng;
use crate::fixtures::{UniqueIds, XDm, unix_millis};
use crate::harness::{X_ACCOUNT_ID, X_INTEGRATION};
use crate::sim::PlatformSim;

/// How long a customer keeps posting one message the host does not acknowledge (it is down,
/// or was killed while answering) before giving up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(90);
/// How long one post may take before it counts as unanswered.
const POST_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two posts of the same message.
const RETRY_PAUSE: Duration = Duration::from_millis(150);
/// X user ids of chaos customers (19 digits, apart from the bench's and the fixtures').
const USER_ID_BASE: u64 = 1_800_000_000_000_000_000;

/// Who the customers are and what they write.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Labels are `{prefix}{i}` (`c3`).
    pub prefix: &'static str,
    /// Their X user ids are `id_base + i`.
    pub id_base: u64,
    /// Appended to each message (`c3 m5{suffix}`).
    pub suffix: &'static str,
    /// The pause between two messages, in ms.
    pub pause_ms: (u64, u64),
}

/// The customers the flow echoes: `c17 m5`, 100-700 ms apart.
pub const ECHOED: Kind = Kind {
    prefix: "c",
    id_base: USER_ID_BASE,
    suffix: "",
    pause_ms: (100, 700),
};

/// The customers who ask for an agent (`a1 m3 agent`), which the chaos flow transfers to the
/// agents' queue; they write again every 1-3 s (into the same conversation while an agent holds
/// it, or a new one once it ended).
pub const CALLERS: Kind = Kind {
    prefix: "a",
    id_base: USER_ID_BASE + 100_000,
    suffix: " agent",
    pause_ms: (1_000, 3_000),
};

/// What one customer did, as the checker needs it.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub label: String,
    pub id: String,
    pub sent: u64,
    pub acknowledged: Vec<u64>,
}

/// The customers at work, and the signal the nemesis waits on to kill right after an ack.
pub struct Customers {
    stop: Arc<AtomicBool>,
    /// Woken at every acknowledgement.
    pub acked: Arc<Notify>,
    tasks: Vec<JoinHandle<Sent>>,
}

impl Customers {
    /// Starts `n` customers writing through `sim`; `seed` sets each one's pauses between
    /// messages (100-700 ms).
    /// `ids` gives every webhook its event id: one for all the campaign's customers, since the
    /// host takes a second event with an id it has seen for X's retry of the first.
    pub fn start(
        sim: Arc<PlatformSim>,
        n: usize,
        seed: u64,
        kind: Kind,
        ids: Arc<UniqueIds>,
    ) -> Customers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Notify::new());
        let tasks = (0..n)
            .map(|i| {
                let customer = Customer {
                    sim: sim.clone(),
                    ids: ids.clone(),
                    stop: stop.clone(),
                    acked: acked.clone(),
                    rng: Rng::new(
                        seed ^ (i as u64 + 1 + kind.id_base - USER_ID_BASE)
                            .wrapping_mul(0x5851_F42D_4C95_7F2D),
                    ),
                    kind,
                    sent: Sent {
                        label: format!("{}{i}", kind.prefix),
                        id: (kind.id_base + i as u64).to_string(),
                        ..Sent::default()
                    },
                };
                tokio::spawn(customer.run())
            })
            .collect();
        Customers { stop, acked, tasks }
    }

    /// Stops writing new messages; waits for the ones being posted to be acknowledged (or
    /// given up) and returns what each customer did.
    pub async fn stop(self) -> anyhow::Result<Vec<Sent>> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for task in self.tasks {
            all.push(task.await?);
        }
        Ok(all)
    }
}

struct Customer {
    sim: Arc<PlatformSim>,
    ids: Arc<UniqueIds>,
    stop: Arc<AtomicBool>,
    acked: Arc<Notify>,
    rng: Rng,
    kind: Kind,
    sent: Sent,
}

impl Customer {
    async fn run(mut self) -> Sent {
        while !self.stop.load(Ordering::SeqCst) {
            let number = self.sent.sent + 1;
            self.sent.sent = number;
            let dm = XDm {
                event_id: self.ids.next_id(),
                sender_id: self.sent.id.clone(),
                for_user_id: X_ACCOUNT_ID.into(),
                text: format!("{} m{number}{}", self.sent.label, self.kind.suffix),
                created_ms: unix_millis(SystemTime::now()),
                ..XDm::default()
            };
            if self.post_until_acknowledged(&dm).await {
                self.sent.acknowledged.push(number);
                self.acked.notify_waiters();
            }
            let pause = self.rng.range(self.kind.pause_ms.0, self.kind.pause_ms.1);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        self.sent
    }

    async fn post_until_acknowledged(&self, dm: &XDm) -> bool {
        let started = Instant::now();
        loop {
            let post = self.sim.send_x_dm(X_INTEGRATION, dm);
            if let Ok(Ok((status, _))) = tokio::time::timeout(POST_TIMEOUT, post).await
                && (200..300).contains(&status)
            {
                return true;
            }
            if started.elapsed() >= GIVE_UP_AFTER {
                return false;
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}
