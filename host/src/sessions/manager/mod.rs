//! This process's side of the session manager: it starts supervisors for the sessions it
//! owns, queues requests for sessions any process owns, waits for their outcome, and
//! reaps sessions whose owner died.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::supervisor::{self, Launch, Msg};
use super::*;
use crate::store::{Reactor, Store, now_ms};

mod launch;
mod reap;
mod tasks;
mod waiting;

pub(crate) use waiting::ring;

/// An owner whose heartbeat is older than this is gone even if its pid is reused.
const OWNER_SILENCE_MS: i64 = 60_000;
/// How long pause/stop/kill wait for the owner to carry them out.
const CONTROL_WAIT: Duration = Duration::from_secs(30);

/// Rung after every change a supervisor makes, so waiters in this process look at once
/// instead of at their next poll.
static BELL: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

struct Running {
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
}

pub struct Manager {
    home: PathBuf,
    /// Random per process: which sessions this process runs.
    owner_id: String,
    /// Run by every write of this manager and its supervisors, like every other writer's.
    react: Reactor,
    store: Mutex<Option<Store>>,
    running: Mutex<HashMap<String, Running>>,
}

/// What the delegation tools return.
#[derive(Debug, Clone)]
pub struct TaskReply {
    pub name: String,
    /// completed, needs_input, failed, cost_exceeded, turns_exceeded; `running` when the
    /// wait ended first; `aborted` after abort_task.
    pub status: String,
    pub response: String,
    /// Why it did not complete; on the wire `{code, message}`, the code being the status.
    pub error: Option<String>,
    /// What the task's session has spent and used in total.
    pub cost_usd: f64,
    pub turns: i64,
    pub permission_denials: Vec<Value>,
    /// How long the call waited for the worker's result, when it waited.
    pub waited_ms: Option<u64>,
    pub session: Session,
}

impl Serialize for TaskReply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            name: &'a str,
            status: &'a str,
            response: &'a str,
            error: Option<super::ErrorDetail<'a>>,
            cost_usd: f64,
            turns: i64,
            permission_denials: &'a [Value],
            #[serde(skip_serializing_if = "Option::is_none")]
            waited_ms: Option<u64>,
            session: &'a Session,
        }
        Wire {
            name: &self.name,
            status: &self.status,
            response: &self.response,
            error: super::error_detail(&self.status, &self.error),
            cost_usd: self.cost_usd,
            turns: self.turns,
            permission_denials: &self.permission_denials,
            waited_ms: self.waited_ms,
            session: &self.session,
        }
        .serialize(s)
    }
}

/// How a supervisor starts `claude`.
enum Start {
    New(String),
    Resume(String),
    Fork(String),
}

impl Manager {
    pub fn new(home: &Path, react: Reactor) -> Manager {
        Manager {
            home: home.to_path_buf(),
            owner_id: uuid::Uuid::new_v4().simple().to_string(),
            react,
            store: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
        }
    }

    fn db(&self) -> PathBuf {
        self.home.join(crate::store::DB_FILE)
    }

