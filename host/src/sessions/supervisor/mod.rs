//! The thread that runs one `claude` process: it writes turns to its stdin, records what
//! its stdout says, carries out the session's queued requests, enforces the turn timeout
//! and the budget, and records how the process ended. Each supervisor has its own SQLite
//! connection; every change it makes is one short transaction.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::protocol::{self, Line, TurnResult};
use super::{TurnOutcome, budget, clip, event, manager};
use crate::error::Result;
use crate::store::{Reactor, SessionRow, Store, Tx};

/// A stdout line longer than this is not a protocol message clearctx will hold in memory.
pub(crate) const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// Kept of each process's stderr, for the reason a session failed.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// Stored per history entry; the full text of a turn's result is in `last_output`.
const HISTORY_TEXT_BYTES: usize = 64 * 1024;
const LAST_OUTPUT_BYTES: usize = 1024 * 1024;
/// How often the supervisor looks at the request queue when nothing wakes it.
const POLL: Duration = Duration::from_millis(100);
const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long a stopping process may take to exit after its stdin closes.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub(crate) enum Msg {
    Line(String),
    TooLong,
    Eof,
    /// A request was queued in this process, or the owner is shutting down.
    Wake,
    Shutdown,
}

/// How to start the process.
pub(crate) struct Launch {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub env_remove: Vec<&'static str>,
    pub work_dir: Option<PathBuf>,
    pub turn_timeout: Duration,
}

/// Why the process is ending, decided by the first thing that ended it.
#[derive(Clone, Debug)]
struct Ending {
    /// `stopped` (resumable, nothing wrong) or `failed`.
    status: &'static str,
    stop_reason: &'static str,
    error: Option<String>,
    /// The status the turn running at that moment ends with.
    turn_status: &'static str,
}

struct Current {
    request_id: i64,
    started: Instant,
}

struct Supervisor {
    store: Store,
    name: String,
    launch: Launch,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    current: Option<Current>,
    paused: bool,
    ending: Option<Ending>,
    /// When to SIGKILL the process group if it has not exited.
    kill_at: Option<Instant>,
    claude_id: Option<String>,
    last_heartbeat: Instant,
}

/// Runs the process of session `launch.name` to its end. Never panics on a bad process.
pub(crate) fn run(db: PathBuf, react: Reactor, launch: Launch, rx: Receiver<Msg>, tx: Sender<Msg>) {
    let name = launch.name.clone();
    let mut store = match Store::open(&db, react) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(session = %name, error = %e, "cannot open the database for a session");
            return;
        }
    };
    let child = match spawn(&launch) {
        Ok(c) => c,
        Err(e) => {
            let program = launch.program.display();
            let error = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "cannot start `{program}`: not found; install Claude Code (`npm install -g @anthropic-ai/claude-code`) or set CLEARCTX_CLAUDE_BIN to its path"
                )
            } else {
                format!("cannot start `{program}`: {e}")
            };
            let ending = Ending {
                status: "failed",
                stop_reason: "spawn_failed",
                error: Some(error),
                turn_status: "failed",
            };
            log_err(&name, finish(&mut store, &name, &ending, None, ""));
            manager::ring();
            return;
        }
    };
    let mut sup = Supervisor {
        store,
        name,
        launch,
        child,
        stdin: None,
        stderr: Arc::new(Mutex::new(VecDeque::new())),
        stderr_reader: None,
        current: None,
        paused: false,
        ending: None,
        kill_at: None,
        claude_id: None,
        last_heartbeat: Instant::now(),
    };
    sup.stdin = sup.child.stdin.take();
    let stdout = sup.child.stdout.take().expect("stdout is piped");
    let stderr = sup.child.stderr.take().expect("stderr is piped");
    let out_tx = tx.clone();
    std::thread::spawn(move || read_stdout(stdout, out_tx));
    let tail = sup.stderr.clone();
    let label = sup.name.clone();
    sup.stderr_reader = Some(std::thread::spawn(move || {
        read_stderr(stderr, tail, &label)
    }));
    drop(tx);
    sup.main(rx);
}

fn spawn(launch: &Launch) -> std::io::Result<Child> {
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a kill reaches the MCP servers and tools it started, and
        // a signal meant for clearctx does not reach it.
        .process_group(0);
    for k in &launch.env_remove {
        cmd.env_remove(k);
    }
    cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &launch.work_dir {
        cmd.current_dir(dir);
    }
    cmd.spawn()
}

