//! [`TestEnv`]: a simulator and a host wired to each other, and what customers and admins do
//! with them.

use std::time::SystemTime;

use serde_json::Value;

use super::agent::Agent;
use super::api::{Api, metric};
use super::config::{
    ADMIN_TOKEN, ALICE, OM_INTEGRATION, TestConfig, X_ACCOUNT_ID, X_INTEGRATION, sim_config,
};
use super::paths::TempDir;
use super::process::HostProcess;
use super::wait::{WAIT, eventually};
use crate::fixtures::{OpenMessage, UniqueIds, XDm, rfc3339_utc, unix_millis};
use crate::sim::{Delivered, PlatformSim, SimConfig};

/// What is decided before the simulator and the host exist.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The simulator's accounts (default: [`sim_config`], matching [`TestConfig`]).
    pub sim: SimConfig,
    /// Arguments after `serve --config FILE` (e.g. `--watch`).
    pub serve_args: Vec<String>,
    /// The host's open-file limit (default: inherited).
    pub open_files_limit: Option<u64>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            sim: sim_config(),
            serve_args: Vec::new(),
            open_files_limit: None,
        }
    }
}

impl Setup {
    /// The default setup, the host started with `serve --watch`.
    pub fn watching() -> Setup {
        Setup {
            serve_args: vec!["--watch".into()],
            ..Setup::default()
        }
    }
}

/// A simulator and a host wired to each other: the simulator's customers post to the host's
/// webhooks, the host's integrations send to the simulator.
pub struct TestEnv {
    pub sim: PlatformSim,
    pub host: HostProcess,
    pub api: Api,
    /// Fresh event and message ids.
    pub ids: UniqueIds,
}

impl TestEnv {
    /// Starts the simulator and a host on [`TestConfig`] as `customize` leaves it. `label` names
    /// the temporary folder (kept when the test fails).
    pub async fn start(label: &str, customize: impl FnOnce(&mut TestConfig)) -> TestEnv {
        TestEnv::start_with(label, Setup::default(), customize).await
    }

    /// As [`TestEnv::start`], with the simulator's accounts or `serve`'s arguments of `setup`.
    pub async fn start_with(
        label: &str,
        setup: Setup,
        customize: impl FnOnce(&mut TestConfig),
    ) -> TestEnv {
        let sim = PlatformSim::start(setup.sim)
            .await
            .expect("starting the platform simulator");
        let dir = TempDir::new(label);
        let mut config = TestConfig::new(&dir, &sim.base_url());
        customize(&mut config);
        let args: Vec<&str> = setup.serve_args.iter().map(String::as_str).collect();
        let host =
            HostProcess::start_limited(dir, &config.render(), &args, setup.open_files_limit).await;
        sim.set_host_base_url(host.base_url());
        let api = host.api();
        TestEnv {
            sim,
            host,
            api,
            ids: UniqueIds::new(),
        }
    }

