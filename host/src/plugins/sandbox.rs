//! The sandbox every plugin call runs in: one engine per process, a store per instance,
//! and limits on fuel, wall-clock time (epoch interruption), memory and tables, set afresh
//! before every call. A plugin that is not pure gets a new instance per call; a pure one's
//! instance may serve several calls (`pool.rs` decides when).
//!
//! Sandbox defaults, all deny: the WASI context has no preopened directories, no
//! environment, no arguments, no network (wasmtime-wasi denies every socket address by
//! default) and a closed stdin. A plugin's stdout and stderr are captured into the host's
//! log, never inherited: in `serve`, stdout is the MCP channel.

use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use wasmtime::component::{InstancePre, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap,
};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::Limits;
use super::bindings::{Level, host};

/// How often the epoch advances; a call's deadline is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// What is kept of a plugin's stdout and stderr per call.
const CAPTURE_BYTES: usize = 16 * 1024;

/// Instances alive at once (running or kept idle by `pool.rs`): the pooling allocator's
/// slots. A component of a Rust guest holds a few core instances, one or two memories.
const SLOTS: u32 = 256;

/// With `PAGEMAP_SCAN`, how much of a freed slot's memory (and of each table) may stay
/// mapped, as written pages put back to their initial contents: the bound on what an idle
/// slot holds. A small plugin writes tens of pages a call; one that wrote more has the rest
/// given back with `madvise`.
const KEEP_RESIDENT_MEMORY: usize = 4 << 20;
const KEEP_RESIDENT_TABLE: usize = 256 << 10;

/// Builds the engine: component model, fuel, epoch interruption, the pooling allocator,
/// and a ticker thread that advances the epoch for as long as the engine lives.
///
/// The pooling allocator reserves the address space of every slot once, so a fresh
/// instance (every call of a plugin not declared pure) takes a ready slot instead of
/// mapping its memory anew; wasmtime resets a slot's memory to the component's initial
/// image when it is reused, so nothing carries over. Where Linux has `PAGEMAP_SCAN` (6.7
/// and later), the reset asks the kernel which pages the instance wrote and copies back
/// only those, keeping them mapped: no `madvise` (whose TLB shootdown interrupts the other
/// cores), and no page faults on the next call. Without it, nothing is kept resident: a
/// Rust guest's stack fills the bottom MiB of its memory, so `memset`ting the start of a
/// freed slot blindly costs more (tens of µs) than faulting back the few pages a call
/// touches.
pub fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(512 * 1024);
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(SLOTS)
        .total_core_instances(SLOTS * 8)
        .total_memories(SLOTS * 2)
        .total_tables(SLOTS * 4);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pooling
            .pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    let engine = Engine::new(&config)?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("clearctx-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch thread");
    Ok(engine)
}

pub use crate::model::Receipt;

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    OutOfFuel { fuel: u64 },
    Timeout { ms: u64 },
    Memory { limit_mib: u64 },
    StackOverflow,
    Panic { message: String },
    Trap { message: String },
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::OutOfFuel { .. } => "out_of_fuel",
            Failure::Timeout { .. } => "timeout",
            Failure::Memory { .. } => "memory_limit",
            Failure::StackOverflow => "stack_overflow",
            Failure::Panic { .. } => "panic",
            Failure::Trap { .. } => "trap",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Failure::OutOfFuel { fuel } => format!(
                "used all of its fuel ({fuel}); raise `fuel` in its manifest's [limits] if the work is legitimate"
            ),
            Failure::Timeout { ms } => format!(
                "ran past its time limit of {ms} ms; raise `timeout_ms` in its manifest's [limits] if the work is legitimate"
            ),
            Failure::Memory { limit_mib } => {
                format!("tried to use more than its memory limit of {limit_mib} MiB")
            }
            Failure::StackOverflow => "overflowed its stack (unbounded recursion?)".to_string(),
            Failure::Panic { message } => format!("panicked: {message}"),
            Failure::Trap { message } => format!("trapped: {message}"),
        }
    }
}

/// The marker error our limiter raises when memory would grow past the limit.
#[derive(Debug)]
struct MemoryLimitHit;

impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("memory limit reached")
    }
}

impl std::error::Error for MemoryLimitHit {}

/// Enforces the memory and table limits and remembers the peak, for the receipt.
struct Limiter {
    max_memory: usize,
    /// The largest memory size asked for during the current call.
    peak_memory: usize,
    /// The memory size now: a reused instance keeps what it grew to.
    current_memory: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            // An error (not `false`) traps at once, with a cause we can name.
            return Err(MemoryLimitHit.into());
        }
        self.peak_memory = self.peak_memory.max(desired);
        self.current_memory = self.current_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        32
    }

    fn tables(&self) -> usize {
        32
    }

    fn memories(&self) -> usize {
        8
    }
}

/// A capped in-memory sink for a plugin's stdout or stderr: the first bytes are kept, the
/// rest is counted and dropped, and writing never fails (a plugin that prints a lot is not
/// punished for it, and cannot fill the host's memory).
#[derive(Clone, Default)]
pub struct Capture {
    inner: Arc<Mutex<(Vec<u8>, usize)>>,
}

impl Capture {
    fn push(&self, bytes: &[u8]) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (kept, dropped) = &mut *guard;
        let room = CAPTURE_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        *dropped += bytes.len().saturating_sub(room);
    }

    /// The text kept since the last call, with a note of how much was dropped; empties
    /// the capture, so a reused instance's next call starts clean.
    pub fn take(&self) -> String {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (kept, dropped) = std::mem::take(&mut *guard);
        let mut s = String::from_utf8_lossy(&kept).into_owned();
        if dropped > 0 {
            s.push_str(&format!("\n[{dropped} more bytes dropped]"));
        }
        s
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl OutputStream for Capture {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The data of one call's store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    plugin: String,
    stdout: Capture,
    stderr: Capture,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let message: String = message.chars().take(4096).collect();
        let plugin = self.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl super::bindings::validator::clearctx::plugin::types::Host for HostState {}

/// Adds WASI (all denied by the empty context) and the `host` interface to a linker.
pub fn linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    host::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// An instance in its own store, and how many calls it has served.
pub struct Instance {
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
    /// The typed exports of its world, looked up (and type-checked) on its first call only.
    bound: Option<Box<dyn std::any::Any + Send>>,
    pub calls: u32,
}

impl Instance {
    /// The store, and the bindings of the world `B`, made by `make` on first use.
    pub fn bound<B: std::any::Any + Send>(
        &mut self,
        make: impl FnOnce(&mut Store<HostState>, &wasmtime::component::Instance) -> wasmtime::Result<B>,
    ) -> wasmtime::Result<(&mut Store<HostState>, &B)> {
        if self.bound.as_ref().is_none_or(|b| !b.is::<B>()) {
            self.bound = Some(Box::new(make(&mut self.store, &self.instance)?));
        }
        let bound = self.bound.as_ref().and_then(|b| b.downcast_ref::<B>());
        Ok((&mut self.store, bound.expect("bound just above")))
    }

    /// The linear memory the instance holds now, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().limiter.current_memory
    }
}

/// Instantiates `pre` in a new store under `limits`. The start-up code of the component
/// runs under the same fuel and deadline as a call, and counts toward the first one.
pub fn instantiate(
    pre: &InstancePre<HostState>,
    plugin: &str,
    limits: &Limits,
) -> Result<(Instance, Receipt), Failure> {
    let stdout = Capture::default();
    let stderr = Capture::default();
    let wasi = WasiCtx::builder()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build();
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        // `arm` sets the limit, as before every call.
        limiter: Limiter {
            max_memory: 0,
            peak_memory: 0,
            current_memory: 0,
        },
        plugin: plugin.to_string(),
        stdout,
        stderr,
    };
    let mut store = Store::new(pre.engine(), state);
    store.limiter(|s| &mut s.limiter);
    arm(&mut store, limits);
    let started = Instant::now();
    let instance = pre.instantiate(&mut store);
    let receipt = receipt(&store, limits, started);
    match instance {
        Ok(instance) => Ok((
            Instance {
                store,
                instance,
                bound: None,
                calls: 0,
            },
            receipt,
        )),
        Err(e) => Err(finish(&mut store, &e, limits)),
    }
}

