//! `mcp`: the stdio MCP server, a thin adapter over [`Hub`].
//!
//! The only module that knows rmcp. Each tool is one row of the `tools!` table: its name,
//! the hub request type that doubles as its JSON Schema, a description a model can act on,
//! and the one hub call it makes. Stdout carries the protocol and nothing else; `framing`
//! makes sure every line the client sends is answered.

use std::sync::Arc;
use std::time::SystemTime;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, MetaObject, PaginatedRequestParams, ProtocolVersion, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

mod framing;

use crate::artifacts;
use crate::contracts;
use crate::error::{Error, ErrorKind};
use crate::hub::Hub;
use crate::inbox;
use crate::sessions::{self, TaskReply, TurnReply};

pub use crate::model::MCP_SERVER_NAME as SERVER_NAME;

/// The identity of a server that no worker name was given to.
pub const ORCHESTRATOR: &str = "orchestrator";

const INSTRUCTIONS: &str = "clearctx coordinates a team of Claude Code sessions through \
transactions instead of chat. Publish results as versioned artifacts (artifact_publish), \
read them with artifact_get (reads are recorded), and assign work with contracts \
(contract_create) whose dependencies resolve themselves: a contract becomes ready when the \
contracts and artifacts it depends on exist, and its assignee finds it in team_check_inbox. \
Run Claude Code workers with spawn_session / send_message, or hand off a bounded task with \
delegate_task (preset, max_cost, max_turns); workers get these same tools under their own \
name. Call server_version first. The tools for everyday work are loaded from the start; \
the rest (artifact history and diffs, pausing, forking or stopping workers, plugins) are \
found by searching for clearctx and what you want to do.";

/// The largest result also repeated as text in `content`; the largest reply is then about
/// one copy of the largest result (8 MiB of artifact data), under the 16 MiB a line may be.
const MAX_TEXT_COPY_BYTES: usize = 512 * 1024;

/// Arguments of tools that take none.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A tool's outcome: a headline for people and its structured JSON result, or the hub's
/// refusal. The outer error is for calls that are malformed (unknown tool, arguments that
/// do not match the schema): those are JSON-RPC errors, the rest are tool results.
type ToolOutput = Result<Result<(String, Value), Error>, McpError>;

/// Arguments of `plugin_info`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginIdRequest {
    /// The plugin's id, e.g. `std-json-schema`.
    pub plugin: String,
}

/// Who a server speaks for: the orchestrator (a plain Claude Code session, or the CLI's
/// user) or one worker that clearctx started (`CLEARCTX_SESSION` set by clearctx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Orchestrator,
    Worker,
}

/// One tool: how it is listed and how it is called.
struct ToolDef {
    name: &'static str,
    description: &'static str,
    /// Words a model's tool search should find it by (Claude Code's `anthropic/searchHint`).
    hint: &'static str,
    /// Whose first turn needs it: Claude Code defers every other tool behind its tool
    /// search, so these are listed with `anthropic/alwaysLoad`.
    core_for: &'static [Audience],
    schema: fn() -> Value,
    call: fn(&Server, Value) -> ToolOutput,
}

fn schema_of<T: JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).expect("schemas serialize");
    // Clients read `type: object` at the top; the `$schema` and `title` keys only add noise.
    if let Some(map) = value.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    value
}

fn parse<T: DeserializeOwned>(tool: &str, args: Value) -> Result<T, McpError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        McpError::invalid_params(
            format!("{tool}: invalid arguments: {field}{}", e.inner()),
            Some(json!({ "code": "invalid_input", "field": path })),
        )
    })
}

