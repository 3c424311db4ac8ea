//! `plugins`: the WebAssembly plugin host. The only module that knows wasmtime.
//!
//! Rules a team may change (artifact validators, pipeline conditions and actions, prompt
//! templates) are components targeting `clearctx:plugin@1` (see `wit/`). The standard
//! plugins are built from `plugins/` and embedded in the binary; users add their own with
//! `clearctx plugin add`, recorded in the lock file (`lock.rs`). A user plugin overrides a
//! standard one for the same artifact type or template name.
//!
//! Loading is lazy: the engine is built and a component compiled (or its precompiled copy
//! read from the machine's cache, `cache.rs`) on first use, so `serve` answers `tools/list`
//! without touching wasmtime; `serve` then warms the standard plugins in the background
//! ([`PluginHost::warm_standard`]). A plugin that is not pure gets a fresh instance per call
//! (`sandbox.rs`); a pure one's instances are reused (`pool.rs`) and its answers remembered
//! (`memo.rs`). Every call returns a receipt of what it used.

mod action;
pub mod bindings;
mod cache;
mod calls;
mod condition;
mod install;
pub mod limits;
pub mod lock;
mod memo;
mod pool;
mod registry;
mod sandbox;
mod scaffold;
mod standard;
mod template;
mod testing;
mod validator;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

use crate::error::{Error, Result};
pub use calls::CallRecord;
pub use install::{AddOptions, AddReport, Source};
pub use limits::Limits;
pub use lock::{CAPABILITIES, Entry, LockFile, MANIFEST_FILE};
use sandbox::HostState;
pub use sandbox::{Failure, Receipt};
/// The condition plugin a pipeline rule uses unless it names another.
pub use standard::CONDITION as STANDARD_CONDITION;
pub use scaffold::{NewOptions, scaffold};
pub use testing::{TestInput, TestOutcome};

/// Where compiled components are kept: one cache per user, shared by every data dir, so a
/// component is compiled once per machine rather than once per project. `CLEARCTX_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/clearctx/plugins`, else `~/.cache/clearctx/plugins`. What an entry
/// is and how it is checked: `cache.rs`.
pub fn machine_cache_dir() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    };
    var("CLEARCTX_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("clearctx/plugins")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/clearctx/plugins")))
}

/// The standard plugins, embedded in this binary.
pub fn standard_plugins() -> Vec<Resolved> {
    standard::all()
}

/// The plugin API major version this host supports.
pub const API_MAJOR: u64 = 1;
/// The version of `wit/` this host is built from (and the SDK builds the standard plugins with).
pub const API_VERSION: &str = "1.1.0";
const API_PACKAGE: &str = "clearctx:plugin";

/// What a plugin does, read from the interfaces its component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ArtifactValidator,
    PipelineCondition,
    PipelineAction,
    PromptTemplate,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::ArtifactValidator,
        Kind::PipelineCondition,
        Kind::PipelineAction,
        Kind::PromptTemplate,
    ];

    /// The exported interface that marks this kind, e.g. `validator`.
    pub fn interface(self) -> &'static str {
        match self {
            Kind::ArtifactValidator => "validator",
            Kind::PipelineCondition => "condition",
            Kind::PipelineAction => "action",
            Kind::PromptTemplate => "template",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ArtifactValidator => "artifact-validator",
            Kind::PipelineCondition => "pipeline-condition",
            Kind::PipelineAction => "pipeline-action",
            Kind::PromptTemplate => "prompt-template",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

pub use crate::error::Violation;

/// A plugin resolved for a call: where its bytes are and what it may use.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub id: String,
    pub version: String,
    pub standard: bool,
    /// Declared pure: its instances may be reused and its answers remembered.
    pub pure: bool,
    pub limits: Limits,
    pub granted: Vec<String>,
    bytes: Bytes,
    /// The sha256 recorded at install (standard plugins: computed from the embedded bytes).
    sha256: String,
}

#[derive(Debug, Clone)]
enum Bytes {
    Embedded(&'static [u8]),
    File(PathBuf),
}

/// The verdict of a validator on some data.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub plugin: String,
    pub plugin_version: String,
    pub violations: Vec<Violation>,
    pub receipt: Receipt,
}

/// What checking an artifact's data found: the validation, if the type has a validator,
/// and the installed validators of the type that are disabled.
#[derive(Debug, Clone)]
pub struct Checked {
    pub validation: Option<Validation>,
    pub disabled: Vec<String>,
}

