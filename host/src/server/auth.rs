//! Who is calling: the admin (bearer admin token), an agent (bearer agent token) or a supervisor
//! (bearer supervisor token). Browsers' EventSource cannot send headers, so the event streams
//! also take `?ticket=`: short-lived and single-use, from `POST /api/v1/stream-tickets`
//! (stored by hash, so any host sharing the store honours it); `?token=` still works for one
//! release, with a warning in the log once per caller. Admin routes check once, as a layer ([`require_admin`]); agent routes
//! name the caller they need with an extractor ([`SignedIn`] for an agent, [`Staff`] for an
//! agent or the admin); supervisor routes ask [`Auth::watcher`] (a supervisor or the admin).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use crate::config::{AgentConfig, SupervisorConfig};
use crate::directory::{AgentDirectory, Member};
use crate::model::now_ms;
use crate::store::{Store, StreamTicket};

/// The credentials the host accepts.
pub struct Auth {
    pub admin_token: Option<String>,
    /// Agents and supervisors, with their tokens' hashes.
    pub agents: Arc<AgentDirectory>,
    /// Where stream tickets are kept (shared by every host on the store).
    pub store: Arc<dyn Store>,
    /// Who was warned that `?token=` is deprecated (once each).
    pub warned: Mutex<HashSet<String>>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

impl Auth {
    /// Whether the request carries the admin token.
    pub fn admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        use subtle::ConstantTimeEq;
        let Some(expected) = self.admin_token.as_deref() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is off: set [server] admin_token",
            ));
        };
        match bearer(headers) {
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the admin token as `Authorization: Bearer TOKEN`",
            )),
        }
    }

    /// The agent the request's bearer token belongs to.
    pub fn agent(&self, headers: &HeaderMap) -> Result<AgentConfig, ApiError> {
        let token = bearer(headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the agent's token as `Authorization: Bearer TOKEN`",
            )
        })?;
        self.agent_by_token(token)
    }

    pub fn agent_by_token(&self, token: &str) -> Result<AgentConfig, ApiError> {
        match self.agents.by_token(token) {
            Some(Member::Agent(agent)) => Ok(agent),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token belongs to no agent",
            )),
        }
    }

    /// Who the bearer header names: the admin, an agent or a supervisor.
    fn bearer_caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = bearer(headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send your token as `Authorization: Bearer TOKEN`",
            )
        })?;
        self.caller_by_token(token)
    }

    fn caller_by_token(&self, token: &str) -> Result<Caller, ApiError> {
        use subtle::ConstantTimeEq;
        if let Some(admin) = self.admin_token.as_deref()
            && bool::from(token.as_bytes().ct_eq(admin.as_bytes()))
        {
            return Ok(Caller::Admin);
        }
        match self.agents.by_token(token) {
            Some(Member::Agent(a)) => Ok(Caller::Agent(a)),
            Some(Member::Supervisor(s)) => Ok(Caller::Supervisor(s)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token belongs to no one",
            )),
        }
    }

    /// `POST /api/v1/stream-tickets`: a ticket for whoever the bearer header names, good for
    /// one event stream within [`TICKET_TTL_MS`], on any host sharing the store.
    pub async fn issue_ticket(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        use rand_core::RngCore;
        let caller = self.bearer_caller(headers)?;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut bytes);
        let ticket = hex::encode(bytes);
        let now = now_ms();
        let (role, member) = caller.key();
        self.store
            .issue_ticket(
                &StreamTicket {
                    sha256: ticket_key(&ticket),
                    role: role.to_string(),
                    member,
                    expires_at: now + TICKET_TTL_MS,
                },
                now,
            )
            .await?;
        Ok(ticket)
    }

    /// Who opens an event stream: `?ticket=` (from [`Auth::issue_ticket`]), `?token=`
    /// (deprecated: a long-lived token in a URL ends up in logs and browser history), or the
    /// bearer header.
    pub async fn stream_caller(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Result<Caller, ApiError> {
        if let Some(ticket) = query.get("ticket") {
            let refused = || {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the ticket is unknown, used or expired: fetch a new one with POST /api/v1/stream-tickets",
                )
            };
            let taken = self
                .store
                .redeem_ticket(&ticket_key(ticket), now_ms())
                .await?
                .ok_or_else(refused)?;
            // Whoever it was issued to, as they are now (removed: refused).
            return match taken.role.as_str() {
                "admin" => Some(Caller::Admin),
                "agent" => self.agents.get(&taken.member).map(Caller::Agent),
                _ => self
                    .agents
                    .supervisor(&taken.member)
                    .map(Caller::Supervisor),
            }
            .ok_or_else(refused);
        }
        if let Some(token) = query.get("token") {
            let caller = self.caller_by_token(token)?;
            let (role, member) = caller.key();
            let first = self
                .warned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(format!("{role}:{member}"));
            if first {
                tracing::warn!(
                    role,
                    member = %member,
                    "`?token=` on an event stream is deprecated and will be removed in the next release: fetch a ticket with POST /api/v1/stream-tickets and pass `?ticket=`"
                );
            }
            return Ok(caller);
        }
        self.bearer_caller(headers)
    }

    /// Who watches queues: `Some` supervisor, or `None` for the admin (who watches every queue).
    pub async fn watcher(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Result<Option<SupervisorConfig>, ApiError> {
        match self.stream_caller(headers, query).await? {
            Caller::Admin => Ok(None),
            Caller::Supervisor(s) => Ok(Some(s)),
            Caller::Agent(_) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token belongs to no supervisor",
            )),
        }
    }

    /// The agent a per-agent route (`/api/v1/agents/{agent}/...`) is for: the caller must be
    /// that agent, by bearer header or, for the streams, as [`Auth::stream_caller`] says.
    pub async fn agent_for(
        &self,
        headers: &HeaderMap,
        query: Option<&HashMap<String, String>>,
        id: &str,
    ) -> Result<AgentConfig, ApiError> {
        let agent = match query {
            Some(query) => match self.stream_caller(headers, query).await? {
                Caller::Agent(agent) => agent,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "the token belongs to no agent",
                    ));
                }
            },
            None => self.agent(headers)?,
        };
        if agent.id != id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this token belongs to agent `{}`, not `{id}`", agent.id),
            ));
        }
        Ok(agent)
    }
}

