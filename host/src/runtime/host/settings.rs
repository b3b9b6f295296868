//! `settings`: the channel `config` import, through which an adapter reads its integration's
//! settings (URLs, tokens, secrets from the host's configuration) and id. Adapters never see
//! another integration's settings: the state holds only the calling integration's.
//!
//! Both supported versions of `switchboard:channel/config` import it; 0.1.0 forwards to 0.2.0.

use wasmtime::component::{HasSelf, Linker};

use super::super::bindings::{channel_v0_1, channel_v0_2};
use super::super::caller::{CallContext, Caller};
use super::super::state::PluginState;

/// Links `switchboard:channel/config` in every supported version.
pub(crate) fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    channel_v0_2::config::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    channel_v0_1::config::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl PluginState {
    /// The integration a channel call serves; none for a flow plugin, whose world has no
    /// `config` import.
    fn integration(&self) -> Option<&CallContext> {
        match &self.caller {
            Caller::Integration(ctx) => Some(ctx),
            Caller::Flow(_) => None,
        }
    }
}

impl channel_v0_2::config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.integration()?.settings.get(&key).cloned()
    }

    fn integration_id(&mut self) -> String {
        self.integration()
            .map(|ctx| ctx.integration_id.clone())
            .unwrap_or_default()
    }
}

impl channel_v0_1::config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        channel_v0_2::config::Host::get(self, key)
    }

    fn integration_id(&mut self) -> String {
        channel_v0_2::config::Host::integration_id(self)
    }
}