/// An artifact type a validator declares.
#[derive(Debug, Clone, Serialize)]
pub struct TypeInfo {
    pub name: String,
    pub description: String,
    pub schema: Option<Value>,
    pub plugin: String,
}

/// A template a plugin declares.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateInfo {
    pub name: String,
    pub description: String,
    pub variables: Vec<String>,
    pub plugin: String,
}

/// A host command an action returned, and whether its grants allow it.
#[derive(Debug, Clone, Serialize)]
pub struct Command {
    pub command: String,
    pub args: Value,
    pub capability: String,
    pub allowed: bool,
}

/// One plugin as `plugin list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub version: String,
    pub description: String,
    pub kinds: Vec<Kind>,
    pub api: String,
    pub standard: bool,
    pub enabled: bool,
    pub types: Vec<String>,
    pub templates: Vec<String>,
    pub granted: Vec<String>,
    pub limits: Limits,
    pub sha256: String,
    /// Declared pure: instances reused, answers remembered.
    pub pure: bool,
}

/// `plugin info`: a summary plus health from recent calls.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub source: String,
    /// `ok` when the recorded bytes match and the last calls succeeded.
    pub health: String,
    pub calls: u64,
    pub failures: u64,
    pub recent_failures: Vec<CallRecord>,
    pub max_fuel_used: u64,
    pub max_wall_us: u64,
    pub max_peak_memory_bytes: u64,
    /// Calls answered from the memo of an earlier identical call (pure plugins).
    pub memo_hits: u64,
    /// Calls that ran in an instance reused from an earlier call (pure plugins).
    pub reused_calls: u64,
    /// The last few calls, newest last, with their receipts.
    pub recent_calls: Vec<CallRecord>,
}

struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    compat: String,
}

struct State {
    lock: LockFile,
    /// mtime and length of the lock file when read; a change means another process
    /// installed or removed something.
    stamp: Option<(SystemTime, u64)>,
    loaded: HashMap<String, Arc<Loaded>>,
}

/// A compiled component, ready to instantiate, and what the host asks of its exports,
/// read once when it is loaded.
struct Loaded {
    pre: InstancePre<HostState>,
    /// It exports the 1.1 `conditions` interface (batches and checks of conditions).
    conditions: bool,
}

pub struct PluginHost {
    home: PathBuf,
    cache_dir: PathBuf,
    runtime: OnceLock<std::result::Result<Runtime, String>>,
    state: Mutex<State>,
    /// Held while a component is compiled or read from the cache, so a burst of first calls
    /// compiles it once instead of once per waiting thread.
    loading: Mutex<()>,
    pool: pool::Pool,
    memo: memo::Memo,
    log: calls::Log,
}

impl PluginHost {
    /// Creates the host; cheap: nothing is compiled until a plugin is first called.
    pub fn new(home: &Path) -> PluginHost {
        let cache_dir = machine_cache_dir().unwrap_or_else(|| home.join("cache"));
        PluginHost::with_cache(home, &cache_dir)
    }

    /// A host whose compiled components live in `cache_dir` (benchmarks and tests that want
    /// a cache of their own).
    pub fn with_cache(home: &Path, cache_dir: &Path) -> PluginHost {
        let cache_dir = cache_dir.to_path_buf();
        PluginHost {
            home: home.to_path_buf(),
            cache_dir,
            runtime: OnceLock::new(),
            state: Mutex::new(State {
                lock: LockFile::default(),
                stamp: None,
                loaded: HashMap::new(),
            }),
            loading: Mutex::new(()),
            pool: pool::Pool::default(),
            memo: memo::Memo::default(),
            log: calls::Log::new(home),
        }
    }

    /// Queues successful calls' lines in the call log until [`Self::flush_log`] (`serve`,
    /// which flushes after every answer; see `calls`).
    pub fn defer_log(&self) {
        self.log.defer();
    }

    /// Writes the call log's queued lines.
    pub fn flush_log(&self) {
        self.log.flush();
    }

    /// Whether call log lines wait for [`Self::flush_log`].
    pub fn log_queued(&self) -> bool {
        self.log.has_queued()
    }

    fn runtime(&self) -> Result<&Runtime> {
        self.runtime
            .get_or_init(|| {
                let engine = sandbox::engine().map_err(|e| format!("{e:#}"))?;
                let linker = sandbox::linker(&engine).map_err(|e| format!("{e:#}"))?;
                let mut h = std::collections::hash_map::DefaultHasher::new();
                engine.precompile_compatibility_hash().hash(&mut h);
                Ok(Runtime {
                    engine,
                    linker,
                    compat: format!("{:016x}", h.finish()),
                })
            })
            .as_ref()
            .map_err(|e| Error::Plugin {
                plugin: "(engine)".into(),
                code: "engine",
                message: e.clone(),
            })
    }

