//! Write flow plugins in Rust: bots and data actions (the `switchboard:flow` WIT contract).
//!
//! A flow plugin is called by a flow: a **bot** gets each customer turn while the flow is in its
//! bot step and answers with replies, an intent, slots and whether it is done, wants a human or
//! waits for the next message; a **data action** offers named actions that take and return
//! named text fields (a CRM lookup, an order status). Both run in a fresh instance per call: a
//! bot keeps its conversation state in the `session` it returns, and anything longer-lived in
//! the plugin's private key-value store ([`kv`]). The network is reachable only through the
//! host ([`http::fetch`]) and only to the hosts the admin granted to the plugin.
//!
//! ```no_run
//! use switchboard_sdk::flow::{Bot, BotInput, BotOutput, ExitReason, Reply};
//!
//! struct Echo;
//!
//! impl Bot for Echo {
//!     fn turn(input: BotInput) -> Result<BotOutput, String> {
//!         let text = input.text.unwrap_or_default();
//!         Ok(BotOutput {
//!             replies: vec![Reply { text: format!("You said: {text}"), quick_replies: vec![] }],
//!             intent: None,
//!             confidence: None,
//!             slots: vec![],
//!             session: String::new(),
//!             exit: ExitReason::Continue,
//!         })
//!     }
//! }
//!
//! switchboard_sdk::export_bot!(Echo);
//! ```
//!
//! Natively (in a plugin's unit tests) [`kv`] is an in-memory map per thread and
//! [`http::fetch`] fails, so plugin logic can be tested with `cargo test`.

pub mod http;
pub mod kv;
pub mod log;

pub use wit_bot::switchboard::flow::types::{
    BotInput, BotOutput, ExitReason, HttpError, HttpRequest, HttpResponse, QuickReply, Reply,
};
pub use wit_data_action::switchboard::flow::types::{ActionError, ActionInfo};

/// Named text fields: a data action's input and output, a bot's slots.
pub type Fields = Vec<(String, String)>;

/// The value of field `name`, if present.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of field `name`, trimmed; a missing or blank one is [`ActionError::InvalidInput`].
pub fn require_field(fields: &[(String, String)], name: &str) -> Result<String, ActionError> {
    field(fields, name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ActionError::InvalidInput(format!("input `{name}` is missing")))
}

/// A bot: one call per customer turn. Export the implementing type with
/// [`export_bot!`](crate::export_bot).
pub trait Bot {
    /// Answer one turn. `input.session` is what the previous turn returned as `session` ("" at
    /// first). An `Err` is the bot failing; the flow takes its error path.
    fn turn(input: BotInput) -> Result<BotOutput, String>;
}

/// A data-action plugin. Export the implementing type with
/// [`export_data_action!`](crate::export_data_action).
pub trait DataAction {
    /// The actions this plugin offers (the host calls it at load as a health check).
    fn describe() -> Vec<ActionInfo>;

    /// Run `action` on `input`; unknown actions are [`ActionError::NotFound`].
    fn call(action: String, input: Fields) -> Result<Fields, ActionError>;
}

/// Export a type implementing [`Bot`] as this component's `switchboard:flow/bot`.
#[macro_export]
macro_rules! export_bot {
    ($ty:ident) => {
        impl $crate::flow::wit_bot::exports::switchboard::flow::bot::Guest for $ty {
            fn turn(
                input: $crate::flow::BotInput,
            ) -> ::core::result::Result<$crate::flow::BotOutput, ::std::string::String> {
                <$ty as $crate::flow::Bot>::turn(input)
            }
        }

        $crate::flow::wit_bot::__export_flow_bot_world!($ty with_types_in $crate::flow::wit_bot);
    };
}

/// Export a type implementing [`DataAction`] as this component's `switchboard:flow/data-action`.
#[macro_export]
macro_rules! export_data_action {
    ($ty:ident) => {
        impl $crate::flow::wit_data_action::exports::switchboard::flow::data_action::Guest
            for $ty
        {
            fn describe() -> ::std::vec::Vec<$crate::flow::ActionInfo> {
                <$ty as $crate::flow::DataAction>::describe()
            }

            fn call(
                action: ::std::string::String,
                input: $crate::flow::Fields,
            ) -> ::core::result::Result<$crate::flow::Fields, $crate::flow::ActionError> {
                <$ty as $crate::flow::DataAction>::call(action, input)
            }
        }

        $crate::flow::wit_data_action::__export_flow_data_action_world!(
            $ty with_types_in $crate::flow::wit_data_action
        );
    };
}

/// Generated bindings of world `bot-plugin`; public only for [`export_bot!`](crate::export_bot).
/// The helpers ([`kv`], [`http`], [`log`]) call the imports through these.
#[doc(hidden)]
pub mod wit_bot {
    wit_bindgen::generate!({
        path: "../wit/flow",
        world: "bot-plugin",
        pub_export_macro: true,
        default_bindings_module: "switchboard_sdk::flow::wit_bot",
        export_macro_name: "__export_flow_bot_world",
        additional_derives: [PartialEq],
        generate_all,
    });
}

/// Generated bindings of world `data-action-plugin`; public only for
/// [`export_data_action!`](crate::export_data_action). Its import functions are the same Wasm
/// imports as [`wit_bot`]'s, so the helpers serve both worlds.
#[doc(hidden)]
pub mod wit_data_action {
    wit_bindgen::generate!({
        path: "../wit/flow",
        world: "data-action-plugin",
        pub_export_macro: true,
        default_bindings_module: "switchboard_sdk::flow::wit_data_action",
        export_macro_name: "__export_flow_data_action_world",
        additional_derives: [PartialEq],
        generate_all,
    });
}
