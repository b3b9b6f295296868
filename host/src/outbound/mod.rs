//! Sending: the sender worker (`sender.rs`) takes pending outbound messages through the
//! adapter's `encode-send` and performs the requests; `actions.rs` performs the best-effort
//! ones (read markers, typing indicators). What may go out is decided by
//! [`crate::rules::outbound`].

mod actions;
mod sender;

pub use actions::SenderActions;
pub use sender::Sender;