    /// The compiled components by sha256. They do not depend on the lock file, so this
    /// skips [`Self::state`]'s check of it (a `stat` on every plugin call otherwise).
    fn loaded(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state with the lock file re-read if it changed since last time.
    fn state(&self) -> Result<MutexGuard<'_, State>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = std::fs::metadata(LockFile::path(&self.home))
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp != state.stamp || stamp.is_none() && !state.lock.plugins.is_empty() {
            state.lock = LockFile::read(&self.home)?;
            state.stamp = stamp;
        }
        Ok(state)
    }

    fn resolve_entry(&self, e: &Entry) -> Resolved {
        Resolved {
            id: e.id.clone(),
            version: e.version.clone(),
            standard: false,
            pure: e.pure,
            limits: e.limits,
            granted: e.granted.clone(),
            bytes: Bytes::File(self.home.join(&e.path)),
            sha256: e.sha256.clone(),
        }
    }

    /// Finds a plugin by id: installed ones first, then the standard ones.
    pub fn resolve(&self, id: &str) -> Result<Resolved> {
        crate::ids::check_id("plugin", id)?;
        if let Some(e) = self.state()?.lock.find(id) {
            return Ok(self.resolve_entry(e));
        }
        standard::resolve(id).ok_or_else(|| {
            Error::not_found_hint(
                "plugin",
                id,
                "`clearctx plugin list` shows the installed and standard plugins",
            )
        })
    }

    /// A plugin that is to run as `kind` (a pipeline's condition or action): installed and
    /// enabled, or standard, and of that kind.
    pub fn resolve_as(&self, id: &str, kind: Kind) -> Result<Resolved> {
        crate::ids::check_id("plugin", id)?;
        let kinds = match self.state()?.lock.find(id) {
            Some(e) if !e.enabled => {
                return Err(Error::conflict(format!(
                    "plugin `{id}` is disabled (`clearctx plugin enable {id}` turns it back on)"
                )));
            }
            Some(e) => e.kinds.clone(),
            None => standard::kind_of(id).into_iter().collect(),
        };
        if !kinds.is_empty() && !kinds.contains(&kind) {
            let is: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(Error::invalid(
                "plugin",
                format!("plugin `{id}` is a {}, not a {}", is.join(" and "), kind.as_str()),
            ));
        }
        self.resolve(id)
    }

    /// The validators of `artifact_type`, from one look at the lock file: the one that runs
    /// (an enabled installed plugin that declares the type wins over the standard one;
    /// `None` when nothing validates it) and the installed ones that are disabled, by id.
    fn validators_of(&self, artifact_type: &str) -> Result<(Option<Resolved>, Vec<String>)> {
        let state = self.state()?;
        let declaring = |e: &&Entry| {
            e.kinds.contains(&Kind::ArtifactValidator) && e.types.iter().any(|t| t == artifact_type)
        };
        let plugins = &state.lock.plugins;
        let disabled = plugins
            .iter()
            .filter(declaring)
            .filter(|e| !e.enabled)
            .map(|e| e.id.clone())
            .collect();
        let active = match plugins.iter().rev().filter(declaring).find(|e| e.enabled) {
            Some(e) => Some(self.resolve_entry(e)),
            None => standard::validator_for(artifact_type),
        };
        Ok((active, disabled))
    }

