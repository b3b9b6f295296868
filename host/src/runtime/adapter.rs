//! Channel adapters (`switchboard:channel`, world `adapter`): loading, the version check, and
//! the calls, each in a fresh sandboxed instance.
//!
//! One module of generated bindings per supported WIT version, as in Zed's extension host:
//! `v0_2` is the latest and the host's conversions are written against its types; `v0_1`
//! reuses those types (0.2.0 only added a function) and forwards each call to the same code.
//! A function an older version lacks behaves as "the platform has no such call". Callers see
//! the host's own types from [`crate::events`], so the rest of the host never depends on a WIT
//! version.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use super::error::{AdapterError, PluginError};
use super::host::{CallContext, PluginState};
use super::{PluginRuntime, SUPPORTED_CHANNEL_VERSIONS};
use crate::events::{
    self, AdapterInfo, Capabilities, InboundEvent, OutboundMessage, SendFailure, SendResult,
    TextUnit,
};

mod bindings {
    /// `switchboard:channel@0.2.0`, the latest.
    pub mod v0_2 {
        wasmtime::component::bindgen!({
            path: "../wit/channel",
            world: "adapter",
            exports: { default: async },
        });
    }

    /// `switchboard:channel@0.1.0`: its types are the latest's, field for field.
    pub mod v0_1 {
        wasmtime::component::bindgen!({
            path: "../wit/channel-0.1.0",
            world: "adapter",
            exports: { default: async },
            with: { "switchboard:channel/types": super::v0_2::switchboard::channel::types },
        });
    }
}

use bindings::v0_2::switchboard::channel::{config, logging, types as wt};

/// The export that identifies a channel adapter; the version follows the `@`.
pub(super) const HANDLER_EXPORT: &str = "switchboard:channel/handler@";

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    use bindings::v0_1::switchboard::channel as v0_1;
    bindings::v0_2::Adapter::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)?;
    // 0.1.0 shares the latest's types, but a 0.1.0 component imports them (and logging and
    // config) under its own version's names.
    linker.instance("switchboard:channel/types@0.1.0")?;
    v0_1::logging::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)?;
    v0_1::config::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl wt::Host for PluginState {}

impl logging::Host for PluginState {
    fn log(&mut self, level: logging::Level, message: String) {
        let plugin = &*self.plugin;
        let integration = &self.ctx.integration_id;
        match level {
            logging::Level::Trace => tracing::trace!(plugin, integration, "{message}"),
            logging::Level::Debug => tracing::debug!(plugin, integration, "{message}"),
            logging::Level::Info => tracing::info!(plugin, integration, "{message}"),
            logging::Level::Warn => tracing::warn!(plugin, integration, "{message}"),
            logging::Level::Error => tracing::error!(plugin, integration, "{message}"),
        }
    }
}

impl config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.ctx.settings.get(&key).cloned()
    }

    fn integration_id(&mut self) -> String {
        self.ctx.integration_id.clone()
    }
}

mod v0_1_imports {
    //! The 0.1.0 imports, forwarded to the latest's.
    use super::bindings::v0_1::switchboard::channel::{config, logging};
    use super::{PluginState, config as latest_config, logging as latest_logging};

    impl logging::Host for PluginState {
        fn log(&mut self, level: logging::Level, message: String) {
            let level = match level {
                logging::Level::Trace => latest_logging::Level::Trace,
                logging::Level::Debug => latest_logging::Level::Debug,
                logging::Level::Info => latest_logging::Level::Info,
                logging::Level::Warn => latest_logging::Level::Warn,
                logging::Level::Error => latest_logging::Level::Error,
            };
            latest_logging::Host::log(self, level, message)
        }
    }

    impl config::Host for PluginState {
        fn get(&mut self, key: String) -> Option<String> {
            latest_config::Host::get(self, key)
        }

        fn integration_id(&mut self) -> String {
            latest_config::Host::integration_id(self)
        }
    }
}

/// A webhook request, as handed to the adapter.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The adapter's answer to a webhook request.
#[derive(Debug, Clone)]
pub struct WebhookOutcome {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub events: Vec<InboundEvent>,
}

