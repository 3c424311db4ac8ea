//! Sessions and delegation end to end: `clearctx serve` drives the real `claude` CLI
//! (pinned, installed by scripts/install-claude.sh) as workers, against a scripted mock of
//! the Messages API on 127.0.0.1. Costs are the CLI's own, computed from the `usage` the
//! mock returns at the default model's prices, which differ between Claude Code releases:
//! the tests assert on what the CLI reports and on clearctx's sums of it, never on a price.

#[path = "common/claude.rs"]
mod claude;
mod common;
#[path = "common/mock_model.rs"]
mod mock_model;

use claude::Rig;
use common::{Client, DataDir};
use mock_model::{MockModel, Reply};
use serde_json::json;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// A turn's cost as the CLI reported it; every turn the mock answers costs something.
fn cost(reply: &serde_json::Value) -> f64 {
    let c = reply["cost_usd"]
        .as_f64()
        .unwrap_or_else(|| panic!("no cost: {reply}"));
    assert!(c > 0.0, "a turn the model answered cost nothing: {reply}");
    c
}

/// Answers each scripted prompt by its marker; after a tool call, says it is done.
fn script(r: &mock_model::Request) -> Option<Reply> {
    for (marker, reply) in [
        ("TURN-ONE", "one done"),
        ("TURN-TWO", "two done"),
        ("TURN-THREE", "three done"),
        ("TURN-FORK", "fork done"),
    ] {
        if r.last_user_text_contains(marker) {
            return Some(Reply::text(reply).usage(1000, 100));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn spawn_talk_stop_resume_after_restart_and_fork() {
    let model = MockModel::start(script);
    let rig = Rig::new(&model.url());
    let c = rig.connect().await;

    let r = c
        .ok("spawn_session", json!({"name": "w1", "prompt": "TURN-ONE"}))
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["response"], "one done");
    let c1 = cost(&r);
    assert!(close(r["session_cost_usd"].as_f64().unwrap(), c1), "{r}");
    assert_eq!(r["turns"], 1);
    assert_eq!(r["session"]["status"], "idle");
    let claude_id = r["session"]["claude_session_id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = c
        .ok("send_message", json!({"name": "w1", "message": "TURN-TWO"}))
        .await;
    assert_eq!(r["response"], "two done", "{r}");
    let c2 = cost(&r);
    assert!(
        close(r["session_cost_usd"].as_f64().unwrap(), c1 + c2),
        "{r}"
    );
    assert_eq!(r["session_turns"], 2);
    assert_eq!(r["resumed"], false);

    let h = c.ok("get_history", json!({"name": "w1"})).await;
    let roles: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "result", "user", "assistant", "result"],
        "{h}"
    );

    let s = c.ok("stop_session", json!({"name": "w1"})).await;
    assert_eq!(s["status"], "stopped", "{s}");
    assert_eq!(s["resumable"], true);
    c.close().await;

    // A new server (as after a restart) sees the session and resumes its conversation;
    // costs keep adding up although the CLI's own count restarts.
    let c = rig.connect().await;
    let l = c.ok("list_sessions", json!({})).await;
    assert_eq!(l["sessions"][0]["status"], "stopped", "{l}");
    let r = c
        .ok(
            "resume_session",
            json!({"name": "w1", "message": "TURN-THREE"}),
        )
        .await;
    assert_eq!(r["response"], "three done", "{r}");
    assert_eq!(r["resumed"], true);
    // The same usage at the same prices: a resumed process's first turn is not billed with
    // what the earlier process had spent.
    let c3 = cost(&r);
    assert!(close(c3, c2), "{r}");
    assert!(
        close(r["session_cost_usd"].as_f64().unwrap(), c1 + c2 + c3),
        "{r}"
    );
    assert_eq!(r["session"]["claude_session_id"], claude_id.as_str());
    let last = model.requests().last().unwrap().clone();
    let sent = last.body["messages"].to_string();
    assert!(
        sent.contains("one done") && sent.contains("two done"),
        "resume lost the conversation: {sent}"
    );

    let f = c
        .ok(
            "fork_session",
            json!({"name": "w1", "new_name": "w1-alt", "message": "TURN-FORK"}),
        )
        .await;
    assert_eq!(f["response"], "fork done", "{f}");
    let fork_id = f["session"]["claude_session_id"].as_str().unwrap();
    assert_ne!(fork_id, claude_id);
    assert!(
        model.requests().last().unwrap().body["messages"]
            .to_string()
            .contains("three done")
    );
    let w1 = c.ok("get_session_status", json!({"name": "w1"})).await;
    assert_eq!(w1["claude_session_id"], claude_id.as_str());
    assert_eq!(w1["turns"], 3);

    let out = c.ok("get_last_output", json!({"name": "w1-alt"})).await;
    assert_eq!(out["last_output"], "fork done");
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

fn delegate_script(r: &mock_model::Request) -> Option<Reply> {
    let mid = r.answers_tool();
    if r.last_user_text_contains("DELEGATE-OK") {
        // The worker's own clearctx tools know who it is.
        return Some(if mid {
            Reply::text("all good").usage(1000, 100)
        } else {
            Reply::tool_use(
                "mcp__clearctx__artifact_publish",
                json!({"artifact_id": "notes", "type": "json", "data": {"ok": true}}),
            )
            .usage(10, 5)
        });
    }
    if r.last_user_text_contains("DELEGATE-WRITE") {
        return Some(if mid {
            Reply::text("I was not allowed to write the file.")
        } else {
            Reply::tool_use(
                "Write",
                json!({"file_path": "/tmp/clearctx-never-written.txt", "content": "x"}),
            )
        });
    }
    if r.last_user_text_contains("DELEGATE-ANSWER") {
        return Some(Reply::text("understood, done without writing"));
    }
    if r.last_user_text_contains("DELEGATE-FAIL") {
        return Some(Reply::api_error("the mock refuses this request"));
    }
    if r.last_user_text_contains("DELEGATE-EXPENSIVE") {
        return Some(Reply::text("that was costly").usage(200_000, 1000));
    }
    if r.last_user_text_contains("DELEGATE-LOOP") {
        return Some(if mid {
            Reply::text("looped")
        } else {
            Reply::tool_use("mcp__clearctx__server_version", json!({}))
        });
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn delegate_ends_with_each_status() {
    let model = MockModel::start(delegate_script);
    let rig = Rig::new(&model.url());
    let c = rig.connect().await;

    let t = c
        .ok(
            "delegate_task",
            json!({"name": "pub", "task": "DELEGATE-OK", "preset": "read-only"}),
        )
        .await;
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["response"], "all good");
    assert_eq!(t["session"]["preset"], "read-only");
    let a = c.ok("artifact_get", json!({"artifact_id": "notes"})).await;
    assert_eq!(
        a["publisher"], "pub",
        "the worker's tool call is attributed to it: {a}"
    );
    // The worker's config says `alwaysLoad`, so its first prompt already has its core
    // tools (Claude Code 2.1.3xx would otherwise connect in the background), and the
    // tools clearctx marks `anthropic/alwaysLoad: false` stay deferred.
    let first = model
        .requests()
        .into_iter()
        .find(|r| r.last_user_text_contains("DELEGATE-OK") && !r.answers_tool())
        .expect("the worker's first request");
    let tools = first.tool_names();
    let core = clearctx::mcp::core_tool_names(clearctx::mcp::Audience::Worker);
    for tool in clearctx::mcp::tool_names() {
        let offered = tools.iter().any(|t| *t == format!("mcp__clearctx__{tool}"));
        if core.contains(&tool) {
            assert!(offered, "worker core tool {tool} missing: {tools:?}");
        } else if tools.iter().any(|t| t == "ToolSearch") {
            assert!(
                !offered,
                "{tool} should be deferred for a worker: {tools:?}"
            );
        }
    }

    let t = c
        .ok(
            "delegate_task",
            json!({"name": "writer", "task": "DELEGATE-WRITE", "preset": "read-only"}),
        )
        .await;
    assert_eq!(t["status"], "needs_input", "{t}");
    assert_eq!(t["permission_denials"][0]["tool_name"], "Write", "{t}");
    let t = c
        .ok(
            "continue_task",
            json!({"name": "writer", "message": "DELEGATE-ANSWER"}),
        )
        .await;
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["turns"], 3, "2 model calls, then 1: {t}");
    let t = c.ok("finish_task", json!({"name": "writer"})).await;
    assert_eq!(t["session"]["status"], "stopped", "{t}");
    assert_eq!(t["status"], "completed");

    let t = c
        .ok(
            "delegate_task",
            json!({"name": "broken", "task": "DELEGATE-FAIL"}),
        )
        .await;
    assert_eq!(t["status"], "failed", "{t}");
    assert!(
        t["error"]["message"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
            || t["response"].as_str().unwrap().contains("mock refuses"),
        "{t}"
    );

    let t = c
        .ok(
            "delegate_task",
            json!({"name": "spender", "task": "DELEGATE-EXPENSIVE", "max_cost": 0.01}),
        )
        .await;
    assert_eq!(t["status"], "cost_exceeded", "{t}");
    assert_eq!(t["error"]["code"], "cost_exceeded", "{t}");
    assert_eq!(t["session"]["status"], "stopped", "{t}");
    assert_eq!(t["session"]["stop_reason"], "cost_exceeded");
    assert!(t["cost_usd"].as_f64().unwrap() > 0.01, "{t}");
    // No further turn may spend more.
    let t = c
        .ok(
            "continue_task",
            json!({"name": "spender", "message": "DELEGATE-OK"}),
        )
        .await;
    assert_eq!(t["status"], "cost_exceeded", "{t}");
    let e = c
        .err(
            "send_message",
            json!({"name": "spender", "message": "more"}),
        )
        .await;
    assert!(e.contains("no budget left"), "{e}");

    let t = c
        .ok(
            "delegate_task",
            json!({"name": "looper", "task": "DELEGATE-LOOP", "max_turns": 1}),
        )
        .await;
    assert_eq!(t["status"], "turns_exceeded", "{t}");

    let t = c.ok("abort_task", json!({"name": "pub"})).await;
    assert_eq!(t["status"], "aborted", "{t}");
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

fn tree_script(r: &mock_model::Request) -> Option<Reply> {
    if r.last_user_text_contains("LEVEL-A") {
        // First a cheap helper, then an expensive one, then done.
        let delegate = |name: &str, task: &str| {
            Reply::tool_use(
                "mcp__clearctx__delegate_task",
                json!({"name": name, "task": task, "max_cost": 5, "preset": "read-only"}),
            )
            .usage(1000, 100)
        };
        return Some(match r.tool_results().len() {
            0 => delegate("cheap", "LEVEL-C"),
            1 => delegate("helper", "LEVEL-B"),
            _ => Reply::text("lead done"),
        });
    }
    if r.last_user_text_contains("LEVEL-C") {
        return Some(Reply::text("cheap done"));
    }
    if r.last_user_text_contains("LEVEL-B") {
        // 20,000 output tokens: far more than the lead's $0.05 at any model's prices (and
        // no input large enough to make the CLI compact its context).
        return Some(Reply::text("helper spent a lot").usage(10_000, 20_000));
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_covers_the_whole_delegation_tree() {
    let model = MockModel::start(tree_script);
    let rig = Rig::new(&model.url());
    let c = rig.connect().await;
    let t = c
        .ok(
            "delegate_task",
            json!({"name": "lead", "task": "LEVEL-A", "max_cost": 0.05, "preset": "read-only"}),
        )
        .await;
    assert_eq!(t["status"], "cost_exceeded", "{t}");

    let helper = c.ok("get_session_status", json!({"name": "helper"})).await;
    assert_eq!(helper["parent"], "lead", "{helper}");
    assert_eq!(helper["task_status"], "cost_exceeded", "{helper}");
    assert_eq!(helper["stop_reason"], "cost_exceeded", "{helper}");
    // The helper's own max_cost was $5; the lead's $0.05 is what stopped it.
    assert!(
        helper["budget_left_usd"].as_f64().unwrap() < 0.0,
        "{helper}"
    );
    let lead = c.ok("get_session_status", json!({"name": "lead"})).await;
    assert_eq!(lead["status"], "stopped", "{lead}");
    assert_eq!(lead["stop_reason"], "cost_exceeded", "{lead}");
    let children = c.ok("list_sessions", json!({"parent": "lead"})).await;
    assert_eq!(children["count"], 2, "{children}");
    // The cheap helper had finished its task and was idle: its task stays completed, but
    // its process is let go, since the tree has nothing left for another turn of it (by
    // its own supervisor, or with the lead's server that ran it, whichever comes first).
    let cheap = until_status(&c, "cheap", "stopped").await;
    assert_eq!(cheap["task_status"], "completed", "{cheap}");
    assert!(
        ["cost_exceeded", "owner_exited"].contains(&cheap["stop_reason"].as_str().unwrap()),
        "{cheap}"
    );
    let e = c
        .err("send_message", json!({"name": "cheap", "message": "more"}))
        .await;
    assert!(e.contains("no budget left"), "{e}");

    // The lead has nothing left for another turn or another child.
    let t = c
        .ok(
            "continue_task",
            json!({"name": "lead", "message": "LEVEL-A again"}),
        )
        .await;
    assert_eq!(t["status"], "cost_exceeded", "{t}");
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// Polls a session until it has `status`, or panics after 20 s.
async fn until_status(c: &Client, name: &str, status: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = c.ok("get_session_status", json!({ "name": name })).await;
        if s["status"] == status {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never {status}: {s}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Claude Code as the orchestrator: its model delegates through clearctx's MCP tool to a
/// worker (another real `claude`) whose turn exceeds its budget.
#[test]
fn claude_code_delegates_a_task_that_stops_at_its_budget() {
    let model = MockModel::start(|r| {
        if r.last_user_text_contains("ORCH-GO") {
            return Some(if r.answers_tool() {
                Reply::text("orchestrated")
            } else {
                Reply::tool_use(
                    "mcp__clearctx__delegate_task",
                    json!({"name": "worker", "task": "WORK-IT", "max_cost": 0.01, "preset": "read-only"}),
                )
            });
        }
        if r.last_user_text_contains("WORK-IT") {
            // The worker's claude also has the user-scope clearctx the orchestrator's user
            // registered; either way its calls must be attributed to the worker.
            return Some(if r.answers_tool() {
                Reply::text("worked hard").usage(200_000, 1000)
            } else {
                Reply::tool_use(
                    "mcp__clearctx__artifact_publish",
                    json!({"artifact_id": "work", "type": "json", "data": {"done": true}}),
                )
            });
        }
        None
    });
    let dir = DataDir::new();
    let orchestrator = claude::Claude::new(&model.url());
    let bin = common::bin();
    let claude_env = format!("CLEARCTX_CLAUDE_BIN={}", claude::claude_bin().display());
    let timeout = std::time::Duration::from_secs(120);
    orchestrator.run_ok(
        &[
            "mcp",
            "add",
            "clearctx",
            "-s",
            "user",
            "-e",
            &claude_env,
            "--",
            bin.to_str().unwrap(),
            "serve",
            "--home",
            dir.path().to_str().unwrap(),
        ],
        timeout,
    );
    let out = orchestrator.run(
        &[
            "-p",
            "ORCH-GO",
            "--output-format",
            "json",
            "--allowedTools",
            "mcp__clearctx__delegate_task",
        ],
        timeout,
    );
    let context = claude::describe(&out);
    assert!(out.status.success(), "{context}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect(&context);
    assert_eq!(result["result"], "orchestrated", "{context}");
    // What the orchestrator's model was told by the tool.
    let told = model
        .requests()
        .iter()
        .flat_map(|r| r.tool_results())
        .find(|t| t.name.as_deref() == Some("mcp__clearctx__delegate_task"))
        .expect("the delegate_task result reached the model");
    let told: serde_json::Value = serde_json::from_str(&told.content).expect("structured JSON");
    assert_eq!(told["status"], "cost_exceeded", "{told}");
    assert_eq!(told["session"]["created_by"], "orchestrator", "{told}");

    let show = dir.cli_json(&["session", "show", "worker"]);
    assert_eq!(show["task_status"], "cost_exceeded", "{show}");
    let work = dir.cli_json(&["artifact", "get", "work"]);
    assert_eq!(work["publisher"], "worker", "{work}");
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// The CLI, as a person uses it, with the real `claude` as the worker.
#[test]
fn the_cli_drives_real_workers() {
    let model = MockModel::start(|r| script(r).or_else(|| delegate_script(r)));
    let rig = Rig::new(&model.url());
    let run = |args: &[&str]| {
        let out = rig.dir.cli_env(args, &rig.env);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = run(&["spawn", "w", "TURN-ONE"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("one done\n"),
        "the reply streams first: {out}"
    );
    let (code, out) = run(&["send", "w", "TURN-TWO"]);
    assert_eq!(code, Some(0), "{out}");
    let show = rig.dir.cli_json(&["session", "show", "w"]);
    let total = show["cost_usd"].as_f64().expect("cost_usd");
    assert!(total > 0.0, "{show}");
    assert!(
        out.contains("two done") && out.contains(&format!("session ${total:.4}, 2 turn(s)")),
        "{out}\n{show}"
    );
    let (code, out) = run(&["fork", "w", "w2", "TURN-FORK"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("fork done"), "{out}");
    let (code, out) = run(&["delegate", "d", "DELEGATE-EXPENSIVE", "--max-cost", "0.01"]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("task d: cost_exceeded"), "{out}");
    let (_, out) = run(&["sessions"]);
    assert!(out.lines().count() == 3, "{out}");
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// How many user messages of the conversation contain `needle`.
fn turns_saying(r: &mock_model::Request, needle: &str) -> usize {
    r.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user" && m["content"].to_string().contains(needle))
        .count()
}

/// The API worker builds (start, publish, complete) on its first prompt and again whenever
/// it is told its contract was reopened; the QA worker publishes failing results the first
/// time it is asked to re-run the tests and passing ones after.
fn healing_script(r: &mock_model::Request) -> Option<Reply> {
    let tool = |name: &str, input: serde_json::Value| {
        Some(Reply::tool_use(format!("mcp__clearctx__{name}"), input))
    };
    if r.last_user_text_contains("API-BUILD") || r.last_user_text_contains("was reopened") {
        let fix = turns_saying(r, "was reopened");
        return match r.step_in_turn() {
            0 => tool("contract_start", json!({"contract_id": "build-api"})),
            1 => tool(
                "artifact_publish",
                json!({"artifact_id": "api-spec", "type": "api-contract",
                       "data": {"endpoints": ["GET /users"], "fix": fix}}),
            ),
            2 => tool("contract_complete", json!({"contract_id": "build-api", "summary": "built"})),
            _ => Some(Reply::text(if fix == 0 { "built" } else { "fixed" })),
        };
    }
    if r.last_user_text_contains("re-run the tests") {
        let failed = if turns_saying(r, "re-run the tests") == 1 { 2 } else { 0 };
        return match r.step_in_turn() {
            0 => tool(
                "artifact_publish",
                json!({"artifact_id": "api-tests", "type": "test-results",
                       "data": {"passed": 10 - failed, "failed": failed}}),
            ),
            _ => Some(Reply::text(format!("{failed} failed"))),
        };
    }
    if r.last_user_text_contains("QA-WAIT") {
        return Some(Reply::text("waiting for builds"));
    }
    None
}

/// The seed's self-healing loop with real Claude Code workers: failing tests reopen the
/// contract, the API worker is sent the reopen, fixes it, and the contract ends completed,
/// with no orchestrator turn after the two spawns.
#[tokio::test(flavor = "multi_thread")]
async fn real_workers_heal_a_failing_build_through_a_pipeline() {
    let model = MockModel::start(healing_script);
    let rig = Rig::new(&model.url());
    let c = rig.connect().await;
    c.ok(
        "contract_create",
        json!({"contract_id": "build-api", "title": "Build the users API", "assignee": "api-dev"}),
    )
    .await;
    c.ok(
        "pipeline_create",
        json!({"pipeline_id": "ci-loop", "rules": [
            {"name": "test-the-build",
             "trigger": {"type": "contract_completed", "contract_id": "build-api"},
             "action": {"type": "send_message", "to": "qa-dev",
                        "message": "build-api is done (retry ${contract.retries}): re-run the tests"}},
            {"name": "reopen-on-failure",
             "trigger": {"type": "artifact_published", "artifact_type": "test-results"},
             "condition": "data.failed > 0",
             "action": {"type": "reopen_contract", "contract_id": "build-api",
                        "reason": "Tests failing: ${data.failed} failures"}},
            {"name": "tell-the-builder",
             "trigger": {"type": "contract_reopened", "contract_id": "build-api"},
             "action": {"type": "send_message", "to": "${contract.assignee}",
                        "message": "Contract build-api was reopened: ${contract.reason}. Fix it."}}
        ]}),
    )
    .await;
    let qa = c
        .ok("spawn_session", json!({"name": "qa-dev", "prompt": "QA-WAIT"}))
        .await;
    assert_eq!(qa["status"], "completed", "{qa}");
    let api = c
        .ok("spawn_session", json!({"name": "api-dev", "prompt": "API-BUILD"}))
        .await;
    assert_eq!(api["response"], "built", "{api}");

    // From here on nobody but the workers and the pipeline acts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let contract = c.ok("contract_get", json!({"contract_id": "build-api"})).await;
        let tests = c.call("artifact_get", json!({"artifact_id": "api-tests"})).await;
        let passed = tests.as_ref().is_ok_and(|t| t["version"] == 2 && t["data"]["failed"] == 0);
        if contract["status"] == "completed" && contract["retries"] == 1 && passed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the loop did not heal: {contract}\ntests: {tests:?}\nlogs: {}",
            c.ok("pipeline_logs", json!({"pipeline_id": "ci-loop"})).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let qa = until_status(&c, "qa-dev", "idle").await;
    assert_eq!(qa["last_output"], "0 failed", "{qa}");
    let api = until_status(&c, "api-dev", "idle").await;
    assert_eq!(api["last_output"], "fixed", "{api}");
    // The API worker's second turn was the pipeline's message, with the reason in it.
    assert!(
        model.requests().iter().any(|r| r.last_user_text_contains("was reopened: Tests failing: 2 failures")),
        "the builder never heard why"
    );
    let spec = c.ok("artifact_get", json!({"artifact_id": "api-spec"})).await;
    assert_eq!(spec["version"], 2, "{spec}");
    let logs = c.ok("pipeline_logs", json!({"pipeline_id": "ci-loop", "outcome": "done"})).await;
    let rules: Vec<&str> = logs["firings"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["test-the-build", "reopen-on-failure", "tell-the-builder", "test-the-build"],
        "{logs}"
    );
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// How long the slow worker's model takes to answer: long enough for a few heartbeats.
const SLOW: std::time::Duration = std::time::Duration::from_secs(7);

/// Claude Code as the orchestrator sends a message to a worker whose model is slow: while
/// send_message waits, clearctx keeps sending progress for the token Claude Code gave the
/// call (seen on the wire between the two, recorded by `tee`), and the result says how long
/// it waited and carries the worker's answer.
#[test]
fn send_message_to_a_slow_worker_keeps_sending_progress_and_returns_its_result() {
    const SPAWN: &str = "mcp__clearctx__spawn_session";
    const SEND: &str = "mcp__clearctx__send_message";
    let model = MockModel::start(|r| {
        if r.last_user_text_contains("ORCH-SLOW") {
            return Some(match r.last_tool_name().as_deref() {
                None => Reply::tool_use(SPAWN, json!({"name": "slow"})),
                Some(SPAWN) => Reply::tool_use(SEND, json!({"name": "slow", "message": "SLOW-WORK"})),
                Some(_) => Reply::text("heard back"),
            });
        }
        if r.last_user_text_contains("SLOW-WORK") {
            std::thread::sleep(SLOW);
            return Some(Reply::text("slow answer 42").usage(1000, 100));
        }
        None
    });
    let dir = DataDir::new();
    let wire = tempfile::tempdir().unwrap();
    let orchestrator = claude::Claude::new(&model.url());
    let claude_env = format!("CLEARCTX_CLAUDE_BIN={}", claude::claude_bin().display());
    // The server behind two `tee`s, so the test sees both directions of the protocol; one
    // pair of files per server (the worker's `claude` starts this user-scope server too).
    let serve = format!(
        "tee '{w}/to-'$$ | '{}' serve --home '{}' | tee '{w}/from-'$$",
        common::bin().display(),
        dir.path().display(),
        w = wire.path().display(),
    );
    let timeout = std::time::Duration::from_secs(120);
    orchestrator.run_ok(
        &["mcp", "add", "clearctx", "-s", "user", "-e", &claude_env, "--", "/bin/sh", "-c", &serve],
        timeout,
    );
    let out = orchestrator.run(
        &["-p", "ORCH-SLOW", "--output-format", "json", "--allowedTools", &format!("{SPAWN},{SEND}")],
        timeout,
    );
    let context = claude::describe(&out);
    assert!(out.status.success(), "{context}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect(&context);
    assert_eq!(result["result"], "heard back", "{context}");

    let lines = |p: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    // The orchestrator's server: the one that was asked to send_message.
    let (pid, call) = std::fs::read_dir(wire.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("to-").map(String::from))
        .find_map(|pid| {
            let call = lines(&wire.path().join(format!("to-{pid}"))).into_iter().find(|m| {
                m["method"] == "tools/call" && m["params"]["name"] == "send_message"
            })?;
            Some((pid, call))
        })
        .expect("Claude Code called send_message");
    let token = call["params"]["_meta"]["progressToken"].clone();
    assert!(!token.is_null(), "Claude Code asked for no progress: {call}");
    let from_server = lines(&wire.path().join(format!("from-{pid}")));
    let reply_at = from_server
        .iter()
        .position(|m| m["id"] == call["id"] && m.get("result").is_some())
        .expect("send_message was answered");
    let beats: Vec<&serde_json::Value> = from_server[..reply_at]
        .iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == token)
        .collect();
    assert!(beats.len() >= 2, "progress while waiting {SLOW:?}: {beats:?}");
    let progress: Vec<f64> = beats.iter().map(|b| b["params"]["progress"].as_f64().unwrap()).collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "progress must grow: {progress:?}");
    assert!(
        beats.iter().all(|b| b["params"]["message"].as_str().is_some_and(|m| m.contains("waiting for `slow`"))),
        "{beats:?}"
    );
    assert!(
        !from_server[reply_at..].iter().any(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == token),
        "progress after the reply"
    );
    // The result the model read: the worker's answer and how long the call waited.
    let reply = &from_server[reply_at]["result"]["structuredContent"];
    assert_eq!(reply["status"], "completed", "{reply}");
    assert_eq!(reply["response"], "slow answer 42", "{reply}");
    let waited = reply["waited_ms"].as_u64().expect("waited_ms");
    assert!(waited >= SLOW.as_millis() as u64, "waited {waited} ms for a {SLOW:?} turn: {reply}");
    let told = model
        .requests()
        .iter()
        .flat_map(|r| r.tool_results())
        .find(|t| t.name.as_deref() == Some(SEND))
        .expect("the send_message result reached the model");
    assert!(told.content.contains("slow answer 42") && told.content.contains("waited"), "{}", told.content);
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}
