//! The ACD's records: agents' presence, offers, accepts and wrap-ups, routing and inactivity
//! passes, canned responses and content filters.
//!
//! Across hosts: a routing or inactivity pass runs one at a time (the `pass_lock` table locked
//! first thing); an interaction has at most one open offer (a partial unique index); an accept
//! locks the agent's row, so the agent's capacity is counted by one accept at a time, and moves
//! the conversation only while it is still queued (one of two agents wins). Every unit is
//! serializable besides, so what a pass or an accept decided from is what it writes over.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::db::{exec, row, rows, scalar, unit};
use super::{PgStore, conversations, messages};
use crate::events::Author;
use crate::model::{AgentPresence, Canned, Conversation, ConversationState, FilterRule, Presence};
use crate::rules::{accept, inactivity, routing};
use crate::store::api::{
    AcceptRequest, Accepted, AcdStore, InactivityPass, InactivityRule, Routed,
};

async fn set_presence(
    c: &impl GenericClient,
    agent: &str,
    presence: Presence,
    now: i64,
) -> anyhow::Result<()> {
    exec(
        c,
        "INSERT INTO agents (id, presence, presence_since) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET presence = EXCLUDED.presence, presence_since = EXCLUDED.presence_since",
        &[&agent, &presence.as_str(), &now],
    )
    .await?;
    Ok(())
}

async fn presence(
    c: &impl GenericClient,
    agent: &str,
    lock: bool,
) -> anyhow::Result<(Presence, Option<i64>)> {
    let sql = if lock {
        "SELECT presence, presence_since FROM agents WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT presence, presence_since FROM agents WHERE id = $1"
    };
    Ok(match row(c, sql, &[&agent]).await? {
        Some(r) => (
            Presence::parse(&r.try_get::<_, String>(0)?),
            Some(r.try_get(1)?),
        ),
        None => (Presence::Offline, None),
    })
}

async fn all(c: &impl GenericClient) -> anyhow::Result<Vec<AgentPresence>> {
    rows(
        c,
        "SELECT id, presence, COALESCE(idle_since, presence_since) FROM agents ORDER BY id",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(AgentPresence {
            agent: r.try_get(0)?,
            presence: Presence::parse(&r.try_get::<_, String>(1)?),
            idle_since: r.try_get(2)?,
        })
    })
    .collect()
}

async fn set_idle_since(c: &impl GenericClient, agent: &str, now: i64) -> anyhow::Result<()> {
    exec(
        c,
        "UPDATE agents SET idle_since = $2 WHERE id = $1",
        &[&agent, &now],
    )
    .await?;
    Ok(())
}

