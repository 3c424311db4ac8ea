//! End to end with the CLI users run: the real `claude` (pinned, installed by
//! scripts/install-claude.sh) starts the real `clearctx serve`, and a scripted mock of the
//! Messages API on 127.0.0.1 plays the model.

#[path = "common/claude.rs"]
mod claude;
mod common;
#[path = "common/mock_model.rs"]
mod mock_model;

use std::time::Duration;

use claude::Claude;
use common::DataDir;
use mock_model::{MockModel, Reply};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A Claude Code user with clearctx registered for it, serving `dir`.
fn claude_with_clearctx(model: &MockModel, dir: &DataDir) -> Claude {
    let claude = Claude::new(&model.url());
    let bin = common::bin();
    let home = dir.path().to_str().unwrap();
    claude.run_ok(
        &[
            "mcp",
            "add",
            "clearctx",
            "-s",
            "user",
            "--",
            bin.to_str().unwrap(),
            "serve",
            "--home",
            home,
        ],
        TIMEOUT,
    );
    claude
}

#[test]
fn claude_mcp_list_shows_clearctx_connected() {
    let model = MockModel::start(|_| None);
    let dir = DataDir::new();
    let claude = claude_with_clearctx(&model, &dir);
    let out = claude.run_ok(&["mcp", "list"], TIMEOUT);
    // A wrong tool schema shows here as "! Connected · tools fetch failed".
    assert!(
        out.lines()
            .any(|l| l.starts_with("clearctx:") && l.contains("✔ Connected")),
        "clearctx is not connected:\n{out}"
    );
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

const PROMPT: &str = "Publish the API spec and hand the tests to qa-dev.";
const PUBLISH: &str = "mcp__clearctx__artifact_publish";
const CREATE: &str = "mcp__clearctx__contract_create";
const DONE: &str = "Published api-spec; write-tests is ready for qa-dev.";

#[test]
fn claude_calls_clearctx_tools_through_mcp() {
    // The orchestrator's turns: publish, then (after its result) create a contract, then stop.
    let model = MockModel::start(|req| match req.last_tool_name().as_deref() {
        None if req.user_text_contains(PROMPT) => Some(Reply::tool_use(
            PUBLISH,
            json!({
            "artifact_id": "api-spec", "type": "api-contract",
            "data": {"endpoints": ["GET /users"]}, "summary": "first draft"}),
        )),
        Some(PUBLISH) => Some(Reply::tool_use(
            CREATE,
            json!({
            "contract_id": "write-tests", "title": "Write tests", "assignee": "qa-dev",
            "dependencies": [{"type": "artifact", "id": "api-spec"}]}),
        )),
        Some(CREATE) => Some(Reply::text(DONE)),
        _ => None,
    });
    let dir = DataDir::new();
    let claude = claude_with_clearctx(&model, &dir);
    let out = claude.run(
        &[
            "-p",
            PROMPT,
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            &format!("{PUBLISH},{CREATE}"),
        ],
        TIMEOUT,
    );
    let context = claude::describe(&out);
    assert!(
        out.status.success(),
        "claude -p failed ({}):\n{context}",
        out.status
    );
    assert!(
        model.unexpected().is_empty(),
        "mock model: {:?}\n{context}",
        model.unexpected()
    );

    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{context}"))
        })
        .collect();
    let init = lines
        .iter()
        .find(|l| l["type"] == "system" && l["subtype"] == "init")
        .expect("system/init line");
    let servers = init["mcp_servers"].as_array().expect("mcp_servers");
    assert!(
        servers
            .iter()
            .any(|s| s["name"] == "clearctx" && s["status"] == "connected"),
        "clearctx not connected: {servers:?}"
    );
    let result = lines
        .iter()
        .find(|l| l["type"] == "result")
        .unwrap_or_else(|| panic!("no result line\n{context}"));
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["result"], DONE, "{result}");

    // The model saw clearctx's tools and its server instructions.
    let first = &model.requests()[0];
    let tools = first.tool_names();
    let offered = |tool: &str| tools.iter().any(|t| *t == format!("mcp__clearctx__{tool}"));
    let core = clearctx::mcp::core_tool_names(clearctx::mcp::Audience::Orchestrator);
    for tool in &core {
        assert!(
            offered(tool),
            "core tool {tool} not loaded up front: {tools:?}"
        );
    }
    if tools.iter().any(|t| t == "ToolSearch") {
        // Claude Code 2.1.3xx defers MCP tools behind its tool search: the rest of
        // clearctx's tools are not loaded, but the model is told their names.
        let text = first.all_text();
        for tool in clearctx::mcp::tool_names() {
            if !core.contains(&tool) {
                assert!(!offered(tool), "{tool} should be deferred: {tools:?}");
                assert!(
                    text.contains(&format!("mcp__clearctx__{tool}")),
                    "the model is not told that {tool} can be searched for"
                );
            }
        }
    } else {
        for tool in clearctx::mcp::tool_names() {
            assert!(offered(tool), "{tool} missing: {tools:?}");
        }
    }
    assert!(
        first.body.to_string().contains("## clearctx"),
        "no clearctx instructions in the first request"
    );

    // The CLI sent each tool's result back to the model, and neither was an error. It sends
    // the structured JSON (not the headline in `content`), so read the result's last line.
    let results = model.requests().last().expect("requests").tool_results();
    let result_of = |tool: &str| -> Value {
        let r = results.iter().find(|r| r.name.as_deref() == Some(tool));
        let r = r.unwrap_or_else(|| panic!("no {tool} result in {results:?}"));
        assert!(!r.is_error, "{tool} failed: {}", r.content);
        let json = r.content.lines().last().unwrap_or_default();
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("{tool} result is not JSON ({e}): {}", r.content))
    };
    let published = result_of(PUBLISH);
    assert_eq!(
        (
            published["artifact_id"].as_str(),
            published["version"].as_u64()
        ),
        (Some("api-spec"), Some(1)),
        "{published}"
    );
    let created = result_of(CREATE);
    assert_eq!(
        (created["contract_id"].as_str(), created["status"].as_str()),
        (Some("write-tests"), Some("ready")),
        "{created}"
    );

    // And the data dir really holds it, as the orchestrator wrote it.
    let artifact = dir.cli_json(&["artifact", "get", "api-spec"]);
    assert_eq!(artifact["version"], 1, "{artifact}");
    assert_eq!(artifact["publisher"], "orchestrator", "{artifact}");
    assert_eq!(
        artifact["data"],
        json!({"endpoints": ["GET /users"]}),
        "{artifact}"
    );
    let contract = dir.cli_json(&["contract", "get", "write-tests"]);
    assert_eq!(
        contract["status"], "ready",
        "the artifact dependency is met: {contract}"
    );
    assert_eq!(contract["assigner"], "orchestrator", "{contract}");
    let inbox = dir.cli_json(&["inbox", "--recipient", "qa-dev"]);
    let unread = inbox["unread"].as_array().expect("unread");
    assert!(
        unread
            .iter()
            .any(|n| n["kind"] == "contract_ready" && n["subject"] == "contract:write-tests"),
        "{inbox}"
    );
}

