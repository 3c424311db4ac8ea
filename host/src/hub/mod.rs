//! `hub`: the one API that the MCP server and the CLI both call.
//!
//! Each method is one command or query. Commands run in one store transaction: the noun
//! module does its change and appends its events, then the reactions run (the store runs
//! them in every write), then it all commits together. `ops` declares each operation over
//! these methods; the adapters call `ops`.

mod artifact;
mod chat;
mod continuity;
mod decision;
mod contract;
mod pipeline;
mod lineage;
mod plugin;
mod prompt;
mod session;
mod snapshot;
mod team;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::artifacts::{self, DiffRequest, GetRequest, PublishRequest, Readers, TypeInfo, Version};
use crate::contracts::{
    self, CompleteRequest, Contract, ContractIdRequest, CreateRequest, ReasonRequest,
};
use crate::error::{Error, Result};
use crate::inbox::{self, CheckRequest, Inbox};
use crate::plugins::{self, PluginHost};
use crate::reactions;
use crate::sessions::{self, HistoryEntry, SpawnRequest, TurnReply};
use crate::store::page::Page;
use crate::store::{NewEvent, Store, Tx};

pub use crate::model::Caller;
pub use prompt::{PromptArgument, PromptInfo, RenderedPrompt};
pub use crate::store::DB_FILE;

/// Picks the data dir: `--home`, else `CLEARCTX_HOME`, else `~/.clearctx`.
pub fn resolve_home(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("CLEARCTX_HOME").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".clearctx")),
        None => Err(Error::invalid(
            "--home",
            "no data dir: set --home, CLEARCTX_HOME or HOME",
        )),
    }
}

pub struct Hub {
    home: PathBuf,
    caller: Caller,
    store: Mutex<Store>,
    /// Reads `artifact_get` answered but has not yet recorded; see [`Hub::store`].
    reads: Mutex<Vec<artifacts::PendingRead>>,
    plugins: Arc<PluginHost>,
    sessions: sessions::Manager,
}

/// Reads kept for a retry when recording them fails (the database locked past the busy
/// timeout, say); beyond this many, the oldest are dropped with a warning.
const MAX_UNRECORDED_READS: usize = 10_000;

/// What `clearctx status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub data_dir: String,
    pub database: String,
    pub caller: String,
    pub team: String,
    pub events: i64,
    pub last_seq: i64,
    pub artifacts: i64,
    pub artifact_versions: i64,
    pub contracts: BTreeMap<String, i64>,
    pub unread_notifications: BTreeMap<String, i64>,
    /// Sessions per status, and what they spent in total.
    pub sessions: BTreeMap<String, i64>,
    pub sessions_cost_usd: f64,
    /// Contracts not yet completed or failed, highest priority first.
    pub open_contracts: Vec<Contract>,
    pub pipelines: i64,
    pub pipelines_enabled: i64,
    /// The latest pipeline firings that failed, were refused or stopped a cascade.
    pub pipeline_problems: Vec<crate::pipelines::Firing>,
    /// Teams with members stopped while a contract of theirs is open (`team_resume`).
    pub interrupted_teams: Vec<crate::snapshots::Interrupted>,
}