/// The open offer of a conversation: (agent, expires at).
async fn open_offer(
    c: &impl GenericClient,
    conversation: &str,
) -> anyhow::Result<Option<(String, i64)>> {
    row(
        c,
        "SELECT agent, expires_at FROM offers WHERE conversation = $1 AND state = 'offered'",
        &[&conversation],
    )
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

async fn close_offer(
    c: &impl GenericClient,
    conversation: &str,
    agent: &str,
    state: &str,
) -> anyhow::Result<bool> {
    Ok(exec(
        c,
        "UPDATE offers SET state = $3 WHERE conversation = $1 AND agent = $2 AND state = 'offered'",
        &[&conversation, &agent, &state],
    )
    .await?
        > 0)
}

/// How many waiting interactions of a queue one read takes.
const ROUTING_PAGE: usize = 64;

/// What each agent holds or is being offered, in total and per platform.
async fn load(
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
async fn one_pass_at_a_time(c: &impl GenericClient) -> anyhow::Result<()> {
    c.batch_execute("LOCK TABLE pass_lock IN EXCLUSIVE MODE")
        .await?;
    Ok(())
}

/// One routing pass (see [`AcdStore::route`] and the embedded engine's, which it mirrors).
async fn route(
    c: &impl GenericClient,
    config: &routing::RoutingConfig,
    now: i64,
) -> anyhow::Result<Routed> {
    one_pass_at_a_time(c).await?;
    let mut routed = Routed::default();
    for r in rows(
        c,
        "UPDATE offers SET state = 'timeout' WHERE state = 'offered' AND expires_at <= $1
         RETURNING conversation, agent",
        &[&now],
    )
    .await?
    {
        let (conversation, agent): (String, String) = (r.try_get(0)?, r.try_get(1)?);
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
        let refused_by: HashSet<String> = rows(
            c,
            "SELECT agent FROM offers WHERE conversation = $1 AND state IN ('declined', 'timeout') AND offered_at >= $2",
            &[&conversation.id, &since],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        if let Some(offer) = assigner.offer(
            routing::Waiting {
                conversation,
                refused_by,
            },
            now,
        ) {
            exec(
                c,
                "INSERT INTO offers (conversation, agent, offered_at, expires_at, state) VALUES ($1, $2, $3, $4, 'offered')",
                &[&offer.conversation.id, &offer.agent, &now, &offer.expires_at],
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

async fn next_expiry(c: &impl GenericClient) -> anyhow::Result<Option<i64>> {
    scalar(
        c,
        "SELECT MIN(expires_at) FROM offers WHERE state = 'offered'",
        &[],
    )
    .await
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

/// One inactivity pass (see [`AcdStore::inactivity`]).
async fn inactivity_pass(
    c: &impl GenericClient,
    rules: &[InactivityRule],
    now: i64,
) -> anyhow::Result<InactivityPass> {
    one_pass_at_a_time(c).await?;
    let mut pass = InactivityPass::default();
    for conv in conversations::assigned_all(c).await? {
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
                    messages::insert_outbound(c, &conv.id, Author::Bot, text, now).await?;
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
                conversations::update(c, &mut conv).await?;
                if let Some(agent) = &agent {
                    set_idle_since(c, agent, now).await?;
                }
                pass.ended.push((agent, conv.id.clone()));
            }
            Some(inactivity::Action::Warn) => {
                messages::insert_outbound(c, &conv.id, Author::Bot, &rule.rule.warning, now)
                    .await?;
                pass.sends += 1;
                let mut conv = conv.clone();
                conv.inactivity_warned_at = Some(now);
                conversations::update(c, &mut conv).await?;
            }
        }
    }
    Ok(pass)
}

/// An accept (see [`AcdStore::accept`]).
async fn accept_interaction(
    c: &impl GenericClient,
    request: &AcceptRequest,
) -> anyhow::Result<Accepted> {
    let id = &request.conversation;
    let agent = &request.agent;
    // The agent's row first: this agent's accepts count their capacity one at a time.
    let (presence, _) = presence(c, &agent.id, true).await?;
    let Some(conversation) = conversations::get(c, id).await? else {
        return Ok(Accepted::NotFound);
    };
    let offer = open_offer(c, id).await?;
    let holding = conversations::assigned_to(c, &agent.id).await?.len();
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
    if !conversations::claim(c, id, &agent.id, request.now).await? {
        return Ok(Accepted::Refused(accept::Refusal::Conflict(format!(
            "interaction `{id}` was accepted by another agent"
        ))));
    }
    if offer.is_some() {
        close_offer(c, id, &agent.id, "accepted").await?;
    }
    Ok(Accepted::Held(
        conversations::get(c, id)
            .await?
            .expect("a claimed conversation exists"),
    ))
}

async fn offers_to(
    c: &impl GenericClient,
    agent: &str,
) -> anyhow::Result<Vec<(Conversation, i64)>> {
    let mut offered = Vec::new();
    for r in rows(
        c,
        "SELECT conversation, expires_at FROM offers WHERE agent = $1 AND state = 'offered' ORDER BY id",
        &[&agent],
    )
    .await?
    {
        let conversation: String = r.try_get(0)?;
        if let Some(conv) = conversations::get(c, &conversation).await? {
            offered.push((conv, r.try_get(1)?));
        }
    }
    Ok(offered)
}

#[async_trait]
impl AcdStore for PgStore {
    async fn set_presence(&self, agent: &str, presence: Presence, now: i64) -> anyhow::Result<()> {
        unit!(self.pool, |tx| set_presence(&tx, agent, presence, now)
            .await)
    }

    async fn presence(&self, agent: &str) -> anyhow::Result<(Presence, Option<i64>)> {
        presence(&self.pool.get().await?, agent, false).await
    }

    async fn presences(&self) -> anyhow::Result<Vec<AgentPresence>> {
        all(&self.pool.get().await?).await
    }

    async fn assigned_to(&self, agent: &str) -> anyhow::Result<Vec<Conversation>> {
        conversations::assigned_to(&self.pool.get().await?, agent).await
    }

    async fn offers_to(&self, agent: &str) -> anyhow::Result<Vec<(Conversation, i64)>> {
        offers_to(&self.pool.get().await?, agent).await
    }

    async fn queued(&self, queue: &str) -> anyhow::Result<Vec<Conversation>> {
        conversations::queued(&self.pool.get().await?, queue).await
    }

    async fn accept(&self, request: AcceptRequest) -> anyhow::Result<Accepted> {
        unit!(self.pool, |tx| accept_interaction(&tx, &request).await)
    }

    async fn decline(&self, conversation: &str, agent: &str) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| close_offer(
            &tx,
            conversation,
            agent,
            "declined"
        )
        .await)
    }

    async fn wrap_up(
        &self,
        conversation: &str,
        agent: &str,
        code: &str,
        notes: Option<&str>,
        now: i64,
    ) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            let done = conversations::wrap_up(&tx, conversation, agent, code, notes, now).await?;
            if done {
                set_idle_since(&tx, agent, now).await?;
            }
            Ok(done)
        })
    }

    async fn route(&self, config: &routing::RoutingConfig, now: i64) -> anyhow::Result<Routed> {
        unit!(self.pool, |tx| route(&tx, config, now).await)
    }

    async fn inactivity(
        &self,
        rules: &[InactivityRule],
        now: i64,
    ) -> anyhow::Result<InactivityPass> {
        unit!(self.pool, |tx| inactivity_pass(&tx, rules, now).await)
    }

    async fn canned(&self) -> anyhow::Result<Vec<Canned>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, title, text FROM canned_responses ORDER BY title, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Canned {
                id: r.try_get(0)?,
                title: r.try_get(1)?,
                text: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn put_canned(&self, canned: Canned) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO canned_responses (id, title, text) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET title = $2, text = $3",
                &[&canned.id, &canned.title, &canned.text],
            )
            .await
            .map(|_| ())
        })
    }

    async fn delete_canned(&self, id: &str) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            Ok(exec(&tx, "DELETE FROM canned_responses WHERE id = $1", &[&id]).await? > 0)
        })
    }

    async fn filters(&self) -> anyhow::Result<Vec<FilterRule>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, kind, pattern FROM content_filters ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(FilterRule {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                pattern: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn put_filter(&self, rule: FilterRule) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO content_filters (id, kind, pattern) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET kind = $2, pattern = $3",
                &[&rule.id, &rule.kind, &rule.pattern],
            )
            .await
            .map(|_| ())
        })
    }

    async fn delete_filter(&self, id: &str) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            Ok(exec(&tx, "DELETE FROM content_filters WHERE id = $1", &[&id]).await? > 0)
        })
    }
}