/// What a model searches for, in a user's words, and the deferred tool it must find.
const SEARCHES: &[(&str, &str)] = &[
    ("pause a worker", "pause_session"),
    ("branch a conversation", "fork_session"),
    ("compare two versions of an artifact", "artifact_diff"),
    ("answer a delegated task", "continue_task"),
];

#[test]
fn a_model_finds_deferred_clearctx_tools_by_searching_in_plain_words() {
    // Each request: the next search, then a plain answer once all were made.
    let model = MockModel::start(|req| {
        let searched = req.tool_results().len();
        let deferring = req.tool_names().iter().any(|t| t == "ToolSearch");
        Some(match SEARCHES.get(searched) {
            Some((query, _)) if deferring => {
                Reply::tool_use("ToolSearch", json!({"query": query, "max_results": 3}))
            }
            _ => Reply::text("searched"),
        })
    });
    let dir = DataDir::new();
    let claude = claude_with_clearctx(&model, &dir);
    let out = claude.run(
        &["-p", "Find the tools", "--output-format", "json"],
        TIMEOUT,
    );
    let context = claude::describe(&out);
    assert!(out.status.success(), "{context}");
    let requests = model.requests();
    if !requests[0].tool_names().iter().any(|t| t == "ToolSearch") {
        // Claude Code 2.1.197 loads every MCP tool up front: nothing to search for.
        let tools = requests[0].tool_names();
        for tool in clearctx::mcp::tool_names() {
            let name = format!("mcp__clearctx__{tool}");
            assert!(tools.contains(&name), "{name} missing: {tools:?}");
        }
        return;
    }
    let results = requests.last().unwrap().tool_results();
    assert_eq!(results.len(), SEARCHES.len(), "{context}");
    // 2.1.332 answers with `tool_reference` blocks, best match first.
    for ((query, tool), result) in SEARCHES.iter().zip(&results) {
        assert_eq!(
            result.content.lines().next(),
            Some(format!("mcp__clearctx__{tool}").as_str()),
            "searching for `{query}` did not find {tool} first: {}",
            result.content
        );
    }
    // Found tools are callable from then on.
    let last = requests.last().unwrap().tool_names();
    for (_, tool) in SEARCHES {
        let name = format!("mcp__clearctx__{tool}");
        assert!(
            last.contains(&name),
            "{name} not loaded after the search: {last:?}"
        );
    }
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// The rendered orchestrator prompt, as `/mcp__clearctx__orchestrator team-x 5` sends it.
const ORCHESTRATOR_TEAM_X: &str = "You are the orchestrator of team `team-x`";
const PROMPT_DONE: &str = "Briefed as team-x's orchestrator.";

/// Claude Code turns an MCP prompt into a slash command, `/mcp__<server>__<prompt>`, whose
/// words are the prompt's arguments in listed order (team, then budget). Both supported
/// releases (2.1.197 and 2.1.332) do, `-p` included: the command's message is the
/// rendered prompt, sent to the model as the user's turn.
#[test]
fn claude_runs_the_orchestrator_prompt_as_a_slash_command() {
    let model = MockModel::start(|req| {
        req.user_text_contains(ORCHESTRATOR_TEAM_X)
            .then(|| Reply::text(PROMPT_DONE))
    });
    let dir = DataDir::new();
    let claude = claude_with_clearctx(&model, &dir);
    // A user who has run clearctx before: its plugins are compiled in the user's cache.
    // 2.1.197 resolves a `-p` slash command without waiting for `prompts/list`; on a cold
    // cache the first listing compiles the template plugin (seconds in a debug build) and
    // that release answers "Unknown command" without asking the model.
    let warm = std::process::Command::new(common::bin())
        .args(["--home", dir.path().to_str().unwrap(), "prompt", "list"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", claude.home())
        .output()
        .unwrap();
    assert!(warm.status.success(), "{}", claude::describe(&warm));
    let out = claude.run(
        &[
            "-p",
            "/mcp__clearctx__orchestrator team-x 5",
            "--output-format",
            "json",
        ],
        TIMEOUT,
    );
    let context = claude::describe(&out);
    let requests = model.requests();
    let summaries: Vec<String> = requests.iter().map(|r| r.summary()).collect();
    assert!(
        out.status.success(),
        "claude -p failed ({}):\n{context}\nrequests: {summaries:#?}",
        out.status
    );
    assert!(
        model.unexpected().is_empty(),
        "mock model: {:?}\n{context}",
        model.unexpected()
    );
    let text = requests
        .iter()
        .map(|r| r.all_text())
        .find(|t| t.contains(ORCHESTRATOR_TEAM_X))
        .unwrap_or_else(|| panic!("no request carried the prompt:\n{summaries:#?}\n{context}"));
    for expected in [
        "`shared-conventions` artifact",
        "call `phase_gate`",
        "Split it 60/20/20: $3.0 for the\ncontracts' main work, $1.0 for tests, $1.0 kept in reserve",
        "## The correction loop",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    let result: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e})\n{context}"));
    assert_eq!(result["result"], PROMPT_DONE, "{result}");
}
