//! The customer side of X's public activity: a signed `tweet_create_events` mention or
//! `favorite_events` like posted to the host's webhook, as X's Account Activity API would, plus the
//! `/sim/x/mention` and `/sim/x/like` routes that drive them with curl.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Shared;
use super::customer::{host_unreachable, unknown_integration};
use crate::fixtures::{self, XLike, XMention};
use crate::signing;

/// What a customer-side post or like produced: the host's answer and the ids the body carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XPublicPosted {
    pub host_status: u16,
    pub host_body: String,
    /// The mention's post id, or the like's event id.
    pub id: String,
    /// The customer's X user id (derived from the handle).
    pub user_id: String,
}

impl Shared {
    /// Signs `mention` with the integration's consumer secret and posts it as X would.
    pub(crate) async fn send_x_mention_body(
        &self,
        integration_id: &str,
        mention: &XMention,
    ) -> anyhow::Result<(u16, String)> {
        let secret = self.x_secret(integration_id)?;
        let body = fixtures::x_mention(mention);
        let signature = signing::x_signature(&secret, &body);
        let answer = self
            .host
            .post_webhook(
                integration_id,
                body,
                ("x-twitter-webhooks-signature", signature),
            )
            .await;
        let what = format!("(mention) {}", mention.text);
        self.log_customer(
            &format!("@{}", mention.screen_name),
            integration_id,
            &what,
            &answer,
        );
        answer
    }

    /// Signs `like` with the integration's consumer secret and posts it as X would.
    pub(crate) async fn send_x_like_body(
        &self,
        integration_id: &str,
        like: &XLike,
    ) -> anyhow::Result<(u16, String)> {
        let secret = self.x_secret(integration_id)?;
        let body = fixtures::x_like(like);
        let signature = signing::x_signature(&secret, &body);
        let answer = self
            .host
            .post_webhook(
                integration_id,
                body,
                ("x-twitter-webhooks-signature", signature),
            )
            .await;
        let what = format!("(likes post {})", like.tweet_id);
        self.log_customer(
            &format!("@{}", like.screen_name),
            integration_id,
            &what,
            &answer,
        );
        answer
    }

    /// A mention from the handle `from_handle`, written now, with a fresh post id.
    pub(crate) async fn send_x_mention(
        &self,
        integration_id: &str,
        from_handle: &str,
        text: &str,
        in_reply_to: Option<&str>,
    ) -> anyhow::Result<XPublicPosted> {
        let account_id = self.x_account_id(integration_id)?;
        let mention = XMention {
            for_user_id: account_id,
            tweet_id: self.ids.next_id(),
            sender_id: fixtures::x_user_id_for_handle(from_handle),
            screen_name: from_handle.to_owned(),
            name: from_handle.to_owned(),
            text: text.to_owned(),
            in_reply_to_status_id: in_reply_to.map(str::to_owned),
            created_ms: fixtures::unix_millis(SystemTime::now()),
            ..XMention::default()
        };
        let (host_status, host_body) = self.send_x_mention_body(integration_id, &mention).await?;
        Ok(XPublicPosted {
            host_status,
            host_body,
            id: mention.tweet_id,
            user_id: mention.sender_id,
        })
    }

    /// A like by the handle `from_handle` of the account's post `tweet_id`, now, with a fresh
    /// like id.
    pub(crate) async fn send_x_like(
        &self,
        integration_id: &str,
        from_handle: &str,
        tweet_id: &str,
    ) -> anyhow::Result<XPublicPosted> {
        let account_id = self.x_account_id(integration_id)?;
        let liker_id = fixtures::x_user_id_for_handle(from_handle);
        // X's like ids are 32 hex digits; a fresh one per call.
        let seed = format!("{liker_id}:{tweet_id}:{}", self.ids.next_id());
        let like_id = hex::encode(&Sha256::digest(seed.as_bytes())[..16]);
        let like = XLike {
            for_user_id: account_id,
            like_id,
            tweet_id: tweet_id.to_owned(),
            liker_id,
            screen_name: from_handle.to_owned(),
            name: from_handle.to_owned(),
            created_ms: fixtures::unix_millis(SystemTime::now()),
            ..XLike::default()
        };
        let (host_status, host_body) = self.send_x_like_body(integration_id, &like).await?;
        Ok(XPublicPosted {
            host_status,
            host_body,
            id: like.like_id,
            user_id: like.liker_id,
        })
    }

