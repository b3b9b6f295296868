//! `http`: outbound HTTP for flow plugins. The import hands the request to the
//! [`HttpGate`](super::super::http_gate::HttpGate)
//! with the plugin's granted hosts and the call's deadline, and maps the answer back to WIT;
//! the gate (`http_gate.rs`) decides what may be reached and performs the request.

use wasmtime::component::{HasSelf, Linker};

use super::super::bindings::flow_v0_1::{self, types as wt};
use super::super::http_gate::{FetchError, FetchRequest};
use super::super::state::PluginState;

/// Links `switchboard:flow/http`.
pub(crate) fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    flow_v0_1::http::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl flow_v0_1::http::Host for PluginState {
    async fn fetch(&mut self, request: wt::HttpRequest) -> Result<wt::HttpResponse, wt::HttpError> {
        let Some(access) = &self.http else {
            // A world without `http` is not linked to it; deny rather than reach anything.
            return Err(wt::HttpError::DeniedHost(request.url));
        };
        let request = FetchRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        let url = request.url.clone();
        match access
            .gate
            .fetch(&access.rules, access.deadline, request)
            .await
        {
            Ok(r) => Ok(wt::HttpResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => {
                tracing::debug!(plugin = &*self.plugin, url, error = ?e, "plugin HTTP request failed");
                Err(match e {
                    FetchError::DeniedHost(h) => wt::HttpError::DeniedHost(h),
                    FetchError::Timeout => wt::HttpError::Timeout,
                    FetchError::Failed(m) => wt::HttpError::Failed(m),
                })
            }
        }
    }
}
