//! Plugins that trap, spin, hog memory or flood their output fail their own requests only: the
//! other integrations keep serving, and `/metrics` says which plugin failed how.

use switchboard_tests::harness::support_flow::GREETING_SUFFIX;
use switchboard_tests::harness::{ExtraIntegration, TestEnv, assert_error, metric, texts};

/// Plugins that trap, spin or hog memory fail their own requests only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faulty_plugins_are_isolated() {
    let env = TestEnv::start("faults", |c| {
        // Only the spinning plugin meets its deadline. The hog and the flood must meet the memory
        // and output limits, not the deadline, however loaded the machine is: they, and X, have
        // the harness's long default, the flood longer still.
        c.plugin_deadline("fixtures/spin", 500);
        c.plugin_deadline("fixtures/flood", 30_000);
        for kind in ["trap", "spin", "hog", "flood"] {
            c.extra_integrations.push(ExtraIntegration {
                id: format!("{kind}-fixture"),
                adapter: format!("fixtures/{kind}"),
                ..Default::default()
            });
        }
    })
    .await;
    let api = &env.api;
    let customers = [
        "1500000000000000706",
        "1500000000000000707",
        "1500000000000000708",
    ];

    env.send_dm(&env.dm(customers[0], "Before the faults"))
        .await;
    env.wait_delivered_to(customers[0], 1).await;

    let post_fault = |kind: &'static str| async move {
        api.post_raw(
            &format!("/webhooks/{kind}-fixture"),
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await
    };
    let trapped = post_fault("trap").await;
    assert_error(&trapped, 503, "plugin_failed");
    // The spinning plugin is interrupted at its deadline, while the X integration keeps serving.
    let during = env.dm(customers[1], "During the spin");
    let (spun, ()) = tokio::join!(post_fault("spin"), env.send_dm(&during));
    assert_error(&spun, 503, "plugin_failed");
    let hogged = post_fault("hog").await;
    assert_error(&hogged, 503, "plugin_failed");
    // A plugin answering with 20 MiB is refused at the output limit.
    let flooded = post_fault("flood").await;
    assert_error(&flooded, 503, "plugin_failed");
    assert!(
        flooded.text().contains("output_limit"),
        "{}",
        flooded.text()
    );
    // Each fault plugin fails again the same way: no instance is left broken or stuck.
    assert_error(&post_fault("trap").await, 503, "plugin_failed");

    env.send_dm(&env.dm(customers[2], "After the faults")).await;
    for customer in customers {
        let greeted = env.wait_delivered_to(customer, 1).await;
        assert!(texts(&greeted)[0].ends_with(GREETING_SUFFIX));
    }

    let metrics = env.metrics().await;
    for (plugin, kind, n) in [
        ("fixtures/trap", "trap", 2.0),
        ("fixtures/spin", "timeout", 1.0),
        ("fixtures/flood", "output_limit", 1.0),
        ("fixtures/hog", "memory_limit", 1.0),
    ] {
        assert_eq!(
            metric(
                &metrics,
                "switchboard_plugin_errors_total",
                &[
                    ("plugin", plugin),
                    ("function", "handle-webhook"),
                    ("kind", kind)
                ]
            ),
            n,
            "{plugin}/{kind}:\n{metrics}"
        );
    }
    assert_eq!(
        metric(
            &metrics,
            "switchboard_plugin_errors_total",
            &[("plugin", "x")]
        ),
        0.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "switchboard_webhooks_refused_total",
            &[("reason", "plugin_failed")]
        ),
        5.0,
        "{metrics}"
    );
}
