//! A channel adapter (`switchboard:channel`, world `adapter`), versions 0.2.0 and 0.1.0: its
//! linker, loading with the health check, and the calls, each in a fresh sandboxed instance.
//!
//! One adapter type serves both versions, as in Zed's extension host: a call goes to whichever
//! instance the component's version has, and a function an older version lacks behaves as "the
//! platform has no such call".

use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use super::super::super::bindings::{channel_v0_1, channel_v0_2};
use super::super::super::caller::{CallContext, Caller};
use super::super::super::engine::arm_deadline;
use super::super::super::error::{AdapterError, CallErrorKind, PluginError};
use super::super::super::grants;
use super::super::super::host::{logging, settings};
use super::super::super::limits::Limits;
use super::super::super::manifest::Manifest;
use super::super::super::shared::Shared;
use super::super::super::state::PluginState;
use super::convert;
use super::types::{HttpRequest, WebhookOutcome, WebhookRequest};
use crate::events::{
    AdapterInfo, Capabilities, InboundEvent, OutboundMessage, SendResult, TextUnit,
};

/// The linker for channel adapters of every supported version: an empty WASI, `logging` and
/// `config`. Nothing else, so an adapter that imports more is refused at load.
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    channel_v0_2::types::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    // 0.1.0 shares the latest's types, but a 0.1.0 component imports them under its own name.
    linker.instance("switchboard:channel/types@0.1.0")?;
    logging::link_channel(&mut linker)?;
    settings::link(&mut linker)?;
    Ok(linker)
}

// `types` holds only types, but still needs a `Host` impl to be linked.
impl channel_v0_2::types::Host for PluginState {}

/// A loaded, checked channel adapter.
pub struct AdapterPlugin {
    shared: Arc<Shared>,
    name: Arc<str>,
    wit_version: String,
    hash: String,
    info: AdapterInfo,
    limits: Limits,
    manifest: Option<Manifest>,
    pre: Pre,
}

/// The pre-linked component, per WIT version.
enum Pre {
    V0_1(channel_v0_1::AdapterPre<PluginState>),
    V0_2(channel_v0_2::AdapterPre<PluginState>),
}

/// One instance, per WIT version.
enum Instance {
    V0_1(channel_v0_1::Adapter),
    V0_2(channel_v0_2::Adapter),
}

/// Calls a handler function that every supported version has, whatever the instance's version.
macro_rules! call_handler {
    ($instance:expr, $store:expr, $function:ident ( $($arg:expr),* )) => {
        match &$instance {
            Instance::V0_1(i) => i.switchboard_channel_handler().$function(&mut $store, $($arg),*).await,
            Instance::V0_2(i) => i.switchboard_channel_handler().$function(&mut $store, $($arg),*).await,
        }
    };
}

impl AdapterPlugin {
    /// Checks the manifest against the grant, links the component for its `wit_version` and
    /// runs the health check: an adapter that cannot describe itself is not loaded.
    pub(crate) async fn load(
        shared: Arc<Shared>,
        name: &str,
        (component, hash): (Component, String),
        wit_version: &str,
        limits: Limits,
        manifest: Option<Manifest>,
    ) -> Result<AdapterPlugin, PluginError> {
        grants::check_manifest(name, manifest.as_ref(), limits, None)?;
        let instance_pre = shared
            .channel_linker()
            .instantiate_pre(&component)
            .map_err(|e| {
                PluginError::load(name, format!("its imports cannot be satisfied: {e:#}"))
            })?;
        let mismatch = |e: wasmtime::Error| {
            PluginError::load(
                name,
                format!(
                    "it does not match world `adapter` of switchboard:channel@{wit_version}: {e:#}"
                ),
            )
        };
        let pre = match wit_version {
            "0.1.0" => Pre::V0_1(channel_v0_1::AdapterPre::new(instance_pre).map_err(mismatch)?),
            _ => Pre::V0_2(channel_v0_2::AdapterPre::new(instance_pre).map_err(mismatch)?),
        };
        let mut plugin = AdapterPlugin {
            shared,
            name: name.into(),
            wit_version: wit_version.to_string(),
            hash,
            info: AdapterInfo {
                platform: String::new(),
                text_limit: 0,
                text_unit: TextUnit::Chars,
                reply_window_hours: None,
                human_agent_window_hours: None,
                capabilities: Capabilities::default(),
            },
            limits,
            manifest,
            pre,
        };
        let ctx = CallContext {
            integration_id: String::new(),
            settings: Default::default(),
        };
        plugin.info = plugin
            .describe(&ctx)
            .await
            .map_err(|e| PluginError::load(name, e.to_string()))?;
        if plugin.info.text_limit == 0 {
            return Err(PluginError::load(
                name,
                "describe() reports a text limit of 0",
            ));
        }
        Ok(plugin)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn wit_version(&self) -> &str {
        &self.wit_version
    }

    /// SHA-256 of the component's bytes.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// What the component's manifest asks for, if it has one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The limits its calls run under (the configuration's, overridden by its grant).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    async fn instance(
        &self,
        ctx: &CallContext,
        function: &'static str,
    ) -> Result<(Store<PluginState>, Instance), PluginError> {
        let state = PluginState::new(
            self.name.clone(),
            Caller::Integration(ctx.clone()),
            self.limits.memory_bytes,
        );
        let mut store = state.into_store(self.shared.engine(), self.limits);
        let instance = match &self.pre {
            Pre::V0_1(pre) => pre.instantiate_async(&mut store).await.map(Instance::V0_1),
            Pre::V0_2(pre) => pre.instantiate_async(&mut store).await.map(Instance::V0_2),
        };
        match instance {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(self.error(function, e, &store)),
        }
    }

