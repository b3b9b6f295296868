//! The ACD's records: agents' presence, offers, accepts and wrap-ups, routing and inactivity
//! passes, canned responses and content filters.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::presence::{
    all, close_offer, open_offer, open_offers, presence, set_idle_since, set_presence,
};
use super::{SqliteStore, conversations, messages};
use crate::events::Author;
use crate::model::{
    AgentPresence, Canned, Conversation, ConversationState, FilterRule, Presence, Transfer,
};
use crate::rules::{accept, inactivity, routing};
use crate::store::api::{
    AcceptRequest, Accepted, AcdStore, InactivityPass, InactivityRule, Routed, TransferRequest,
    Transferred,
};

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

    async fn decline(&self, conversation: &str, agent: &str, now: i64) -> anyhow::Result<bool> {
        let (conversation, agent) = (conversation.to_string(), agent.to_string());
        self.db
            .call(move |c| {
                let declined = close_offer(c, &conversation, &agent, "declined")?;
                if declined {
                    set_presence(c, &agent, Presence::NotResponding, now)?;
                }
                Ok(declined)
            })
            .await
    }

    async fn transfer(&self, request: TransferRequest) -> anyhow::Result<Transferred> {
        self.db
            .call(move |c| super::transfers::transfer(c, &request))
            .await
    }

    async fn transfers(&self, conversation: &str) -> anyhow::Result<Vec<Transfer>> {
        let conversation = conversation.to_string();
        self.reads
            .call(move |c| super::transfers::transfers(c, &conversation))
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
        self.db
            .call(move |c| super::routing::route(c, &config, now))
            .await
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
