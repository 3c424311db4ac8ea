//! The plugin lock file (`<data dir>/plugins.lock`) and plugin manifests
//! (`clearctx-plugin.toml`).
//!
//! The lock file is the record of what the user installed and consented to: per plugin its
//! id, version, sha256, kinds, API version, granted capabilities and limits. It is TOML,
//! rewritten whole through a temporary file and a rename (so a crash leaves the old or the
//! new file), under an exclusive file lock (so two `plugin add`s do not lose each other).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Kind;
use super::limits::{Limits, Requested};
use crate::error::{Error, Result};

pub const LOCK_FILE: &str = "plugins.lock";
pub const MANIFEST_FILE: &str = "clearctx-plugin.toml";

/// Capabilities a plugin may be granted. Validators, conditions and templates need none.
pub const CAPABILITIES: &[(&str, &str)] = &[
    ("notify", "send notifications to sessions"),
    ("contracts:write", "create, reopen and complete contracts"),
    ("artifacts:write", "publish artifact versions"),
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<Entry>,
}

fn one() -> u32 {
    1
}

/// One installed plugin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub version: String,
    pub description: String,
    pub kinds: Vec<Kind>,
    /// The `clearctx:plugin` version the component targets, read from its exports.
    pub api: String,
    pub sha256: String,
    /// Where it was installed from.
    pub source: String,
    /// The component, relative to the data dir.
    pub path: String,
    pub enabled: bool,
    pub granted: Vec<String>,
    pub limits: Limits,
    /// Declared pure in its manifest: its instances are reused and its answers remembered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pure: bool,
    /// Artifact types it validates (validators).
    #[serde(default)]
    pub types: Vec<String>,
    /// Templates it renders (prompt templates).
    #[serde(default)]
    pub templates: Vec<String>,
    pub installed_at: String,
}

/// `clearctx-plugin.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub plugin: ManifestPlugin,
    #[serde(default)]
    pub capabilities: ManifestCapabilities,
    #[serde(default)]
    pub limits: Requested,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPlugin {
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// The component, relative to the manifest; for crates, found after the build.
    #[serde(default)]
    pub wasm: Option<String>,
    /// The plugin promises that an answer depends only on the call's arguments: no state
    /// carried from one call to the next changes it. clearctx may then reuse an instance
    /// for many calls and remember answers (see the SDK's README).
    #[serde(default)]
    pub pure: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCapabilities {
    #[serde(default)]
    pub requested: Vec<String>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = fs::read_to_string(path).map_err(|e| {
            Error::invalid("manifest", format!("cannot read `{}`: {e}", path.display()))
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            Error::invalid(
                "manifest",
                format!("`{}` is not a valid manifest: {e}", path.display()),
            )
        })?;
        crate::ids::check_id("plugin.id", &manifest.plugin.id)?;
        semver::Version::parse(&manifest.plugin.version).map_err(|e| {
            Error::invalid(
                "plugin.version",
                format!("`{}` is not a semver version: {e}", manifest.plugin.version),
            )
        })?;
        for cap in &manifest.capabilities.requested {
            if !CAPABILITIES.iter().any(|(c, _)| c == cap) {
                return Err(Error::invalid(
                    "capabilities.requested",
                    format!(
                        "unknown capability `{cap}`; known: {}",
                        CAPABILITIES
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(manifest)
    }
}

impl LockFile {
    pub fn path(home: &Path) -> PathBuf {
        home.join(LOCK_FILE)
    }

    /// Reads the lock file; a missing file is an empty lock.
    pub fn read(home: &Path) -> Result<LockFile> {
        let path = LockFile::path(home);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::Corrupt(format!(
                    "`{}` cannot be read: {e}; fix or remove it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile {
                version: 1,
                plugins: Vec::new(),
            }),
            Err(e) => Err(Error::DataDir { path, source: e }),
        }
    }

    /// Runs `f` on the lock file under an exclusive lock and writes the result atomically.
    pub fn update<T>(home: &Path, f: impl FnOnce(&mut LockFile) -> Result<T>) -> Result<T> {
        let io = |source| Error::DataDir {
            path: home.to_path_buf(),
            source,
        };
        let guard = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(home.join("plugins.lock.lck"))
            .map_err(io)?;
        guard.lock().map_err(io)?;
        let mut lock = LockFile::read(home)?;
        let out = f(&mut lock)?;
        let text = toml::to_string_pretty(&lock).expect("the lock file serializes");
        let tmp = home.join("plugins.lock.tmp");
        fs::write(
            &tmp,
            format!("# Written by clearctx; edit with `clearctx plugin`.\n{text}"),
        )
        .map_err(io)?;
        fs::rename(&tmp, LockFile::path(home)).map_err(io)?;
        drop(guard);
        Ok(out)
    }

    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.plugins.iter().find(|p| p.id == id)
    }
}