fn read_stdout(out: impl Read, tx: Sender<Msg>) {
    let mut reader = BufReader::with_capacity(64 * 1024, out);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) | Err(_) => {
                let _ = tx.send(Msg::Eof);
                return;
            }
            Ok(_) => {
                if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
                    let _ = tx.send(Msg::TooLong);
                    return;
                }
                let line = String::from_utf8_lossy(&buf).trim().to_string();
                if !line.is_empty() && tx.send(Msg::Line(line)).is_err() {
                    return;
                }
            }
        }
    }
}

fn read_stderr(err: impl Read, tail: Arc<Mutex<VecDeque<u8>>>, name: &str) {
    let reader = BufReader::new(err);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { return };
        tracing::debug!(session = %name, "claude stderr: {}", String::from_utf8_lossy(&line));
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        t.extend(line);
        t.push_back(b'\n');
        while t.len() > STDERR_TAIL_BYTES {
            t.pop_front();
        }
    }
}

fn log_err(name: &str, r: Result<()>) {
    if let Err(e) = r {
        tracing::error!(session = %name, error = %e, "recording a session change failed");
    }
}

impl Supervisor {
    fn main(&mut self, rx: Receiver<Msg>) {
        let pid = self.child.id() as i64;
        let name = self.name.clone();
        log_err(
            &name,
            self.store.write(|tx| {
                tx.set_session_pid(&name, pid)?;
                tx.set_session_status(&name, "idle")
            }),
        );
        manager::ring();
        self.poll();
        let mut got_eof = false;
        let mut last_poll = Instant::now();
        loop {
            let msg = rx.recv_timeout(POLL);
            // A busy turn streams many lines; look at the queue and budget on a wake-up, once
            // a turn has ended, or every POLL, not after every line.
            let mut due = !matches!(msg, Ok(Msg::Line(_)));
            match msg {
                Ok(Msg::Line(line)) => {
                    self.on_line(&line);
                    due |= self.current.is_none();
                }
                Ok(Msg::TooLong) => self.fail(
                    "output_too_large",
                    format!(
                        "claude printed a stdout line longer than {} MiB",
                        MAX_LINE_BYTES / (1024 * 1024)
                    ),
                ),
                Ok(Msg::Eof) => {
                    got_eof = true;
                    break;
                }
                Ok(Msg::Shutdown) => {
                    // An orderly end (the CLI command or the server finished) is not an
                    // error: the stop reason says it. Only a turn it cut short is one.
                    let error = self.current.is_some().then(|| {
                        format!(
                            "the clearctx process (pid {}) that ran it ended during a turn; resume_session brings it back",
                            std::process::id()
                        )
                    });
                    self.stop(Ending {
                        status: "stopped",
                        stop_reason: "owner_exited",
                        error,
                        turn_status: "failed",
                    });
                    // The owner is leaving: a busy turn gets a few seconds, not its timeout.
                    let soon = Instant::now() + Duration::from_secs(5);
                    self.kill_at = Some(self.kill_at.map_or(soon, |k| k.min(soon)));
                }
                Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if due || last_poll.elapsed() >= POLL {
                last_poll = Instant::now();
                self.poll();
            }
            if let Some(at) = self.kill_at
                && Instant::now() >= at
            {
                self.kill_group();
                self.kill_at = None;
            }
            // A killed process whose stdout a grandchild still holds open: stop waiting.
            if self.ending.is_some()
                && self.kill_at.is_none()
                && matches!(self.child.try_wait(), Ok(Some(_)))
            {
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(Msg::Line(line)) = rx.try_recv() {
                    self.on_line(&line);
                }
                break;
            }
        }
        let exit = self.reap_child();
        let ending = self.ending.clone().unwrap_or_else(|| Ending {
            status: "failed",
            stop_reason: "crashed",
            error: Some(format!(
                "claude exited unexpectedly ({}){}",
                exit,
                if got_eof {
                    ""
                } else {
                    "; its output ended early"
                }
            )),
            turn_status: "failed",
        });
        let tail = self.stderr_tail();
        let current = self.current.take().map(|c| c.request_id);
        log_err(
            &name,
            finish(&mut self.store, &name, &ending, current, &tail),
        );
        manager::ring();
    }

    fn stderr_tail(&mut self) -> String {
        // The process is gone; let the reader take in its last words (a grandchild that
        // still holds the pipe open must not keep us waiting).
        if let Some(reader) = self.stderr_reader.take() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let t = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let bytes: Vec<u8> = t.iter().copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    /// Waits for the process (killing its group if it lingers) and describes its exit.
    fn reap_child(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    self.kill_group();
                    return match self.child.wait() {
                        Ok(s) => s.to_string(),
                        Err(e) => format!("wait failed: {e}"),
                    };
                }
                Err(e) => return format!("wait failed: {e}"),
            }
        }
    }

    fn kill_group(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling a process group we created; a stale group is ESRCH, harmless.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
    }

    /// Ends the process now (SIGKILL), for failures and kill requests.
    fn kill_now(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
        }
        self.stdin = None;
        self.kill_group();
        self.kill_at = None;
    }

    fn fail(&mut self, stop_reason: &'static str, error: String) {
        tracing::warn!(session = %self.name, %error, "session failed");
        self.kill_now(Ending {
            status: "failed",
            stop_reason,
            error: Some(error),
            turn_status: "failed",
        });
    }

    /// Ends the process gently: its stdin closes, so it finishes the turn it is on and exits.
    fn stop(&mut self, ending: Ending) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(ending);
        self.stdin = None;
        let grace = match &self.current {
            Some(c) => self
                .launch
                .turn_timeout
                .saturating_sub(c.started.elapsed())
                .max(STOP_GRACE),
            None => STOP_GRACE,
        };
        self.kill_at = Some(Instant::now() + grace);
    }

    fn write_stdin(&mut self, line: &str) -> bool {
        let ok = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|_| stdin.flush())
                .is_ok(),
            None => false,
        };
        if !ok && self.ending.is_none() {
            self.fail(
                "crashed",
                "claude stopped reading its input (its stdin is closed)".into(),
            );
        }
        ok
    }

    fn on_line(&mut self, line: &str) {
        let parsed = match protocol::parse(line) {
            Ok(l) => l,
            Err(why) => {
                if self.ending.as_ref().is_some_and(|e| e.status == "failed") {
                    return;
                }
                self.fail(
                    "malformed_output",
                    format!(
                        "claude printed a line that is not a stream-json message ({why}): {}",
                        clip(line, 200)
                    ),
                );
                return;
            }
        };
        let name = self.name.clone();
        let r = match parsed {
            Line::Init { session_id } => {
                if session_id.is_empty() || self.claude_id.as_deref() == Some(&session_id) {
                    return;
                }
                self.claude_id = Some(session_id.clone());
                self.store.write(|tx| {
                    let row = super::get_row(tx, &name)?;
                    if row.claude_session_id.as_deref() != Some(&session_id) {
                        tx.set_claude_session_id(&name, &session_id)?;
                    }
                    Ok(())
                })
            }
            Line::Assistant {
                text,
                tool_uses,
                error,
            } => {
                let shown = if text.is_empty() {
                    tool_uses
                        .iter()
                        .map(|t| format!("[calls {}]", t["name"].as_str().unwrap_or("?")))
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    text
                };
                let mut data = json!({});
                if !tool_uses.is_empty() {
                    let uses: Vec<_> = tool_uses
                        .into_iter()
                        .map(|mut t| {
                            let input = t["input"].to_string();
                            if input.len() > 4096 {
                                t["input"] = json!(clip(&input, 4096));
                            }
                            t
                        })
                        .collect();
                    data["tool_uses"] = json!(uses);
                }
                if let Some(e) = error {
                    data["error"] = json!(e);
                }
                let data = (data != json!({})).then_some(data);
                self.store.write(|tx| {
                    tx.append_session_message(
                        &name,
                        "assistant",
                        &clip(&shown, HISTORY_TEXT_BYTES),
                        data.as_ref(),
                    )
                    .map(|_| ())
                })
            }
            Line::ToolResults(results) => self.store.write(|tx| {
                for (id, content, is_error) in &results {
                    tx.append_session_message(
                        &name,
                        "tool",
                        &clip(content, 4096),
                        Some(&json!({ "tool_use_id": id, "is_error": is_error })),
                    )?;
                }
                Ok(())
            }),
            Line::Result(result) => {
                tracing::debug!(session = %name, "result line received");
                let r = self.on_result(result);
                tracing::debug!(session = %name, "result recorded");
                r
            }
            Line::ControlRequest {
                request_id,
                subtype,
            } => {
                tracing::debug!(session = %name, %subtype, "declining a control request");
                self.write_stdin(&protocol::control_error(
                    &request_id,
                    &format!("clearctx does not handle `{subtype}` requests"),
                ));
                Ok(())
            }
            Line::Other => return,
        };
        log_err(&self.name, r);
        manager::ring();
    }

    fn on_result(&mut self, r: TurnResult) -> Result<()> {
        let name = self.name.clone();
        let current = self.current.take();
        let paused = self.paused;
        let stop_for_budget = self.store.write(|tx| {
            let row = super::get_row(tx, &name)?;
            let delta = turn_cost(&r, row.process_cost_usd);
            let text = r.text.clone().unwrap_or_default();
            let output = (!r.is_error).then(|| clip(&text, LAST_OUTPUT_BYTES));
            tx.add_session_usage(&name, delta, r.total_cost_usd, r.num_turns, output.as_deref())?;
            let row = super::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            let overspent = b.left_usd.is_some_and(|l| l < -1e-9);
            let over_turns = b.turns_left.is_some_and(|t| t < 0);
            let (status, error) = match r.subtype.as_str() {
                "error_max_budget_usd" => ("cost_exceeded", Some(r.errors.join("; "))),
                "error_max_turns" => ("turns_exceeded", Some(r.errors.join("; "))),
                _ if r.is_error => (
                    "failed",
                    Some(if r.errors.is_empty() {
                        format!("claude ended the turn with `{}`", r.subtype)
                    } else {
                        r.errors.join("; ")
                    }),
                ),
                _ if overspent => ("cost_exceeded", b.refusal(&row).map(|(_, w)| w)),
                _ if over_turns => ("turns_exceeded", b.refusal(&row).map(|(_, w)| w)),
                _ if !r.permission_denials.is_empty() => (
                    "needs_input",
                    Some(format!(
                        "{} tool call(s) were refused: {}",
                        r.permission_denials.len(),
                        r.permission_denials
                            .iter()
                            .map(|d| d["tool_name"].as_str().unwrap_or("?").to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ),
                _ => ("completed", None),
            };
            let outcome = TurnOutcome {
                status: status.to_string(),
                response: text.clone(),
                error,
                cost_usd: delta,
                turns: r.num_turns,
                session_cost_usd: row.cost_usd,
                session_turns: row.turns,
                permission_denials: r.permission_denials.clone(),
                subtype: Some(r.subtype.clone()),
                duration_ms: r.duration_ms,
            };
            let shown = if text.is_empty() {
                outcome.error.clone().unwrap_or_default()
            } else {
                text
            };
            tx.append_session_message(
                &name,
                "result",
                &clip(&shown, HISTORY_TEXT_BYTES),
                Some(&json!({
                    "status": status, "cost_usd": delta, "turns": r.num_turns,
                    "subtype": r.subtype, "permission_denials": r.permission_denials,
                })),
            )?;
            record_outcome(tx, &row, current.as_ref().map(|c| c.request_id), &outcome)?;
            tx.set_session_status(&name, if paused { "paused" } else { "idle" })?;
            event(
                tx,
                &name,
                &row,
                "session.turn_completed",
                json!({ "status": status, "cost_usd": delta, "turns": r.num_turns, "session_cost_usd": row.cost_usd }),
            )?;
            // Out of budget: no later turn may run, so let the process go. The reason is
            // recorded now, in case the process dies before it has exited cleanly.
            let refusal = b.refusal(&row);
            if let Some((status, _)) = &refusal {
                tx.set_session_stop_reason(&name, status)?;
            }
            Ok(refusal)
        })?;
        if let Some((status, why)) = stop_for_budget {
            self.store.write(|tx| {
                let row = super::get_row(tx, &name)?;
                event(
                    tx,
                    &name,
                    &row,
                    "session.budget_exceeded",
                    json!({ "reason": why }),
                )?;
                Ok(())
            })?;
            self.stop(Ending {
                status: "stopped",
                stop_reason: status,
                error: Some(why),
                turn_status: status,
            });
        }
        Ok(())
    }

    /// Looks at the queue and the budget; starts the next turn when the process is free.
    fn poll(&mut self) {
        let name = self.name.clone();
        if self.last_heartbeat.elapsed() >= HEARTBEAT {
            self.last_heartbeat = Instant::now();
            log_err(
                &name,
                self.store
                    .write(|tx| tx.session_heartbeat(&name).map(|_| ())),
            );
        }
        let state = self.store.read(|tx| {
            let open = tx.open_session_requests(&name)?;
            let row = super::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            Ok((open, row, b))
        });
        let (open, row, b) = match state {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(session = %name, error = %e, "reading the session queue failed");
                return;
            }
        };
        // The tree's budget ran out (this session, a child or a sibling spent it). A turn
        // in flight stops now, mid-turn; an idle process is let go, since no turn of it
        // could run. Both stay resumable once someone raises the budget.
        if self.ending.is_none()
            && let Some(("cost_exceeded", why)) = b.refusal(&row)
        {
            let ending = Ending {
                status: "stopped",
                stop_reason: "cost_exceeded",
                error: Some(why),
                turn_status: "cost_exceeded",
            };
            if self.current.is_some() {
                self.kill_now(ending);
            } else {
                self.stop(ending);
            }
        }
        if let Some(c) = &self.current
            && c.started.elapsed() > self.launch.turn_timeout
            && self.ending.is_none()
        {
            let secs = self.launch.turn_timeout.as_secs();
            self.fail(
                "turn_timeout",
                format!(
                    "the turn ran longer than its turn_timeout_s ({secs} s); the process was killed"
                ),
            );
        }
        // Controls first: an unpause queued after a turn must let that turn run, in order.
        let (turns, controls): (Vec<_>, Vec<_>) = open.into_iter().partition(|r| r.kind == "turn");
        for req in controls.into_iter().chain(turns) {
            match req.kind.as_str() {
                "kill" => {
                    self.done(req.id);
                    self.kill_now(Ending {
                        status: "stopped",
                        stop_reason: "killed",
                        error: Some(format!("killed by {}", req.created_by)),
                        turn_status: "failed",
                    });
                }
                // Done when the process has ended (see `finish`).
                "stop" if req.status == "queued" => {
                    log_err(
                        &name,
                        self.store
                            .write(|tx| tx.set_session_request_running(req.id)),
                    );
                    self.stop(Ending {
                        status: "stopped",
                        stop_reason: "stopped",
                        error: None,
                        turn_status: "failed",
                    });
                }
                "pause" => {
                    self.paused = true;
                    let busy = self.current.is_some();
                    log_err(
                        &name,
                        self.store.write(|tx| {
                            if !busy {
                                tx.set_session_status(&name, "paused")?;
                            }
                            tx.finish_session_request(req.id, &json!({ "status": "paused" }))
                        }),
                    );
                }
                "unpause" => {
                    self.paused = false;
                    let status = if self.current.is_some() {
                        "busy"
                    } else {
                        "idle"
                    };
                    log_err(
                        &name,
                        self.store.write(|tx| {
                            tx.set_session_status(&name, status)?;
                            tx.finish_session_request(req.id, &json!({ "status": status }))
                        }),
                    );
                }
                "turn"
                    if req.status == "queued"
                        && self.current.is_none()
                        && !self.paused
                        && self.ending.is_none() =>
                {
                    self.start_turn(req.id, req.message.as_deref().unwrap_or_default());
                }
                _ => {}
            }
        }
        manager::ring();
    }

    fn done(&mut self, id: i64) {
        log_err(
            &self.name,
            self.store
                .write(|tx| tx.finish_session_request(id, &json!({ "status": "done" }))),
        );
    }

    fn start_turn(&mut self, id: i64, message: &str) {
        let name = self.name.clone();
        let refused = self.store.write(|tx| {
            let row = super::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            if let Some((status, why)) = b.refusal(&row) {
                let outcome = TurnOutcome::failed(status, why, Some(&row));
                record_outcome(tx, &row, Some(id), &outcome)?;
                return Ok(Some(()));
            }
            tx.set_session_request_running(id)?;
            tx.set_session_status(&name, "busy")?;
            tx.append_session_message(
                &name,
                "user",
                &clip(message, HISTORY_TEXT_BYTES),
                Some(&json!({ "request_id": id })),
            )?;
            Ok(None)
        });
        match refused {
            Ok(Some(())) => {}
            Ok(None) => {
                self.current = Some(Current {
                    request_id: id,
                    started: Instant::now(),
                });
                self.write_stdin(&protocol::user_turn(message));
                tracing::debug!(session = %name, "turn written to claude");
            }
            Err(e) => log_err(&name, Err(e)),
        }
    }
}

/// What a turn cost. Where the CLI reports it, its own figure; else what is new in its
/// running total since the previous result of this process (`seen`).
fn turn_cost(r: &TurnResult, seen: f64) -> f64 {
    match r.turn_cost_usd {
        Some(cost) => cost.max(0.0),
        None if r.total_cost_usd >= seen => r.total_cost_usd - seen,
        None => r.total_cost_usd,
    }
}

fn to_json(o: &TurnOutcome) -> serde_json::Value {
    serde_json::to_value(o).expect("outcomes serialize")
}

/// Records the end of a session's process: its status and reason, the stderr tail, and an
/// outcome for every request still open.
fn finish(
    store: &mut Store,
    name: &str,
    ending: &Ending,
    running: Option<i64>,
    stderr_tail: &str,
) -> Result<()> {
    store.write(|tx| finish_tx(tx, name, ending, running, stderr_tail))
}

fn finish_tx(
    tx: &Tx<'_>,
    name: &str,
    ending: &Ending,
    running: Option<i64>,
    stderr_tail: &str,
) -> Result<()> {
    let tail = (!stderr_tail.is_empty()).then_some(stderr_tail);
    tx.end_session_process(
        name,
        ending.status,
        ending.stop_reason,
        ending.error.as_deref(),
        tail,
    )?;
    let Some(row) = tx.session(name)? else {
        return Ok(()); // deleted meanwhile
    };
    end_requests(
        tx,
        &row,
        ending.turn_status,
        ending.error.as_deref(),
        running,
    )?;
    if ending.status == "failed" {
        let why = ending
            .error
            .clone()
            .unwrap_or_else(|| ending.stop_reason.to_string());
        let text = match tail {
            Some(t) => format!("{why}\nstderr (tail):\n{}", clip(t, 2048)),
            None => why,
        };
        tx.append_session_message(name, "error", &text, None)?;
    }
    event(
        tx,
        name,
        &row,
        if ending.status == "failed" {
            "session.failed"
        } else {
            "session.stopped"
        },
        json!({ "reason": ending.stop_reason, "error": ending.error }),
    )?;
    Ok(())
}

/// Gives every open request of a session whose process is gone an outcome: the running turn
/// ends with `turn_status`, queued turns were never sent, controls are done.
pub(crate) fn end_requests(
    tx: &Tx<'_>,
    row: &SessionRow,
    turn_status: &str,
    error: Option<&str>,
    running: Option<i64>,
) -> Result<()> {
    for req in tx.open_session_requests(&row.name)? {
        let outcome = match req.kind.as_str() {
            "turn" if req.status == "running" || Some(req.id) == running => TurnOutcome::failed(
                turn_status,
                error.unwrap_or("the session stopped during the turn"),
                Some(row),
            ),
            "turn" => TurnOutcome::failed(
                "failed",
                match (&row.last_error, row.status.as_str()) {
                    (Some(e), "failed") => format!(
                        "session `{}` failed before this message was sent: {e}",
                        row.name
                    ),
                    _ => format!(
                        "session `{}` ended ({}) before this message was sent; resume_session and send it again",
                        row.name,
                        row.stop_reason.as_deref().unwrap_or("stopped")
                    ),
                },
                Some(row),
            ),
            _ => {
                tx.finish_session_request(req.id, &json!({ "status": "done" }))?;
                continue;
            }
        };
        record_outcome(tx, row, Some(req.id), &outcome)?;
    }
    Ok(())
}

/// Gives a turn its outcome. A delegated task's status is its last turn's, recorded in the
/// same transaction so it survives the owner being killed right after.
fn record_outcome(
    tx: &Tx<'_>,
    row: &SessionRow,
    request: Option<i64>,
    outcome: &TurnOutcome,
) -> Result<()> {
    if let Some(id) = request {
        tx.finish_session_request(id, &to_json(outcome))?;
    }
    if row.kind == "delegate" {
        tx.set_session_task_status(&row.name, &outcome.status)?;
    }
    Ok(())
}

/// The path of Claude Code: `CLEARCTX_CLAUDE_BIN`, else `claude` on PATH.
pub(crate) fn claude_program() -> PathBuf {
    std::env::var_os("CLEARCTX_CLAUDE_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("claude").to_path_buf())
}

#[cfg(test)]
mod tests;
