//! The nemesis: plays the [`schedule`](super::schedule) against the running host and the
//! simulator, and records each kill (when, at which moment, how many sends the platform held
//! unanswered).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::checker::Kill;
use super::schedule::{Action, KillMoment, MOMENT_PATIENCE, Step};
use crate::fixtures::unix_millis;
use crate::harness::HostProcess;
use crate::sim::{Fault, PlatformSim};

/// The slow answer scripted before a kill aimed at a send in flight.
const IN_FLIGHT_DELAY_MS: u64 = 1_500;

pub struct Nemesis<'a> {
    pub sim: &'a PlatformSim,
    pub host: &'a mut HostProcess,
    /// Woken by the customers at every acknowledgement.
    pub acked: Arc<Notify>,
    pub send_timeout_ms: u64,
}

impl Nemesis<'_> {
    /// Plays `steps` from `start`; returns the kills. The host is running when it returns.
    pub async fn play(&mut self, steps: &[Step], start: Instant) -> Vec<Kill> {
        let mut kills = Vec::new();
        for step in steps {
            tokio::time::sleep_until(start + Duration::from_millis(step.at_ms)).await;
            match step.action {
                Action::Platform { fault, count } => {
                    let now_secs = unix_millis(SystemTime::now()) / 1_000;
                    let fault = fault.to_sim(now_secs, self.send_timeout_ms);
                    self.sim.x_fail_next(count as usize, fault);
                }
                Action::Kill { moment } => {
                    kills.push(self.kill(moment).await);
                    self.host.restart().await;
                }
            }
        }
        kills
    }

    /// Waits for `moment` (at most [`MOMENT_PATIENCE`]), then SIGKILLs the host.
    async fn kill(&mut self, moment: KillMoment) -> Kill {
        match moment {
            KillMoment::Anytime => {}
            KillMoment::AfterAck => {
                let _ = tokio::time::timeout(MOMENT_PATIENCE, self.acked.notified()).await;
            }
            KillMoment::SendInFlight => {
                self.sim.x_fail_next(
                    1,
                    Fault::Slow {
                        delay_ms: IN_FLIGHT_DELAY_MS,
                    },
                );
                let deadline = Instant::now() + MOMENT_PATIENCE;
                while self.sim.x_open_calls() == 0 && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
        let open_sends = self.sim.x_open_calls();
        let at_ms = unix_millis(SystemTime::now());
        self.host.kill();
        Kill {
            at_ms,
            moment,
            open_sends,
        }
    }
}