    fn error(
        &self,
        function: &'static str,
        e: wasmtime::Error,
        store: &Store<PluginState>,
    ) -> PluginError {
        PluginError::call(
            &self.name,
            &self.wit_version,
            function,
            e,
            store.data().memory_exceeded(),
        )
    }

    pub async fn describe(&self, ctx: &CallContext) -> Result<AdapterInfo, PluginError> {
        let (mut store, instance) = self.instance(ctx, "describe").await?;
        let info = call_handler!(instance, store, call_describe())
            .map_err(|e| self.error("describe", e, &store))?;
        Ok(convert::info_from_wit(info))
    }

    pub async fn handle_webhook(
        &self,
        ctx: &CallContext,
        request: WebhookRequest,
    ) -> Result<Result<WebhookOutcome, AdapterError>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "handle-webhook").await?;
        let request = convert::webhook_request_to_wit(request);
        let result = call_handler!(instance, store, call_handle_webhook(&request))
            .map_err(|e| self.error("handle-webhook", e, &store))?;
        Ok(match result {
            Ok(outcome) => {
                let events: Vec<InboundEvent> = outcome
                    .events
                    .into_iter()
                    .map(convert::event_from_wit)
                    .collect();
                let size = outcome.response.body.len()
                    + outcome
                        .response
                        .headers
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
                    + serde_json::to_vec(&events).map_or(usize::MAX, |v| v.len());
                self.check_output("handle-webhook", size)?;
                Ok(WebhookOutcome {
                    status: outcome.response.status,
                    headers: outcome.response.headers,
                    body: outcome.response.body,
                    events,
                })
            }
            Err(e) => Err(convert::adapter_error(e)),
        })
    }

    /// Refuses an answer larger than the output limit.
    fn check_output(&self, function: &'static str, size: usize) -> Result<(), PluginError> {
        let limit = self.limits.max_output_bytes;
        if size > limit {
            return Err(PluginError::Call {
                plugin: self.name.to_string(),
                version: self.wit_version.clone(),
                function,
                kind: CallErrorKind::OutputLimit,
                message: format!(
                    "it returned {size} bytes; the limit is {limit} (max_output_bytes)"
                ),
            });
        }
        Ok(())
    }

    /// Asks the adapter for the HTTP request that sends `message`.
    pub async fn encode_send(
        &self,
        ctx: &CallContext,
        message: &OutboundMessage,
    ) -> Result<Result<HttpRequest, AdapterError>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "encode-send").await?;
        let message = convert::outbound_to_wit(message);
        let result = call_handler!(instance, store, call_encode_send(&message))
            .map_err(|e| self.error("encode-send", e, &store))?;
        if let Ok(r) = &result {
            self.check_output("encode-send", r.body.len() + r.url.len())?;
        }
        Ok(result
            .map(HttpRequest::from)
            .map_err(convert::adapter_error))
    }

    /// Reads the platform's answer to a send.
    pub async fn decode_send_response(
        &self,
        ctx: &CallContext,
        message_id: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<SendResult, PluginError> {
        let (mut store, instance) = self.instance(ctx, "decode-send-response").await?;
        let response = channel_v0_2::types::HttpResponse {
            status,
            headers,
            body,
        };
        let result = call_handler!(
            instance,
            store,
            call_decode_send_response(message_id, &response)
        )
        .map_err(|e| self.error("decode-send-response", e, &store))?;
        Ok(convert::send_result_from_wit(result))
    }

    /// Starts one send in one fresh instance: [`Send::encode`], then (once the host has
    /// performed the request) [`Send::decode`] in the same instance, so a send costs one
    /// instance and the instance never sees another message. Each call has its own deadline.
    pub async fn begin_send(self: &Arc<Self>, ctx: &CallContext) -> Result<Send, PluginError> {
        let (store, instance) = self.instance(ctx, "encode-send").await?;
        Ok(Send {
            plugin: self.clone(),
            store,
            instance,
            failed: false,
        })
    }

    /// Asks the adapter for the request that marks a customer's message read, if the platform
    /// has one.
    pub async fn encode_mark_read(
        &self,
        ctx: &CallContext,
        customer_id: &str,
        message_id: &str,
    ) -> Result<Option<HttpRequest>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "encode-mark-read").await?;
        let result = call_handler!(
            instance,
            store,
            call_encode_mark_read(customer_id, message_id)
        )
        .map_err(|e| self.error("encode-mark-read", e, &store))?;
        Ok(result.map(HttpRequest::from))
    }

    /// Whether the adapter's contract has `encode-typing` (0.2.0 and later).
    pub fn has_typing_call(&self) -> bool {
        !matches!(self.pre, Pre::V0_1(_))
    }

    /// Asks the adapter for the request that shows the customer an agent is typing. None when
    /// the platform has no such call, or the adapter's contract lacks it
    /// ([`AdapterPlugin::has_typing_call`]).
    pub async fn encode_typing(
        &self,
        ctx: &CallContext,
        customer_id: &str,
    ) -> Result<Option<HttpRequest>, PluginError> {
        if !self.has_typing_call() {
            return Ok(None);
        }
        let (mut store, instance) = self.instance(ctx, "encode-typing").await?;
        let result = match &instance {
            Instance::V0_1(_) => return Ok(None),
            Instance::V0_2(i) => i
                .switchboard_channel_handler()
                .call_encode_typing(&mut store, customer_id)
                .await
                .map_err(|e| self.error("encode-typing", e, &store))?,
        };
        Ok(result.map(HttpRequest::from))
    }
}

