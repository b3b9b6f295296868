//! Who is calling: the admin (bearer admin token), an agent (bearer agent token) or a supervisor
//! (bearer supervisor token); `?token=` for the event streams, which browsers' EventSource
//! cannot give headers. Admin routes check once, as a layer ([`require_admin`]); agent routes
//! name the caller they need with an extractor ([`SignedIn`] for an agent, [`Staff`] for an
//! agent or the admin); supervisor routes ask [`Auth::watcher`] (a supervisor or the admin).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use crate::config::{AgentConfig, SupervisorConfig};
use crate::directory::AgentDirectory;

/// The credentials the host accepts.
pub struct Auth {
    pub admin_token: Option<String>,
    pub agents: Arc<AgentDirectory>,
    pub supervisors: Vec<SupervisorConfig>,
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
        self.agents.by_token(token).cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token belongs to no agent",
            )
        })
    }

    /// Who watches queues: `Some` supervisor, or `None` for the admin (who watches every queue),
    /// by bearer token or `?token=`.
    pub fn watcher(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Option<SupervisorConfig>, ApiError> {
        use subtle::ConstantTimeEq;
        let token = query_token.or_else(|| bearer(headers)).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send a supervisor's or the admin's token as `Authorization: Bearer TOKEN`",
            )
        })?;
        if let Some(admin) = self.admin_token.as_deref()
            && bool::from(token.as_bytes().ct_eq(admin.as_bytes()))
        {
            return Ok(None);
        }
        self.supervisors
            .iter()
            .find(|s| bool::from(s.token.as_bytes().ct_eq(token.as_bytes())))
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the token belongs to no supervisor",
                )
            })
    }

    /// The agent a per-agent route (`/api/v1/agents/{agent}/...`) is for: the caller must be
    /// that agent, by bearer token or `?token=`.
    pub fn agent_for(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
        id: &str,
    ) -> Result<AgentConfig, ApiError> {
        let agent = match query_token {
            Some(token) => self.agent_by_token(token)?,
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
