//! The one wasmtime engine every plugin runs on: its configuration (component model, epoch
//! interruption, the pooling allocator), the epoch ticker that makes call deadlines work, and
//! compilation through the on-disk cache of compiled components.
//!
//! Every call gets a fresh instance in a fresh store; the pooling allocator keeps that at about
//! 11 µs. A deadline is counted in epoch ticks, so a plugin that spins is interrupted without
//! the host having to watch it, and yields its worker thread at every tick meanwhile.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::cache;
use super::error::PluginError;
use super::limits::Limits;

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine, its ticker and its compile cache. Dropping it stops the ticker.
pub(crate) struct WasmEngine {
    engine: Engine,
    cache_dir: PathBuf,
    stop_ticker: Arc<AtomicBool>,
}

impl WasmEngine {
    /// An engine whose pool fits `limits` (its memory is the pool's per-instance ceiling),
    /// caching compiled components in `cache_dir`.
    pub(crate) fn new(limits: Limits, cache_dir: PathBuf) -> anyhow::Result<WasmEngine> {
        let engine = Engine::new(&engine_config(limits))
            .map_err(anyhow::Error::from)
            .context("cannot configure the Wasm engine")?;
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
        Ok(WasmEngine {
            engine,
            cache_dir,
            stop_ticker,
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `bytes` (or fetches the compiled component from the cache) off the async
    /// threads. Returns the component and the SHA-256 of its bytes.
    pub(crate) async fn compile(
        &self,
        plugin: &str,
        bytes: Vec<u8>,
    ) -> Result<(Component, String), PluginError> {
        let engine = self.engine.clone();
        let cache_dir = self.cache_dir.clone();
        tokio::task::spawn_blocking(move || cache::load_or_compile(&engine, &cache_dir, &bytes))
            .await
            .map_err(|e| PluginError::load(plugin, format!("compilation task failed: {e}")))?
            .map_err(|e| PluginError::load(plugin, format!("{e:#}")))
    }

    /// The names a compiled component exports at its top level (the world's interfaces).
    pub(crate) fn exports(&self, component: &Component) -> Vec<String> {
        component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Arms the call deadline on a fresh store, before instantiation (the default deadline of 0
/// would trap at once). At every epoch tick the plugin yields to the other tasks of its worker
/// thread, so a plugin that spins never holds a thread that other webhooks need; once
/// `deadline` of wall time has passed since the store was made, it is interrupted
/// (`Trap::Interrupt`, reported as a timeout).
pub(crate) fn arm_deadline<T: 'static>(store: &mut wasmtime::Store<T>, deadline: Duration) {
    let started = Instant::now();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if started.elapsed() >= deadline {
            wasmtime::UpdateDeadline::Interrupt
        } else {
            wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
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
    // Reset only the pages an instance dirtied (Linux 6.7+ `PAGEMAP_SCAN`; elsewhere the
    // memset/madvise of the whole resident region as before).
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.table_keep_resident(1 << 16);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}