/// What a call the hub could not carry out answers. A refusal (bad input, not found, wrong
/// state, an invalid artifact, a failed plugin) is a tool result with `isError: true` and
/// the error as structured data, so the model sees it and can act on it; a fault of
/// clearctx itself is a JSON-RPC internal error.
fn refusal(tool: &str, e: Error) -> Result<CallToolResult, McpError> {
    let message = format!("{tool}: {e}");
    if e.kind() == ErrorKind::Internal {
        tracing::error!(tool, error = %e, "tool failed");
        return Err(McpError::internal_error(message, Some(e.detail())));
    }
    let mut result = CallToolResult::structured_error(json!({ "error": e.detail() }));
    result.content = vec![ContentBlock::text(message)];
    Ok(result)
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("hub results serialize")
}

macro_rules! tools {
    ($( $name:literal [$($core:ident),*] $hint:literal, $args:ty, $desc:literal, |$hub:ident, $req:ident| $body:expr; )*) => {
        const TOOLS: &[ToolDef] = &[
            $(ToolDef {
                name: $name,
                description: $desc,
                hint: $hint,
                core_for: &[$(Audience::$core),*],
                schema: schema_of::<$args>,
                call: |server, args| {
                    let $req: $args = parse($name, args)?;
                    let $hub = &*server.hub;
                    let _ = &$req;
                    let outcome: Result<(String, Value), Error> = $body;
                    Ok(outcome)
                },
            },)*
        ];
    };
}

