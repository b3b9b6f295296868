//! The ACD side of the campaign: simulated agents that take the interactions of the customers
//! who ask for one, across the host's kills, and the record of who the host says held them.
//!
//! Each agent keeps its presence available, takes its offers and also claims every interaction
//! waiting in the queue (so agents race for the same one), replies once, holds the interaction a
//! moment and wraps it up, or (one time in three) transfers it back to the queue. A request the host does not answer (it is down) is retried at the next
//! round. Every 2xx accept, and every wrap-up and transfer sent, is recorded with its time for [`super::assign`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use hyper::Method;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::assign::{AcdHistory, AgentEvent, AssignmentRecord, EventKind};
use super::collect::get;
use super::schedule::Rng;
use crate::fixtures::unix_millis;
use crate::harness::{Api, Response, agent_token};

/// The queue the chaos flow transfers to.
pub const QUEUE: &str = "billing";
/// The simulated agents (configured in the host's config, in [`QUEUE`]).
pub const AGENTS: &[&str] = &["ann", "bob", "cid"];
/// How many interactions each agent may hold at once.
pub const CAPACITY: u32 = 2;
/// How long an agent holds an interaction before wrapping it up.
const HOLD: Duration = Duration::from_millis(800);
/// After being told to stop, an agent goes on until it had nothing to do for this long.
const IDLE_TO_STOP: Duration = Duration::from_secs(5);
/// ... or until this long passed.
const STOP_DEADLINE: Duration = Duration::from_secs(90);

/// The agents at work.
pub struct Agents {
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<AcdHistory>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Agents {
    pub fn start(api: Api, seed: u64) -> Agents {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(AcdHistory::default()));
        let tasks = AGENTS
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let agent = SimAgent {
                    api: api.clone(),
                    id: id.to_string(),
                    token: agent_token(id),
                    stop: stop.clone(),
                    shared: shared.clone(),
                    rng: Rng::new(seed ^ (i as u64 + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                    held_since: HashMap::new(),
                };
                tokio::spawn(agent.run())
            })
            .collect();
        Agents {
            stop,
            shared,
            tasks,
        }
    }

    /// Lets the agents finish what is waiting (bounded), then returns what they saw.
    pub async fn stop(self) -> anyhow::Result<AcdHistory> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await?;
        }
        let history = self.shared.lock().expect("agents' history").clone();
        Ok(history)
    }
}

struct SimAgent {
    api: Api,
    id: String,
    token: String,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<AcdHistory>>,
    rng: Rng,
    /// Interactions this agent holds, since when, and whether it replied.
    held_since: HashMap<String, (Instant, bool)>,
}

