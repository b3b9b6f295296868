//! `kv`: a flow plugin's private key-value store, kept by the host across calls and restarts.
//! Each plugin sees only its own keys (its name is the namespace); admins seed them through the
//! host (`PUT /admin/v1/plugins/{name}/kv/{key}`).
//!
//! The storage is a [`PluginKv`] (`plugin_kv.rs`), which the host chooses; the import is async
//! on the host, so a store that waits on a disk or a network never holds a worker thread.
//!
//! An entry written during a conversation's flow is that conversation's: erasing its customer's
//! data removes it (`DELETE /admin/v1/customers/...`).
//!
//! A store failure traps the call: the plugin cannot tell a missing key from a broken disk.

use wasmtime::component::{HasSelf, Linker};

use super::super::bindings::flow_v0_1;
use super::super::state::PluginState;
use crate::store::plugin_kv::PluginKv;

/// Links `switchboard:flow/kv`.
pub(crate) fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    flow_v0_1::kv::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl PluginState {
    /// The store and the namespace of this call. A world without `kv` is not linked to it, so
    /// the error is for a host bug, and traps rather than answer wrongly.
    fn kv_namespace(&self) -> wasmtime::Result<(&dyn PluginKv, &str)> {
        match &self.kv {
            Some(access) => Ok((&*access.store, &self.plugin)),
            None => Err(wasmtime::Error::msg(
                "kv: this plugin has no key-value store",
            )),
        }
    }
}

impl flow_v0_1::kv::Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let (kv, plugin) = self.kv_namespace()?;
        kv.get(plugin, &key).await.map_err(kv_error)
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        let (kv, plugin) = self.kv_namespace()?;
        let conversation = self.kv.as_ref().and_then(|a| a.conversation.as_deref());
        kv.set_for(plugin, &key, &value, conversation)
            .await
            .map_err(kv_error)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let (kv, plugin) = self.kv_namespace()?;
        kv.delete(plugin, &key).await.map(|_| ()).map_err(kv_error)
    }

    async fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        let (kv, plugin) = self.kv_namespace()?;
        kv.list_keys(plugin, &prefix).await.map_err(kv_error)
    }
}

fn kv_error(e: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::msg(format!("kv: {e:#}"))
}
