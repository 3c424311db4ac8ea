//! SQL for sessions, their message history and their request queue.

use rusqlite::{OptionalExtension, Row, params};

use super::{Filters, Tx, json_col};
use crate::error::Result;
use crate::model::sessions::{RequestKind, RequestStatus, SessionStatus};

/// A `sessions` row as stored; `sessions` turns it into what callers see.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub name: String,
    pub team: String,
    pub parent: Option<String>,
    pub kind: String,
    pub status: SessionStatus,
    pub claude_session_id: Option<String>,
    pub fork_from: Option<String>,
    pub config: serde_json::Value,
    pub max_cost_usd: Option<f64>,
    pub max_turns: Option<i64>,
    pub cost_usd: f64,
    pub turns: i64,
    pub process_cost_usd: f64,
    pub owner_id: Option<String>,
    pub owner_pid: Option<i64>,
    pub heartbeat_ms: Option<i64>,
    pub pid: Option<i64>,
    pub last_output: Option<String>,
    pub last_error: Option<String>,
    pub stderr_tail: Option<String>,
    pub stop_reason: Option<String>,
    pub task_status: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const SESSION_COLS: &str = "name, team, parent, kind, status, claude_session_id, fork_from, config, \
     max_cost_usd, max_turns, cost_usd, turns, process_cost_usd, owner_id, owner_pid, heartbeat_ms, pid, \
     last_output, last_error, stderr_tail, stop_reason, task_status, created_by, created_at_ms, updated_at_ms";

/// A `sessions` row; what SQLite does not check (the status, the config's JSON) is decoded
/// into the inner `Result`.
fn session_row(r: &Row<'_>) -> rusqlite::Result<Result<SessionRow>> {
    let decoded = decode_session(&r.get::<_, String>(4)?, &r.get::<_, String>(7)?);
    let (status, config) = match decoded {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(SessionRow {
        name: r.get(0)?,
        team: r.get(1)?,
        parent: r.get(2)?,
        kind: r.get(3)?,
        status,
        claude_session_id: r.get(5)?,
        fork_from: r.get(6)?,
        config,
        max_cost_usd: r.get(8)?,
        max_turns: r.get(9)?,
        cost_usd: r.get(10)?,
        turns: r.get(11)?,
        process_cost_usd: r.get(12)?,
        owner_id: r.get(13)?,
        owner_pid: r.get(14)?,
        heartbeat_ms: r.get(15)?,
        pid: r.get(16)?,
        last_output: r.get(17)?,
        last_error: r.get(18)?,
        stderr_tail: r.get(19)?,
        stop_reason: r.get(20)?,
        task_status: r.get(21)?,
        created_by: r.get(22)?,
        created_at_ms: r.get(23)?,
        updated_at_ms: r.get(24)?,
    }))
}

fn decode_session(status: &str, config: &str) -> Result<(SessionStatus, serde_json::Value)> {
    Ok((SessionStatus::parse(status)?, json_col(config)?))
}

/// Filters of `list_sessions`; `None` matches everything.
#[derive(Debug)]
pub struct SessionFilter<'a> {
    pub status: Option<SessionStatus>,
    pub team: Option<&'a str>,
    pub parent: Option<&'a str>,
    pub task_status: Option<&'a str>,
    pub window: super::Window,
}

/// A live session's name, owner id, owner pid and last heartbeat.
pub type LiveOwner = (String, Option<String>, Option<i64>, Option<i64>);

/// A queued or finished request to the process running a session.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub name: String,
    pub kind: RequestKind,
    pub message: Option<String>,
    pub status: RequestStatus,
    pub outcome: Option<serde_json::Value>,
    pub created_by: String,
    pub created_at_ms: i64,
}

const REQUEST_COLS: &str = "id, name, kind, message, status, outcome, created_by, created_at_ms";

