//! HTTP routes (DESIGN.md, "Public interfaces"). Handlers translate between HTTP and the
//! modules that own the work; every error is JSON `{"error": {"code", "message"}}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::acd::{self, AcdError};
use crate::app::App;
use crate::config::AgentConfig;
use crate::metrics::Gauges;
use crate::runtime::{AdapterError, WebhookRequest};
use crate::store::{self, ConversationState, Presence};

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{e:#}"),
        )
    }
}

impl From<AcdError> for ApiError {
    fn from(e: AcdError) -> Self {
        match e {
            AcdError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            AcdError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            AcdError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AcdError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            AcdError::Refused { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AcdError::Internal(e) => e.into(),
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// The largest component `PUT /admin/v1/plugins/{name}` accepts (JavaScript and Python
/// components are 12-18 MB).
const MAX_PLUGIN_BYTES: usize = 64 * 1024 * 1024;

pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.server.max_body_bytes;
    Router::new()
        .route("/webhooks/{integration}", get(webhook).post(webhook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/agents/{agent}/presence", put(put_presence))
        .route("/api/v1/agents/{agent}/events", get(agent_events))
        .route(
            "/api/v1/agents/{agent}/interactions",
            get(get_agent_interactions),
        )
        .route("/api/v1/interactions/{id}/decline", post(decline))
        .route("/api/v1/canned", get(list_canned))
        .route("/api/v1/wrapup-codes", get(wrapup_codes))
        .route("/admin/v1/queues", get(admin_queues))
        .route("/admin/v1/flows/{name}/graph", get(flow_graph))
        .route(
            "/admin/v1/canned/{id}",
            put(put_canned).delete(delete_canned),
        )
        .route("/admin/v1/filters", get(list_filters))
        .route(
            "/admin/v1/filters/{id}",
            put(put_filter).delete(delete_filter),
        )
        .route(
            "/console",
            get(|| async { axum::response::Redirect::permanent("/console/") }),
        )
        .route("/console/", get(console_file))
        .route("/console/{*path}", get(console_file))
        .route("/api/v1/queues/{queue}", get(get_queue))
        .route("/api/v1/interactions/{id}", get(get_interaction))
        .route("/api/v1/interactions/{id}/accept", post(accept))
        .route("/api/v1/interactions/{id}/messages", post(send_message))
        .route("/api/v1/interactions/{id}/typing", post(typing))
        .route("/api/v1/interactions/{id}/wrapup", post(wrap_up))
        .route("/admin/v1/flows", get(list_flows))
        .route("/admin/v1/flows/{name}", get(get_flow).put(put_flow))
        .route("/admin/v1/flows/{name}/rollback", post(rollback_flow))
        .route("/admin/v1/plugins", get(list_plugins))
        .route(
            "/admin/v1/plugins/{name}",
            put(put_plugin).layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)),
        )
        .route("/admin/v1/plugins/{name}/rollback", post(rollback_plugin))
        .route(
            "/admin/v1/plugins/{name}/kv/{key}",
            get(get_plugin_kv).put(put_plugin_kv),
        )
        .route("/admin/v1/integrations", get(list_integrations))
        .route(
            "/admin/v1/integrations/{id}",
            get(get_integration).put(put_integration),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

/// `GET|POST /webhooks/{integration}`: the adapter answers; events are stored before the 2xx.
async fn webhook(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let Some(integration) = app.integration(&id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_integration",
            format!("no integration `{id}` is configured"),
        ));
    };
    app.metrics.webhook_received(&id);
    let request = WebhookRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let refuse = |status, code: &'static str, message: String| {
        app.metrics.webhook_refused(&id, code);
        Err(ApiError::new(status, code, message))
    };
    let outcome = match app.handle_webhook(&integration, request).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(AdapterError::Unauthorized(m))) => {
            return refuse(StatusCode::UNAUTHORIZED, "unauthorized", m);
        }
        Ok(Err(AdapterError::Malformed(m))) => {
            return refuse(StatusCode::BAD_REQUEST, "malformed", m);
        }
        Ok(Err(AdapterError::Misconfigured(m))) => {
            tracing::error!(integration = %id, "adapter reports a configuration problem: {m}");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "misconfigured", m);
        }
        // The platform will redeliver; nothing was stored.
        Err(e) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "plugin_failed",
                e.to_string(),
            );
        }
    };
    if !outcome.events.is_empty() {
        let events = outcome.events;
        let integration_id = id.clone();
        let stored = app
            .store
            .call(move |c| {
                let outcomes = store::inbox::insert(c, &integration_id, &events, store::now_ms())?;
                Ok(events
                    .into_iter()
                    .zip(outcomes)
                    .map(|(e, o)| (e.kind(), o))
                    .collect::<Vec<_>>())
            })
            .await;
        match stored {
            Ok(outcomes) => {
                for (kind, outcome) in outcomes {
                    match outcome {
                        store::InsertOutcome::Stored(_) => {
                            app.metrics.messages_stored(&id, kind, 1)
                        }
                        store::InsertOutcome::Duplicate => app.metrics.duplicate(&id),
                    }
                }
                app.inbox_wake.notify_one();
            }
            Err(e) => {
                tracing::error!(integration = %id, "cannot store webhook events: {e:#}");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the events could not be stored; retry".into(),
                );
            }
        }
    }
    let mut response = Response::new(axum::body::Body::from(outcome.body));
    *response.status_mut() = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK);
    for (name, value) in outcome.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> ApiResult {
    let (counts, pending) = app
        .store
        .call(|c| {
            Ok((
                store::conversations::count_by_state(c)?,
                store::messages::pending_count(c)?,
            ))
        })
        .await?;
    let mut gauges = Gauges {
        outbound_pending: pending,
        ..Default::default()
    };
    let mut by_state = std::collections::BTreeMap::<String, i64>::new();
    for queue in app.queues.iter() {
        gauges.queue_depth.push((queue.clone(), 0));
    }
    for (state, queue, n) in counts {
        *by_state.entry(state.clone()).or_default() += n;
        if state == ConversationState::Queued.as_str()
            && let Some(q) = queue
        {
            match gauges.queue_depth.iter_mut().find(|(name, _)| *name == q) {
                Some(entry) => entry.1 += n,
                None => gauges.queue_depth.push((q, n)),
            }
        }
    }
    gauges.queue_depth.sort();
    gauges.conversations = by_state.into_iter().collect();
    gauges.integrations = app
        .integrations()
        .iter()
        .map(|i| {
            (
                i.config.id.clone(),
                app.deauthorized(&i.config.id).is_some(),
            )
        })
        .collect();
    let mut response = app.metrics.render(&gauges).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The agent the request's bearer token belongs to.
fn agent<'a>(app: &'a App, headers: &HeaderMap) -> Result<&'a AgentConfig, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the agent's token as `Authorization: Bearer TOKEN`",
        )
    })?;
    app.agent_by_token(token).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the token belongs to no agent",
        )
    })
}

