//! The limits every call of a plugin runs under: the `[plugins]` table's, overridden by the
//! plugin's grant (`grants.rs`). The engine sizes its pool by them, each call's store applies
//! them, and a manifest is checked against them.

use std::time::Duration;

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The wall time one call may take before it is interrupted.
    pub deadline: Duration,
    /// The most linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// The most one adapter call may return.
    pub max_output_bytes: usize,
}
