//! `mcp`: the stdio MCP server, a thin adapter over [`Hub`].
//!
//! The only module that knows rmcp. Each tool is one operation of [`crate::ops`]: this
//! module lists them (schema, description, search words, what loads up front) and calls
//! them, turning a refusal into an `isError` result. Stdout carries the protocol and
//! nothing else; `framing` makes sure every line the client sends is answered.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult, ListToolsResult,
    MetaObject, PaginatedRequestParams, ProgressNotificationParam, ProgressToken, Prompt,
    PromptArgument, PromptMessage, RequestId, Role, ServerCapabilities, ServerConfig,
    ServerJsonRpcMessage, ServerResult, Tool,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};

mod framing;

use crate::error::{Error, ErrorKind};
use crate::hub::Hub;
use crate::ops::{self, OPS};

pub use crate::ops::Audience;

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

/// How often a call that is still running tells a client that asked (a `progressToken`)
/// that it is: Claude Code shows the message on the tool's row and restarts its idle
/// timeout, so a long wait for a worker is neither a frozen screen nor abandoned.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the progress message says a call is doing: waiting for whom, or just working.
fn progress_label(tool: &str, args: &Value) -> String {
    let whom = ["name", "to", "new_name"]
        .iter()
        .find_map(|k| args.get(*k).and_then(Value::as_str));
    match whom {
        Some(whom) => format!("{tool}: waiting for `{whom}`"),
        None => format!("{tool}: working"),
    }
}

/// Sends `notifications/progress` (seconds elapsed) every [`PROGRESS_EVERY`] until aborted.
async fn heartbeat(peer: Peer<RoleServer>, token: ProgressToken, label: String) {
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let s = started.elapsed().as_secs();
        let note = ProgressNotificationParam::new(token.clone(), s as f64)
            .with_message(format!("{label}, {s} s so far"));
        if peer.notify_progress(note).await.is_err() {
            return; // the client is gone; the call's own reply will fail the same way
        }
    }
}

/// A tool's outcome: a headline for people and its structured JSON result, or the hub's
/// refusal. The outer error is for calls that are malformed (unknown tool, arguments that
/// do not match the schema): those are JSON-RPC errors, the rest are tool results.
type ToolOutput = Result<Result<(String, Value), Error>, McpError>;

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

/// A prompt that could not be listed or rendered: the caller's mistake (unknown name,
/// missing or bad argument, a template that refused its variables) is invalid params;
/// anything else (a plugin that trapped, the data dir) is an internal error.
fn prompt_error(e: Error) -> McpError {
    let data = Some(e.detail());
    let callers = matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound)
        || matches!(
            &e,
            Error::Plugin {
                code: "plugin_invalid_input",
                ..
            }
        );
    if callers {
        McpError::invalid_params(e.to_string(), data)
    } else {
        tracing::error!(error = %e, "prompt failed");
        McpError::internal_error(e.to_string(), data)
    }
}

/// Names of every tool, in listing order.
pub fn tool_names() -> Vec<&'static str> {
    OPS.iter().map(|t| t.name).collect()
}

/// Names of the tools listed as always loaded for `audience`.
pub fn core_tool_names(audience: Audience) -> Vec<&'static str> {
    OPS.iter()
        .filter(|t| t.core_for.contains(&audience))
        .map(|t| t.name)
        .collect()
}

