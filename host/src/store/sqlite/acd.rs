//! The ACD's records: agents' presence, offers, accepts and wrap-ups, routing and inactivity
//! passes, canned responses and content filters.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, conversations, messages};
use crate::events::Author;
use crate::model::{AgentPresence, Canned, Conversation, ConversationState, FilterRule, Presence};
use crate::rules::{accept, inactivity, routing};
use crate::store::api::{
    AcceptRequest, Accepted, AcdStore, InactivityPass, InactivityRule, Routed,
};

// Presence.

pub fn set_presence(
    conn: &Connection,
    agent: &str,
    presence: Presence,
    now: i64,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO agents (id, presence, presence_since) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, presence_since = excluded.presence_since",
        params![agent, presence.as_str(), now],
    )?;
    Ok(())
}

/// The agent's presence and since when; an agent never seen is offline.
pub fn presence(conn: &Connection, agent: &str) -> anyhow::Result<(Presence, Option<i64>)> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT presence, presence_since FROM agents WHERE id = ?1")?
        .query_row(params![agent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((p, since)) => (Presence::parse(&p), Some(since)),
        None => (Presence::Offline, None),
    })
}

/// Every agent's presence and when they last became free (`idle_since`, or when they last set
/// their presence).
pub fn all(conn: &Connection) -> anyhow::Result<Vec<AgentPresence>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, presence, COALESCE(idle_since, presence_since) FROM agents")?;
    let rows = stmt.query_map([], |r| {
        Ok(AgentPresence {
            agent: r.get(0)?,
            presence: Presence::parse(&r.get::<_, String>(1)?),
            idle_since: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agent just became free (an interaction wrapped up): they are now the longest idle last.
pub fn set_idle_since(conn: &Connection, agent: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE agents SET idle_since = ?2 WHERE id = ?1")?
        .execute(params![agent, now])?;
    Ok(())
}

// Offers: each queued interaction is offered to one agent at a time.

/// The open offer of a conversation: (agent, expires at).
pub fn open_offer(conn: &Connection, conversation: &str) -> anyhow::Result<Option<(String, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT agent, expires_at FROM offers WHERE conversation = ?1 AND state = 'offered'",
        )?
        .query_row(params![conversation], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn create_offer(
    conn: &Connection,
    conversation: &str,
    agent: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO offers (conversation, agent, offered_at, expires_at, state) VALUES (?1, ?2, ?3, ?4, 'offered')",
    )?
    .execute(params![conversation, agent, now, expires_at])?;
    Ok(())
}

/// Moves the open offer of `conversation` to `agent` into `state`. Returns whether there was one.
pub fn close_offer(
    conn: &Connection,
    conversation: &str,
    agent: &str,
    state: &str,
) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE offers SET state = ?3 WHERE conversation = ?1 AND agent = ?2 AND state = 'offered'")?
        .execute(params![conversation, agent, state])?;
    Ok(n > 0)
}

/// Offers not answered in time, now marked `timeout`: (conversation, agent).
pub fn expire_offers(conn: &Connection, now: i64) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE offers SET state = 'timeout' WHERE state = 'offered' AND expires_at <= ?1 RETURNING conversation, agent",
    )?;
    let rows = stmt.query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Open offers: (conversation, agent).
pub fn open_offers(conn: &Connection) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT conversation, agent FROM offers WHERE state = 'offered'")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Agents who declined or let an offer of this conversation time out since `since`.
pub fn refused_by(
    conn: &Connection,
    conversation: &str,
    since: i64,
) -> anyhow::Result<HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent FROM offers WHERE conversation = ?1 AND state IN ('declined', 'timeout') AND offered_at >= ?2",
    )?;
    let rows = stmt.query_map(params![conversation, since], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next open offer expires.
pub fn next_expiry(conn: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(expires_at) FROM offers WHERE state = 'offered'",
        [],
        |r| r.get(0),
    )?)
}