    fn x_secret(&self, integration_id: &str) -> anyhow::Result<String> {
        self.x
            .account_for_integration(integration_id)
            .map(|account| account.consumer_secret.clone())
            .with_context(|| {
                format!("no X account is configured for integration {integration_id:?}")
            })
    }

    fn x_account_id(&self, integration_id: &str) -> anyhow::Result<String> {
        self.x
            .account_for_integration(integration_id)
            .map(|account| account.account_id.clone())
            .with_context(|| {
                format!("no X account is configured for integration {integration_id:?}")
            })
    }
}

/// `POST /sim/x/mention` body.
#[derive(Deserialize)]
pub(crate) struct MentionRequest {
    integration: String,
    from: String,
    text: String,
    /// The post it replies to, if any.
    in_reply_to: Option<String>,
}

/// `POST /sim/x/mention`: a customer mentions the account in a post.
pub(crate) async fn post_x_mention(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<MentionRequest>,
) -> Response {
    if sim
        .x
        .account_for_integration(&request.integration)
        .is_none()
    {
        return unknown_integration("X account", &request.integration);
    }
    let sent = sim
        .send_x_mention(
            &request.integration,
            &request.from,
            &request.text,
            request.in_reply_to.as_deref(),
        )
        .await;
    match sent {
        Ok(posted) => Json(json!(posted)).into_response(),
        Err(e) => host_unreachable(&e),
    }
}

/// `POST /sim/x/like` body.
#[derive(Deserialize)]
pub(crate) struct LikeRequest {
    integration: String,
    from: String,
    /// The account's post that is liked.
    tweet_id: String,
}

