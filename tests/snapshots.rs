//! Snapshots, rollback and replay (issue 12): the seed's pattern over MCP (a REST run,
//! a replay from the earlier snapshot with GraphQL, both runs readable by version with
//! exact lineage), refusals that change nothing, the CLI's commands, and an oracle
//! property test: for random sequences of operations, the state after a rollback equals
//! the state dumped when the snapshot was taken, except for the versions published after
//! it, which stay readable by number.

mod common;

use common::DataDir;
use serde_json::{Value, json};

fn api_contract(style: &str, version: u32) -> Value {
    json!({
        "artifact_id": "api-contract-user-auth", "type": "api-contract",
        "data": { "style": style, "endpoints": [format!("POST /auth/login/v{version}")] },
        "summary": format!("{style} auth API"),
        "derived_from": [{"artifact_id": "user-schema", "version": 1}],
    })
}

/// What a snapshot must restore, read through the tools themselves.
async fn dump(c: &common::Client) -> Value {
    let contracts = c.ok("contract_list", json!({"limit": 1000})).await;
    let artifacts = c.ok("artifact_list", json!({"limit": 1000})).await;
    let mut contracts = contracts["contracts"].clone();
    for x in contracts.as_array_mut().unwrap() {
        x.as_object_mut().unwrap().remove("updated_at");
    }
    let artifacts: Vec<Value> = artifacts["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["artifact_id"], a["version"]]))
        .collect();
    json!({ "contracts": contracts, "artifacts": artifacts })
}

#[tokio::test]
async fn a_rest_run_is_replayed_with_graphql_and_both_runs_stay_readable_over_mcp() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let api = dir.connect(Some("api-dev")).await;
    orch.ok(
        "artifact_publish",
        json!({"artifact_id": "user-schema", "type": "schema-change", "data": {"tables": ["users"]}}),
    )
    .await;
    orch.ok(
        "contract_create",
        json!({
            "contract_id": "build-api", "title": "Build the auth API", "assignee": "api-dev",
            "inputs": {"context": "Use REST"},
            "expected_outputs": [{"artifact_type": "api-contract"}],
        }),
    )
    .await;
    let pre = orch
        .ok("team_snapshot", json!({"label": "pre-work", "description": "before any work"}))
        .await;
    assert_eq!(pre["contracts"], 1, "{pre}");
    assert_eq!(pre["artifacts"], 1, "{pre}");
    let before = dump(&orch).await;

    // The REST run: two versions, then the contract completes.
    api.ok("contract_start", json!({"contract_id": "build-api"})).await;
    api.ok("artifact_publish", api_contract("REST", 1)).await;
    api.ok("artifact_publish", api_contract("REST", 2)).await;
    api.ok("contract_complete", json!({"contract_id": "build-api"})).await;
    orch.ok(
        "team_snapshot",
        json!({"label": "auth-rest-complete", "description": "Auth feature done with REST"}),
    )
    .await;
    let list = orch.ok("snapshot_list", json!({})).await;
    let labels: Vec<&str> = list["snapshots"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["pre-work", "auth-rest-complete"]);

    let d = orch.ok("snapshot_diff", json!({"from": "pre-work", "to": "auth-rest-complete"})).await;
    assert_eq!(d["contracts"][0]["contract_id"], "build-api", "{d}");
    assert_eq!(d["contracts"][0]["from"]["status"], "ready");
    assert_eq!(d["contracts"][0]["to"]["status"], "completed");
    assert_eq!(
        d["artifacts"],
        json!([{"artifact_id": "api-contract-user-auth", "from": null, "to": 2}]),
        "{d}"
    );

    // Replay from before the work, with the seed's override shape.
    let r = orch
        .ok(
            "team_replay",
            json!({"label": "pre-work", "overrides": {"build-api": {"inputs": {"context": "Use GraphQL instead of REST"}}}}),
        )
        .await;
    assert_eq!(r["overridden"], json!(["build-api"]), "{r}");
    assert_eq!(r["contracts_restored"], json!(["build-api"]), "{r}");
    assert_eq!(
        r["artifacts"],
        json!([{"artifact_id": "api-contract-user-auth", "from": 2, "to": 0}]),
        "the artifact did not exist at pre-work: {r}"
    );
    let c = orch.ok("contract_get", json!({"contract_id": "build-api"})).await;
    assert_eq!(c["status"], "ready", "{c}");
    assert_eq!(c["inputs"], json!({"context": "Use GraphQL instead of REST"}));
    // No current version now; the REST versions stay readable by number.
    let none = orch.err("artifact_get", json!({"artifact_id": "api-contract-user-auth"})).await;
    assert!(none.contains("no current version") && none.contains("1 to 2"), "{none}");
    let rest = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth", "version": 2})).await;
    assert_eq!(rest["data"]["style"], "REST");

    // The GraphQL run: its output is version 3, beside the REST ones.
    api.ok("contract_start", json!({"contract_id": "build-api"})).await;
    let v3 = api.ok("artifact_publish", api_contract("GraphQL", 3)).await;
    assert_eq!(v3["version"], 3, "numbers are never reused: {v3}");
    api.ok("contract_complete", json!({"contract_id": "build-api"})).await;

    let rest = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth", "version": 2})).await;
    let gql = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth", "version": 3})).await;
    let current = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth"})).await;
    assert_eq!(rest["data"]["style"], "REST");
    assert_eq!(gql["data"]["style"], "GraphQL");
    assert_eq!(current["version"], 3);
    for v in [2, 3] {
        let t = orch
            .ok("lineage_trace", json!({"artifact_id": "api-contract-user-auth", "version": v}))
            .await;
        let nodes: Vec<(String, u64)> = t["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["artifact_id"].as_str().unwrap().to_string(), n["version"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            nodes,
            [("api-contract-user-auth".to_string(), v as u64), ("user-schema".to_string(), 1)],
            "v{v}: {t}"
        );
    }
    let c = orch.ok("contract_get", json!({"contract_id": "build-api"})).await;
    assert_eq!(c["outputs"], json!([{"artifact_id": "api-contract-user-auth", "version": 3}]), "{c}");

    // Both runs side by side in the diff; rolling forward to the REST snapshot restores it.
    let d = orch.ok("snapshot_diff", json!({"from": "auth-rest-complete"})).await;
    assert_eq!(d["to"], "now");
    assert_eq!(d["contracts"][0]["from"]["inputs"], json!({"context": "Use REST"}), "{d}");
    assert_eq!(d["contracts"][0]["to"]["inputs"], json!({"context": "Use GraphQL instead of REST"}));
    assert_eq!(d["artifacts"], json!([{"artifact_id": "api-contract-user-auth", "from": 2, "to": 3}]));
    let fwd = orch.ok("team_rollback", json!({"label": "auth-rest-complete"})).await;
    assert_eq!(fwd["artifacts"], json!([{"artifact_id": "api-contract-user-auth", "from": 3, "to": 2}]), "{fwd}");
    let current = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth"})).await;
    assert_eq!(current["data"]["style"], "REST");
    let c = orch.ok("contract_get", json!({"contract_id": "build-api"})).await;
    assert_eq!(c["status"], "completed");
    assert_eq!(c["inputs"], json!({"context": "Use REST"}));
    let history: Vec<&str> = c["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(history.contains(&"contract.completed"), "{history:?}");

    // And back to before the work: the dump taken then.
    orch.ok("team_rollback", json!({"label": "pre-work"})).await;
    assert_eq!(dump(&orch).await, before);
    for client in [orch, api] {
        client.close().await;
    }
}

#[tokio::test]
async fn refusals_change_nothing_and_name_what_is_wrong() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let worker = dir.connect(Some("api-dev")).await;
    orch.ok("contract_create", json!({"contract_id": "a", "title": "A", "assignee": "api-dev"})).await;
    orch.ok("team_snapshot", json!({"label": "s1"})).await;
    let events = |dir: &DataDir| dir.cli_json(&["status"])["last_seq"].as_i64().unwrap();
    let seq = events(&dir);
    let before = dump(&orch).await;

    let dup = orch.err("team_snapshot", json!({"label": "s1"})).await;
    assert!(dup.contains("already has snapshot `s1`"), "{dup}");
    let unknown = orch.err("team_rollback", json!({"label": "nope"})).await;
    assert!(unknown.contains("nope") && unknown.contains("snapshot_list"), "{unknown}");
    let unknown = orch.err("team_replay", json!({"label": "nope"})).await;
    assert!(unknown.contains("nope"), "{unknown}");
    let ids = orch
        .err("team_replay", json!({"label": "s1", "overrides": {"a": {"x": 1}, "ghost": {"x": 2}}}))
        .await;
    assert!(ids.contains("overrides.ghost") && ids.contains("no contract `ghost`") && ids.contains("its contracts: a"), "{ids}");
    let bad = orch.err("team_snapshot", json!({"label": "has space"})).await;
    assert!(bad.contains("label"), "{bad}");
    let not_object = orch.err("team_replay", json!({"label": "s1", "overrides": {"a": 3}})).await;
    assert!(not_object.contains("overrides"), "{not_object}");
    let role = worker.err("team_rollback", json!({"label": "s1"})).await;
    assert!(role.contains("api-dev") && role.contains("may not roll back"), "{role}");
    let missing = orch.err("snapshot_diff", json!({"from": "s1", "to": "s9"})).await;
    assert!(missing.contains("s9"), "{missing}");

    assert_eq!(events(&dir), seq, "a refusal appended events");
    assert_eq!(dump(&orch).await, before);
    assert_eq!(orch.ok("snapshot_list", json!({}))
        .await["count"], 1);
    for client in [orch, worker] {
        client.close().await;
    }
}

