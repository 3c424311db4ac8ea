//! The call log: one JSON line per plugin call in `<data dir>/plugins/calls.jsonl`, for
//! `plugin info` (health, recent failures, resource use). Kept outside the database on
//! purpose: a refused publish changes nothing in the store, but its plugin failure is
//! still worth knowing about.

use std::io::Write as _;
use std::path::Path;

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
}

pub(super) fn record<T>(
    home: &Path,
    plugin: &Resolved,
    function: &str,
    outcome: &Result<(T, Receipt), Failure>,
) {
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
    };
    if let Some(f) = failure {
        tracing::warn!(plugin = %plugin.id, function, "plugin call failed: {}", f.describe());
    }
    let path = home.join(LOG);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("the log has a folder"))?;
        if std::fs::metadata(&path)
            .map(|m| m.len() > MAX_BYTES)
            .unwrap_or(false)
        {
            std::fs::rename(&path, path.with_extension("jsonl.1"))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        // One write per line, so concurrent processes do not interleave within a line.
        file.write_all(
            format!(
                "{}\n",
                serde_json::to_string(&rec).expect("records serialize")
            )
            .as_bytes(),
        )
    };
    if let Err(e) = write() {
        tracing::warn!(error = %e, "cannot write the plugin call log");
    }
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
