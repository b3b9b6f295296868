//! One slot per simulated customer: when their webhook was sent and when the host's replies to
//! them reached the send API stand-in.
//!
//! Every message of a run comes from a new customer, numbered from 0; the customer's X user id
//! is [`USER_ID_BASE`] plus that number, so the stand-in finds the slot of a reply from the URL
//! alone (`/2/dm_conversations/with/{participant_id}/messages`) without a lock or a map. Slots
//! live in chunks allocated as numbers are reserved, and every field is an atomic, so the load
//! tasks and the stand-in record without waiting on each other.

use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// X user ids of bench customers: 19 digits, far from the fixtures' and the demo's.
pub const USER_ID_BASE: u64 = 1_700_000_000_000_000_000;
/// DM event ids of bench messages (the host dedupes on them).
pub const EVENT_ID_BASE: u64 = 1_900_000_000_000_000_000;

const CHUNK_BITS: u32 = 16;
const CHUNK: u64 = 1 << CHUNK_BITS;
/// At most 2^28 customers (268 million) in one process.
const CHUNKS: usize = 1 << 12;

#[derive(Default)]
struct Slot {
    /// Nanoseconds after the epoch, plus one (0: not yet).
    sent: AtomicU64,
    first_reply: AtomicU64,
    second_reply: AtomicU64,
    replies: AtomicU32,
}

/// What is known about one customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// When the webhook was sent, after the epoch.
    pub sent: Option<Duration>,
    pub first_reply: Option<Duration>,
    pub second_reply: Option<Duration>,
    /// Replies received (more than two is a host bug the report shows).
    pub replies: u32,
}

impl Seen {
    /// Whether both replies had arrived by `at` (after the epoch).
    pub fn finished_by(&self, at: Duration) -> bool {
        self.second_reply.is_some_and(|second| second <= at)
    }

    /// Webhook sent to first reply received, when both are known.
    pub fn first_reply_latency(&self) -> Option<Duration> {
        Some(self.first_reply?.saturating_sub(self.sent?))
    }
}

/// The customers of one driver process.
pub struct Customers {
    epoch: Instant,
    reserved: AtomicU64,
    chunks: Box<[OnceLock<Box<[Slot]>>]>,
}

impl Default for Customers {
    fn default() -> Self {
        Self::new()
    }
}

