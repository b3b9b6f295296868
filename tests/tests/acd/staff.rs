//! What staff do besides answering, over HTTP: transfer to a queue or an agent with a note,
//! a customer's earlier interactions and search, files sent to customers (and refused where the
//! channel takes none), and the supervisor's overview with a token of their own.

use serde_json::{Value, json};
use switchboard_tests::harness::ADMIN_TOKEN;

use crate::start;

const SUPERVISOR_TOKEN: &str = "e2e-sue-supervisor";

fn with_staff(c: &mut switchboard_tests::harness::TestConfig) {
    c.om_flow = "route-test".into();
    c.add_agent("bob", 4, "");
    c.add_agent("carol", 4, "");
    c.extra_toml.push_str(&format!(
        "\n[[supervisor]]\nid = \"sue\"\nname = \"Sue\"\ntoken = \"{SUPERVISOR_TOKEN}\"\nqueues = [\"billing\"]\n"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfer_with_a_note_history_and_search() {
    let env = start("acd-transfer", with_staff).await;
    let (bob, carol) = (env.agent("bob"), env.agent("carol"));
    bob.set_presence("available").await;
    env.send_dm_text("1850000000000000001", "hello").await;
    let id = bob.offered("1850000000000000001").await;
    bob.accept(&id).await;

    // Bob transfers to Carol, who is away: refused with the reason. Available: offered to her
    // with Bob's note, though Bob is idle longer.
    let transfer = |agent: &str| json!({"agent": agent, "note": "Wants a refund for order 88-431"});
    let (status, body) = bob
        .post(
            &format!("/api/v1/interactions/{id}/transfer"),
            transfer("carol"),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offline"),
        "{body}"
    );
    carol.set_presence("available").await;
    let (status, body) = bob
        .post(
            &format!("/api/v1/interactions/{id}/transfer"),
            transfer("carol"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(carol.offered("1850000000000000001").await, id);
    assert_eq!(bob.interactions().await.len(), 0, "Bob no longer holds it");
    let offered = carol
        .interactions()
        .await
        .into_iter()
        .find(|i| i["id"] == json!(id))
        .unwrap();
    // Her listing says who transferred it and why, as the `offered` event did (a console that
    // refetches shows the note still).
    assert_eq!(offered["state"], json!("offered"), "{offered}");
    assert_eq!(offered["transfer"]["from_agent"], json!("bob"), "{offered}");
    assert_eq!(
        offered["transfer"]["note"],
        json!("Wants a refund for order 88-431"),
        "{offered}"
    );
    carol.accept(&id).await;
    let record = carol.interaction(&id).await;
    assert_eq!(
        record["transfers"][0]["note"],
        json!("Wants a refund for order 88-431"),
        "{record} {offered}"
    );
    assert_eq!(record["transfers"][0]["from_agent"], json!("bob"));

    // Carol transfers it to the queue `support`, which Bob and Carol do not work: it waits there.
    let (status, body) = carol
        .post(
            &format!("/api/v1/interactions/{id}/transfer"),
            json!({"queue": "support", "note": "not billing"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["queue"], json!("support"), "{body}");
    let record = env.interaction(&id).await;
    assert_eq!(record["state"], json!("queued"));
    assert_eq!(record["queue"], json!("support"));
    assert_eq!(record["transfers"].as_array().unwrap().len(), 2);
    // Bob, outside `support`, may not take it, and learns nothing of its state.
    let (status, body) = bob
        .post(&format!("/api/v1/interactions/{id}/accept"), json!({}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        json!("agent `bob` is not a member of the interaction's queue"),
        "{body}"
    );

    // A second interaction of another customer; the first customer's history, and search.
    env.send_dm_text("1850000000000000002", "my parcel is lost")
        .await;
    let other = bob.offered("1850000000000000002").await;
    bob.accept(&other).await;
    let history = bob
        .get_json(&format!("/api/v1/interactions/{other}/history"))
        .await;
    assert_eq!(history["interactions"], json!([]), "no earlier interaction");
    let found = bob.get_json("/api/v1/search?text=PARCEL").await;
    let ids: Vec<&Value> = found["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, [&json!(other)], "{found}");
    assert_eq!(
        found["interactions"][0]["matched"]["text"],
        json!("my parcel is lost")
    );
    let by_customer = bob
        .get_json("/api/v1/search?customer=1850000000000000002")
        .await;
    assert_eq!(
        by_customer["interactions"].as_array().unwrap().len(),
        1,
        "{by_customer}"
    );
    let future = bob
        .get_json("/api/v1/search?text=parcel&from=99999999999999")
        .await;
    assert_eq!(future["interactions"], json!([]), "{future}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_go_out_where_the_channel_takes_them() {
    let env = start("acd-attachments", with_staff).await;
    let bob = env.agent("bob");
    bob.set_presence("available").await;
    env.send_open("om-files-1", "hello").await;
    let id = bob.offered("om-files-1").await;
    bob.accept(&id).await;

    let png: Vec<u8> = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();
    let upload = env
        .api
        .request(
            hyper::Method::POST,
            &format!("/api/v1/interactions/{id}/attachments?filename=label.png"),
            Some(bob.token()),
            &[("content-type", "image/png")],
            png.clone(),
        )
        .await
        .unwrap();
    assert_eq!(upload.status.as_u16(), 201, "{}", upload.text());
    let file = upload.json();
    assert_eq!(file["kind"], json!("image"));
    let (status, body) = bob
        .send(
            &id,
            json!({"text": "Your label", "attachments": [file["id"]]}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let delivered = env.wait_delivered_to("om-files-1", 1).await;
    let with_file = delivered
        .iter()
        .find(|d| d.text.as_deref() == Some("Your label"))
        .expect("the reply");
    let url = with_file.body["content"][0]["attachment"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", with_file.body));
    let path = &url[url.find("/media/").expect(url)..];
    let fetched = env.api.get(path, None).await;
    assert_eq!(fetched.status.as_u16(), 200);
    assert_eq!(
        fetched.body.to_vec(),
        png,
        "the platform fetches the same bytes"
    );
    let transcript = bob.interaction(&id).await;
    let sent = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == json!("Your label"))
        .unwrap();
    assert_eq!(
        sent["attachments"][0]["filename"],
        json!("label.png"),
        "{sent}"
    );

    // Files larger than a webhook body may be (1 MiB) upload; beyond 10 MiB they get 413.
    let token = bob.token().to_string();
    let upload_bytes = |size: usize| {
        let (api, token) = (&env.api, token.clone());
        let path = format!("/api/v1/interactions/{id}/attachments?filename=big.pdf");
        async move {
            api.request(
                hyper::Method::POST,
                &path,
                Some(&token),
                &[("content-type", "application/pdf")],
                vec![b'%'; size],
            )
            .await
            .unwrap()
        }
    };
    let big = upload_bytes(2 * 1024 * 1024).await;
    assert_eq!(big.status.as_u16(), 201, "{}", big.text());
    assert_eq!(big.json()["size"], json!(2 * 1024 * 1024));
    let too_big = upload_bytes(10 * 1024 * 1024 + 1).await;
    assert_eq!(too_big.status.as_u16(), 413, "{}", too_big.text());

    // Two files in one message: open messaging carries one, and says so.
    let (status, body) = bob
        .send(&id, json!({"attachments": [file["id"], file["id"]]}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], json!("attachment_refused"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one attachment"),
        "{body}"
    );

    // X takes files only by a media id of its own: refused with the adapter's reason.
    env.send_dm_text("1851000000000000001", "hello").await;
    let x = bob.offered("1851000000000000001").await;
    bob.accept(&x).await;
    let upload = env
        .api
        .request(
            hyper::Method::POST,
            &format!("/api/v1/interactions/{x}/attachments?filename=a.pdf"),
            Some(bob.token()),
            &[("content-type", "application/pdf")],
            b"%PDF-1.4".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(upload.status.as_u16(), 201, "{}", upload.text());
    let (status, body) = bob
        .send(&x, json!({"attachments": [upload.json()["id"]]}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("media_id"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn supervisors_see_queues_and_agents() {
    let env = start("acd-supervisor", with_staff).await;
    let (bob, carol) = (env.agent("bob"), env.agent("carol"));
    // Nobody available: two customers wait.
    env.send_dm_text("1852000000000000001", "hello").await;
    env.send_dm_text("1852000000000000002", "hello").await;
    bob.wait_queued("billing", "1852000000000000002").await;

    // An agent's token is not a supervisor's.
    let refused = env
        .api
        .get("/api/v1/supervisor/overview", Some(bob.token()))
        .await;
    assert_eq!(refused.status.as_u16(), 401, "{}", refused.text());
    let overview = |token: &'static str| {
        let api = &env.api;
        async move {
            let r = api.get("/api/v1/supervisor/overview", Some(token)).await;
            assert_eq!(r.status.as_u16(), 200, "{}", r.text());
            r.json()
        }
    };
    let seen = overview(SUPERVISOR_TOKEN).await;
    let queues: Vec<&Value> = seen["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| &q["id"])
        .collect();
    assert_eq!(
        queues,
        [&json!("billing")],
        "Sue watches billing only: {seen}"
    );
    let billing = &seen["queues"][0];
    assert_eq!(billing["waiting"], json!(2), "{billing}");
    assert_eq!(billing["offered"], json!(2), "{billing}");
    assert!(billing["longest_wait_ms"].as_i64().unwrap() >= 0);
    let admin = overview(ADMIN_TOKEN).await;
    assert_eq!(
        admin["queues"].as_array().unwrap().len(),
        2,
        "the admin sees all: {admin}"
    );

    // Bob (capacity 4) is offered both and takes one: the other still waits until he takes it.
    carol.set_presence("away").await;
    bob.set_presence("available").await;
    let first = bob.offered("1852000000000000001").await;
    let second = bob.offered("1852000000000000002").await;
    bob.accept(&first).await;
    let seen = overview(SUPERVISOR_TOKEN).await;
    let billing = &seen["queues"][0];
    assert_eq!(
        (billing["waiting"].clone(), billing["answered"].clone()),
        (json!(1), json!(1)),
        "{seen}"
    );
    bob.accept(&second).await;
    let seen = overview(SUPERVISOR_TOKEN).await;
    assert_eq!(seen["queues"][0]["waiting"], json!(0), "{seen}");
    assert_eq!(seen["queues"][0]["answered"], json!(2), "{seen}");
    let agent = |id: &str| {
        seen["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {seen}"))
    };
    assert_eq!(
        (
            agent("bob")["presence"].clone(),
            agent("bob")["held"].clone()
        ),
        (json!("available"), json!(2))
    );
    assert_eq!(agent("carol")["presence"], json!("away"));
    assert_eq!(agent("bob")["per_channel"], json!({"x": 2}));
    assert_eq!(
        seen["queues"][0]["service_level"],
        json!(1.0),
        "answered within 60 s"
    );
}
