//! Flow versions with conversations in flight: a new version serves new conversations while old
//! ones finish on theirs, a rollback, and a broken publish refused with located errors while the
//! working version serves on.

use serde_json::json;
use switchboard_tests::harness::{ADMIN_TOKEN, TestEnv, invalid_flow, workspace_dir};

use crate::dm;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_rollback_and_a_broken_publish() {
    let env = TestEnv::start("flow-versions", |c| {
        c.own_flows(&[]);
    })
    .await;
    let v1 = std::fs::read_to_string(workspace_dir().join("flows/support.yaml")).unwrap();

    // A conversation starts on v1 and waits in `ask`.
    dm(&env, "1700000000000000101", "hi").await;
    let first = env.texts_to("1700000000000000101", 2).await;
    assert_eq!(first[0], "Hi Dana, thanks for writing to us.");

    // v2 changes the greeting and the billing handover.
    let v2 = v1
        .replace("thanks for writing to us.", "welcome to version two.")
        .replace(
            "A billing specialist will be with you shortly.",
            "Billing (v2) will answer.",
        );
    let (status, body) = env.put_flow("support", &v2).await;
    assert_eq!((status, &body["version"]), (201, &json!(2)), "{body}");

    // The conversation in flight finishes on v1; a new one starts on v2.
    dm(&env, "1700000000000000101", "1").await;
    let after = env.texts_to("1700000000000000101", 3).await;
    assert_eq!(
        after[2], "Thanks! A billing specialist will be with you shortly.",
        "stayed on v1"
    );
    dm(&env, "1700000000000000102", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000102", 1).await[0],
        "Hi Dana, welcome to version two."
    );

    // A rollback gives new conversations v1 again.
    let rollback = env
        .api
        .post_json(
            "/admin/v1/flows/support/rollback",
            Some(ADMIN_TOKEN),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(rollback.status, 200, "{}", rollback.text());
    dm(&env, "1700000000000000103", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000103", 1).await[0],
        "Hi Dana, thanks for writing to us."
    );
    let listed = env.admin_get("/admin/v1/flows/support").await;
    assert_eq!(listed["version"], json!(1));
    assert_eq!(listed["versions"].as_array().unwrap().len(), 2);

    // A file with six different errors is refused with six located messages; v1 keeps serving.
    let broken = std::fs::read_to_string(invalid_flow()).unwrap();
    let (status, body) = env.put_flow("support", &broken).await;
    assert_eq!(status, 422, "{body}");
    let errors = body["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(errors.len(), 6, "{body}");
    assert_eq!(lines, vec![5, 11, 15, 16, 20, 23], "{body}");
    assert!(
        errors.iter().all(|e| e["column"].as_u64().is_some()),
        "{body}"
    );
    dm(&env, "1700000000000000104", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000104", 1).await[0],
        "Hi Dana, thanks for writing to us."
    );
}
