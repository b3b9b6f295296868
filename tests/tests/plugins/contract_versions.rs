//! Adapters of two contract versions in one host: `switchboard:channel@0.1.0` (the JavaScript
//! open-messaging adapter, built against the frozen `wit/channel-0.1.0`) beside `@0.2.0` (X).

use serde_json::json;
use switchboard_tests::harness::{TestEnv, WAIT, eventually};

/// `switchboard:channel@0.1.0` and `@0.2.0` adapters in one host: the JavaScript open-messaging
/// adapter is built against the frozen 0.1.0 contract (`wit/channel-0.1.0`), X against the
/// latest. Both carry conversations; the function 0.2.0 added (a typing indicator) is simply
/// absent for the 0.1.0 adapter, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_of_two_contract_versions_run_side_by_side() {
    let env = TestEnv::start("side-by-side", |c| {
        c.om_adapter = "open-messaging-js".into();
    })
    .await;

    assert_eq!(
        env.plugin("x").await["wit"],
        json!("switchboard:channel@0.2.0")
    );
    assert_eq!(
        env.plugin("open-messaging-js").await["wit"],
        json!("switchboard:channel@0.1.0")
    );

    // One customer on each: the flow greets and asks through either adapter.
    let x_customer = "1950000000000000777";
    env.send_dm_text(x_customer, "Hello").await;
    let om_customer = "om-customer-side-by-side";
    env.send_open(om_customer, "Hello").await;
    for customer in [x_customer, om_customer] {
        env.wait_delivered_to(customer, 2).await;
    }

    // The open-messaging customer reaches an agent, who replies through the 0.1.0 adapter.
    env.send_open(om_customer, "billing").await;
    let alice = env.alice();
    let id = alice.wait_queued_id("billing", om_customer).await;
    alice.set_available().await;
    alice.accept(&id).await;
    let typing = alice.typing(&id).await;
    assert_eq!(typing["sent"], json!(false));
    assert!(
        typing["reason"]
            .as_str()
            .unwrap()
            .contains("implements switchboard:channel@0.1.0, which has no typing indicator"),
        "{typing}"
    );
    alice.reply(&id, "Alice here, from a 0.1.0 adapter.").await;
    eventually("the agent's reply delivered", WAIT, || async {
        let texts: Vec<Option<String>> = env
            .delivered_to(om_customer)
            .into_iter()
            .map(|d| d.text)
            .collect();
        if texts
            .iter()
            .any(|t| t.as_deref() == Some("Alice here, from a 0.1.0 adapter."))
        {
            Ok(())
        } else {
            Err(format!("{texts:?}"))
        }
    })
    .await;
}