tools! {
    "artifact_publish" [Orchestrator, Worker] "publish share save result output artifact version data", artifacts::PublishRequest,
    "Publish a new immutable version of an artifact (versions are numbered 1, 2, 3... per artifact). `data` is the JSON content; `derived_from` lists the exact input versions it was made from. Contracts waiting on this artifact become ready automatically.",
    |hub, req| hub.artifact_publish(&req).map(|v| (format!("published `{}` v{} ({}){}", v.artifact_id, v.version, v.artifact_type, v.warnings.iter().map(|w| format!("; warning: {w}")).collect::<String>()), to_value(&v)));

    "artifact_get" [Orchestrator, Worker] "read get fetch artifact result output latest version data", artifacts::GetRequest,
    "Read an artifact's latest version (or a given `version`) with its data. The read is recorded for artifact_readers and phase gates.",
    |hub, req| hub.artifact_get(&req).map(|v| (format!("`{}` v{} of {} ({})", v.artifact_id, v.version, v.latest_version, v.artifact_type), to_value(&v)));

    "artifact_list" [Orchestrator] "list browse find artifacts outputs results by type publisher", artifacts::ListRequest,
    "List artifacts with their latest version (no data), optionally filtered by type, publisher or team.",
    |hub, req| hub.artifact_list(&req).map(|p| (format!("{} artifact(s){}", p.items.len(), more(&p)), p.envelope("artifacts")));

    "artifact_history" [] "history versions of an artifact changes over time lineage", artifacts::HistoryRequest,
    "List every version of an artifact, oldest first, with publisher, summary, sha256 and lineage inputs (no data).",
    |hub, req| hub.artifact_history_page(&req).map(|p| (format!("`{}`: {} version(s){}", req.artifact_id, p.items.len(), more(&p)), json!({ "artifact_id": req.artifact_id, "versions": p.items, "next_cursor": p.next_cursor })));

    "artifact_readers" [] "who read an artifact readers seen latest", artifacts::ArtifactIdRequest,
    "Who read which version of an artifact, and whether each reader has seen the latest.",
    |hub, req| hub.artifact_readers(&req.artifact_id).map(|r| (format!("`{}`: {} reader(s)", r.artifact_id, r.readers.len()), to_value(&r)));

    "artifact_diff" [] "diff compare two versions of an artifact changes", artifacts::DiffRequest,
    "Structural JSON diff (RFC 6902 operations) between two versions of an artifact; defaults to the latest against the one before.",
    |hub, req| hub.artifact_diff(&req).map(|d| (format!("`{}` v{} -> v{}: {} added, {} removed, {} changed", d.artifact_id, d.from_version, d.to_version, d.added, d.removed, d.changed), to_value(&d)));

    "artifact_types" [] "artifact types schema validator json schema", NoArgs,
    "The artifact types this data dir knows: the built-in ones and every type in use, with how many artifacts each has and what validates them.",
    |hub, req| hub.artifact_types().map(|t| (format!("{} type(s)", t.len()), json!({ "types": t })));

    "contract_create" [Orchestrator, Worker] "assign work task job to a worker session dependencies create contract", contracts::CreateRequest,
    "Assign work to a session (any session may assign any other). The contract is `ready` at once when it has no unmet dependencies, else `pending` until the contracts it depends on complete and the artifacts it depends on reach `min_version`. Cycles and dependencies on missing contracts are refused. The assignee is notified in its inbox when the contract becomes ready.",
    |hub, req| hub.contract_create(&req).map(|c| (format!("contract `{}` created for {}: {}", c.contract_id, c.assignee, c.status.as_str()), to_value(&c)));

    "contract_start" [Worker] "start begin work on an assigned contract task", contracts::ContractIdRequest,
    "Start a ready contract (ready -> in_progress). Its timeout, if any, starts counting now.",
    |hub, req| hub.contract_start(&req).map(|c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(&c)));

    "contract_complete" [Worker] "complete finish done deliver assigned contract task", contracts::CompleteRequest,
    "Complete an in-progress contract. Refused until every required expected output has a version published since the contract became ready. Contracts depending on it become ready.",
    |hub, req| hub.contract_complete(&req).map(|c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(&c)));

    "contract_fail" [Worker] "fail give up cannot do assigned contract task reason", contracts::ReasonRequest,
    "Mark an unfinished contract failed, with the reason. The assigner is notified.",
    |hub, req| hub.contract_fail(&req).map(|c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(&c)));

    "contract_reopen" [] "reopen redo retry contract task again reason", contracts::ReasonRequest,
    "Reopen a completed, failed or in-progress contract with a reason (counts against max_retries). It becomes ready again when its dependencies hold, and the assignee is notified with the reason.",
    |hub, req| hub.contract_reopen(&req).map(|c| (format!("contract `{}` reopened: {}", c.contract_id, c.status.as_str()), to_value(&c)));

    "contract_get" [Worker] "contract task details dependencies inputs status history", contracts::GetRequest,
    "One contract with its dependencies (and whether each holds), expected outputs and full history of events.",
    |hub, req| hub.contract_get(&req.contract_id).map(|c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(&c)));

    "contract_list" [Orchestrator] "list contracts tasks work assigned status progress", contracts::ListRequest,
    "List contracts, highest priority first, optionally filtered by assignee, assigner, status or team.",
    |hub, req| hub.contract_list(&req).map(|p| (format!("{} contract(s){}", p.items.len(), more(&p)), p.envelope("contracts")));

    "team_check_inbox" [Orchestrator, Worker] "inbox notifications messages unread what changed ready work", inbox::CheckRequest,
    "Unread notifications for the caller (or `recipient`): contracts that became ready, were reopened, failed or completed. Marks them read unless `mark_read` is false.",
    |hub, req| hub.inbox_check(&req).map(|i| (format!("{} unread notification(s) for {}", i.unread.len(), i.recipient), to_value(&i)));

    "plugin_list" [] "plugins installed validators rules webassembly", NoArgs,
    "Installed and standard WebAssembly plugins: kinds, API version, enabled, the artifact types or templates each provides, granted capabilities and limits. Installing is a CLI act with the user's consent (`clearctx plugin add`).",
    |hub, req| hub.plugin_list().map(|list| (format!("{} plugin(s)", list.len()), json!({ "count": list.len(), "plugins": list })));

    "plugin_info" [] "plugin health limits failures details", PluginIdRequest,
    "One plugin in detail: health, limits, granted capabilities, recent failures and the most fuel, time and memory its calls used.",
    |hub, req| hub.plugin_info(&req.plugin).map(|d| (format!("plugin `{}`: {}", d.summary.id, d.health), to_value(&d)));

    "spawn_session" [Orchestrator] "spawn start launch new worker session claude agent teammate", sessions::SpawnRequest,
    "Start a Claude Code worker: a long-lived `claude` process with this data dir's clearctx tools (it knows its own name). With a `prompt`, waits for the first turn's result (`wait: false` returns at once). `max_cost` (USD) and `max_turns` are enforced by clearctx, including for everything the worker delegates.",
    |hub, req| hub.session_spawn(&req, None).map(|r| turn(&r, "started"));

    "send_message" [Orchestrator] "send message talk tell ask a worker session reply turn", sessions::SendRequest,
    "Send a message to a session and wait for its reply (`wait: false` queues it and returns). A stopped session is resumed first with its conversation; a paused one keeps the message until resume_session (the call returns at once). Returns the reply text, the turn's cost and turns, and the session's totals.",
    |hub, req| hub.sessions().send(hub.caller(), &req, None).map(|r| turn(&r, "answered"));

    "resume_session" [] "resume restart continue a stopped session worker", sessions::ResumeRequest,
    "Bring back a stopped or failed session (also after a server restart) with its conversation (`--resume`), or un-pause a paused one; optionally send a `message`.",
    |hub, req| hub.sessions().resume(hub.caller(), &req, None).map(|r| turn(&r, "resumed"));

    "pause_session" [] "pause hold a worker session", sessions::NameRequest,
    "Pause a session: its process stays, the turn it is on finishes, and later messages wait until resume_session.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, "pause").map(|s| (format!("session `{}`: {}", s.name, s.status), to_value(&s)));

    "stop_session" [] "stop end a worker session gracefully", sessions::NameRequest,
    "Stop a session gracefully: it finishes its current turn and its process exits. It stays resumable.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, "stop").map(|s| (format!("session `{}`: {}", s.name, s.status), to_value(&s)));

    "kill_session" [] "kill terminate a worker session now", sessions::NameRequest,
    "Kill a session's process at once (its current turn is lost). It stays resumable from its last completed turn.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, "kill").map(|s| (format!("session `{}`: {}", s.name, s.status), to_value(&s)));

    "fork_session" [] "fork branch copy a worker session conversation", sessions::ForkRequest,
    "Branch a session: `new_name` continues the same conversation (`--fork-session`) while the original is left as it is. Optionally send the branch its first `message`.",
    |hub, req| hub.sessions().fork(hub.caller(), &req, None).map(|r| turn(&r, "forked"));

    "get_session_status" [] "session status cost budget left worker health error", sessions::NameRequest,
    "A session's status (starting, idle, busy, paused, stopped, failed), cost, turns, budget left, process, last error and stderr tail.",
    |hub, req| hub.sessions().get(&req.name).map(|s| (format!("session `{}`: {} (${:.4}, {} turns)", s.name, s.status, s.cost_usd, s.turns), to_value(&s)));

    "get_last_output" [] "last output reply answer result of a worker session", sessions::NameRequest,
    "The final text of a session's last completed turn, with its status and cost.",
    |hub, req| hub.sessions().get(&req.name).map(|s| (format!("session `{}`: last output", s.name), json!({ "name": s.name, "status": s.status, "last_output": s.last_output, "cost_usd": s.cost_usd, "turns": s.turns, "last_error": s.last_error })));

    "get_history" [] "session history transcript conversation log worker", sessions::HistoryRequest,
    "A session's interaction history, oldest first: user messages, assistant replies and tool calls, tool results, turn results and errors. `after_seq` follows it.",
    |hub, req| hub.sessions().history(&req).map(|h| (format!("session `{}`: {} entries", req.name, h.len()), json!({ "name": req.name, "entries": h })));

    "list_sessions" [Orchestrator] "list workers sessions team status cost budget", sessions::ListRequest,
    "Sessions with status, cost, turns and budget, optionally filtered by status, team or parent (the session that delegated them). Sessions of a server that died show as stopped.",
    |hub, req| hub.sessions().list(&req).map(|p| (format!("{} session(s){}", p.items.len(), more(&p)), p.envelope("sessions")));

    "delete_session" [] "delete remove a worker session", sessions::DeleteRequest,
    "Delete a session and its history. A running session is refused unless `force` (then it is killed first).",
    |hub, req| hub.sessions().delete(hub.caller(), &req).map(|s| (format!("session `{}` deleted", s.name), json!({ "deleted": s.name })));

    "batch_spawn" [] "spawn start several many workers sessions at once parallel", sessions::BatchSpawnRequest,
    "Start several sessions at once; their first turns run side by side and the call waits for all of them. Each item is a spawn_session argument object; a failing item is reported in place.",
    |hub, req| hub.session_batch_spawn(&req).map(|l| (format!("{} session(s) started", l.len()), json!({ "count": l.len(), "sessions": l })));

    "cleanup_sessions" [] "cleanup remove old stopped sessions", sessions::CleanupRequest,
    "Delete stopped and failed sessions unchanged for `older_than_s` seconds (default 3600).",
    |hub, req| hub.sessions().cleanup(hub.caller(), &req).map(|n| (format!("{} session(s) removed", n.len()), json!({ "removed": n })));

    "delegate_task" [Orchestrator, Worker] "delegate hand off subtask to a worker budget max cost preset", sessions::DelegateRequest,
    "Run a task in a new worker limited by a `preset` (read-only, review, edit, full, plan), `max_cost` (USD) and `max_turns`, and wait for it. `status` is completed, needs_input (it was refused tools: answer with continue_task), failed, cost_exceeded or turns_exceeded. A worker's budget also covers everything it delegates.",
    |hub, req| hub.sessions().delegate(hub.caller(), &req, None).map(|t| task(&t));

    "continue_task" [] "continue answer correct a delegated task worker", sessions::ContinueRequest,
    "Send a delegated worker a correction or an answer and wait for its next result (same statuses as delegate_task).",
    |hub, req| hub.sessions().continue_task(hub.caller(), &req, None).map(|t| task(&t));

    "finish_task" [] "finish end a delegated task result", sessions::NameRequest,
    "End a delegated task: its worker stops (resumable) and the final result is returned.",
    |hub, req| hub.sessions().finish_task(hub.caller(), &req.name).map(|t| task(&t));

    "abort_task" [] "abort cancel kill a delegated task", sessions::NameRequest,
    "Stop a delegated task at once (its worker is killed).",
    |hub, req| hub.sessions().abort_task(hub.caller(), &req.name).map(|t| task(&t));

    "server_version" [Orchestrator, Worker] "clearctx version data dir caller identity status", NoArgs,
    "Call this first: the server's version, MCP protocol version, data dir, caller identity, loaded plugins, and `stale: true` when the clearctx binary on disk is newer than this running server (restart Claude Code then).",
    |hub, req| Ok::<_, Error>(version_info(hub));
}