/// Every tool as MCP lists it to `audience`.
pub fn tools(audience: Audience) -> Vec<Tool> {
    OPS.iter()
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

#[derive(Clone)]
pub struct Server {
    hub: Arc<Hub>,
    audience: Audience,
}

impl Server {
    pub fn new(hub: Arc<Hub>) -> Server {
        ops::mark_start();
        // clearctx starts its workers' servers with their own name; everyone else is the
        // orchestrator.
        let audience = if hub.caller().session == ORCHESTRATOR {
            Audience::Orchestrator
        } else {
            Audience::Worker
        };
        Server { hub, audience }
    }

    /// The prompts: every template of the active template plugins.
    pub fn prompts(&self) -> Result<Vec<Prompt>, McpError> {
        let prompts = self.hub.prompts().map_err(prompt_error)?;
        Ok(prompts
            .into_iter()
            .map(|p| {
                let arguments = p
                    .arguments
                    .into_iter()
                    .map(|a| {
                        PromptArgument::new(a.name)
                            .with_description(a.description)
                            .with_required(a.required)
                    })
                    .collect();
                Prompt::new(p.name, Some(p.description), Some(arguments))
            })
            .collect())
    }

    /// Renders a prompt as one user message. Prompts have no `isError`: an unknown name or
    /// a missing argument is a JSON-RPC invalid-params error that says which.
    pub fn prompt(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<GetPromptResult, McpError> {
        let rendered = self.hub.prompt(name, &arguments).map_err(prompt_error)?;
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, rendered.text)])
                .with_description(rendered.description),
        )
    }

    /// Calls a tool by name without a transport; the server and tests share this path.
    pub fn call(&self, name: &str, args: Value) -> ToolOutput {
        let op = ops::find(name).ok_or_else(|| {
            McpError::invalid_params(
                format!(
                    "unknown tool `{name}`; tools/list shows the {} tools",
                    OPS.len()
                ),
                Some(json!({ "code": "unknown_tool" })),
            )
        })?;
        let outcome = (op.call)(&self.hub, args).map_err(|bad| {
            let field = if bad.field == "." {
                String::new()
            } else {
                format!("{}: ", bad.field)
            };
            McpError::invalid_params(
                format!("{name}: invalid arguments: {field}{}", bad.message),
                Some(json!({ "code": "invalid_input", "field": bad.field })),
            )
        })?;
        Ok(outcome.map(|r| (r.headline, r.json)))
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build(),
        )
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

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let server = self.clone();
        // Listing asks each template plugin (wasmtime, maybe a first compile): off the workers.
        let prompts = tokio::task::spawn_blocking(move || server.prompts())
            .await
            .map_err(|e| McpError::internal_error(format!("prompt task failed: {e}"), None))??;
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let server = self.clone();
        let arguments = request.arguments.unwrap_or_default();
        let result = tokio::task::spawn_blocking(move || server.prompt(&request.name, arguments))
            .await
            .map_err(|e| McpError::internal_error(format!("prompt task failed: {e}"), None))??;
        Ok(result.into())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        let name = request.name.to_string();
        let progress = context.meta.get_progress_token().map(|token| {
            let label = progress_label(&name, &args);
            tokio::spawn(heartbeat(context.peer.clone(), token, label))
        });
        let server = self.clone();
        let tool = name.clone();
        // The hub blocks on SQLite and may wait for a worker's turn, so it runs on tokio's
        // blocking pool, never on an async worker: any write may run a plugin, and
        // wasmtime-wasi's synchronous WASI calls `block_on` the runtime, which panics on a
        // worker. (The quick tools do not come here: the reading thread, outside the
        // runtime, answers them; see `framing`.) The answer is sent back before the thread
        // records the reads an `artifact_get` queued, so the reply goes out while they are
        // written (see `Hub::artifact_get`).
        let (answer, answered) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let _ = answer.send(server.call(&tool, args));
            server.hub.flush_queued();
        });
        let outcome = answered.await;
        if let Some(beat) = progress {
            // Stopped, not just told to stop: no progress may follow the reply.
            beat.abort();
            let _ = beat.await;
        }
        let outcome = outcome.map_err(|e| {
            McpError::internal_error(
                format!("tool task failed (it panicked; the server log says where): {e}"),
                None,
            )
        })?;
        tool_result(&name, outcome).map(Into::into)
    }
}

