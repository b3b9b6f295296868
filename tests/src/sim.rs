//! [`PlatformSim`]: the platforms Switchboard talks to, as one real HTTP server on loopback.
//!
//! It plays both ends of a conversation:
//! - the **platforms' APIs** the host sends replies to: X's v2 send-DM endpoint (bearer tokens,
//!   schema checks, rate-limit headers, scripted faults) and open-messaging partners' webhooks
//!   (signature checks), recording what arrives ([`Delivered`], [`Attempt`], [`Refused`]);
//! - the **customers**, posting signed webhooks to the host's `/webhooks/{integration}`
//!   ([`PlatformSim::send_x_dm`], [`PlatformSim::send_open_message`]).
//!
//! The two Meta send APIs (WhatsApp's Cloud API and the Messenger Platform's Send API) are one
//! Graph API to a host: they share its token, version and body checks, its error envelope, one
//! fault type ([`GraphFault`], also named [`WhatsAppFault`] and [`MetaFault`]) and the signed
//! webhooks and verification GET of the customer side.
//!
//! Routes:
//!
//! | route | what |
//! |---|---|
//! | `POST /2/dm_conversations/with/{participant_id}/messages` | X send API (an X integration's `api_base` is the simulator's base URL) |
//! | `POST /open-messaging/{path}` | a partner's webhook (an open-messaging integration's `webhook_url`) |
//! | `POST /2/tweets` | X create-post API: public replies (`reply.in_reply_to_tweet_id`), at most 280 characters |
//! | `POST /sim/x/mention` | `{"integration","from","text"[,"in_reply_to"]}`: a customer mentions the account in a post |
//! | `POST /sim/x/like` | `{"integration","from","tweet_id"}`: a customer likes one of the account's posts |
//! | `POST /{version}/{phone_number_id}/messages` | WhatsApp Cloud API send (and mark-read) endpoint, with the 24 h window (a WhatsApp integration's `api_base`) |
//! | `POST /sim/whatsapp/message` | `{"integration","from"[,"name"],"text"}` or `{…,"reply_id","reply_title"}`: a customer writes on WhatsApp |
//! | `POST /{version}/me/messages` | Meta Send API for Messenger and Instagram (`?access_token=` Page token), with the 24 h / `HUMAN_AGENT` 7-day window (a facebook integration's `api_base`) |
//! | `POST /sim/messenger/message`, `/sim/instagram/message` | `{"integration","from","text"[,"quick_reply"][,"postback"]}`: a customer writes to a Page / Instagram account |
//! | `POST /sim/x/dm` | `{"integration","from","text"[,"name"]}`: a customer DMs the host |
//! | `POST /sim/open-messaging/message` | `{"integration","from"[,"nickname"],"text"}`: a customer writes via a partner |
//! | `POST /sim/x/faults` | `{"count","fault"}` or `{"clear":true}`: script faults on the X send API (`status:503`, `rate-limited:SECS`, `retry-after:V`, `slow:MS`, `hang:MS`, `reset`) |
//! | `GET /sim/delivered`, `/sim/attempts`, `/sim/refused` | the records as JSON |

mod customer;
mod graph;
mod meta;
mod open_messaging;
mod records;
mod whatsapp;
mod x_api;
mod x_faults;
mod x_public;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use self::graph::GraphFault;
pub use self::meta::{MetaCustomerEvent, MetaFault, MetaPage, MetaPlatform, meta_webhook_body};
pub use self::records::{Attempt, Delivered, Platform, Refused, SenderAction};
pub use self::whatsapp::{WhatsAppFault, WhatsAppNumber, WhatsAppReadMark};
pub use self::x_api::Fault;
pub use self::x_public::XPublicPosted;
use crate::fixtures::{OpenMessage, UniqueIds, XDm};

