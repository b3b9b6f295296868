//! The composition root: `switchboard serve` opens the store, loads the plugins, publishes the
//! flows folder, binds the integrations, starts the workers and builds the routes. This is the
//! one place that sees every part; each part is handed only the handles it uses, and no module
//! imports this one.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context;

use crate::acd::{Acd, InactivityTimer, Roster, Router, Supervision};
use crate::catalog::PluginCatalog;
use crate::config::Config;
use crate::conversations::Inbox;
use crate::deploy::{Deployer, watch_flows, watch_plugins};
use crate::directory::AgentDirectory;
use crate::flows::{FlowRegistry, plugins_named_in};
use crate::gauges::GaugeRefresher;
use crate::intake::Intake;
use crate::integrations::Integrations;
use crate::live::AgentEvents;
use crate::metrics::Metrics;
use crate::outbound::{Sender, SenderActions};
use crate::runtime::PluginRuntime;
use crate::schedules::Schedules;
use crate::server::{AdminState, AgentState, Auth, MetricsState, Routes, SupervisorState};
use crate::store::{Signal, SignalBus, Store};
use crate::wake::Wakeups;

/// A host ready to serve.
pub struct Host {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub catalog: Arc<PluginCatalog>,
    pub flows: Arc<FlowRegistry>,
    pub schedules: Arc<Schedules>,
    pub integrations: Arc<Integrations>,
    pub deployer: Arc<Deployer>,
    pub agents: Arc<AgentDirectory>,
    /// Agents and supervisors added through the admin API, followed on every host.
    pub roster: Arc<Roster>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
    pub metrics: Arc<Metrics>,
    /// The client every platform request goes through.
    pub http: reqwest::Client,
    /// This process's name for the leases it takes (a new one per start).
    pub holder: String,
    /// The signals between hosts sharing the store, when its engine has them.
    pub bus: Option<Arc<dyn SignalBus>>,
}

