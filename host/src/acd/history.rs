//! What agents look up: an interaction with its transcript and transfers, the customer's
//! earlier interactions, and search by customer, text and date. Agents see the interactions of
//! their queues and those they held; admins and supervisors see every one.

use super::agents::Acd;
use super::error::AcdError;
use crate::config::AgentConfig;
use crate::model::Transfer;
use crate::store::{SearchQuery, SearchResult, Transcript};

/// How many earlier interactions of a customer are shown.
const HISTORY: usize = 20;
/// The most results one search returns.
const MAX_RESULTS: usize = 100;

/// An interaction with everything shown about it.
pub struct Record {
    pub transcript: Transcript,
    pub transfers: Vec<Transfer>,
}

impl Acd {
    /// Interaction `id` with its transcript and transfers: visible to admins and supervisors
    /// (`agent` is `None`), to the agent who holds or last held it, and to members of its queue.
    pub async fn record(&self, agent: Option<&AgentConfig>, id: &str) -> Result<Record, AcdError> {
        let transcript = self.interaction(agent, id).await?;
        Ok(Record {
            transfers: self.store.transfers(id).await?,
            transcript,
        })
    }

    /// The customer's other interactions on the same integration, newest first, for whoever may
    /// see interaction `id`.
    pub async fn history(
        &self,
        agent: Option<&AgentConfig>,
        id: &str,
    ) -> Result<Vec<Record>, AcdError> {
        let current = self.interaction(agent, id).await?.conversation;
        let mut records = Vec::new();
        for transcript in self
            .store
            .customer_history(&current.integration, &current.customer_id, HISTORY + 1)
            .await?
        {
            if transcript.conversation.id == id {
                continue;
            }
            records.push(Record {
                transfers: self.store.transfers(&transcript.conversation.id).await?,
                transcript,
            });
        }
        records.truncate(HISTORY);
        Ok(records)
    }

    /// Interactions matching `query` that `agent` may see (every one for admins and
    /// supervisors), newest first.
    pub async fn search(
        &self,
        agent: Option<&AgentConfig>,
        mut query: SearchQuery,
    ) -> Result<SearchResult, AcdError> {
        query.visible_to = agent.map(|a| (a.id.clone(), a.queues.clone()));
        query.limit = query.limit.clamp(1, MAX_RESULTS);
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(AcdError::Invalid("`from` is after `to`".into()));
        }
        Ok(self.store.search(query).await?)
    }
}
