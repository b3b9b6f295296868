//! The data's lifecycle through the admin API: a customer's data erased on request
//! (`DELETE /admin/v1/customers/{integration}/{customer}`) while an agent holds their
//! interaction, and every admin action that changed something in the audit log
//! (`GET /admin/v1/audit`).

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, OM_INTEGRATION, TestEnv, assert_error, transcript, workspace_dir,
};

const CLEO: &str = "om-erase-cleo";
const DAN: &str = "om-erase-dan";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_is_erased_and_admin_actions_are_audited() {
    let support = std::fs::read_to_string(workspace_dir().join("flows/support.yaml")).unwrap();
    // The demo flow, which first keeps each customer in the `directory` plugin's key-value
    // store (`customer/<id>`).
    let remembering = support
        .replacen("start: kind", "start: remember", 1)
        .replacen(
            "steps:\n",
            "steps:\n  remember:\n    type: data-action\n    plugin: directory\n    \
         action: upsert-customer\n    input:\n      handle: 'customer.id'\n    \
         next: kind\n    failure: kind\n",
            1,
        );
    let env = TestEnv::start("erase", |c| {
        c.own_flows(&[("remembering.yaml", &remembering)]);
        c.om_flow = "remembering".into();
    })
    .await;
    let (status, body) = env.put_flow("support-copy", &support).await;
    assert_eq!(status, 201, "{body}");

    // Cleo reaches alice, who sends her a file; Dan waits in the flow.
    env.send_open(CLEO, "hi, I am cleo@example.com").await;
    env.wait_delivered_to(CLEO, 2).await;
    env.send_open(CLEO, "other").await;
    env.send_open(DAN, "hello").await;
    env.wait_delivered_to(DAN, 2).await;
    let alice = env.alice();
    alice.set_available().await;
    let id = alice.offered(CLEO).await;
    alice.accept(&id).await;
    let upload = env
        .api
        .request(
            hyper::Method::POST,
            &format!("/api/v1/interactions/{id}/attachments?filename=label.png"),
            Some(alice.token()),
            &[("content-type", "image/png")],
            b"\x89PNG\r\n\x1a\nnot really an image".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(upload.status, 201, "{}", upload.text());
    let url = upload.json()["url"].as_str().unwrap().to_string();
    let media = &url[url.find("/media/").expect(&url)..];
    assert_eq!(env.api.get(media, None).await.status, 200);
    let before = transcript(&env.interaction(&id).await);
    assert!(
        before.iter().any(|m| m.2 == "hi, I am cleo@example.com"),
        "{before:?}"
    );

    let kept = env
        .api
        .get(
            "/admin/v1/plugins/directory/kv/customer%2Fom-erase-cleo",
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(kept.status, 200, "the flow kept Cleo: {}", kept.text());

    // Someone without the admin token cannot erase, and is not an admin action.
    let path = format!("/admin/v1/customers/{OM_INTEGRATION}/{CLEO}");
    let refused = env
        .api
        .request(
            hyper::Method::DELETE,
            &path,
            Some("not-the-token"),
            &[],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 401);

    let erased = env
        .api
        .request(hyper::Method::DELETE, &path, Some(ADMIN_TOKEN), &[], vec![])
        .await
        .unwrap();
    assert_eq!(erased.status, 200, "{}", erased.text());
    let erased = erased.json();
    assert_eq!(erased["integration"], OM_INTEGRATION);
    assert_eq!(erased["customer"], CLEO);
    assert_eq!(erased["erased"]["conversations"], 1, "{erased}");
    assert_eq!(erased["erased"]["messages"], before.len(), "{erased}");
    assert_eq!(erased["erased"]["attachments"], 1, "{erased}");
    assert!(
        erased["erased"]["inbox_events"].as_i64().unwrap() >= 2,
        "{erased}"
    );
    // What the flow's plugin kept of Cleo went with her; Dan's entry stays.
    assert_eq!(erased["erased"]["plugin_entries"], 1, "{erased}");
    let entry = |customer: &str| format!("/admin/v1/plugins/directory/kv/customer%2F{customer}");
    let cleo_entry = env.api.get(&entry(CLEO), Some(ADMIN_TOKEN)).await;
    assert_eq!(cleo_entry.status, 404, "{}", cleo_entry.text());
    let dan_entry = env.api.get(&entry(DAN), Some(ADMIN_TOKEN)).await;
    assert_eq!(dan_entry.status, 200, "{}", dan_entry.text());

    // Nothing of Cleo is left to see: not by search, not in the interaction, not the file;
    // alice no longer holds it.
    let found = env
        .admin_get(&format!("/api/v1/search?customer={CLEO}"))
        .await;
    assert_eq!(found["interactions"], json!([]), "{found}");
    let shell = env.interaction(&id).await;
    assert!(transcript(&shell).is_empty(), "{shell}");
    assert_eq!(shell["state"], "ended", "{shell}");
    assert!(!shell.to_string().contains("cleo@example.com"), "{shell}");
    assert_eq!(env.api.get(media, None).await.status, 404);
    assert!(
        alice
            .interactions()
            .await
            .iter()
            .all(|i| i["id"] != id.as_str()),
        "alice's list"
    );
    // Dan is untouched.
    let dan = env
        .admin_get(&format!("/api/v1/search?customer={DAN}"))
        .await;
    assert_eq!(dan["interactions"].as_array().unwrap().len(), 1, "{dan}");

    // A second request finds nothing.
    let again = env
        .api
        .request(hyper::Method::DELETE, &path, Some(ADMIN_TOKEN), &[], vec![])
        .await
        .unwrap();
    assert_error(&again, 404, "not_found");

    // The audit log: the two erasures and the publish, newest first, by pages; no reads and
    // no refused calls.
    let page = env.admin_get("/admin/v1/audit?limit=2").await;
    let entries = page["entries"].as_array().unwrap();
    let seen: Vec<(&str, &str, i64)> = entries
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("DELETE", path.as_str(), 404),
            ("DELETE", path.as_str(), 200)
        ]
    );
    assert_eq!(entries[0]["actor"], "admin");
    assert_eq!(
        entries[0]["route"],
        "/admin/v1/customers/{integration}/{customer}"
    );
    assert!(entries[0]["at"].as_i64().unwrap() >= entries[1]["at"].as_i64().unwrap());
    let rest = env
        .admin_get(&format!(
            "/admin/v1/audit?limit=2&before={}",
            page["next_before"]
        ))
        .await;
    let rest = rest["entries"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(
        (&rest[0]["method"], &rest[0]["target"], &rest[0]["status"]),
        (
            &json!("PUT"),
            &json!("/admin/v1/flows/support-copy"),
            &json!(201)
        )
    );
    let bad = env
        .api
        .get("/admin/v1/audit?limit=0", Some(ADMIN_TOKEN))
        .await;
    assert_error(&bad, 400, "bad_request");

    // An admin removes an entry by hand; a second time there is none.
    let dan_entry = format!("/admin/v1/plugins/directory/kv/customer%2F{DAN}");
    for (expected, what) in [(204, "removed"), (404, "gone")] {
        let removed = env
            .api
            .request(
                hyper::Method::DELETE,
                &dan_entry,
                Some(ADMIN_TOKEN),
                &[],
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(removed.status, expected, "{what}: {}", removed.text());
    }
    assert_eq!(env.api.get(&dan_entry, Some(ADMIN_TOKEN)).await.status, 404);
}
