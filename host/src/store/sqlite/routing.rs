//! Routing passes (see [`crate::store::AcdStore::route`]): unanswered offers expire, then the
//! best waiting interactions are read through an index a page at a time and offered per
//! [`crate::rules::routing`], in the same transaction that records the offers.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::conversations;
use super::presence::{all, create_offer, expire_offers, next_expiry, set_presence};
use crate::model::{Conversation, Presence, Transfer};
use crate::rules::routing;
use crate::store::api::Routed;

/// Agent → when they last refused `conversation` since `since`: declined an offer of it or let
/// one ring out (when it was offered), or transferred it away.
pub fn refused_by(
    conn: &Connection,
    conversation: &str,
    since: i64,
) -> anyhow::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent, MAX(at) FROM (
             SELECT agent, offered_at AS at FROM offers
              WHERE conversation = ?1 AND state IN ('declined', 'timeout') AND offered_at >= ?2
             UNION ALL
             SELECT from_agent, at FROM transfers WHERE conversation = ?1 AND at >= ?2)
         GROUP BY agent",
    )?;
    let rows = stmt.query_map(params![conversation, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest transfer of `conversation` made at or after `since` (when it was queued).
pub fn transfer_since(
    conn: &Connection,
    conversation: &str,
    since: i64,
) -> anyhow::Result<Option<Transfer>> {
    Ok(conn
        .prepare_cached(
            "SELECT from_agent, to_queue, to_agent, note, at FROM transfers
             WHERE conversation = ?1 AND at >= ?2 ORDER BY at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![conversation, since], |r| {
            Ok(Transfer {
                from_agent: r.get(0)?,
                to_queue: r.get(1)?,
                to_agent: r.get(2)?,
                note: r.get(3)?,
                at: r.get(4)?,
            })
        })
        .optional()?)
}

/// How many waiting interactions of a queue one read takes.
const ROUTING_PAGE: usize = 64;

/// What each agent holds or is being offered, in total and per platform, counted through
/// indexes (assigned conversations, open offers).
pub(super) fn load(
    conn: &Connection,
    config: &routing::RoutingConfig,
) -> anyhow::Result<HashMap<String, routing::Load>> {
    let mut load: HashMap<String, routing::Load> = HashMap::new();
    for sql in [
        "SELECT agent, integration, COUNT(*) FROM conversations
         WHERE state = 'assigned' AND agent IS NOT NULL GROUP BY agent, integration",
        "SELECT o.agent, c.integration, COUNT(*) FROM offers o JOIN conversations c ON c.id = o.conversation
         WHERE o.state = 'offered' GROUP BY o.agent, c.integration",
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })?;
        for row in rows {
            let (agent, integration, n) = row?;
            let entry = load.entry(agent).or_default();
            for _ in 0..n {
                entry.add(config.platform_of(&integration));
            }
        }
    }
    Ok(load)
}

/// One routing pass (see [`crate::store::AcdStore::route`]). Its cost follows what it can offer, not how many
/// wait: with no available agent with room it reads nothing more; otherwise it reads the
/// waiting interactions of the queues those agents work, best first, a page at a time, and stops
/// when no agent has room left.
pub fn route(
    conn: &Connection,
    config: &routing::RoutingConfig,
    now: i64,
) -> anyhow::Result<Routed> {
    let mut routed = Routed::default();
    for (conversation, agent) in expire_offers(conn, now)? {
        set_presence(conn, &agent, Presence::NotResponding, now)?;
        routed.withdrawn.push((agent, conversation, "timeout"));
    }
    let presence: HashMap<String, (Presence, i64)> = all(conn)?
        .into_iter()
        .map(|p| (p.agent, (p.presence, p.idle_since)))
        .collect();
    let mut assigner = routing::Assigner::new(config, presence, load(conn, config)?);
    let mut pages: Vec<Page> = assigner
        .queues_with_room()
        .into_iter()
        .map(Page::new)
        .collect();
    loop {
        // The best head among the queues' pages (a k-way merge by route key).
        for page in pages.iter_mut() {
            page.fill(conn)?;
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
            refused_by: refused_by(conn, &conversation.id, since)?,
            transfer: transfer_since(conn, &conversation.id, since)?,
            conversation,
        };
        if let Some(offer) = assigner.offer(waiting, now) {
            create_offer(
                conn,
                &offer.conversation.id,
                &offer.agent,
                now,
                offer.expires_at,
            )?;
            routed.offered.push(offer);
            let open: std::collections::HashSet<String> =
                assigner.queues_with_room().into_iter().collect();
            pages.retain(|p| open.contains(&p.queue));
        }
    }
    routed.next_expiry = next_expiry(conn)?;
    Ok(routed)
}

/// The waiting interactions of one queue with no open offer, read a page at a time in route-key
/// order through `conversations_routing`.
struct Page {
    queue: String,
    rows: std::collections::VecDeque<(i64, i64, Conversation)>,
    /// (route key, rowid) of the last row read.
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

    fn fill(&mut self, conn: &Connection) -> anyhow::Result<()> {
        if !self.rows.is_empty() || self.exhausted {
            return Ok(());
        }
        let (key, rowid) = self.after.unwrap_or((i64::MIN, i64::MIN));
        let read = conversations::waiting_page(conn, &self.queue, key, rowid, ROUTING_PAGE)?;
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
