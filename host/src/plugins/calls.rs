//! The call log: one JSON line per plugin call in `<data dir>/plugins/calls.jsonl`, for
//! `plugin info` (health, recent failures, resource use). Kept outside the database on
//! purpose: a refused publish changes nothing in the store, but its plugin failure is
//! still worth knowing about. A call hands its record to a writer thread and goes on: the
//! thread formats it and appends it with one `write` to a file it keeps open, never an
//! fsync. A kill may lose the lines still in flight (microseconds' worth), which are
//! diagnostics only; [`Log::flush`] waits for them before the log is read.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

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

/// A call's outcome as the caller hands it over; the writer thread formats it.
struct Pending {
    at_ms: i64,
    plugin: String,
    version: String,
    function: &'static str,
    receipt: Receipt,
    failure: Option<Failure>,
}

enum Message {
    Record(Box<Pending>),
    /// Answered once every record sent before it is written.
    Flush(mpsc::Sender<()>),
}

/// The call log of one data dir: a channel to its writer thread, started on first use.
pub(super) struct Log {
    path: PathBuf,
    writer: Mutex<Option<(mpsc::Sender<Message>, std::thread::JoinHandle<()>)>>,
}

impl Log {
    pub fn new(home: &Path) -> Log {
        Log {
            path: home.join(LOG),
            writer: Mutex::new(None),
        }
    }

    /// Hands one record of a call's outcome to the writer.
    pub fn record<T>(
        &self,
        plugin: &Resolved,
        function: &'static str,
        outcome: &Result<(T, Receipt), Failure>,
    ) {
        let (receipt, failure) = match outcome {
            Ok((_, r)) => (*r, None),
            Err(f) => (Receipt::default(), Some(f.clone())),
        };
        if let Some(f) = &failure {
            tracing::warn!(plugin = %plugin.id, function, "plugin call failed: {}", f.describe());
        }
        self.send(Message::Record(Box::new(Pending {
            at_ms: crate::time::now_ms(),
            plugin: plugin.id.clone(),
            version: plugin.version.clone(),
            function,
            receipt,
            failure,
        })));
    }

    /// Waits until every record handed over so far is in the file.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.send(Message::Flush(tx)) {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        }
    }

    fn send(&self, message: Message) -> bool {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.is_none() {
            let (tx, rx) = mpsc::channel();
            let path = self.path.clone();
            match std::thread::Builder::new()
                .name("clearctx-call-log".into())
                .spawn(move || write_all(&path, rx))
            {
                Ok(handle) => *writer = Some((tx, handle)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the plugin call log writer");
                    return false;
                }
            }
        }
        writer
            .as_ref()
            .is_some_and(|(tx, _)| tx.send(message).is_ok())
    }
}

impl Drop for Log {
    /// Lets the writer finish what it was handed, so a command's last calls are logged.
    fn drop(&mut self) {
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((tx, handle)) = writer {
            drop(tx);
            let _ = handle.join();
        }
    }
}

/// The writer thread: appends each record until every sender is gone.
fn write_all(path: &Path, rx: mpsc::Receiver<Message>) {
    let mut open: Option<Open> = None;
    for message in rx {
        match message {
            Message::Record(p) => {
                let line = line(&p);
                if let Err(e) = append(path, &mut open, line.as_bytes()) {
                    open = None;
                    tracing::warn!(error = %e, "cannot write the plugin call log");
                }
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

struct Open {
    file: File,
    inode: u64,
    /// Bytes in the file, as far as this process knows.
    size: u64,
    writes: u32,
}

fn append(path: &Path, open: &mut Option<Open>, line: &[u8]) -> std::io::Result<()> {
    let stale = match open {
        None => true,
        Some(o) => {
            o.size > MAX_BYTES
                || (o.writes % CHECK_EVERY == 0
                    && std::fs::metadata(path).map(|m| m.ino()).ok() != Some(o.inode))
        }
    };
    if stale {
        *open = None;
        std::fs::create_dir_all(path.parent().expect("the log has a folder"))?;
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_BYTES) {
            std::fs::rename(path, path.with_extension("jsonl.1"))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
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

fn line(p: &Pending) -> String {
    let failure = p.failure.as_ref();
    let rec = CallRecord {
        at: crate::time::rfc3339(p.at_ms),
        plugin: p.plugin.clone(),
        version: p.version.clone(),
        function: p.function.to_string(),
        ok: failure.is_none(),
        code: failure.map(|f| f.code().to_string()),
        error: failure.map(Failure::describe),
        fuel_used: p.receipt.fuel_used,
        wall_us: p.receipt.wall_us,
        peak_memory_bytes: p.receipt.peak_memory_bytes,
        reused: p.receipt.reused,
        memoized: p.receipt.memoized,
    };
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
