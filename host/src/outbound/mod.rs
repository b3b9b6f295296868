//! Sending: the sender worker (`sender.rs`) takes pending outbound messages through the
//! adapter's `encode-send` and performs the requests; `actions.rs` performs the best-effort
//! ones (read markers, typing indicators); `encode_check.rs` asks the adapter whether the
//! channel can carry an agent's message before it is stored. What may go out is decided by
//! [`crate::rules::outbound`].

mod actions;
mod encode_check;
mod sender;

pub use actions::SenderActions;
pub use sender::Sender;
