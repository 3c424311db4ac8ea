//! `sessions`: Claude Code workers, each a long-lived `claude -p` process driven over the
//! stream-json protocol, with costs and limits enforced by the host.
//!
//! Owns the `sessions`, `session_messages` and `session_requests` tables (through `store`)
//! and the `session.*` events. The process of a session belongs to the clearctx process
//! that started it (its *owner*: a `serve` or a CLI command); any clearctx process on the
//! data dir talks to it by queueing a request row that the owner carries out, and waits on
//! that row. An owner that died is noticed (its pid is gone or its heartbeat stopped) and
//! its sessions become `stopped`, resumable by anyone with `--resume`.
//!
//! - `protocol`: the stream-json lines, parsed.
//! - `supervisor`: the thread that runs one `claude` process.
//! - `manager`: this process's supervisors, waiting on requests, reaping dead owners.
//! - `presets`: delegation presets (permission mode and allowed tools).

mod args;
mod manager;
mod presets;
mod protocol;
mod supervisor;
pub(crate) use supervisor::claude_program;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::model::Caller;
use crate::store::{MessageRow, NewEvent, RequestRow, SessionFilter, SessionRow, Tx};

pub use crate::model::sessions::{RequestKind, RequestStatus, SessionStatus};
pub use args::*;
pub use manager::{Manager, TaskReply};
pub use presets::Preset;

/// Longest message or prompt accepted (Claude Code's own limits are far below this).
pub const MAX_MESSAGE_CHARS: usize = 1024 * 1024;
pub const DEFAULT_TURN_TIMEOUT_S: u64 = 30 * 60;
pub const MAX_TURN_TIMEOUT_S: u64 = 24 * 3600;
/// How long a tool call waits for a turn by default before answering `running`.
pub const DEFAULT_WAIT_S: u64 = 15 * 60;
/// Longest a call may wait for a turn (the turn itself goes on after).
pub const MAX_WAIT_S: u64 = 24 * 3600;
/// The smallest budget clearctx takes: below it no model request fits.
pub const MIN_BUDGET_USD: f64 = 0.0001;
/// How a delegated task can end.
pub const TASK_OUTCOMES: &[&str] = &[
    "completed",
    "needs_input",
    "failed",
    "cost_exceeded",
    "turns_exceeded",
    "aborted",
];
/// What a sessions list's `status` takes: a session status, or a task outcome that is not
/// also one (`failed` stays the session's).
pub fn status_filters() -> impl Iterator<Item = &'static str> {
    SessionStatus::ALL
        .into_iter()
        .map(SessionStatus::as_str)
        .chain(
            TASK_OUTCOMES
                .iter()
                .copied()
                .filter(|t| SessionStatus::parse(t).is_err()),
        )
}

/// A session as callers see it.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub name: String,
    pub team: String,
    pub parent: Option<String>,
    pub kind: String,
    /// starting, idle, busy, paused, stopped or failed.
    pub status: SessionStatus,
    /// Whether `resume_session` can bring it back (stopped or failed with a Claude id).
    pub resumable: bool,
    pub claude_session_id: Option<String>,
    pub model: Option<String>,
    pub work_dir: Option<String>,
    pub permission_mode: String,
    pub preset: Option<String>,
    pub cost_usd: f64,
    pub turns: i64,
    pub max_cost_usd: Option<f64>,
    pub max_turns: Option<i64>,
    /// What the session may still spend: its own limit and every ancestor's, whichever is
    /// tightest, minus what each subtree spent.
    pub budget_left_usd: Option<f64>,
    pub pid: Option<i64>,
    pub owner_pid: Option<i64>,
    pub last_output: Option<String>,
    pub last_error: Option<String>,
    pub stderr_tail: Option<String>,
    pub stop_reason: Option<String>,
    pub task_status: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// How a turn ended, as stored on its request and returned by send/delegate tools.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TurnOutcome {
    /// completed, needs_input, failed, cost_exceeded or turns_exceeded.
    pub status: String,
    /// The worker's final text for the turn.
    pub response: String,
    /// Why it did not complete, when it did not.
    #[serde(default, deserialize_with = "error_text")]
    pub error: Option<String>,
    /// Cost and model turns of this turn alone.
    pub cost_usd: f64,
    pub turns: i64,
    /// The session's totals after it.
    pub session_cost_usd: f64,
    pub session_turns: i64,
    /// Tools the worker asked for and was refused: answer with continue_task, or widen the preset.
    #[serde(default)]
    pub permission_denials: Vec<Value>,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
}

