//! `clearctx plugin add`: from a `.wasm`, a folder with `clearctx-plugin.toml`, or a plugin
//! crate (built for `wasm32-wasip2`), to an entry in the lock file and a precompiled copy.
//!
//! Two steps, so the CLI can ask for consent between them: [`PluginHost::plan`] builds and
//! inspects the plugin and says what it asks for; [`PluginHost::commit`] records it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::limits::Limits;
use super::lock::{Entry, LockFile, MANIFEST_FILE, Manifest};
use super::{Bytes, Kind, PluginHost, Resolved, standard};
use crate::error::{Error, Result};

/// Where the plugin comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Path(PathBuf),
}

/// Choices the user made on the command line.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Grant exactly these capabilities instead of all that the plugin requests.
    pub grants: Option<Vec<String>>,
    /// Installed plugins whose validation of a type this one takes over.
    pub replace: Vec<String>,
}

/// A type the new plugin declares that an installed, enabled plugin validates already.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub artifact_type: String,
    pub plugin: String,
}

/// What installing would do; shown to the user before they consent.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub id: String,
    pub version: String,
    pub description: String,
    pub kinds: Vec<Kind>,
    pub api: String,
    pub sha256: String,
    pub source: String,
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    pub limits: Limits,
    /// Declared pure: clearctx may reuse its instances and remember its answers.
    pub pure: bool,
    pub types: Vec<String>,
    pub templates: Vec<String>,
    /// The version this replaces, if the id was installed already.
    pub replaces: Option<String>,
    /// Types another installed plugin validates already; installing needs `replace` for them.
    pub conflicts: Vec<Conflict>,
    /// The plugins named to give those types up.
    pub replace: Vec<String>,
    /// The component that was read (for crates, in their target dir).
    pub wasm_path: String,
    #[serde(skip)]
    bytes: Vec<u8>,
}