impl Customers {
    pub fn new() -> Customers {
        Customers {
            epoch: Instant::now(),
            reserved: AtomicU64::new(0),
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// `n` new customer numbers, their slots allocated.
    pub fn reserve(&self, n: u64) -> Range<u64> {
        let start = self.reserved.fetch_add(n, Ordering::Relaxed);
        let end = start + n;
        assert!(
            end <= CHUNK * CHUNKS as u64,
            "more customers than a bench run can hold"
        );
        if n > 0 {
            for chunk in (start >> CHUNK_BITS)..=((end - 1) >> CHUNK_BITS) {
                self.chunks[chunk as usize]
                    .get_or_init(|| (0..CHUNK).map(|_| Slot::default()).collect());
            }
        }
        start..end
    }

    /// The customer's X user id.
    pub fn user_id(customer: u64) -> u64 {
        USER_ID_BASE + customer
    }

    /// The customer's DM event id.
    pub fn event_id(customer: u64) -> u64 {
        EVENT_ID_BASE + customer
    }

    /// The customer number of an X user id, if it is a bench customer's.
    pub fn customer_of(user_id: &str) -> Option<u64> {
        let id: u64 = user_id.parse().ok()?;
        id.checked_sub(USER_ID_BASE)
            .filter(|n| *n < CHUNK * CHUNKS as u64)
    }

    fn slot(&self, customer: u64) -> Option<&Slot> {
        let chunk = self.chunks.get((customer >> CHUNK_BITS) as usize)?.get()?;
        chunk.get((customer & (CHUNK - 1)) as usize)
    }

    /// Time since the epoch, the unit of every recorded instant.
    pub fn since_epoch(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.epoch)
    }

    fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(self.since_epoch(at).as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Records that the customer's webhook was sent at `at`.
    pub fn sent(&self, customer: u64, at: Instant) {
        if let Some(slot) = self.slot(customer) {
            slot.sent.store(self.stamp(at), Ordering::Relaxed);
        }
    }

    /// Records a reply to the customer at `at`; false when the number was never reserved.
    pub fn replied(&self, customer: u64, at: Instant) -> bool {
        let Some(slot) = self.slot(customer) else {
            return false;
        };
        let stamp = self.stamp(at);
        match slot.replies.fetch_add(1, Ordering::AcqRel) {
            0 => slot.first_reply.store(stamp, Ordering::Release),
            1 => slot.second_reply.store(stamp, Ordering::Release),
            _ => {}
        }
        true
    }

    /// What is known about the customer.
    pub fn seen(&self, customer: u64) -> Seen {
        let Some(slot) = self.slot(customer) else {
            return Seen::default();
        };
        let at = |stamp: &AtomicU64| match stamp.load(Ordering::Acquire) {
            0 => None,
            n => Some(Duration::from_nanos(n - 1)),
        };
        Seen {
            sent: at(&slot.sent),
            first_reply: at(&slot.first_reply),
            second_reply: at(&slot.second_reply),
            replies: slot.replies.load(Ordering::Acquire),
        }
    }

    /// How many of `customers` had not both replies by `at` (after the epoch).
    pub fn unfinished_by(&self, customers: &[u64], at: Duration) -> u64 {
        customers
            .iter()
            .filter(|c| !self.seen(**c).finished_by(at))
            .count() as u64
    }

    /// Replies beyond the two the support flow sends, over `customers`.
    pub fn extra_replies(&self, customers: impl IntoIterator<Item = u64>) -> u64 {
        customers
            .into_iter()
            .map(|c| u64::from(self.seen(c).replies.saturating_sub(2)))
            .sum()
    }

    /// Every customer number reserved so far.
    pub fn all(&self) -> Range<u64> {
        0..self.reserved.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_map_back_to_customers() {
        assert_eq!(Customers::user_id(5), 1_700_000_000_000_000_005);
        assert_eq!(Customers::customer_of("1700000000000000005"), Some(5));
        assert_eq!(Customers::customer_of("1500000000000000777"), None);
        assert_eq!(Customers::customer_of("prefill-3"), None);
    }

    #[tokio::test]
    async fn slots_record_the_send_and_both_replies() {
        let customers = Customers::new();
        let range = customers.reserve(70_000);
        assert_eq!(range, 0..70_000);
        let last = range.end - 1;
        let t0 = Instant::now();
        customers.sent(last, t0);
        assert!(customers.replied(last, t0 + Duration::from_millis(5)));
        let seen = customers.seen(last);
        assert_eq!(seen.replies, 1);
        assert!(!seen.finished_by(Duration::from_secs(3600)));
        assert_eq!(
            seen.first_reply_latency(),
            Some(Duration::from_millis(5)),
            "sent and replied are on one clock"
        );
        customers.replied(last, t0 + Duration::from_millis(9));
        customers.replied(last, t0 + Duration::from_millis(12));
        let seen = customers.seen(last);
        let second = seen.second_reply.unwrap();
        assert!(seen.finished_by(second) && !seen.finished_by(second - Duration::from_nanos(1)));
        assert_eq!(customers.extra_replies([last, 0]), 1);
        assert_eq!(customers.extra_replies(customers.all()), 1);
        assert_eq!(customers.unfinished_by(&[0, last], second), 1);
        assert!(
            !customers.replied(200_000, t0),
            "an unreserved number is not recorded"
        );
        assert_eq!(customers.reserve(1), 70_000..70_001);
    }
}