/// A headline's note that the list goes on.
fn more<T>(p: &crate::store::page::Page<T>) -> &'static str {
    if p.next_cursor.is_some() {
        "; more with `cursor`: next_cursor"
    } else {
        ""
    }
}

fn turn(r: &TurnReply, verb: &str) -> (String, Value) {
    let headline = match &r.outcome {
        Some(o) => format!(
            "session `{}` {verb}: {} (${:.4}, {} turn(s); session total ${:.4})",
            r.name, o.status, o.cost_usd, o.turns, o.session_cost_usd
        ),
        None => format!("session `{}` {verb}: {}", r.name, r.status),
    };
    (headline, to_value(r))
}

fn task(t: &TaskReply) -> (String, Value) {
    (
        format!(
            "task `{}`: {} (${:.4}, {} turn(s))",
            t.name, t.status, t.cost_usd, t.turns
        ),
        to_value(t),
    )
}

/// Names of every tool, in listing order.
pub fn tool_names() -> Vec<&'static str> {
    TOOLS.iter().map(|t| t.name).collect()
}

/// Names of the tools listed as always loaded for `audience`.
pub fn core_tool_names(audience: Audience) -> Vec<&'static str> {
    TOOLS
        .iter()
        .filter(|t| t.core_for.contains(&audience))
        .map(|t| t.name)
        .collect()
}