    /// The manager's own connection, so waiting on a turn never holds the hub's.
    fn store(&self) -> Result<MutexGuard<'_, Option<Store>>> {
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(Store::open(&self.db(), self.react.clone())?);
        }
        Ok(guard)
    }

    fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.store()?.as_mut().expect("opened").write(f)
    }

    fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.store()?.as_mut().expect("opened").read(f)
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self, name: &str) {
        if let Some(r) = self.running().get(name) {
            let _ = r.tx.send(Msg::Wake);
        }
    }

    /// Starts the supervisor of a session this process has just claimed. If that fails
    /// the session is marked failed, so it is not left `starting` with nobody running it.
    fn start(&self, name: &str) -> Result<()> {
        let started = self.try_start(name);
        if let Err(e) = &started {
            let why = e.to_string();
            self.write(|tx| {
                tx.end_session_process(
                    name,
                    SessionStatus::Failed,
                    "spawn_failed",
                    Some(&why),
                    None,
                )?;
                let row = get_row(tx, name)?;
                supervisor::end_requests(tx, &row, "failed", Some(&why), None)
            })?;
        }
        started
    }

    fn try_start(&self, name: &str) -> Result<()> {
        let (row, how, budget, config) = self.read(|tx| {
            let row = get_row(tx, name)?;
            let how = match (&row.claude_session_id, &row.fork_from) {
                (Some(id), _) if tx.session_has_conversation(name)? => Start::Resume(id.clone()),
                (Some(id), _) => Start::New(id.clone()),
                (None, Some(from)) => Start::Fork(from.clone()),
                (None, None) => {
                    return Err(Error::Corrupt(format!(
                        "session `{name}` has no Claude session id"
                    )));
                }
            };
            let b = budget(tx, &row)?;
            let config = Config::of(&row)?;
            Ok((row, how, b, config))
        })?;
        let launch = self.launch(&row, how, &budget, &config)?;
        let (tx, rx) = mpsc::channel();
        let (db, react) = (self.db(), self.react.clone());
        let thread_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("session-{name}"))
            .spawn(move || supervisor::run(db, react, launch, rx, thread_tx))
            .map_err(|e| Error::conflict(format!("cannot start a thread for `{name}`: {e}")))?;
        self.running()
            .insert(name.to_string(), Running { tx, thread });
        // Answer once the process runs (or could not start), not while it is `starting`.
        self.wait_for_status(name, Duration::from_secs(10), |s| {
            s != SessionStatus::Starting
        })
    }

    /// Starts a session (and its first turn, when there is a prompt).
    pub fn spawn(
        &self,
        caller: &Caller,
        req: &SpawnRequest,
        kind: &str,
        preset: Option<Preset>,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        self.spawn_with(caller, req, kind, preset, follow, &|_| Ok(()))
    }

    /// [`Manager::spawn`], with `also` run in the transaction that writes the session row
    /// (a team member's row commits with its session or not at all).
    pub fn spawn_with(
        &self,
        caller: &Caller,
        req: &SpawnRequest,
        kind: &str,
        preset: Option<Preset>,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
        also: &dyn Fn(&Tx<'_>) -> Result<()>,
    ) -> Result<TurnReply> {
        check_spawn(req)?;
        let config = Config {
            model: req.model.clone(),
            work_dir: req.work_dir.clone(),
            permission_mode: req.permission_mode,
            allowed_tools: req.allowed_tools.clone().unwrap_or_default(),
            system_prompt: req.system_prompt.clone(),
            preset,
            turn_timeout_s: req.turn_timeout_s,
        };
        let me = std::process::id() as i64;
        let id = self.write(|tx| {
            let claude_id = uuid::Uuid::new_v4().to_string();
            insert(tx, caller, req, kind, &config, Some(claude_id), None)?;
            also(tx)?;
            tx.claim_session(&req.name, &self.owner_id, me)?;
            req.prompt
                .as_deref()
                .map(|p| {
                    tx.insert_session_request(
                        &req.name,
                        RequestKind::Turn,
                        Some(p),
                        &caller.session,
                    )
                })
                .transpose()
        })?;
        self.start(&req.name)?;
        let done = self.maybe_wait(&req.name, id, req.wait, req.timeout_s, follow)?;
        self.reply(&req.name, done, false)
    }

    /// Starts several sessions; their first turns run side by side.
    pub fn batch_spawn(&self, caller: &Caller, reqs: &[SpawnRequest]) -> Result<Vec<Value>> {
        if reqs.is_empty() || reqs.len() > 64 {
            return Err(Error::invalid("sessions", "give 1 to 64 sessions"));
        }
        for (i, r) in reqs.iter().enumerate() {
            check_spawn(r).map_err(|e| match e {
                Error::Invalid { field, message } => {
                    Error::invalid(format!("sessions[{i}].{field}"), message)
                }
                other => other,
            })?;
            if reqs[..i].iter().any(|o| o.name == r.name) {
                return Err(Error::invalid(
                    format!("sessions[{i}].name"),
                    format!("`{}` appears twice", r.name),
                ));
            }
        }
        let mut started = Vec::new();
        for r in reqs {
            let mut nowait = r.clone();
            nowait.wait = Some(false);
            started.push(self.spawn(caller, &nowait, "session", None, None));
        }
        let mut out = Vec::new();
        for (r, s) in reqs.iter().zip(started) {
            let item = match s {
                Ok(reply) => {
                    let done =
                        self.maybe_wait(&r.name, reply.request_id, r.wait, r.timeout_s, None)?;
                    serde_json::to_value(self.reply(&r.name, done, false)?)
                        .expect("replies serialize")
                }
                Err(e) => {
                    json!({ "name": r.name, "status": "error", "error": { "code": e.code(), "message": e.to_string() } })
                }
            };
            out.push(item);
        }
        Ok(out)
    }

    /// Claims a stopped session for this process; returns whether it must be started.
    fn claim_if_stopped(&self, tx: &Tx<'_>, caller: &Caller, row: &SessionRow) -> Result<bool> {
        if row.status.is_live() {
            return Ok(false);
        }
        if row.claude_session_id.is_none() && row.fork_from.is_none() {
            return Err(Error::conflict(format!(
                "session `{}` has no Claude session to resume",
                row.name
            )));
        }
        tx.claim_session(&row.name, &self.owner_id, std::process::id() as i64)?;
        event(
            tx,
            &caller.session,
            row,
            "session.resumed",
            json!({ "was": row.status }),
        )?;
        Ok(true)
    }

    /// Sends a turn; a stopped session is resumed first (`--resume`).
    pub fn send(
        &self,
        caller: &Caller,
        req: &SendRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        check_id("name", &req.name)?;
        check_message("message", &req.message)?;
        check_wait(req.timeout_s)?;
        self.reap()?;
        let (resumed, paused, id) = self.write(|tx| {
            let row = get_row(tx, &req.name)?;
            if let Some((_, why)) = budget(tx, &row)?.refusal(&row) {
                return Err(Error::conflict(format!("{why}; nothing was sent")));
            }
            // A paused session keeps the message until resume_session; nothing to wait for.
            let paused = row.status == SessionStatus::Paused;
            let resumed = !paused && self.claim_if_stopped(tx, caller, &row)?;
            let id = tx.insert_session_request(
                &req.name,
                RequestKind::Turn,
                Some(&req.message),
                &caller.session,
            )?;
            Ok((resumed, paused, id))
        })?;
        let wait = if paused { Some(false) } else { req.wait };
        if resumed {
            self.start(&req.name)?;
        } else {
            self.wake(&req.name);
        }
        let done = self.maybe_wait(&req.name, Some(id), wait, req.timeout_s, follow)?;
        self.reply(&req.name, done, resumed)
    }

    /// Brings a stopped (or paused) session back, optionally with a message.
    pub fn resume(
        &self,
        caller: &Caller,
        req: &ResumeRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        check_id("name", &req.name)?;
        check_wait(req.timeout_s)?;
        if let Some(m) = &req.message {
            check_message("message", m)?;
        }
        self.reap()?;
        let (resumed, unpause, id) = self.write(|tx| {
            let row = get_row(tx, &req.name)?;
            if req.message.is_some()
                && let Some((_, why)) = budget(tx, &row)?.refusal(&row)
            {
                return Err(Error::conflict(format!("{why}; nothing was sent")));
            }
            let unpause = if row.status == SessionStatus::Paused {
                Some(tx.insert_session_request(
                    &req.name,
                    RequestKind::Unpause,
                    None,
                    &caller.session,
                )?)
            } else {
                None
            };
            if unpause.is_none() && row.status.is_live() && req.message.is_none() {
                return Err(Error::conflict(format!(
                    "session `{}` is already running ({}); send_message talks to it",
                    req.name, row.status
                )));
            }
            let resumed = self.claim_if_stopped(tx, caller, &row)?;
            let id = req
                .message
                .as_deref()
                .map(|m| {
                    tx.insert_session_request(
                        &req.name,
                        RequestKind::Turn,
                        Some(m),
                        &caller.session,
                    )
                })
                .transpose()?;
            Ok((resumed, unpause, id))
        })?;
        if resumed {
            self.start(&req.name)?;
        } else {
            self.wake(&req.name);
        }
        if let Some(u) = unpause {
            self.wait(&req.name, u, CONTROL_WAIT, None)?;
        }
        let done = self.maybe_wait(&req.name, id, req.wait, req.timeout_s, follow)?;
        self.reply(&req.name, done, resumed)
    }

    /// Branches a session: a new session continuing the same conversation (`--fork-session`).
    pub fn fork(
        &self,
        caller: &Caller,
        req: &ForkRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        check_id("name", &req.name)?;
        check_id("new_name", &req.new_name)?;
        check_wait(req.timeout_s)?;
        if let Some(m) = &req.message {
            check_message("message", m)?;
        }
        let id = self.write(|tx| {
            let src = get_row(tx, &req.name)?;
            let from = match (&src.claude_session_id, &src.fork_from) {
                (Some(id), _) if tx.session_has_conversation(&src.name)? => id.clone(),
                (None, Some(from)) => from.clone(),
                _ => {
                    return Err(Error::conflict(format!(
                        "session `{}` has no conversation to fork yet; send it a message first",
                        req.name
                    )));
                }
            };
            let config = Config::of(&src)?;
            let spawn = SpawnRequest {
                name: req.new_name.clone(),
                team: Some(src.team.clone()),
                max_cost: src.max_cost_usd,
                max_turns: src.max_turns.map(|t| t as u32),
                ..SpawnRequest::default()
            };
            insert(tx, caller, &spawn, &src.kind, &config, None, Some(from))?;
            tx.claim_session(&req.new_name, &self.owner_id, std::process::id() as i64)?;
            req.message
                .as_deref()
                .map(|m| {
                    tx.insert_session_request(
                        &req.new_name,
                        RequestKind::Turn,
                        Some(m),
                        &caller.session,
                    )
                })
                .transpose()
        })?;
        self.start(&req.new_name)?;
        let done = self.maybe_wait(&req.new_name, id, req.wait, req.timeout_s, follow)?;
        self.reply(&req.new_name, done, false)
    }

    /// pause, stop or kill. Stopping or killing a session without a process changes nothing.
    pub fn control(&self, caller: &Caller, name: &str, kind: RequestKind) -> Result<Session> {
        check_id("name", name)?;
        self.reap()?;
        let id = self.write(|tx| {
            let row = get_row(tx, name)?;
            if !row.status.is_live() {
                if kind == RequestKind::Pause {
                    return Err(Error::conflict(format!(
                        "session `{name}` is {}; only a running session can be paused",
                        row.status
                    )));
                }
                return Ok(None);
            }
            if kind == RequestKind::Pause && row.status == SessionStatus::Paused {
                return Ok(None);
            }
            Ok(Some(tx.insert_session_request(
                name,
                kind,
                None,
                &caller.session,
            )?))
        })?;
        if let Some(id) = id {
            self.wake(name);
            let req = self.wait(name, id, CONTROL_WAIT, None)?;
            if req.status != RequestStatus::Done {
                return Err(Error::conflict(format!(
                    "session `{name}`: the process running it did not carry out `{kind}` within {} s; try kill_session",
                    CONTROL_WAIT.as_secs()
                )));
            }
            // Stop and kill are done when the request is; the supervisor records the end
            // just after.
            if kind != RequestKind::Pause {
                self.wait_until_ended(name, Duration::from_secs(10))?;
            }
        }
        self.read(|tx| get(tx, name))
    }

    pub fn delete(&self, caller: &Caller, req: &DeleteRequest) -> Result<Session> {
        check_id("name", &req.name)?;
        self.reap()?;
        let row = self.read(|tx| get(tx, &req.name))?;
        if row.status.is_live() {
            if !req.force {
                return Err(Error::conflict(format!(
                    "session `{}` is {}; stop_session or kill_session it first, or pass force",
                    req.name, row.status
                )));
            }
            self.control(caller, &req.name, RequestKind::Kill)?;
        }
        self.write(|tx| {
            let row = get_row(tx, &req.name)?;
            if row.status.is_live() {
                return Err(Error::conflict(format!(
                    "session `{}` started again; not deleted",
                    req.name
                )));
            }
            tx.delete_session(&req.name)?;
            event(tx, &caller.session, &row, "session.deleted", json!({}))?;
            Ok(())
        })?;
        Ok(row)
    }

    pub fn cleanup(&self, caller: &Caller, req: &CleanupRequest) -> Result<Vec<String>> {
        let older = req.older_than_s.unwrap_or(3600);
        if older > 10 * 365 * 24 * 3600 {
            return Err(Error::invalid("older_than_s", "is more than ten years"));
        }
        self.reap()?;
        self.write(|tx| {
            let names = tx.ended_sessions_before(tx.now_ms() - (older as i64) * 1000)?;
            for n in &names {
                let row = get_row(tx, n)?;
                tx.delete_session(n)?;
                event(
                    tx,
                    &caller.session,
                    &row,
                    "session.deleted",
                    json!({ "by": "cleanup_sessions" }),
                )?;
            }
            Ok(names)
        })
    }

    pub fn get(&self, name: &str) -> Result<Session> {
        self.reap()?;
        self.read(|tx| get(tx, name))
    }

    pub fn list(&self, req: &ListRequest) -> Result<crate::store::page::Page<Session>> {
        self.reap()?;
        self.read(|tx| list(tx, req))
    }

    pub fn history(&self, req: &HistoryRequest) -> Result<Vec<HistoryEntry>> {
        self.read(|tx| history(tx, req))
    }

    /// Stops every session this process runs (their stdin closes; a process still busy
    /// after a few seconds is killed). Called when `serve` or a CLI command ends.
    pub fn shutdown(&self) {
        let running: Vec<(String, Running)> = self.running().drain().collect();
        for (_, r) in &running {
            let _ = r.tx.send(Msg::Shutdown);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for (name, r) in running {
            while !r.thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if r.thread.is_finished() {
                let _ = r.thread.join();
            } else {
                tracing::warn!(session = %name, "session did not stop in time");
            }
        }
    }
}