#[test]
fn the_cli_snapshots_diffs_rolls_back_and_replays_with_an_overrides_file() {
    let dir = DataDir::new();
    dir.cli_json(&["contract", "create", "build", "--title", "Build", "--assignee", "dev", "--inputs", r#"{"context":"REST"}"#]);
    let s = dir.cli_json(&["snapshot", "create", "start", "--description", "nothing done"]);
    assert_eq!(s["label"], "start");
    dir.cli_json(&["artifact", "publish", "notes", "--type", "notes", "--new-type", "--data", r#"{"n":1}"#]);
    dir.cli_json(&["pipeline", "create", "tell", "--rules", r#"[{"trigger":{"type":"contract_completed"},"action":{"type":"notify_session","target":"dev","message":"done"}}]"#]);
    let list = dir.cli(&["snapshot", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("start") && text.contains("nothing done"), "{text}");
    let d = dir.cli_json(&["snapshot", "diff", "start"]);
    assert_eq!(d["artifacts"], json!([{"artifact_id": "notes", "from": null, "to": 1}]), "{d}");
    assert_eq!(d["pipelines_added"], json!(["tell"]));
    assert_eq!(d["next_cursor"], Value::Null);
    // The changes page: an artifact first, then the pipeline.
    let p1 = dir.cli_json(&["snapshot", "diff", "start", "--limit", "1"]);
    assert_eq!((p1["artifacts"].as_array().unwrap().len(), p1["pipelines_added"].clone()), (1, json!([])), "{p1}");
    let p2 = dir.cli_json(&["snapshot", "diff", "start", "--limit", "1", "--cursor", p1["next_cursor"].as_str().unwrap()]);
    assert_eq!((p2["artifacts"].clone(), p2["pipelines_added"].clone(), p2["next_cursor"].clone()), (json!([]), json!(["tell"]), Value::Null), "{p2}");
    let bad = dir.cli(&["snapshot", "diff", "start", "--cursor", "nope"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cursor"), "{bad:?}");
    let text = String::from_utf8_lossy(&dir.cli(&["snapshot", "diff", "start"]).stdout).to_string();
    assert!(text.contains("artifact notes: none -> v1") && text.contains("pipeline added: tell"), "{text}");

    let r = dir.cli_json(&["rollback", "start"]);
    assert_eq!(r["pipelines_removed"], json!(["tell"]), "{r}");
    assert_eq!(dir.cli_json(&["pipeline", "list"])["count"], 0);
    let file = dir.path().join("overrides.json");
    std::fs::write(&file, r#"{"build": {"context": "GraphQL"}}"#).unwrap();
    let r = dir.cli_json(&["replay", "start", "--overrides", file.to_str().unwrap()]);
    assert_eq!(r["overridden"], json!(["build"]), "{r}");
    let c = dir.cli_json(&["contract", "get", "build"]);
    assert_eq!(c["inputs"], json!({"context": "GraphQL"}));
    let next = dir.cli_json(&["artifact", "publish", "notes", "--type", "notes", "--data", r#"{"n":2}"#]);
    assert_eq!(next["version"], 2, "after v1 whatever the current is");

    let bad = dir.cli(&["replay", "start", "--overrides", r#"{"nobody": {"x": 1}}"#]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no contract `nobody`"));
    let bad = dir.cli(&["replay", "start", "--overrides", "/no/such/file.json"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--overrides"), "{}", String::from_utf8_lossy(&bad.stderr));
}

/// What is stale follows a rollback: back to before an input moved on, nothing is; forward
/// again, the same versions are, through the same paths; an older version that is current
/// again is listed when its input has moved on; a publish after a rollback marks them anew.
#[test]
fn a_rollback_recomputes_what_is_stale() {
    let dir = DataDir::new();
    let stale = || -> Vec<(String, u64, u64)> {
        dir.cli_json(&["stale"])["stale"].as_array().unwrap().iter()
            .map(|s| (format!("{}{}", s["kind"].as_str().unwrap(), s["artifact_id"].as_str().or(s["contract_id"].as_str()).map(|x| format!(" {x}")).unwrap_or_default()),
                      s["version"].as_u64().unwrap_or(0), s["causes"][0]["latest_version"].as_u64().unwrap_or(0)))
            .collect()
    };
    let publish = |id: &str, from: &[&str]| {
        let mut args = vec!["artifact", "publish", id, "--type", "notes", "--new-type", "--data", r#"{"n":1}"#];
        for f in from {
            args.extend(["--derived-from", f]);
        }
        dir.cli_json(&args)["version"].as_u64().unwrap()
    };
    let dev = [("CLEARCTX_SESSION".to_string(), "dev".to_string())];
    publish("a", &[]);
    publish("b", &["a@1"]);
    // dev derives c from b in a contract, which is stale while c is.
    dir.cli_json(&["contract", "create", "derive", "--title", "Derive c", "--assignee", "dev", "--expects", "id:c"]);
    assert!(dir.cli_env(&["contract", "start", "derive"], &dev).status.success());
    let c = ["artifact", "publish", "c", "--type", "notes", "--new-type", "--data", "{}", "--derived-from", "b@1"];
    assert!(dir.cli_env(&c, &dev).status.success());
    assert!(dir.cli_env(&["contract", "complete", "derive"], &dev).status.success());
    dir.cli_json(&["snapshot", "create", "fresh"]);
    assert_eq!(publish("a", &[]), 2);
    let moved_on = vec![("artifact b".to_string(), 1, 2), ("artifact c".to_string(), 1, 2), ("contract derive".to_string(), 0, 0)];
    assert_eq!(stale(), moved_on);
    dir.cli_json(&["snapshot", "create", "a-moved"]);
    assert_eq!(publish("b", &["a@2"]), 2);
    dir.cli_json(&["snapshot", "create", "b-redone"]);
    let c_only = vec![("artifact c".to_string(), 1, 2), ("contract derive".to_string(), 0, 0)];
    assert_eq!(stale(), c_only, "b v2 is fresh, c still uses b v1");

    dir.cli_json(&["rollback", "fresh"]);
    assert_eq!(stale(), vec![], "a is back at v1: nothing has moved on");
    dir.cli_json(&["rollback", "a-moved"]);
    assert_eq!(stale(), moved_on, "b v1 is current again and a has moved on");
    dir.cli_json(&["rollback", "b-redone"]);
    assert_eq!(stale(), c_only);
    dir.cli_json(&["rollback", "fresh"]);
    assert_eq!(publish("a", &[]), 3);
    assert_eq!(stale(), vec![("artifact b".to_string(), 1, 3), ("artifact c".to_string(), 1, 3), ("contract derive".to_string(), 0, 0)]);
}

/// `replay --wait` follows the replayed contracts, a line on stderr as each moves, until
/// each is completed or failed; one still open when `--timeout` passes makes it exit 1.
#[test]
fn the_cli_follows_a_replay_until_its_contracts_finish() {
    let dir = DataDir::new();
    dir.cli_json(&["contract", "create", "build", "--title", "Build", "--assignee", "dev", "--inputs", r#"{"context":"REST"}"#]);
    dir.cli_json(&["snapshot", "create", "start"]);
    let out = dir.cli(&["--json", "replay", "start", "--wait", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["followed"]["open"], json!(["build"]), "{r}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("build: ready"), "{out:?}");

    let path = dir.path().to_path_buf();
    let follow = std::thread::spawn(move || {
        std::process::Command::new(common::bin())
            .args(["--home", path.to_str().unwrap(), "replay", "start", "--wait", "--timeout", "60"])
            .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
            .env_remove("CLEARCTX_SESSION")
            .env_remove("CLEARCTX_TEAM")
            .output()
            .unwrap()
    });
    let dev = [("CLEARCTX_SESSION".to_string(), "dev".to_string())];
    // Once the second replay has re-opened it, dev does the work.
    let db = rusqlite::Connection::open(dir.path().join("clearctx.db")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db.query_row("SELECT count(*) FROM events WHERE kind = 'team.replayed'", [], |r| r.get::<_, i64>(0)).unwrap() < 2 {
        assert!(std::time::Instant::now() < deadline, "the replay never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for step in ["start", "complete"] {
        let o = dir.cli_env(&["contract", step, "build"], &dev);
        assert!(o.status.success(), "{o:?}");
    }
    let out = follow.join().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("build: ready") && stderr.contains("build: completed"), "{stderr}");
    assert!(stdout.contains("replay finished: 1 completed, 0 failed, 0 still open"), "{stdout}");
}

/// Polls a session until `done` holds for its status, or panics after 20 s.
async fn until(c: &common::Client, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = c.ok("get_session_status", json!({ "name": name })).await;
        if done(&s) {
            return s;
        }
        assert!(std::time::Instant::now() < deadline, "session {name} never got there: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Running workers (the session manager with the fake `claude` of
/// `tests/fixtures/fake-claude.py`, which echoes each turn): a replay re-sends the ready
/// contract as a queued turn, a rollback stops the worker whose contract moved and takes a
/// member that joined later off the roster, stopped; both stay resumable.
#[tokio::test(flavor = "multi_thread")]
async fn running_workers_are_re_sent_their_contract_or_stopped() {
    let dir = DataDir::new();
    let orch = dir.connect_with_env(None, &common::fake_claude_env()).await;
    orch.ok("team_spawn", json!({"name": "api-dev", "role": "backend", "team": "default"})).await;
    orch.ok(
        "contract_create",
        json!({"contract_id": "build-api", "title": "Build the API", "assignee": "api-dev", "inputs": {"context": "Use REST"}}),
    )
    .await;
    orch.ok("team_snapshot", json!({"label": "pre"})).await;
    orch.ok("contract_start", json!({"contract_id": "build-api", "by": "api-dev"})).await;
    orch.ok("contract_complete", json!({"contract_id": "build-api", "by": "api-dev"})).await;
    orch.ok("team_snapshot", json!({"label": "done"})).await;

    let r = orch
        .ok("team_replay", json!({"label": "pre", "overrides": {"build-api": {"context": "Use GraphQL"}}}))
        .await;
    assert_eq!(r["sent"], json!(["api-dev"]), "{r}");
    assert_eq!(r["stopped"], json!([]), "a replay re-sends, it does not stop: {r}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let h = orch.ok("get_history", json!({"name": "api-dev"})).await;
        let replies: Vec<&str> = h["entries"].as_array().unwrap().iter().filter(|e| e["role"] == "assistant").map(|e| e["text"].as_str().unwrap()).collect();
        if replies.iter().any(|t| t.contains("replayed from snapshot `pre`") && t.contains("Use GraphQL")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the worker never got its contract again: {h}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let inbox = orch.ok("team_check_inbox", json!({"recipient": "api-dev"})).await;
    assert!(inbox.to_string().contains("rolled back to snapshot `pre`"), "{inbox}");

    // A member who joins after `done`, then a rollback to `done`: the contract moves back
    // to completed, so api-dev is stopped; qa-dev leaves the roster, stopped.
    orch.ok("team_spawn", json!({"name": "qa-dev", "role": "tests", "team": "default"})).await;
    until(&orch, "api-dev", |s| s["status"] == "idle").await;
    let r = orch.ok("team_rollback", json!({"label": "done"})).await;
    assert_eq!(r["members_removed"], json!(["qa-dev"]), "{r}");
    assert_eq!(r["stopped"], json!(["qa-dev", "api-dev"]), "{r}");
    for name in ["api-dev", "qa-dev"] {
        let s = until(&orch, name, |s| s["status"] == "stopped").await;
        assert_eq!(s["resumable"], true, "{s}");
    }
    let roster = orch.ok("team_roster", json!({"team": "default"})).await;
    let names: Vec<&str> = roster["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api-dev"], "{roster}");
    let d = orch.ok("snapshot_diff", json!({"from": "pre", "to": "done"})).await;
    assert_eq!(d["members_added"], json!([]), "{d}");
    orch.close().await;
}

/// A server SIGKILLed mid-run (the fake `claude` again): its team member is reaped as
/// stopped with its contract in progress, `clearctx status` names the team interrupted,
/// and `team_resume` brings the member back with its conversation and its contract.
#[tokio::test(flavor = "multi_thread")]
async fn a_team_whose_server_was_killed_resumes_with_its_contracts() {
    let dir = DataDir::new();
    let a = dir.connect_with_env(None, &common::fake_claude_env()).await;
    let r = a.ok("team_spawn", json!({"name": "w", "role": "backend", "team": "core", "prompt": "hi"})).await;
    assert_eq!(r["response"], "echo: hi", "{r}");
    let owner = r["session"]["owner_pid"].as_i64().unwrap().to_string();
    let claude_id = r["session"]["claude_session_id"].clone();
    assert!(claude_id.is_string(), "{r}");
    a.ok("contract_create", json!({"contract_id": "build", "title": "Build it", "assignee": "w", "team": "core", "inputs": {"context": "REST"}})).await;
    a.ok("contract_start", json!({"contract_id": "build", "by": "w"})).await;
    assert!(std::process::Command::new("kill").args(["-9", &owner]).status().unwrap().success());

    let b = dir.connect_with_env(None, &common::fake_claude_env()).await;
    until(&b, "w", |s| s["status"] == "stopped").await;
    let status = dir.cli_json(&["status"]);
    assert_eq!(status["interrupted_teams"], json!([{"team": "core", "members": ["w"]}]), "{status}");
    let text = String::from_utf8_lossy(&dir.cli(&["status"]).stdout).to_string();
    assert!(text.contains("interrupted team core: w") && text.contains("clearctx team resume core"), "{text}");

    let refused = b.err("team_resume", json!({"team": "nobody"})).await;
    assert!(refused.contains("nobody"), "{refused}");
    let r = b.ok("team_resume", json!({"team": "core"})).await;
    assert_eq!(r["resumed"], json!(["w"]), "{r}");
    assert_eq!(r["contracts"], json!({"w": "build"}), "{r}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let h = b.ok("get_history", json!({"name": "w"})).await;
        let said: Vec<&str> = h["entries"].as_array().unwrap().iter().filter(|e| e["role"] == "assistant").map(|e| e["text"].as_str().unwrap()).collect();
        if said.iter().any(|t| t.contains("Your current contract is `build`") && t.contains("in_progress")) {
            assert_eq!(said[0], "echo: hi", "its history goes on: {said:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the member never got its contract: {h}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let s = until(&b, "w", |s| s["status"] == "idle").await;
    assert_eq!(s["claude_session_id"], claude_id, "resumed (`--resume`), not started afresh: {s}");
    let status = dir.cli_json(&["status"]);
    assert_eq!(status["interrupted_teams"], json!([]), "{status}");
    b.close().await;
}

mod oracle {
    //! The oracle: random operations on a real data dir through the `Hub`, a snapshot and
    //! a dump of the state in the middle, more random operations, a rollback; then the dump
    //! must match again, and every version published after the snapshot is still readable.

    use clearctx::artifacts::{GetRequest, PublishRequest};
    use clearctx::contracts::{CompleteRequest, ContractIdRequest, CreateRequest, ReasonRequest};
    use clearctx::hub::{Caller, Hub};
    use clearctx::pipelines;
    use clearctx::snapshots::{ReplayRequest, RollbackRequest, SnapshotRequest};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[derive(Debug, Clone)]
    enum Op {
        Create(u8),
        Start(u8),
        Complete(u8),
        Fail(u8),
        Reopen(u8),
        Publish(u8),
        Pipeline(u8),
        DeletePipeline(u8),
        Enable(u8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..6u8).prop_map(Op::Create),
            (0..6u8).prop_map(Op::Start),
            (0..6u8).prop_map(Op::Complete),
            (0..6u8).prop_map(Op::Fail),
            (0..6u8).prop_map(Op::Reopen),
            (0..4u8).prop_map(Op::Publish),
            (0..3u8).prop_map(Op::Pipeline),
            (0..3u8).prop_map(Op::DeletePipeline),
            ((0..3u8), any::<bool>()).prop_map(|(i, e)| Op::Enable(i, e)),
        ]
    }

    fn id(req: &mut ContractIdRequest, i: u8) -> &ContractIdRequest {
        req.contract_id = format!("c{i}");
        req
    }

    /// Applies `op`; refusals (a contract in the wrong state, a missing one) are part of
    /// the sequence and change nothing. Returns the version a publish made.
    fn apply(hub: &Hub, op: &Op, n: &mut u32) -> Option<(String, u32)> {
        let mut req: ContractIdRequest = serde_json::from_value(json!({"contract_id": "x"})).unwrap();
        let reason = |i: u8| -> ReasonRequest {
            serde_json::from_value(json!({"contract_id": format!("c{i}"), "reason": "because"})).unwrap()
        };
        *n += 1;
        match op {
            Op::Create(i) => {
                let deps = if *i > 0 { json!([{"type": "artifact", "id": format!("a{}", i % 4)}]) } else { json!([]) };
                let req: CreateRequest = serde_json::from_value(json!({
                    "contract_id": format!("c{i}"), "title": "t", "assignee": "w",
                    "inputs": {"n": *n}, "dependencies": deps,
                }))
                .unwrap();
                let _ = hub.contract_create(&req);
            }
            Op::Start(i) => {
                let _ = hub.contract_start(id(&mut req, *i));
            }
            Op::Complete(i) => {
                let req: CompleteRequest = serde_json::from_value(json!({"contract_id": format!("c{i}"), "result": {"n": *n}})).unwrap();
                let _ = hub.contract_complete(&req);
            }
            Op::Fail(i) => {
                let _ = hub.contract_fail(&reason(*i));
            }
            Op::Reopen(i) => {
                let _ = hub.contract_reopen(&reason(*i));
            }
            Op::Publish(i) => {
                let req: PublishRequest = serde_json::from_value(json!({
                    "artifact_id": format!("a{i}"), "type": "oracle-doc", "new_type": true, "data": {"n": *n},
                }))
                .unwrap();
                let v = hub.artifact_publish(&req).expect("publishing always works");
                return Some((v.artifact_id, v.version));
            }
            Op::Pipeline(i) => {
                let req: pipelines::CreateRequest = serde_json::from_value(json!({
                    "pipeline_id": format!("p{i}"),
                    "rules": [{"trigger": {"type": "contract_completed"}, "action": {"type": "notify_session", "target": "w", "message": format!("m{n}")}}],
                }))
                .unwrap();
                let _ = hub.pipeline_create(&req);
            }
            Op::DeletePipeline(i) => {
                let _ = hub.pipeline_delete(&format!("p{i}"));
            }
            Op::Enable(i, e) => {
                let req: pipelines::SetEnabledRequest =
                    serde_json::from_value(json!({"pipeline_id": format!("p{i}"), "enabled": e})).unwrap();
                let _ = hub.pipeline_set_enabled(&req);
            }
        }
        None
    }

    /// The state a rollback restores, through the hub's own reads.
    fn dump(hub: &Hub) -> Value {
        let cs = hub.contract_list(&serde_json::from_value(json!({"limit": 1000})).unwrap()).unwrap();
        let mut contracts: Vec<Value> = cs.items.iter().map(|c| serde_json::to_value(c).unwrap()).collect();
        for c in &mut contracts {
            c.as_object_mut().unwrap().remove("updated_at");
        }
        contracts.sort_by(|a, b| a["contract_id"].as_str().cmp(&b["contract_id"].as_str()));
        let arts = hub.artifact_list(&serde_json::from_value(json!({"limit": 1000})).unwrap()).unwrap();
        let artifacts: Vec<Value> = arts.items.iter().map(|a| json!([a.artifact_id, a.version])).collect();
        let ps = hub.pipeline_list(&serde_json::from_value(json!({"limit": 1000})).unwrap()).unwrap();
        let pipelines: Vec<Value> = ps
            .items
            .iter()
            .map(|p| json!([p.pipeline_id, p.enabled, serde_json::to_value(&p.rules).unwrap()]))
            .collect();
        json!({"contracts": contracts, "artifacts": artifacts, "pipelines": pipelines})
    }

    fn get(hub: &Hub, artifact_id: &str, version: u32) -> u32 {
        let req: GetRequest = serde_json::from_value(json!({"artifact_id": artifact_id, "version": version})).unwrap();
        hub.artifact_get(&req).expect("a version stays readable").version
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn rollback_restores_the_dump_taken_at_the_snapshot(
            before in proptest::collection::vec(op(), 0..25),
            after in proptest::collection::vec(op(), 0..25),
            replay in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let hub = Hub::open(dir.path(), Caller::new("w", "default")).unwrap();
            let mut n = 0;
            for op in &before {
                apply(&hub, op, &mut n);
            }
            hub.team_snapshot(&SnapshotRequest { label: "s".into(), ..Default::default() }).unwrap();
            let at_snapshot = dump(&hub);
            let mut published = Vec::new();
            for op in &after {
                published.extend(apply(&hub, op, &mut n));
            }
            // Refusals change nothing.
            let now = dump(&hub);
            let dup = hub.team_snapshot(&SnapshotRequest { label: "s".into(), ..Default::default() });
            prop_assert!(dup.is_err(), "a second snapshot `s`");
            let unknown = hub.team_rollback(&RollbackRequest { label: "t".into(), team: None });
            prop_assert!(unknown.is_err(), "a rollback to an unknown label");
            let ghost: ReplayRequest = serde_json::from_value(json!({"label": "s", "overrides": {"ghost": {"x": 1}}})).unwrap();
            prop_assert!(hub.team_replay(&ghost).is_err(), "an override of an unknown contract");
            prop_assert_eq!(&dump(&hub), &now);

            if replay {
                // A replay without overrides is the rollback and then the re-opening of what
                // the snapshot had finished: compare what it does not re-open.
                let r = hub.team_replay(&serde_json::from_value(json!({"label": "s"})).unwrap()).unwrap();
                let after_replay = dump(&hub);
                prop_assert_eq!(&after_replay["artifacts"], &at_snapshot["artifacts"]);
                prop_assert_eq!(&after_replay["pipelines"], &at_snapshot["pipelines"]);
                for c in after_replay["contracts"].as_array().unwrap() {
                    let id = c["contract_id"].as_str().unwrap();
                    if r.reopened.iter().any(|x| x == id) {
                        prop_assert!(matches!(c["status"].as_str(), Some("pending" | "ready")), "{c}");
                    }
                }
            } else {
                let r = hub.team_rollback(&RollbackRequest { label: "s".into(), team: None }).unwrap();
                let mut restored = dump(&hub);
                // Contracts created after the snapshot are withdrawn (failed), not deleted.
                let withdrawn = r.contracts_withdrawn.clone();
                let cs = restored["contracts"].as_array_mut().unwrap();
                for c in cs.iter() {
                    if withdrawn.iter().any(|w| c["contract_id"] == *w) {
                        prop_assert_eq!(&c["status"], "failed");
                        prop_assert!(c["reason"].as_str().unwrap().contains("withdrawn by the rollback"));
                    }
                }
                cs.retain(|c| !withdrawn.iter().any(|w| c["contract_id"] == *w));
                prop_assert_eq!(&restored, &at_snapshot);
            }
            // Every version published after the snapshot is still readable by number, and
            // the next publish goes on after the highest.
            let mut highest = std::collections::BTreeMap::new();
            for (a, v) in &published {
                prop_assert_eq!(get(&hub, a, *v), *v);
                highest.insert(a.clone(), *v);
            }
            for (a, v) in highest {
                let req: PublishRequest = serde_json::from_value(json!({"artifact_id": a, "type": "oracle-doc", "data": {"again": true}})).unwrap();
                prop_assert_eq!(hub.artifact_publish(&req).unwrap().version, v + 1);
            }
        }
    }
}

mod golden {
    //! Golden data dirs, a guard on the storage format. The scripted team run below was
    //! recorded by the clearctx of each schema version as a SQL dump of its `clearctx.db`
    //! (`tests/golden/team-run.v<schema>.sql`, with the schema version in its last line),
    //! beside the state clearctx read from it (`tests/golden/team-run.json`). Every later
    //! clearctx must read each recorded dump to that same state and go on working on it,
    //! and the script run afresh must still end in it. When the schema moves, record a new
    //! dump beside the old ones (never replace one):
    //! `CLEARCTX_RECORD_GOLDEN=1 cargo test --workspace --test snapshots golden`.

    use super::{api_contract, common};
    use common::{Client, DataDir};
    use serde_json::{Value, json};
    use std::path::PathBuf;

    fn golden(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden").join(name)
    }

    /// The recorded dumps, oldest first.
    fn recorded_dumps() -> Vec<PathBuf> {
        let mut dumps: Vec<PathBuf> = std::fs::read_dir(golden(""))
            .expect("tests/golden")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        dumps.sort();
        dumps
    }

    /// The team run: a REST build, its tests, a replay with GraphQL, a decision, a pipeline,
    /// snapshots between.
    async fn script(orch: &Client, api: &Client, qa: &Client) {
        orch.ok("artifact_publish", json!({"artifact_id": "user-schema", "type": "schema-change", "data": {"tables": ["users"]}})).await;
        orch.ok("pipeline_create", json!({"pipeline_id": "tell-qa", "rules": [{"trigger": {"type": "contract_completed"}, "action": {"type": "notify_session", "target": "qa-dev", "message": "something was built"}}]})).await;
        orch.ok("contract_create", json!({
            "contract_id": "build-api", "title": "Build the auth API", "assignee": "api-dev",
            "inputs": {"context": "Use REST"}, "expected_outputs": [{"artifact_type": "api-contract"}],
            "dependencies": [{"type": "artifact", "id": "user-schema"}]})).await;
        orch.ok("contract_create", json!({
            "contract_id": "write-tests", "title": "Test the auth API", "assignee": "qa-dev",
            "dependencies": [{"type": "contract", "id": "build-api"}]})).await;
        orch.ok("team_snapshot", json!({"label": "pre-work", "description": "before any work"})).await;
        api.ok("contract_start", json!({"contract_id": "build-api"})).await;
        api.ok("artifact_publish", api_contract("REST", 1)).await;
        api.ok("contract_complete", json!({"contract_id": "build-api"})).await;
        qa.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth"})).await;
        qa.ok("contract_start", json!({"contract_id": "write-tests"})).await;
        qa.ok("artifact_publish", json!({"artifact_id": "auth-tests", "type": "json", "data": {"passed": 3},
            "derived_from": [{"artifact_id": "api-contract-user-auth", "version": 1}]})).await;
        qa.ok("contract_complete", json!({"contract_id": "write-tests"})).await;
        orch.ok("team_snapshot", json!({"label": "rest-done"})).await;
        orch.ok("team_replay", json!({"label": "pre-work", "overrides": {"build-api": {"inputs": {"context": "Use GraphQL instead of REST"}}}})).await;
        api.ok("contract_start", json!({"contract_id": "build-api"})).await;
        api.ok("artifact_publish", api_contract("GraphQL", 2)).await;
        api.ok("contract_complete", json!({"contract_id": "build-api"})).await;
        orch.ok("decision_record", json!({"what": "GraphQL for the auth API", "why": "clients batch their reads",
            "alternatives": ["REST"], "tags": ["api"], "artifacts": ["api-contract-user-auth@2"]})).await;
        orch.ok("team_snapshot", json!({"label": "graphql-done", "description": "after the replay"})).await;
    }

    fn pick(v: &Value, keys: &[&str]) -> Value {
        Value::Object(keys.iter().map(|k| (k.to_string(), v[*k].clone())).collect())
    }

    /// The state as this clearctx reads it, through its tools: each field chosen because it
    /// is what a user relies on (no times, no fields a later version may add).
    async fn state(c: &Client) -> Value {
        let mut artifacts = serde_json::Map::new();
        let list = c.ok("artifact_list", json!({"limit": 100})).await;
        let mut ids: Vec<(String, Value)> = list["artifacts"].as_array().unwrap().iter()
            .map(|a| (a["artifact_id"].as_str().unwrap().to_string(), a["version"].clone()))
            .collect();
        // The replay took the tests' artifact back to before it existed: listed nowhere,
        // its version still readable by number.
        ids.push(("auth-tests".into(), Value::Null));
        for (id, current) in &ids {
            let id = id.as_str();
            let h = c.ok("artifact_history", json!({"artifact_id": id, "limit": 100})).await;
            let mut versions = vec![];
            for v in h["versions"].as_array().unwrap() {
                let full = c.ok("artifact_get", json!({"artifact_id": id, "version": v["version"]})).await;
                versions.push(pick(&full, &["version", "type", "publisher", "sha256", "data", "summary", "derived_from"]));
            }
            let readers = c.ok("artifact_readers", json!({"artifact_id": id})).await;
            let readers: Vec<Value> = readers["readers"].as_array().unwrap().iter().map(|r| pick(r, &["reader", "last_version_read"])).collect();
            artifacts.insert(id.into(), json!({"current": current, "versions": versions, "readers": readers}));
        }
        let mut contracts = serde_json::Map::new();
        let list = c.ok("contract_list", json!({"limit": 100})).await;
        for k in list["contracts"].as_array().unwrap() {
            let id = k["contract_id"].as_str().unwrap();
            let full = c.ok("contract_get", json!({"contract_id": id})).await;
            let mut x = pick(&full, &["status", "assignee", "assigner", "inputs", "outputs", "retries"]);
            x["history"] = full["history"].as_array().unwrap().iter().map(|e| e["kind"].clone()).collect();
            contracts.insert(id.into(), x);
        }
        let snapshots: Vec<Value> = c.ok("snapshot_list", json!({})).await["snapshots"]
            .as_array().unwrap().iter()
            .map(|s| pick(s, &["label", "seq", "description", "contracts", "artifacts", "pipelines"]))
            .collect();
        let lineage: Vec<Value> = c.ok("lineage_trace", json!({"artifact_id": "auth-tests", "version": 1})).await["nodes"]
            .as_array().unwrap().iter()
            .map(|n| pick(n, &["artifact_id", "version"]))
            .collect();
        let decisions: Vec<Value> = c.ok("decision_list", json!({})).await["decisions"]
            .as_array().unwrap().iter()
            .map(|d| pick(d, &["what", "why", "alternatives", "tags", "artifacts"]))
            .collect();
        let pipelines: Vec<Value> = c.ok("pipeline_list", json!({})).await["pipelines"]
            .as_array().unwrap().iter()
            .map(|p| pick(p, &["pipeline_id", "enabled"]))
            .collect();
        let stale: Vec<Value> = c.ok("stale_check", json!({})).await["stale"]
            .as_array().unwrap().iter()
            .map(|s| pick(s, &["artifact_id", "version"]))
            .collect();
        json!({"artifacts": artifacts, "contracts": contracts, "snapshots": snapshots, "lineage_of_auth_tests_v1": lineage,
               "decisions": decisions, "pipelines": pipelines, "stale": stale})
    }

    async fn clients(dir: &DataDir) -> (Client, Client, Client) {
        (dir.connect(None).await, dir.connect(Some("api-dev")).await, dir.connect(Some("qa-dev")).await)
    }

    /// The script run afresh ends in the recorded state (and, when recording, writes it).
    #[tokio::test(flavor = "multi_thread")]
    async fn the_scripted_team_run_ends_in_the_recorded_state() {
        let dir = DataDir::new();
        let (orch, api, qa) = clients(&dir).await;
        script(&orch, &api, &qa).await;
        let now = state(&orch).await;
        for c in [orch, api, qa] {
            c.close().await;
        }
        if std::env::var_os("CLEARCTX_RECORD_GOLDEN").is_some() {
            let version: i64 = rusqlite::Connection::open(dir.path().join("clearctx.db"))
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            let dump = std::process::Command::new("sqlite3").arg(dir.path().join("clearctx.db")).arg(".dump").output().expect("sqlite3 records a dump");
            assert!(dump.status.success());
            let mut sql = String::from_utf8(dump.stdout).unwrap();
            sql.push_str(&format!("PRAGMA user_version = {version};\n"));
            let file = golden(&format!("team-run.v{version:0>3}.sql"));
            assert!(!file.exists(), "{} is recorded already; a recording is never replaced", file.display());
            std::fs::write(&file, sql).unwrap();
            std::fs::write(golden("team-run.json"), serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
        }
        let recorded: Value = serde_json::from_str(&std::fs::read_to_string(golden("team-run.json")).unwrap()).unwrap();
        assert_eq!(now, recorded, "the same team run now ends in another state");
    }

    /// Every recorded data dir reads to the recorded state in this version, after its
    /// migrations, and takes new work: a publish gets the next number, a rollback works.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_recorded_data_dir_reads_the_same_and_takes_new_work() {
        let recorded: Value = serde_json::from_str(&std::fs::read_to_string(golden("team-run.json")).unwrap()).unwrap();
        let dumps = recorded_dumps();
        assert!(!dumps.is_empty(), "no recorded data dir in tests/golden");
        for dump in dumps {
            let dir = DataDir::new();
            let sql = std::fs::read_to_string(&dump).unwrap();
            let db = rusqlite::Connection::open(dir.path().join("clearctx.db")).unwrap();
            db.execute_batch(&sql).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
            drop(db);
            let (orch, api, qa) = clients(&dir).await;
            assert_eq!(state(&orch).await, recorded, "{} reads differently now", dump.display());
            let v = api.ok("artifact_publish", api_contract("REST", 3)).await;
            assert_eq!(v["version"], 3, "{}: {v}", dump.display());
            orch.ok("team_rollback", json!({"label": "rest-done"})).await;
            let cur = orch.ok("artifact_get", json!({"artifact_id": "api-contract-user-auth"})).await;
            assert_eq!((cur["version"].as_u64(), cur["data"]["style"].as_str()), (Some(1), Some("REST")), "{}", dump.display());
            for c in [orch, api, qa] {
                c.close().await;
            }
        }
    }
}
