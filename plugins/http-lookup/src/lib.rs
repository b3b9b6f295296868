//! Order status from an HTTP backend (`switchboard:flow/data-action`), through the host's `http`
//! import, so only the hosts granted to this plugin are reachable.
//!
//! - `order-status` {order_id, base_url?} → `GET {base_url}/orders/{order_id}`, answered with
//!   JSON like `{"status": "shipped", "eta": "2025-06-01", "carrier": "DHL"}` →
//!   {found: "true"/"false", status, eta, carrier} (404 → found "false").
//!
//! The base URL is the kv key `config/base_url` when set (the admin's choice wins), else the
//! `base_url` input. A host not granted to the plugin fails as `failed("denied host ...")`.

use serde::Deserialize;
use switchboard_sdk::flow::{
    ActionError, ActionInfo, DataAction, Fields, HttpError, HttpResponse, field, http, kv,
    require_field,
};

/// What the backend answers for an order.
#[derive(Debug, Default, Deserialize)]
struct OrderStatus {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    eta: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
}

/// Order ids go into the URL path, so only a safe alphabet is accepted.
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `base` + `/orders/` + `id`, without a doubled slash.
pub fn order_url(base: &str, id: &str) -> String {
    format!("{}/orders/{id}", base.trim_end_matches('/'))
}

/// Picks the base URL: the kv setting when present, else the input.
pub fn base_url(
    kv_value: Option<String>,
    input: &[(String, String)],
) -> Result<String, ActionError> {
    kv_value
        .filter(|v| !v.trim().is_empty())
        .or_else(|| field(input, "base_url").map(str::to_string))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ActionError::InvalidInput(
                "no base URL: set kv key `config/base_url` or pass input `base_url`".into(),
            )
        })
}

/// Maps the backend's answer (or the host's refusal) to the action's result.
pub fn read_response(result: Result<HttpResponse, HttpError>) -> Result<Fields, ActionError> {
    let response = match result {
        Ok(r) => r,
        Err(HttpError::DeniedHost(host)) => {
            return Err(ActionError::Failed(format!(
                "denied host {host}: it is not granted to this plugin"
            )));
        }
        Err(HttpError::Timeout) => {
            return Err(ActionError::Failed("the order backend timed out".into()));
        }
        Err(HttpError::Failed(m)) => {
            return Err(ActionError::Failed(format!(
                "the order backend is unreachable: {m}"
            )));
        }
    };
    let fields = |found: &str, s: OrderStatus| -> Fields {
        vec![
            ("found".into(), found.into()),
            ("status".into(), s.status.unwrap_or_default()),
            ("eta".into(), s.eta.unwrap_or_default()),
            ("carrier".into(), s.carrier.unwrap_or_default()),
        ]
    };
    match response.status {
        200 => {
            let s: OrderStatus = serde_json::from_slice(&response.body).map_err(|e| {
                ActionError::Failed(format!("the order backend answered invalid JSON: {e}"))
            })?;
            Ok(fields("true", s))
        }
        404 => Ok(fields("false", OrderStatus::default())),
        status => Err(ActionError::Failed(format!(
            "the order backend answered HTTP {status}"
        ))),
    }
}

pub fn order_status(input: &[(String, String)]) -> Result<Fields, ActionError> {
    let id = require_field(input, "order_id")?;
    if !valid_order_id(&id) {
        return Err(ActionError::InvalidInput(format!(
            "order_id `{id}` may hold only letters, digits, `-` and `_`"
        )));
    }
    let base = base_url(kv::get("config/base_url"), input)?;
    read_response(http::get(
        &order_url(&base, &id),
        &[("accept", "application/json")],
    ))
}

struct HttpLookup;

impl DataAction for HttpLookup {
    fn describe() -> Vec<ActionInfo> {
        vec![ActionInfo {
            name: "order-status".into(),
            inputs: vec!["order_id".into(), "base_url".into()],
            outputs: vec![
                "found".into(),
                "status".into(),
                "eta".into(),
                "carrier".into(),
            ],
        }]
    }

    fn call(action: String, input: Fields) -> Result<Fields, ActionError> {
        match action.as_str() {
            "order-status" => order_status(&input),
            other => Err(ActionError::NotFound(other.to_string())),
        }
    }
}

switchboard_sdk::export_data_action!(HttpLookup);

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        })
    }

    fn input(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn urls_and_ids() {
        assert_eq!(
            order_url("http://h:1/api/", "12-345"),
            "http://h:1/api/orders/12-345"
        );
        assert!(valid_order_id("12-345"));
        assert!(!valid_order_id("../admin"));
        assert!(!valid_order_id("a b"));
        assert!(!valid_order_id(""));
    }

    #[test]
    fn kv_base_url_wins_over_the_input() {
        let i = input(&[("base_url", "http://input")]);
        assert_eq!(base_url(Some("http://kv".into()), &i).unwrap(), "http://kv");
        assert_eq!(base_url(None, &i).unwrap(), "http://input");
        assert_eq!(base_url(Some(" ".into()), &i).unwrap(), "http://input");
        assert!(matches!(
            base_url(None, &[]),
            Err(ActionError::InvalidInput(_))
        ));
    }

    #[test]
    fn responses_map_to_fields_or_typed_errors() {
        let out =
            read_response(response(200, r#"{"status":"shipped","eta":"2025-06-01"}"#)).unwrap();
        assert_eq!(field(&out, "found"), Some("true"));
        assert_eq!(field(&out, "status"), Some("shipped"));
        assert_eq!(field(&out, "carrier"), Some(""));
        let out = read_response(response(404, "")).unwrap();
        assert_eq!(field(&out, "found"), Some("false"));
        assert!(
            matches!(read_response(response(500, "")), Err(ActionError::Failed(m)) if m.contains("500"))
        );
        assert!(matches!(
            read_response(response(200, "nope")),
            Err(ActionError::Failed(_))
        ));
        assert!(matches!(
            read_response(Err(HttpError::DeniedHost("evil.example:80".into()))),
            Err(ActionError::Failed(m)) if m.starts_with("denied host evil.example:80")
        ));
        assert!(matches!(
            read_response(Err(HttpError::Timeout)),
            Err(ActionError::Failed(_))
        ));
    }

    #[test]
    fn natively_the_call_fails_without_a_host() {
        let r = order_status(&input(&[
            ("order_id", "12-345"),
            ("base_url", "http://127.0.0.1:1"),
        ]));
        assert!(matches!(r, Err(ActionError::Failed(m)) if m.contains("unreachable")));
        assert!(matches!(
            order_status(&input(&[("order_id", "x/y")])),
            Err(ActionError::InvalidInput(_))
        ));
    }
}
