//! Session and delegation commands: `clearctx spawn|send|resume|pause|stop|kill|fork|
//! sessions|session …|delegate|task …`. A turn's output streams to the terminal as the
//! worker produces it (unless `--json`). A session this command had to start runs only
//! while the command does; it is left `stopped` and resumable (`clearctx send` resumes it).

use std::io::Write as _;
use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Output, out, reply};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;
use crate::sessions::{
    self, ContinueRequest, DelegateRequest, HistoryEntry, PermissionMode, Preset, RequestKind,
    SpawnRequest, TaskReply, TurnReply,
};

/// Exit code of a command whose turn ended other than `completed`.
pub const EXIT_TURN_NOT_COMPLETED: u8 = 5;

#[derive(Debug, Args)]
pub struct SpawnArgs {
    /// Session name
    pub name: String,
    /// First message (`-` reads it from stdin); without one the session starts idle
    pub prompt: Option<String>,
    /// Claude model, e.g. `sonnet` [default: Claude Code's]
    #[arg(long)]
    pub model: Option<String>,
    /// Working directory of the worker (absolute)
    #[arg(long)]
    pub work_dir: Option<String>,
    /// default, acceptEdits, bypassPermissions or plan
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["default", "acceptEdits", "bypassPermissions", "plan"]).try_map(|s: String| parse_mode(&s)))]
    pub permission_mode: Option<PermissionMode>,
    /// A tool the worker may use without asking (repeatable), e.g. `Read`
    #[arg(long = "allow", value_name = "TOOL")]
    pub allowed_tools: Vec<String>,
    /// Appended to Claude Code's system prompt
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Render this prompt template (e.g. `worker`) into the system prompt
    #[arg(long)]
    pub template: Option<String>,
    /// The worker's role, for templates [default: worker]
    #[arg(long)]
    pub role: Option<String>,
    /// Team of the session [default: $CLEARCTX_TEAM, else `default`]
    #[arg(long)]
    pub team: Option<String>,
    /// Most model turns the session may take in total
    #[arg(long)]
    pub max_turns: Option<u32>,
    /// Budget in USD for the session and everything it delegates
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// Kill a turn that runs longer than this many seconds [default 1800]
    #[arg(long)]
    pub turn_timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Status, cost, budget and last error of a session
    Show {
        /// Session name
        name: String,
    },
    /// The session's history: messages, replies, tool calls and results
    History {
        /// Session name
        name: String,
        /// Only entries after this seq
        #[arg(long)]
        after: Option<i64>,
        /// At most this many entries, the newest [default 200]
        #[arg(long)]
        limit: Option<u32>,
    },
    /// The final text of the last completed turn
    Output {
        /// Session name
        name: String,
    },
    /// Delete a session and its history
    Delete {
        /// Session name
        name: String,
        /// Kill it first if it is running
        #[arg(long)]
        force: bool,
    },
    /// Delete stopped and failed sessions unchanged for a while
    Cleanup {
        /// Seconds [default 3600]
        #[arg(long)]
        older_than: Option<u64>,
    },
    /// Start several sessions from a JSON array of spawn_session arguments (`-` is stdin)
    BatchSpawn {
        /// JSON file with a list of spawn_session argument objects (`-` reads stdin)
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Send a delegated worker a correction or an answer
    Continue {
        /// The delegated task's session
        name: String,
        /// The correction or answer for the worker (`-` reads stdin)
        message: String,
    },
    /// End a delegated task (its worker stops, resumable)
    Finish {
        /// Session name
        name: String,
    },
    /// Kill a delegated task's worker at once
    Abort {
        /// Session name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// Name of the new session that does the task
    pub name: String,
    /// The task (`-` reads it from stdin)
    pub task: String,
    /// read-only, review, edit, full or plan [default edit]
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["read-only", "review", "edit", "full", "plan"]).try_map(|s: String| parse_preset(&s)))]
    pub preset: Option<Preset>,
    /// Budget in USD for the task and everything it delegates
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// Most model turns the task may take
    #[arg(long)]
    pub max_turns: Option<u32>,
    /// Claude model, e.g. `sonnet` [default: Claude Code's]
    #[arg(long)]
    pub model: Option<String>,
    /// Working directory of the worker (absolute)
    #[arg(long)]
    pub work_dir: Option<String>,
    /// Team of the worker [default: $CLEARCTX_TEAM, else `default`]
    #[arg(long)]
    pub team: Option<String>,
    /// Appended to Claude Code's system prompt
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Kill a turn that runs longer than this many seconds [default 1800]
    #[arg(long)]
    pub turn_timeout: Option<u64>,
}

