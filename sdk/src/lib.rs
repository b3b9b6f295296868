//! Write Switchboard channel adapters in Rust.
//!
//! A channel adapter is a Wasm component that translates between one messaging platform's wire
//! format and Switchboard's normalized events (the `switchboard:channel` WIT contract). It never
//! opens a socket: the host hands it every webhook request and performs every HTTP request it
//! asks for. This crate hides the generated bindings and gives adapter authors a trait, one
//! macro, the contract's types and the helpers every platform needs (signatures, JSON, HTTP
//! details, timestamps, logging and settings), plus [`meta`]: the webhook and Graph API rules
//! the WhatsApp, Messenger and Instagram adapters share.
//!
//! ```no_run
//! use switchboard_sdk::{
//!     Adapter, AdapterError, AdapterInfo, Capabilities, HttpRequest, HttpResponse,
//!     OutboundMessage, SendFailure, SendResult, TextUnit, WebhookOutcome, WebhookRequest, http,
//! };
//!
//! struct Echo;
//!
//! impl Adapter for Echo {
//!     fn describe() -> AdapterInfo {
//!         AdapterInfo {
//!             platform: "echo".into(),
//!             text_limit: 1000,
//!             text_unit: TextUnit::Chars,
//!             reply_window_hours: None,
//!             human_agent_window_hours: None,
//!             capabilities: Capabilities::empty(),
//!         }
//!     }
//!
//!     fn handle_webhook(_req: WebhookRequest) -> Result<WebhookOutcome, AdapterError> {
//!         Ok(WebhookOutcome { response: http::empty_response(200), events: Vec::new() })
//!     }
//!
//!     fn encode_send(_msg: OutboundMessage) -> Result<HttpRequest, AdapterError> {
//!         Err(AdapterError::Malformed("echo cannot send".into()))
//!     }
//!
//!     fn decode_send_response(_message_id: String, resp: HttpResponse) -> SendResult {
//!         SendResult::Failed(SendFailure::Permanent(format!("HTTP {}", resp.status)))
//!     }
//! }
//!
//! switchboard_sdk::export_adapter!(Echo);
//! ```
//!
//! Build with `cargo build --profile plugin --target wasm32-wasip2`: a `cdylib` built that way is
//! already a component. The helpers also compile natively so adapter logic can be unit-tested
//! with `cargo test`; only [`settings`] needs the host (natively it panics). The `testing`
//! feature adds the `testing` module: the builders and assertions adapters' unit tests
//! share; turn it on in `[dev-dependencies]` only.
//!
//! Flow plugins (bots and data actions, the `switchboard:flow` contract) are written with the
//! [`flow`] module: traits [`flow::Bot`] and [`flow::DataAction`], macros [`export_bot!`] and
//! [`export_data_action!`], and the helpers [`flow::kv`], [`flow::http`] and [`flow::log`].

mod adapter;
pub mod flow;
pub mod http;
pub mod json;
pub mod log;
pub mod meta;
pub mod settings;
pub mod signature;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;

pub use adapter::Adapter;
pub use wit::switchboard::channel::types::{
    AdapterError, AdapterInfo, Attachment, AttachmentKind, Author, Capabilities, DeliveryStatus,
    HttpRequest, HttpResponse, InboundEvent, InboundMessage, MessageKind, OutboundKind,
    OutboundMessage, Profile, QuickReply, RateLimit, ReadMarker, Receipt, SendFailure, SendResult,
    TemplateMessage, TextUnit, Typing, WebhookOutcome, WebhookRequest,
};

/// Embeds this plugin's manifest: what it asks the host for, in TOML, carried in the
/// component's `switchboard-manifest` custom section. The host refuses to load a plugin that
/// asks for more than the admin's configuration grants, naming what to change; `switchboard
/// plugin inspect FILE.wasm` prints it.
///
/// ```
/// switchboard_sdk::manifest!(
///     r#"
/// memory_mib = 16                       # linear memory one call needs
/// deadline_ms = 500                     # time one call needs
/// http_hosts = ["api.example.com"]      # flow plugins: hosts the `http` import must reach
/// "#
/// );
/// ```
///
/// Keys: `memory_mib`, `deadline_ms`, `max_output_bytes` and (flow plugins only) `http_hosts`;
/// any other key is refused at load. A plugin without a manifest asks for nothing beyond the
/// defaults.
#[macro_export]
macro_rules! manifest {
    ($toml:expr) => {
        const _: () = {
            const TEXT: &str = $toml;
            #[cfg_attr(target_family = "wasm", unsafe(link_section = "switchboard-manifest"))]
            #[used]
            static MANIFEST: [u8; TEXT.len()] = {
                let bytes = TEXT.as_bytes();
                let mut out = [0u8; TEXT.len()];
                let mut i = 0;
                while i < bytes.len() {
                    out[i] = bytes[i];
                    i += 1;
                }
                out
            };
        };
    };
}

/// The generated bindings. Plugin code uses the re-exports above and [`export_adapter!`]; this
/// module is public only so that the macro's expansion in the plugin crate can reach it.
#[doc(hidden)]
pub mod wit {
    wit_bindgen::generate!({
        path: "../wit/channel",
        world: "adapter",
        pub_export_macro: true,
        default_bindings_module: "switchboard_sdk::wit",
        export_macro_name: "__export_adapter_world",
        // Adapters and their tests compare events and errors.
        additional_derives: [PartialEq],
        generate_all,
    });
}
