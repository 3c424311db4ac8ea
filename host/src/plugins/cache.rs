//! The machine-wide cache of compiled components, so a component is compiled once per
//! machine rather than once per data dir or process.
//!
//! An entry is `<sha256 of the component>-<engine compatibility hash>.cwasm`: a magic line,
//! the BLAKE3 digest of the rest, then wasmtime's precompiled bytes. It is written through
//! a temp file and a rename (a reader never sees half an entry), under a lock file so two
//! processes on a cold machine compile once between them, and it is checked before use: an
//! entry that is truncated, altered or from another engine is compiled again and replaced,
//! never run. The check is against corruption and stray writes; the cache has the same
//! owner as the data dirs, like `~/.cargo`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"clearctx-cwasm 1\n";
const HEADER: usize = MAGIC.len() + 32;

/// Where the entry of component `sha256` lives for an engine of compatibility hash `compat`.
pub fn entry_path(dir: &Path, sha256: &str, compat: &str) -> PathBuf {
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
    let _lock = lock(dir, sha256, compat);
    if _lock.is_some()
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

/// The entry at `path` if it is there, intact and for this engine.
fn read(engine: &Engine, path: &Path, id: &str) -> Option<Component> {
    let bytes = std::fs::read(path).ok()?;
    let sound = bytes.len() > HEADER
        && bytes.starts_with(MAGIC)
        && bytes[MAGIC.len()..HEADER] == *blake3::hash(&bytes[HEADER..]).as_bytes();
    if !sound {
        tracing::warn!(plugin = id, entry = %path.display(), "precompiled copy is damaged or altered; compiling again");
        return None;
    }
    // SAFETY: the bytes are what clearctx wrote for a component whose sha256 the caller
    // checked (the digest proves they are unchanged since), and wasmtime refuses bytes
    // from an engine of another configuration or version.
    match unsafe { Component::deserialize(engine, &bytes[HEADER..]) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(plugin = id, error = %e, "precompiled copy unusable; compiling again");
            None
        }
    }
}

fn write(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(blake3::hash(compiled).as_bytes())?;
        f.write_all(compiled)?;
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