pub(super) fn parse_mode(s: &str) -> std::result::Result<PermissionMode, String> {
    serde_json::from_value(json!(s))
        .map_err(|_| format!("`{s}`: use default, acceptEdits, bypassPermissions or plan"))
}

fn parse_preset(s: &str) -> std::result::Result<Preset, String> {
    serde_json::from_value(json!(s))
        .map_err(|_| format!("`{s}`: use read-only, review, edit, full or plan"))
}

/// `-` means the text comes from stdin.
pub(super) fn text_arg(flag: &str, text: String) -> Result<String> {
    if text != "-" {
        return Ok(text);
    }
    // A message is at most MAX_MESSAGE_CHARS characters of up to 4 bytes each.
    super::read_limited(
        std::io::stdin(),
        4 * sessions::MAX_MESSAGE_CHARS,
        flag,
        "stdin",
    )
}

/// Runs `call` with a follower that prints the worker's output as it is recorded (none
/// with `--json`, where only the final JSON is printed).
pub(super) fn streamed<T>(json: bool, call: impl FnOnce(Option<&mut dyn FnMut(&HistoryEntry)>) -> T) -> T {
    let mut p = printer(json);
    call(p.as_mut().map(|f| f as &mut dyn FnMut(&HistoryEntry)))
}

fn printer(json: bool) -> Option<impl FnMut(&HistoryEntry)> {
    (!json).then_some(|e: &HistoryEntry| {
        let mut o = std::io::stdout().lock();
        let _ = match e.role.as_str() {
            "assistant" => writeln!(o, "{}", e.text),
            "tool" => {
                let first = e.text.lines().next().unwrap_or_default();
                let first: String = first.chars().take(160).collect();
                writeln!(o, "  ⎿ {first}")
            }
            "error" => writeln!(o, "[error] {}", e.text),
            _ => Ok(()),
        };
        let _ = o.flush();
    })
}

pub(super) fn turn_output(r: TurnReply, started_here: bool) -> Output {
    let mut text = match &r.outcome {
        Some(o) => {
            let mut t = format!(
                "— {}: {} · ${:.4} this turn, {} turn(s) · session ${:.4}, {} turn(s)",
                r.name, o.status, o.cost_usd, o.turns, o.session_cost_usd, o.session_turns
            );
            if let Some(e) = &o.error {
                t.push_str(&format!("\n  {e}"));
            }
            t
        }
        None => format!("— {}: {}", r.name, r.status),
    };
    if started_here {
        text.push_str(&format!(
            "\n  (the session ran inside this command and is now stopped; `clearctx send {} <message>` resumes it)",
            r.name
        ));
    }
    let code = match r.outcome.as_ref().map(|o| o.status.as_str()) {
        None | Some("completed") => 0,
        Some(_) => EXIT_TURN_NOT_COMPLETED,
    };
    let mut output = out(&r, text);
    output.code = code;
    output
}

fn task_output(t: TaskReply) -> Output {
    let mut text = format!(
        "— task {}: {} · ${:.4}, {} turn(s)",
        t.name, t.status, t.cost_usd, t.turns
    );
    if let Some(e) = &t.error {
        text.push_str(&format!("\n  {e}"));
    }
    for d in &t.permission_denials {
        text.push_str(&format!(
            "\n  refused: {} {}",
            d["tool_name"].as_str().unwrap_or("?"),
            d["tool_input"]
        ));
    }
    let code = if matches!(t.status.as_str(), "completed" | "aborted") {
        0
    } else {
        EXIT_TURN_NOT_COMPLETED
    };
    let mut output = out(&t, text);
    output.code = code;
    output
}