pub fn canned(conn: &Connection) -> anyhow::Result<Vec<Canned>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, title, text FROM canned_responses ORDER BY title, id")?;
    let rows = stmt.query_map([], |r| {
        Ok(Canned {
            id: r.get(0)?,
            title: r.get(1)?,
            text: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_canned(conn: &Connection, c: &Canned) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO canned_responses (id, title, text) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET title = ?2, text = ?3",
    )?
    .execute(params![c.id, c.title, c.text])?;
    Ok(())
}

pub fn delete_canned(conn: &Connection, id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM canned_responses WHERE id = ?1")?
        .execute(params![id])?
        > 0)
}

pub fn filters(conn: &Connection) -> anyhow::Result<Vec<FilterRule>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, kind, pattern FROM content_filters ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(FilterRule {
            id: r.get(0)?,
            kind: r.get(1)?,
            pattern: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_filter(conn: &Connection, f: &FilterRule) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO content_filters (id, kind, pattern) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET kind = ?2, pattern = ?3",
    )?
    .execute(params![f.id, f.kind, f.pattern])?;
    Ok(())
}

pub fn delete_filter(conn: &Connection, id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM content_filters WHERE id = ?1")?
        .execute(params![id])?
        > 0)
}

/// How many waiting interactions of a queue one read takes.
const ROUTING_PAGE: usize = 64;

