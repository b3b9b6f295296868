//! Agents managed through the admin API of one host, seen by the others on the same store; a
//! stream ticket taken from one host opens a stream on another.

use hyper::Method;
use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, EventStream, WAIT, agent_token, eventually, stream_ticket,
};

use crate::cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_added_on_one_host_signs_in_on_another_until_removed() {
    let (cluster, _url) = cluster("scale-accounts", 2, "echo", &[], |_, _| {}).await;
    let token = agent_token("erin");
    let added = cluster.apis[0]
        .post_json(
            "/admin/v1/agents",
            Some(ADMIN_TOKEN),
            &json!({"id": "erin", "token": token, "queues": ["billing"]}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text());

    // The other host hears of her on the signal bus.
    eventually("erin signing in on host 1", WAIT, || async {
        let me = cluster.apis[1].get("/api/v1/me", Some(&token)).await;
        if me.status == 200 {
            Ok(())
        } else {
            Err(me.text())
        }
    })
    .await;

    // A ticket from host 0 opens her stream on host 1, once.
    let ticket = stream_ticket(&cluster.apis[0], &token).await;
    let path = format!("/api/v1/agents/erin/events?ticket={ticket}");
    let stream = EventStream::connect(&cluster.hosts[1].base_url(), &path);
    assert_eq!(stream.wait_for("hello")["id"], json!("erin"));
    let spent = cluster.apis[0].get(&path, None).await;
    assert_eq!(spent.status, 401, "{}", spent.text());

    // Removed on host 0: host 1 refuses her token as soon as the signal arrives, and ends her
    // stream there.
    let removed = cluster.apis[0]
        .request(
            Method::DELETE,
            "/admin/v1/agents/erin",
            Some(ADMIN_TOKEN),
            &[],
            "",
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 200, "{}", removed.text());
    eventually("erin refused on host 1", WAIT, || async {
        let me = cluster.apis[1].get("/api/v1/me", Some(&token)).await;
        if me.status == 401 {
            Ok(())
        } else {
            Err(format!("{} {}", me.status, me.text()))
        }
    })
    .await;
    stream.wait_for_end();
}
