//! The session manager's failure modes, with a small fake `claude`
//! (`tests/fixtures/fake-claude.py`) that crashes, hangs, prints garbage or enormous lines
//! on cue. Each failure must end only its own session, with the reason and the tail of its
//! stderr, and leave it resumable.

mod common;

use std::time::{Duration, Instant};

use common::{Client, DataDir};
use serde_json::{Value, json};

use common::fake_claude_env as fake_env;

async fn connect(dir: &DataDir) -> Client {
    dir.connect_with_env(None, &fake_env()).await
}

/// Polls a session until `done` holds for its status, or panics after 20 s.
async fn until(c: &Client, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = c.ok("get_session_status", json!({ "name": name })).await;
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "session {name} never got there: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_ends_only_its_own_session() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let ok = c
        .ok(
            "spawn_session",
            json!({"name": "healthy", "prompt": "hello"}),
        )
        .await;
    assert_eq!(ok["status"], "completed", "{ok}");
    assert_eq!(ok["response"], "echo: hello");

    let r = c
        .ok(
            "spawn_session",
            json!({"name": "crasher", "prompt": "CRASH"}),
        )
        .await;
    assert_eq!(r["status"], "failed", "{r}");
    let s = &r["session"];
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["stop_reason"], "crashed");
    assert!(
        s["last_error"].as_str().unwrap().contains("exit status: 3"),
        "{s}"
    );
    assert!(
        s["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("segmentation fault (simulated)"),
        "{s}"
    );
    assert_eq!(s["resumable"], true);

    let r = c
        .ok(
            "spawn_session",
            json!({"name": "hanger", "prompt": "HANG", "turn_timeout_s": 1}),
        )
        .await;
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["session"]["stop_reason"], "turn_timeout", "{r}");
    // A turn's error has the shape of every other error: the status is its code.
    assert_eq!(r["error"]["code"], "failed", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("turn_timeout_s (1 s)"),
        "{r}"
    );

    let r = c
        .ok(
            "spawn_session",
            json!({"name": "garbage", "prompt": "GARBAGE"}),
        )
        .await;
    assert_eq!(r["session"]["stop_reason"], "malformed_output", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Error: this is not stream-json"),
        "{r}"
    );

    let r = c
        .ok("spawn_session", json!({"name": "huge", "prompt": "HUGE"}))
        .await;
    assert_eq!(r["session"]["stop_reason"], "output_too_large", "{r}");

    // The healthy session never noticed.
    let r = c
        .ok(
            "send_message",
            json!({"name": "healthy", "message": "still there?"}),
        )
        .await;
    assert_eq!(r["response"], "echo: still there?", "{r}");
    // A failed session comes back with its conversation.
    let r = c
        .ok(
            "resume_session",
            json!({"name": "crasher", "message": "hello again"}),
        )
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["resumed"], true);
    let h = c.ok("get_history", json!({"name": "crasher"})).await;
    let roles: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "error", "user", "assistant", "result"],
        "{h}"
    );
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_from_outside_is_failed_and_resumable() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let r = c
        .ok(
            "spawn_session",
            json!({"name": "victim", "prompt": "SLEEP 30", "wait": false}),
        )
        .await;
    assert!(r["status"] == "queued" || r["status"] == "running", "{r}");
    let s = until(&c, "victim", |s| s["status"] == "busy" && s["pid"].is_i64()).await;
    let pid = s["pid"].as_i64().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let s = until(&c, "victim", |s| s["status"] == "failed").await;
    assert!(
        s["last_error"].as_str().unwrap().contains("signal: 9"),
        "{s}"
    );
    let r = c
        .ok(
            "send_message",
            json!({"name": "victim", "message": "are you back?"}),
        )
        .await;
    assert_eq!(r["response"], "echo: are you back?", "{r}");
    assert_eq!(r["resumed"], true);
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_of_a_dead_server_are_stopped_and_resumable() {
    let dir = DataDir::new();
    let a = connect(&dir).await;
    let r = a
        .ok("spawn_session", json!({"name": "w", "prompt": "hi"}))
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    let owner = r["session"]["owner_pid"].as_i64().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &owner])
            .status()
            .unwrap()
            .success()
    );

    let b = connect(&dir).await;
    let s = until(&b, "w", |s| s["status"] == "stopped").await;
    assert_eq!(s["stop_reason"], "owner_exited", "{s}");
    assert_eq!(s["resumable"], true);
    let r = b
        .ok("resume_session", json!({"name": "w", "message": "back"}))
        .await;
    assert_eq!(r["response"], "echo: back", "{r}");
    // $0.01 a turn; the second process's count started again at zero.
    assert!(
        (r["session_cost_usd"].as_f64().unwrap() - 0.02).abs() < 1e-9,
        "{r}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_holds_messages_until_resumed() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let r = c.ok("spawn_session", json!({"name": "p"})).await;
    assert_eq!(r["status"], "idle", "{r}");
    let s = c.ok("pause_session", json!({"name": "p"})).await;
    assert_eq!(s["status"], "paused", "{s}");
    // The message waits, as pause_session says; the call does not.
    let r = c
        .ok("send_message", json!({"name": "p", "message": "held"}))
        .await;
    assert_eq!(r["session"]["status"], "paused", "{r}");
    assert!(r["response"].is_null(), "{r}");
    let r = c
        .ok("resume_session", json!({"name": "p", "message": "hi"}))
        .await;
    assert_eq!(
        r["response"], "echo: hi",
        "the held message ran first, then this: {r}"
    );
    let h = c.ok("get_history", json!({"name": "p"})).await;
    let users: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "user")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["held", "hi"], "{h}");
    let s = c.ok("kill_session", json!({"name": "p"})).await;
    assert_eq!(s["status"], "stopped", "{s}");
    assert_eq!(s["stop_reason"], "killed");
    c.close().await;
}

