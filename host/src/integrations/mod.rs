//! Integrations: each configured platform account with its adapter bound, the calls into that
//! adapter (timed and counted), which integration sends for which (`reply_as`), and
//! deauthorization when a platform refuses the credentials; those set through the admin API are
//! stored encrypted when a key is set (`sealed.rs`). `platform_http.rs` performs the HTTP
//! requests adapters build (adapters never open sockets).

mod calls;
mod platform_http;
mod registry;
mod sealed;

pub use calls::OneSend;
pub use platform_http::perform;
pub use registry::{Integration, Integrations};
pub use sealed::{KEY_VARIABLE, Sealer};