/// `POST /sim/x/like`: a customer likes one of the account's posts.
pub(crate) async fn post_x_like(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<LikeRequest>,
) -> Response {
    if sim
        .x
        .account_for_integration(&request.integration)
        .is_none()
    {
        return unknown_integration("X account", &request.integration);
    }
    match sim
        .send_x_like(&request.integration, &request.from, &request.tweet_id)
        .await
    {
        Ok(posted) => Json(json!(posted)).into_response(),
        Err(e) => host_unreachable(&e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
    use axum::http::{HeaderMap, HeaderName, StatusCode};
    use axum::routing::post;
    use bytes::Bytes;
    use serde_json::{Value, json};
    use tokio::net::TcpListener;

    use super::super::customer::{http_client, http_post};
    use super::super::{Platform, PlatformSim, SimConfig, XAccount};
    use crate::{fixtures, signing};

    const TOKEN: &str = "fixture-access-token";
    const SECRET: &str = "fixture-consumer-secret";
    const ACCOUNT_ID: &str = "1500000000000000001";

    type Inbox = Arc<Mutex<Vec<Value>>>;

    async fn stand_in_host(
        State(inbox): State<Inbox>,
        Path(_integration): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, &'static str) {
        let expected = signing::x_signature(SECRET, &body);
        if headers
            .get("x-twitter-webhooks-signature")
            .is_none_or(|value| value != expected.as_str())
        {
            return (StatusCode::UNAUTHORIZED, "bad signature");
        }
        inbox
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap());
        (StatusCode::OK, "accepted")
    }

    async fn start() -> (PlatformSim, Inbox) {
        let inbox = Inbox::default();
        let host = Router::new()
            .route("/webhooks/{integration}", post(stand_in_host))
            .with_state(inbox.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, host).into_future());
        let sim = PlatformSim::start(SimConfig {
            x_accounts: vec![XAccount {
                access_token: TOKEN.into(),
                consumer_secret: SECRET.into(),
                account_id: ACCOUNT_ID.into(),
                integration_id: "x-demo".into(),
            }],
            host_base_url: Some(host_url),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        (sim, inbox)
    }

    fn json_type() -> [(HeaderName, String); 1] {
        [(CONTENT_TYPE, "application/json".to_owned())]
    }

    #[tokio::test]
    async fn customers_mention_and_like_through_signed_webhooks() {
        let (sim, inbox) = start().await;
        let mention = sim
            .send_x_mention("x-demo", "dana_fixture", "where is 88-431?")
            .await
            .unwrap();
        assert_eq!(
            (mention.host_status, mention.host_body.as_str()),
            (200, "accepted")
        );
        assert_eq!(
            mention.user_id,
            fixtures::x_user_id_for_handle("dana_fixture")
        );
        let reply = sim
            .send_x_mention_reply("x-demo", "dana_fixture", "still waiting", &mention.id)
            .await
            .unwrap();
        let like = sim
            .send_x_like("x-demo", "dana_fixture", "1800000000000000400")
            .await
            .unwrap();
        assert_eq!(like.id.len(), 32);
        assert!(like.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(sim.send_x_like("nope", "dana_fixture", "1").await.is_err());

        let client = http_client();
        let curl = json!({ "integration": "x-demo", "from": "lee_fixture", "text": "hello" });
        let (status, _, body) = http_post(
            &client,
            &format!("{}/sim/x/mention", sim.base_url()),
            &json_type(),
            curl.to_string().into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        let answered: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answered["host_status"], 200);
        let curl = json!({ "integration": "x-demo", "from": "lee_fixture", "tweet_id": "77" });
        let (status, _, _) = http_post(
            &client,
            &format!("{}/sim/x/like", sim.base_url()),
            &json_type(),
            curl.to_string().into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        let unknown = json!({ "integration": "nope", "from": "x", "tweet_id": "1" });
        let (status, _, _) = http_post(
            &client,
            &format!("{}/sim/x/like", sim.base_url()),
            &json_type(),
            unknown.to_string().into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);

        let received = inbox.lock().unwrap().clone();
        assert_eq!(received.len(), 5);
        let first = &received[0]["tweet_create_events"][0];
        assert_eq!(received[0]["for_user_id"], ACCOUNT_ID);
        assert_eq!(first["id_str"], mention.id.as_str());
        assert_eq!(first["text"], "@acme_support_fx where is 88-431?");
        assert_eq!(first["user"]["id_str"], mention.user_id.as_str());
        assert_eq!(first["entities"]["user_mentions"][0]["id_str"], ACCOUNT_ID);
        let second = &received[1]["tweet_create_events"][0];
        assert_eq!(second["id_str"], reply.id.as_str());
        assert_eq!(second["in_reply_to_status_id_str"], mention.id.as_str());
        let liked = &received[2]["favorite_events"][0];
        assert_eq!(liked["id"], like.id.as_str());
        assert_eq!(liked["favorited_status"]["id_str"], "1800000000000000400");
        assert_eq!(liked["favorited_status"]["user"]["id_str"], ACCOUNT_ID);
        assert_eq!(
            received[4]["favorite_events"][0]["favorited_status"]["id_str"],
            "77"
        );
    }

    async fn post_tweet(sim: &PlatformSim, token: &str, body: Value) -> (StatusCode, Value) {
        let headers = [
            (AUTHORIZATION, format!("Bearer {token}")),
            (CONTENT_TYPE, "application/json".to_owned()),
        ];
        let (status, _, body) = http_post(
            &http_client(),
            &format!("{}/2/tweets", sim.base_url()),
            &headers,
            body.to_string().into_bytes(),
        )
        .await
        .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn public_replies_are_checked_and_recorded_with_their_target() {
        let (sim, _) = start().await;
        let reply = json!({
            "text": "@dana_fixture We are on it.",
            "reply": { "in_reply_to_tweet_id": "1800000000000000301" }
        });
        let (status, created) = post_tweet(&sim, TOKEN, reply.clone()).await;
        assert_eq!(status, StatusCode::CREATED);
        let post_id = created["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["data"]["text"], "@dana_fixture We are on it.");
        assert_eq!(created["data"]["edit_history_tweet_ids"], json!([post_id]));

        let (status, _) = post_tweet(&sim, "stolen", reply.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let long = json!({ "text": "x".repeat(281), "reply": { "in_reply_to_tweet_id": "1" } });
        let (status, problem) = post_tweet(&sim, TOKEN, long).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            problem["type"],
            "https://api.x.com/2/problems/invalid-request"
        );

        sim.x_fail_next(1, super::super::Fault::Status(503));
        let (status, _) = post_tweet(&sim, TOKEN, reply).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

        let delivered = sim
            .wait_for_delivered(1, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(delivered.len(), 1);
        let post = &delivered[0];
        assert_eq!(post.platform, Platform::X);
        assert_eq!(post.integration_id, "x-demo");
        assert_eq!(post.recipient_id, "1800000000000000301");
        assert_eq!(post.platform_message_id, post_id);
        assert_eq!(post.text.as_deref(), Some("@dana_fixture We are on it."));
        assert_eq!(
            post.body["reply"]["in_reply_to_tweet_id"],
            "1800000000000000301"
        );
        let refused: Vec<_> = sim.refused().iter().map(|r| r.status).collect();
        assert_eq!(refused, [401, 400]);
        assert!(sim.refused()[1].reason.contains("280"));
        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [201, 503]
        );
    }
}
