//! After the nemesis: wait (bounded) until the host is quiet, then read what it recorded.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;

use super::checker::{Recorded, reply_text};
use super::customers::Sent;
use crate::harness::{ADMIN_TOKEN, Api, metric};
use crate::sim::PlatformSim;

/// How long deliveries must stay unchanged, with nothing pending, for the host to be quiet.
const QUIET_FOR: Duration = Duration::from_secs(10);

/// Waits until every acknowledged message has its reply delivered, or nothing moved for
/// [`QUIET_FOR`] with no send pending or held, or `deadline` passed. Returns whether it got quiet.
pub async fn wait_quiet(sim: &PlatformSim, api: &Api, sent: &[Sent], deadline: Duration) -> bool {
    let expected: Vec<(String, String)> = sent
        .iter()
        .flat_map(|c| {
            c.acknowledged
                .iter()
                .map(|n| (c.id.clone(), reply_text(&c.label, *n)))
        })
        .collect();
    let give_up = Instant::now() + deadline;
    let mut last_count = usize::MAX;
    let mut still_since = Instant::now();
    loop {
        let delivered = sim.delivered();
        let seen: HashSet<(&str, &str)> = delivered
            .iter()
            .map(|d| {
                (
                    d.recipient_id.as_str(),
                    d.text.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        if expected
            .iter()
            .all(|(id, text)| seen.contains(&(id.as_str(), text.as_str())))
            && sim.x_open_calls() == 0
        {
            return true;
        }
        if delivered.len() != last_count {
            last_count = delivered.len();
            still_since = Instant::now();
        }
        let pending = match api.try_get("/metrics", None).await {
            Ok(r) => metric(&r.text(), "switchboard_outbound_pending", &[]),
            Err(_) => f64::NAN,
        };
        if pending == 0.0 && sim.x_open_calls() == 0 && still_since.elapsed() >= QUIET_FOR {
            return true;
        }
        if Instant::now() >= give_up {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The host's outbound records of customer `id`'s conversations, through the admin's view of
/// the API (`/api/v1/search?customer=`, then each interaction's transcript).
pub async fn recorded(api: &Api, id: &str) -> anyhow::Result<Vec<Recorded>> {
    let found = get(api, &format!("/api/v1/search?customer={id}&limit=500")).await?;
    let hits = found["interactions"]
        .as_array()
        .context("search gave no interactions")?;
    if found["truncated"] == true {
        bail!("customer {id} has more conversations than one search returns");
    }
    let mut all = Vec::new();
    // Oldest first, so the records keep the conversations' order.
    for hit in hits.iter().rev() {
        let conversation = hit["id"].as_str().context("a hit without id")?;
        let record = get(api, &format!("/api/v1/interactions/{conversation}")).await?;
        for message in record["messages"]
            .as_array()
            .context("an interaction without messages")?
        {
            if message["direction"] != "outbound" {
                continue;
            }
            all.push(Recorded {
                text: message["text"].as_str().unwrap_or_default().to_owned(),
                status: message["status"].as_str().unwrap_or_default().to_owned(),
                error: message["error"].as_str().map(str::to_owned),
                platform_id: message["platform_id"].as_str().map(str::to_owned),
            });
        }
    }
    Ok(all)
}

/// `GET path` with the admin token; anything but 200 is an error.
pub(super) async fn get(api: &Api, path: &str) -> anyhow::Result<serde_json::Value> {
    let response = api
        .try_get(path, Some(ADMIN_TOKEN))
        .await
        .with_context(|| format!("GET {path}"))?;
    if response.status != 200 {
        bail!("GET {path}: {} {}", response.status, response.text());
    }
    Ok(response.json())
}