fn admin(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq;
    let Some(expected) = app.config.server.admin_token.as_deref() else {
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

/// Parses a JSON body with a clear error.
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid JSON body: {e}"),
        )
    })
}

#[derive(Deserialize)]
struct PresenceBody {
    presence: Presence,
}

async fn put_presence(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    if agent.id != id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token belongs to agent `{}`, not `{id}`", agent.id),
        ));
    }
    let body: PresenceBody = json_body(&body)?;
    Ok(axum::Json(acd::set_presence(&app, agent, body.presence).await?).into_response())
}

async fn get_queue(
    State(app): State<Arc<App>>,
    Path(queue): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    Ok(axum::Json(acd::queue(&app, agent, &queue).await?).into_response())
}

async fn get_interaction(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    // Admins see every interaction; agents those of their queues.
    let agent = if admin(&app, &headers).is_ok() {
        None
    } else {
        Some(agent(&app, &headers)?)
    };
    Ok(axum::Json(acd::interaction(&app, agent, &id).await?).into_response())
}

async fn accept(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    Ok(axum::Json(acd::accept(&app, agent, &id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[serde(default)]
    text: Option<String>,
    /// The id of a canned response, rendered with the customer's details.
    #[serde(default)]
    canned: Option<String>,
    #[serde(default)]
    template: Option<crate::events::TemplateMessage>,
}

async fn send_message(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    let body: MessageBody = json_body(&body)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(acd::send(&app, agent, &id, body.text, body.canned, body.template).await?),
    )
        .into_response())
}

async fn typing(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    Ok(axum::Json(acd::typing(&app, agent, &id).await?).into_response())
}

#[derive(Deserialize)]
struct WrapupBody {
    code: String,
    #[serde(default)]
    notes: Option<String>,
}

async fn wrap_up(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    let body: WrapupBody = json_body(&body)?;
    Ok(axum::Json(acd::wrap_up(&app, agent, &id, body.code, body.notes).await?).into_response())
}

async fn list_flows(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    admin(&app, &headers)?;
    let flows = app.store.call(store::flows::list_latest).await?;
    let flows: Vec<Value> = flows
        .into_iter()
        .map(|f| json!({ "name": f.name, "version": f.version, "hash": f.hash, "created_at": f.created_at }))
        .collect();
    Ok(axum::Json(json!({ "flows": flows })).into_response())
}

async fn get_flow(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    let n = name.clone();
    let found = app
        .store
        .call(move |c| Ok((store::flows::latest(c, &n)?, store::flows::versions(c, &n)?)))
        .await?;
    let (Some(f), versions) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no flow `{name}`"),
        ));
    };
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|(version, hash, created_at)| json!({ "version": version, "hash": hash, "created_at": created_at }))
        .collect();
    Ok(axum::Json(json!({
        "name": f.name,
        "version": f.version,
        "hash": f.hash,
        "created_at": f.created_at,
        "source": f.source,
        "versions": versions,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: i64,
}

/// `POST /admin/v1/flows/{name}/rollback` `{"version": N}`: new conversations start on version
/// N again; conversations in flight keep theirs.
async fn rollback_flow(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let body: RollbackBody = json_body(&body)?;
    match app.rollback_flow(&name, body.version).await? {
        Some(version) => {
            Ok(axum::Json(json!({ "name": name, "version": version })).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("flow `{name}` has no version {}", body.version),
        )),
    }
}

/// `PUT /admin/v1/plugins/{name}/kv/{key}`: seeds a flow plugin's key-value store (the body is
/// the value, as text).
async fn put_plugin_kv(
    State(app): State<Arc<App>>,
    Path((name, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    if app.flow_plugin(&name).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no flow plugin `{name}` is loaded"),
        ));
    }
    let value = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the value must be UTF-8 text",
        )
    })?;
    app.runtime.kv_store().set(&name, &key, &value).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_plugin_kv(
    State(app): State<Arc<App>>,
    Path((name, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    match app.runtime.kv_store().get(&name, &key).await? {
        Some(value) => Ok(value.into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("plugin `{name}` has no key `{key}`"),
        )),
    }
}

/// `PUT /admin/v1/flows/{name}`: a YAML body. 201 with the new version; 200 when it equals the
/// latest; 422 with every validation error and its line.
async fn put_flow(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.is_empty()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a flow name is letters, digits, `-` and `_`",
        ));
    }
    let source = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the flow must be UTF-8 YAML",
        )
    })?;
    match app.publish_flow(&name, source).await? {
        Ok((version, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, axum::Json(json!({ "name": name, "version": version, "created": created }))).into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": { "code": "invalid_flow", "message": format!("flow `{name}` has {} error(s)", errors.len()) },
                "errors": errors,
            })),
        )
            .into_response()),
    }
}

