//! Each integration's pacer ([`crate::rules::pacing`]): its `send_limits`, or the documented
//! limits of the platform its adapter names. A send that would exceed them waits for its turn
//! (briefly, in place) or goes back to the queue, its attempt not counted, due when its turn
//! comes.
//!
//! The pacers live in this process: with several hosts on one store each paces on its own, so
//! an admin running N hosts divides the limits by N (docs/scale-out.md).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::SendLimit;
use crate::integrations::Integration;
use crate::rules::pacing::{Pacer, documented_limits};

#[derive(Default)]
pub struct Pacing {
    /// By integration id: the limits its pacer was made for, and the pacer.
    pacers: Mutex<HashMap<String, (Vec<SendLimit>, Pacer)>>,
}

impl Pacing {
    /// The limits `integration` sends under.
    pub fn limits_of(integration: &Integration) -> Vec<SendLimit> {
        match &integration.config.send_limits {
            // Checked when the configuration was loaded or set.
            Some(limits) => limits.iter().filter_map(|l| l.parse().ok()).collect(),
            None => documented_limits(&integration.info.platform),
        }
    }

    /// Takes `integration`'s turn to send at `now`, or says when it comes. A pacer starts full
    /// and starts again when the integration's limits change.
    pub fn take(&self, integration: &Integration, now: i64) -> Result<(), i64> {
        let limits = Pacing::limits_of(integration);
        if limits.is_empty() {
            return Ok(());
        }
        let mut pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        let (made_for, pacer) = pacers
            .entry(integration.config.id.clone())
            .or_insert_with(|| (limits.clone(), Pacer::new(&limits, now)));
        if *made_for != limits {
            *made_for = limits.clone();
            *pacer = Pacer::new(&limits, now);
        }
        pacer.take(now)
    }
}
