//! `hub`: the one API that the MCP server and the CLI both call.
//!
//! Each method is one command or query. Commands run in one store transaction: the noun
//! module does its change and appends its events, then the reactions run (the store runs
//! them in every write), then it all commits together. `ops` declares each operation over
//! these methods; the adapters call `ops`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

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
    plugins: PluginHost,
    sessions: sessions::Manager,
}

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
}

impl Hub {
    /// Opens the data dir (creating it) and its database.
    pub fn open(home: &Path, caller: Caller) -> Result<Hub> {
        create_private_dir(home)?;
        let store = Store::open(&home.join(DB_FILE), reactions::run)?;
        Ok(Hub {
            home: home.to_path_buf(),
            caller,
            store: Mutex::new(store),
            plugins: PluginHost::new(home),
            sessions: sessions::Manager::new(home, reactions::run),
        })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back on drop), so a poisoned lock is safe to keep using.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
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
        let mut store = self.store();
        if store.read(reactions::has_due_work)? {
            store.write(|_| Ok(()))?;
        }
        store.read(f)
    }

    /// Applies the reactions that time alone causes (overdue contracts). `serve` calls this
    /// periodically; it writes only when something is due.
    pub fn tick(&self) -> Result<()> {
        self.query(|_| Ok(()))
    }

    /// Validates outside the transaction (a plugin call must not hold the write lock),
    /// then publishes; a rejected artifact creates no version and no event.
    pub fn artifact_publish(&self, req: &PublishRequest) -> Result<Version> {
        let data = artifacts::check_publish(req)?;
        let checked = self.plugins.validate(&req.artifact_type, &data)?;
        // A validator someone turned off is said on every publish of its type.
        let instead = match &checked.validation {
            Some(v) => format!("checked by `{}` instead", v.plugin),
            None => "not validated".to_string(),
        };
        let warnings: Vec<String> = checked
            .disabled
            .iter()
            .map(|id| {
                format!(
                    "validator plugin `{id}` of type `{}` is disabled: this version was {instead} (enable the plugin to check it again)",
                    req.artifact_type
                )
            })
            .collect();
        let validated_by = match checked.validation {
            None => None,
            Some(v) if v.violations.is_empty() => Some(artifacts::ValidatedBy {
                plugin: v.plugin,
                plugin_version: v.plugin_version,
                receipt: v.receipt,
            }),
            Some(v) => {
                return Err(Error::Rejected {
                    artifact_type: req.artifact_type.clone(),
                    plugin: v.plugin,
                    violations: v.violations,
                });
            }
        };
        let unvalidated = validated_by.is_none();
        let mut v = self.command(
            |tx, caller| {
                if unvalidated {
                    artifacts::check_unvalidated_type(tx, req, || {
                        Ok(self
                            .plugins
                            .all_types()?
                            .into_iter()
                            .map(|t| t.name)
                            .collect())
                    })?;
                }
                artifacts::publish(tx, caller, req, validated_by)
            },
            |_, v| Ok(v),
        )?;
        v.warnings = warnings;
        Ok(v)
    }

    /// Recording the read makes this a command (a small write), not a query.
    pub fn artifact_get(&self, req: &GetRequest) -> Result<Version> {
        self.store()
            .write(|tx| artifacts::get(tx, &self.caller, req))
    }

    pub fn artifact_list(&self, req: &artifacts::ListRequest) -> Result<Page<Version>> {
        self.query(|tx| artifacts::list(tx, req))
    }

    pub fn artifact_history_page(&self, req: &artifacts::HistoryRequest) -> Result<Page<Version>> {
        self.query(|tx| artifacts::history(tx, req))
    }

    /// Every version of an artifact, page after page (for checks and tools, not replies).
    pub fn artifact_history(&self, artifact_id: &str) -> Result<Vec<Version>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.artifact_history_page(&artifacts::HistoryRequest {
                artifact_id: artifact_id.to_string(),
                limit: Some(crate::store::page::MAX_LIMIT),
                cursor,
            })?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    pub fn artifact_readers(&self, artifact_id: &str) -> Result<Readers> {
        self.query(|tx| artifacts::readers(tx, artifact_id))
    }

    pub fn artifact_diff(&self, req: &DiffRequest) -> Result<artifacts::Diff> {
        self.query(|tx| artifacts::diff(tx, req))
    }

    pub fn artifact_types(&self) -> Result<Vec<TypeInfo>> {
        let declared = self.plugins.all_types()?;
        self.query(|tx| artifacts::types(tx, &declared))
    }

    pub fn plugins(&self) -> &PluginHost {
        &self.plugins
    }

    pub fn plugin_list(&self) -> Result<Vec<plugins::Summary>> {
        self.plugins.list()
    }

    pub fn plugin_info(&self, id: &str) -> Result<plugins::Detail> {
        self.plugins.info(id)
    }

    /// Installs a plugin the user consented to, and records it in the event log.
    pub fn plugin_commit(&self, report: &plugins::AddReport) -> Result<plugins::Entry> {
        let entry = self.plugins.commit(report)?;
        self.record_plugin_event(
            "plugin.installed",
            &entry.id,
            serde_json::to_value(&entry).expect("entries serialize"),
        )?;
        Ok(entry)
    }

    pub fn plugin_remove(&self, id: &str) -> Result<plugins::Summary> {
        let removed = self.plugins.remove(id)?;
        self.record_plugin_event(
            "plugin.removed",
            id,
            serde_json::json!({ "id": id, "version": removed.version }),
        )?;
        Ok(removed)
    }

    pub fn plugin_set_enabled(&self, id: &str, enabled: bool) -> Result<plugins::Summary> {
        let s = self.plugins.set_enabled(id, enabled)?;
        let kind = if enabled {
            "plugin.enabled"
        } else {
            "plugin.disabled"
        };
        self.record_plugin_event(
            kind,
            id,
            serde_json::json!({ "id": id, "version": s.version }),
        )?;
        Ok(s)
    }

    fn record_plugin_event(&self, kind: &str, id: &str, payload: serde_json::Value) -> Result<()> {
        let caller = &self.caller;
        self.store().write(|tx| {
            tx.append_event(NewEvent {
                kind,
                actor: &caller.session,
                team: &caller.team,
                subject: format!("plugin:{id}"),
                payload,
            })?;
            Ok(())
        })
    }

    pub fn contract_create(&self, req: &CreateRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::create(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_start(&self, req: &ContractIdRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::start(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_complete(&self, req: &CompleteRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::complete(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_fail(&self, req: &ReasonRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::fail(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_reopen(&self, req: &ReasonRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::reopen(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_get(&self, contract_id: &str) -> Result<Contract> {
        self.query(|tx| contracts::get(tx, contract_id))
    }

    pub fn contract_list(&self, req: &contracts::ListRequest) -> Result<Page<Contract>> {
        self.query(|tx| contracts::list(tx, req))
    }

    /// Reading marks notifications read (unless asked not to), so this is a command.
    pub fn inbox_check(&self, req: &CheckRequest) -> Result<Inbox> {
        self.store().write(|tx| inbox::check(tx, &self.caller, req))
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
            })
        })
    }

    /// The session manager: spawning and talking to Claude Code workers. Its methods wait
    /// on turns with their own connection, never holding the hub's.
    pub fn sessions(&self) -> &sessions::Manager {
        &self.sessions
    }

    /// Starts a session; a `template` is rendered by a template plugin into its system prompt.
    pub fn session_spawn(
        &self,
        req: &SpawnRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        let req = self.render_session_template(req)?;
        self.sessions
            .spawn(&self.caller, &req, "session", None, follow)
    }

    pub fn session_batch_spawn(
        &self,
        req: &sessions::BatchSpawnRequest,
    ) -> Result<Vec<serde_json::Value>> {
        let reqs = req
            .sessions
            .iter()
            .map(|r| self.render_session_template(r))
            .collect::<Result<Vec<_>>>()?;
        self.sessions.batch_spawn(&self.caller, &reqs)
    }

    fn render_session_template(&self, req: &SpawnRequest) -> Result<SpawnRequest> {
        let Some(template) = &req.template else {
            return Ok(req.clone());
        };
        sessions::check_spawn(req)?;
        let vars = serde_json::json!({
            "name": req.name,
            "role": req.role.as_deref().unwrap_or("worker"),
            "team": req.team.as_deref().unwrap_or(&self.caller.team),
            "task": req.prompt.as_deref().unwrap_or(""),
        });
        let (text, _, _) = self.plugins.render(template, &vars)?;
        let mut out = req.clone();
        out.template = None;
        out.system_prompt = Some(text);
        Ok(out)
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