/// An error as every result shows one: `{code, message}`; for a turn the code is how it
/// ended (its status).
#[derive(Serialize)]
pub(crate) struct ErrorDetail<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

pub(crate) fn error_detail<'a>(
    status: &'a str,
    error: &'a Option<String>,
) -> Option<ErrorDetail<'a>> {
    error.as_deref().map(|message| ErrorDetail {
        code: status,
        message,
    })
}

/// Reads a stored outcome's error: its message, whether it was kept as a plain string (as
/// before) or as `{code, message}`.
fn error_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Detail { message: String },
    }
    Ok(Option::<Stored>::deserialize(d)?.map(|s| match s {
        Stored::Text(t) | Stored::Detail { message: t } => t,
    }))
}

impl Serialize for TurnOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            status: &'a str,
            response: &'a str,
            error: Option<ErrorDetail<'a>>,
            cost_usd: f64,
            turns: i64,
            session_cost_usd: f64,
            session_turns: i64,
            permission_denials: &'a [Value],
            subtype: &'a Option<String>,
            duration_ms: Option<i64>,
        }
        Wire {
            status: &self.status,
            response: &self.response,
            error: error_detail(&self.status, &self.error),
            cost_usd: self.cost_usd,
            turns: self.turns,
            session_cost_usd: self.session_cost_usd,
            session_turns: self.session_turns,
            permission_denials: &self.permission_denials,
            subtype: &self.subtype,
            duration_ms: self.duration_ms,
        }
        .serialize(s)
    }
}

impl TurnOutcome {
    /// A turn that ended without a `result` from Claude Code.
    pub fn failed(status: &str, error: impl Into<String>, row: Option<&SessionRow>) -> TurnOutcome {
        TurnOutcome {
            status: status.to_string(),
            response: String::new(),
            error: Some(error.into()),
            cost_usd: 0.0,
            turns: 0,
            session_cost_usd: row.map(|r| r.cost_usd).unwrap_or(0.0),
            session_turns: row.map(|r| r.turns).unwrap_or(0),
            permission_denials: vec![],
            subtype: None,
            duration_ms: None,
        }
    }
}

/// What send/spawn/resume return: the session's name, the request and (when waited for
/// and finished) the turn's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct TurnReply {
    pub name: String,
    pub request_id: Option<i64>,
    /// The outcome's status, or `running`/`queued` when the wait ended first, or `idle`
    /// when no message was sent.
    pub status: String,
    #[serde(flatten)]
    pub outcome: Option<TurnOutcome>,
    /// Whether the session had to be started again (`--resume`) to take the message.
    pub resumed: bool,
    /// How long the call waited for the turn, when it waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<u64>,
    pub session: Session,
}

/// One entry of `get_history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: String,
    pub role: String,
    pub text: String,
    pub data: Option<Value>,
}

impl From<MessageRow> for HistoryEntry {
    fn from(m: MessageRow) -> Self {
        HistoryEntry {
            seq: m.seq,
            at: crate::time::rfc3339(m.at_ms),
            role: m.role,
            text: m.text,
            data: m.data,
        }
    }
}

/// The saved launch settings of a session (`sessions.config`), reused by resume and fork.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    pub model: Option<String>,
    pub work_dir: Option<String>,
    pub permission_mode: Option<PermissionMode>,
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    pub system_prompt: Option<String>,
    pub preset: Option<Preset>,
    pub turn_timeout_s: Option<u64>,
}

impl Config {
    fn of(row: &SessionRow) -> Result<Config> {
        serde_json::from_value(row.config.clone())
            .map_err(|e| Error::Corrupt(format!("session `{}` config: {e}", row.name)))
    }
}

