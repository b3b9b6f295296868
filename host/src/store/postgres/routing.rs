//! Routing passes (see [`crate::store::AcdStore::route`]), mirroring the embedded engine's
//! `routing.rs`: unanswered offers expire, then the best waiting interactions are read through
//! an index a page at a time and offered per [`crate::rules::routing`], in the same unit of work
//! that records the offers.
//!
//! Across hosts: one routing or inactivity pass at a time (the `pass_lock` table, locked first
//! thing), so the load a pass counts (what agents hold and are offered, on every host) is the
//! load it offers over: one offer at a time per interaction, and agents' capacity across hosts.
//! Accepts lock the agent's row, and every unit is serializable besides.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;

use super::conversations;
use super::db::{row, rows};
use super::presence::{all, create_offer, expire_offers, next_expiry, set_presence};
use crate::model::{Conversation, Presence, Transfer};
use crate::rules::routing;
use crate::store::api::Routed;

/// Agent → when they last refused `conversation` since `since`: declined an offer of it or let
/// one ring out (when it was offered), or transferred it away.
pub async fn refused_by(
    c: &impl GenericClient,
    conversation: &str,
    since: i64,
) -> anyhow::Result<HashMap<String, i64>> {
    rows(
        c,
        "SELECT agent, MAX(at) FROM (
             SELECT agent, offered_at AS at FROM offers
              WHERE conversation = $1 AND state IN ('declined', 'timeout') AND offered_at >= $2
             UNION ALL
             SELECT from_agent, at FROM transfers WHERE conversation = $1 AND at >= $2) r
         GROUP BY agent",
        &[&conversation, &since],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// The latest transfer of `conversation` made at or after `since` (when it was queued).
pub async fn transfer_since(
    c: &impl GenericClient,
    conversation: &str,
    since: i64,
) -> anyhow::Result<Option<Transfer>> {
    row(
        c,
        "SELECT from_agent, to_queue, to_agent, note, at FROM transfers
         WHERE conversation = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT 1",
        &[&conversation, &since],
    )
    .await?
    .map(|r| super::transfers::transfer_row(&r))
    .transpose()
}

/// How many waiting interactions of a queue one read takes.
const ROUTING_PAGE: usize = 64;

/// What each agent holds or is being offered, in total and per platform.
pub async fn load(
    c: &impl GenericClient,
    config: &routing::RoutingConfig,
) -> anyhow::Result<HashMap<String, routing::Load>> {
    let mut load: HashMap<String, routing::Load> = HashMap::new();
    for sql in [
        "SELECT agent, integration, COUNT(*) FROM conversations
         WHERE state = 'assigned' AND agent IS NOT NULL GROUP BY agent, integration",
        "SELECT o.agent, c.integration, COUNT(*) FROM offers o JOIN conversations c ON c.id = o.conversation
         WHERE o.state = 'offered' GROUP BY o.agent, c.integration",
    ] {
        for r in rows(c, sql, &[]).await? {
            let (agent, integration, n): (String, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let entry = load.entry(agent).or_default();
            for _ in 0..n {
                entry.add(config.platform_of(&integration));
            }
        }
    }
    Ok(load)
}

/// Takes the pass lock: one routing or inactivity pass at a time, across hosts.
pub async fn one_pass_at_a_time(c: &impl GenericClient) -> anyhow::Result<()> {
    c.batch_execute("LOCK TABLE pass_lock IN EXCLUSIVE MODE")
        .await?;
    Ok(())
}

/// One routing pass (see [`crate::store::AcdStore::route`] and the embedded engine's, which it
/// mirrors).
pub async fn route(
    c: &impl GenericClient,
    config: &routing::RoutingConfig,
    now: i64,
) -> anyhow::Result<Routed> {
    one_pass_at_a_time(c).await?;
    let mut routed = Routed::default();
    for (conversation, agent) in expire_offers(c, now).await? {
        set_presence(c, &agent, Presence::NotResponding, now).await?;
        routed.withdrawn.push((agent, conversation, "timeout"));
    }
    let presence: HashMap<String, (Presence, i64)> = all(c)
        .await?
        .into_iter()
        .map(|p| (p.agent, (p.presence, p.idle_since)))
        .collect();
    let mut assigner = routing::Assigner::new(config, presence, load(c, config).await?);
    let mut pages: Vec<Page> = assigner
        .queues_with_room()
        .into_iter()
        .map(Page::new)
        .collect();
    loop {
        for page in pages.iter_mut() {
            page.fill(c).await?;
        }
        let Some(best) = pages
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.head().map(|key| (key, i)))
            .min()
            .map(|(_, i)| i)
        else {
            break;
        };
        let conversation = pages[best].pop();
        let since = conversation.queued_at.unwrap_or(0);
        let waiting = routing::Waiting {
            refused_by: refused_by(c, &conversation.id, since).await?,
            transfer: transfer_since(c, &conversation.id, since).await?,
            conversation,
        };
        if let Some(offer) = assigner.offer(waiting, now) {
            create_offer(
                c,
                &offer.conversation.id,
                &offer.agent,
                now,
                offer.expires_at,
            )
            .await?;
            routed.offered.push(offer);
            let open: HashSet<String> = assigner.queues_with_room().into_iter().collect();
            pages.retain(|p| open.contains(&p.queue));
        }
    }
    routed.next_expiry = next_expiry(c).await?;
    Ok(routed)
}

/// The waiting interactions of one queue with no open offer, read a page at a time in route-key
/// order.
struct Page {
    queue: String,
    rows: std::collections::VecDeque<(i64, i64, Conversation)>,
    after: Option<(i64, i64)>,
    exhausted: bool,
}

impl Page {
    fn new(queue: String) -> Page {
        Page {
            queue,
            rows: Default::default(),
            after: None,
            exhausted: false,
        }
    }

    async fn fill(&mut self, c: &impl GenericClient) -> anyhow::Result<()> {
        if !self.rows.is_empty() || self.exhausted {
            return Ok(());
        }
        let (key, rowid) = self.after.unwrap_or((i64::MIN, i64::MIN));
        let read = conversations::waiting_page(c, &self.queue, key, rowid, ROUTING_PAGE).await?;
        self.exhausted = read.len() < ROUTING_PAGE;
        if let Some((key, rowid, _)) = read.last() {
            self.after = Some((*key, *rowid));
        }
        self.rows.extend(read);
        Ok(())
    }

    fn head(&self) -> Option<(i64, i64)> {
        self.rows.front().map(|(key, rowid, _)| (*key, *rowid))
    }

    fn pop(&mut self) -> Conversation {
        self.rows.pop_front().expect("a head was seen").2
    }
}
