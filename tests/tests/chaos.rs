//! The fault campaign of `cargo xtask chaos`, short: a fixed seed, a few customers (three of
//! them asking for an agent, whom three simulated agents take), five SIGKILLs of the host and the
//! platform's faults on sends for 30 seconds, then the checker: nothing acknowledged lost, no
//! reply twice but for a kill in the middle of its send, none out of order, every failed reply
//! with a reason code, no interaction held by two agents at once.
//!
//! Run: `cargo xtask test -p switchboard-tests --test chaos`; the long run is the command.

use std::time::Duration;

use switchboard_tests::chaos::{self, Plan};
use switchboard_tests::harness::workspace_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_kills_and_platform_faults() {
    let plan = Plan {
        seconds: 30,
        seed: 13,
        kills: 5,
        customers: 6,
        callers: 3,
        out_dir: workspace_dir().join("target").join("chaos-test"),
        quiet_deadline: Duration::from_secs(240),
    };
    let report = chaos::run(&plan).await.expect("the campaign ran");
    println!("{}", report.table());
    assert_eq!(report.kills, 5);
    assert!(report.acknowledged > 0, "nothing was acknowledged");
    assert!(
        report.clean,
        "the checker found broken promises:\n{}",
        report.table()
    );
}