/// Whether a session in `status` has (or is getting) a process.
pub fn is_live(status: SessionStatus) -> bool {
    status.is_live()
}

/// Queues a turn for a running (or paused) session from inside a transaction, for a
/// pipeline's `send_message`: the process that runs the session carries it out (it polls
/// its request rows), and nobody waits for the reply. A session without a process is
/// refused: starting one belongs to a caller who can wait for it (`resume_session`).
pub(crate) fn queue_turn(tx: &Tx<'_>, by: &str, name: &str, message: &str) -> Result<i64> {
    check_id("to", name)?;
    check_message("message", message)?;
    let row = get_row(tx, name)?;
    if !is_live(row.status) {
        return Err(Error::conflict(format!(
            "session `{name}` is {} and has no process to take a turn; resume_session it first",
            row.status
        )));
    }
    if let Some((_, why)) = budget(tx, &row)?.refusal(&row) {
        return Err(Error::conflict(format!("{why}; nothing was sent")));
    }
    tx.insert_session_request(name, RequestKind::Turn, Some(message), by)
}

/// Asks a running session to stop (gracefully, resumable) from inside a transaction, for a
/// team rollback: the same `stop` request row `stop_session` queues, carried out by the
/// process that runs it. `None` when it has no process (or does not exist).
pub(crate) fn queue_stop(tx: &Tx<'_>, by: &str, name: &str) -> Result<Option<i64>> {
    match tx.session(name)? {
        Some(row) if is_live(row.status) => Ok(Some(tx.insert_session_request(name, RequestKind::Stop, None, by)?)),
        _ => Ok(None),
    }
}

/// The session as callers see it, with its budget worked out.
pub fn view(tx: &Tx<'_>, row: &SessionRow) -> Result<Session> {
    let config = Config::of(row)?;
    let budget = budget(tx, row)?;
    Ok(Session {
        name: row.name.clone(),
        team: row.team.clone(),
        parent: row.parent.clone(),
        kind: row.kind.clone(),
        status: row.status,
        resumable: !row.status.is_live()
            && (row.claude_session_id.is_some() || row.fork_from.is_some()),
        claude_session_id: row.claude_session_id.clone(),
        model: config.model,
        work_dir: config.work_dir,
        permission_mode: config
            .permission_mode
            .unwrap_or(PermissionMode::Default)
            .as_str()
            .to_string(),
        preset: config.preset.map(|p| p.as_str().to_string()),
        cost_usd: row.cost_usd,
        turns: row.turns,
        max_cost_usd: row.max_cost_usd,
        max_turns: row.max_turns,
        budget_left_usd: budget.left_usd,
        pid: row.pid,
        owner_pid: row.owner_pid,
        last_output: row.last_output.clone(),
        last_error: row.last_error.clone(),
        stderr_tail: row.stderr_tail.clone(),
        stop_reason: row.stop_reason.clone(),
        task_status: row.task_status.clone(),
        created_by: row.created_by.clone(),
        created_at: crate::time::rfc3339(row.created_at_ms),
        updated_at: crate::time::rfc3339(row.updated_at_ms),
    })
}

pub fn get_row(tx: &Tx<'_>, name: &str) -> Result<SessionRow> {
    tx.session(name)?
        .ok_or_else(|| Error::not_found_hint("session", name, "list_sessions shows the sessions"))
}

pub fn get(tx: &Tx<'_>, name: &str) -> Result<Session> {
    check_id("name", name)?;
    view(tx, &get_row(tx, name)?)
}