/// Every tool as MCP lists it to `audience`.
pub fn tools(audience: Audience) -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|t| {
            let schema = match (t.schema)() {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            let mut meta = Map::new();
            meta.insert("anthropic/searchHint".into(), json!(t.hint));
            // Explicit both ways: a client config with `"alwaysLoad": true` (which makes
            // Claude Code wait for the server before the first turn) loads every tool
            // except those that say `false` here.
            let core = t.core_for.contains(&audience);
            meta.insert("anthropic/alwaysLoad".into(), json!(core));
            Tool::new(t.name, t.description, Arc::new(schema)).with_meta(MetaObject(meta))
        })
        .collect()
}

/// When this server started and the mtime its binary had then, for `stale`.
static STARTED: std::sync::OnceLock<(SystemTime, Option<SystemTime>)> = std::sync::OnceLock::new();

fn exe_mtime() -> Option<SystemTime> {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
}

fn version_info(hub: &Hub) -> (String, Value) {
    let (_, mtime_at_start) = STARTED.get_or_init(|| (SystemTime::now(), exe_mtime()));
    let stale = match (mtime_at_start, exe_mtime()) {
        (Some(then), Some(now)) => now > *then,
        _ => false,
    };
    let version = env!("CARGO_PKG_VERSION");
    (
        format!(
            "clearctx {version}{}",
            if stale {
                " (stale: restart Claude Code)"
            } else {
                ""
            }
        ),
        json!({
            "name": SERVER_NAME,
            "version": version,
            "protocol_version": ProtocolVersion::LATEST.as_str(),
            "data_dir": hub.home().display().to_string(),
            "caller": hub.caller().session,
            "team": hub.caller().team,
            "plugins": hub.plugin_list().map(|l| l.into_iter().map(|p| format!("{}@{}", p.id, p.version)).collect::<Vec<_>>()).unwrap_or_default(),
            "stale": stale,
        }),
    )
}

