//! What the seeded fuzzers of the suite share (adapters' webhooks in `compliance`, flow files in
//! `cli`, admin and agent bodies in `fuzz_routes`): a small generator that gives the same inputs
//! for the same seed everywhere, and the count and seed from the environment
//! (`SWITCHBOARD_FUZZ_COUNT`, `SWITCHBOARD_FUZZ_SEED`).

/// A small seeded generator (xorshift64*): the same seed gives the same inputs everywhere.
pub struct Rng(pub u64);

impl Rng {
    /// A generator for `seed`, salted by `name` so that each fuzzer has its own sequence.
    pub fn salted(seed: u64, name: &str) -> Rng {
        let salt = name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        Rng((seed ^ salt) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// `SWITCHBOARD_FUZZ_COUNT`, or `default` (the suite's small count).
pub fn count(default: usize) -> usize {
    std::env::var("SWITCHBOARD_FUZZ_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `SWITCHBOARD_FUZZ_SEED`, or 1.
pub fn seed() -> u64 {
    std::env::var("SWITCHBOARD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}