/// Whether this command runs the session (so it stops when the command ends).
pub(super) fn runs_here(r: &TurnReply) -> bool {
    r.session.owner_pid == Some(std::process::id() as i64)
}

pub fn spawn(hub: &Hub, a: SpawnArgs, json: bool) -> Result<Output> {
    let req = SpawnRequest {
        name: a.name,
        prompt: a.prompt.map(|p| text_arg("prompt", p)).transpose()?,
        model: a.model,
        work_dir: a.work_dir,
        permission_mode: a.permission_mode,
        allowed_tools: (!a.allowed_tools.is_empty()).then_some(a.allowed_tools),
        system_prompt: a.system_prompt,
        template: a.template,
        role: a.role,
        team: a.team,
        max_turns: a.max_turns,
        max_cost: a.max_cost,
        turn_timeout_s: a.turn_timeout,
        wait: Some(true),
        timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
    };
    let r = streamed(json, |f| hub.session_spawn(&req, f))?;
    let here = runs_here(&r);
    Ok(turn_output(r, here))
}

pub fn send(hub: &Hub, name: String, message: String, json: bool) -> Result<Output> {
    let req = sessions::SendRequest {
        name,
        message: text_arg("message", message)?,
        wait: Some(true),
        timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
    };
    let r = streamed(json, |f| hub.sessions().send(hub.caller(), &req, f))?;
    let here = runs_here(&r);
    Ok(turn_output(r, here))
}

pub fn resume(hub: &Hub, name: String, message: Option<String>, json: bool) -> Result<Output> {
    let req = sessions::ResumeRequest {
        name,
        message: message.map(|m| text_arg("message", m)).transpose()?,
        wait: Some(true),
        timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
    };
    let r = streamed(json, |f| hub.sessions().resume(hub.caller(), &req, f))?;
    let here = runs_here(&r);
    Ok(turn_output(r, here))
}

pub fn fork(
    hub: &Hub,
    name: String,
    new_name: String,
    message: Option<String>,
    json: bool,
) -> Result<Output> {
    let req = sessions::ForkRequest {
        name,
        new_name,
        message: message.map(|m| text_arg("message", m)).transpose()?,
        wait: Some(true),
        timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
    };
    let r = streamed(json, |f| hub.sessions().fork(hub.caller(), &req, f))?;
    let here = runs_here(&r);
    Ok(turn_output(r, here))
}

pub fn control(hub: &Hub, name: String, kind: RequestKind) -> Result<Output> {
    let s = hub.sessions().control(hub.caller(), &name, kind)?;
    let text = format!("session `{}`: {}", s.name, s.status);
    Ok(out(&s, text))
}

pub fn list(hub: &Hub, req: sessions::ListRequest) -> Result<Output> {
    let p = hub.sessions().list(&req)?;
    let l = &p.items;
    let mut text = String::new();
    if l.is_empty() {
        text.push_str("no sessions");
    }
    for s in l {
        let budget = s
            .budget_left_usd
            .map(|b| format!(" (${b:.4} left)"))
            .unwrap_or_default();
        text.push_str(&format!(
            "{:<24} {:<8} ${:.4}{budget} {} turn(s){}{}\n",
            s.name,
            s.status,
            s.cost_usd,
            s.turns,
            s.parent
                .as_ref()
                .map(|p| format!(" · under {p}"))
                .unwrap_or_default(),
            // A delegated task's outcome says more than why its process ended.
            match (&s.task_status, &s.stop_reason) {
                (Some(t), _) => format!(" · task {t}"),
                (None, Some(r)) if !sessions::is_live(s.status) => format!(" · {r}"),
                _ => String::new(),
            },
        ));
    }
    Ok(reply(
        ops::replies::list_sessions(&req, &p),
        text.trim_end().to_string() + &super::more_line(&p),
    ))
}