#[derive(Clone)]
pub struct Server {
    hub: Arc<Hub>,
    audience: Audience,
}

impl Server {
    pub fn new(hub: Arc<Hub>) -> Server {
        STARTED.get_or_init(|| (SystemTime::now(), exe_mtime()));
        // clearctx starts its workers' servers with their own name; everyone else is the
        // orchestrator.
        let audience = if hub.caller().session == ORCHESTRATOR {
            Audience::Orchestrator
        } else {
            Audience::Worker
        };
        Server { hub, audience }
    }

    /// Calls a tool by name without a transport; the server and tests share this path.
    pub fn call(&self, name: &str, args: Value) -> ToolOutput {
        let tool = TOOLS.iter().find(|t| t.name == name).ok_or_else(|| {
            McpError::invalid_params(
                format!(
                    "unknown tool `{name}`; tools/list shows the {} tools",
                    TOOLS.len()
                ),
                Some(json!({ "code": "unknown_tool" })),
            )
        })?;
        (tool.call)(self, args)
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools(self.audience)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        let name = request.name.to_string();
        let server = self.clone();
        let tool = name.clone();
        // The hub blocks on SQLite (and may wait for another process's write lock), so it
        // runs off the async workers.
        let outcome = tokio::task::spawn_blocking(move || server.call(&tool, args))
            .await
            .map_err(|e| McpError::internal_error(format!("tool task failed: {e}"), None))??;
        let (headline, value) = match outcome {
            Ok(done) => done,
            Err(e) => return refusal(&name, e).map(Into::into),
        };
        let json = value.to_string();
        let mut result = CallToolResult::structured(value);
        // A headline for people, then the JSON for clients that read only `content`, unless
        // repeating it would make the reply too large to read (the text escapes it again).
        let text = if json.len() <= MAX_TEXT_COPY_BYTES {
            format!("{headline}\n{json}")
        } else {
            format!(
                "{headline}\n(the result is {} bytes of JSON, too large to repeat as text: it is in structuredContent)",
                json.len()
            )
        };
        result.content = vec![ContentBlock::text(text)];
        Ok(result.into())
    }
}