/// 2^63 seconds: past what any clock can add.
const HUGE: u64 = 1 << 63;

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_refused_and_change_nothing() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    c.ok("spawn_session", json!({"name": "one", "prompt": "hi"}))
        .await;
    let before = c.ok("list_sessions", json!({})).await;
    let cases = [
        ("spawn_session", json!({"name": "../etc"}), "name"),
        (
            "spawn_session",
            json!({"name": "x", "max_cost": -1}),
            "max_cost",
        ),
        (
            "spawn_session",
            json!({"name": "x", "max_turns": 0}),
            "max_turns",
        ),
        (
            "spawn_session",
            json!({"name": "x", "work_dir": "relative/dir"}),
            "absolute",
        ),
        (
            "spawn_session",
            json!({"name": "x", "permission_mode": "yolo"}),
            "permission_mode",
        ),
        (
            "spawn_session",
            json!({"name": "x", "prompt": "  "}),
            "prompt: must not be empty",
        ),
        (
            "spawn_session",
            json!({"name": "x", "allowed_tools": ["Read,Write"]}),
            "allowed_tools[0]",
        ),
        ("spawn_session", json!({"name": "one"}), "already exists"),
        (
            "spawn_session",
            json!({"name": "x", "surprise": 1}),
            "surprise",
        ),
        (
            "send_message",
            json!({"name": "nobody", "message": "hi"}),
            "does not exist",
        ),
        (
            "fork_session",
            json!({"name": "one", "new_name": "one"}),
            "already exists",
        ),
        (
            "delegate_task",
            json!({"name": "d", "task": "t", "preset": "everything"}),
            "preset",
        ),
        (
            "list_sessions",
            json!({"status": "sleeping"}),
            "not a session status",
        ),
        ("get_history", json!({"name": "nobody"}), "does not exist"),
        (
            "delete_session",
            json!({"name": "one"}),
            "stop_session or kill_session it first",
        ),
        // A wait past any deadline is refused before a worker starts or a turn is paid for.
        (
            "spawn_session",
            json!({"name": "x", "prompt": "hi", "timeout_s": HUGE}),
            "timeout_s: 9223372036854775808 is out of range",
        ),
        (
            "send_message",
            json!({"name": "one", "message": "hi", "timeout_s": HUGE}),
            "timeout_s",
        ),
        (
            "resume_session",
            json!({"name": "one", "message": "hi", "timeout_s": HUGE}),
            "timeout_s",
        ),
        (
            "fork_session",
            json!({"name": "one", "new_name": "y", "message": "hi", "timeout_s": HUGE}),
            "timeout_s",
        ),
        (
            "delegate_task",
            json!({"name": "x", "task": "t", "timeout_s": HUGE}),
            "timeout_s",
        ),
        (
            "continue_task",
            json!({"name": "one", "message": "hi", "timeout_s": HUGE}),
            "timeout_s",
        ),
        (
            "batch_spawn",
            json!({"sessions": [{"name": "x", "prompt": "hi"}, {"name": "y", "prompt": "hi", "timeout_s": HUGE}]}),
            "sessions[1].timeout_s",
        ),
        // A budget no request fits in is refused at once, not after a wasted start.
        (
            "spawn_session",
            json!({"name": "x", "prompt": "hi", "max_cost": 1e-10}),
            "give at least $0.0001",
        ),
    ];
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cases = cases.to_vec();
    if root && std::env::var_os("IS_SANDBOX").is_none() {
        // Claude Code would refuse it; clearctx says so before starting anything.
        cases.push((
            "spawn_session",
            json!({"name": "x", "permission_mode": "bypassPermissions"}),
            "IS_SANDBOX=1",
        ));
        cases.push((
            "delegate_task",
            json!({"name": "x", "task": "t", "preset": "full"}),
            "IS_SANDBOX=1",
        ));
    }
    for (tool, args, expected) in cases {
        let e = c.err(tool, args.clone()).await;
        assert!(e.contains(expected), "{tool} {args}: {e}");
    }
    let after = c.ok("list_sessions", json!({})).await;
    assert_eq!(before, after);
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_claude_binary_is_a_clear_failure() {
    let dir = DataDir::new();
    let env = vec![(
        "CLEARCTX_CLAUDE_BIN".to_string(),
        "/nonexistent/claude".to_string(),
    )];
    let c = dir.connect_with_env(None, &env).await;
    let r = c
        .ok("spawn_session", json!({"name": "w", "prompt": "hi"}))
        .await;
    assert_eq!(r["status"], "failed", "{r}");
    assert!(
        r["session"]["last_error"]
            .as_str()
            .unwrap()
            .contains("CLEARCTX_CLAUDE_BIN"),
        "{r}"
    );
    c.close().await;
}