async fn list_plugins(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    admin(&app, &headers)?;
    let mut seen = std::collections::BTreeMap::new();
    for integration in app.integrations() {
        let a = &integration.adapter;
        seen.entry(a.name().to_string()).or_insert_with(|| {
            json!({
                "name": a.name(),
                "world": "adapter",
                "wit": format!("switchboard:channel@{}", a.wit_version()),
                "hash": a.hash(),
                "platform": a.info().platform,
                "text_limit": a.info().text_limit,
                "version": app.plugin_meta(a.name()).map(|m| m.version),
                "loaded_at": app.plugin_meta(a.name()).map(|m| m.loaded_at),
                "grants": limits_json(a.limits(), None),
                "asks": a.manifest(),
            })
        });
    }
    for (name, plugin) in app.flow_plugins() {
        let world = match plugin.kind() {
            crate::runtime::FlowPluginKind::Bot => "bot",
            crate::runtime::FlowPluginKind::DataAction => "data-action",
        };
        seen.insert(
            name.clone(),
            json!({
                "name": name,
                "world": world,
                "wit": format!("switchboard:flow@{}", plugin.wit_version()),
                "hash": plugin.hash(),
                "grants": limits_json(plugin.limits(), Some(&plugin.grant().http_hosts)),
                "asks": plugin.manifest(),
                "version": app.plugin_meta(&name).map(|m| m.version),
                "loaded_at": app.plugin_meta(&name).map(|m| m.loaded_at),
            }),
        );
    }
    Ok(axum::Json(json!({ "plugins": seen.into_values().collect::<Vec<_>>() })).into_response())
}

