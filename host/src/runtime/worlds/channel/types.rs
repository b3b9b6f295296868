//! What the host and an adapter exchange in its calls, in the host's own types (whatever the
//! adapter's WIT version): a webhook request and the adapter's answer, and the HTTP requests it
//! asks the host to perform. `convert.rs` turns them into WIT values and back.

use crate::events::InboundEvent;

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

/// The HTTP request an adapter asked the host to perform.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}