pub fn session(hub: &Hub, c: SessionCommand) -> Result<Output> {
    match c {
        SessionCommand::Show { name } => {
            let s = hub.sessions().get(&name)?;
            let v = serde_json::to_value(&s).expect("sessions serialize");
            let mut text = String::new();
            for (k, val) in v.as_object().expect("an object") {
                if !val.is_null() {
                    let shown = match val {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    text.push_str(&format!("{k:<18} {shown}\n"));
                }
            }
            Ok(out(&s, text.trim_end().to_string()))
        }
        SessionCommand::History { name, after, limit } => {
            let req = sessions::HistoryRequest {
                name,
                after_seq: after,
                limit,
            };
            let h = hub.sessions().history(&req)?;
            let text = h
                .iter()
                .map(|e| format!("#{} {} {:<9} {}", e.seq, e.at, e.role, e.text))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(reply(ops::replies::get_history(&req, &h), text))
        }
        SessionCommand::Output { name } => {
            let req = sessions::NameRequest { name };
            let s = hub.sessions().get(&req.name)?;
            let text = s
                .last_output
                .clone()
                .unwrap_or_else(|| "(no output yet)".into());
            Ok(reply(ops::replies::get_last_output(&req, &s), text))
        }
        SessionCommand::Delete { name, force } => {
            let req = sessions::DeleteRequest { name, force };
            let s = hub.sessions().delete(hub.caller(), &req)?;
            let text = format!("session `{}` deleted", s.name);
            Ok(reply(ops::replies::delete_session(&req, &s), text))
        }
        SessionCommand::Cleanup { older_than } => {
            let req = sessions::CleanupRequest {
                older_than_s: older_than,
            };
            let n = hub.sessions().cleanup(hub.caller(), &req)?;
            let text = format!("{} session(s) removed", n.len());
            Ok(reply(ops::replies::cleanup_sessions(&req, &n), text))
        }
        SessionCommand::BatchSpawn { file } => {
            let v = super::read_json_arg("sessions", None, Some(&file))?.expect("a file was given");
            let sessions: Vec<SpawnRequest> = serde_path_to_error::deserialize(v).map_err(|e| {
                Error::invalid(format!("sessions{}", e.path()), e.inner().to_string())
            })?;
            let req = sessions::BatchSpawnRequest { sessions };
            let l = hub.session_batch_spawn(&req)?;
            let text = l
                .iter()
                .map(|s| {
                    format!(
                        "{:<24} {}",
                        s["name"].as_str().unwrap_or("?"),
                        s["status"].as_str().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(reply(ops::replies::batch_spawn(&req, &l), text))
        }
    }
}

pub fn delegate(hub: &Hub, a: DelegateArgs, json: bool) -> Result<Output> {
    let req = DelegateRequest {
        name: a.name,
        task: text_arg("task", a.task)?,
        preset: a.preset,
        max_cost: a.max_cost,
        max_turns: a.max_turns,
        model: a.model,
        work_dir: a.work_dir,
        system_prompt: a.system_prompt,
        team: a.team,
        turn_timeout_s: a.turn_timeout,
        timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
    };
    let t = streamed(json, |f| hub.sessions().delegate(hub.caller(), &req, f))?;
    Ok(task_output(t))
}

pub fn task(hub: &Hub, c: TaskCommand, json: bool) -> Result<Output> {
    let t = match c {
        TaskCommand::Continue { name, message } => {
            let req = ContinueRequest {
                name,
                message: text_arg("message", message)?,
                timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
            };
            streamed(json, |f| {
                hub.sessions().continue_task(hub.caller(), &req, f)
            })?
        }
        TaskCommand::Finish { name } => hub.sessions().finish_task(hub.caller(), &name)?,
        TaskCommand::Abort { name } => hub.sessions().abort_task(hub.caller(), &name)?,
    };
    Ok(task_output(t))
}
