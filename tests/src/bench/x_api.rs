//! A light stand-in of X's send API, served by the driver itself so a reply's arrival is
//! timed on the same clock as the webhook that caused it.
//!
//! `POST /2/dm_conversations/with/{participant_id}/messages` with the integration's bearer token
//! and a JSON body holding `text` is answered as X answers it, `201 {"data": {"dm_conversation_id",
//! "dm_event_id"}}`, and the reply is recorded on the customer's slot (see [`super::customers`]).
//! Anything else is refused (401 for a wrong token, 400 for a bad body, 404 for another path) and
//! counted, so a host that sends wrongly shows in the report instead of passing as a reply.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::customers::Customers;

/// What the stand-in saw over its life.
#[derive(Debug, Default)]
pub struct Counters {
    replies: AtomicU64,
    unknown_recipients: AtomicU64,
    unauthorized: AtomicU64,
    bad_requests: AtomicU64,
    not_found: AtomicU64,
}

/// [`Counters`] as the report shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XApiCounts {
    /// DMs accepted (201) to bench customers.
    pub replies: u64,
    /// DMs accepted to someone who is not a bench customer.
    pub unknown_recipients: u64,
    /// Requests refused: wrong or missing token (401), bad body (400), other path (404).
    pub unauthorized: u64,
    pub bad_requests: u64,
    pub not_found: u64,
}

impl Counters {
    pub fn snapshot(&self) -> XApiCounts {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        XApiCounts {
            replies: load(&self.replies),
            unknown_recipients: load(&self.unknown_recipients),
            unauthorized: load(&self.unauthorized),
            bad_requests: load(&self.bad_requests),
            not_found: load(&self.not_found),
        }
    }
}

/// The stand-in's settings.
struct XApi {
    /// `Bearer {access_token}`, as the X adapter sends it.
    authorization: String,
    account_id: String,
    customers: Arc<Customers>,
    counters: Arc<Counters>,
    next_event: AtomicU64,
}

/// Serves the stand-in on `addr` until the process ends; returns its counters.
pub async fn start(
    addr: SocketAddr,
    access_token: &str,
    account_id: &str,
    customers: Arc<Customers>,
) -> anyhow::Result<Arc<Counters>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the X send API stand-in on {addr}"))?;
    let counters = Arc::new(Counters::default());
    let api = Arc::new(XApi {
        authorization: format!("Bearer {access_token}"),
        account_id: account_id.to_owned(),
        customers,
        counters: counters.clone(),
        next_event: AtomicU64::new(1_950_000_000_000_000_000),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let api = api.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let api = api.clone();
                    async move { Ok::<_, Infallible>(api.answer(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(counters)
}

/// The participant id of a send-DM path.
fn participant(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/2/dm_conversations/with/")?
        .strip_suffix("/messages")?;
    (!id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// Whether a send-DM body holds what X requires: an object with non-empty `text` (or media).
fn valid_body(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return false;
    };
    let text = fields
        .get("text")
        .and_then(|t| t.as_str())
        .is_some_and(|t| !t.is_empty());
    let media = fields.contains_key("attachments");
    (text || media)
        && fields
            .keys()
            .all(|key| key == "text" || key == "attachments")
}

/// `{low}-{high}`, X's id of a one-to-one DM conversation.
fn conversation_id(a: &str, b: &str) -> String {
    let (low, high) = if (a.len(), a) <= (b.len(), b) {
        (a, b)
    } else {
        (b, a)
    };
    format!("{low}-{high}")
}

impl XApi {
    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let arrived = Instant::now();
        let count = |n: &AtomicU64| {
            n.fetch_add(1, Ordering::Relaxed);
        };
        let (parts, body) = request.into_parts();
        let Some(participant) = participant(parts.uri.path()).map(str::to_owned) else {
            count(&self.counters.not_found);
            return problem(StatusCode::NOT_FOUND, "Not Found");
        };
        if parts.method != Method::POST {
            count(&self.counters.not_found);
            return problem(StatusCode::NOT_FOUND, "Not Found");
        }
        let authorized = parts
            .headers
            .get(AUTHORIZATION)
            .is_some_and(|value| value.as_bytes() == self.authorization.as_bytes());
        if !authorized {
            count(&self.counters.unauthorized);
            return problem(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            count(&self.counters.bad_requests);
            return problem(StatusCode::BAD_REQUEST, "Invalid Request");
        };
        if !valid_body(&body) {
            count(&self.counters.bad_requests);
            return problem(StatusCode::BAD_REQUEST, "Invalid Request");
        }
        match Customers::customer_of(&participant) {
            Some(customer) if self.customers.replied(customer, arrived) => {
                count(&self.counters.replies)
            }
            _ => count(&self.counters.unknown_recipients),
        }
        let event = self.next_event.fetch_add(1, Ordering::Relaxed);
        let created = serde_json::json!({
            "data": {
                "dm_conversation_id": conversation_id(&self.account_id, &participant),
                "dm_event_id": event.to_string(),
            }
        });
        json(StatusCode::CREATED, created.to_string())
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// X's v2 problem body.
fn problem(status: StatusCode, title: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "title": title,
        "type": "about:blank",
        "status": status.as_u16(),
        "detail": title,
    });
    json(status, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::http::{self, Target};
    use hyper::header::HOST;

    #[test]
    fn paths_and_bodies_are_checked_as_x_does() {
        assert_eq!(
            participant("/2/dm_conversations/with/1700000000000000001/messages"),
            Some("1700000000000000001")
        );
        assert_eq!(participant("/2/dm_conversations/with/abc/messages"), None);
        assert_eq!(participant("/2/tweets"), None);
        assert!(valid_body(br#"{"text":"Hi"}"#));
        assert!(!valid_body(br#"{"text":""}"#));
        assert!(!valid_body(br#"{"text":"Hi","quick_reply":{}}"#));
        assert!(!valid_body(b"not json"));
        assert_eq!(conversation_id("99", "100"), "99-100");
    }

    #[tokio::test]
    async fn replies_are_recorded_on_the_customer_and_answered_201() {
        let customers = Arc::new(Customers::new());
        let customer = customers.reserve(1).start;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let counters = start(addr, "tok", "1500000000000000001", customers.clone())
            .await
            .unwrap();
        let path = format!(
            "/2/dm_conversations/with/{}/messages",
            Customers::user_id(customer)
        );
        let target = Target::local(addr, path.parse().unwrap()).unwrap();
        let send = |token: &'static str| {
            Request::post(target.path.clone())
                .header(HOST, target.host.clone())
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::from_static(br#"{"text":"Hi"}"#)))
                .unwrap()
        };
        let mut connection = http::connect(addr).await.unwrap();
        let created = http::exchange(&mut connection, send("tok")).await.unwrap();
        let refused = http::exchange(&mut connection, send("wrong"))
            .await
            .unwrap();
        assert_eq!(
            (created, refused),
            (StatusCode::CREATED, StatusCode::UNAUTHORIZED)
        );
        assert_eq!(customers.seen(customer).replies, 1);
        let counts = counters.snapshot();
        assert_eq!((counts.replies, counts.unauthorized), (1, 1));
    }
}
