//! The arguments of the session tools, as MCP lists them (their JSON Schemas) and the CLI
//! builds them from its flags.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Preset;

/// A Claude Code `--permission-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PermissionMode {
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "acceptEdits")]
    AcceptEdits,
    #[serde(rename = "bypassPermissions")]
    BypassPermissions,
    #[serde(rename = "plan")]
    Plan,
}

impl PermissionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::Plan => "plan",
        }
    }
}

/// Arguments of `spawn_session` (and, with a preset, of `delegate_task`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnRequest {
    /// The session's name, used by every other session tool.
    pub name: String,
    /// The first message; without one it starts idle, waiting for send_message.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Claude model, e.g. `sonnet` or a full id [default: Claude Code's].
    #[serde(default)]
    pub model: Option<String>,
    /// Working directory [default: the server's].
    #[serde(default)]
    pub work_dir: Option<String>,
    /// Permission mode [default: `default`, clearctx's tools allowed].
    #[serde(default)]
    pub permission_mode: Option<PermissionMode>,
    /// Tools allowed without asking, e.g. `Read`, `Bash(git diff:*)`; clearctx's always are.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Appended to Claude Code's system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Template rendered into the system prompt, e.g. `worker`.
    #[serde(default)]
    pub template: Option<String>,
    /// The worker's role, for templates [default: `worker`].
    #[serde(default)]
    pub role: Option<String>,
    /// Team of the session [default: the caller's team].
    #[serde(default)]
    pub team: Option<String>,
    /// Most turns (model round trips) it may take in total.
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// Most USD it and all it delegates may spend.
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// A turn running longer is killed, failing the session [default 1800].
    #[serde(default)]
    pub turn_timeout_s: Option<u64>,
    /// Wait for the first turn's result [default true].
    #[serde(default)]
    pub wait: Option<bool>,
    /// Seconds before answering `running` as the turn goes on [default 900].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `send_message`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The session's name.
    pub name: String,
    /// What to tell the worker: its next turn.
    pub message: String,
    /// Wait for the turn's result [default true].
    #[serde(default)]
    pub wait: Option<bool>,
    /// How long to wait before answering `running` [default 900].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `resume_session`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// The session's name.
    pub name: String,
    /// A message to send once it runs again.
    #[serde(default)]
    pub message: Option<String>,
    /// Wait for the turn's result [default true].
    #[serde(default)]
    pub wait: Option<bool>,
    /// Seconds before answering `running` as the turn goes on [default 900, max 86400].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `fork_session`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkRequest {
    /// The session to branch from; it is left as it is.
    pub name: String,
    /// Name of the new session.
    pub new_name: String,
    /// First message of the branch.
    #[serde(default)]
    pub message: Option<String>,
    /// Wait for the turn's result [default true].
    #[serde(default)]
    pub wait: Option<bool>,
    /// Seconds before answering `running` as the turn goes on [default 900, max 86400].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of the tools that take only a session name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRequest {
    /// The session's name.
    pub name: String,
}

/// Arguments of `delete_session`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// The session's name.
    pub name: String,
    /// Kill a running session first instead of refusing.
    #[serde(default)]
    pub force: bool,
}

/// Arguments of `get_history`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// The session's name.
    pub name: String,
    /// Only entries after this `seq` (for following a session).
    #[serde(default)]
    pub after_seq: Option<i64>,
    /// At most this many entries, the newest [default 200].
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Arguments of `list_sessions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// starting, idle, busy, paused, stopped, failed, or a `task_status` value.
    #[serde(default)]
    pub status: Option<String>,
    /// Only sessions of this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Sessions delegated by this one.
    #[serde(default)]
    pub parent: Option<String>,
    /// Only delegated tasks that ended so: completed, needs_input, failed, cost_exceeded,
    /// turns_exceeded or aborted.
    #[serde(default)]
    pub task_status: Option<String>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `batch_spawn`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSpawnRequest {
    /// Sessions to start at once, each spawn_session's arguments, e.g.
    /// {"name": "w1", "prompt": "..."}.
    #[schemars(schema_with = "spawn_requests")]
    pub sessions: Vec<SpawnRequest>,
}

/// The items are spawn_session's arguments; saying so instead of repeating that schema
/// keeps 2 KB out of every session's context.
fn spawn_requests(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": "object", "required": ["name"] }
    })
}

/// Arguments of `cleanup_sessions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupRequest {
    /// Remove stopped and failed sessions unchanged for this long [default 3600].
    #[serde(default)]
    pub older_than_s: Option<u64>,
}

/// Arguments of `delegate_task`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateRequest {
    /// Name of the new session that does the task.
    pub name: String,
    /// The task, in full: the worker's first message.
    pub task: String,
    /// read-only, review, edit, full or plan [default edit].
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Most USD it and all it delegates may spend.
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// Most turns the task may take.
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// Claude model, e.g. `sonnet` [default: Claude Code's].
    #[serde(default)]
    pub model: Option<String>,
    /// Absolute working directory [default: the server's].
    #[serde(default)]
    pub work_dir: Option<String>,
    /// Appended to the worker's system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Team of the worker [default: the caller's team].
    #[serde(default)]
    pub team: Option<String>,
    /// A turn running longer is killed, failing the task [default 1800].
    #[serde(default)]
    pub turn_timeout_s: Option<u64>,
    /// Seconds before answering `running` as the turn goes on [default 900, max 86400].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `continue_task`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContinueRequest {
    /// The delegated task's session.
    pub name: String,
    /// The correction or answer for the worker.
    pub message: String,
    /// Seconds before answering `running` as the turn goes on [default 900, max 86400].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}