/// Gives the store a full tank of fuel and a new deadline, and starts the peak memory
/// count at what the instance holds now.
fn arm(store: &mut Store<HostState>, limits: &Limits) {
    static WARN_ONCE: Once = Once::new();
    if store.set_fuel(limits.fuel).is_err() {
        WARN_ONCE.call_once(|| tracing::error!("the engine was built without fuel"));
    }
    store.set_epoch_deadline(limits.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1);
    let limiter = &mut store.data_mut().limiter;
    // The same component may run under other limits (two installs of one file).
    limiter.max_memory = (limits.memory_mib as usize) * 1024 * 1024;
    limiter.peak_memory = limiter.current_memory;
}

fn receipt(store: &Store<HostState>, limits: &Limits, started: Instant) -> Receipt {
    Receipt {
        fuel_used: limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
        wall_us: started.elapsed().as_micros() as u64,
        peak_memory_bytes: store.data().limiter.peak_memory as u64,
        ..Receipt::default()
    }
}

/// Logs what the plugin printed during the call and empties the captures.
fn drain(store: &mut Store<HostState>) -> String {
    let data = store.data();
    let plugin = data.plugin.as_str();
    let out = data.stdout.take();
    let err = data.stderr.take();
    for (name, text) in [("stdout", &out), ("stderr", &err)] {
        if !text.is_empty() {
            tracing::debug!(plugin, stream = name, "{text}");
        }
    }
    err
}

fn finish(store: &mut Store<HostState>, e: &wasmtime::Error, limits: &Limits) -> Failure {
    let stderr = drain(store);
    classify(e, limits, &stderr)
}

/// Runs `f` on `instance` with full limits. On a failure the instance must not be used
/// again (a trap leaves a component instance unusable, and its state unknown).
pub fn call<T>(
    instance: &mut Instance,
    limits: &Limits,
    f: impl FnOnce(&mut Instance) -> wasmtime::Result<T>,
) -> Result<(T, Receipt), Failure> {
    arm(&mut instance.store, limits);
    instance.calls += 1;
    let started = Instant::now();
    let outcome = f(instance);
    let store = &mut instance.store;
    let receipt = receipt(store, limits, started);
    match outcome {
        Ok(value) => {
            drain(store);
            Ok((value, receipt))
        }
        Err(e) => Err(finish(store, &e, limits)),
    }
}

fn classify(e: &wasmtime::Error, limits: &Limits, stderr: &str) -> Failure {
    if e.chain()
        .any(|c| c.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some())
    {
        return Failure::Trap {
            message: format!(
                "could not start: {SLOTS} plugin instances are running or kept at once, the most this process holds; try again when fewer calls are in flight"
            ),
        };
    }
    if e.chain()
        .any(|c| c.downcast_ref::<MemoryLimitHit>().is_some())
    {
        return Failure::Memory {
            limit_mib: limits.memory_mib,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel { fuel: limits.fuel },
        Some(Trap::Interrupt) => Failure::Timeout {
            ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        // A Rust guest's locals live on a shadow stack in linear memory; overflowing it
        // runs off the bottom of memory.
        Some(Trap::MemoryOutOfBounds) => Failure::Trap {
            message:
                "it accessed memory out of bounds (a stack overflow in linear memory, or a bug)"
                    .to_string(),
        },
        // A Rust guest panics by printing to stderr and aborting, which is `unreachable`.
        Some(Trap::UnreachableCodeReached) => Failure::Panic {
            message: panic_message(stderr)
                .unwrap_or_else(|| "it reached `unreachable` (a panic or abort)".to_string()),
        },
        Some(other) => Failure::Trap {
            message: other.to_string(),
        },
        None => Failure::Trap {
            message: format!("{e:#}"),
        },
    }
}

/// The panic line a Rust guest printed, e.g. "panicked at src/lib.rs:4:5:\nboom".
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let text: String = stderr[start..]
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Some(text.chars().take(500).collect())
}
