//! `clearctx hook <event>`: what Claude Code runs at SessionStart, Stop, PreCompact and
//! SessionEnd (installed by `clearctx setup`). It reads the hook's JSON on stdin
//! (`session_id`, `cwd`, or `working_directory`), saves a continuity checkpoint, and at
//! SessionStart prints `hookSpecificOutput.additionalContext`: the briefing, which Claude
//! Code adds to the model's context. A hook must never break the user's session, so every
//! failure is logged to stderr and the exit code is 0 all the same.

use std::path::Path;

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::hub::{Caller, Hub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookEvent {
    SessionStart,
    Stop,
    PreCompact,
    SessionEnd,
}

impl HookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::SessionStart => "session-start",
            HookEvent::Stop => "stop",
            HookEvent::PreCompact => "pre-compact",
            HookEvent::SessionEnd => "session-end",
        }
    }
}

/// Most of stdin a hook reads: Claude Code's hook input is a small object (a Stop hook's
/// carries the last assistant message).
const MAX_INPUT: usize = 4 * 1024 * 1024;

/// What the hook prints on stdout (`None`: nothing). Errors are the caller's to log.
pub fn run(home: &Path, event: HookEvent, input: &str) -> crate::Result<Option<String>> {
    let input: Value = if input.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(input).map_err(|e| {
            crate::Error::invalid("stdin", format!("the hook input is not JSON: {e}"))
        })?
    };
    let text = |k: &str| input.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let session_id = text("session_id").unwrap_or("");
    let project = text("cwd").or_else(|| text("working_directory"));
    let caller = Caller::from_env(crate::mcp::ORCHESTRATOR)?;
    if caller.session != crate::mcp::ORCHESTRATOR {
        // A clearctx worker (its `claude` runs with CLEARCTX_SESSION) loads the user's
        // settings, hooks included. Its contract is its briefing, and its checkpoints would
        // move the user's "since last time" past changes the user never saw: do nothing.
        tracing::debug!(worker = %caller.session, "hook inside a clearctx worker: skipped");
        return Ok(None);
    }
    let hub = Hub::open(home, caller)?;
    let brief = event == HookEvent::SessionStart;
    let briefing = hub.hook(project, session_id, event.as_str(), brief)?;
    Ok(briefing.map(|b| {
        json!({
            "hookSpecificOutput": {
                "hookEventName": "SessionStart",
                "additionalContext": b.text,
            }
        })
        .to_string()
    }))
}

/// Reads stdin and runs the hook; whatever happens, the exit code is 0.
pub fn main(home: crate::Result<std::path::PathBuf>, event: HookEvent) -> Option<String> {
    let outcome = home.and_then(|home| {
        let input = super::read_limited(std::io::stdin(), MAX_INPUT, "stdin", "the hook input")?;
        run(&home, event, &input)
    });
    match outcome {
        Ok(out) => out,
        Err(e) => {
            eprintln!("clearctx hook {}: {e} (the session goes on without it)", event.as_str());
            None
        }
    }
}
