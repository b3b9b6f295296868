//! Test-side stand-ins for the platforms Switchboard talks to.
//!
//! The real platforms (X, Genesys-style open messaging) cannot be reached from a test machine, and a
//! mock that skips HTTP or signatures would let wire-format bugs through. So everything here speaks
//! the platforms' documented wire formats (`shared/reference/channel-wire-formats.md`) over real HTTP
//! on loopback, with real HMAC signatures:
//!
//! - [`signing`]: the signatures each platform puts on its webhooks, checked against the reference's
//!   test vectors;
//! - [`fixtures`]: webhook bodies as exact bytes, ready to sign and send;
//! - [`sim`]: [`sim::PlatformSim`], an HTTP server playing the platforms' send APIs (with scripted
//!   faults) and a customer-side client that posts signed webhooks to the host;
//! - [`fuzz`]: the seeded generator the suite's fuzzers share;
//! - [`host_config`]: derives a simulator setup from the host's own `switchboard.toml`, so the demo
//!   and the tests configure both sides from one file;
//! - [`harness`]: the one harness of the end-to-end tests (`tests/tests/<area>/`): a
//!   [`harness::TestEnv`] runs the simulator and the real `switchboard` binary on a temporary
//!   config and database, with helpers for what customers, agents and admins do.
//!
//! The `platform-sim` binary runs the simulator for `cargo xtask serve`; the `bench` binary is the
//! load driver behind `cargo xtask bench`, built from [`bench`]; the `chaos` binary is the fault
//! campaign behind `cargo xtask chaos`, built from [`chaos`].

pub mod bench;
pub mod chaos;
pub mod fixtures;
pub mod fuzz;
pub mod harness;
pub mod host_config;
pub mod signing;
pub mod sim;