/// Serves MCP on stdin/stdout until the client closes the stream.
pub async fn serve(hub: Arc<Hub>) -> anyhow::Result<()> {
    let ticker_hub = hub.clone();
    let hub_for_shutdown = hub.clone();
    // Deadlines pass without any command; apply them every second.
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let hub = ticker_hub.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || hub.tick()).await {
                tracing::warn!(error = %e, "applying overdue contracts failed");
            }
        }
    });
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let (transport, writer) = framing::guard(stdin, stdout);
    let service = Server::new(hub).serve(transport).await?;
    let result = service.waiting().await;
    // Every answer already made reaches the client before the server goes.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
    // The workers this server runs stop with it (they stay resumable).
    let _ = tokio::task::spawn_blocking(move || hub_for_shutdown.sessions().shutdown()).await;
    result?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_tool_schema_has_a_boolean_subschema() {
        for tool in tools(Audience::Orchestrator) {
            let schema = Value::Object((*tool.input_schema).clone());
            assert_eq!(
                crate::schema::find_boolean_subschema(&schema),
                None,
                "tool {} would make Claude Code drop every tool: {schema}",
                tool.name
            );
            assert_eq!(schema["type"], "object", "tool {}", tool.name);
        }
    }

    /// A model sees only what the schema says: every parameter, at any depth, is described.
    #[test]
    fn every_parameter_of_every_tool_has_a_description() {
        fn walk(tool: &str, root: &Value, schema: &Value, path: &str, missing: &mut Vec<String>) {
            let schema = match schema["$ref"].as_str() {
                Some(r) => &root["$defs"][r.rsplit('/').next().unwrap_or_default()],
                None => schema,
            };
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                let here = format!("{path}{name}");
                if prop["description"]
                    .as_str()
                    .is_none_or(|d| d.trim().is_empty())
                {
                    missing.push(format!("{tool}.{here}"));
                }
                walk(tool, root, &prop["items"], &format!("{here}[]."), missing);
                walk(tool, root, prop, &format!("{here}."), missing);
                for alt in prop["anyOf"].as_array().into_iter().flatten() {
                    walk(tool, root, alt, &format!("{here}."), missing);
                }
            }
        }
        let mut missing = Vec::new();
        for tool in tools(Audience::Orchestrator) {
            let schema = Value::Object((*tool.input_schema).clone());
            walk(&tool.name, &schema, &schema, "", &mut missing);
        }
        assert!(
            missing.is_empty(),
            "parameters without a description: {missing:?}"
        );
    }

    #[test]
    fn each_audience_has_a_small_core_and_every_tool_a_search_hint() {
        for audience in [Audience::Orchestrator, Audience::Worker] {
            let core = core_tool_names(audience);
            assert!(core.contains(&"artifact_publish"), "{audience:?}: {core:?}");
            assert!(
                core.len() <= 12,
                "{audience:?} loads too much up front: {core:?}"
            );
            for tool in tools(audience) {
                let meta = tool.meta.as_ref().expect("every tool has _meta");
                let hint = meta.0["anthropic/searchHint"].as_str().unwrap_or_default();
                assert!(hint.split(' ').count() >= 3, "{}: hint `{hint}`", tool.name);
                let always = meta.0.get("anthropic/alwaysLoad") == Some(&json!(true));
                assert_eq!(always, core.contains(&tool.name.as_ref()), "{}", tool.name);
            }
        }
        assert!(core_tool_names(Audience::Orchestrator).contains(&"delegate_task"));
        assert!(core_tool_names(Audience::Worker).contains(&"contract_complete"));
    }

    #[test]
    fn tool_names_are_unique_and_follow_group_verb() {
        let names = tool_names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(
            names
                .iter()
                .all(|n| n.contains('_') && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }
}
