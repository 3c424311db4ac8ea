//! `plugins`: the WebAssembly plugin host. The only module that knows wasmtime.
//!
//! Rules a team may change (artifact validators, pipeline conditions and actions, prompt
//! templates) are components targeting `clearctx:plugin@1` (see `wit/`). The standard
//! plugins are built from `plugins/` and embedded in the binary; users add their own with
//! `clearctx plugin add`, recorded in the lock file (`lock.rs`). A user plugin overrides a
//! standard one for the same artifact type or template name.
//!
//! Loading is lazy: the engine is built and a component compiled (or its precompiled copy
//! read from the cache, keyed by sha256 and the engine's compatibility hash) on first use,
//! so `serve` answers `tools/list` without touching wasmtime. Each call gets a fresh store
//! (`sandbox.rs`) and returns a receipt of what it used.

pub mod bindings;
mod calls;
mod install;
pub mod limits;
pub mod lock;
mod sandbox;
mod scaffold;
mod standard;

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
pub use scaffold::{NewOptions, scaffold};

/// The plugin API major version this host supports.
pub const API_MAJOR: u64 = 1;
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
    loaded: HashMap<String, Arc<InstancePre<HostState>>>,
}

pub struct PluginHost {
    home: PathBuf,
    cache_dir: PathBuf,
    runtime: OnceLock<std::result::Result<Runtime, String>>,
    state: Mutex<State>,
    /// Held while a component is compiled or read from the cache, so a burst of first calls
    /// compiles it once instead of once per waiting thread.
    loading: Mutex<()>,
}