/// What a plugin is granted, in the units of the configuration.
fn limits_json(limits: crate::runtime::Limits, http_hosts: Option<&[String]>) -> Value {
    let mut grants = json!({
        "memory_mib": limits.memory_bytes / (1024 * 1024),
        "deadline_ms": limits.deadline.as_millis() as u64,
        "max_output_bytes": limits.max_output_bytes,
    });
    if let Some(hosts) = http_hosts {
        grants["http_hosts"] = json!(hosts);
    }
    grants
}

fn integration_json(app: &App, integration: &crate::app::Integration, sent_today: i64) -> Value {
    let c = &integration.config;
    // Settings hold secrets: show which are set, never their values.
    let settings: Vec<&String> = c.settings.keys().collect();
    let deauthorized = app
        .deauthorized(&c.id)
        .map(|(since, reason)| json!({ "since": since, "reason": reason }));
    json!({
        "id": c.id,
        "adapter": c.adapter,
        "platform": integration.info.platform,
        "text_limit": integration.info.text_limit,
        "flow": c.flow,
        "threading_window_hours": c.threading_window_hours,
        "size": c.size,
        "daily_cap": c.size.map(|s| s.daily_cap()),
        "sent_today": sent_today,
        "reply_as": c.reply_as,
        "settings": settings,
        "webhook_path": format!("/webhooks/{}", c.id),
        "status": if deauthorized.is_some() { "deauthorized" } else { "active" },
        "deauthorized": deauthorized,
    })
}

async fn sent_today(app: &App, id: &str) -> Result<i64, ApiError> {
    let id = id.to_string();
    Ok(app
        .store
        .call(move |c| store::integrations::sends_today(c, &id, store::now_ms()))
        .await?)
}

async fn list_integrations(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    admin(&app, &headers)?;
    let mut all = Vec::new();
    for integration in app.integrations() {
        let sent = sent_today(&app, &integration.config.id).await?;
        all.push(integration_json(&app, &integration, sent));
    }
    Ok(axum::Json(json!({ "integrations": all })).into_response())
}

async fn get_integration(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    let integration = app.integration(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no integration `{id}`"),
        )
    })?;
    let sent = sent_today(&app, &id).await?;
    Ok(axum::Json(integration_json(&app, &integration, sent)).into_response())
}

/// `PUT /admin/v1/integrations/{id}`: adds or replaces an integration without a restart (JSON
/// with the fields of an `[[integration]]` table). Replacing one also re-authorizes it after a
/// platform refused its credentials; its waiting messages then go out.
async fn put_integration(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let mut value: Value = json_body(&body)?;
    if let Some(map) = value.as_object_mut() {
        map.entry("id").or_insert_with(|| Value::String(id.clone()));
    }
    let integration: crate::config::IntegrationConfig =
        serde_json::from_value(value).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_integration",
                e.to_string(),
            )
        })?;
    if integration.id != id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_integration",
            format!(
                "the body's id `{}` differs from the URL's `{id}`",
                integration.id
            ),
        ));
    }
    let existed = app.integration(&id).is_some();
    if let Err(e) = crate::config::Config::check_integration(&integration) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_integration",
            format!("{e:#}"),
        ));
    }
    app.put_integration(integration).await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_integration",
            format!("{e:#}"),
        )
    })?;
    let integration = app.integration(&id).expect("just installed");
    let sent = sent_today(&app, &id).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(integration_json(&app, &integration, sent)),
    )
        .into_response())
}