/// Who a request comes from.
pub enum Caller {
    Admin,
    Agent(AgentConfig),
    Supervisor(SupervisorConfig),
}

impl Caller {
    /// (role, id) as a ticket keeps them.
    fn key(&self) -> (&'static str, String) {
        match self {
            Caller::Admin => ("admin", String::new()),
            Caller::Agent(a) => ("agent", a.id.clone()),
            Caller::Supervisor(s) => ("supervisor", s.id.clone()),
        }
    }
}

/// How long a stream ticket may wait to be used.
pub const TICKET_TTL_MS: i64 = 60_000;

/// A ticket is stored by its SHA-256 only.
fn ticket_key(ticket: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

/// The layer in front of every admin route.
pub async fn require_admin(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    auth.admin(request.headers())?;
    Ok(next.run(request).await)
}

/// A signed-in agent.
pub struct SignedIn(pub AgentConfig);

impl<S> FromRequestParts<S> for SignedIn
where
    Arc<Auth>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(SignedIn(
            Arc::<Auth>::from_ref(state).agent(&parts.headers)?,
        ))
    }
}

/// The admin or a signed-in agent (`None` for the admin, who sees everything).
pub struct Staff(pub Option<AgentConfig>);

impl<S> FromRequestParts<S> for Staff
where
    Arc<Auth>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Auth>::from_ref(state);
        if auth.admin(&parts.headers).is_ok() {
            return Ok(Staff(None));
        }
        Ok(Staff(Some(auth.agent(&parts.headers)?)))
    }
}
