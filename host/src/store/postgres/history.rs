//! Customers' earlier interactions and search (see [`HistoryStore`]), mirroring the embedded
//! engine's `history.rs`. History reads through the customer index; search reads interactions
//! newest first through the index on when they started, at most [`SEARCH_READS`] of them, so
//! one search costs the same however long the history is. Each reads one read-only snapshot, so
//! a transcript is never half of a change another host is making.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::conversations::{self, wrapups};
use super::db::{rows, scalar};
use super::{PgStore, messages};
use crate::store::api::{HistoryStore, SearchHit, SearchQuery, SearchResult, Transcript};

/// The most interactions one search reads.
const SEARCH_READS: i64 = 5_000;

async fn transcript_of(c: &impl GenericClient, id: &str) -> anyhow::Result<Option<Transcript>> {
    let Some(conversation) = conversations::get(c, id).await? else {
        return Ok(None);
    };
    Ok(Some(Transcript {
        messages: messages::transcript(c, id).await?,
        wrapups: wrapups(c, id).await?,
        conversation,
    }))
}

async fn customer_history(
    c: &impl GenericClient,
    integration: &str,
    customer_id: &str,
    limit: usize,
) -> anyhow::Result<Vec<Transcript>> {
    let ids: Vec<String> = rows(
        c,
        "SELECT id FROM conversations WHERE integration = $1 AND customer_id = $2
         ORDER BY last_customer_at DESC, rowid DESC LIMIT $3",
        &[&integration, &customer_id, &(limit as i64)],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut history = Vec::with_capacity(ids.len());
    for id in ids {
        history.extend(transcript_of(c, &id).await?);
    }
    Ok(history)
}

/// `%text%` for LIKE, with LIKE's wildcards in `text` taken literally (escape `\`).
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

async fn search(c: &impl GenericClient, q: &SearchQuery) -> anyhow::Result<SearchResult> {
    let customer = q
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let (agent, queues) = match &q.visible_to {
        Some((agent, queues)) => (Some(agent.as_str()), Some(queues.clone())),
        None => (None, None),
    };
    let (from, to) = (q.from.unwrap_or(i64::MIN), q.to.unwrap_or(i64::MAX));
    // The newest SEARCH_READS interactions of the date range, then the filters on them (ILIKE:
    // any case, as the embedded engine's LIKE).
    let found: Vec<String> = rows(
        c,
        "SELECT id FROM (
             SELECT id, integration, customer_id, customer, queue, agent, last_agent,
                    ROW_NUMBER() OVER (ORDER BY created_at DESC, rowid DESC) AS n
             FROM conversations WHERE created_at >= $1 AND created_at <= $2
             ORDER BY created_at DESC, rowid DESC LIMIT $3) c
         WHERE ($4::text IS NULL OR c.customer_id = $4 OR c.customer ILIKE $5 ESCAPE '\\')
           AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM messages m
                                            WHERE m.conversation = c.id AND m.text ILIKE $6 ESCAPE '\\'))
           AND ($7::text IS NULL OR c.agent = $7 OR c.last_agent = $7 OR c.queue = ANY($8::text[]))
         ORDER BY n LIMIT $9",
        &[
            &from,
            &to,
            &SEARCH_READS,
            &customer,
            &customer.map(like_pattern),
            &text.map(like_pattern),
            &agent,
            &queues,
            &(q.limit as i64),
        ],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    // Whether the range holds more than one search reads (and so it may have missed some).
    let in_range: i64 = scalar(
        c,
        "SELECT COUNT(*) FROM (SELECT 1 FROM conversations
         WHERE created_at >= $1 AND created_at <= $2 LIMIT $3) r",
        &[&from, &to, &(SEARCH_READS + 1)],
    )
    .await?;
    let needle = text.map(str::to_lowercase);
    let mut hits = Vec::with_capacity(found.len());
    for id in found {
        let Some(conversation) = conversations::get(c, &id).await? else {
            continue;
        };
        let matched = match &needle {
            Some(needle) => messages::transcript(c, &id).await?.into_iter().find(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase().contains(needle))
            }),
            None => None,
        };
        hits.push(SearchHit {
            conversation,
            matched,
        });
    }
    Ok(SearchResult {
        hits,
        truncated: in_range > SEARCH_READS,
    })
}

/// Runs `read` in one read-only snapshot.
macro_rules! snapshot {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut client = $pool.get().await?;
        let $tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let value = $body?;
        $tx.commit().await?;
        Ok(value)
    }};
}

#[async_trait]
impl HistoryStore for PgStore {
    async fn customer_history(
        &self,
        integration: &str,
        customer_id: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<Transcript>> {
        snapshot!(self.pool, |tx| customer_history(
            &tx,
            integration,
            customer_id,
            limit
        )
        .await)
    }

    async fn search(&self, query: SearchQuery) -> anyhow::Result<SearchResult> {
        snapshot!(self.pool, |tx| search(&tx, &query).await)
    }
}