pub fn list(tx: &Tx<'_>, req: &ListRequest) -> Result<crate::store::page::Page<Session>> {
    // How a delegated task ended reads as a status too (`needs_input`, `cost_exceeded`…);
    // `failed` stays the session's status.
    let is_status = |s: &str| SessionStatus::parse(s).is_ok();
    let (status, task_status) = match (req.status.as_deref(), req.task_status.as_deref()) {
        (Some(s), None) if !is_status(s) && TASK_OUTCOMES.contains(&s) => (None, Some(s)),
        (s, t) => (s, t),
    };
    let status = status
        .map(|s| {
            SessionStatus::parse(s).map_err(|_| {
                Error::invalid(
                    "status",
                    format!(
                        "`{s}` is not a session status; use starting, idle, busy, paused, stopped or failed, or a task outcome (completed, needs_input, cost_exceeded, turns_exceeded, aborted)"
                    ),
                )
            })
        })
        .transpose()?;
    if let Some(t) = task_status
        && !TASK_OUTCOMES.contains(&t)
    {
        return Err(Error::invalid(
            "task_status",
            format!(
                "`{t}` is not a task outcome; use completed, needs_input, failed, cost_exceeded, turns_exceeded or aborted"
            ),
        ));
    }
    check_opt_id("team", req.team.as_deref())?;
    check_opt_id("parent", req.parent.as_deref())?;
    let window = crate::store::page::window(req.limit, req.cursor.as_deref())?;
    let rows = tx.list_sessions(&SessionFilter {
        status,
        team: req.team.as_deref(),
        parent: req.parent.as_deref(),
        task_status,
        window,
    })?;
    crate::store::page::page(window, rows).try_map(|r| view(tx, &r))
}

pub fn history(tx: &Tx<'_>, req: &HistoryRequest) -> Result<Vec<HistoryEntry>> {
    check_id("name", &req.name)?;
    get_row(tx, &req.name)?;
    let limit = req.limit.unwrap_or(200).clamp(1, 10_000);
    Ok(tx
        .session_messages(&req.name, req.after_seq.unwrap_or(0), limit as i64)?
        .into_iter()
        .map(HistoryEntry::from)
        .collect())
}

/// What a session may still spend and do.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Tightest of its own and every ancestor's `max_cost - spent by that subtree`.
    pub left_usd: Option<f64>,
    /// Which session's limit that is.
    pub limited_by: Option<String>,
    pub turns_left: Option<i64>,
}

impl Budget {
    pub fn cost_exhausted(&self) -> bool {
        self.left_usd.is_some_and(|l| l <= 1e-9)
    }

    pub fn turns_exhausted(&self) -> bool {
        self.turns_left.is_some_and(|t| t <= 0)
    }

    /// Why no further turn may run, as an outcome status and a sentence.
    pub fn refusal(&self, row: &SessionRow) -> Option<(&'static str, String)> {
        if self.cost_exhausted() {
            let by = self.limited_by.as_deref().unwrap_or(&row.name);
            let whose = if by == row.name {
                format!("its max_cost (${:.4})", row.max_cost_usd.unwrap_or(0.0))
            } else {
                format!("the budget of `{by}`, which delegated it")
            };
            return Some((
                "cost_exceeded",
                format!(
                    "session `{}` has no budget left: it spent ${:.4}, reaching {whose}",
                    row.name, row.cost_usd
                ),
            ));
        }
        if self.turns_exhausted() {
            return Some((
                "turns_exceeded",
                format!(
                    "session `{}` used its {} turns (max_turns)",
                    row.name,
                    row.max_turns.unwrap_or(0)
                ),
            ));
        }
        None
    }
}

pub fn budget(tx: &Tx<'_>, row: &SessionRow) -> Result<Budget> {
    let mut out = Budget {
        turns_left: row.max_turns.map(|m| m - row.turns),
        ..Budget::default()
    };
    let mut consider = |name: &str, max: Option<f64>| -> Result<()> {
        if let Some(max) = max {
            let left = max - tx.session_tree_cost(name)?;
            if out.left_usd.is_none_or(|l| left < l) {
                out.left_usd = Some(left);
                out.limited_by = Some(name.to_string());
            }
        }
        Ok(())
    };
    consider(&row.name, row.max_cost_usd)?;
    for ancestor in tx.session_ancestors(&row.name)? {
        let max = tx.session(&ancestor)?.and_then(|a| a.max_cost_usd);
        consider(&ancestor, max)?;
    }
    Ok(out)
}

