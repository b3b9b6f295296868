//! The Graph pieces both Meta simulators share.

use axum::http::HeaderValue;

use super::*;

async fn envelope(error: &GraphError, product: GraphProduct) -> (u16, Value) {
    let response = error.response(product);
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn one_fault_is_answered_with_each_products_code() {
    let cases = [
        (GraphFault::RateLimited, (429, 130_429), (400, 613)),
        (GraphFault::PairRateLimited, (429, 131_056), (400, 613)),
        (GraphFault::WindowClosed, (400, 131_047), (400, 10)),
        (GraphFault::Undeliverable, (400, 131_026), (400, 551)),
        (GraphFault::TokenExpired, (401, 190), (401, 190)),
        (GraphFault::Status(503), (503, 131_000), (503, 2)),
        (GraphFault::Status(404), (404, 100), (404, 100)),
    ];
    for (fault, whatsapp, messenger) in cases {
        for (product, (status, code)) in [
            (GraphProduct::WhatsApp, whatsapp),
            (GraphProduct::Messenger, messenger),
        ] {
            let (got_status, body) = envelope(&fault.error(product), product).await;
            assert_eq!(
                (got_status, body["error"]["code"].as_i64()),
                (status, Some(code)),
                "{fault:?} on {product:?}"
            );
            assert_eq!(body["error"]["type"], "OAuthException");
            assert_eq!(body["error"]["fbtrace_id"], "ASimulatorTrace");
        }
    }
    let (_, closed) = envelope(
        &GraphFault::WindowClosed.error(GraphProduct::Messenger),
        GraphProduct::Messenger,
    )
    .await;
    assert_eq!(closed["error"]["error_subcode"], 2_018_278);
    let (_, closed) = envelope(
        &GraphFault::WindowClosed.error(GraphProduct::WhatsApp),
        GraphProduct::WhatsApp,
    )
    .await;
    assert_eq!(
        closed["error"]["error_data"]["messaging_product"],
        "whatsapp"
    );
    assert!(closed["error"].get("error_subcode").is_none());
}

#[tokio::test]
async fn invalid_parameters_say_why_where_each_product_does() {
    let error = GraphError::invalid_parameter(GraphProduct::WhatsApp, "to is required");
    let (status, body) = envelope(&error, GraphProduct::WhatsApp).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "(#100) Invalid parameter");
    assert_eq!(body["error"]["error_data"]["details"], "to is required");
    let error = GraphError::invalid_parameter(GraphProduct::Messenger, "recipient.id is required");
    let (_, body) = envelope(&error, GraphProduct::Messenger).await;
    assert_eq!(body["error"]["message"], "(#100) recipient.id is required");
    assert!(body["error"].get("error_data").is_none());
}

#[test]
#[should_panic(expected = "needs a 4xx or 5xx status")]
fn faults_must_be_failures() {
    FaultQueue::default().queue(1, GraphFault::Status(200));
}

#[test]
fn tokens_come_from_the_query_or_a_bearer_header() {
    let bearer = HeaderMap::from_iter([(AUTHORIZATION, HeaderValue::from_static("Bearer t1"))]);
    let uri: Uri = "/v21.0/me/messages?access_token=EAAB%2Bx%2Fy"
        .parse()
        .unwrap();
    assert_eq!(
        access_token(&uri, &HeaderMap::new()).as_deref(),
        Some("EAAB+x/y")
    );
    assert_eq!(access_token(&uri, &bearer).as_deref(), Some("EAAB+x/y"));
    let bare: Uri = "/v23.0/1/messages".parse().unwrap();
    assert_eq!(access_token(&bare, &bearer).as_deref(), Some("t1"));
    assert_eq!(access_token(&bare, &HeaderMap::new()), None);
    let basic = HeaderMap::from_iter([(AUTHORIZATION, HeaderValue::from_static("Basic t1"))]);
    assert_eq!(access_token(&bare, &basic), None);
}

#[test]
fn graph_versions() {
    assert!(is_graph_version("v21.0") && is_graph_version("v3.10"));
    for bad in ["v23", "23.0", "v.1", "v", "vX.0", "latest"] {
        assert!(!is_graph_version(bad), "{bad}");
    }
}

#[test]
fn bodies_must_be_json_objects() {
    let json = HeaderMap::from_iter([(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    )]);
    assert_eq!(json_fields(&json, br#"{"a":1}"#).unwrap()["a"], 1);
    assert!(json_fields(&json, b"[1]").unwrap_err().contains("object"));
    assert!(
        json_fields(&json, b"text=hi")
            .unwrap_err()
            .contains("not JSON")
    );
    assert!(
        json_fields(&HeaderMap::new(), br#"{"a":1}"#)
            .unwrap_err()
            .contains("Content-Type")
    );
    assert_eq!(
        query_escape("fixture verify&token"),
        "fixture%20verify%26token"
    );
}