    /// Checks the bytes against the recorded sha256, then returns the instantiable
    /// component, compiling it (or reading its precompiled copy) on first use.
    fn load(&self, plugin: &Resolved) -> Result<Arc<Loaded>> {
        if let Some(pre) = self.loaded().loaded.get(&plugin.sha256) {
            return Ok(pre.clone());
        }
        let _loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pre) = self.loaded().loaded.get(&plugin.sha256) {
            return Ok(pre.clone());
        }
        let rt = self.runtime()?;
        let bytes: std::borrow::Cow<'static, [u8]> = match &plugin.bytes {
            Bytes::Embedded(b) => std::borrow::Cow::Borrowed(b),
            Bytes::File(path) => std::borrow::Cow::Owned(std::fs::read(path).map_err(|e| Error::Plugin {
                plugin: plugin.id.clone(),
                code: "missing",
                message: format!("cannot read its component `{}`: {e}; reinstall it with `clearctx plugin add`", path.display()),
            })?),
        };
        // Embedded bytes are part of this binary and were hashed when it was built; only
        // files on disk can change after install.
        let sha = match &plugin.bytes {
            Bytes::Embedded(_) => plugin.sha256.clone(),
            Bytes::File(_) => crate::model::sha256_hex(&bytes),
        };
        if sha != plugin.sha256 {
            return Err(Error::Plugin {
                plugin: plugin.id.clone(),
                code: "bytes_changed",
                message: format!(
                    "its component changed after install (sha256 {} recorded, {} now); it will not be loaded. Reinstall it with `clearctx plugin add` if the change is yours",
                    &plugin.sha256[..12.min(plugin.sha256.len())],
                    &sha[..12]
                ),
            });
        }
        let component = cache::load(
            &rt.engine,
            &self.cache_dir,
            &rt.compat,
            &plugin.id,
            &sha,
            &bytes,
        )?;
        let pre = rt
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Plugin {
                plugin: plugin.id.clone(),
                code: "link",
                message: format!("it imports something clearctx does not provide: {e:#}"),
            })?;
        let conditions = interfaces(&rt.engine, &component)
            .iter()
            .any(|(i, _)| i == "conditions");
        let loaded = Arc::new(Loaded { pre, conditions });
        self.loaded().loaded.insert(sha, loaded.clone());
        Ok(loaded)
    }

    /// Runs one call of `plugin`, records it in the call log, and maps failures to errors
    /// that name the plugin and the limit it hit.
    fn call<T>(
        &self,
        plugin: &Resolved,
        function: &'static str,
        f: impl FnOnce(&mut sandbox::Instance) -> wasmtime::Result<T>,
    ) -> Result<(T, Receipt)> {
        let loaded = self.load(plugin)?;
        let outcome = self.run(&loaded.pre, plugin, f);
        self.log.record(plugin, function, &outcome);
        outcome.map_err(|failure| failed(plugin, &failure))
    }

    /// [`Self::call`] for a question whose answer a pure plugin's memo may hold: `args`
    /// are the call's arguments, `size` estimates an answer's bytes.
    fn call_memo<T: Clone + Send + Sync + 'static>(
        &self,
        plugin: &Resolved,
        function: &'static str,
        args: &[&str],
        size: fn(&T) -> usize,
        f: impl FnOnce(&mut sandbox::Instance) -> wasmtime::Result<T>,
    ) -> Result<(T, Receipt)> {
        if !plugin.pure {
            return self.call(plugin, function, f);
        }
        let started = std::time::Instant::now();
        let key = memo::key(plugin, function, args);
        if let Some(answer) = self.memo.get::<T>(&key) {
            let receipt = Receipt {
                wall_us: started.elapsed().as_micros() as u64,
                memoized: true,
                ..Receipt::default()
            };
            self.log.record(plugin, function, &Ok(((), receipt)));
            return Ok((answer, receipt));
        }
        let (answer, receipt) = self.call(plugin, function, f)?;
        self.memo.put(key, answer.clone(), size(&answer));
        Ok((answer, receipt))
    }

    /// One call in an instance: a pooled one for a pure plugin when there is one, else a
    /// new one (whose start-up is added to the receipt). A pure plugin's instance goes back
    /// to the pool after a successful call; after a failure it is dropped.
    fn run<T>(
        &self,
        pre: &InstancePre<HostState>,
        plugin: &Resolved,
        f: impl FnOnce(&mut sandbox::Instance) -> wasmtime::Result<T>,
    ) -> std::result::Result<(T, Receipt), Failure> {
        let pooled = if plugin.pure {
            self.pool.take(&plugin.sha256)
        } else {
            None
        };
        let (mut instance, start) = match pooled {
            Some(instance) => (instance, None),
            None => {
                let (instance, r) = sandbox::instantiate(pre, &plugin.id, &plugin.limits)?;
                (instance, Some(r))
            }
        };
        let (value, mut receipt) = sandbox::call(&mut instance, &plugin.limits, f)?;
        match start {
            Some(s) => {
                receipt.fuel_used += s.fuel_used;
                receipt.wall_us += s.wall_us;
                receipt.peak_memory_bytes = receipt.peak_memory_bytes.max(s.peak_memory_bytes);
            }
            None => receipt.reused = true,
        }
        if plugin.pure {
            self.pool.give(&plugin.sha256, instance, &plugin.limits);
        }
        Ok((value, receipt))
    }

    /// Compiles (or reads from the machine's cache) every standard plugin and readies an
    /// instance of each: `serve` runs this in the background after it starts, so the first
    /// validated publish finds its validator loaded. Failures are logged, not returned:
    /// the call that needs the plugin reports them.
    pub fn warm_standard(&self) {
        for plugin in standard::all() {
            let started = std::time::Instant::now();
            let warmed = self.load(&plugin).and_then(|loaded| {
                if plugin.pure && self.pool.idle(&plugin.sha256) == 0 {
                    let (instance, _) = sandbox::instantiate(&loaded.pre, &plugin.id, &plugin.limits)
                        .map_err(|f| failed(&plugin, &f))?;
                    self.pool.give(&plugin.sha256, instance, &plugin.limits);
                }
                Ok(())
            });
            match warmed {
                Ok(()) => {
                    tracing::debug!(plugin = %plugin.id, ms = started.elapsed().as_millis() as u64, "warm")
                }
                Err(e) => tracing::warn!(plugin = %plugin.id, error = %e, "cannot warm the plugin"),
            }
        }
    }

    /// Checks a plugin's bytes against its recorded sha256 and compiles it into the
    /// machine's cache (or finds it there): `setup` does this ahead of the first call and
    /// `doctor` to check each plugin.
    pub fn precompile(&self, plugin: &Resolved) -> Result<()> {
        self.load(plugin).map(|_| ())
    }

    fn output_limit(plugin: &Resolved, bytes: usize) -> Result<()> {
        let limit = plugin.limits.output_kib as usize * 1024;
        if bytes > limit {
            return Err(Error::Plugin {
                plugin: plugin.id.clone(),
                code: "output_too_large",
                message: format!(
                    "returned {bytes} bytes of results; the limit is {limit} (output_kib)"
                ),
            });
        }
        Ok(())
    }
}