/// Serves until `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The agent a request is for: the bearer token, or `?token=` (browsers' EventSource cannot set
/// headers), must belong to `id`.
fn agent_for<'a>(
    app: &'a App,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    id: &str,
) -> Result<&'a AgentConfig, ApiError> {
    let agent = match query.get("token") {
        Some(token) => app.agent_by_token(token).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token belongs to no agent",
            )
        })?,
        None => agent(app, headers)?,
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

async fn get_me(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    let agent = agent(&app, &headers)?;
    Ok(axum::Json(acd::me(&app, agent).await?).into_response())
}

async fn get_agent_interactions(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = agent_for(&app, &headers, &query, &id)?;
    Ok(axum::Json(acd::agent_interactions(&app, agent).await?).into_response())
}

/// `GET /api/v1/agents/{agent}/events`: server-sent events, starting with `hello`.
async fn agent_events(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;
    let agent = agent_for(&app, &headers, &query, &id)?;
    let hello = acd::me(&app, agent).await?;
    let receiver = app.events.subscribe(&agent.id);
    let first = futures_util::stream::once(async move {
        Ok::<_, std::convert::Infallible>(Event::default().event("hello").data(hello.to_string()))
    });
    let rest =
        tokio_stream::wrappers::BroadcastStream::new(receiver).filter_map(|event| async move {
            // A slow client that fell behind skips what it missed; it refetches on `hello`.
            event
                .ok()
                .map(|e| Ok(Event::default().event(e.name).data(e.data.to_string())))
        });
    Ok(Sse::new(first.chain(rest))
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn decline(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = agent(&app, &headers)?;
    Ok(axum::Json(acd::decline(&app, agent, &id).await?).into_response())
}

async fn list_canned(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    if admin(&app, &headers).is_err() {
        agent(&app, &headers)?;
    }
    let canned = app.store.call(store::acd::canned).await?;
    let canned: Vec<Value> = canned
        .into_iter()
        .map(|(id, title, text)| json!({ "id": id, "title": title, "text": text }))
        .collect();
    Ok(axum::Json(json!({ "canned": canned })).into_response())
}

async fn wrapup_codes(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    agent(&app, &headers)?;
    Ok(axum::Json(json!({ "codes": app.config.wrapup_codes })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    title: String,
    text: String,
}

async fn put_canned(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let body: CannedBody = json_body(&body)?;
    if let Err(e) = crate::engine::template::check(&body.text) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            e,
        ));
    }
    let (cid, title, text) = (id.clone(), body.title.clone(), body.text.clone());
    app.store
        .call(move |c| store::acd::put_canned(c, &cid, &title, &text))
        .await?;
    Ok(axum::Json(json!({ "id": id, "title": body.title, "text": body.text })).into_response())
}

async fn delete_canned(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    let cid = id.clone();
    if !app
        .store
        .call(move |c| store::acd::delete_canned(c, &cid))
        .await?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no canned response `{id}`"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    kind: String,
    pattern: String,
}

async fn list_filters(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    admin(&app, &headers)?;
    let rules = app.store.call(store::acd::filters).await?;
    let rules: Vec<Value> = rules
        .into_iter()
        .map(|(id, kind, pattern)| json!({ "id": id, "kind": kind, "pattern": pattern }))
        .collect();
    Ok(axum::Json(json!({ "filters": rules })).into_response())
}

async fn put_filter(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let body: FilterBody = json_body(&body)?;
    acd::filters::check(&body.kind, &body.pattern)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e))?;
    let (fid, kind, pattern) = (id.clone(), body.kind.clone(), body.pattern.clone());
    app.store
        .call(move |c| store::acd::put_filter(c, &fid, &kind, &pattern))
        .await?;
    Ok(axum::Json(json!({ "id": id, "kind": body.kind, "pattern": body.pattern })).into_response())
}

