//! The admin API keeps to its folders and its words: an adapter name cannot reach outside the
//! plugins folder, refusals are 4xx that name no absolute path, and limits are the caller's
//! mistake (4xx), not the host's (500).

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, TestEnv, X_INTEGRATION, assert_error, workspace_dir,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_refusals_stay_inside_the_plugins_folder_and_say_no_paths() {
    let env = TestEnv::start("admin-hygiene", |_| {}).await;
    let workspace = workspace_dir().to_string_lossy().into_owned();
    // `../plugins/x` is the real X adapter seen from outside the folder: it used to load.
    let outside = format!("{workspace}/target/plugins/x");
    for adapter in [
        "../plugins/x",
        "fixtures/../../plugins/x",
        outside.as_str(),
        "..\\plugins\\x",
        "x/",
        "",
    ] {
        let put = env
            .api
            .put_json(
                &format!("/admin/v1/integrations/{X_INTEGRATION}"),
                Some(ADMIN_TOKEN),
                &json!({ "adapter": adapter, "flow": "support" }),
            )
            .await;
        assert_error(&put, 422, "invalid_integration");
        assert!(
            !put.text().contains(&workspace),
            "the refusal of {adapter:?} names a path: {}",
            put.text()
        );
    }
    assert_eq!(env.integration(X_INTEGRATION).await["adapter"], "x");
    // An adapter that does not exist: refused, without the plugins folder's absolute path.
    let missing = env
        .api
        .put_json(
            &format!("/admin/v1/integrations/{X_INTEGRATION}"),
            Some(ADMIN_TOKEN),
            &json!({ "adapter": "no-such-plugin", "flow": "support" }),
        )
        .await;
    assert_error(&missing, 422, "invalid_integration");
    assert!(!missing.text().contains(&workspace), "{}", missing.text());

    // A kv key over the 1,024-byte limit is the caller's mistake.
    let key = "k".repeat(1_100);
    let kv = env
        .api
        .put_raw(
            &format!("/admin/v1/plugins/faq-bot/kv/{key}"),
            Some(ADMIN_TOKEN),
            "text/plain",
            b"value".to_vec(),
        )
        .await;
    assert_error(&kv, 422, "invalid_kv_entry");

    // Flow names have a length limit.
    let name = "f".repeat(65);
    let flow = env
        .api
        .put_raw(
            &format!("/admin/v1/flows/{name}"),
            Some(ADMIN_TOKEN),
            "application/yaml",
            b"start: x\n".to_vec(),
        )
        .await;
    assert_error(&flow, 400, "bad_request");
    // The host still serves the X integration it had.
    env.send_dm_text("1500000000000000961", "Hello").await;
    env.wait_delivered_to("1500000000000000961", 2).await;
}