/// Checks a spawn request before anything starts.
pub fn check_spawn(req: &SpawnRequest) -> Result<()> {
    check_id("name", &req.name)?;
    check_wait(req.timeout_s)?;
    check_opt_id("team", req.team.as_deref())?;
    check_opt_id("role", req.role.as_deref())?;
    if let Some(p) = &req.prompt {
        check_message("prompt", p)?;
    }
    if let Some(s) = &req.system_prompt {
        check_message("system_prompt", s)?;
    }
    if let Some(m) = &req.model
        && (m.is_empty()
            || m.len() > 200
            || !m
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:[]/@".contains(c)))
    {
        return Err(Error::invalid(
            "model",
            format!("`{m}` is not a model name (e.g. `sonnet`, `opus`, `claude-sonnet-4-5`)"),
        ));
    }
    if let Some(dir) = &req.work_dir {
        let p = std::path::Path::new(dir);
        if !p.is_absolute() {
            return Err(Error::invalid(
                "work_dir",
                format!("`{dir}` must be an absolute path"),
            ));
        }
        if !p.is_dir() {
            return Err(Error::invalid(
                "work_dir",
                format!("`{dir}` is not a directory"),
            ));
        }
    }
    if let Some(tools) = &req.allowed_tools {
        for (i, t) in tools.iter().enumerate() {
            if t.is_empty() || t.len() > 500 || t.contains(',') || t.chars().any(char::is_control) {
                return Err(Error::invalid(
                    format!("allowed_tools[{i}]"),
                    format!(
                        "`{t}` is not a tool rule (e.g. `Read`, `Bash(git diff:*)`, no commas)"
                    ),
                ));
            }
        }
    }
    if let Some(c) = req.max_cost
        && !(c.is_finite() && c > 0.0)
    {
        return Err(Error::invalid(
            "max_cost",
            format!("{c} is not a budget: give a positive number of USD"),
        ));
    }
    if let Some(c) = req.max_cost
        && c < MIN_BUDGET_USD
    {
        return Err(Error::invalid(
            "max_cost",
            format!("${c} is less than any model request costs: give at least ${MIN_BUDGET_USD}"),
        ));
    }
    if req.max_turns == Some(0) {
        return Err(Error::invalid("max_turns", "must be at least 1"));
    }
    if let Some(t) = req.turn_timeout_s
        && !(1..=MAX_TURN_TIMEOUT_S).contains(&t)
    {
        return Err(Error::invalid(
            "turn_timeout_s",
            format!("{t} is out of range 1..={MAX_TURN_TIMEOUT_S}"),
        ));
    }
    if req.template.is_some() && req.system_prompt.is_some() {
        return Err(Error::invalid(
            "template",
            "give `system_prompt` or `template`, not both",
        ));
    }
    check_permission_mode(req.permission_mode.unwrap_or(PermissionMode::Default))
}

/// A call's `timeout_s`: how long it waits before answering `running`.
pub fn check_wait(timeout_s: Option<u64>) -> Result<()> {
    match timeout_s {
        Some(t) if t > MAX_WAIT_S => Err(Error::invalid(
            "timeout_s",
            format!(
                "{t} is out of range 0..={MAX_WAIT_S} (seconds; the turn goes on after the wait)"
            ),
        )),
        _ => Ok(()),
    }
}

pub fn check_message(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(Error::invalid(
            field,
            format!("is longer than {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Claude Code refuses `bypassPermissions` as root outside a sandbox; say so before spawning
/// rather than leaving a worker that fails on its first line.
fn check_permission_mode(mode: PermissionMode) -> Result<()> {
    if mode == PermissionMode::BypassPermissions
        && is_root()
        && std::env::var_os("IS_SANDBOX").is_none_or(|v| v.is_empty())
    {
        return Err(Error::invalid(
            "permission_mode",
            "Claude Code refuses bypassPermissions when running as root unless IS_SANDBOX=1 is \
             set; inside a sandbox, set IS_SANDBOX=1 in clearctx's environment, or use \
             acceptEdits (preset `edit`) with allowed_tools",
        ));
    }
    Ok(())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Inserts a new session row (owned by nobody yet) and its `session.spawned` event.
pub(crate) fn insert(
    tx: &Tx<'_>,
    caller: &Caller,
    req: &SpawnRequest,
    kind: &str,
    config: &Config,
    claude_session_id: Option<String>,
    fork_from: Option<String>,
) -> Result<SessionRow> {
    if let Some(existing) = tx.session(&req.name)? {
        return Err(Error::conflict(format!(
            "session `{}` already exists ({}); pick another name, or delete_session it first",
            req.name, existing.status
        )));
    }
    // The caller is the parent when it is itself a session: its budget covers this one.
    let parent = tx
        .session(&caller.session)?
        .map(|p| p.name)
        .filter(|p| *p != req.name);
    if let Some(p) = &parent {
        let prow = get_row(tx, p)?;
        let b = budget(tx, &prow)?;
        if let Some(("cost_exceeded", why)) = b.refusal(&prow) {
            return Err(Error::conflict(format!(
                "cannot start `{}`: {why}",
                req.name
            )));
        }
    }
    let row = SessionRow {
        name: req.name.clone(),
        team: req.team.clone().unwrap_or_else(|| caller.team.clone()),
        parent,
        kind: kind.to_string(),
        status: SessionStatus::Starting,
        claude_session_id,
        fork_from,
        config: serde_json::to_value(config).expect("config serializes"),
        max_cost_usd: req.max_cost,
        max_turns: req.max_turns.map(i64::from),
        cost_usd: 0.0,
        turns: 0,
        process_cost_usd: 0.0,
        owner_id: None,
        owner_pid: None,
        heartbeat_ms: None,
        pid: None,
        last_output: None,
        last_error: None,
        stderr_tail: None,
        stop_reason: None,
        task_status: None,
        created_by: caller.session.clone(),
        created_at_ms: tx.now_ms(),
        updated_at_ms: tx.now_ms(),
    };
    tx.insert_session(&row)?;
    event(
        tx,
        &caller.session,
        &row,
        "session.spawned",
        json!({ "kind": kind, "parent": row.parent, "max_cost_usd": row.max_cost_usd, "max_turns": row.max_turns }),
    )?;
    Ok(row)
}

pub(crate) fn event(
    tx: &Tx<'_>,
    actor: &str,
    row: &SessionRow,
    kind: &str,
    payload: Value,
) -> Result<i64> {
    tx.append_event(NewEvent {
        kind,
        actor,
        team: &row.team,
        subject: format!("session:{}", row.name),
        payload,
    })
}

/// The outcome of a finished request, or `None` while it is queued or running.
pub fn request_outcome(req: &RequestRow) -> Option<TurnOutcome> {
    if req.status != RequestStatus::Done {
        return None;
    }
    req.outcome
        .as_ref()
        .and_then(|o| serde_json::from_value(o.clone()).ok())
}

/// Truncates `s` to at most `max` bytes on a char boundary, saying how much was cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &s[..end], s.len() - end)
}

#[cfg(test)]
mod outcome_tests {
    use super::*;

    /// A turn's error goes out as `{code, message}`; outcomes stored before, with a plain
    /// string, still read back.
    #[test]
    fn a_turn_error_is_an_error_detail_and_old_outcomes_still_read() {
        let o = TurnOutcome::failed("cost_exceeded", "no budget left", None);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(
            v["error"],
            serde_json::json!({"code": "cost_exceeded", "message": "no budget left"})
        );
        let back: TurnOutcome = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
        let mut old = serde_json::to_value(&o).unwrap();
        old["error"] = serde_json::json!("no budget left");
        let read: TurnOutcome = serde_json::from_value(old).unwrap();
        assert_eq!(read.error.as_deref(), Some("no budget left"));
        let none: TurnOutcome = serde_json::from_value(serde_json::json!({
            "status": "completed", "response": "ok", "cost_usd": 0.0, "turns": 1,
            "session_cost_usd": 0.0, "session_turns": 1
        }))
        .unwrap();
        assert_eq!(none.error, None);
    }
}
