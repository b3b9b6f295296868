//! A stand-in Switchboard host for the Meta simulators' own tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use serde_json::Value;

use super::lock;
use crate::signing;

/// For the simulators' own tests: a host with one Meta integration's secrets, standing in for
/// Switchboard. It keeps the bodies of webhooks signed with the app secret (others get 401) and
/// answers verification GETs carrying the verify token with the challenge (others get 403),
/// keeping every GET's raw query so a test can check how the token was encoded.
pub(crate) struct StandInHost {
    pub url: String,
    /// `(integration, body)` of each accepted webhook.
    pub webhooks: Arc<Mutex<Vec<(String, Value)>>>,
    /// The raw query of each verification GET.
    pub verifications: Arc<Mutex<Vec<String>>>,
}

impl StandInHost {
    pub async fn start(app_secret: &'static str, verify_token: &'static str) -> Self {
        type Kept = (Arc<Mutex<Vec<(String, Value)>>>, Arc<Mutex<Vec<String>>>);
        let kept: Kept = Default::default();
        let webhook = move |State((webhooks, _)): State<Kept>,
                            Path(integration): Path<String>,
                            headers: HeaderMap,
                            body: Bytes| async move {
            let expected = signing::hub_signature_hex(app_secret, &body);
            if headers
                .get("x-hub-signature-256")
                .is_none_or(|value| value != expected.as_str())
            {
                return (StatusCode::UNAUTHORIZED, "bad signature");
            }
            let body = serde_json::from_slice(&body).expect("a JSON webhook");
            lock(&webhooks).push((integration, body));
            (StatusCode::OK, "EVENT_RECEIVED")
        };
        let verify = move |State((_, verifications)): State<Kept>,
                           Query(query): Query<HashMap<String, String>>,
                           RawQuery(raw): RawQuery| async move {
            lock(&verifications).push(raw.unwrap_or_default());
            let field = |key: &str| query.get(key).map(String::as_str);
            if field("hub.mode") == Some("subscribe")
                && field("hub.verify_token") == Some(verify_token)
            {
                (
                    StatusCode::OK,
                    field("hub.challenge").unwrap_or("").to_owned(),
                )
            } else {
                (StatusCode::FORBIDDEN, "no".to_owned())
            }
        };
        let host = axum::Router::new()
            .route("/webhooks/{integration}", post(webhook).get(verify))
            .with_state(kept.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, host).into_future());
        StandInHost {
            url,
            webhooks: kept.0,
            verifications: kept.1,
        }
    }

    pub fn webhooks(&self) -> Vec<(String, Value)> {
        lock(&self.webhooks).clone()
    }
}