/// A loaded, checked channel adapter.
pub struct AdapterPlugin {
    runtime: PluginRuntime,
    name: Arc<str>,
    wit_version: String,
    hash: String,
    info: AdapterInfo,
    limits: super::Limits,
    manifest: Option<super::Manifest>,
    pre: Pre,
}

/// The pre-linked component, per WIT version.
enum Pre {
    V0_1(bindings::v0_1::AdapterPre<PluginState>),
    V0_2(bindings::v0_2::AdapterPre<PluginState>),
}

/// One instance, per WIT version.
enum Instance {
    V0_1(bindings::v0_1::Adapter),
    V0_2(bindings::v0_2::Adapter),
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
    pub(super) async fn new(
        runtime: PluginRuntime,
        name: &str,
        (component, hash): (Component, String),
        limits: super::Limits,
        manifest: Option<super::Manifest>,
    ) -> Result<AdapterPlugin, PluginError> {
        let wit_version =
            channel_version(&runtime, &component).map_err(|m| PluginError::load(name, m))?;
        if let Some(manifest) = &manifest {
            let where_granted = format!(
                "the [[plugin]] entry with name = \"{name}\" (or the [plugins] table) of \
                 switchboard.toml"
            );
            let granted = super::manifest::Granted {
                http_hosts: None,
                limits,
                where_granted: &where_granted,
            };
            manifest
                .check(&granted)
                .map_err(|m| PluginError::load(name, m))?;
        }
        let instance_pre = runtime.linker().instantiate_pre(&component).map_err(|e| {
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
        let pre = match wit_version.as_str() {
            "0.1.0" => Pre::V0_1(bindings::v0_1::AdapterPre::new(instance_pre).map_err(mismatch)?),
            _ => Pre::V0_2(bindings::v0_2::AdapterPre::new(instance_pre).map_err(mismatch)?),
        };
        let mut plugin = AdapterPlugin {
            runtime,
            name: name.into(),
            wit_version,
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
        // The health check: an adapter that cannot describe itself is not loaded.
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
    pub fn manifest(&self) -> Option<&super::Manifest> {
        self.manifest.as_ref()
    }

    /// The limits its calls run under (the configuration's, overridden by its grant).
    pub fn limits(&self) -> super::Limits {
        self.limits
    }

    async fn instance(
        &self,
        ctx: &CallContext,
        function: &'static str,
    ) -> Result<(Store<PluginState>, Instance), PluginError> {
        let limits = self.limits;
        let state = PluginState::new(self.name.clone(), ctx.clone(), limits.memory_bytes);
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|s| s.limiter());
        limits.arm_deadline(&mut store);
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
        Ok(AdapterInfo {
            platform: info.platform,
            text_limit: info.text_limit,
            text_unit: match info.text_unit {
                wt::TextUnit::Chars => TextUnit::Chars,
                wt::TextUnit::Bytes => TextUnit::Bytes,
            },
            reply_window_hours: info.reply_window_hours,
            human_agent_window_hours: info.human_agent_window_hours,
            capabilities: Capabilities {
                attachments: info.capabilities.contains(wt::Capabilities::ATTACHMENTS),
                quick_replies: info.capabilities.contains(wt::Capabilities::QUICK_REPLIES),
                typing: info.capabilities.contains(wt::Capabilities::TYPING),
                receipts: info.capabilities.contains(wt::Capabilities::RECEIPTS),
                templates: info.capabilities.contains(wt::Capabilities::TEMPLATES),
            },
        })
    }

    pub async fn handle_webhook(
        &self,
        ctx: &CallContext,
        request: WebhookRequest,
    ) -> Result<Result<WebhookOutcome, AdapterError>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "handle-webhook").await?;
        let request = wt::WebhookRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
        };
        let result = call_handler!(instance, store, call_handle_webhook(&request))
            .map_err(|e| self.error("handle-webhook", e, &store))?;
        Ok(match result {
            Ok(outcome) => {
                let events: Vec<InboundEvent> =
                    outcome.events.into_iter().map(event_from_wit).collect();
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
            Err(e) => Err(adapter_error(e)),
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
                kind: crate::runtime::CallErrorKind::OutputLimit,
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
        let message = wt::OutboundMessage {
            id: message.id.clone(),
            conversation_id: message.conversation_id.clone(),
            customer_id: message.customer_id.clone(),
            text: message.text.clone(),
            quick_replies: message
                .quick_replies
                .iter()
                .map(|q| wt::QuickReply {
                    label: q.label.clone(),
                    payload: q.payload.clone(),
                })
                .collect(),
            attachments: message.attachments.iter().map(attachment_to_wit).collect(),
            author: match message.author {
                events::Author::Agent => wt::Author::Agent,
                events::Author::Bot | events::Author::Customer => wt::Author::Bot,
            },
            author_name: message.author_name.clone(),
            in_reply_to: message.in_reply_to.clone(),
            kind: match message.kind {
                events::OutboundKind::Direct => wt::OutboundKind::Direct,
                events::OutboundKind::PublicReply => wt::OutboundKind::PublicReply,
            },
            template: message.template.as_ref().map(|t| wt::TemplateMessage {
                name: t.name.clone(),
                language: t.language.clone(),
                parameters: t.parameters.clone(),
            }),
            tag: message.tag.clone(),
        };
        let result = call_handler!(instance, store, call_encode_send(&message))
            .map_err(|e| self.error("encode-send", e, &store))?;
        if let Ok(r) = &result {
            self.check_output("encode-send", r.body.len() + r.url.len())?;
        }
        Ok(result.map(HttpRequest::from).map_err(adapter_error))
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
        let response = wt::HttpResponse {
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
        Ok(match result {
            wt::SendResult::Sent(id) => SendResult::Sent(id),
            wt::SendResult::Failed(f) => SendResult::Failed(match f {
                wt::SendFailure::RateLimited(r) => SendFailure::RateLimited {
                    retry_at_ms: r.retry_at_ms,
                    detail: r.detail,
                },
                wt::SendFailure::WindowClosed(d) => SendFailure::WindowClosed(d),
                wt::SendFailure::RecipientUnreachable(d) => SendFailure::RecipientUnreachable(d),
                wt::SendFailure::Auth(d) => SendFailure::Auth(d),
                wt::SendFailure::Transient(d) => SendFailure::Transient(d),
                wt::SendFailure::Permanent(d) => SendFailure::Permanent(d),
            }),
        })
    }
}

impl AdapterPlugin {
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

impl From<wt::HttpRequest> for HttpRequest {
    fn from(r: wt::HttpRequest) -> HttpRequest {
        HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
        }
    }
}

/// The HTTP request an adapter asked the host to perform.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Finds the `switchboard:channel` version a component exports, or explains why it has none
/// this host supports.
fn channel_version(runtime: &PluginRuntime, component: &Component) -> Result<String, String> {
    let ty = component.component_type();
    let mut found = Vec::new();
    for (name, _) in ty.exports(runtime.engine()) {
        if let Some(version) = name.strip_prefix(HANDLER_EXPORT) {
            found.push(version.to_string());
        }
    }
    if let Some(v) = found
        .iter()
        .find(|v| SUPPORTED_CHANNEL_VERSIONS.contains(&v.as_str()))
    {
        return Ok(v.clone());
    }
    let supported = SUPPORTED_CHANNEL_VERSIONS.join(", ");
    if found.is_empty() {
        let exports: Vec<String> = ty
            .exports(runtime.engine())
            .map(|(n, _)| n.to_string())
            .collect();
        Err(format!(
            "it does not implement a known world: expected an export `{HANDLER_EXPORT}VERSION` \
             (world switchboard:channel/adapter, versions {supported}); it exports [{}]",
            exports.join(", ")
        ))
    } else {
        Err(format!(
            "it implements switchboard:channel version {}, but this host supports {supported}",
            found.join(", ")
        ))
    }
}

fn adapter_error(e: wt::AdapterError) -> AdapterError {
    match e {
        wt::AdapterError::Unauthorized(m) => AdapterError::Unauthorized(m),
        wt::AdapterError::Malformed(m) => AdapterError::Malformed(m),
        wt::AdapterError::Misconfigured(m) => AdapterError::Misconfigured(m),
    }
}

fn event_from_wit(e: wt::InboundEvent) -> InboundEvent {
    match e {
        wt::InboundEvent::Message(m) => InboundEvent::Message(events::InboundMessage {
            id: m.id,
            customer_id: m.customer_id,
            timestamp_ms: m.timestamp_ms,
            text: m.text,
            attachments: m.attachments.into_iter().map(attachment_from_wit).collect(),
            quick_reply: m.quick_reply,
            profile: m.profile.map(|p| events::Profile {
                display_name: p.display_name,
                handle: p.handle,
                verified: p.verified,
                followers: p.followers,
                posts: p.posts,
                avatar_url: p.avatar_url,
                email: p.email,
            }),
            kind: match m.kind {
                wt::MessageKind::Direct => events::MessageKind::Direct,
                wt::MessageKind::Mention => events::MessageKind::Mention,
                wt::MessageKind::Like => events::MessageKind::Like,
                wt::MessageKind::Postback => events::MessageKind::Postback,
                wt::MessageKind::Reaction => events::MessageKind::Reaction,
            },
            reply_to: m.reply_to,
            reaction: m.reaction,
        }),
        wt::InboundEvent::Receipt(r) => InboundEvent::Receipt(events::Receipt {
            message_id: r.message_id,
            customer_id: r.customer_id,
            status: match r.status {
                wt::DeliveryStatus::Pending => events::DeliveryStatus::Pending,
                wt::DeliveryStatus::Sent => events::DeliveryStatus::Sent,
                wt::DeliveryStatus::Delivered => events::DeliveryStatus::Delivered,
                wt::DeliveryStatus::Read => events::DeliveryStatus::Read,
                wt::DeliveryStatus::Failed => events::DeliveryStatus::Failed,
            },
            reason: r.reason,
            timestamp_ms: r.timestamp_ms,
        }),
        wt::InboundEvent::Typing(t) => InboundEvent::Typing(events::Typing {
            customer_id: t.customer_id,
            timestamp_ms: t.timestamp_ms,
        }),
        wt::InboundEvent::Read(r) => InboundEvent::Read(events::ReadMarker {
            customer_id: r.customer_id,
            up_to_message_id: r.up_to_message_id,
            timestamp_ms: r.timestamp_ms,
        }),
    }
}

fn attachment_from_wit(a: wt::Attachment) -> events::Attachment {
    events::Attachment {
        kind: match a.kind {
            wt::AttachmentKind::Image => events::AttachmentKind::Image,
            wt::AttachmentKind::Video => events::AttachmentKind::Video,
            wt::AttachmentKind::Audio => events::AttachmentKind::Audio,
            wt::AttachmentKind::File => events::AttachmentKind::File,
            wt::AttachmentKind::Location => events::AttachmentKind::Location,
            wt::AttachmentKind::Link => events::AttachmentKind::Link,
            wt::AttachmentKind::Other => events::AttachmentKind::Other,
        },
        url: a.url,
        media_id: a.media_id,
        mime_type: a.mime_type,
        filename: a.filename,
        caption: a.caption,
    }
}

fn attachment_to_wit(a: &events::Attachment) -> wt::Attachment {
    wt::Attachment {
        kind: match a.kind {
            events::AttachmentKind::Image => wt::AttachmentKind::Image,
            events::AttachmentKind::Video => wt::AttachmentKind::Video,
            events::AttachmentKind::Audio => wt::AttachmentKind::Audio,
            events::AttachmentKind::File => wt::AttachmentKind::File,
            events::AttachmentKind::Location => wt::AttachmentKind::Location,
            events::AttachmentKind::Link => wt::AttachmentKind::Link,
            events::AttachmentKind::Other => wt::AttachmentKind::Other,
        },
        url: a.url.clone(),
        media_id: a.media_id.clone(),
        mime_type: a.mime_type.clone(),
        filename: a.filename.clone(),
        caption: a.caption.clone(),
    }
}