#[test]
fn the_cli_streams_turns_and_resumes_between_commands() {
    let dir = DataDir::new();
    let env = fake_env();
    let out = dir.cli_env(&["spawn", "w", "hello"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("echo: hello\n"), "{stdout}");
    assert!(stdout.contains("w: completed"), "{stdout}");
    assert!(stdout.contains("clearctx send w"), "{stdout}");

    let out = dir.cli_env(&["send", "w", "again"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("echo: again"), "{stdout}");
    assert!(stdout.contains("session $0.0200, 2 turn(s)"), "{stdout}");

    let out = dir.cli_env(&["--json", "sessions"], &env);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sessions"][0]["status"], "stopped", "{v}");
    assert_eq!(v["sessions"][0]["stop_reason"], "owner_exited", "{v}");

    let out = dir.cli_env(&["fork", "w", "w2", "branch"], &env);
    assert!(out.status.success());
    let out = dir.cli_env(&["--json", "session", "history", "w2"], &env);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"][1]["text"], "echo: branch", "{v}");

    let out = dir.cli_env(&["spawn", "c", "CRASH"], &env);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a turn that did not complete exits 5"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("c: failed"), "{stdout}");

    let out = dir.cli_env(&["spawn", "bad name"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name"));
}

/// A session run by a server is reached from another process (the CLI) through the
/// request queue; the server keeps running it.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_talks_to_a_session_a_server_runs() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let r = c
        .ok("spawn_session", json!({"name": "shared", "prompt": "hi"}))
        .await;
    let owner = r["session"]["owner_pid"].clone();
    let env = fake_env();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::bin())
            .arg("--home")
            .arg(&d)
            .args(["send", "shared", "from the terminal"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("echo: from the terminal"), "{stdout}");
    assert!(
        !stdout.contains("now stopped"),
        "the server still runs it: {stdout}"
    );
    let s = c.ok("get_session_status", json!({"name": "shared"})).await;
    assert_eq!(s["status"], "idle", "{s}");
    assert_eq!(s["owner_pid"], owner);
    assert_eq!(s["turns"], 2);
    let status = dir.cli_json(&["status"]);
    assert_eq!(status["sessions"]["idle"], 1, "{status}");
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_spawn_delete_and_cleanup() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let r = c
        .ok(
            "batch_spawn",
            json!({"sessions": [
                {"name": "a", "prompt": "one"},
                {"name": "b", "prompt": "two"},
                {"name": "c", "prompt": "CRASH"},
            ]}),
        )
        .await;
    let statuses: Vec<&str> = r["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "completed", "failed"], "{r}");
    assert_eq!(r["sessions"][1]["response"], "echo: two");
    let e = c
        .err(
            "batch_spawn",
            json!({"sessions": [{"name": "d"}, {"name": "d"}]}),
        )
        .await;
    assert!(
        e.contains("sessions[1].name") && e.contains("appears twice"),
        "{e}"
    );
    let e = c
        .err(
            "batch_spawn",
            json!({"sessions": [{"name": "e", "max_cost": 0}]}),
        )
        .await;
    assert!(e.contains("sessions[0].max_cost"), "{e}");

    let d = c
        .ok("delete_session", json!({"name": "a", "force": true}))
        .await;
    assert_eq!(d["deleted"], "a");
    let e = c.err("get_session_status", json!({"name": "a"})).await;
    assert!(e.contains("does not exist"), "{e}");
    // `c` failed and `b` is still running: only `c` is old and ended.
    let removed = c.ok("cleanup_sessions", json!({"older_than_s": 0})).await;
    assert_eq!(removed["removed"], json!(["c"]), "{removed}");
    let l = c.ok("list_sessions", json!({})).await;
    assert_eq!(l["count"], 1, "{l}");
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_plugin_renders_the_system_prompt() {
    let dir = DataDir::new();
    let c = connect(&dir).await;
    let r = c
        .ok(
            "spawn_session",
            json!({"name": "api-dev", "prompt": "SYSTEM?", "template": "worker", "role": "backend"}),
        )
        .await;
    let prompt = r["response"].as_str().unwrap();
    assert!(
        prompt.contains("api-dev") && prompt.contains("backend"),
        "{prompt}"
    );
    let e = c
        .err(
            "spawn_session",
            json!({"name": "x", "prompt": "hi", "template": "nope"}),
        )
        .await;
    assert!(e.contains("nope"), "{e}");
    let e = c
        .err(
            "spawn_session",
            json!({"name": "x", "template": "worker", "system_prompt": "s"}),
        )
        .await;
    assert!(e.contains("not both"), "{e}");
    assert_eq!(c.ok("list_sessions", json!({})).await["count"], 1);
    c.close().await;
}

/// A fake `claude` that replays a transcript the real CLI printed.
fn replay_env(transcript: &str) -> Vec<(String, String)> {
    let mut env = fake_env();
    let path = format!(
        "{}/../tests/fixtures/stream-json/{transcript}",
        env!("CARGO_MANIFEST_DIR")
    );
    env.push(("FAKE_CLAUDE_TRANSCRIPT".to_string(), path));
    env
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// What Claude Code 2.1.332 prints (new fields on every line, a tool call, `system/init`
/// per turn, costs that also count earlier processes of the conversation) runs a session
/// as it should: every turn completes and costs what the CLI says that turn cost.
#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_2_1_332_transcript_runs_a_session() {
    let dir = DataDir::new();
    let c = dir
        .connect_with_env(None, &replay_env("claude-2.1.332.jsonl"))
        .await;
    let r = c
        .ok("spawn_session", json!({"name": "rec", "prompt": "REPLAY"}))
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["response"], "done reading", "{r}");
    // 1000 input + 100 output tokens at that release's default model: $0.006 a request.
    // The first turn called a tool, so it took two requests.
    assert!(close(r["cost_usd"].as_f64().unwrap(), 0.012), "{r}");
    assert_eq!(r["turns"], 2, "{r}");
    for total in [0.018, 0.024] {
        let r = c
            .ok("send_message", json!({"name": "rec", "message": "REPLAY"}))
            .await;
        assert_eq!(r["status"], "completed", "{r}");
        assert!(close(r["cost_usd"].as_f64().unwrap(), 0.006), "{r}");
        assert!(close(r["session_cost_usd"].as_f64().unwrap(), total), "{r}");
    }
    let h = c.ok("get_history", json!({"name": "rec"})).await;
    let entries = h["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["role"] == "assistant" && e["data"]["tool_uses"][0]["name"] == "Read"),
        "{h}"
    );
    assert!(entries.iter().any(|e| e["role"] == "tool"), "{h}");
    let s = c.ok("get_session_status", json!({"name": "rec"})).await;
    assert_eq!(
        (s["status"].as_str(), s["turns"].as_i64()),
        (Some("idle"), Some(4)),
        "{s}"
    );
    c.close().await;

    // A process resumed by 2.1.332 reports the conversation's total ($0.018 after two
    // earlier turns) on its first result; the turn itself cost $0.006.
    let dir = DataDir::new();
    let c = dir
        .connect_with_env(None, &replay_env("claude-2.1.332-resumed.jsonl"))
        .await;
    let r = c
        .ok(
            "spawn_session",
            json!({"name": "resumed", "prompt": "REPLAY"}),
        )
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert!(close(r["cost_usd"].as_f64().unwrap(), 0.006), "{r}");
    assert!(close(r["session_cost_usd"].as_f64().unwrap(), 0.006), "{r}");
    c.close().await;
}

/// A CLI run's worker stops when the command ends: an orderly end, shown as the task's
/// outcome and not as an error; sessions filter by how their task ended.
#[tokio::test(flavor = "multi_thread")]
async fn an_orderly_end_is_not_an_error_and_tasks_filter_by_outcome() {
    let dir = DataDir::new();
    let out = dir.cli_env(&["delegate", "d1", "do it"], &fake_env());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.cli_env(&["spawn", "plain", "hello"], &fake_env());
    let s = dir.cli_json(&["session", "show", "d1"]);
    assert_eq!(
        (s["status"].as_str(), s["stop_reason"].as_str()),
        (Some("stopped"), Some("owner_exited")),
        "{s}"
    );
    assert!(
        s["last_error"].is_null(),
        "an orderly end left an error: {s}"
    );
    let out = dir.cli_env(&["sessions"], &fake_env());
    let text = String::from_utf8_lossy(&out.stdout);
    let d1 = text.lines().find(|l| l.starts_with("d1")).unwrap();
    assert!(
        d1.contains("task completed") && !d1.contains("owner_exited"),
        "{text}"
    );
    let only = dir.cli_json(&["sessions", "--task-status", "completed"]);
    assert_eq!(only["count"], 1, "{only}");
    assert_eq!(only["sessions"][0]["name"], "d1");
    let c = connect(&dir).await;
    // A task outcome reads as a status too, on both surfaces.
    let l = c
        .ok("list_sessions", json!({"status": "needs_input"}))
        .await;
    assert_eq!(l["count"], 0, "{l}");
    let by_status = dir.cli_json(&["sessions", "--status", "completed"]);
    assert_eq!(by_status["count"], 1, "{by_status}");
    let e = c.err("list_sessions", json!({"status": "sleeping"})).await;
    assert!(e.contains("is not a session status"), "{e}");
    let l = c
        .ok("list_sessions", json!({"task_status": "completed"}))
        .await;
    assert_eq!(l["count"], 1, "{l}");
    c.close().await;
}
