//! [`Agent`]: what an agent does through the agent API (`/api/v1/...`), with the agent's token;
//! and readers of the transcripts it gets back.

use serde_json::{Value, json};

use super::api::{Api, Response};
use super::config::agent_token;
use super::wait::{WAIT, eventually};

/// One agent of the host's config, acting with its own token. Helpers named for an action
/// assert that the host accepted it; the `try_` ones and [`Agent::send`] return the answer.
pub struct Agent<'a> {
    api: &'a Api,
    id: String,
    token: String,
}

impl<'a> Agent<'a> {
    /// Agent `id` acting through `api` (any host's, when several share a store).
    pub fn new(api: &'a Api, id: &str) -> Agent<'a> {
        Agent {
            api,
            id: id.to_owned(),
            token: agent_token(id),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// `GET {path}` with this agent's token.
    pub async fn get(&self, path: &str) -> Response {
        self.api.get(path, Some(&self.token)).await
    }

    /// `POST {path}` of JSON with this agent's token: the status and the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.api.post_json(path, Some(&self.token), &body).await;
        (response.status.as_u16(), response.json())
    }

    /// `GET {path}`, expected to answer 200 with JSON.
    /// GETs `path` as the agent and expects 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        response.json()
    }

    // --- presence and queues -------------------------------------------------------------

    /// Sets the agent's presence (`available`, `away`...).
    pub async fn set_presence(&self, presence: &str) {
        let response = self
            .api
            .put_json(
                &format!("/api/v1/agents/{}/presence", self.id),
                Some(&self.token),
                &json!({ "presence": presence }),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.json(),
            json!({ "agent": self.id, "presence": presence })
        );
    }

    pub async fn set_available(&self) {
        self.set_presence("available").await;
    }

    /// `GET /api/v1/me`: who the agent is and what they are doing.
    pub async fn me(&self) -> Value {
        self.get_json("/api/v1/me").await
    }

    /// `GET /api/v1/queues/{queue}`: who waits and who is assigned.
    pub async fn queue(&self, queue: &str) -> Value {
        self.get_json(&format!("/api/v1/queues/{queue}")).await
    }

    /// Waits until `customer_id`'s conversation is waiting in `queue`; returns its queue entry.
    pub async fn wait_queued(&self, queue: &str, customer_id: &str) -> Value {
        eventually(
            &format!("{customer_id}'s conversation in queue {queue}"),
            WAIT,
            || async {
                let response = self.get(&format!("/api/v1/queues/{queue}")).await;
                if response.status != 200 {
                    return Err(format!("{}: {}", response.status, response.text()));
                }
                let listing = response.json();
                listing["waiting"]
                    .as_array()
                    .and_then(|w| w.iter().find(|c| c["customer_id"] == customer_id))
                    .cloned()
                    .ok_or_else(|| listing.to_string())
            },
        )
        .await
    }

    /// The interaction id of [`Agent::wait_queued`].
    pub async fn wait_queued_id(&self, queue: &str, customer_id: &str) -> String {
        self.wait_queued(queue, customer_id).await["id"]
            .as_str()
            .expect("a queue entry has an id")
            .to_owned()
    }

    // --- offers --------------------------------------------------------------------------

    /// The interactions offered to or held by the agent.
    pub async fn interactions(&self) -> Vec<Value> {
        self.get_json(&format!("/api/v1/agents/{}/interactions", self.id))
            .await["interactions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the agent is offered an interaction of `customer`; returns its id.
    pub async fn offered(&self, customer: &str) -> String {
        eventually(
            &format!("{customer} offered to {}", self.id),
            WAIT,
            || async {
                let all = self.interactions().await;
                all.iter()
                    .find(|i| i["state"] == "offered" && i["customer_id"] == customer)
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .ok_or_else(|| format!("{} has {all:?}", self.id))
            },
        )
        .await
    }

    /// How many interactions are offered to the agent now.
    pub async fn offered_count(&self) -> usize {
        self.interactions()
            .await
            .iter()
            .filter(|i| i["state"] == "offered")
            .count()
    }

    /// `POST /api/v1/interactions/{id}/accept`, whatever it answers.
    pub async fn try_accept(&self, id: &str) -> Response {
        self.api
            .post_json(
                &format!("/api/v1/interactions/{id}/accept"),
                Some(&self.token),
                &json!({}),
            )
            .await
    }

    /// Accepts interaction `id`: it is assigned to this agent.
    pub async fn accept(&self, id: &str) {
        let response = self.try_accept(id).await;
        assert_eq!(response.status, 200, "{}: {}", self.id, response.text());
        let accepted = response.json();
        assert_eq!(accepted["state"], "assigned", "{accepted}");
        assert_eq!(accepted["agent"], self.id.as_str(), "{accepted}");
    }

    /// Declines the offer of interaction `id`.
    pub async fn decline(&self, id: &str) {
        let (status, body) = self
            .post(&format!("/api/v1/interactions/{id}/decline"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    // --- the conversation ----------------------------------------------------------------

    /// `POST /api/v1/interactions/{id}/messages` with `body` (`{"text"}`, `{"canned"}`,
    /// `{"template"}`): the status and the JSON answer.
    pub async fn send(&self, id: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/api/v1/interactions/{id}/messages"), body)
            .await
    }

    /// Replies `text` in interaction `id`: stored as pending; returns the message id.
    pub async fn reply(&self, id: &str, text: &str) -> String {
        let (status, stored) = self.send(id, json!({ "text": text })).await;
        assert_eq!(status, 202, "{stored}");
        assert_eq!(stored["status"], "pending", "{stored}");
        stored["id"].as_str().expect("a message id").to_owned()
    }

    /// `POST /api/v1/interactions/{id}/typing`, expected to answer 200: `{"sent", "reason"}`.
    pub async fn typing(&self, id: &str) -> Value {
        let (status, body) = self
            .post(&format!("/api/v1/interactions/{id}/typing"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Wraps interaction `id` up with `code`: it ends.
    pub async fn wrap_up(&self, id: &str, code: &str) {
        self.post_wrap_up(id, json!({ "code": code })).await;
    }

    /// [`Agent::wrap_up`] with notes.
    pub async fn wrap_up_noting(&self, id: &str, code: &str, notes: &str) {
        self.post_wrap_up(id, json!({ "code": code, "notes": notes }))
            .await;
    }

    async fn post_wrap_up(&self, id: &str, body: Value) {
        let (status, answer) = self
            .post(&format!("/api/v1/interactions/{id}/wrapup"), body)
            .await;
        assert_eq!(status, 200, "{}: {answer}", self.id);
        assert_eq!(answer["state"], "ended", "{answer}");
    }

    /// Interaction `id` and its transcript, as the agent sees it.
    pub async fn interaction(&self, id: &str) -> Value {
        self.get_json(&format!("/api/v1/interactions/{id}")).await
    }

    /// Waits until interaction `id` satisfies `done`; returns it.
    pub async fn wait_interaction(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, WAIT, || async {
            let response = self.get(&format!("/api/v1/interactions/{id}")).await;
            if response.status != 200 {
                return Err(format!("{}: {}", response.status, response.text()));
            }
            let interaction = response.json();
            if done(&interaction) {
                Ok(interaction)
            } else {
                Err(interaction.to_string())
            }
        })
        .await
    }

    /// Waits until message `message_id` of interaction `id` has delivery `status`; returns it.
    pub async fn wait_message_status(&self, id: &str, message_id: &str, status: &str) -> Value {
        eventually(&format!("message {message_id} {status}"), WAIT, || async {
            let interaction = self.interaction(id).await;
            let message = interaction["messages"]
                .as_array()
                .and_then(|all| all.iter().find(|m| m["id"] == message_id))
                .cloned()
                .ok_or_else(|| interaction.to_string())?;
            if message["status"] == status {
                Ok(message)
            } else {
                Err(message.to_string())
            }
        })
        .await
    }
}

/// `(direction, author, text, status)` of every message of an interaction.
pub fn transcript(interaction: &Value) -> Vec<(String, String, String, String)> {
    interaction["messages"]
        .as_array()
        .expect("the interaction has messages")
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (s("direction"), s("author"), s("text"), s("status"))
        })
        .collect()
}

/// Whether every outbound message of an interaction was sent.
pub fn outbound_all_sent(interaction: &Value) -> bool {
    interaction["messages"].as_array().is_some_and(|ms| {
        ms.iter()
            .filter(|m| m["direction"] == "outbound")
            .all(|m| m["status"] == "sent")
    })
}
