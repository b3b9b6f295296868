//! Customers' earlier interactions and search (see [`HistoryStore`]). History reads through the
//! customer index; search reads interactions newest first through the index on when they
//! started, at most [`SEARCH_READS`] of them, so one search costs the same however long the
//! history is.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::conversations::{self, wrapups};
use super::{SqliteStore, messages};
use crate::store::api::{HistoryStore, SearchHit, SearchQuery, SearchResult, Transcript};

/// The most interactions one search reads.
const SEARCH_READS: i64 = 5_000;

fn transcript_of(conn: &Connection, id: &str) -> anyhow::Result<Option<Transcript>> {
    let Some(conversation) = conversations::get(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(Transcript {
        messages: messages::transcript(conn, id)?,
        wrapups: wrapups(conn, id)?,
        conversation,
    }))
}

fn customer_history(
    conn: &Connection,
    integration: &str,
    customer_id: &str,
    limit: usize,
) -> anyhow::Result<Vec<Transcript>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM conversations WHERE integration = ?1 AND customer_id = ?2
         ORDER BY last_customer_at DESC LIMIT ?3",
    )?;
    let ids: Vec<String> = stmt
        .query_map(params![integration, customer_id, limit as i64], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?;
    let mut history = Vec::with_capacity(ids.len());
    for id in ids {
        history.extend(transcript_of(conn, &id)?);
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

fn search(conn: &Connection, q: &SearchQuery) -> anyhow::Result<SearchResult> {
    let customer = q
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let (agent, queues) = match &q.visible_to {
        Some((agent, queues)) => (Some(agent.as_str()), Some(serde_json::to_string(queues)?)),
        None => (None, None),
    };
    // The newest SEARCH_READS interactions of the date range, then the filters on them.
    let mut stmt = conn.prepare_cached(
        "SELECT id, n FROM (
             SELECT id, integration, customer_id, customer, queue, agent, last_agent,
                    ROW_NUMBER() OVER (ORDER BY created_at DESC, rowid DESC) AS n
             FROM conversations WHERE created_at >= ?1 AND created_at <= ?2
             ORDER BY created_at DESC, rowid DESC LIMIT ?3) c
         WHERE (?4 IS NULL OR c.customer_id = ?4 OR c.customer LIKE ?5 ESCAPE '\\')
           AND (?6 IS NULL OR EXISTS (SELECT 1 FROM messages m
                                      WHERE m.conversation = c.id AND m.text LIKE ?6 ESCAPE '\\'))
           AND (?7 IS NULL OR c.agent = ?7 OR c.last_agent = ?7
                OR c.queue IN (SELECT value FROM json_each(?8)))
         ORDER BY n LIMIT ?9",
    )?;
    let rows = stmt.query_map(
        params![
            q.from.unwrap_or(i64::MIN),
            q.to.unwrap_or(i64::MAX),
            SEARCH_READS,
            customer,
            customer.map(like_pattern),
            text.map(like_pattern),
            agent,
            queues,
            q.limit as i64,
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )?;
    let found: Vec<(String, i64)> = rows.collect::<Result<_, _>>()?;
    // Whether the range holds more than one search reads (and so it may have missed some).
    let truncated =
        conn.prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM conversations
             WHERE created_at >= ?1 AND created_at <= ?2 LIMIT ?3)",
        )?
        .query_row(
            params![
                q.from.unwrap_or(i64::MIN),
                q.to.unwrap_or(i64::MAX),
                SEARCH_READS + 1
            ],
            |r| r.get::<_, i64>(0),
        )? > SEARCH_READS;
    let needle = text.map(str::to_lowercase);
    let mut hits = Vec::with_capacity(found.len());
    for (id, _) in found {
        let Some(conversation) = conversations::get(conn, &id)? else {
            continue;
        };
        let matched = match &needle {
            Some(needle) => messages::transcript(conn, &id)?.into_iter().find(|m| {
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
    Ok(SearchResult { hits, truncated })
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn customer_history(
        &self,
        integration: &str,
        customer_id: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<Transcript>> {
        let (integration, customer_id) = (integration.to_string(), customer_id.to_string());
        self.reads
            .call(move |c| customer_history(c, &integration, &customer_id, limit))
            .await
    }

    async fn search(&self, query: SearchQuery) -> anyhow::Result<SearchResult> {
        self.reads.call(move |c| search(c, &query)).await
    }
}