    /// Agent `id` (token [`agent_token`](super::agent_token)`(id)`).
    pub fn agent(&self, id: &str) -> Agent<'_> {
        Agent::new(&self.api, id)
    }

    /// Agent alice, in queues `support` and `billing`.
    pub fn alice(&self) -> Agent<'_> {
        self.agent(ALICE)
    }

    // --- customers -----------------------------------------------------------------------

    /// A fresh DM (new event id, written now) from customer `sender_id` to the X account; the
    /// sender is named as in [`XDm::default`] ("Dana Customer").
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

    /// Sends `dm` to the X integration, signed as X would, and expects 200.
    pub async fn send_dm(&self, dm: &XDm) {
        let (status, body) = self
            .sim
            .send_x_dm(X_INTEGRATION, dm)
            .await
            .expect("posting the DM");
        assert_eq!(
            status, 200,
            "DM {:?} was answered {status}: {body}",
            dm.text
        );
    }

    /// A fresh DM from `sender_id`, sent and expected to get 200.
    pub async fn send_dm_text(&self, sender_id: &str, text: &str) {
        self.send_dm(&self.dm(sender_id, text)).await;
    }

    /// A fresh open message (new id, written now) from `from`, nicknamed Olive.
    pub fn open_message(&self, from: &str, text: &str) -> OpenMessage {
        OpenMessage {
            message_id: format!("om-{}", self.ids.next_id()),
            from_id: from.into(),
            nickname: Some("Olive".into()),
            text: text.into(),
            time_rfc3339: rfc3339_utc(SystemTime::now()),
            attachments: Vec::new(),
        }
    }

    /// Sends a fresh open message from `from` to the open-messaging integration and expects 200.
    pub async fn send_open(&self, from: &str, text: &str) {
        let (status, body) = self
            .sim
            .send_open_message(OM_INTEGRATION, &self.open_message(from, text))
            .await
            .expect("posting the open message");
        assert_eq!(
            status, 200,
            "open message {text:?} was answered {status}: {body}"
        );
    }

    /// What the platforms delivered to `recipient` so far, in arrival order.
    pub fn delivered_to(&self, recipient: &str) -> Vec<Delivered> {
        self.sim
            .delivered()
            .into_iter()
            .filter(|d| d.recipient_id == recipient)
            .collect()
    }

    /// Waits until `recipient` has received at least `n` messages; returns them in arrival order.
    pub async fn wait_delivered_to(&self, recipient: &str, n: usize) -> Vec<Delivered> {
        eventually(
            &format!("{n} message(s) delivered to {recipient}"),
            WAIT,
            || async {
                let got = self.delivered_to(recipient);
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!(
                        "delivered {:?}; attempts {:?}; refused {:?}",
                        texts(&got),
                        self.sim
                            .attempts()
                            .iter()
                            .map(|a| (a.status, a.text.clone()))
                            .collect::<Vec<_>>(),
                        self.sim
                            .refused()
                            .iter()
                            .map(|r| r.to_string())
                            .collect::<Vec<_>>()
                    ))
                }
            },
        )
        .await
    }

    /// The texts of [`TestEnv::wait_delivered_to`].
    pub async fn texts_to(&self, recipient: &str, n: usize) -> Vec<String> {
        texts(&self.wait_delivered_to(recipient, n).await)
    }

    // --- operators and admins ------------------------------------------------------------

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        self.api.metrics().await
    }

    /// Waits until `/metrics` shows `want` for the samples of `name` with `labels` (summed as
    /// [`metric`] does): the gauges about the store are refreshed every few seconds.
    pub async fn wait_metric(&self, name: &str, labels: &[(&str, &str)], want: f64) {
        eventually(
            &format!("{name} {labels:?} at {want} in /metrics"),
            WAIT,
            || async {
                let text = self.metrics().await;
                let seen = metric(&text, name, labels);
                if seen == want {
                    Ok(())
                } else {
                    Err(format!("{seen} in\n{text}"))
                }
            },
        )
        .await
    }

    /// Waits until every outbound message was sent (none pending) and `sent` were sent in all.
    pub async fn wait_all_sent(&self, sent: f64) {
        eventually(
            &format!("{sent} message(s) sent and none pending"),
            WAIT,
            || async {
                let text = self.metrics().await;
                let done = metric(&text, "switchboard_outbound_sent_total", &[]) == sent
                    && metric(&text, "switchboard_outbound_pending", &[]) == 0.0;
                if done { Ok(()) } else { Err(text) }
            },
        )
        .await
    }

    /// `GET {path}` with the admin token, expected to answer 200 with JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        let response = self.api.get(path, Some(ADMIN_TOKEN)).await;
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        response.json()
    }

    /// An interaction and its transcript, as an admin sees it.
    pub async fn interaction(&self, id: &str) -> Value {
        self.admin_get(&format!("/api/v1/interactions/{id}")).await
    }

    /// An integration as `GET /admin/v1/integrations/{id}` shows it.
    pub async fn integration(&self, id: &str) -> Value {
        self.admin_get(&format!("/admin/v1/integrations/{id}"))
            .await
    }

    /// `GET /admin/v1/plugins`.
    pub async fn plugins(&self) -> Value {
        self.admin_get("/admin/v1/plugins").await
    }

    /// The loaded plugin `name` of [`TestEnv::plugins`]; panics when it is not listed.
    pub async fn plugin(&self, name: &str) -> Value {
        let listed = self.plugins().await;
        listed["plugins"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not listed: {listed}"))
    }

    /// Publishes flow `name` through the admin API: the status and the JSON answer.
    pub async fn put_flow(&self, name: &str, source: &str) -> (u16, Value) {
        let response = self
            .api
            .put_raw(
                &format!("/admin/v1/flows/{name}"),
                Some(ADMIN_TOKEN),
                "application/yaml",
                source.as_bytes().to_vec(),
            )
            .await;
        (response.status.as_u16(), response.json())
    }
}

/// The texts of `delivered` (empty for a message without text).
pub fn texts(delivered: &[Delivered]) -> Vec<String> {
    delivered
        .iter()
        .map(|d| d.text.clone().unwrap_or_default())
        .collect()
}