impl SimAgent {
    async fn run(mut self) {
        let mut idle_since = Instant::now();
        let mut stopping_since: Option<Instant> = None;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if idle_since.elapsed() >= IDLE_TO_STOP || since.elapsed() >= STOP_DEADLINE {
                    return;
                }
            }
            if self.round().await {
                idle_since = Instant::now();
            }
            let pause = self.rng.range(100, 400);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// One round: presence, offers and holds, the queue. Whether there was anything to do.
    async fn round(&mut self) -> bool {
        let presence = format!("/api/v1/agents/{}/presence", self.id);
        if self
            .call(Method::PUT, &presence, json!({ "presence": "available" }))
            .await
            .is_none()
        {
            return true;
        }
        let mine = format!("/api/v1/agents/{}/interactions", self.id);
        let Some(listing) = self.call(Method::GET, &mine, Value::Null).await else {
            return true;
        };
        let mut busy = false;
        let listed: Vec<(String, String)> = listing.json()["interactions"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|i| {
                        let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
                        (s("id"), s("state"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (id, state) in &listed {
            busy = true;
            match state.as_str() {
                "offered" => self.accept(id).await,
                "assigned" => self.work(id).await,
                _ => {}
            }
        }
        self.held_since
            .retain(|id, _| listed.iter().any(|(held, _)| held == id));
        // Claim whatever waits in the queue: the other agents may be claiming it too.
        let queue = format!("/api/v1/queues/{QUEUE}");
        if let Some(waiting) = self.call(Method::GET, &queue, Value::Null).await {
            let ids: Vec<String> = waiting.json()["waiting"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .filter_map(|c| c["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for id in ids {
                busy = true;
                self.accept(&id).await;
            }
        }
        busy
    }

    async fn accept(&mut self, id: &str) {
        self.shared.lock().expect("agents' history").accept_attempts += 1;
        let path = format!("/api/v1/interactions/{id}/accept");
        let Some(response) = self.call(Method::POST, &path, json!({})).await else {
            return;
        };
        let at_ms = unix_millis(SystemTime::now());
        let mut shared = self.shared.lock().expect("agents' history");
        if response.status.is_success() {
            shared.events.push(AgentEvent {
                interaction: id.to_owned(),
                agent: self.id.clone(),
                kind: EventKind::Accepted,
                at_ms,
            });
        } else if response.status == 409 {
            shared.accept_conflicts += 1;
        }
    }

    /// Replies once to an interaction the agent holds; after [`HOLD`], wraps it up or transfers
    /// it back to the queue.
    async fn work(&mut self, id: &str) {
        let (since, replied) = *self
            .held_since
            .entry(id.to_owned())
            .or_insert((Instant::now(), false));
        if !replied {
            let path = format!("/api/v1/interactions/{id}/messages");
            let text = format!("agent {}: on it ({id})", self.id);
            // Any answer settles it (a refusal is not retried); no answer is retried.
            if self
                .call(Method::POST, &path, json!({ "text": text }))
                .await
                .is_some()
            {
                self.held_since.insert(id.to_owned(), (since, true));
            }
            return;
        }
        if since.elapsed() < HOLD {
            return;
        }
        // A third go back to the queue, for another agent (or the same) to take.
        let transfer = self.rng.range(0, 3) == 0;
        // Recorded as it leaves: a host killed while answering may have applied it.
        self.shared
            .lock()
            .expect("agents' history")
            .events
            .push(AgentEvent {
                interaction: id.to_owned(),
                agent: self.id.clone(),
                kind: EventKind::Released,
                at_ms: unix_millis(SystemTime::now()),
            });
        let (path, body) = if transfer {
            let note = format!("{} hands it back", self.id);
            (
                format!("/api/v1/interactions/{id}/transfer"),
                json!({ "queue": QUEUE, "note": note }),
            )
        } else {
            (
                format!("/api/v1/interactions/{id}/wrapup"),
                json!({ "code": "resolved" }),
            )
        };
        let Some(response) = self.call(Method::POST, &path, body).await else {
            return;
        };
        if response.status.is_success() {
            let mut shared = self.shared.lock().expect("agents' history");
            if transfer {
                shared.transfers_ok += 1;
            } else {
                shared.wrapups_ok += 1;
            }
        }
        // Answered: done with it either way (a refusal means it no longer holds it).
        self.held_since.remove(id);
    }

    /// A request with the agent's token; `None` when the host did not answer (it is down).
    async fn call(&self, method: Method, path: &str, body: Value) -> Option<Response> {
        let (headers, body): (&[(&str, &str)], String) = if body.is_null() {
            (&[], String::new())
        } else {
            (&[("content-type", "application/json")], body.to_string())
        };
        match self
            .api
            .request(method, path, Some(&self.token), headers, body)
            .await
        {
            Ok(response) => Some(response),
            Err(_) => {
                self.shared.lock().expect("agents' history").unanswered += 1;
                None
            }
        }
    }
}

/// The host's record of every interaction of customer `id` (through the admin's view).
pub async fn records(api: &Api, id: &str) -> anyhow::Result<Vec<AssignmentRecord>> {
    let found = get(api, &format!("/api/v1/search?customer={id}&limit=500")).await?;
    let hits = found["interactions"]
        .as_array()
        .context("search gave no interactions")?;
    let mut all = Vec::new();
    for hit in hits {
        let interaction = hit["id"].as_str().context("a hit without id")?;
        let record = get(api, &format!("/api/v1/interactions/{interaction}")).await?;
        let agent = record["agent"]
            .as_str()
            .or_else(|| record["last_agent"].as_str())
            .map(str::to_owned);
        all.push(AssignmentRecord {
            interaction: interaction.to_owned(),
            state: record["state"].as_str().unwrap_or_default().to_owned(),
            agent,
            wrapups: pairs(&record["wrapups"], "agent", "at"),
            transfers: pairs(&record["transfers"], "from_agent", "at"),
        });
    }
    Ok(all)
}

/// `(agent, at)` of each entry of a JSON list.
fn pairs(list: &Value, agent: &str, at: &str) -> Vec<(String, u64)> {
    list.as_array()
        .map(|all| {
            all.iter()
                .map(|e| {
                    let who = e[agent].as_str().unwrap_or_default().to_owned();
                    (who, e[at].as_u64().unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default()
}