/// What to simulate and where the host is.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `127.0.0.1:0` (the default) lets the OS pick a free port; read it back with
    /// [`PlatformSim::base_url`].
    pub listen: SocketAddr,
    pub x_accounts: Vec<XAccount>,
    pub open_messaging: Vec<OpenMessagingPartner>,
    /// WhatsApp Cloud API business numbers (see [`WhatsAppNumber`]).
    pub whatsapp: Vec<WhatsAppNumber>,
    /// Facebook Pages and Instagram accounts (see [`MetaPage`]).
    pub meta_pages: Vec<MetaPage>,
    /// Where customer webhooks go, e.g. `http://127.0.0.1:8080`; can be set later with
    /// [`PlatformSim::set_host_base_url`].
    pub host_base_url: Option<String>,
    /// Print a console line per delivery, fault, refusal and customer message (for the demo).
    pub verbose: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            x_accounts: Vec::new(),
            open_messaging: Vec::new(),
            whatsapp: Vec::new(),
            meta_pages: Vec::new(),
            host_base_url: None,
            verbose: false,
        }
    }
}

/// One X account the host sends as: its send calls carry `access_token`, and its webhooks are
/// signed with `consumer_secret`, as the host's X integration `integration_id` is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XAccount {
    pub access_token: String,
    pub consumer_secret: String,
    /// The account's X user id: `for_user_id` on its webhooks, one half of its conversation ids.
    pub account_id: String,
    pub integration_id: String,
}

/// One open-messaging partner: it receives the host's outbound messages at `/open-messaging/{path}`
/// and both sides sign with `secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMessagingPartner {
    pub secret: String,
    pub integration_id: String,
    /// One URL path segment.
    pub path: String,
}

/// A running simulator. It stops when dropped, or with [`PlatformSim::shutdown`] to wait for it.
pub struct PlatformSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// State every route sees.
pub(crate) struct Shared {
    x: x_api::XApi,
    partners: Vec<OpenMessagingPartner>,
    /// Answers scripted for the next open-messaging notifications: status and headers.
    om_faults: std::sync::Mutex<std::collections::VecDeque<open_messaging::OmFault>>,
    whatsapp: whatsapp::WhatsAppApi,
    meta: meta::MetaApi,
    records: records::Records,
    host: customer::Host,
    /// Ids the simulator makes up: X's `dm_event_id`s and the customer side's event and message ids.
    ids: UniqueIds,
    verbose: bool,
}

