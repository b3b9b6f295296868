//! The Wasm side of the host: one wasmtime engine, plugin loading, the sandbox, the limits.
//!
//! Every plugin call gets a fresh instance in a fresh `Store` (about 11 µs with the pooling
//! allocator), so a plugin that traps, loops or leaks cannot affect the next call. Each call has
//! a deadline (epoch interruption, ticked by a background thread) and a memory limit; the WASI
//! context has nothing preopened, no environment, no sockets and no stdio.
//!
//! Compiled components are cached on disk by content hash and engine settings, so a restart
//! (or a test run) does not compile the same component again.

mod adapter;
mod cache;
mod error;
mod flow_http;
mod flow_plugins;
mod host;
mod inspect;
mod kv;
mod manifest;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use crate::events::{AdapterInfo, Capabilities, TextUnit};
pub use adapter::{AdapterPlugin, HttpRequest, WebhookOutcome, WebhookRequest};
pub use error::{AdapterError, CallErrorKind, PluginError};
pub use flow_http::check_http_host;
pub use flow_plugins::{
    ActionError, ActionInfo, BotExit, BotInput, BotOutput, BotPlugin, BotReply, DataActionPlugin,
    FlowCallContext, FlowPlugin, FlowPluginKind, SUPPORTED_FLOW_VERSIONS,
};
pub use host::{CallContext, PluginState};
pub use inspect::{Outline, outline};
pub use kv::KvStore;
pub use manifest::Manifest;

use crate::config::{PluginGrant, PluginsConfig};

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// WIT versions of `switchboard:channel` this host can run, newest first.
pub const SUPPORTED_CHANNEL_VERSIONS: &[&str] = &["0.2.0", "0.1.0"];

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Duration,
    pub memory_bytes: usize,
    pub max_output_bytes: usize,
}

impl Limits {
    /// Arms the call deadline on a fresh store, before instantiation (the default deadline of 0
    /// would trap at once). At every epoch tick the plugin yields to the other tasks of its
    /// worker thread, so a plugin that spins never holds a thread that other webhooks need; once
    /// `deadline` of wall time has passed since the store was made, it is interrupted
    /// (`Trap::Interrupt`, reported as a timeout).
    fn arm_deadline<T: 'static>(&self, store: &mut wasmtime::Store<T>) {
        let started = std::time::Instant::now();
        let deadline = self.deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if started.elapsed() >= deadline {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
            })
        });
    }
}

/// The engine, the linker with the host's imports, and the compiled-component cache.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<PluginState>,
    cache_dir: PathBuf,
    limits: Limits,
    flow: flow_plugins::FlowHost,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl PluginRuntime {
    pub fn new(config: &PluginsConfig) -> anyhow::Result<PluginRuntime> {
        let limits = Limits {
            deadline: Duration::from_millis(config.deadline_ms),
            memory_bytes: (config.memory_mib as usize) * 1024 * 1024,
            max_output_bytes: config.max_output_bytes,
        };
        let engine = Engine::new(&engine_config(limits))
            .map_err(anyhow::Error::from)
            .context("cannot configure the Wasm engine")?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("cannot link WASI")?;
        adapter::add_to_linker(&mut linker)?;
        let flow =
            flow_plugins::FlowHost::new(&engine).context("cannot link the flow-plugin imports")?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let stop = stop_ticker.clone();
        std::thread::Builder::new()
            .name("switchboard-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .context("cannot start the epoch ticker")?;

        Ok(PluginRuntime {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache_dir: config.cache_dir.clone(),
                limits,
                flow,
                stop_ticker,
            }),
        })
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Compile (or fetch from the cache) and check the component at `path`, naming the plugin
    /// after the file stem, with the `[plugins]` limits.
    pub async fn load_adapter_file(&self, path: &Path) -> Result<AdapterPlugin, PluginError> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_string();
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            PluginError::load(&name, format!("cannot read {}: {e}", path.display()))
        })?;
        self.load_adapter(&name, bytes, &PluginGrant::none(&name))
            .await
    }

    /// Compile (or fetch from the cache) and check an adapter component from its bytes; its
    /// calls run under `[plugins]`, overridden by its grant (`[[plugin]]`).
    pub async fn load_adapter(
        &self,
        name: &str,
        bytes: Vec<u8>,
        grant: &PluginGrant,
    ) -> Result<AdapterPlugin, PluginError> {
        let limits = self.plugin_limits(name, grant)?;
        let manifest = manifest::read(&bytes).map_err(|m| PluginError::load(name, m))?;
        let component = self.compile(name, bytes).await?;
        AdapterPlugin::new(self.clone(), name, component, limits, manifest).await
    }

    async fn compile(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<(Component, String), PluginError> {
        let inner = self.inner.clone();
        let plugin = name.to_string();
        tokio::task::spawn_blocking(move || {
            cache::load_or_compile(&inner.engine, &inner.cache_dir, &bytes)
        })
        .await
        .map_err(|e| PluginError::load(&plugin, format!("compilation task failed: {e}")))?
        .map_err(|e| PluginError::load(&plugin, format!("{e:#}")))
    }

    fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    fn linker(&self) -> &Linker<PluginState> {
        &self.inner.linker
    }
}

fn engine_config(limits: Limits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Pooling: instances come from pre-reserved slots, which makes a fresh instance per call
    // cheap. The pool's memory size is the hard ceiling; `StoreLimits` enforces the
    // configured limit below it with a clear error.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000);
    pool.total_core_instances(4000);
    pool.total_memories(2000);
    pool.total_tables(2000);
    pool.max_memory_size(limits.memory_bytes.max(1 << 20));
    pool.linear_memory_keep_resident(1 << 20);
    pool.table_keep_resident(1 << 16);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}
