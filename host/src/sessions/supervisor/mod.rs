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
use super::{RequestKind, RequestStatus, SessionStatus, TurnOutcome, budget, clip, event, manager};
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
    status: SessionStatus,
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
                status: SessionStatus::Failed,
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
                tx.set_session_status(&name, SessionStatus::Idle)
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
                        status: SessionStatus::Stopped,
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
            status: SessionStatus::Failed,
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

    fn fail(&mut self, stop_reason: &'static str, error: String) {
        tracing::warn!(session = %self.name, %error, "session failed");
        self.kill_now(Ending {
            status: SessionStatus::Failed,
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

    fn on_line(&mut self, line: &str) {
        let parsed = match protocol::parse(line) {
            Ok(l) => l,
            Err(why) => {
                if self
                    .ending
                    .as_ref()
                    .is_some_and(|e| e.status == SessionStatus::Failed)
                {
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
}

mod outcome;
mod process;
mod requests;

use outcome::*;
pub(crate) use process::claude_program;
use process::*;
pub(crate) use requests::end_requests;
use requests::*;

#[cfg(test)]
mod tests;
