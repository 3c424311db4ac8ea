//! The machine-wide cache of compiled components, so a component is compiled once per
//! machine rather than once per data dir or process.
//!
//! An entry is `<sha256 of the component>-<engine compatibility hash>.cwasm`, wasmtime's
//! precompiled bytes, beside `….cwasm.blake3`, their BLAKE3 digest. Both are written through
//! a temp file and a rename (a reader never sees half a file), under a lock file so two
//! processes on a cold machine compile once between them, and the entry is checked before
//! use: one that is truncated, altered or from another engine is compiled again and
//! replaced, never run. The code is hashed through a memory map and then mapped by wasmtime
//! (no copy: a load costs about what hashing 9 MiB does). The check is against corruption
//! and stray writes; the cache has the same owner as the data dirs, like `~/.cargo`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, Result};

/// Where the entry of component `sha256` lives for an engine of compatibility hash `compat`.
fn entry_path(dir: &Path, sha256: &str, compat: &str) -> PathBuf {
    dir.join(format!("{sha256}-{compat}.cwasm"))
}

/// The component, from its cache entry if that is sound, else compiled and stored.
pub fn load(
    engine: &Engine,
    dir: &Path,
    compat: &str,
    id: &str,
    sha256: &str,
    bytes: &[u8],
) -> Result<Component> {
    let path = entry_path(dir, sha256, compat);
    if let Some(c) = read(engine, &path, id) {
        return Ok(c);
    }
    // Another process may be compiling the same component: wait for it, then use its entry.
    let held = lock(dir, sha256, compat);
    if held.is_some()
        && let Some(c) = read(engine, &path, id)
    {
        return Ok(c);
    }
    let started = std::time::Instant::now();
    let compiled = engine
        .precompile_component(bytes)
        .map_err(|e| Error::Plugin {
            plugin: id.to_string(),
            code: "compile",
            message: format!("it is not a valid component: {e:#}"),
        })?;
    tracing::info!(
        plugin = id,
        ms = started.elapsed().as_millis() as u64,
        "compiled"
    );
    if let Err(e) = write(dir, &path, &compiled) {
        tracing::warn!(plugin = id, cache = %dir.display(), error = %e, "cannot write the precompiled copy");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| Error::Plugin {
        plugin: id.to_string(),
        code: "compile",
        message: format!("{e:#}"),
    })
}

/// The digest file of the entry at `path`.
fn digest_path(path: &Path) -> PathBuf {
    path.with_extension("cwasm.blake3")
}

/// The entry at `path` if it is there, intact and for this engine.
fn read(engine: &Engine, path: &Path, id: &str) -> Option<Component> {
    let recorded = std::fs::read(digest_path(path)).ok();
    if recorded.is_none() && !path.exists() {
        return None;
    }
    let actual = blake3::Hasher::new()
        .update_mmap(path)
        .ok()
        .map(|h| h.finalize());
    if recorded.is_none() || actual.is_none_or(|a| recorded.as_deref() != Some(a.as_bytes())) {
        tracing::warn!(plugin = id, entry = %path.display(), "precompiled copy is damaged or altered; compiling again");
        return None;
    }
    // SAFETY: the file is what clearctx wrote for a component whose sha256 the caller
    // checked (its digest says it is unchanged since), and wasmtime refuses bytes from an
    // engine of another configuration or version.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(plugin = id, error = %e, "precompiled copy unusable; compiling again");
            None
        }
    }
}

/// Writes the digest, then the code, each through a temp file and a rename: a kill between
/// the two leaves a digest that does not match, so the entry is compiled again.
fn write(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let digest = blake3::hash(compiled);
    put(&digest_path(path), digest.as_bytes())?;
    put(path, compiled)
}

fn put(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An exclusive lock on the component's lock file, released when dropped; `None` when the
/// file system offers none (each process then compiles on its own, which is only slower).
fn lock(dir: &Path, sha256: &str, compat: &str) -> Option<File> {
    std::fs::create_dir_all(dir).ok()?;
    let file = File::create(dir.join(format!("{sha256}-{compat}.lock"))).ok()?;
    file.lock().ok()?;
    Some(file)
}