async fn delete_filter(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    let fid = id.clone();
    if !app
        .store
        .call(move |c| store::acd::delete_filter(c, &fid))
        .await?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no content filter `{id}`"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/queues`: each queue's waiting and assigned interactions and available agents.
async fn admin_queues(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    admin(&app, &headers)?;
    let (counts, presence) = app
        .store
        .call(|c| {
            Ok((
                store::conversations::count_by_state(c)?,
                store::agents::all(c)?,
            ))
        })
        .await?;
    let queues: Vec<Value> = app
        .config
        .queues
        .iter()
        .map(|q| {
            let count = |state: &str| {
                counts
                    .iter()
                    .filter(|(s, queue, _)| s == state && queue.as_deref() == Some(q.id.as_str()))
                    .map(|(_, _, n)| n)
                    .sum::<i64>()
            };
            let available = app
                .config
                .agents
                .iter()
                .filter(|a| a.queues.contains(&q.id))
                .filter(|a| {
                    presence
                        .iter()
                        .any(|(id, p, _)| id == &a.id && *p == store::Presence::Available)
                })
                .count();
            json!({
                "id": q.id,
                "name": q.name.clone().unwrap_or_else(|| q.id.clone()),
                "waiting": count("queued"),
                "assigned": count("assigned"),
                "agents_available": available,
                "alerting_timeout_seconds": q.alerting_timeout_seconds,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "queues": queues })).into_response())
}

/// `GET /admin/v1/flows/{name}/graph`: the active version as a Mermaid flowchart.
async fn flow_graph(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&app, &headers)?;
    let n = name.clone();
    let Some(f) = app.store.call(move |c| store::flows::latest(c, &n)).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no flow `{name}`"),
        ));
    };
    let flow =
        crate::engine::Flow::parse(&f.source, &crate::engine::Known::default()).map_err(|e| {
            anyhow::anyhow!(
                "stored flow `{name}` no longer parses: {}",
                crate::app::join(&e)
            )
        })?;
    let mut response = crate::engine::graph::mermaid(&flow).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// The browser console's files, from `[server] console_dir`.
async fn console_file(State(app): State<Arc<App>>, path: Option<Path<String>>) -> ApiResult {
    let dir = &app.config.server.console_dir;
    let requested = path.map(|Path(p)| p).unwrap_or_default();
    let safe = std::path::Path::new(&requested)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such file",
        ));
    }
    let mut file = dir.join(&requested);
    if requested.is_empty() || !file.is_file() {
        // The console is a single page: unknown paths get its index.
        file = dir.join("index.html");
    }
    let bytes = tokio::fs::read(&file).await.map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "console_not_built",
            format!(
                "the console is not built in {} (run `cargo xtask build-console`)",
                dir.display()
            ),
        )
    })?;
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    };
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    Ok(response)
}

fn publish_error(e: crate::app::PluginPublishError) -> ApiError {
    match e {
        crate::app::PluginPublishError::Refused(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_plugin", m)
        }
        crate::app::PluginPublishError::NotFound(m) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", m)
        }
    }
}

/// `PUT /admin/v1/plugins/{name}`: the component's bytes. 201 with the new version (200 when it
/// is the active one already); 422 with the reason when it is refused (the old one serves on).
async fn put_plugin(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let valid = !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if !valid {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a plugin name is letters, digits, `-` and `_`",
        ));
    }
    let published = app
        .publish_plugin(&name, body.to_vec())
        .await
        .map_err(publish_error)?;
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(json!({ "name": name, "version": published.version, "world": published.world, "wit": published.wit, "hash": published.hash }))).into_response())
}

async fn rollback_plugin(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&app, &headers)?;
    let body: RollbackBody = json_body(&body)?;
    let published = app
        .rollback_plugin(&name, body.version)
        .await
        .map_err(publish_error)?;
    Ok(axum::Json(json!({ "name": name, "version": published.version, "world": published.world, "hash": published.hash })).into_response())
}
