//! `POST /sim/x/faults`: scripts faults on the X send API from another process (the demo's
//! `platform-sim`, a shell), as [`super::PlatformSim::x_fail_next`] does in-process.
//!
//! Body: `{"count": N, "fault": F}` with F one of `"status:CODE"` (a 4xx or 5xx),
//! `"rate-limited:SECS"` (429 with `x-rate-limit-reset` SECS ahead; 0: already past),
//! `"retry-after:VALUE"` (429 with `Retry-After: VALUE`), `"slow:MS"` (delivered after MS),
//! `"hang:MS"` (held MS, then 504, not delivered), `"reset"` (the connection broken mid-answer);
//! `{"clear": true}` drops the faults not used yet. Answers `{"queued": N}`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use super::x_api::Fault;
use crate::fixtures::unix_millis;

pub(crate) const ROUTE: &str = "/sim/x/faults";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultsRequest {
    #[serde(default)]
    count: usize,
    #[serde(default)]
    fault: Option<String>,
    #[serde(default)]
    clear: bool,
}

pub(crate) async fn post_faults(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<FaultsRequest>,
) -> Response {
    if request.clear {
        sim.x.clear_faults();
    }
    let Some(text) = request.fault else {
        return Json(json!({ "queued": 0 })).into_response();
    };
    match parse(&text) {
        Ok(fault) => {
            sim.x.queue_faults(request.count, fault);
            Json(json!({ "queued": request.count })).into_response()
        }
        Err(reason) => (StatusCode::BAD_REQUEST, Json(json!({ "error": reason }))).into_response(),
    }
}

/// A fault as the route's body names it.
fn parse(text: &str) -> Result<Fault, String> {
    let (kind, value) = text.split_once(':').unwrap_or((text, ""));
    let number = || {
        value
            .parse::<u64>()
            .map_err(|_| format!("{kind}: {value:?} is not a number"))
    };
    Ok(match kind {
        "status" => {
            let status = number()?;
            if !(400..=599).contains(&status) {
                return Err(format!("status:{status} is not a 4xx or 5xx"));
            }
            Fault::Status(status as u16)
        }
        "rate-limited" => {
            let now = unix_millis(SystemTime::now()) / 1_000;
            let secs = number()?;
            Fault::RateLimited {
                reset_epoch_secs: if secs == 0 {
                    now.saturating_sub(30)
                } else {
                    now + secs
                },
            }
        }
        // The simulator lives as long as its process: a value scripted here is kept for it.
        "retry-after" => Fault::RetryAfter(Box::leak(value.to_owned().into_boxed_str())),
        "slow" => Fault::Slow {
            delay_ms: number()?,
        },
        "hang" => Fault::Hang { hold_ms: number()? },
        "reset" => Fault::Reset,
        _ => return Err(format!("unknown fault {text:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_named_as_the_route_documents() {
        assert_eq!(parse("status:503"), Ok(Fault::Status(503)));
        assert_eq!(parse("slow:800"), Ok(Fault::Slow { delay_ms: 800 }));
        assert_eq!(parse("hang:6000"), Ok(Fault::Hang { hold_ms: 6000 }));
        assert_eq!(parse("reset"), Ok(Fault::Reset));
        assert_eq!(parse("retry-after:0"), Ok(Fault::RetryAfter("0")));
        assert!(matches!(
            parse("rate-limited:2"),
            Ok(Fault::RateLimited { .. })
        ));
        assert!(parse("status:200").is_err());
        assert!(parse("slow:soon").is_err());
        assert!(parse("meteor").is_err());
    }
}