/// A call that did not produce a result, as an error naming the plugin and the limit.
fn failed(plugin: &Resolved, failure: &Failure) -> Error {
    Error::Plugin {
        plugin: plugin.id.clone(),
        code: failure.code(),
        message: failure.describe(),
    }
}

fn plugin_error(plugin: &Resolved, e: bindings::PluginError) -> Error {
    let (code, message) = match e {
        bindings::PluginError::InvalidInput(m) => ("plugin_invalid_input", m),
        bindings::PluginError::BadConfig(m) => ("plugin_bad_config", m),
        bindings::PluginError::Failed(m) => ("plugin_failed", m),
    };
    Error::Plugin {
        plugin: plugin.id.clone(),
        code,
        message: format!(
            "reported an error: {}",
            message.chars().take(2000).collect::<String>()
        ),
    }
}

/// The `clearctx:plugin` interfaces a component exports, by name (e.g. `validator`) and
/// the version written after it (`0.0.0` when none is).
fn interfaces(engine: &Engine, component: &Component) -> Vec<(String, String)> {
    component
        .component_type()
        .exports(engine)
        .filter_map(|(name, _)| {
            let rest = name.strip_prefix(API_PACKAGE)?.strip_prefix('/')?;
            let (iface, version) = rest.split_once('@').unwrap_or((rest, "0.0.0"));
            Some((iface.to_string(), version.to_string()))
        })
        .collect()
}

/// Reads the kinds and API version a component declares through its exports, e.g.
/// `clearctx:plugin/validator@1.0.0`. An interface that marks no kind of its own (1.1's
/// `conditions`, exported beside `condition`) counts toward the version only.
pub fn detect(
    engine: &Engine,
    component: &Component,
) -> std::result::Result<(Vec<Kind>, semver::Version), String> {
    let mut kinds = Vec::new();
    let mut api: Option<semver::Version> = None;
    for (iface, version) in interfaces(engine, component) {
        let version = semver::Version::parse(&version).map_err(|e| {
            format!("export `{API_PACKAGE}/{iface}@{version}` has a bad version: {e}")
        })?;
        if version.major != API_MAJOR {
            return Err(format!(
                "it targets {API_PACKAGE}@{version}, but this clearctx supports {API_PACKAGE}@{API_MAJOR}.x; rebuild it against the SDK for API {API_MAJOR}"
            ));
        }
        if let Some(kind) = Kind::ALL.into_iter().find(|k| k.interface() == iface) {
            kinds.push(kind);
        }
        api = Some(api.map_or(version.clone(), |a: semver::Version| a.max(version)));
    }
    match api {
        Some(api) if !kinds.is_empty() => Ok((kinds, api)),
        _ => Err(format!(
            "it exports no {API_PACKAGE} interface (validator, condition, action or template); build it with the clearctx plugin SDK"
        )),
    }
}
