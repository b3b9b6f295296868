//! The trait an adapter implements and the macro that exports it as the component's `handler`.

use crate::{
    AdapterError, AdapterInfo, HttpRequest, HttpResponse, OutboundMessage, SendResult,
    WebhookOutcome, WebhookRequest,
};

/// A channel adapter: the functions of the `switchboard:channel/handler` interface (the
/// latest version, 0.2.0).
///
/// The functions take no `self` because the host may create a fresh instance for any call:
/// an adapter keeps no state between calls and reads its integration's settings through
/// [`crate::settings`] each time. Export the implementing type with [`export_adapter!`].
///
/// [`export_adapter!`]: crate::export_adapter
pub trait Adapter {
    /// Static facts about the platform (name, text limit, reply window, capabilities); the host
    /// enforces its limits from them before it ever calls [`Adapter::encode_send`].
    fn describe() -> AdapterInfo;

    /// Answer one webhook request from the platform: handshake, signature check and decoding
    /// into normalized events. An `Err` becomes a JSON error response (401, 400 or 500).
    fn handle_webhook(req: WebhookRequest) -> Result<WebhookOutcome, AdapterError>;

    /// Turn an outbound message into the platform API request that sends it. The host performs
    /// the request, so it owns retries, rate limits and timeouts.
    fn encode_send(msg: OutboundMessage) -> Result<HttpRequest, AdapterError>;

    /// Read the platform's answer to the request [`Adapter::encode_send`] built for the message
    /// with Switchboard id `message_id`, and say whether and how to retry.
    fn decode_send_response(message_id: String, resp: HttpResponse) -> SendResult;

    /// The request that marks the customer's message `message_id` (a platform id) read, where
    /// the platform has such a call (WhatsApp). The default: none.
    fn encode_mark_read(customer_id: String, message_id: String) -> Option<HttpRequest> {
        let _ = (customer_id, message_id);
        None
    }

    /// The request that shows the customer an agent is typing, where the platform has such a
    /// call (Messenger's `typing_on` sender action). The default: none. Since
    /// `switchboard:channel@0.2.0`.
    fn encode_typing(customer_id: String) -> Option<HttpRequest> {
        let _ = customer_id;
        None
    }
}

/// Export a type implementing [`Adapter`] as this component's `switchboard:channel/handler`.
///
/// Invoke it once, at the top level of the plugin crate: `switchboard_sdk::export_adapter!(MyAdapter);`.
/// It implements the generated `Guest` trait by forwarding to [`Adapter`] and emits the
/// component's exports, so plugin code never touches the generated bindings.
#[macro_export]
macro_rules! export_adapter {
    ($ty:ident) => {
        impl $crate::wit::exports::switchboard::channel::handler::Guest for $ty {
            fn describe() -> $crate::AdapterInfo {
                <$ty as $crate::Adapter>::describe()
            }

            fn handle_webhook(
                request: $crate::WebhookRequest,
            ) -> ::core::result::Result<$crate::WebhookOutcome, $crate::AdapterError> {
                <$ty as $crate::Adapter>::handle_webhook(request)
            }

            fn encode_send(
                message: $crate::OutboundMessage,
            ) -> ::core::result::Result<$crate::HttpRequest, $crate::AdapterError> {
                <$ty as $crate::Adapter>::encode_send(message)
            }

            fn decode_send_response(
                message_id: ::std::string::String,
                response: $crate::HttpResponse,
            ) -> $crate::SendResult {
                <$ty as $crate::Adapter>::decode_send_response(message_id, response)
            }

            fn encode_mark_read(
                customer_id: ::std::string::String,
                message_id: ::std::string::String,
            ) -> ::core::option::Option<$crate::HttpRequest> {
                <$ty as $crate::Adapter>::encode_mark_read(customer_id, message_id)
            }

            fn encode_typing(
                customer_id: ::std::string::String,
            ) -> ::core::option::Option<$crate::HttpRequest> {
                <$ty as $crate::Adapter>::encode_typing(customer_id)
            }
        }

        $crate::wit::__export_adapter_world!($ty with_types_in $crate::wit);
    };
}
