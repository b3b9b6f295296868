//! Calls into an integration's adapter, each timed and counted per plugin version and
//! function, its failures logged with the integration.

use std::sync::Arc;
use std::time::Instant;

use super::registry::Integration;
use crate::events::{OutboundMessage, SendResult};
use crate::metrics::Metrics;
use crate::runtime::{AdapterError, HttpRequest, PluginError, WebhookOutcome, WebhookRequest};

impl Integration {
    /// `handle-webhook`: the platform's request in, the answer and normalized events out.
    pub async fn handle_webhook(
        &self,
        metrics: &Metrics,
        request: WebhookRequest,
    ) -> Result<Result<WebhookOutcome, AdapterError>, PluginError> {
        let started = Instant::now();
        let result = self.adapter.handle_webhook(&self.ctx, request).await;
        self.record(metrics, "handle-webhook", started, result.as_ref().err());
        result
    }

    /// One send: `encode-send`, then `decode-send-response` once the host has performed the
    /// request (see [`crate::runtime::Send`]), each timed and counted. `reuse` is the instance of
    /// the previous send of the same conversation: it serves again if it is this integration's
    /// and none of its calls failed; otherwise the send gets a fresh instance.
    pub async fn send(
        self: &Arc<Self>,
        metrics: &Metrics,
        message: &OutboundMessage,
        reuse: Option<OneSend>,
    ) -> Result<(Result<HttpRequest, AdapterError>, OneSend), PluginError> {
        let started = Instant::now();
        let kept = reuse
            .filter(|kept| Arc::ptr_eq(&kept.integration, self) && kept.send.reusable())
            .map(|kept| kept.send);
        let mut send = match kept {
            Some(send) => send,
            None => match self.adapter.begin_send(&self.ctx).await {
                Ok(send) => send,
                Err(e) => {
                    self.record(metrics, "encode-send", started, Some(&e));
                    return Err(e);
                }
            },
        };
        let encoded = send.encode(message).await;
        self.record(metrics, "encode-send", started, encoded.as_ref().err());
        Ok((
            encoded?,
            OneSend {
                integration: self.clone(),
                send,
            },
        ))
    }

    /// `encode-mark-read`: the request that tells the platform the business read the customer's
    /// message, where the platform has one.
    pub async fn encode_mark_read(
        &self,
        metrics: &Metrics,
        customer_id: &str,
        platform_id: &str,
    ) -> Result<Option<HttpRequest>, PluginError> {
        let started = Instant::now();
        let result = self
            .adapter
            .encode_mark_read(&self.ctx, customer_id, platform_id)
            .await;
        self.record(metrics, "encode-mark-read", started, result.as_ref().err());
        result
    }

    /// `encode-typing` (switchboard:channel@0.2.0): the request that shows a typing indicator.
    pub async fn encode_typing(
        &self,
        metrics: &Metrics,
        customer_id: &str,
    ) -> Result<Option<HttpRequest>, PluginError> {
        let started = Instant::now();
        let result = self.adapter.encode_typing(&self.ctx, customer_id).await;
        self.record(metrics, "encode-typing", started, result.as_ref().err());
        result
    }

    fn record(
        &self,
        metrics: &Metrics,
        function: &str,
        started: Instant,
        error: Option<&PluginError>,
    ) {
        let micros = started.elapsed().as_micros() as u64;
        metrics.plugin_version_call(self.adapter.name(), self.adapter_version, function);
        let kind = error.map(|e| e.kind().map_or("load", |k| k.as_str()));
        metrics.plugin_call(self.adapter.name(), function, micros, kind);
        if let Some(e) = error {
            tracing::error!(integration = %self.config.id, "{e}");
        }
    }
}

/// The second half of [`Integration::send`]: reading the platform's answer in the same instance.
pub struct OneSend {
    integration: Arc<Integration>,
    send: crate::runtime::Send,
}

impl OneSend {
    /// `decode-send-response`: what the platform's answer to the send means.
    pub async fn decode(
        &mut self,
        metrics: &Metrics,
        message_id: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<SendResult, PluginError> {
        let started = Instant::now();
        let result = self.send.decode(message_id, status, headers, body).await;
        self.integration.record(
            metrics,
            "decode-send-response",
            started,
            result.as_ref().err(),
        );
        result
    }
}
