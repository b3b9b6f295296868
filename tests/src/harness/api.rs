//! [`Api`], a small HTTP client for the host's routes, its [`Response`], and [`metric`] to read
//! one sample of `/metrics`.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long one request to the host may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer from the host.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON answer ({}), got {:?}: {e}",
                self.status,
                self.text()
            )
        })
    }
}

/// A small HTTP/1 client for the host (no connection reuse, so a restarted host is never reached
/// through a dead pooled connection).
#[derive(Clone)]
pub struct Api {
    base_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        Api {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// Sends a request; `token` goes in `Authorization: Bearer`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Response> {
        let url = format!("{}{path}", self.base_url);
        let uri: Uri = url.parse().with_context(|| format!("{url:?}"))?;
        let mut request = Request::builder().method(method.clone()).uri(uri);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(HeaderName::from_bytes(name.as_bytes())?, *value);
        }
        let request = request.body(Full::new(body.into()))?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .with_context(|| format!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {url}"))
    }

    /// A GET that reports failures (a host down, a timeout) instead of panicking.
    pub async fn try_get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Response> {
        self.request(Method::GET, path, token, &[], Bytes::new())
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.try_get(path, token)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// POSTs JSON.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    /// PUTs JSON.
    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::PUT, path, token, body).await
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(
            method,
            path,
            token,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// POSTs raw bytes with the given headers (webhooks).
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
        self.request(Method::POST, path, None, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// PUTs raw bytes with a token (flow YAML).
    pub async fn put_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        self.request(
            Method::PUT,
            path,
            token,
            &[(CONTENT_TYPE.as_str(), content_type)],
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let response = self.get("/metrics", None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.text()
    }
}

/// The value of one sample in Prometheus text, e.g.
/// `metric(&text, "switchboard_webhooks_received_total", &[("integration", "x-demo")])`: the sum
/// of the samples of `name` carrying every given label (0 when none does).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric_name != name {
                return None;
            }
            let all_match = labels
                .iter()
                .all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
            all_match.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Asserts a JSON error answer: `status` and `{"error": {"code": code, "message": …}}` with a
/// message.
pub fn assert_error(response: &Response, status: u16, code: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "expected {status} {code}, got {}: {}",
        response.status,
        response.text()
    );
    let body = response.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the error has a message: {body}"
    );
}
