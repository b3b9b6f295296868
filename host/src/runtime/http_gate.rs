//! Outbound HTTP on behalf of flow plugins, performed by the host: only to the hosts a plugin's
//! grant lists ([`HostRule`], resolved at load in `grants.rs`), with the time left for the call
//! as the timeout, no redirects, no proxy and a cap on the response size. A denied host is
//! refused before any connection is made. The `http` import that plugins call is `host/http.rs`.
//!
//! Loopback is reachable only through a URL whose host is itself a loopback name or address
//! (`localhost`, `127.0.0.1`, `[::1]`) that the grant lists: a granted public name that resolves
//! to a loopback address is refused by the resolver, so DNS cannot turn a grant into access to
//! the host's own services.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::HostRule;

/// The largest response body handed to a plugin.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The longest one request may take, whatever the call's deadline.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(30);

/// A request as the plugin asked for it.
#[derive(Debug, Clone)]
pub(crate) struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub(crate) struct FetchResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    DeniedHost(String),
    Timeout,
    Failed(String),
}

/// The HTTP client shared by all flow plugins.
#[derive(Clone)]
pub(crate) struct HttpGate {
    client: reqwest::Client,
}

impl HttpGate {
    pub fn new() -> anyhow::Result<HttpGate> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(NoLoopbackByName))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpGate { client })
    }

    /// Performs `request` if its host is allowed by `rules`, finishing by `deadline`.
    pub async fn fetch(
        &self,
        rules: &[HostRule],
        deadline: Instant,
        request: FetchRequest,
    ) -> Result<FetchResponse, FetchError> {
        let url = Url::parse(&request.url)
            .map_err(|e| FetchError::Failed(format!("invalid URL `{}`: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Failed(format!(
                "unsupported URL scheme `{}`",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| FetchError::Failed(format!("URL `{}` has no host", request.url)))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        if !rules.iter().any(|r| r.allows(&host, port)) {
            return Err(FetchError::DeniedHost(match url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }));
        }
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| FetchError::Failed(format!("invalid method `{}`", request.method)))?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(FetchError::Timeout);
        }
        let mut builder = self
            .client
            .request(method, url)
            .timeout(remaining.min(MAX_REQUEST_TIME));
        for (name, value) in &request.headers {
            // The host header follows the URL, which is what the grant checked.
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(request_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::Failed(format!(
                    "the response body is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchResponse {
            status,
            headers,
            body,
        })
    }
}

fn request_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Failed(message)
}

fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

/// The system resolver, minus loopback answers for names that are not loopback names.
struct NoLoopbackByName;

impl Resolve for NoLoopbackByName {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = if is_loopback_name(&name) {
                addrs
            } else {
                addrs.into_iter().filter(|a| !is_local(a.ip())).collect()
            };
            if allowed.is_empty() {
                return Err(format!(
                    "`{name}` resolves only to loopback addresses, which are reachable only through a granted loopback host"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(entries: &[&str]) -> Vec<HostRule> {
        entries
            .iter()
            .map(|e| HostRule::parse(e).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn ungranted_hosts_are_denied_before_any_connection() {
        let gate = HttpGate::new().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let fetch = |url: &str| FetchRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: vec![],
        };
        let r = rules(&["api.example.com:8443"]);
        assert_eq!(
            gate.fetch(&r, deadline, fetch("http://127.0.0.1:1/x"))
                .await
                .unwrap_err(),
            FetchError::DeniedHost("127.0.0.1:1".into())
        );
        assert_eq!(
            gate.fetch(&r, deadline, fetch("https://api.example.com/x"))
                .await
                .unwrap_err(),
            FetchError::DeniedHost("api.example.com".into())
        );
        assert!(matches!(
            gate.fetch(&r, deadline, fetch("ftp://api.example.com/x"))
                .await,
            Err(FetchError::Failed(_))
        ));
    }

    #[test]
    fn loopback_names() {
        assert!(is_loopback_name("localhost"));
        assert!(is_loopback_name("api.localhost."));
        assert!(!is_loopback_name("localhost.example.com"));
    }
}
