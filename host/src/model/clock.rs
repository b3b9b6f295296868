//! Time and ids: every timestamp the host stores is milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new id with a readable prefix, e.g. `c_019ae8...` for a conversation: a UUID version 7,
/// which starts with the time it was made (then 74 random bits), so ids made one after another
/// sort together. Stored ids are keys of B-tree indexes: random ids put every new row on a
/// random page of the index (a page to read and write back per row, through the whole log),
/// where time-ordered ids add to the few pages at its end.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
