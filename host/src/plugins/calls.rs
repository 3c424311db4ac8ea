//! The call log: one JSON line per plugin call in `<data dir>/plugins/calls.jsonl`, for
//! `plugin info` (health, recent failures, resource use). Kept outside the database on
//! purpose: a refused publish changes nothing in the store, but its plugin failure is
//! still worth knowing about. The file stays open between calls, so a record costs one
//! `write`, never an fsync: a kill loses nothing written (the kernel has it), a power cut
//! may lose the last lines, which are diagnostics only. (A writer thread was tried: on two
//! cores, waking it cost more than the write.)
//!
//! `serve` defers the `write` of a successful call's line ([`Log::defer`]) until its answer
//! is out (`Hub::flush_queued`, run after every answer and every second): the client reads
//! its answer while the line is written. A failure's line is written at once, and so is a
//! queue older than a second or larger than [`MAX_QUEUED`]. A kill of `serve` between an
//! answer and that write loses the lines of that answer's calls.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Failure, Receipt, Resolved};

const LOG: &str = "plugins/calls.jsonl";
/// Past this size the log is rotated to `calls.jsonl.1`.
const MAX_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecord {
    pub at: String,
    pub plugin: String,
    pub version: String,
    pub function: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub fuel_used: u64,
    pub wall_us: u64,
    pub peak_memory_bytes: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub memoized: bool,
}

/// Writes between checks that the open file is still the log (another process may have
/// rotated it).
const CHECK_EVERY: u32 = 64;

/// Bytes of lines queued before they are written however soon the next flush would come.
const MAX_QUEUED: usize = 16 * 1024;
/// How long a queued line may wait for a flush before the next record writes it.
const MAX_QUEUE_AGE: std::time::Duration = std::time::Duration::from_secs(1);

/// The call log of one data dir, kept open.
pub(super) struct Log {
    path: PathBuf,
    state: Mutex<State>,
    /// Successful calls' lines wait for [`Log::flush`] (set by `serve`, which flushes).
    defer: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct State {
    open: Option<Open>,
    /// Lines not written yet, and when the first of them was queued.
    queued: Vec<u8>,
    since: Option<std::time::Instant>,
}

struct Open {
    file: File,
    inode: u64,
    /// Bytes in the file, as far as this process knows.
    size: u64,
    writes: u32,
}

impl Log {
    pub fn new(home: &Path) -> Log {
        Log {
            path: home.join(LOG),
            state: Mutex::new(State::default()),
            defer: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// From now on, queue successful calls' lines until [`Log::flush`].
    pub fn defer(&self) {
        self.defer.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Appends one record of a call's outcome (see the module documentation for when).
    pub fn record<T>(
        &self,
        plugin: &Resolved,
        function: &str,
        outcome: &Result<(T, Receipt), Failure>,
    ) {
        let line = line(plugin, function, outcome);
        let mut state = self.lock();
        state.queued.extend_from_slice(line.as_bytes());
        let since = *state.since.get_or_insert_with(std::time::Instant::now);
        if outcome.is_err()
            || !self.defer.load(std::sync::atomic::Ordering::Relaxed)
            || state.queued.len() > MAX_QUEUED
            || since.elapsed() > MAX_QUEUE_AGE
        {
            self.write_queued(&mut state);
        }
    }

    /// Whether lines wait for [`Log::flush`].
    pub fn has_queued(&self) -> bool {
        !self.lock().queued.is_empty()
    }

    /// Writes the queued lines.
    pub fn flush(&self) {
        let mut state = self.lock();
        if !state.queued.is_empty() {
            self.write_queued(&mut state);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_queued(&self, state: &mut State) {
        let queued = std::mem::take(&mut state.queued);
        state.since = None;
        if let Err(e) = self.append(&mut state.open, &queued) {
            state.open = None;
            tracing::warn!(error = %e, "cannot write the plugin call log");
        }
    }

    fn append(&self, open: &mut Option<Open>, lines: &[u8]) -> std::io::Result<()> {
        let stale = match open {
            None => true,
            Some(o) => {
                o.size > MAX_BYTES
                    || (o.writes % CHECK_EVERY == 0
                        && std::fs::metadata(&self.path).map(|m| m.ino()).ok() != Some(o.inode))
            }
        };
        if stale {
            *open = None;
            std::fs::create_dir_all(self.path.parent().expect("the log has a folder"))?;
            if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > MAX_BYTES) {
                std::fs::rename(&self.path, self.path.with_extension("jsonl.1"))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            let meta = file.metadata()?;
            *open = Some(Open {
                inode: meta.ino(),
                size: meta.len(),
                writes: 1,
                file,
            });
        }
        let o = open.as_mut().expect("opened above");
        // One write of whole lines (O_APPEND), so concurrent processes do not interleave
        // within a line.
        o.file.write_all(lines)?;
        o.size += lines.len() as u64;
        o.writes = o.writes.wrapping_add(1);
        Ok(())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.flush();
    }
}

fn line<T>(plugin: &Resolved, function: &str, outcome: &Result<(T, Receipt), Failure>) -> String {
    let (receipt, failure) = match outcome {
        Ok((_, r)) => (*r, None),
        Err(f) => (Receipt::default(), Some(f)),
    };
    let rec = CallRecord {
        at: crate::time::rfc3339(crate::time::now_ms()),
        plugin: plugin.id.clone(),
        version: plugin.version.clone(),
        function: function.to_string(),
        ok: failure.is_none(),
        code: failure.map(|f| f.code().to_string()),
        error: failure.map(Failure::describe),
        fuel_used: receipt.fuel_used,
        wall_us: receipt.wall_us,
        peak_memory_bytes: receipt.peak_memory_bytes,
        reused: receipt.reused,
        memoized: receipt.memoized,
    };
    if let Some(f) = failure {
        tracing::warn!(plugin = %plugin.id, function, "plugin call failed: {}", f.describe());
    }
    format!(
        "{}\n",
        serde_json::to_string(&rec).expect("records serialize")
    )
}

/// The recorded calls of `plugin`, oldest first (the current log file only).
pub(super) fn recent(home: &Path, plugin: &str) -> Vec<CallRecord> {
    let Ok(text) = std::fs::read_to_string(home.join(LOG)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<CallRecord>(l).ok())
        .filter(|r| r.plugin == plugin)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_log_writes_successes_on_flush_and_failures_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = super::super::standard::all().remove(0);
        let log = Log::new(dir.path());
        let lines = || {
            std::fs::read_to_string(dir.path().join(LOG))
                .unwrap_or_default()
                .lines()
                .count()
        };
        log.record(&plugin, "validate", &Ok(((), Receipt::default())));
        assert_eq!(lines(), 1, "not deferred: written at once");
        log.defer();
        log.record(&plugin, "validate", &Ok(((), Receipt::default())));
        assert!(log.has_queued());
        assert_eq!(lines(), 1, "a success waits for the flush");
        log.flush();
        assert!(!log.has_queued());
        assert_eq!(lines(), 2);
        log.record(&plugin, "validate", &Ok(((), Receipt::default())));
        let failed: Result<((), Receipt), Failure> = Err(Failure::Trap {
            message: "boom".into(),
        });
        log.record(&plugin, "validate", &failed);
        assert_eq!(
            lines(),
            4,
            "a failure is written at once, with what waited before it"
        );
        log.record(&plugin, "validate", &Ok(((), Receipt::default())));
        drop(log);
        assert_eq!(lines(), 5, "dropping the log writes what waited");
        let records = recent(dir.path(), &plugin.id);
        assert_eq!(records.iter().filter(|r| !r.ok).count(), 1);
    }
}
