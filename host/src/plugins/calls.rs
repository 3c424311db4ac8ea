//! The call log: one JSON line per plugin call in `<data dir>/plugins/calls.jsonl`, for
//! `plugin info` (health, recent failures, resource use). Kept outside the database on
//! purpose: a refused publish changes nothing in the store, but its plugin failure is
//! still worth knowing about. The file stays open between calls, so a record costs one
//! `write`, never an fsync: a kill loses nothing written (the kernel has it), a power cut
//! may lose the last lines, which are diagnostics only. (A writer thread was tried: on two
//! cores, waking it cost more than the write.)

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

/// The call log of one data dir, kept open.
pub(super) struct Log {
    path: PathBuf,
    open: Mutex<Option<Open>>,
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
            open: Mutex::new(None),
        }
    }

    /// Appends one record of a call's outcome.
    pub fn record<T>(
        &self,
        plugin: &Resolved,
        function: &str,
        outcome: &Result<(T, Receipt), Failure>,
    ) {
        let line = line(plugin, function, outcome);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.append(&mut open, line.as_bytes()) {
            *open = None;
            tracing::warn!(error = %e, "cannot write the plugin call log");
        }
    }

    fn append(&self, open: &mut Option<Open>, line: &[u8]) -> std::io::Result<()> {
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
        // One write per line, so concurrent processes do not interleave within a line.
        o.file.write_all(line)?;
        o.size += line.len() as u64;
        o.writes = o.writes.wrapping_add(1);
        Ok(())
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
