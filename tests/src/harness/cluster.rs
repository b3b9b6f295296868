//! [`Cluster`]: several hosts on one PostgreSQL database with one simulator, for the scale-out
//! tests. The simulator's platforms take every host's sends; a customer's webhook goes to the
//! host the test names, as a load balancer would send it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::agent::Agent;
use super::api::Api;
use super::config::{TestConfig, X_ACCOUNT_ID, X_CONSUMER_SECRET, X_INTEGRATION, sim_config};
use super::env::texts;
use super::paths::TempDir;
use super::process::HostProcess;
use super::wait::eventually;
use crate::fixtures::{UniqueIds, XDm, unix_millis, x_dm};
use crate::signing::x_signature;
use crate::sim::{Delivered, PlatformSim};

/// Hosts sharing one store, and the simulator they all send to.
pub struct Cluster {
    pub sim: PlatformSim,
    pub hosts: Vec<HostProcess>,
    pub apis: Vec<Api>,
    pub ids: UniqueIds,
}

impl Cluster {
    /// Starts the simulator and `n` hosts on [`TestConfig`] as `customize` leaves it (called
    /// once per host, with the host's index), all storing at `store_url`. The hosts start one
    /// after the other, so the first creates the schema.
    pub async fn start(
        label: &str,
        n: usize,
        store_url: &str,
        customize: impl Fn(usize, &mut TestConfig),
    ) -> Cluster {
        let sim = PlatformSim::start(sim_config())
            .await
            .expect("starting the platform simulator");
        let mut hosts = Vec::new();
        for i in 0..n {
            let dir = TempDir::new(&format!("{label}-{i}"));
            let mut config = TestConfig::new(&dir, &sim.base_url());
            customize(i, &mut config);
            config.store_url = Some(store_url.to_string());
            hosts.push(HostProcess::start(dir, &config.render()).await);
        }
        sim.set_host_base_url(hosts[0].base_url());
        let apis = hosts.iter().map(HostProcess::api).collect();
        Cluster {
            sim,
            hosts,
            apis,
            ids: UniqueIds::new(),
        }
    }

    /// Agent `id` acting through host `host`.
    pub fn agent(&self, host: usize, id: &str) -> Agent<'_> {
        Agent::new(&self.apis[host], id)
    }

    /// A fresh DM (new event id, written now) from `sender_id` to the X account.
    pub fn dm(&self, sender_id: &str, text: &str) -> XDm {
        XDm {
            event_id: self.ids.next_id(),
            sender_id: sender_id.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            text: text.into(),
            created_ms: unix_millis(SystemTime::now()),
            ..XDm::default()
        }
    }

    /// Posts `dm` to host `host`'s X webhook, signed as X would. Returns the status (0 when the
    /// host could not be reached).
    pub async fn send_dm_to(&self, host: usize, dm: &XDm) -> u16 {
        let body = x_dm(dm);
        let signature = x_signature(X_CONSUMER_SECRET, &body);
        let response = self.apis[host]
            .request(
                hyper::Method::POST,
                &format!("/webhooks/{X_INTEGRATION}"),
                None,
                &[
                    ("content-type", "application/json"),
                    ("x-twitter-webhooks-signature", &signature),
                ],
                body,
            )
            .await;
        response.map_or(0, |r| r.status.as_u16())
    }

    /// Waits up to `within` for the `echo` flow's answer (`echo: TEXT`) to every message of
    /// `acknowledged` (each customer's texts), whichever host sends it.
    pub async fn all_echoed(
        &self,
        acknowledged: &HashMap<String, Vec<String>>,
        what: &str,
        within: Duration,
    ) {
        eventually(what, within, || async {
            let missing: Vec<String> = acknowledged
                .iter()
                .flat_map(|(customer, sent)| {
                    let got = texts(&self.delivered_to(customer));
                    sent.iter()
                        .filter(move |text| !got.contains(&format!("echo: {text}")))
                        .map(move |text| format!("{customer}/{text}"))
                })
                .collect();
            match missing.is_empty() {
                true => Ok(()),
                false => Err(format!("{} unanswered: {missing:?}", missing.len())),
            }
        })
        .await;
    }

    /// What the platforms delivered to `recipient` so far, in arrival order.
    pub fn delivered_to(&self, recipient: &str) -> Vec<Delivered> {
        self.sim
            .delivered()
            .into_iter()
            .filter(|d| d.recipient_id == recipient)
            .collect()
    }
}
