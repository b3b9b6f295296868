//! Pacing: how fast an integration may send, as the platform documents it. Each limit is a
//! token bucket ("80 per second", "200 per 15 minutes"): full at first, one token per send,
//! refilled evenly. A send goes out when every bucket of its integration has a token; otherwise
//! [`Pacer::take`] says when one will.

pub use crate::config::SendLimit as Limit;

/// The documented send limits of a platform (as its adapter's `describe()` names it), used when
/// an integration does not set `send_limits`:
/// - WhatsApp Cloud API: 80 messages per second per business number;
/// - Messenger and Instagram: 300 per second per Page;
/// - X: 200 DMs per 15 minutes and 1,000 per 24 hours per user (the older v2 reference; the
///   current table says 15 per 15 minutes: the platform's rate-limit headers win either way).
///
/// Other platforms (open messaging, partners' adapters) have none.
pub fn documented_limits(platform: &str) -> Vec<Limit> {
    let limit = |count, per_ms| Limit { count, per_ms };
    match platform {
        "whatsapp" => vec![limit(80, 1_000)],
        "messenger" | "instagram" => vec![limit(300, 1_000)],
        "x" => vec![limit(200, 15 * 60_000), limit(1_000, 86_400_000)],
        _ => Vec::new(),
    }
}

/// One limit as the generic cell rate algorithm keeps it: the theoretical time the next send
/// is due, in integer units of `1 / count` ms (so `80/s`, a send every 12.5 ms, is exact).
#[derive(Debug, Clone)]
struct Bucket {
    limit: Limit,
    /// The theoretical arrival time, times `count`.
    due: i128,
}

impl Bucket {
    /// How early a send may come (a full bucket's burst), times `count`.
    fn tolerance(&self) -> i128 {
        (self.limit.count as i128 - 1) * self.limit.per_ms as i128
    }

    /// `Ok(next due)` when a send at `now` fits; `Err(when one will)` otherwise.
    fn check(&self, now: i64) -> Result<i128, i64> {
        let count = self.limit.count as i128;
        let due = self.due.max(now as i128 * count);
        let early = due - now as i128 * count;
        if early > self.tolerance() {
            // The first ms at which `due - ms * count <= tolerance`.
            let ready = (due - self.tolerance() + count - 1) / count;
            return Err(ready as i64);
        }
        Ok(due + self.limit.per_ms as i128)
    }
}

/// The buckets of one integration.
#[derive(Debug, Clone)]
pub struct Pacer {
    buckets: Vec<Bucket>,
}

impl Pacer {
    /// Every bucket full at `now`.
    pub fn new(limits: &[Limit], now: i64) -> Pacer {
        Pacer {
            buckets: limits
                .iter()
                .map(|&limit| Bucket {
                    limit,
                    due: now as i128 * limit.count as i128,
                })
                .collect(),
        }
    }

    /// Takes a token from every bucket for one send at `now`, or (taking nothing) says when
    /// every bucket will have one.
    pub fn take(&mut self, now: i64) -> Result<(), i64> {
        let checked: Vec<Result<i128, i64>> = self.buckets.iter().map(|b| b.check(now)).collect();
        if let Some(ready) = checked.iter().filter_map(|c| c.err()).max() {
            return Err(ready);
        }
        for (bucket, due) in self.buckets.iter_mut().zip(checked) {
            bucket.due = due.expect("every bucket allowed it");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_paces_evenly() {
        let mut pacer = Pacer::new(&["2/s".parse().unwrap()], 0);
        assert_eq!(pacer.take(0), Ok(()));
        assert_eq!(pacer.take(0), Ok(()));
        assert_eq!(pacer.take(0), Err(500));
        assert_eq!(pacer.take(499), Err(500), "nothing taken while waiting");
        assert_eq!(pacer.take(500), Ok(()));
        assert_eq!(pacer.take(500), Err(1_000));
        // Idle long enough, it is full again, never fuller.
        assert_eq!(pacer.take(60_000), Ok(()));
        assert_eq!(pacer.take(60_000), Ok(()));
        assert_eq!(pacer.take(60_000), Err(60_500));
    }

    #[test]
    fn every_limit_must_allow_the_send() {
        // X: a burst of 200, then one per 4.5 s; the daily limit bites after 1,000.
        let mut pacer = Pacer::new(&documented_limits("x"), 0);
        for _ in 0..200 {
            assert_eq!(pacer.take(0), Ok(()));
        }
        assert_eq!(pacer.take(0), Err(4_500));
        // Over half a day: the 15-minute bucket would allow 200 + 9,600, the daily one 1,000
        // + 500.
        let (mut now, mut sent) = (0, 200);
        while now <= 86_400_000 / 2 {
            match pacer.take(now) {
                Ok(()) => sent += 1,
                Err(at) => now = at,
            }
        }
        assert!((1_499..=1_501).contains(&sent), "{sent} sent in half a day");
    }

    #[test]
    fn platforms_without_documented_limits_are_not_paced() {
        assert_eq!(documented_limits("open-messaging"), []);
        let mut pacer = Pacer::new(&[], 0);
        for _ in 0..10_000 {
            assert_eq!(pacer.take(0), Ok(()));
        }
        assert_eq!(documented_limits("whatsapp"), ["80/s".parse().unwrap()]);
        assert_eq!(documented_limits("instagram"), ["300/s".parse().unwrap()]);
    }

    proptest::proptest! {
        /// Whatever the limits and however the sends come, no window of `d` ms holds more than
        /// `count + d * count / per_ms` sends of any limit, and a send refused until `at` is
        /// allowed at `at`.
        #[test]
        fn no_window_exceeds_a_limit_and_the_named_time_is_kept(
            limits in proptest::collection::vec((1..20u32, 1..5_000i64), 1..3),
            gaps in proptest::collection::vec(0..400i64, 1..300),
        ) {
            let limits: Vec<Limit> = limits
                .into_iter()
                .map(|(count, per_ms)| Limit { count, per_ms })
                .collect();
            let mut pacer = Pacer::new(&limits, 0);
            let (mut now, mut sent) = (0, Vec::new());
            for gap in gaps {
                now += gap;
                match pacer.take(now) {
                    Ok(()) => sent.push(now),
                    Err(at) => {
                        proptest::prop_assert!(at > now);
                        proptest::prop_assert_eq!(pacer.clone().take(at), Ok(()));
                    }
                }
            }
            for limit in &limits {
                for (i, first) in sent.iter().enumerate() {
                    for (j, last) in sent.iter().enumerate().skip(i) {
                        let n = (j - i + 1) as i64;
                        let allowed = limit.count as i64 * (limit.per_ms + last - first);
                        proptest::prop_assert!(
                            n * limit.per_ms <= allowed,
                            "{n} sends in {} ms under {limit}", last - first
                        );
                    }
                }
            }
        }
    }
}
