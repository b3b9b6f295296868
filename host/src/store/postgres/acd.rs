//! The ACD's records: agents' presence, offers, accepts and wrap-ups, routing and inactivity
//! passes, canned responses and content filters.
//!
//! Presence and offer rows are in `presence.rs`, routing passes in `routing.rs`, transfers in
//! `transfers.rs` (as in the embedded engine).
//!
//! Across hosts: a routing or inactivity pass runs one at a time (the `pass_lock` table locked
//! first thing); an interaction has at most one open offer (a partial unique index); an accept
//! locks the agent's row, so the agent's capacity is counted by one accept at a time, and moves
//! the conversation only while it is still queued (one of two agents wins). Every unit is
//! serializable besides, so what a pass or an accept decided from is what it writes over.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::db::{exec, rows, unit};
use super::presence::{all, close_offer, open_offer, presence, set_idle_since, set_presence};
use super::routing::{one_pass_at_a_time, route};
use super::{PgStore, conversations, messages, transfers};
use crate::events::Author;
use crate::model::{
    AgentPresence, Canned, Conversation, ConversationState, FilterRule, Presence, Transfer,
};
use crate::rules::{accept, inactivity, routing};
use crate::store::api::{
    AcceptRequest, Accepted, AcdStore, InactivityPass, InactivityRule, Routed, TransferRequest,
    Transferred,
};

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

    async fn decline(&self, conversation: &str, agent: &str, now: i64) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            let declined = close_offer(&tx, conversation, agent, "declined").await?;
            if declined {
                set_presence(&tx, agent, Presence::NotResponding, now).await?;
            }
            Ok(declined)
        })
    }

    async fn transfer(&self, request: TransferRequest) -> anyhow::Result<Transferred> {
        unit!(self.pool, |tx| transfers::transfer(&tx, &request).await)
    }

    async fn transfers(&self, conversation: &str) -> anyhow::Result<Vec<Transfer>> {
        transfers::transfers(&self.pool.get().await?, conversation).await
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
