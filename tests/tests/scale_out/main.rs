//! Several hosts on one PostgreSQL: real `switchboard serve` processes sharing a database that
//! the test starts (`switchboard::store::postgres::testing`), one simulator for every platform.
//!
//! - `conversations`: one contact writing to two hosts is one conversation, each message
//!   processed once, the replies in order; an `ask` timeout fires once; a flow published on one
//!   host serves on another;
//! - `acd`: 200 customers and 10 agents on three hosts accepting at once: nothing assigned
//!   twice, nobody over capacity; an agent's live stream on one host gets the offers made
//!   anywhere; an alerting timeout fires once;
//! - `accounts`: an agent added through one host's admin API signs in on another, a stream
//!   ticket from one host opens a stream on another, and a removal reaches every host;
//! - `failover`: a host killed with SIGKILL under load: nothing acknowledged is lost, the
//!   others resume its customers and sends;
//! - `partition`: a host cut off from the database (its own network namespace, the link
//!   dropped) while it holds leases: the others take over, nothing is sent twice because of it,
//!   and it serves again once the link is back (needs root and iproute2, else skipped).
//!
//! Run: `cargo xtask test -p switchboard-tests --test scale_out`.

mod accounts;
mod acd;
mod conversations;
mod failover;
mod partition;

use switchboard::store::postgres::testing::TestServer;
use switchboard_tests::harness::{Cluster, TestConfig};

/// A fresh database on this test binary's PostgreSQL: its URL.
fn database() -> String {
    TestServer::shared()
        .and_then(|server| server.database())
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Rows of `sql` on the database at `url`, one a line, columns separated by `|`.
fn query(url: &str, sql: &str) -> String {
    TestServer::shared()
        .and_then(|server| server.psql(url, sql))
        .unwrap_or_else(|e| panic!("{sql}: {e:#}"))
}

/// A count `sql` returns.
fn count(url: &str, sql: &str) -> i64 {
    let rows = query(url, sql);
    rows.parse()
        .unwrap_or_else(|_| panic!("{sql} gave {rows:?}, not a count"))
}

/// `n` hosts on a fresh database whose X integration runs `flow` (a test flow of
/// `tests/flows/` or a file of `extra_flows`).
async fn cluster(
    label: &str,
    n: usize,
    flow: &str,
    extra_flows: &[(&str, &str)],
    customize: impl Fn(usize, &mut TestConfig),
) -> (Cluster, String) {
    let url = database();
    let cluster = Cluster::start(label, n, &url, |i, c| {
        c.use_test_flows();
        let flows = c.flows_dir.clone().expect("the test flows folder");
        for (name, text) in extra_flows {
            std::fs::write(flows.join(name), text).expect("writing a flow");
        }
        c.x_flow = flow.into();
        customize(i, c);
    })
    .await;
    (cluster, url)
}
