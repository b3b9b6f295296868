//! Intake: a platform's webhook request, answered by the integration's adapter, its events
//! stored durably before the answer goes back (so the platform's 2xx means "stored"), and the
//! inbox worker woken. The HTTP layer only translates to and from this.

use std::sync::Arc;

use crate::integrations::Integrations;
use crate::metrics::Metrics;
use crate::model::{InsertOutcome, now_ms};
use crate::runtime::{AdapterError, WebhookRequest};
use crate::store::InboxStore;
use crate::wake::Wakeups;

/// The answer to give the platform.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a webhook was refused; nothing was stored.
#[derive(Debug)]
pub enum Refused {
    UnknownIntegration(String),
    /// The integration's adapter is not published yet (503: the platform redelivers).
    AdapterMissing(String),
    /// A bad or missing signature (401).
    Unauthorized(String),
    /// A body the adapter cannot read (400).
    Malformed(String),
    /// The adapter says the integration is set up wrong (500).
    Misconfigured(String),
    /// The adapter trapped, ran past its deadline or memory (503: the platform redelivers).
    PluginFailed(String),
    /// The events could not be stored (503: the platform redelivers).
    StoreUnavailable,
}

impl Refused {
    /// The label metrics count refusals by.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::UnknownIntegration(_) => "unknown_integration",
            Refused::AdapterMissing(_) => "adapter_missing",
            Refused::Unauthorized(_) => "unauthorized",
            Refused::Malformed(_) => "malformed",
            Refused::Misconfigured(_) => "misconfigured",
            Refused::PluginFailed(_) => "plugin_failed",
            Refused::StoreUnavailable => "store_unavailable",
        }
    }
}

/// Webhook intake (see the module docs).
pub struct Intake {
    pub integrations: Arc<Integrations>,
    pub store: Arc<dyn InboxStore>,
    pub wake: Arc<Wakeups>,
    pub metrics: Arc<Metrics>,
}

impl Intake {
    /// Answers one webhook request to integration `id`.
    pub async fn receive(&self, id: &str, request: WebhookRequest) -> Result<Answer, Refused> {
        let Some(integration) = self.integrations.get(id) else {
            if let Some(adapter) = self.integrations.waiting_for(id) {
                return Err(Refused::AdapterMissing(format!(
                    "integration `{id}` waits for its adapter `{adapter}` to be published (PUT /admin/v1/plugins/{adapter})"
                )));
            }
            return Err(Refused::UnknownIntegration(format!(
                "no integration `{id}` is configured"
            )));
        };
        self.metrics.webhook_received(id);
        let result = self.handle(&integration, request).await;
        if let Err(refused) = &result {
            self.metrics.webhook_refused(id, refused.code());
        }
        result
    }

    async fn handle(
        &self,
        integration: &crate::integrations::Integration,
        request: WebhookRequest,
    ) -> Result<Answer, Refused> {
        let id = &integration.config.id;
        let outcome = match integration.handle_webhook(&self.metrics, request).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(AdapterError::Unauthorized(m))) => return Err(Refused::Unauthorized(m)),
            Ok(Err(AdapterError::Malformed(m))) => return Err(Refused::Malformed(m)),
            Ok(Err(AdapterError::Misconfigured(m))) => {
                tracing::error!(integration = %id, "adapter reports a configuration problem: {m}");
                return Err(Refused::Misconfigured(m));
            }
            // The platform will redeliver; nothing was stored.
            Err(e) => return Err(Refused::PluginFailed(e.to_string())),
        };
        if !outcome.events.is_empty() {
            let kinds: Vec<&'static str> = outcome.events.iter().map(|e| e.kind()).collect();
            match self.store.ingest(id, outcome.events, now_ms()).await {
                Ok(outcomes) => {
                    for (kind, outcome) in kinds.into_iter().zip(outcomes) {
                        match outcome {
                            InsertOutcome::Stored(_) => self.metrics.messages_stored(id, kind, 1),
                            InsertOutcome::Duplicate => self.metrics.duplicate(id),
                        }
                    }
                    self.wake.wake_inbox();
                }
                Err(e) => {
                    tracing::error!(integration = %id, "cannot store webhook events: {e:#}");
                    return Err(Refused::StoreUnavailable);
                }
            }
        }
        Ok(Answer {
            status: outcome.status,
            headers: outcome.headers,
            body: outcome.body,
        })
    }
}