/// Sends in one instance (see [`AdapterPlugin::begin_send`]): `encode-send`, the host's
/// request, `decode-send-response`; then, while no call has failed, the next message of the
/// same conversation may go through the same instance (it holds nothing of anyone else's).
pub struct Send {
    plugin: Arc<AdapterPlugin>,
    store: Store<PluginState>,
    instance: Instance,
    /// A call trapped, ran out of time or memory: the instance is not entered again.
    failed: bool,
}

impl Send {
    /// Whether the next send of the same conversation may use this instance: none of its calls
    /// failed.
    pub fn reusable(&self) -> bool {
        !self.failed
    }

    /// `encode-send`: the HTTP request that sends `message`. Each call has the full deadline.
    pub async fn encode(
        &mut self,
        message: &OutboundMessage,
    ) -> Result<Result<HttpRequest, AdapterError>, PluginError> {
        arm_deadline(&mut self.store, self.plugin.limits.deadline);
        let message = convert::outbound_to_wit(message);
        let result =
            call_handler!(self.instance, self.store, call_encode_send(&message)).map_err(|e| {
                self.failed = true;
                self.plugin.error("encode-send", e, &self.store)
            })?;
        if let Ok(r) = &result {
            self.plugin
                .check_output("encode-send", r.body.len() + r.url.len())?;
        }
        Ok(result
            .map(HttpRequest::from)
            .map_err(convert::adapter_error))
    }

    /// `decode-send-response`: what the platform's answer means. The deadline starts again
    /// here: the request's own time does not count against the adapter.
    pub async fn decode(
        &mut self,
        message_id: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<SendResult, PluginError> {
        arm_deadline(&mut self.store, self.plugin.limits.deadline);
        let response = channel_v0_2::types::HttpResponse {
            status,
            headers,
            body,
        };
        let result = call_handler!(
            self.instance,
            self.store,
            call_decode_send_response(message_id, &response)
        )
        .map_err(|e| {
            self.failed = true;
            self.plugin.error("decode-send-response", e, &self.store)
        })?;
        Ok(convert::send_result_from_wit(result))
    }
}
