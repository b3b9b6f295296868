//! Flows in a running host.
//!
//! - `versions`: publishing a new version with conversations in flight, rollback, and a broken
//!   publish refused with located errors while the working version serves on;
//! - `error_paths`: flow plugins that misbehave (a bot past its deadline, a data action calling a
//!   host it was not granted) and an unanswered question, each taking the flow's own path;
//! - `polyglot`: a JavaScript bot and a Python data action answering a customer together;
//! - `crash`: a conversation waiting in its flow survives a crash of the host;
//! - `schedules`: named schedule groups, switched by admins without a restart.
//!
//! Publishing flows from the command line and from a watched folder is in the `cli` tests; the
//! example flows' scripted conversations run in the host crate (`host/tests/flow_scripts.rs`),
//! the interpreter's rules in its unit tests (`host/src/engine/`).
//!
//! Run: `cargo xtask test -p switchboard-tests --test flows`.

mod crash;
mod error_paths;
mod polyglot;
mod schedules;
mod versions;

use switchboard_tests::fixtures::XDm;
use switchboard_tests::harness::TestEnv;

/// A fresh DM from customer `sender`, named Dana (the flows greet by name), sent and expected to
/// get 200.
async fn dm(env: &TestEnv, sender: &str, text: &str) {
    env.send_dm(&XDm {
        name: "Dana".into(),
        ..env.dm(sender, text)
    })
    .await;
}
