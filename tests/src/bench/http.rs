//! HTTP/1.1 on loopback: where load may go, a keep-alive connection, one exchange, and the
//! small GETs the phases make (health, metrics).
//!
//! Load only ever goes to this machine: a target must resolve to a loopback address. Several
//! hosts on one store are [`Targets`]: the load takes turns between them request by request, as
//! a round-robin load balancer in front of them would.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::bodies::Signed;

/// Where a run sends its requests.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    pub path: Uri,
}

impl Target {
    /// Resolves `url`, refusing anything but `http://` on loopback.
    pub async fn resolve(url: &Uri) -> anyhow::Result<Target> {
        ensure!(
            url.scheme_str() == Some("http"),
            "a bench target must be an http:// URL, not {url}"
        );
        let host = url.host().context("a bench target needs a host")?;
        let port = url.port_u16().unwrap_or(80);
        let addr =
            tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), port))
                .await
                .with_context(|| format!("resolving {host}"))?
                .next()
                .with_context(|| format!("{host} has no address"))?;
        ensure!(
            addr.ip().is_loopback(),
            "a bench target must be on this machine (loopback), not {addr}"
        );
        let authority = url.authority().context("a bench target needs a host")?;
        Ok(Target {
            addr,
            host: HeaderValue::from_str(authority.as_str())
                .context("the target's host is not a valid Host header")?,
            path: url
                .path_and_query()
                .map_or("/", |path| path.as_str())
                .parse()?,
        })
    }

    /// The same server at another path.
    pub fn at(&self, path: &str) -> anyhow::Result<Target> {
        Ok(Target {
            path: path.parse().with_context(|| format!("path {path:?}"))?,
            ..self.clone()
        })
    }

    /// A target on `addr` (a server of this process), at `path`.
    pub fn local(addr: SocketAddr, path: Uri) -> anyhow::Result<Target> {
        Ok(Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string())
                .context("an address is a valid Host header")?,
            path,
        })
    }

    /// The signed X webhook `signed`, ready to send here.
    pub fn webhook(&self, signed: &Signed) -> Request<Full<Bytes>> {
        Request::post(self.path.clone())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("x-twitter-webhooks-signature", signed.signature.clone())
            .body(Full::new(signed.body.clone()))
            .expect("the parts of a pre-built request are valid")
    }
}

/// The servers a run spreads its requests over (at least one): request `i` of a sequence goes
/// to server `i % len`, as a round-robin load balancer would send it.
#[derive(Debug, Clone)]
pub struct Targets {
    all: Vec<Target>,
}

impl Targets {
    /// Resolves each of `urls` (see [`Target::resolve`]); there must be at least one.
    pub async fn resolve(urls: &[Uri]) -> anyhow::Result<Targets> {
        ensure!(!urls.is_empty(), "a bench run needs at least one target");
        let mut all = Vec::with_capacity(urls.len());
        for url in urls {
            all.push(Target::resolve(url).await?);
        }
        Ok(Targets { all })
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The server whose turn request `i` is.
    pub fn turn(&self, i: usize) -> &Target {
        &self.all[i % self.all.len()]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Target> {
        self.all.iter()
    }
}

impl From<Target> for Targets {
    fn from(target: Target) -> Targets {
        Targets { all: vec![target] }
    }
}

/// One keep-alive HTTP/1.1 connection.
pub type Connection = SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr) -> anyhow::Result<Connection> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task ends when the sender is dropped or the server closes.
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer, as keep-alive requires.
pub async fn exchange(
    sender: &mut Connection,
    request: Request<Full<Bytes>>,
) -> hyper::Result<StatusCode> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

/// `GET` on a fresh connection: the status and the body as text.
pub async fn get(target: &Target, timeout: Duration) -> anyhow::Result<(StatusCode, String)> {
    let exchange = async {
        let stream = TcpStream::connect(target.addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = Request::get(target.path.clone())
            .header(HOST, target.host.clone())
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .with_context(|| format!("GET {} took over {timeout:?}", target.path))?
}

/// Polls `GET /healthz` until it answers 200.
pub async fn wait_healthy(server: &Target, timeout: Duration) -> anyhow::Result<()> {
    let health = server.at("/healthz")?;
    let deadline = Instant::now() + timeout;
    loop {
        let last = match get(&health, Duration::from_secs(5)).await {
            Ok((status, _)) if status == StatusCode::OK => return Ok(()),
            Ok((status, _)) => format!("HTTP {status}"),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() > deadline {
            bail!(
                "{} did not answer GET /healthz with 200 within {timeout:?} (last: {last})",
                server.addr
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn target(url: &str) -> anyhow::Result<Target> {
        Target::resolve(&url.parse()?).await
    }

    #[tokio::test]
    async fn only_loopback_targets_are_accepted() {
        let local = target("http://127.0.0.1:8080/webhooks/x-bench?probe=1")
            .await
            .unwrap();
        assert_eq!(local.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (
                local.host.to_str().unwrap(),
                local.path.to_string().as_str()
            ),
            ("127.0.0.1:8080", "/webhooks/x-bench?probe=1")
        );
        assert_eq!(local.at("/metrics").unwrap().path, "/metrics");
        assert!(target("http://10.1.2.3:8080/webhooks/x").await.is_err());
        assert!(target("https://127.0.0.1:8443/webhooks/x").await.is_err());
    }

    #[tokio::test]
    async fn several_targets_take_turns() {
        let urls: Vec<Uri> = ["http://127.0.0.1:8081/w", "http://127.0.0.1:8082/w"]
            .iter()
            .map(|u| u.parse().unwrap())
            .collect();
        let targets = Targets::resolve(&urls).await.unwrap();
        let ports: Vec<u16> = (0..5).map(|i| targets.turn(i).addr.port()).collect();
        assert_eq!(ports, [8081, 8082, 8081, 8082, 8081]);
        assert!(Targets::resolve(&[]).await.is_err());
        let bad: Vec<Uri> = vec![urls[0].clone(), "http://10.1.2.3:8080/w".parse().unwrap()];
        assert!(Targets::resolve(&bad).await.is_err());
    }
}