impl PluginHost {
    /// Creates the host; cheap: nothing is compiled until a plugin is first called.
    pub fn new(home: &Path) -> PluginHost {
        let cache_dir = std::env::var_os("CLEARCTX_CACHE_DIR")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("cache"));
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
        }
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
    fn load(&self, plugin: &Resolved) -> Result<Arc<InstancePre<HostState>>> {
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
        let component = self.compile_cached(rt, &plugin.id, &sha, &bytes)?;
        let pre = rt
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Plugin {
                plugin: plugin.id.clone(),
                code: "link",
                message: format!("it imports something clearctx does not provide: {e:#}"),
            })?;
        let pre = Arc::new(pre);
        self.loaded().loaded.insert(sha, pre.clone());
        Ok(pre)
    }

    /// Reads `<cache>/<sha256>-<engine hash>.cwasm`, or compiles and writes it.
    fn compile_cached(&self, rt: &Runtime, id: &str, sha: &str, bytes: &[u8]) -> Result<Component> {
        let path = self.cache_dir.join(format!("{sha}-{}.cwasm", rt.compat));
        if path.is_file() {
            // SAFETY: the cache dir is written only by clearctx (below), from bytes whose
            // sha256 we just checked, and the file name carries the engine's compatibility
            // hash; wasmtime also checks the header and refuses a mismatched file.
            match unsafe { Component::deserialize_file(&rt.engine, &path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(plugin = id, error = %e, "precompiled copy unusable; recompiling")
                }
            }
        }
        let compiled = rt
            .engine
            .precompile_component(bytes)
            .map_err(|e| Error::Plugin {
                plugin: id.to_string(),
                code: "compile",
                message: format!("it is not a valid component: {e:#}"),
            })?;
        if std::fs::create_dir_all(&self.cache_dir).is_ok() {
            let tmp = self
                .cache_dir
                .join(format!("{sha}.{}.tmp", std::process::id()));
            if std::fs::write(&tmp, &compiled)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .is_err()
            {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(plugin = id, cache = %self.cache_dir.display(), "cannot write the precompiled copy");
            }
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(&rt.engine, &compiled) }.map_err(|e| Error::Plugin {
            plugin: id.to_string(),
            code: "compile",
            message: format!("{e:#}"),
        })
    }

    /// Runs one call of `plugin`, records it in the call log, and maps failures to errors
    /// that name the plugin and the limit it hit.
    fn call<T>(
        &self,
        plugin: &Resolved,
        function: &str,
        f: impl FnOnce(
            &mut wasmtime::Store<HostState>,
            &wasmtime::component::Instance,
        ) -> wasmtime::Result<T>,
    ) -> Result<(T, Receipt)> {
        let pre = self.load(plugin)?;
        let outcome = sandbox::call(&pre, &plugin.id, &plugin.limits, f);
        calls::record(&self.home, plugin, function, &outcome);
        outcome.map_err(|failure| Error::Plugin {
            plugin: plugin.id.clone(),
            code: failure.code(),
            message: failure.describe(),
        })
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

    /// Validates `data` with the validator for `artifact_type` (`validation` is `None` when
    /// the type has none), and names the installed validators of the type that are disabled.
    pub fn validate(&self, artifact_type: &str, data: &str) -> Result<Checked> {
        let (active, disabled) = self.validators_of(artifact_type)?;
        let validation = match active {
            Some(plugin) => Some(self.validate_with(&plugin, artifact_type, data)?),
            None => None,
        };
        Ok(Checked {
            validation,
            disabled,
        })
    }

    pub fn validate_with(
        &self,
        plugin: &Resolved,
        artifact_type: &str,
        data: &str,
    ) -> Result<Validation> {
        let (result, receipt) = self.call(plugin, "validate", |store, instance| {
            let v = bindings::validator::ArtifactValidator::new(&mut *store, instance)?;
            v.clearctx_plugin_validator()
                .call_validate(&mut *store, artifact_type, data)
        })?;
        let violations = result.map_err(|e| plugin_error(plugin, e))?;
        let size: usize = violations
            .iter()
            .map(|v| v.path.len() + v.message.len() + v.code.len())
            .sum();
        Self::output_limit(plugin, size)?;
        Ok(Validation {
            plugin: plugin.id.clone(),
            plugin_version: plugin.version.clone(),
            violations: violations
                .into_iter()
                .map(|v| Violation {
                    path: v.path,
                    message: v.message,
                    code: v.code,
                })
                .collect(),
            receipt,
        })
    }

    /// The types a validator declares.
    pub fn declared_types(&self, plugin: &Resolved) -> Result<Vec<TypeInfo>> {
        let (types, _) = self.call(plugin, "types", |store, instance| {
            let v = bindings::validator::ArtifactValidator::new(&mut *store, instance)?;
            v.clearctx_plugin_validator().call_types(&mut *store)
        })?;
        Ok(types
            .into_iter()
            .map(|t| TypeInfo {
                schema: t.schema.and_then(|s| serde_json::from_str(&s).ok()),
                name: t.name,
                description: t.description,
                plugin: plugin.id.clone(),
            })
            .collect())
    }

    /// Every artifact type some enabled validator declares, user plugins first.
    pub fn all_types(&self) -> Result<Vec<TypeInfo>> {
        let mut out: Vec<TypeInfo> = Vec::new();
        let mut plugins: Vec<Resolved> = {
            let state = self.state()?;
            state
                .lock
                .plugins
                .iter()
                .rev()
                .filter(|e| e.enabled && e.kinds.contains(&Kind::ArtifactValidator))
                .map(|e| self.resolve_entry(e))
                .collect()
        };
        plugins.extend(
            standard::all()
                .into_iter()
                .filter(|p| standard::kind_of(&p.id) == Some(Kind::ArtifactValidator)),
        );
        for p in plugins {
            for t in self.declared_types(&p)? {
                if !out.iter().any(|o| o.name == t.name) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Evaluates a condition expression with `plugin` (default: the standard CEL plugin).
    pub fn evaluate(
        &self,
        plugin: Option<&str>,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt, String)> {
        let plugin = match plugin {
            Some(id) => self.resolve(id)?,
            None => standard::require(standard::CONDITION)?,
        };
        let (b, r) = self.evaluate_with(&plugin, expression, context)?;
        Ok((b, r, plugin.id))
    }

    pub fn evaluate_with(
        &self,
        plugin: &Resolved,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt)> {
        let context = context.to_string();
        let (result, receipt) = self.call(plugin, "evaluate", |store, instance| {
            let c = bindings::condition::PipelineCondition::new(&mut *store, instance)?;
            c.clearctx_plugin_condition()
                .call_evaluate(&mut *store, expression, &context)
        })?;
        Ok((result.map_err(|e| plugin_error(plugin, e))?, receipt))
    }

    /// The template named `name`: from an enabled installed plugin that declares it, else standard.
    pub fn template_plugin(&self, name: &str) -> Result<Resolved> {
        let state = self.state()?;
        if let Some(e) = state.lock.plugins.iter().rev().find(|e| {
            e.enabled
                && e.kinds.contains(&Kind::PromptTemplate)
                && e.templates.iter().any(|t| t == name)
        }) {
            return Ok(self.resolve_entry(e));
        }
        drop(state);
        standard::require(standard::TEMPLATES)
    }

    /// Renders template `name` with the plugin that provides it.
    pub fn render(&self, name: &str, variables: &Value) -> Result<(String, Receipt, String)> {
        let plugin = self.template_plugin(name)?;
        match self.render_with(&plugin, name, variables) {
            Ok((text, receipt)) => Ok((text, receipt, plugin.id)),
            // A name no plugin declares is the caller's mistake, not the plugin's failure.
            Err(
                e @ Error::Plugin {
                    code: "plugin_invalid_input",
                    ..
                },
            ) => {
                let known = self.declared_templates(&plugin)?;
                if known.iter().any(|t| t.name == name) {
                    return Err(e);
                }
                let names: Vec<&str> = known.iter().map(|t| t.name.as_str()).collect();
                Err(Error::invalid(
                    "template",
                    format!(
                        "no template `{name}`; the templates are: {} (a template plugin adds more)",
                        names.join(", ")
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    pub fn render_with(
        &self,
        plugin: &Resolved,
        name: &str,
        variables: &Value,
    ) -> Result<(String, Receipt)> {
        let vars = variables.to_string();
        let (result, receipt) = self.call(plugin, "render", |store, instance| {
            let t = bindings::template::PromptTemplate::new(&mut *store, instance)?;
            t.clearctx_plugin_template()
                .call_render(&mut *store, name, &vars)
        })?;
        let text = result.map_err(|e| plugin_error(plugin, e))?;
        Self::output_limit(plugin, text.len())?;
        Ok((text, receipt))
    }

    pub fn declared_templates(&self, plugin: &Resolved) -> Result<Vec<TemplateInfo>> {
        let (list, _) = self.call(plugin, "templates", |store, instance| {
            let t = bindings::template::PromptTemplate::new(&mut *store, instance)?;
            t.clearctx_plugin_template().call_templates(&mut *store)
        })?;
        Ok(list
            .into_iter()
            .map(|t| TemplateInfo {
                name: t.name,
                description: t.description,
                variables: t.variables,
                plugin: plugin.id.clone(),
            })
            .collect())
    }

    /// Runs an action and checks each command it returns against the plugin's grants.
    /// Nothing is executed here: executing belongs to the pipeline that fired the action.
    pub fn run_action(
        &self,
        plugin: &Resolved,
        config: &Value,
        context: &Value,
    ) -> Result<(Vec<Command>, Receipt)> {
        let (config, context) = (config.to_string(), context.to_string());
        let (result, receipt) = self.call(plugin, "run", |store, instance| {
            let a = bindings::action::PipelineAction::new(&mut *store, instance)?;
            a.clearctx_plugin_action()
                .call_run(&mut *store, &config, &context)
        })?;
        let commands = result.map_err(|e| plugin_error(plugin, e))?;
        use bindings::action::exports::clearctx::plugin::action::HostCommand as H;
        let out: Vec<Command> = commands
            .into_iter()
            .map(|c| {
                let (command, capability, args) = match c {
                    H::NotifySession(n) => (
                        "notify_session",
                        "notify",
                        serde_json::json!({"target": n.target, "message": n.message}),
                    ),
                    H::ReopenContract(r) => (
                        "reopen_contract",
                        "contracts:write",
                        serde_json::json!({"contract_id": r.contract_id, "reason": r.reason}),
                    ),
                    H::CompleteContract(id) => (
                        "complete_contract",
                        "contracts:write",
                        serde_json::json!({"contract_id": id}),
                    ),
                    H::CreateContract(json) => (
                        "create_contract",
                        "contracts:write",
                        serde_json::from_str(&json).unwrap_or(Value::String(json)),
                    ),
                    H::PublishArtifact(json) => (
                        "publish_artifact",
                        "artifacts:write",
                        serde_json::from_str(&json).unwrap_or(Value::String(json)),
                    ),
                };
                Command {
                    command: command.to_string(),
                    allowed: plugin.granted.iter().any(|g| g == capability),
                    capability: capability.to_string(),
                    args,
                }
            })
            .collect();
        Self::output_limit(plugin, out.iter().map(|c| c.args.to_string().len()).sum())?;
        Ok((out, receipt))
    }

    /// Every plugin: installed ones, then the standard ones.
    pub fn list(&self) -> Result<Vec<Summary>> {
        let state = self.state()?;
        let mut out: Vec<Summary> = state.lock.plugins.iter().map(summary_of_entry).collect();
        drop(state);
        out.extend(standard::summaries());
        Ok(out)
    }

    pub fn info(&self, id: &str) -> Result<Detail> {
        crate::ids::check_id("plugin", id)?;
        let (summary, source, path) = {
            let state = self.state()?;
            match state.lock.find(id) {
                Some(e) => (
                    summary_of_entry(e),
                    e.source.clone(),
                    Some(self.home.join(&e.path)),
                ),
                None => {
                    let s = standard::summaries()
                        .into_iter()
                        .find(|s| s.id == id)
                        .ok_or_else(|| {
                            Error::not_found_hint(
                                "plugin",
                                id,
                                "`clearctx plugin list` shows the installed and standard plugins",
                            )
                        })?;
                    (s, "embedded in clearctx".to_string(), None)
                }
            }
        };
        let intact = match &path {
            Some(p) => std::fs::read(p)
                .map(|b| crate::model::sha256_hex(&b) == summary.sha256)
                .unwrap_or(false),
            None => true,
        };
        let records = calls::recent(&self.home, id);
        let failures: Vec<CallRecord> = records.iter().filter(|r| !r.ok).cloned().collect();
        let last_ok = records.last().is_none_or(|r| r.ok);
        let health = match (intact, summary.enabled, last_ok) {
            (false, _, _) => {
                "broken: its component changed or is missing since install; reinstall it"
                    .to_string()
            }
            (true, false, _) => "disabled".to_string(),
            (true, true, false) => format!(
                "failing: last call failed ({})",
                failures
                    .last()
                    .map(|f| f.error.clone().unwrap_or_default())
                    .unwrap_or_default()
            ),
            (true, true, true) => "ok".to_string(),
        };
        Ok(Detail {
            source,
            health,
            calls: records.len() as u64,
            failures: failures.len() as u64,
            max_fuel_used: records.iter().map(|r| r.fuel_used).max().unwrap_or(0),
            max_wall_us: records.iter().map(|r| r.wall_us).max().unwrap_or(0),
            max_peak_memory_bytes: records
                .iter()
                .map(|r| r.peak_memory_bytes)
                .max()
                .unwrap_or(0),
            recent_failures: failures.into_iter().rev().take(10).collect(),
            summary,
        })
    }

    /// Sets `enabled` of an installed plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<Summary> {
        crate::ids::check_id("plugin", id)?;
        let summary = LockFile::update(&self.home, |lock| {
            let entry = lock
                .plugins
                .iter_mut()
                .find(|e| e.id == id)
                .ok_or_else(|| missing_installed(id))?;
            entry.enabled = enabled;
            Ok(summary_of_entry(entry))
        })?;
        Ok(summary)
    }

    /// Removes an installed plugin and its files.
    pub fn remove(&self, id: &str) -> Result<Summary> {
        crate::ids::check_id("plugin", id)?;
        let removed = LockFile::update(&self.home, |lock| {
            let pos = lock
                .plugins
                .iter()
                .position(|e| e.id == id)
                .ok_or_else(|| missing_installed(id))?;
            Ok(lock.plugins.remove(pos))
        })?;
        let dir = self.home.join("plugins").join(&removed.id);
        let _ = std::fs::remove_dir_all(dir);
        Ok(summary_of_entry(&removed))
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A plugin read by [`PluginHost::plan`] but not installed, for `plugin test <path>`.
    pub fn probe(&self, report: &AddReport) -> Resolved {
        Resolved {
            id: report.id.clone(),
            version: report.version.clone(),
            standard: false,
            limits: report.limits,
            granted: report.granted.clone(),
            bytes: Bytes::File(PathBuf::from(&report.wasm_path)),
            sha256: report.sha256.clone(),
        }
    }

    /// Runs `plugin` once on `input` in the real sandbox (`clearctx plugin test`).
    pub fn test(&self, plugin: &Resolved, input: &TestInput) -> Result<TestOutcome> {
        let (kind, result, receipt) = match input {
            TestInput::Validate {
                artifact_type,
                data,
            } => {
                let artifact_type = match artifact_type {
                    Some(t) => t.clone(),
                    None => self
                        .declared_types(plugin)?
                        .into_iter()
                        .next()
                        .map(|t| t.name)
                        .ok_or_else(|| {
                            Error::invalid(
                                "--type",
                                format!(
                                    "plugin `{}` declares no artifact type; give --type",
                                    plugin.id
                                ),
                            )
                        })?,
                };
                let v = self.validate_with(plugin, &artifact_type, &data.to_string())?;
                let value = serde_json::json!({ "type": artifact_type, "valid": v.violations.is_empty(), "violations": v.violations });
                (Kind::ArtifactValidator, value, v.receipt)
            }
            TestInput::Evaluate {
                expression,
                context,
            } => {
                let (b, r) = self.evaluate_with(plugin, expression, context)?;
                (
                    Kind::PipelineCondition,
                    serde_json::json!({ "expression": expression, "result": b }),
                    r,
                )
            }
            TestInput::Render {
                template,
                variables,
            } => {
                let (text, r) = self.render_with(plugin, template, variables)?;
                (
                    Kind::PromptTemplate,
                    serde_json::json!({ "template": template, "text": text }),
                    r,
                )
            }
            TestInput::Run { config, context } => {
                let (commands, r) = self.run_action(plugin, config, context)?;
                (
                    Kind::PipelineAction,
                    serde_json::json!({ "commands": commands }),
                    r,
                )
            }
        };
        Ok(TestOutcome {
            plugin: plugin.id.clone(),
            version: plugin.version.clone(),
            kind,
            result,
            receipt,
        })
    }
}

/// What `plugin test` feeds a plugin.
#[derive(Debug, Clone)]
pub enum TestInput {
    Validate {
        artifact_type: Option<String>,
        data: Value,
    },
    Evaluate {
        expression: String,
        context: Value,
    },
    Render {
        template: String,
        variables: Value,
    },
    Run {
        config: Value,
        context: Value,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub plugin: String,
    pub version: String,
    pub kind: Kind,
    pub result: Value,
    pub receipt: Receipt,
}

fn missing_installed(id: &str) -> Error {
    if standard::resolve(id).is_some() {
        Error::conflict(format!(
            "plugin `{id}` is a standard plugin, part of clearctx; install a plugin for the same types or templates to override it"
        ))
    } else {
        Error::not_found_hint(
            "plugin",
            id,
            "`clearctx plugin list` shows the installed plugins",
        )
    }
}

fn summary_of_entry(e: &Entry) -> Summary {
    Summary {
        id: e.id.clone(),
        version: e.version.clone(),
        description: e.description.clone(),
        kinds: e.kinds.clone(),
        api: e.api.clone(),
        standard: false,
        enabled: e.enabled,
        types: e.types.clone(),
        templates: e.templates.clone(),
        granted: e.granted.clone(),
        limits: e.limits,
        sha256: e.sha256.clone(),
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

/// Reads the kinds and API version a component declares through its exports, e.g.
/// `clearctx:plugin/validator@1.0.0`.
pub fn detect(
    engine: &Engine,
    component: &Component,
) -> std::result::Result<(Vec<Kind>, semver::Version), String> {
    let mut kinds = Vec::new();
    let mut api: Option<semver::Version> = None;
    for (name, _) in component.component_type().exports(engine) {
        let Some(rest) = name.strip_prefix(&format!("{API_PACKAGE}/")) else {
            continue;
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, "0.0.0"));
        let version = semver::Version::parse(version)
            .map_err(|e| format!("export `{name}` has a bad version: {e}"))?;
        if version.major != API_MAJOR {
            return Err(format!(
                "it targets {API_PACKAGE}@{version}, but this clearctx supports {API_PACKAGE}@{API_MAJOR}.x; rebuild it against the SDK for API {API_MAJOR}"
            ));
        }
        if let Some(kind) = Kind::ALL.into_iter().find(|k| k.interface() == iface) {
            kinds.push(kind);
            api = Some(api.map_or(version.clone(), |a: semver::Version| a.max(version)));
        }
    }
    match api {
        Some(api) => Ok((kinds, api)),
        None => Err(format!(
            "it exports no {API_PACKAGE} interface (validator, condition, action or template); build it with the clearctx plugin SDK"
        )),
    }
}