/// What `tools/call` of `tool` returns, from the hub's outcome: the same on both paths.
fn tool_result(tool: &str, outcome: ToolOutput) -> Result<CallToolResult, McpError> {
    let (headline, value) = match outcome? {
        Ok(done) => done,
        Err(e) => return refusal(tool, e),
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
    Ok(result)
}

/// The quick tools (see [`ops::Op::quick`]) are answered on the thread that reads the
/// client, with no hand-off: their hub call never waits on anything but the store. The
/// rest go through rmcp to [`Server::call_tool`] and tokio's blocking pool.
impl framing::Inline for Server {
    fn takes(&self, tool: &str) -> bool {
        ops::find(tool).is_some_and(|op| op.quick)
    }

    fn answer(&self, id: RequestId, tool: &str, arguments: Map<String, Value>) -> Vec<u8> {
        // This thread reads every line: a panic here must become an error reply, as one on
        // a pool thread does, not a server that stops reading.
        let call = std::panic::AssertUnwindSafe(|| {
            tool_result(tool, self.call(tool, Value::Object(arguments)))
        });
        let result = std::panic::catch_unwind(call).unwrap_or_else(|_| {
            Err(McpError::internal_error(
                "tool call failed (it panicked; the server log says where)",
                None,
            ))
        });
        let message = match result {
            Ok(result) => ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), id),
            Err(e) => ServerJsonRpcMessage::error(e, Some(id)),
        };
        serde_json::to_vec(&message).expect("a JSON-RPC message serializes")
    }

    fn after(&self) {
        // The replies are out; now record the reads `artifact_get` queued, and write the
        // plugin calls' lines.
        self.hub.flush_queued();
    }

    fn pending(&self) -> bool {
        self.hub.has_queued()
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
            let tick = move || {
                let ticked = hub.tick();
                // Background writes (this tick, a worker's supervisor) queue call log lines
                // too; no answer follows them to write them.
                hub.flush_queued();
                ticked
            };
            if let Ok(Err(e)) = tokio::task::spawn_blocking(tick).await {
                tracing::warn!(error = %e, "applying overdue contracts failed");
            }
        }
    });
    // Plain blocking stdio on threads of its own (pipe, socket or file alike): see `framing`.
    let stdin = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
    let stdout: framing::Output = Arc::new(std::sync::Mutex::new(Box::new(std::io::stdout())));
    let warm_hub = hub.clone();
    // Every answer is followed by `Hub::flush_queued`, so call log lines may wait for it.
    hub.plugins().defer_log();
    let server = Server::new(hub);
    let stdin_fd = Some(std::os::fd::AsRawFd::as_raw_fd(&std::io::stdin()));
    let (transport, writer) = framing::guard(stdin, stdin_fd, stdout, server.clone())?;
    let service = server.serve(transport).await?;
    // After the handshake, so `tools/list` never waits for wasmtime: the standard plugins
    // are loaded (compiled once per machine) and readied on a thread of their own.
    let _ = std::thread::Builder::new()
        .name("clearctx-warm".into())
        .spawn(move || {
            // A cold machine compiles for seconds; at the lowest priority that never slows
            // the calls being answered meanwhile (on Linux, nice is per thread, and the
            // compiler's worker threads inherit it from this one).
            #[cfg(target_os = "linux")]
            // SAFETY: setpriority only changes this thread's scheduling priority.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
            }
            warm_hub.plugins().warm_standard();
            // A compile on a cold machine leaves ~100 MB of freed heap behind; give it back
            // so an idle server stays small.
            #[cfg(target_env = "gnu")]
            // SAFETY: malloc_trim only returns free memory to the system.
            unsafe {
                libc::malloc_trim(0);
            }
        });
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

    /// Claude Code reads the catalog at the start of every session: the whole of it, with
    /// the ~30 tools still to come, must stay within 48 KB (about 12k tokens).
    #[test]
    fn the_tool_catalog_stays_within_its_budget() {
        const BUDGET: usize = 48 * 1024;
        for audience in [Audience::Orchestrator, Audience::Worker] {
            let list = serde_json::to_string(&json!({ "tools": tools(audience) })).unwrap();
            eprintln!(
                "tools/list for {audience:?}: {} tools, {} bytes",
                OPS.len(),
                list.len()
            );
            assert!(
                list.len() <= BUDGET,
                "tools/list is {} bytes, over its {BUDGET}-byte budget",
                list.len()
            );
        }
    }

    #[test]
    fn ops_state_the_protocol_version_rmcp_speaks() {
        assert_eq!(
            ops::PROTOCOL_VERSION,
            rmcp::model::ProtocolVersion::LATEST.as_str()
        );
    }

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