impl Hub {
    /// Opens the data dir (creating it) and its database.
    pub fn open(home: &Path, caller: Caller) -> Result<Hub> {
        create_private_dir(home)?;
        let plugins = Arc::new(PluginHost::new(home));
        let react = reactions::reactor(plugins.clone());
        let store = Store::open(&home.join(DB_FILE), react.clone())?;
        Ok(Hub {
            home: home.to_path_buf(),
            caller,
            store: Mutex::new(store),
            reads: Mutex::new(Vec::new()),
            plugins,
            sessions: sessions::Manager::new(home, react),
        })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The store, with the reads `artifact_get` answered recorded first: whatever this
    /// process does next sees them, though the caller of the get did not wait for them.
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back on drop), so a poisoned lock is safe to keep using.
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        self.record_reads(&mut store);
        store
    }

    fn unrecorded_reads(&self) -> MutexGuard<'_, Vec<artifacts::PendingRead>> {
        self.reads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the queued reads in one unsynced write. A failure keeps them for the next
    /// try (up to [`MAX_UNRECORDED_READS`]) and is logged: a read answered is never undone.
    fn record_reads(&self, store: &mut Store) {
        let reads = std::mem::take(&mut *self.unrecorded_reads());
        if reads.is_empty() {
            return;
        }
        if let Err(e) = store.write_unsynced(|tx| artifacts::record_reads(tx, &reads)) {
            // The queue is still empty: reads are queued only while the store is held.
            let mut kept = reads;
            let dropped = kept.len().saturating_sub(MAX_UNRECORDED_READS);
            kept.drain(..dropped);
            tracing::warn!(error = %e, kept = kept.len(), dropped, "cannot record artifact reads yet");
            *self.unrecorded_reads() = kept;
        }
    }

    /// Whether `artifact_get` answered reads not yet recorded ([`Self::flush_reads`]).
    pub fn has_unrecorded_reads(&self) -> bool {
        !self.unrecorded_reads().is_empty()
    }

    /// Records the reads `artifact_get` answered, if any (without waiting for the store
    /// when there are none): dropping the hub does this too.
    pub fn flush_reads(&self) {
        if self.has_unrecorded_reads() {
            drop(self.store());
        }
    }

    /// What waits for an answer to be sent: the reads to record, the plugin call log's
    /// lines. `serve` runs this after its answers and every second.
    pub fn flush_queued(&self) {
        self.flush_reads();
        self.plugins.flush_log();
    }

    /// Whether [`Self::flush_queued`] has anything to do.
    pub fn has_queued(&self) -> bool {
        self.has_unrecorded_reads() || self.plugins.log_queued()
    }

    /// A command: `f`, then the reactions (the store runs them in every write), then
    /// `view` (which sees the state after the reactions) all run in one transaction and
    /// commit together or not at all.
    fn command<A, T>(
        &self,
        f: impl FnOnce(&Tx<'_>, &Caller) -> Result<A>,
        view: impl FnOnce(&Tx<'_>, A) -> Result<T>,
    ) -> Result<T> {
        self.store().write_then(|tx| f(tx, &self.caller), view)
    }

    /// A query. Deadlines that passed since the last command are applied first, so a
    /// reader never sees an overdue contract still in progress.
    fn query<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        read_current(&mut self.store(), f)
    }

    /// Applies the reactions that time alone causes (overdue contracts). `serve` calls this
    /// periodically; it writes only when something is due.
    pub fn tick(&self) -> Result<()> {
        self.query(|_| Ok(()))
    }

    pub fn status(&self) -> Result<StatusReport> {
        self.sessions.reap()?;
        let home = self.home.display().to_string();
        let db = self.store().path().display().to_string();
        self.query(|tx| {
            let (artifacts, artifact_versions) = tx.artifact_count()?;
            // The first page of each open status: a summary, not the whole list.
            let mut open = Vec::new();
            for status in [
                contracts::Status::InProgress,
                contracts::Status::Ready,
                contracts::Status::Pending,
            ] {
                let req = contracts::ListRequest {
                    status: Some(status),
                    ..Default::default()
                };
                open.extend(contracts::list(tx, &req)?.items);
            }
            let (pipelines, pipelines_enabled) = tx.pipeline_counts()?;
            Ok(StatusReport {
                data_dir: home,
                database: db,
                caller: self.caller.session.clone(),
                team: self.caller.team.clone(),
                events: tx.event_count()?,
                last_seq: tx.last_seq()?,
                artifacts,
                artifact_versions,
                contracts: tx.contract_counts()?.into_iter().collect(),
                unread_notifications: tx.unread_counts()?.into_iter().collect(),
                sessions: tx.session_counts()?.into_iter().collect(),
                sessions_cost_usd: tx.sessions_total_cost()?,
                open_contracts: open,
                pipelines,
                pipelines_enabled,
                pipeline_problems: crate::pipelines::problems(tx, 5)?,
                interrupted_teams: crate::snapshots::interrupted(tx)?,
            })
        })
    }

    pub fn integrity_check(&self) -> Result<String> {
        self.store().integrity_check()
    }
}

/// Creates the data dir readable by its owner only: it holds every session's work.
fn create_private_dir(path: &Path) -> Result<()> {
    let io = |source| Error::DataDir {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(io)
}

impl Drop for Hub {
    /// A CLI `artifact get` exits right after its answer: its read is recorded here.
    fn drop(&mut self) {
        self.flush_reads();
    }
}

/// `f` in a read transaction that sees no overdue work: the reactions time alone made due
/// (overdue contracts) are applied first, in an ordinary durable write, when there are some.
fn read_current<T>(store: &mut Store, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
    // The check shares the read's transaction; only when something is due does a write
    // (which applies it) come first, and `f` then reads after it.
    let mut f = Some(f);
    let read = store.read(|tx| match reactions::has_due_work(tx)? {
        true => Ok(None),
        false => f.take().expect("f runs once")(tx).map(Some),
    })?;
    match read {
        Some(out) => Ok(out),
        None => {
            store.write(|_| Ok(()))?;
            store.read(f.take().expect("f has not run"))
        }
    }
}
