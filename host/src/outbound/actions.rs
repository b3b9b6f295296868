//! Best-effort sends that are not messages: the read marker an agent's accept sends, and the
//! typing indicator while an agent writes. A failure is reported or logged; nothing waits on
//! them and nothing is retried.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::integrations::{Integrations, perform};
use crate::metrics::Metrics;
use crate::model::Conversation;
use crate::store::ConversationStore;

/// A platform's typing indicator lasts a few seconds; showing it more often is noise.
const TYPING_INTERVAL: Duration = Duration::from_secs(3);

/// Read markers and typing indicators.
pub struct SenderActions {
    pub integrations: Arc<Integrations>,
    pub store: Arc<dyn ConversationStore>,
    pub http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    /// When a typing indicator last went out, per conversation.
    typing_sent: Mutex<HashMap<String, Instant>>,
}

impl SenderActions {
    pub fn new(
        integrations: Arc<Integrations>,
        store: Arc<dyn ConversationStore>,
        http: reqwest::Client,
        metrics: Arc<Metrics>,
    ) -> SenderActions {
        SenderActions {
            integrations,
            store,
            http,
            metrics,
            typing_sent: Mutex::default(),
        }
    }

    /// Tells the platform the business has read the customer's latest message, where the
    /// platform has such a call. A failure is logged; nothing else depends on it.
    pub async fn mark_read(&self, conversation: &Conversation) {
        let Some(integration) = self.integrations.sender_for(&conversation.integration) else {
            return;
        };
        let Ok(Some(latest)) = self.store.latest_inbound(&conversation.id).await else {
            return;
        };
        let Some(platform_id) = latest.platform_id else {
            return;
        };
        let request = integration
            .encode_mark_read(&self.metrics, &conversation.customer_id, &platform_id)
            .await;
        if let Ok(Some(request)) = request {
            match perform(&self.http, request).await {
                Ok((status, _, _)) if (200..300).contains(&status) => {}
                Ok((status, _, body)) => tracing::warn!(
                    integration = %integration.config.id,
                    "marking a message read got HTTP {status}: {}",
                    String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                ),
                Err(e) => tracing::warn!(
                    integration = %integration.config.id,
                    "marking a message read failed: {}",
                    e.detail()
                ),
            }
        }
    }

    /// Shows the customer that an agent is typing, at most once per [`TYPING_INTERVAL`] per
    /// conversation. The error says why nothing was shown.
    pub async fn show_typing(&self, conversation: &Conversation) -> Result<(), String> {
        let Some(integration) = self.integrations.sender_for(&conversation.integration) else {
            return Err(format!(
                "integration `{}` is not loaded",
                conversation.integration
            ));
        };
        let adapter = &integration.adapter;
        if !adapter.has_typing_call() {
            return Err(format!(
                "adapter `{}` implements switchboard:channel@{}, which has no typing indicator \
                 (added in 0.2.0)",
                adapter.name(),
                adapter.wit_version()
            ));
        }
        {
            let mut sent = self.typing_sent.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if let Some(last) = sent.get(&conversation.id)
                && now.duration_since(*last) < TYPING_INTERVAL
            {
                return Err(format!(
                    "a typing indicator went out {} ms ago; it is sent at most every {} s",
                    now.duration_since(*last).as_millis(),
                    TYPING_INTERVAL.as_secs()
                ));
            }
            sent.retain(|_, last| now.duration_since(*last) < TYPING_INTERVAL);
            sent.insert(conversation.id.clone(), now);
        }
        let request = match integration
            .encode_typing(&self.metrics, &conversation.customer_id)
            .await
        {
            Ok(Some(request)) => request,
            Ok(None) => {
                return Err(format!(
                    "{} has no typing indicator",
                    adapter.info().platform
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        match perform(&self.http, request).await {
            Ok((status, _, _)) if (200..300).contains(&status) => Ok(()),
            Ok((status, _, body)) => Err(format!(
                "the platform answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )),
            Err(e) => Err(format!("the platform could not be reached: {}", e.detail())),
        }
    }
}
