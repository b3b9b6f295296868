//! The phases of a bench run, each against a server xtask started, each returning what the
//! report shows of it.
//!
//! - [`peers`]: the same closed-loop intake load against a bare hyper server and Node-RED, with
//!   the host not running;
//! - [`session`]: one life of a host (empty store, or the prefilled million), with the X send
//!   API stand-in up from before the host starts until after it stops; it runs
//! - [`intake`]: the closed loop against the host, then the wait for the backlog it caused;
//! - [`sustained`]: open-loop rate steps, then the first-reply latency at half the highest
//!   sustained rate;
//! - [`faults`]: the closed loop again beside fault adapters failing in a loop.
//!
//! [`drain`] waits for the replies a load left behind.

pub mod drain;
pub mod faults;
pub mod intake;
pub mod peers;
pub mod session;
pub mod sustained;
