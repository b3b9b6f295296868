//! The host performs every network call an adapter asks for, so it owns timeouts and the
//! audit trail. A failure to reach the platform is transient.

use crate::events::SendFailure;
use crate::runtime::HttpRequest;

/// Performs `request` with `client` (whose timeout and redirect policy the host set).
/// Returns the platform's status, headers and body.
pub async fn perform(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), SendFailure> {
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return Err(SendFailure::Permanent(format!(
            "the adapter asked for HTTP method `{}`",
            request.method
        )));
    };
    let mut builder = client.request(method, &request.url).body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| SendFailure::Transient(format!("request to {} failed: {e}", request.url)))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = response.bytes().await.map_err(|e| {
        SendFailure::Transient(format!("reading the answer of {} failed: {e}", request.url))
    })?;
    Ok((status, headers, body.to_vec()))
}