/// What each agent holds or is being offered, in total and per platform, counted through
/// indexes (assigned conversations, open offers).
fn load(
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

/// One routing pass (see [`AcdStore::route`]). Its cost follows what it can offer, not how many
/// wait: with no available agent with room it reads nothing more; otherwise it reads the
/// waiting interactions of the queues those agents work, best first, a page at a time, and stops
/// when no agent has room left.
fn route(conn: &Connection, config: &routing::RoutingConfig, now: i64) -> anyhow::Result<Routed> {
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
        let refused_by = refused_by(conn, &conversation.id, conversation.queued_at.unwrap_or(0))?;
        if let Some(offer) = assigner.offer(
            routing::Waiting {
                conversation,
                refused_by,
            },
            now,
        ) {
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

/// One inactivity pass (see [`AcdStore::inactivity`]).
fn inactivity_pass(
    conn: &Connection,
    rules: &[InactivityRule],
    now: i64,
) -> anyhow::Result<InactivityPass> {
    let mut pass = InactivityPass::default();
    for conv in conversations::assigned_all(conn)? {
        let Some(rule) = rules
            .iter()
            .find(|r| conv.queue.as_deref() == Some(r.queue.as_str()))
        else {
            continue;
        };
        match inactivity::decide(&conv, &rule.rule, now) {
            None => {}
            Some(inactivity::Action::End) => {
                let mut conv = conv.clone();
                if let Some(text) = &rule.rule.end_text {
                    messages::insert_outbound(conn, &conv.id, Author::Bot, text, now)?;
                    pass.sends += 1;
                }
                let agent = conv.agent.take();
                match &rule.rule.flow {
                    Some(flow) => {
                        conv.state = ConversationState::Flow;
                        conv.flow = Some(flow.clone());
                        conv.flow_version = rule.flow_version;
                        conv.flow_state = None;
                    }
                    None => conv.state = ConversationState::Ended,
                }
                conv.updated_at = now;
                conversations::update(conn, &mut conv)?;
                if let Some(agent) = &agent {
                    set_idle_since(conn, agent, now)?;
                }
                pass.ended.push((agent, conv.id.clone()));
            }
            Some(inactivity::Action::Warn) => {
                messages::insert_outbound(conn, &conv.id, Author::Bot, &rule.rule.warning, now)?;
                pass.sends += 1;
                let mut conv = conv.clone();
                conv.inactivity_warned_at = Some(now);
                conversations::update(conn, &mut conv)?;
            }
        }
    }
    Ok(pass)
}

/// An accept (see [`AcdStore::accept`]).
fn accept_interaction(conn: &Connection, request: &AcceptRequest) -> anyhow::Result<Accepted> {
    let id = &request.conversation;
    let agent = &request.agent;
    let Some(conversation) = conversations::get(conn, id)? else {
        return Ok(Accepted::NotFound);
    };
    let offer = open_offer(conn, id)?;
    let (presence, _) = presence(conn, &agent.id)?;
    let holding = conversations::assigned_to(conn, &agent.id)?.len();
    match accept::decide(
        &conversation,
        agent,
        offer.as_ref().map(|(to, _)| to.as_str()),
        presence,
        holding,
    ) {
        Ok(accept::Decision::AlreadyHeld) => return Ok(Accepted::Held(conversation)),
        Ok(accept::Decision::Claim) => {}
        Err(refusal) => return Ok(Accepted::Refused(refusal)),
    }
    if !conversations::claim(conn, id, &agent.id, request.now)? {
        return Ok(Accepted::Refused(accept::Refusal::Conflict(format!(
            "interaction `{id}` was accepted by another agent"
        ))));
    }
    if offer.is_some() {
        close_offer(conn, id, &agent.id, "accepted")?;
    }
    Ok(Accepted::Held(
        conversations::get(conn, id)?.expect("a claimed conversation exists"),
    ))
}

#[async_trait]
impl AcdStore for SqliteStore {
    async fn set_presence(&self, agent: &str, presence: Presence, now: i64) -> anyhow::Result<()> {
        let agent = agent.to_string();
        self.db
            .call(move |c| set_presence(c, &agent, presence, now))
            .await
    }

    async fn presence(&self, agent: &str) -> anyhow::Result<(Presence, Option<i64>)> {
        let agent = agent.to_string();
        self.reads.call(move |c| presence(c, &agent)).await
    }

    async fn presences(&self) -> anyhow::Result<Vec<AgentPresence>> {
        self.reads.call(all).await
    }

    async fn assigned_to(&self, agent: &str) -> anyhow::Result<Vec<Conversation>> {
        let agent = agent.to_string();
        self.reads
            .call(move |c| conversations::assigned_to(c, &agent))
            .await
    }

    async fn offers_to(&self, agent: &str) -> anyhow::Result<Vec<(Conversation, i64)>> {
        let agent = agent.to_string();
        self.reads
            .call(move |c| {
                let mut offered = Vec::new();
                for (conversation, to) in open_offers(c)? {
                    if to == agent
                        && let Some(conv) = conversations::get(c, &conversation)?
                        && let Some((_, expires_at)) = open_offer(c, &conversation)?
                    {
                        offered.push((conv, expires_at));
                    }
                }
                Ok(offered)
            })
            .await
    }

    async fn queued(&self, queue: &str) -> anyhow::Result<Vec<Conversation>> {
        let queue = queue.to_string();
        self.reads
            .call(move |c| conversations::queued(c, &queue))
            .await
    }

    async fn accept(&self, request: AcceptRequest) -> anyhow::Result<Accepted> {
        self.db.call(move |c| accept_interaction(c, &request)).await
    }

    async fn decline(&self, conversation: &str, agent: &str) -> anyhow::Result<bool> {
        let (conversation, agent) = (conversation.to_string(), agent.to_string());
        self.db
            .call(move |c| close_offer(c, &conversation, &agent, "declined"))
            .await
    }

    async fn wrap_up(
        &self,
        conversation: &str,
        agent: &str,
        code: &str,
        notes: Option<&str>,
        now: i64,
    ) -> anyhow::Result<bool> {
        let (conversation, agent, code, notes) = (
            conversation.to_string(),
            agent.to_string(),
            code.to_string(),
            notes.map(str::to_string),
        );
        self.db
            .call(move |c| {
                let done =
                    conversations::wrap_up(c, &conversation, &agent, &code, notes.as_deref(), now)?;
                if done {
                    set_idle_since(c, &agent, now)?;
                }
                Ok(done)
            })
            .await
    }

    async fn route(&self, config: &routing::RoutingConfig, now: i64) -> anyhow::Result<Routed> {
        let config = config.clone();
        self.db.call(move |c| route(c, &config, now)).await
    }

    async fn inactivity(
        &self,
        rules: &[InactivityRule],
        now: i64,
    ) -> anyhow::Result<InactivityPass> {
        let rules = rules.to_vec();
        self.db.call(move |c| inactivity_pass(c, &rules, now)).await
    }

    async fn canned(&self) -> anyhow::Result<Vec<Canned>> {
        self.reads.call(canned).await
    }

    async fn put_canned(&self, canned: Canned) -> anyhow::Result<()> {
        self.db.call(move |c| put_canned(c, &canned)).await
    }

    async fn delete_canned(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_string();
        self.db.call(move |c| delete_canned(c, &id)).await
    }

    async fn filters(&self) -> anyhow::Result<Vec<FilterRule>> {
        self.reads.call(filters).await
    }

    async fn put_filter(&self, rule: FilterRule) -> anyhow::Result<()> {
        self.db.call(move |c| put_filter(c, &rule)).await
    }

    async fn delete_filter(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_string();
        self.db.call(move |c| delete_filter(c, &id)).await
    }
}
