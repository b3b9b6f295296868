//! Channel adapters (`switchboard:channel`, world `adapter`), versions 0.2.0 and 0.1.0.
//!
//! - `adapter.rs`: the [`AdapterPlugin`] over both versions (the bindings of each live side by
//!   side in `bindings.rs`; 0.1.0 reuses the latest's types): its linker, loading, the health
//!   check and the calls, each in a fresh sandboxed instance.
//! - `types.rs`: what callers hand an adapter and get back, in the host's own types (and in
//!   [`crate::events`]); `convert.rs`: the conversions to and from every version's WIT types.
//!
//! Adapters import `logging` and `config` (the integration's settings) only: they are pure
//! translators, and the host performs every request they encode.

mod adapter;
mod convert;
mod types;

pub(crate) use adapter::linker;
pub use adapter::{AdapterPlugin, Send};
pub use types::{HttpRequest, WebhookOutcome, WebhookRequest};