impl PlatformSim {
    /// Checks the config, binds the listener and serves in the background.
    pub async fn start(config: SimConfig) -> anyhow::Result<PlatformSim> {
        check_config(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the platform simulator to {}", config.listen))?;
        let addr = listener
            .local_addr()
            .context("reading the simulator's address")?;
        let shared = Arc::new(Shared {
            x: x_api::XApi::new(config.x_accounts),
            partners: config.open_messaging,
            om_faults: Default::default(),
            whatsapp: whatsapp::WhatsAppApi::new(config.whatsapp),
            meta: meta::MetaApi::new(config.meta_pages),
            records: records::Records::new(config.verbose),
            host: customer::Host::new(config.host_base_url),
            ids: UniqueIds::new(),
            verbose: config.verbose,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, router(shared.clone()))
                .with_graceful_shutdown(async {
                    // Either an explicit stop or the simulator being dropped ends the server.
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Ok(PlatformSim {
            addr,
            shared,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the X `api_base` and the prefix of open-messaging `webhook_url`s.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the customer side at the host, for a host started after the simulator.
    pub fn set_host_base_url(&self, base_url: impl Into<String>) {
        self.shared.host.set_base_url(base_url.into());
    }

    /// The next `n` X send calls (from any account, after the usual checks pass) are answered with
    /// `fault`: recorded as attempts, not delivered (but for [`Fault::Slow`], delivered late).
    /// Calls queue behind faults scripted earlier.
    ///
    /// # Panics
    /// If the fault's status is not 4xx or 5xx.
    pub fn x_fail_next(&self, n: usize, fault: Fault) {
        self.shared.x.queue_faults(n, fault);
    }

    /// Drops the X faults scripted and not used yet (the chaos campaign heals the platform).
    pub fn x_clear_faults(&self) {
        self.shared.x.clear_faults();
    }

    /// X send calls (DMs and posts) received and not answered yet: sends the host has in
    /// flight, as the platform sees them.
    pub fn x_open_calls(&self) -> usize {
        self.shared.x.open_calls()
    }

    /// The next `n` open-messaging notifications (after the partner's checks pass) are answered
    /// with `status` and `headers`: recorded as attempts, not delivered.
    pub fn om_fail_next(&self, n: usize, status: u16, headers: &[(&str, &str)]) {
        let fault = open_messaging::OmFault {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        self.shared
            .om_faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(std::iter::repeat_n(fault, n));
    }

    /// Messages the platforms accepted, in arrival order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.shared.records.delivered()
    }

    /// Meta sender actions (`typing_on`, ...) that passed the checks, in arrival order.
    pub fn sender_actions(&self) -> Vec<SenderAction> {
        self.shared.records.sender_actions()
    }

    /// Send calls that passed the checks, delivered or faulted, in arrival order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.records.attempts()
    }

    /// Calls refused for bad credentials, signatures or bodies, in arrival order.
    pub fn refused(&self) -> Vec<Refused> {
        self.shared.records.refused()
    }

    /// Waits until at least `n` messages were delivered and returns all of them; on timeout the
    /// error lists what arrived, what was faulted and what was refused.
    pub async fn wait_for_delivered(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Delivered>> {
        self.shared.records.wait_for_delivered(n, timeout).await
    }

    /// A customer DM: posts `dm` to `{host}/webhooks/{integration_id}`, signed with the account's
    /// consumer secret in `x-twitter-webhooks-signature`. Returns the host's status and body.
    pub async fn send_x_dm(&self, integration_id: &str, dm: &XDm) -> anyhow::Result<(u16, String)> {
        self.shared.send_x_dm(integration_id, dm).await
    }

    /// A customer's post mentioning the account: a signed `tweet_create_events` body from the
    /// handle `from_handle` (its user id derived from the handle), with a fresh post id, posted to
    /// `{host}/webhooks/{integration_id}`. Returns the host's answer and the post id.
    pub async fn send_x_mention(
        &self,
        integration_id: &str,
        from_handle: &str,
        text: &str,
    ) -> anyhow::Result<XPublicPosted> {
        self.shared
            .send_x_mention(integration_id, from_handle, text, None)
            .await
    }

    /// As [`PlatformSim::send_x_mention`], replying to the post `in_reply_to`.
    pub async fn send_x_mention_reply(
        &self,
        integration_id: &str,
        from_handle: &str,
        text: &str,
        in_reply_to: &str,
    ) -> anyhow::Result<XPublicPosted> {
        self.shared
            .send_x_mention(integration_id, from_handle, text, Some(in_reply_to))
            .await
    }

    /// A customer liking the account's post `tweet_id`: a signed `favorite_events` body with a
    /// fresh like id. Returns the host's answer and the like id.
    pub async fn send_x_like(
        &self,
        integration_id: &str,
        from_handle: &str,
        tweet_id: &str,
    ) -> anyhow::Result<XPublicPosted> {
        self.shared
            .send_x_like(integration_id, from_handle, tweet_id)
            .await
    }

    /// Posts an exact mention body (see [`crate::fixtures::x_mention`]), signed.
    pub async fn send_x_mention_body(
        &self,
        integration_id: &str,
        mention: &crate::fixtures::XMention,
    ) -> anyhow::Result<(u16, String)> {
        self.shared
            .send_x_mention_body(integration_id, mention)
            .await
    }

    /// Posts an exact like body (see [`crate::fixtures::x_like`]), signed.
    pub async fn send_x_like_body(
        &self,
        integration_id: &str,
        like: &crate::fixtures::XLike,
    ) -> anyhow::Result<(u16, String)> {
        self.shared.send_x_like_body(integration_id, like).await
    }

    /// A customer message via a partner: posts `message` to `{host}/webhooks/{integration_id}`,
    /// signed with the partner's secret in `x-hub-signature-256` (base64). Returns the host's status
    /// and body.
    pub async fn send_open_message(
        &self,
        integration_id: &str,
        message: &OpenMessage,
    ) -> anyhow::Result<(u16, String)> {
        self.shared.send_open_message(integration_id, message).await
    }

    /// Stops accepting, lets requests in flight finish and waits for the server to end.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .context("the simulator's server task failed")?
                .context("the simulator's server failed")?;
        }
        Ok(())
    }
}

impl Drop for PlatformSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(x_api::SEND_DM_ROUTE, post(x_api::send_dm))
        .route(x_api::CREATE_POST_ROUTE, post(x_api::create_post))
        .route("/sim/x/mention", post(x_public::post_x_mention))
        .route("/sim/x/like", post(x_public::post_x_like))
        .route(open_messaging::NOTIFY_ROUTE, post(open_messaging::notify))
        .route("/sim/x/dm", post(customer::post_x_dm))
        .route(x_faults::ROUTE, post(x_faults::post_faults))
        .route(whatsapp::SEND_ROUTE, post(whatsapp::send))
        .route(whatsapp::CUSTOMER_ROUTE, post(whatsapp::post_message))
        .route(meta::SEND_ROUTE, post(meta::send))
        .route("/sim/messenger/message", post(meta::post_messenger_message))
        .route("/sim/instagram/message", post(meta::post_instagram_message))
        .route(
            "/sim/open-messaging/message",
            post(customer::post_open_message),
        )
        .route("/sim/delivered", get(customer::list_delivered))
        .route("/sim/attempts", get(customer::list_attempts))
        .route("/sim/refused", get(customer::list_refused))
        .with_state(shared)
}

/// Refuses configs whose calls could not be told apart: a shared token or path would make records
/// name the wrong integration.
fn check_config(config: &SimConfig) -> anyhow::Result<()> {
    let mut tokens = HashSet::new();
    let mut x_integrations = HashSet::new();
    for account in &config.x_accounts {
        ensure!(
            tokens.insert(&account.access_token),
            "two X accounts share an access token"
        );
        ensure!(
            x_integrations.insert(&account.integration_id),
            "two X accounts are configured for integration {:?}",
            account.integration_id
        );
    }
    let mut paths = HashSet::new();
    let mut partner_integrations = HashSet::new();
    for partner in &config.open_messaging {
        ensure!(
            !partner.path.is_empty() && !partner.path.contains('/'),
            "open-messaging path {:?} must be one non-empty URL path segment",
            partner.path
        );
        ensure!(
            paths.insert(&partner.path),
            "two open-messaging partners share path {:?}",
            partner.path
        );
        ensure!(
            partner_integrations.insert(&partner.integration_id),
            "two open-messaging partners are configured for integration {:?}",
            partner.integration_id
        );
    }
    whatsapp::check_numbers(&config.whatsapp)?;
    meta::check_pages(&config.meta_pages)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::extract::{Path, State};
    use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
    use axum::http::{HeaderMap, HeaderName, StatusCode};
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    use super::customer::{http_client, http_post};
    use super::*;
    use crate::signing;

    const TOKEN: &str = "fixture-access-token";
    const CONSUMER_SECRET: &str = "fixture-consumer-secret";
    const ACCOUNT_ID: &str = "1500000000000000001";
    const PARTNER_SECRET: &str = "fixture-genesys-secret";

    fn config() -> SimConfig {
        SimConfig {
            x_accounts: vec![XAccount {
                access_token: TOKEN.into(),
                consumer_secret: CONSUMER_SECRET.into(),
                account_id: ACCOUNT_ID.into(),
                integration_id: "x-demo".into(),
            }],
            open_messaging: vec![OpenMessagingPartner {
                secret: PARTNER_SECRET.into(),
                integration_id: "om-demo".into(),
                path: "om-demo".into(),
            }],
            ..SimConfig::default()
        }
    }

    fn header(name: HeaderName, value: &str) -> (HeaderName, String) {
        (name, value.to_owned())
    }

    fn json_body(bytes: &Bytes) -> Value {
        serde_json::from_slice(bytes).expect("a JSON answer")
    }

    async fn get_json(url: &str) -> Value {
        let response = http_client().get(url.parse().unwrap()).await.unwrap();
        json_body(&response.into_body().collect().await.unwrap().to_bytes())
    }

    /// What the host does to reply on X: `POST {api_base}/2/dm_conversations/with/{id}/messages`.
    async fn x_send(sim: &PlatformSim, token: &str, body: Value) -> (StatusCode, HeaderMap, Bytes) {
        let url = format!(
            "{}/2/dm_conversations/with/1500000000000000777/messages",
            sim.base_url()
        );
        let headers = [
            header(AUTHORIZATION, &format!("Bearer {token}")),
            header(CONTENT_TYPE, "application/json"),
        ];
        http_post(
            &http_client(),
            &url,
            &headers,
            body.to_string().into_bytes(),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn records_x_sends_and_open_messaging_notifications() {
        let sim = PlatformSim::start(config()).await.unwrap();
        let client = http_client();

        let (status, headers, body) = x_send(&sim, TOKEN, json!({ "text": "Hi Dana!" })).await;
        assert_eq!(status, StatusCode::CREATED);
        let data = &json_body(&body)["data"];
        assert_eq!(
            data["dm_conversation_id"],
            "1500000000000000001-1500000000000000777"
        );
        let dm_event_id = data["dm_event_id"].as_str().unwrap().to_owned();
        assert!(dm_event_id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(headers["x-rate-limit-limit"], "15000");
        assert_eq!(headers["x-rate-limit-remaining"], "14999");
        assert!(headers.contains_key("x-rate-limit-reset"));

        let (status, _, body) = x_send(&sim, "stolen-token", json!({ "text": "Hi" })).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#
        );

        let (status, _, body) =
            x_send(&sim, TOKEN, json!({ "text": "Hi", "tone": "friendly" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            json_body(&body)["type"],
            "https://api.x.com/2/problems/invalid-request"
        );

        let notification = json!({
            "id": "8c1f0000fixture000000000000000001",
            "channel": { "id": "om-demo", "platform": "Open", "type": "Private", "to": { "id": "cust-42", "idType": "Opaque" } },
            "type": "Text",
            "text": "Hi Dana, I'm Sam.",
            "direction": "Outbound"
        })
        .to_string()
        .into_bytes();
        let url = format!("{}/open-messaging/om-demo", sim.base_url());
        let signature = signing::hub_signature_base64(PARTNER_SECRET, &notification);
        let signed = [
            header(CONTENT_TYPE, "application/json"),
            (HeaderName::from_static("x-hub-signature-256"), signature),
        ];
        let (status, _, body) = http_post(&client, &url, &signed, notification.clone())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            json_body(&body),
            json!({ "id": "8c1f0000fixture000000000000000001" })
        );
        let unsigned = [header(CONTENT_TYPE, "application/json")];
        let (status, _, _) = http_post(&client, &url, &unsigned, notification)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let delivered = sim
            .wait_for_delivered(2, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(delivered.len(), 2);
        let (x, om) = (&delivered[0], &delivered[1]);
        assert_eq!(
            (
                x.platform,
                x.integration_id.as_str(),
                x.recipient_id.as_str(),
                x.text.as_deref()
            ),
            (
                Platform::X,
                "x-demo",
                "1500000000000000777",
                Some("Hi Dana!")
            )
        );
        assert_eq!(x.platform_message_id, dm_event_id);
        assert_eq!(x.headers[AUTHORIZATION], format!("Bearer {TOKEN}"));
        assert_eq!(
            (
                om.platform,
                om.integration_id.as_str(),
                om.recipient_id.as_str(),
                om.text.as_deref()
            ),
            (
                Platform::OpenMessaging,
                "om-demo",
                "cust-42",
                Some("Hi Dana, I'm Sam.")
            )
        );
        assert_eq!(om.body["direction"], "Outbound");

        let refused = sim.refused();
        let refusals: Vec<_> = refused
            .iter()
            .map(|r| (r.platform, r.integration_id.as_deref(), r.status))
            .collect();
        assert_eq!(
            refusals,
            [
                (Platform::X, None, 401),
                (Platform::X, Some("x-demo"), 400),
                (Platform::OpenMessaging, Some("om-demo"), 401)
            ]
        );
        assert!(refused[1].reason.contains("tone"), "{}", refused[1].reason);
        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [201, 200]
        );

        let listed = get_json(&format!("{}/sim/delivered", sim.base_url())).await;
        assert_eq!(listed[0]["platform"], "x");
        assert_eq!(listed[1]["platform"], "open-messaging");
        assert_eq!(listed[1]["headers"]["content-type"], "application/json");
        // Credentials never leave the simulator in a listing.
        assert_eq!(listed[0]["headers"]["authorization"], "Bearer [redacted]");
        assert!(!listed.to_string().contains(TOKEN), "{listed}");
        sim.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn slow_hanging_and_broken_answers_are_scripted_through_the_control_route() {
        let sim = PlatformSim::start(config()).await.unwrap();
        let client = http_client();
        let json_type = [header(CONTENT_TYPE, "application/json")];
        let url = format!("{}/sim/x/faults", sim.base_url());
        for fault in ["slow:50", "hang:100", "reset"] {
            let body = json!({ "count": 1, "fault": fault })
                .to_string()
                .into_bytes();
            let (status, _, _) = http_post(&client, &url, &json_type, body).await.unwrap();
            assert_eq!(status, StatusCode::OK, "{fault}");
        }
        let bad = json!({ "count": 1, "fault": "status:200" })
            .to_string()
            .into_bytes();
        let (status, _, _) = http_post(&client, &url, &json_type, bad).await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Slow: delivered, late.
        let (status, _, _) = x_send(&sim, TOKEN, json!({ "text": "slow" })).await;
        assert_eq!(status, StatusCode::CREATED);
        // Hang: 504 after the hold, not delivered.
        let (status, _, _) = x_send(&sim, TOKEN, json!({ "text": "hang" })).await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        // Reset: the answer breaks off; not delivered.
        let send_url = format!(
            "{}/2/dm_conversations/with/1500000000000000777/messages",
            sim.base_url()
        );
        let headers = [
            header(AUTHORIZATION, &format!("Bearer {TOKEN}")),
            header(CONTENT_TYPE, "application/json"),
        ];
        let body = json!({ "text": "reset" }).to_string().into_bytes();
        assert!(http_post(&client, &send_url, &headers, body).await.is_err());
        assert_eq!(sim.x_open_calls(), 0);
        let delivered: Vec<_> = sim.delivered().into_iter().filter_map(|d| d.text).collect();
        assert_eq!(delivered, ["slow"]);

        // Cleared faults are not used.
        sim.x_fail_next(2, Fault::Status(500));
        let clear = json!({ "clear": true }).to_string().into_bytes();
        http_post(&client, &url, &json_type, clear).await.unwrap();
        let (status, _, _) = x_send(&sim, TOKEN, json!({ "text": "healed" })).await;
        assert_eq!(status, StatusCode::CREATED);
    }

    #[tokio::test]
    async fn scripted_faults_are_attempts_not_deliveries() {
        let sim = PlatformSim::start(config()).await.unwrap();
        sim.x_fail_next(
            1,
            Fault::RateLimited {
                reset_epoch_secs: 1_790_000_900,
            },
        );
        sim.x_fail_next(1, Fault::Status(503));
        sim.x_fail_next(1, Fault::Status(403));

        let (status, headers, body) = x_send(&sim, TOKEN, json!({ "text": "one" })).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers["x-rate-limit-reset"], "1790000900");
        assert_eq!(headers["x-rate-limit-remaining"], "0");
        assert_eq!(
            json_body(&body),
            json!({ "errors": [{ "code": 88, "message": "Rate limit exceeded" }] })
        );
        let (status, headers, body) = x_send(&sim, TOKEN, json!({ "text": "one" })).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
        assert_eq!(json_body(&body)["status"], 503);
        let (status, _, body) = x_send(&sim, TOKEN, json!({ "text": "one" })).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(json_body(&body)["errors"][0]["code"], 349);
        let (status, _, _) = x_send(&sim, TOKEN, json!({ "text": "one" })).await;
        assert_eq!(status, StatusCode::CREATED);

        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [429, 503, 403, 201]
        );
        assert!(sim.refused().is_empty());
        assert_eq!(
            sim.wait_for_delivered(1, Duration::from_secs(5))
                .await
                .unwrap()
                .len(),
            1
        );
        let shortfall = sim
            .wait_for_delivered(2, Duration::from_millis(50))
            .await
            .unwrap_err()
            .to_string();
        assert!(shortfall.contains("got 1"), "{shortfall}");
        assert!(shortfall.contains("answered 503"), "{shortfall}");
    }

    type HostInbox = Arc<Mutex<Vec<(String, Value)>>>;

    /// A stand-in host webhook: checks the signature and keeps the body.
    async fn stand_in_host(
        State(inbox): State<HostInbox>,
        Path(integration): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, &'static str) {
        let signed = |name: &str, expected: String| {
            headers
                .get(name)
                .is_some_and(|value| value == expected.as_str())
        };
        let valid = signed(
            "x-twitter-webhooks-signature",
            signing::x_signature(CONSUMER_SECRET, &body),
        ) || signed(
            "x-hub-signature-256",
            signing::hub_signature_base64(PARTNER_SECRET, &body),
        );
        if !valid {
            return (StatusCode::UNAUTHORIZED, "bad signature");
        }
        inbox
            .lock()
            .unwrap()
            .push((integration, serde_json::from_slice(&body).unwrap()));
        (StatusCode::OK, "accepted")
    }

    #[tokio::test]
    async fn customers_post_signed_webhooks_to_the_host() {
        let inbox = HostInbox::default();
        let host = Router::new()
            .route("/webhooks/{integration}", post(stand_in_host))
            .with_state(inbox.clone());
        let host_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host_url = format!("http://{}", host_listener.local_addr().unwrap());
        tokio::spawn(axum::serve(host_listener, host).into_future());

        let sim = PlatformSim::start(config()).await.unwrap();
        assert!(
            sim.send_x_dm("x-demo", &XDm::default()).await.is_err(),
            "no host configured yet"
        );
        sim.set_host_base_url(format!("{host_url}/"));
        assert_eq!(
            sim.send_x_dm("x-demo", &XDm::default()).await.unwrap(),
            (200, "accepted".into())
        );
        assert_eq!(
            sim.send_open_message("om-demo", &OpenMessage::default())
                .await
                .unwrap()
                .0,
            200
        );
        assert!(
            sim.send_x_dm("om-demo", &XDm::default()).await.is_err(),
            "om-demo is no X integration"
        );

        let client = http_client();
        let json_type = [header(CONTENT_TYPE, "application/json")];
        let dm = json!({ "integration": "x-demo", "from": "dana_fixture", "text": "hi" });
        let (status, _, body) = http_post(
            &client,
            &format!("{}/sim/x/dm", sim.base_url()),
            &json_type,
            dm.to_string().into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        let answer = json_body(&body);
        assert_eq!(
            (answer["host_status"].clone(), answer["host_body"].clone()),
            (json!(200), json!("accepted"))
        );
        let message = json!({ "integration": "om-demo", "from": "cust-7", "nickname": "Ola", "text": "hello" });
        let url = format!("{}/sim/open-messaging/message", sim.base_url());
        let (_, _, body) = http_post(&client, &url, &json_type, message.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(json_body(&body)["host_status"], 200);
        let unknown = json!({ "integration": "nope", "from": "x", "text": "hi" });
        let (status, _, _) = http_post(&client, &url, &json_type, unknown.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);

        let received = inbox.lock().unwrap().clone();
        assert_eq!(
            received
                .iter()
                .map(|(integration, _)| integration.as_str())
                .collect::<Vec<_>>(),
            ["x-demo", "om-demo", "x-demo", "om-demo"]
        );
        let curl_dm = &received[2].1;
        assert_eq!(curl_dm["for_user_id"], ACCOUNT_ID);
        let event = &curl_dm["direct_message_events"][0];
        assert_eq!(
            event["message_create"]["sender_id"],
            crate::fixtures::x_user_id_for_handle("dana_fixture")
        );
        assert_eq!(event["id"], answer["event_id"]);
        assert_eq!(received[3].1["channel"]["from"]["nickname"], "Ola");
    }

    #[test]
    fn configs_with_ambiguous_accounts_or_paths_are_refused() {
        let mut twice = config();
        twice.x_accounts.push(XAccount {
            integration_id: "x-other".into(),
            ..twice.x_accounts[0].clone()
        });
        assert!(check_config(&twice).is_err());
        let mut nested = config();
        nested.open_messaging[0].path = "a/b".into();
        assert!(check_config(&nested).is_err());
        assert!(check_config(&config()).is_ok());
    }
}
