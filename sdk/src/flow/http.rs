//! Outbound HTTP through the host, only to the hosts granted to the plugin
//! (`[[plugin]] http_hosts`). Redirects are not followed; the time left for the call is the
//! timeout. Natively (in unit tests) every request fails with [`HttpError::Failed`].

use super::{HttpError, HttpRequest, HttpResponse};

/// Performs `request` through the host.
pub fn fetch(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    #[cfg(target_arch = "wasm32")]
    return super::wit_bot::switchboard::flow::http::fetch(request);
    #[cfg(not(target_arch = "wasm32"))]
    return Err(HttpError::Failed(format!(
        "no host to perform {} {} (natively, http::fetch always fails)",
        request.method, request.url
    )));
}

/// A `GET` of `url` with `headers`.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<HttpResponse, HttpError> {
    fetch(&HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Vec::new(),
    })
}
