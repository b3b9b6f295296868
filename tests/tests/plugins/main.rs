//! Plugins as a product, in a running host.
//!
//! - `hot_swap`: an adapter hot-swapped under load with no failed request; broken, wrong-world
//!   and over-asking components refused while the old version serves on; rollback;
//! - `faults`: plugins that trap, spin, hog memory or flood their output fail their own requests
//!   only;
//! - `contract_versions`: adapters of `switchboard:channel@0.1.0` and `@0.2.0` side by side;
//! - `admin_hygiene`: adapter names that leave the plugins folder, error texts without paths,
//!   kv and flow-name limits as 4xx;
//! - `partner_walkthrough`: `docs/plugins.md` step by step, from `cargo xtask new-plugin` to a
//!   hot-loaded adapter answering a signed webhook.
//!
//! Hot loading from a watched folder (`serve --watch`) is in the `cli` tests; every adapter's
//! wire behaviour in the compliance suite (`tests/tests/compliance/`); flow plugins through the
//! runtime, without a host, in `host/tests/flow_plugins.rs`.
//!
//! Run: `cargo xtask test -p switchboard-tests --test plugins`.

mod admin_hygiene;
mod contract_versions;
mod faults;
mod hot_swap;
mod partner_walkthrough;