/// A `session_requests` row; what SQLite does not check (the kind, the status, the
/// outcome's JSON) is decoded into the inner `Result`.
fn request_row(r: &Row<'_>) -> rusqlite::Result<Result<RequestRow>> {
    let decoded = decode_request(
        &r.get::<_, String>(2)?,
        &r.get::<_, String>(4)?,
        r.get::<_, Option<String>>(5)?.as_deref(),
    );
    let (kind, status, outcome) = match decoded {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(RequestRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind,
        message: r.get(3)?,
        status,
        outcome,
        created_by: r.get(6)?,
        created_at_ms: r.get(7)?,
    }))
}

type DecodedRequest = (RequestKind, RequestStatus, Option<serde_json::Value>);

fn decode_request(kind: &str, status: &str, outcome: Option<&str>) -> Result<DecodedRequest> {
    Ok((
        RequestKind::parse(kind)?,
        RequestStatus::parse(status)?,
        outcome.map(json_col).transpose()?,
    ))
}

/// One line of a session's history.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub seq: i64,
    pub at_ms: i64,
    pub role: String,
    pub text: String,
    pub data: Option<serde_json::Value>,
}

impl Tx<'_> {
    pub(crate) fn insert_session(&self, s: &SessionRow) -> Result<()> {
        self.tx.execute(
            "INSERT INTO sessions (name, team, parent, kind, status, claude_session_id, fork_from, config,
                max_cost_usd, max_turns, created_by, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            params![
                s.name,
                s.team,
                s.parent,
                s.kind,
                s.status.as_str(),
                s.claude_session_id,
                s.fork_from,
                s.config.to_string(),
                s.max_cost_usd,
                s.max_turns,
                s.created_by,
                self.now_ms
            ],
        )?;
        Ok(())
    }

    pub(crate) fn session(&self, name: &str) -> Result<Option<SessionRow>> {
        let row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE name = ?1"
            ))?
            .query_row([name], session_row)
            .optional()?;
        row.transpose()
    }

    pub(crate) fn list_sessions(&self, f: &SessionFilter<'_>) -> Result<Vec<SessionRow>> {
        let (clauses, values) = Filters::default()
            .eq("status", f.status.map(SessionStatus::as_str))
            .eq("team", f.team)
            .eq("parent", f.parent)
            .eq("task_status", f.task_status)
            .sql("created_at_ms, name", f.window);
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {SESSION_COLS} FROM sessions {clauses}"))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), session_row)?;
        rows.map(|r| r?).collect()
    }

    /// Sessions that claim a live process, with who runs it: the candidates for reaping.
    pub(crate) fn live_session_owners(&self) -> Result<Vec<LiveOwner>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT name, owner_id, owner_pid, heartbeat_ms FROM sessions
             WHERE status IN ('starting', 'idle', 'busy', 'paused')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn set_session_status(&self, name: &str, status: SessionStatus) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE sessions SET status = ?2, updated_at_ms = ?3 WHERE name = ?1")?
            .execute(params![name, status.as_str(), self.now_ms])?;
        Ok(())
    }

    /// Marks the session as run by `owner_id` (a process about to start `claude`).
    pub(crate) fn claim_session(&self, name: &str, owner_id: &str, owner_pid: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET status = 'starting', owner_id = ?2, owner_pid = ?3, heartbeat_ms = ?4,
                    pid = NULL, process_cost_usd = 0, stop_reason = NULL, last_error = NULL, stderr_tail = NULL,
                    updated_at_ms = ?4
                 WHERE name = ?1",
            )?
            .execute(params![name, owner_id, owner_pid, self.now_ms])?;
        Ok(())
    }

    pub(crate) fn set_session_pid(&self, name: &str, pid: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE sessions SET pid = ?2, updated_at_ms = ?3 WHERE name = ?1")?
            .execute(params![name, pid, self.now_ms])?;
        Ok(())
    }

    pub(crate) fn set_claude_session_id(&self, name: &str, id: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET claude_session_id = ?2, fork_from = NULL, updated_at_ms = ?3 WHERE name = ?1",
            )?
            .execute(params![name, id, self.now_ms])?;
        Ok(())
    }

    /// Records why the process is about to end, before it has (it may be killed first).
    pub(crate) fn set_session_stop_reason(&self, name: &str, reason: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET stop_reason = ?2, updated_at_ms = ?3 WHERE name = ?1",
            )?
            .execute(params![name, reason, self.now_ms])?;
        Ok(())
    }

    /// The process is gone: record how it ended (a reason recorded earlier wins) and
    /// release ownership.
    pub(crate) fn end_session_process(
        &self,
        name: &str,
        status: SessionStatus,
        stop_reason: &str,
        last_error: Option<&str>,
        stderr_tail: Option<&str>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET status = ?2, stop_reason = coalesce(stop_reason, ?3), last_error = coalesce(?4, last_error),
                    stderr_tail = coalesce(?5, stderr_tail), pid = NULL, owner_id = NULL, owner_pid = NULL,
                    heartbeat_ms = NULL, updated_at_ms = ?6
                 WHERE name = ?1",
            )?
            .execute(params![
                name,
                status.as_str(),
                stop_reason,
                last_error,
                stderr_tail,
                self.now_ms
            ])?;
        Ok(())
    }

    /// Adds one turn's cost and turns to the session's totals.
    pub(crate) fn add_session_usage(
        &self,
        name: &str,
        cost_delta: f64,
        process_cost: f64,
        turns: i64,
        last_output: Option<&str>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET cost_usd = cost_usd + ?2, process_cost_usd = ?3, turns = turns + ?4,
                    last_output = coalesce(?5, last_output), updated_at_ms = ?6
                 WHERE name = ?1",
            )?
            .execute(params![name, cost_delta, process_cost, turns, last_output, self.now_ms])?;
        Ok(())
    }

    pub(crate) fn set_session_task_status(&self, name: &str, status: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET task_status = ?2, updated_at_ms = ?3 WHERE name = ?1",
            )?
            .execute(params![name, status, self.now_ms])?;
        Ok(())
    }

    /// Proves the owner is still alive; others treat a silent owner as gone.
    pub(crate) fn session_heartbeat(&self, owner_id: &str) -> Result<usize> {
        Ok(self
            .tx
            .prepare_cached("UPDATE sessions SET heartbeat_ms = ?2 WHERE owner_id = ?1")?
            .execute(params![owner_id, self.now_ms])?)
    }

    pub(crate) fn delete_session(&self, name: &str) -> Result<()> {
        self.tx
            .execute("DELETE FROM sessions WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Sessions without a process whose last change is older than `before_ms`.
    pub(crate) fn ended_sessions_before(&self, before_ms: i64) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT name FROM sessions WHERE status IN ('stopped', 'failed') AND updated_at_ms < ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([before_ms], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The session and every session delegated from it, transitively.
    pub(crate) fn session_tree_cost(&self, name: &str) -> Result<f64> {
        Ok(self.tx.prepare_cached(
            "WITH RECURSIVE tree(name, depth) AS (
                SELECT ?1, 0
                UNION SELECT s.name, t.depth + 1 FROM sessions s JOIN tree t ON s.parent = t.name WHERE t.depth < 64)
             SELECT coalesce(sum(cost_usd), 0) FROM sessions WHERE name IN (SELECT name FROM tree)",
        )?
        .query_row([name], |r| r.get(0))?)
    }

    /// The sessions above `name` in its delegation tree, nearest first.
    pub(crate) fn session_ancestors(&self, name: &str) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "WITH RECURSIVE up(name, depth) AS (
                SELECT parent, 1 FROM sessions WHERE name = ?1 AND parent IS NOT NULL
                UNION SELECT s.parent, u.depth + 1 FROM sessions s JOIN up u ON s.name = u.name
                    WHERE s.parent IS NOT NULL AND u.depth < 64)
             SELECT name FROM up ORDER BY depth",
        )?;
        let rows = stmt.query_map([name], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn append_session_message(
        &self,
        name: &str,
        role: &str,
        text: &str,
        data: Option<&serde_json::Value>,
    ) -> Result<i64> {
        let seq: i64 = self
            .tx
            .prepare_cached(
                "SELECT coalesce(max(seq), 0) + 1 FROM session_messages WHERE name = ?1",
            )?
            .query_row([name], |r| r.get(0))?;
        self.tx
            .prepare_cached(
                "INSERT INTO session_messages (name, seq, at_ms, role, text, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![name, seq, self.now_ms, role, text, data.map(|d| d.to_string())])?;
        Ok(seq)
    }

    /// History after `after_seq`, oldest first, at most `limit` rows (the newest ones).
    pub(crate) fn session_messages(
        &self,
        name: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT seq, at_ms, role, text, data FROM (
                SELECT seq, at_ms, role, text, data FROM session_messages WHERE name = ?1 AND seq > ?2
                ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![name, after_seq, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at_ms, role, text, data) = row?;
            out.push(MessageRow {
                seq,
                at_ms,
                role,
                text,
                data: data.as_deref().map(json_col).transpose()?,
            });
        }
        Ok(out)
    }

    pub(crate) fn insert_session_request(
        &self,
        name: &str,
        kind: RequestKind,
        message: Option<&str>,
        created_by: &str,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO session_requests (name, kind, message, status, created_by, created_at_ms)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5)",
            )?
            .execute(params![name, kind.as_str(), message, created_by, self.now_ms])?;
        Ok(self.tx.last_insert_rowid())
    }

    pub(crate) fn session_request(&self, id: i64) -> Result<Option<RequestRow>> {
        let row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {REQUEST_COLS} FROM session_requests WHERE id = ?1"
            ))?
            .query_row([id], request_row)
            .optional()?;
        row.transpose()
    }

    /// Requests not yet done for `name`, oldest first.
    pub(crate) fn open_session_requests(&self, name: &str) -> Result<Vec<RequestRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM session_requests WHERE name = ?1 AND status != 'done' ORDER BY id"
        ))?;
        let rows = stmt.query_map([name], request_row)?;
        rows.map(|r| r?).collect()
    }

    pub(crate) fn set_session_request_running(&self, id: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE session_requests SET status = 'running' WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    pub(crate) fn finish_session_request(
        &self,
        id: i64,
        outcome: &serde_json::Value,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE session_requests SET status = 'done', outcome = ?2, done_at_ms = ?3 WHERE id = ?1 AND status != 'done'",
            )?
            .execute(params![id, outcome.to_string(), self.now_ms])?;
        Ok(())
    }

    /// Whether Claude Code has a conversation to `--resume`: the model answered at least once.
    pub(crate) fn session_has_conversation(&self, name: &str) -> Result<bool> {
        Ok(self.tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM session_messages WHERE name = ?1 AND role IN ('assistant', 'result'))",
        )?
        .query_row([name], |r| r.get(0))?)
    }

    /// Sessions per status.
    pub(crate) fn session_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT status, count(*) FROM sessions GROUP BY status ORDER BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn sessions_total_cost(&self) -> Result<f64> {
        Ok(self
            .tx
            .query_row("SELECT coalesce(sum(cost_usd), 0) FROM sessions", [], |r| {
                r.get(0)
            })?)
    }

    /// The seq of the user message that started request `id`'s turn, once it has started.
    pub(crate) fn session_turn_start(&self, name: &str, id: i64) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT seq FROM session_messages
                 WHERE name = ?1 AND role = 'user' AND json_extract(data, '$.request_id') = ?2",
            )?
            .query_row(params![name, id], |r| r.get(0))
            .optional()?)
    }
}