impl AddReport {
    /// Refuses a plugin that would take types over from installed ones without being told
    /// to (`replace`): two validators for one type would leave one off without a word.
    pub fn check_conflicts(&self) -> Result<()> {
        let unresolved: Vec<String> = self
            .conflicts
            .iter()
            .filter(|c| !self.replace.contains(&c.plugin))
            .map(|c| format!("`{}` (validated by `{}`)", c.artifact_type, c.plugin))
            .collect();
        if !unresolved.is_empty() {
            let plugins: std::collections::BTreeSet<&str> =
                self.conflicts.iter().map(|c| c.plugin.as_str()).collect();
            return Err(Error::conflict(format!(
                "plugin `{}` declares {} already; install it with replace ({}) to make it the validator of those types, or remove the other plugin first",
                self.id,
                unresolved.join(", "),
                plugins
                    .iter()
                    .map(|p| format!("--replace {p}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        Ok(())
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::invalid("plugin", message)
}

impl PluginHost {
    /// Builds (for crates), reads and inspects a plugin without installing it.
    pub fn plan(&self, source: &Source, options: &AddOptions) -> Result<AddReport> {
        let Source::Path(path) = source;
        let path = path
            .canonicalize()
            .map_err(|e| bad(format!("cannot read `{}`: {e}", path.display())))?;
        let (manifest, wasm) = if path.is_dir() {
            let manifest_path = path.join(MANIFEST_FILE);
            let manifest = manifest_path
                .is_file()
                .then(|| Manifest::read(&manifest_path))
                .transpose()?;
            let wasm = match manifest.as_ref().and_then(|m| m.plugin.wasm.clone()) {
                Some(w) => path.join(w),
                None if path.join("Cargo.toml").is_file() => build_crate(&path)?,
                None => {
                    return Err(bad(format!(
                        "`{}` has neither a `{MANIFEST_FILE}` naming its `wasm` nor a Cargo.toml to build",
                        path.display()
                    )));
                }
            };
            let manifest = match manifest {
                Some(m) => m,
                None => manifest_from_cargo(&path)?,
            };
            (manifest, wasm)
        } else {
            let beside = path.with_file_name(MANIFEST_FILE);
            let manifest = if beside.is_file() {
                Manifest::read(&beside)?
            } else {
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("plugin")
                    .replace('_', "-");
                let mut m = Manifest::default();
                m.plugin.id = stem;
                m.plugin.version = "0.1.0".into();
                m
            };
            (manifest, path.clone())
        };
        let bytes = std::fs::read(&wasm)
            .map_err(|e| bad(format!("cannot read `{}`: {e}", wasm.display())))?;
        let id = manifest.plugin.id.clone();
        crate::ids::check_id("plugin.id", &id)?;
        if standard::kind_of(&id).is_some() {
            return Err(bad(format!(
                "`{id}` is the id of a standard plugin; pick another id (a plugin overrides a standard one by declaring the same artifact types or templates)"
            )));
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(bad(format!("`{}` is not WebAssembly", wasm.display())));
        }
        if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
            return Err(bad(format!(
                "`{}` is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2`",
                wasm.display()
            )));
        }
        let sha256 = crate::model::sha256_hex(&bytes);
        let rt = self.runtime()?;
        let component = super::cache::load(
            &rt.engine,
            &self.cache_dir,
            &rt.compat,
            &id,
            &sha256,
            &bytes,
        )
        .map_err(|e| bad(e.to_string()))?;
        let (kinds, api) = super::detect(&rt.engine, &component)
            .map_err(|m| bad(format!("plugin `{id}`: {m}")))?;
        let limits = Limits::resolve(&kinds, &manifest.limits)
            .map_err(|m| bad(format!("plugin `{id}`: {m}")))?;
        let requested = manifest.capabilities.requested.clone();
        let granted = match &options.grants {
            None => requested.clone(),
            Some(g) => {
                for cap in g {
                    if !requested.contains(cap) {
                        return Err(Error::invalid(
                            "--grant",
                            format!(
                                "plugin `{id}` does not request `{cap}`; it requests: {}",
                                list_or_none(&requested)
                            ),
                        ));
                    }
                }
                g.clone()
            }
        };
        // Ask the plugin what it provides, through the real sandbox.
        let probe = Resolved {
            id: id.clone(),
            version: manifest.plugin.version.clone(),
            standard: false,
            pure: manifest.plugin.pure,
            limits,
            granted: granted.clone(),
            bytes: Bytes::File(wasm.clone()),
            sha256: sha256.clone(),
        };
        let types = if kinds.contains(&Kind::ArtifactValidator) {
            let declared = self.declared_types(&probe)?;
            for t in &declared {
                crate::ids::check_id("type", &t.name)
                    .map_err(|e| bad(format!("plugin `{id}` declares a bad type: {e}")))?;
            }
            declared.into_iter().map(|t| t.name).collect()
        } else {
            Vec::new()
        };
        let templates = if kinds.contains(&Kind::PromptTemplate) {
            self.declared_templates(&probe)?
                .into_iter()
                .map(|t| t.name)
                .collect()
        } else {
            Vec::new()
        };
        let (replaces, conflicts) = {
            let state = self.state()?;
            let replaces = state.lock.find(&id).map(|e| e.version.clone());
            let conflicts: Vec<Conflict> = types
                .iter()
                .flat_map(|t| {
                    state
                        .lock
                        .plugins
                        .iter()
                        .filter(|e| e.id != id && e.enabled && e.types.contains(t))
                        .map(|e| Conflict {
                            artifact_type: t.clone(),
                            plugin: e.id.clone(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            (replaces, conflicts)
        };
        for r in &options.replace {
            if !conflicts.iter().any(|c| &c.plugin == r) {
                return Err(Error::invalid(
                    "replace",
                    format!(
                        "`{r}` validates none of the types `{id}` declares; nothing to replace"
                    ),
                ));
            }
        }
        Ok(AddReport {
            id,
            version: manifest.plugin.version.clone(),
            description: manifest.plugin.description.clone(),
            kinds,
            api: api.to_string(),
            sha256,
            source: path.display().to_string(),
            requested,
            granted,
            limits,
            pure: manifest.plugin.pure,
            types,
            templates,
            replaces,
            conflicts,
            replace: options.replace.clone(),
            wasm_path: wasm.display().to_string(),
            bytes,
        })
    }

    /// Copies the component into the data dir and records it in the lock file.
    pub fn commit(&self, report: &AddReport) -> Result<Entry> {
        report.check_conflicts()?;
        let rel = format!("plugins/{}/{}/plugin.wasm", report.id, report.version);
        let dest = self.home.join(&rel);
        let io = |source| Error::DataDir {
            path: dest.clone(),
            source,
        };
        std::fs::create_dir_all(dest.parent().expect("has a folder")).map_err(io)?;
        let tmp = dest.with_extension("wasm.tmp");
        std::fs::write(&tmp, &report.bytes).map_err(io)?;
        std::fs::rename(&tmp, &dest).map_err(io)?;
        let entry = Entry {
            id: report.id.clone(),
            version: report.version.clone(),
            description: report.description.clone(),
            kinds: report.kinds.clone(),
            api: report.api.clone(),
            sha256: report.sha256.clone(),
            source: report.source.clone(),
            path: rel,
            enabled: true,
            granted: report.granted.clone(),
            limits: report.limits,
            pure: report.pure,
            types: report.types.clone(),
            templates: report.templates.clone(),
            installed_at: crate::time::rfc3339(crate::time::now_ms()),
        };
        let old = LockFile::update(&self.home, |lock| {
            let old = lock
                .plugins
                .iter()
                .position(|e| e.id == entry.id)
                .map(|i| lock.plugins.remove(i));
            // A replaced plugin gives up the types the new one takes over, and only those.
            for c in &report.conflicts {
                if let Some(e) = lock.plugins.iter_mut().find(|e| e.id == c.plugin) {
                    e.types.retain(|t| *t != c.artifact_type);
                }
            }
            lock.plugins.push(entry.clone());
            Ok(old)
        })?;
        if let Some(old) = old
            && old.version != entry.version
        {
            let _ =
                std::fs::remove_dir_all(self.home.join("plugins").join(&old.id).join(&old.version));
        }
        Ok(entry)
    }
}

fn list_or_none(caps: &[String]) -> String {
    if caps.is_empty() {
        "none".to_string()
    } else {
        caps.join(", ")
    }
}

/// A crate without a manifest: id and version come from its Cargo.toml.
fn manifest_from_cargo(dir: &Path) -> Result<Manifest> {
    #[derive(serde::Deserialize)]
    struct CargoToml {
        package: Package,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: String,
        version: String,
        #[serde(default)]
        description: Option<String>,
    }
    let text = std::fs::read_to_string(dir.join("Cargo.toml"))
        .map_err(|e| bad(format!("cannot read Cargo.toml: {e}")))?;
    let cargo: CargoToml = toml::from_str(&text).map_err(|e| bad(format!("Cargo.toml: {e}")))?;
    let mut m = Manifest::default();
    m.plugin.id = cargo.package.name;
    m.plugin.version = cargo.package.version;
    m.plugin.description = cargo.package.description.unwrap_or_default();
    Ok(m)
}

/// Builds a plugin crate for `wasm32-wasip2` in release mode, with cargo's progress on
/// stderr, and returns the component it produced.
fn build_crate(dir: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building {} for wasm32-wasip2 ...", dir.display());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| bad(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(bad(format!(
            "building `{}` failed (see cargo's output above); is the target installed? `rustup target add wasm32-wasip2`",
            dir.display()
        )));
    }
    let mut wasm = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
            && let Some(f) = msg["filenames"].as_array().and_then(|f| {
                f.iter()
                    .find_map(|f| f.as_str().filter(|f| f.ends_with(".wasm")))
            })
        {
            wasm = Some(PathBuf::from(f));
        }
    }
    wasm.ok_or_else(|| {
        bad(format!(
            "building `{}` produced no .wasm; is it a `crate-type = [\"cdylib\"]` crate?",
            dir.display()
        ))
    })
}
