//! The load driver behind `cargo xtask bench` (the `bench` binary), by concern.
//!
//! xtask starts and stops processes (the host, Node-RED, the store prefill); this module drives
//! load at a started server and says what happened, phase by phase, as JSON files that
//! [`report`] merges into `target/bench/report.json` and `report.md`. The README's Performance
//! section says what each phase measures and why.
//!
//! - [`http`]: where load may go (loopback only), connections, one exchange, health polls;
//! - [`customers`]: one numbered slot per simulated customer, recording when their webhook was
//!   sent and when the host's replies reached [`x_api`], the stand-in of X's send API;
//! - [`bodies`]: DM webhooks built and signed before any timing starts;
//! - [`closed`] and [`open`]: the two load shapes (closed loop: N connections, each waiting for
//!   its answer; open loop: requests on a fixed schedule, whatever the answers do);
//! - [`ladder`] and [`stats`]: the pure rules (which rate next, when a rate is sustained,
//!   percentiles), unit-tested without I/O;
//! - [`procfs`] and [`host_metrics`]: CPU time, peak memory and the machine from `/proc`, and
//!   the host's own counters from `/metrics`, so a figure comes with where the time went;
//! - [`phases`]: `peers` (bare hyper and Node-RED), `intake`, `sustained` and `faults`;
//! - [`report`]: the figures, the goals and their rendering.

pub mod bodies;
pub mod closed;
pub mod customers;
pub mod host_metrics;
pub mod http;
pub mod ladder;
pub mod open;
pub mod phases;
pub mod procfs;
pub mod report;
pub mod stats;
pub mod x_api;