impl Host {
    /// Opens the store, loads the flow plugins the configuration and the flows name, publishes
    /// the flows folder and loads every integration's adapter.
    pub async fn open(config: Config) -> anyhow::Result<Host> {
        let crate::store::Opened { store, bus, kv } = crate::store::open(&config.store).await?;
        let runtime = PluginRuntime::new(&config.plugins)?;
        runtime.set_kv_store(kv);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(config.outbound.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        let queues: Arc<HashSet<String>> =
            Arc::new(config.queues.iter().map(|q| q.id.clone()).collect());
        let wake = Arc::new(Wakeups::default());
        let catalog = Arc::new(PluginCatalog::new(
            runtime,
            store.clone(),
            &config.plugins,
            config.plugin_grants.clone(),
        ));
        catalog.log_sources();
        // The bots and data actions the flows name (e.g. `faq-bot`) and those the configuration
        // grants something to; others load when published through the admin API.
        let mut names = catalog.granted_names();
        names.extend(plugins_named_in(&config.flows.dir)?);
        catalog.load_flow_plugins(names).await;
        let schedules = Arc::new(
            Schedules::open(
                &config.schedules,
                &config.schedule_groups,
                store.clone(),
                bus.clone(),
            )
            .await
            .context("in [[schedule]] / [[schedule_group]]")?,
        );
        let flows = Arc::new(FlowRegistry::new(store.clone(), queues, schedules.names()));
        flows
            .publish_folder(&config.flows.dir, &catalog.kinds())
            .await?;
        let integrations = Arc::new(
            Integrations::open(
                config.integrations.clone(),
                store.clone(),
                catalog.clone(),
                flows.clone(),
                config.flows.dir.clone(),
                wake.clone(),
                crate::integrations::Sealer::from_config(
                    config.store.secret_key.as_ref().map(|k| k.0.as_str()),
                )?,
            )
            .await?,
        );
        let deployer = Arc::new(Deployer {
            catalog: catalog.clone(),
            integrations: integrations.clone(),
            flows: flows.clone(),
            store: store.clone(),
            bus: bus.clone(),
        });
        let agents = Arc::new(AgentDirectory::new(&config.agents, &config.supervisors));
        let live = Arc::new(AgentEvents::default());
        let roster = Arc::new(Roster {
            store: store.clone(),
            bus: bus.clone(),
            directory: agents.clone(),
            queues: Arc::new(config.queues.clone()),
            live: live.clone(),
            wake: wake.clone(),
        });
        roster
            .load()
            .await
            .context("cannot read the agents added through the admin API")?;
        Ok(Host {
            agents,
            roster,
            live,
            metrics: Arc::new(Metrics::default()),
            store,
            catalog,
            flows,
            schedules,
            integrations,
            deployer,
            wake,
            http,
            holder: crate::model::new_id("host"),
            bus,
            config,
        })
    }

    /// With a store shared by several hosts: sends agents' live events and wake-ups through
    /// the signal bus, and acts on the signals of every host (agents' events to the streams
    /// this host holds, wake-ups, and reloading what another host published).
    pub fn spawn_signals(&self) {
        let Some(bus) = self.bus.clone() else {
            return;
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Signal>();
        self.live.connect(tx.clone());
        self.wake.connect(tx);
        let sender = bus.clone();
        tokio::spawn(async move {
            while let Some(signal) = rx.recv().await {
                if let Err(e) = sender.signal(signal).await {
                    tracing::warn!("cannot signal the other hosts: {e:#}");
                }
            }
        });
        let mut signals = bus.subscribe();
        let (live, wake, deployer) = (self.live.clone(), self.wake.clone(), self.deployer.clone());
        let schedules = self.schedules.clone();
        let roster = self.roster.clone();
        tokio::spawn(async move {
            loop {
                let signal = match signals.recv().await {
                    Ok(signal) => signal,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("{n} signals from other hosts were missed");
                        continue;
                    }
                    Err(_) => return,
                };
                match signal {
                    Signal::Agent { agent, name, data } => live.deliver(&agent, &name, data),
                    Signal::Wake { work } => wake.woken(work),
                    Signal::AccountChanged { id } => roster.follow(&id).await,
                    Signal::ScheduleSwitched { group } => {
                        if let Err(e) = schedules.reload(&group).await {
                            tracing::error!(group = %group, "cannot follow a schedule switch: {e:#}");
                        }
                    }
                    other => deployer.follow(other).await,
                }
            }
        });
    }

    /// Starts the inbox worker, the sender, the router, the inactivity timer, retention and the
    /// refresher of the metrics' gauges.
    pub fn spawn_workers(&self) {
        let inbox = Inbox {
            store: self.store.clone(),
            flows: self.flows.clone(),
            schedules: self.schedules.clone(),
            catalog: self.catalog.clone(),
            integrations: self.integrations.clone(),
            live: self.live.clone(),
            wake: self.wake.clone(),
            metrics: self.metrics.clone(),
            holder: self.holder.clone(),
        };
        tokio::spawn(Arc::new(inbox).run());
        let sender = Sender {
            store: self.store.clone(),
            integrations: self.integrations.clone(),
            agents: self.agents.clone(),
            http: self.http.clone(),
            live: self.live.clone(),
            wake: self.wake.clone(),
            metrics: self.metrics.clone(),
            config: self.config.outbound.clone(),
            pauses: Default::default(),
            pacing: Default::default(),
            shared_store: self.bus.is_some(),
        };
        tokio::spawn(Arc::new(sender).run());
        let router = Router {
            store: self.store.clone(),
            agents: self.agents.clone(),
            queues: self.config.queues.clone(),
            integrations: self.integrations.clone(),
            live: self.live.clone(),
            wake: self.wake.clone(),
        };
        tokio::spawn(Arc::new(router).run());
        let inactivity = InactivityTimer {
            store: self.store.clone(),
            queues: self.config.queues.clone(),
            flows: self.flows.clone(),
            live: self.live.clone(),
            wake: self.wake.clone(),
        };
        tokio::spawn(Arc::new(inactivity).run());
        let retention = crate::retention::Retention {
            store: self.store.clone(),
            config: self.config.retention.clone(),
            batch: crate::retention::BATCH,
        };
        tokio::spawn(Arc::new(retention).run());
        let gauges = GaugeRefresher {
            store: self.store.clone(),
            integrations: self.integrations.clone(),
            metrics: self.metrics.clone(),
            queues: self.config.queues.iter().map(|q| q.id.clone()).collect(),
        };
        tokio::spawn(Arc::new(gauges).run());
    }

    /// `serve --watch`: publishes flow files and hot-loads plugin components as they change.
    pub fn spawn_watchers(&self) {
        tokio::spawn(watch_flows(
            self.deployer.clone(),
            self.config.flows.dir.clone(),
        ));
        tokio::spawn(watch_plugins(self.deployer.clone()));
    }

    /// The HTTP routes.
    pub fn router(&self) -> axum::Router {
        let auth = Arc::new(Auth {
            admin_token: self.config.server.admin_token.clone(),
            agents: self.agents.clone(),
            store: self.store.clone(),
            warned: Default::default(),
        });
        let actions = Arc::new(SenderActions::new(
            self.integrations.clone(),
            self.store.clone(),
            self.http.clone(),
            self.metrics.clone(),
        ));
        let acd = Arc::new(Acd {
            store: self.store.clone(),
            integrations: self.integrations.clone(),
            actions,
            live: self.live.clone(),
            wake: self.wake.clone(),
            queues: self.flows.queues().clone(),
            agents: self.agents.clone(),
            wrapup_codes: self.config.wrapup_codes.clone(),
            public_url: self.config.server.public_base_url(),
        });
        let supervision = Arc::new(Supervision {
            store: self.store.clone(),
            queues: self.config.queues.clone(),
            agents: self.agents.clone(),
            integrations: self.integrations.clone(),
        });
        crate::server::router(Routes {
            intake: Arc::new(Intake {
                integrations: self.integrations.clone(),
                store: self.store.clone(),
                wake: self.wake.clone(),
                metrics: self.metrics.clone(),
            }),
            agents: AgentState {
                acd,
                auth: auth.clone(),
                live: self.live.clone(),
                wrapup_codes: Arc::new(self.config.wrapup_codes.clone()),
                max_attachment_bytes: self.config.server.max_attachment_bytes,
            },
            supervisor: SupervisorState {
                supervision,
                auth: auth.clone(),
            },
            admin: AdminState {
                deployer: self.deployer.clone(),
                store: self.store.clone(),
                queues: Arc::new(self.config.queues.clone()),
                agents: self.agents.clone(),
                roster: self.roster.clone(),
                schedules: self.schedules.clone(),
            },
            metrics: MetricsState {
                metrics: self.metrics.clone(),
            },
            auth,
            console_dir: self.config.server.console_dir.clone(),
            max_body_bytes: self.config.server.max_body_bytes,
        })
    }
}
