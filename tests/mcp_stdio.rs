//! The MCP surface end to end: the real `clearctx serve` binary over stdio, driven by
//! rmcp's client, several sessions at once on one data dir.

mod common;

use common::{Client, DataDir};
use serde_json::{Value, json};

/// Everything that tells whether the store changed: the event log and the state tables.
async fn fingerprint(c: &Client) -> Value {
    let mut v = c.ok("contract_list", json!({})).await;
    v["artifacts"] = c.ok("artifact_list", json!({})).await;
    // contract_get histories would include reads; list + artifacts + event count suffice.
    v
}

#[tokio::test]
async fn tools_list_names_every_tool_with_object_schemas() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let tools = c.service.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "server_version",
        "artifact_publish",
        "artifact_get",
        "artifact_list",
        "artifact_history",
        "artifact_readers",
        "artifact_diff",
        "artifact_types",
        "contract_create",
        "contract_start",
        "contract_complete",
        "contract_fail",
        "contract_reopen",
        "contract_get",
        "contract_list",
        "team_check_inbox",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    for t in &tools {
        let schema = Value::Object((*t.input_schema).clone());
        assert_eq!(schema["type"], "object", "{}", t.name);
        assert_eq!(
            clearctx::schema::find_boolean_subschema(&schema),
            None,
            "{}: {schema}",
            t.name
        );
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 20),
            "{} needs a description",
            t.name
        );
    }
    let publish = tools.iter().find(|t| t.name == "artifact_publish").unwrap();
    let required = publish.input_schema["required"].as_array().unwrap();
    for field in ["artifact_id", "type", "data"] {
        assert!(required.contains(&json!(field)), "{field} must be required");
    }
    let info = c.ok("server_version", json!({})).await;
    assert_eq!(info["name"], "clearctx");
    assert_eq!(info["caller"], "orchestrator");
    assert_eq!(info["stale"], false);
    assert_eq!(info["data_dir"], dir.path().display().to_string());
    c.close().await;
}

/// Seed pattern 1: schema → API → tests. Each contract becomes ready only when the one
/// before completes; nobody but the workers acts after setup.
#[tokio::test]
async fn linear_chain_resolves_itself() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let db = dir.connect(Some("db-dev")).await;
    let api = dir.connect(Some("api-dev")).await;
    let qa = dir.connect(Some("qa-dev")).await;

    let c1 = orch
        .ok(
            "contract_create",
            json!({"contract_id": "setup-schema", "title": "Schema", "assignee": "db-dev",
        "expected_outputs": [{"artifact_type": "schema-change"}]}),
        )
        .await;
    let c2 = orch
        .ok(
            "contract_create",
            json!({"contract_id": "build-api", "title": "API", "assignee": "api-dev",
        "dependencies": [{"type": "contract", "id": "setup-schema"}],
        "expected_outputs": [{"artifact_type": "api-contract"}]}),
        )
        .await;
    let c3 = orch
        .ok(
            "contract_create",
            json!({"contract_id": "write-tests", "title": "Tests", "assignee": "qa-dev",
        "dependencies": [{"type": "contract", "id": "build-api"}],
        "expected_outputs": [{"artifact_type": "test-results"}]}),
        )
        .await;
    assert_eq!(c1["status"], "ready");
    assert_eq!(c1["assigner"], "orchestrator");
    assert_eq!(c2["status"], "pending");
    assert_eq!(c3["status"], "pending");

    // db-dev finds its work in its inbox; api-dev has nothing yet.
    let inbox = db.ok("team_check_inbox", json!({})).await;
    assert_eq!(inbox["unread"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["unread"][0]["kind"], "contract_ready");
    assert_eq!(inbox["unread"][0]["subject"], "contract:setup-schema");
    assert!(
        api.ok("team_check_inbox", json!({})).await["unread"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    db.ok("contract_start", json!({"contract_id": "setup-schema"}))
        .await;
    let schema = db
        .ok(
            "artifact_publish",
            json!({"artifact_id": "db-schema", "type": "schema-change",
        "data": {"tables": ["users"]}, "summary": "users table"}),
        )
        .await;
    assert_eq!(schema["version"], 1);
    assert_eq!(schema["publisher"], "db-dev");
    assert_eq!(
        api.ok("contract_get", json!({"contract_id": "build-api"}))
            .await["status"],
        "pending"
    );
    let done = db
        .ok(
            "contract_complete",
            json!({"contract_id": "setup-schema", "summary": "done"}),
        )
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["outputs"],
        json!([{"artifact_id": "db-schema", "version": 1}])
    );

    // Completing setup-schema made build-api ready, in the same transaction.
    let c2 = api
        .ok("contract_get", json!({"contract_id": "build-api"}))
        .await;
    assert_eq!(c2["status"], "ready");
    assert_eq!(c2["dependencies"][0]["satisfied"], true);
    let kinds: Vec<&str> = c2["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contract.created", "contract.ready"]);
    let inbox = api.ok("team_check_inbox", json!({})).await;
    assert_eq!(inbox["unread"][0]["subject"], "contract:build-api");
    assert_eq!(
        qa.ok("contract_get", json!({"contract_id": "write-tests"}))
            .await["status"],
        "pending"
    );

    api.ok("contract_start", json!({"contract_id": "build-api"}))
        .await;
    let read = api
        .ok("artifact_get", json!({"artifact_id": "db-schema"}))
        .await;
    assert_eq!(read["data"], json!({"tables": ["users"]}));
    api.ok("artifact_publish", json!({"artifact_id": "api-spec", "type": "api-contract",
        "data": {"endpoints": ["GET /users"]}, "derived_from": [{"artifact_id": "db-schema", "version": 1}]})).await;
    api.ok("contract_complete", json!({"contract_id": "build-api"}))
        .await;

    assert_eq!(
        qa.ok("contract_get", json!({"contract_id": "write-tests"}))
            .await["status"],
        "ready"
    );
    qa.ok("contract_start", json!({"contract_id": "write-tests"}))
        .await;
    qa.ok("artifact_publish", json!({"artifact_id": "test-run", "type": "test-results",
        "data": {"passed": 12, "failed": 0}, "derived_from": [{"artifact_id": "api-spec", "version": 1}]})).await;
    qa.ok("contract_complete", json!({"contract_id": "write-tests"}))
        .await;

    let all = orch.ok("contract_list", json!({})).await;
    assert!(
        all["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "completed")
    );
    // The orchestrator was informed of each contract becoming ready and completing.
    let inbox = orch.ok("team_check_inbox", json!({})).await;
    let kinds: Vec<&str> = inbox["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "contract_ready").count(), 3);
    assert_eq!(
        kinds.iter().filter(|k| **k == "contract_completed").count(),
        3
    );
    // And reads were recorded per reader.
    let readers = orch
        .ok("artifact_readers", json!({"artifact_id": "db-schema"}))
        .await;
    assert_eq!(readers["readers"][0]["reader"], "api-dev");
    assert_eq!(readers["readers"][0]["read_latest"], true);
    for c in [orch, db, api, qa] {
        c.close().await;
    }
}

/// Seed pattern 3: a worker assigns work to another worker directly.
#[tokio::test]
async fn peer_to_peer_assignment_notifies_assignee_and_assigner() {
    let dir = DataDir::new();
    let qa = dir.connect(Some("qa-dev")).await;
    let api = dir.connect(Some("api-dev")).await;
    let c = qa.ok("contract_create", json!({"contract_id": "fix-login-bug", "title": "Login returns 500",
        "assignee": "api-dev", "priority": "high", "acceptance_criteria": ["POST /login returns 200"]})).await;
    assert_eq!(c["assigner"], "qa-dev");
    assert_eq!(c["status"], "ready");
    assert_eq!(c["priority"], "high");
    let inbox = api.ok("team_check_inbox", json!({})).await;
    assert_eq!(inbox["unread"][0]["kind"], "contract_ready");
    assert!(
        inbox["unread"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fix-login-bug")
    );
    let inbox = qa.ok("team_check_inbox", json!({"mark_read": false})).await;
    assert!(
        inbox["unread"][0]["message"]
            .as_str()
            .unwrap()
            .contains("which you assigned to api-dev")
    );
    // Not marked read, so still there.
    assert_eq!(
        qa.ok("team_check_inbox", json!({})).await["unread"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        qa.ok("team_check_inbox", json!({})).await["unread"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    qa.close().await;
    api.close().await;
}

#[tokio::test]
async fn versions_are_gapless_immutable_and_diffable() {
    let dir = DataDir::new();
    let c = dir.connect(Some("writer")).await;
    for i in 1..=3 {
        let v = c
            .ok(
                "artifact_publish",
                json!({"artifact_id": "conv", "type": "shared-conventions",
            "data": {"errors": "{ error }", "round": i}, "summary": format!("round {i}")}),
            )
            .await;
        assert_eq!(v["version"], i);
        assert_eq!(v["latest_version"], i);
        assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    }
    // The orchestrator (not bound to one worker) may read for qa.
    let orch = dir.connect(None).await;
    let v1 = orch
        .ok(
            "artifact_get",
            json!({"artifact_id": "conv", "version": 1, "reader": "qa"}),
        )
        .await;
    assert_eq!(v1["data"]["round"], 1);
    assert_eq!(v1["latest_version"], 3);
    let history = c
        .ok("artifact_history", json!({"artifact_id": "conv"}))
        .await;
    let versions: Vec<u64> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    let diff = c
        .ok(
            "artifact_diff",
            json!({"artifact_id": "conv", "from_version": 1}),
        )
        .await;
    assert_eq!(diff["to_version"], 3);
    assert_eq!(
        diff["operations"],
        json!([{"op": "replace", "path": "/round", "value": 3}])
    );
    let readers = c
        .ok("artifact_readers", json!({"artifact_id": "conv"}))
        .await;
    assert_eq!(readers["readers"][0]["reader"], "qa");
    assert_eq!(readers["readers"][0]["read_latest"], false);
    let list = c
        .ok("artifact_list", json!({"type": "shared-conventions"}))
        .await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["artifacts"][0]["version"], 3);
    assert!(
        list["artifacts"][0]["data"].is_null(),
        "listings carry no data"
    );
    let types = c.ok("artifact_types", json!({})).await;
    let conv = types["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "shared-conventions")
        .unwrap();
    assert_eq!(conv["artifacts"], 1);
    // A type change is refused, and the refused publish created nothing.
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "conv", "type": "json", "data": 1}),
        )
        .await;
    assert!(e.contains("has type `shared-conventions`"), "{e}");
    assert_eq!(
        c.ok("artifact_history", json!({"artifact_id": "conv"}))
            .await["versions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    c.close().await;
}

#[tokio::test]
async fn artifact_dependency_waits_for_min_version() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let created = c
        .ok(
            "contract_create",
            json!({"contract_id": "use-v2", "title": "Needs spec v2", "assignee": "w",
        "dependencies": [{"type": "artifact", "id": "spec", "min_version": 2}]}),
        )
        .await;
    assert_eq!(created["status"], "pending");
    assert_eq!(
        created["dependencies"][0]["detail"],
        "waiting for the artifact to be published"
    );
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "spec", "type": "json", "data": {}}),
    )
    .await;
    let got = c.ok("contract_get", json!({"contract_id": "use-v2"})).await;
    assert_eq!(got["status"], "pending");
    assert_eq!(
        got["dependencies"][0]["detail"],
        "waiting for version 2; latest is 1"
    );
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "spec", "type": "json", "data": {"v": 2}}),
    )
    .await;
    assert_eq!(
        c.ok("contract_get", json!({"contract_id": "use-v2"})).await["status"],
        "ready"
    );
    c.close().await;
}

#[tokio::test]
async fn reopen_counts_retries_and_requires_fresh_outputs() {
    let dir = DataDir::new();
    let c = dir.connect(Some("api-dev")).await;
    let orch = dir.connect(None).await;
    orch.ok(
        "contract_create",
        json!({"contract_id": "build-api", "title": "API", "assignee": "api-dev",
        "max_retries": 1, "expected_outputs": [{"artifact_id": "api-spec"}]}),
    )
    .await;
    c.ok("contract_start", json!({"contract_id": "build-api"}))
        .await;
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "api-spec", "type": "api-contract", "data": {"endpoints": ["GET /v1"]}}),
    )
    .await;
    c.ok("contract_complete", json!({"contract_id": "build-api"}))
        .await;

    // The orchestrator reopens it for qa-dev; the event records both.
    let reopened = orch.ok("contract_reopen", json!({"contract_id": "build-api", "reason": "Tests failing: 3 failures", "by": "qa-dev"})).await;
    assert_eq!(reopened["status"], "ready");
    assert_eq!(reopened["retries"], 1);
    assert_eq!(reopened["reason"], "Tests failing: 3 failures");
    let inbox = c.ok("team_check_inbox", json!({})).await;
    let reopen_note = inbox["unread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "contract_reopened")
        .unwrap();
    assert!(
        reopen_note["message"]
            .as_str()
            .unwrap()
            .contains("Tests failing: 3 failures")
    );

    c.ok("contract_start", json!({"contract_id": "build-api"}))
        .await;
    // v1 was published before the reopen, so it does not count for this round.
    let e = c
        .err("contract_complete", json!({"contract_id": "build-api"}))
        .await;
    assert!(
        e.contains("required output missing: artifact `api-spec`"),
        "{e}"
    );
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "api-spec", "type": "api-contract", "data": {"endpoints": ["GET /v2"]}}),
    )
    .await;
    let done = c
        .ok("contract_complete", json!({"contract_id": "build-api"}))
        .await;
    assert_eq!(
        done["outputs"],
        json!([{"artifact_id": "api-spec", "version": 2}])
    );
    let e = orch
        .err(
            "contract_reopen",
            json!({"contract_id": "build-api", "reason": "again"}),
        )
        .await;
    assert!(e.contains("used all 1 of its retries"), "{e}");
    c.close().await;
}

#[tokio::test]
async fn overdue_contract_fails_with_the_reason() {
    let dir = DataDir::new();
    let c = dir.connect(Some("w")).await;
    let orch = dir.connect(None).await;
    orch.ok("contract_create", json!({"contract_id": "slow", "title": "Slow", "assignee": "w", "assigner": "boss", "timeout_s": 1})).await;
    let started = c.ok("contract_start", json!({"contract_id": "slow"})).await;
    assert!(started["deadline_at"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let got = c.ok("contract_get", json!({"contract_id": "slow"})).await;
    assert_eq!(got["status"], "failed");
    assert_eq!(
        got["reason"],
        "timed out: in progress for more than 1s (timeout_s)"
    );
    let last = got["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "contract.failed");
    assert_eq!(last["actor"], "clearctx");
    // The assigner hears of it.
    let boss = orch
        .ok("team_check_inbox", json!({"recipient": "boss"}))
        .await;
    assert!(
        boss["unread"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "contract_failed")
    );
    c.close().await;
}

#[tokio::test]
async fn bad_input_is_refused_by_name_and_changes_nothing() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "contract_create",
        json!({"contract_id": "a", "title": "A", "assignee": "w"}),
    )
    .await;
    c.ok(
        "contract_create",
        json!({"contract_id": "b", "title": "B", "assignee": "w",
        "dependencies": [{"type": "contract", "id": "a"}]}),
    )
    .await;
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "x", "type": "json", "data": [1]}),
    )
    .await;
    let before = fingerprint(&c).await;
    let status_before = dir.cli_json(&["status"]);

    let long = "x".repeat(129);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no_such_tool", json!({}), "unknown tool `no_such_tool`"),
        (
            "artifact_publish",
            json!({"type": "json", "data": 1}),
            "missing field `artifact_id`",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "y", "type": "json"}),
            "missing field `data`",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": 5, "type": "json", "data": 1}),
            "artifact_id: invalid type: integer `5`, expected a string",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "y", "type": "json", "data": 1, "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "y", "type": "json", "data": 1, "derived_from": [{"artifact_id": "x", "version": "one"}]}),
            "derived_from[0].version: invalid type",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "../etc", "type": "json", "data": 1}),
            "artifact_id: `../etc` contains '/'",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "..", "type": "json", "data": 1}),
            "artifact_id: `..` must not be `.` or `..`",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "", "type": "json", "data": 1}),
            "artifact_id: `` must not be empty",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": long, "type": "json", "data": 1}),
            "is 129 characters long; the limit is 128",
        ),
        (
            "artifact_publish",
            json!({"artifact_id": "y", "type": "json", "data": 1, "derived_from": [{"artifact_id": "x", "version": 7}]}),
            "artifact `x` has no version 7 (latest is 1)",
        ),
        (
            "artifact_get",
            json!({"artifact_id": "nope"}),
            "artifact `nope` does not exist",
        ),
        (
            "artifact_get",
            json!({"artifact_id": "x", "version": 9}),
            "has no version 9",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "dependencies": [{"type": "contract", "id": "ghost"}]}),
            "contract `ghost` does not exist",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "dependencies": [{"type": "contract", "id": "c"}]}),
            "dependency cycle: contract `c` depends on itself",
        ),
        (
            "contract_create",
            json!({"contract_id": "a", "title": "A again", "assignee": "w"}),
            "contract `a` already exists",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "dependencies": [{"type": "task", "id": "a"}]}),
            "dependencies[0].type: unknown variant `task`",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "expected_outputs": [{"required": true}]}),
            "give exactly one of `artifact_type` or `artifact_id`",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "inputs": [1]}),
            "inputs: must be a JSON object",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": " ", "assignee": "w"}),
            "title: must not be empty",
        ),
        (
            "contract_create",
            json!({"contract_id": "c", "title": "C", "assignee": "w", "timeout_s": 0}),
            "timeout_s: must be between 1",
        ),
        (
            "contract_complete",
            json!({"contract_id": "b"}),
            "cannot complete contract `b`: it is pending",
        ),
        (
            "contract_complete",
            json!({"contract_id": "a"}),
            "cannot complete contract `a`: it is ready",
        ),
        (
            "contract_start",
            json!({"contract_id": "b"}),
            "cannot start contract `b`: it is pending",
        ),
        (
            "contract_reopen",
            json!({"contract_id": "a", "reason": "x"}),
            "already open",
        ),
        (
            "contract_reopen",
            json!({"contract_id": "a", "reason": ""}),
            "reason: must not be empty",
        ),
        (
            "contract_get",
            json!({"contract_id": "a/b"}),
            "contract_id: `a/b` contains '/'",
        ),
        (
            "contract_list",
            json!({"status": "done"}),
            "status: unknown variant `done`",
        ),
    ];
    for (tool, args, want) in cases {
        let e = c.err(tool, args.clone()).await;
        assert!(
            e.contains(want),
            "{tool} {args}: expected {want:?} in {e:?}"
        );
    }
    assert_eq!(
        fingerprint(&c).await,
        before,
        "a refused call changed the store"
    );
    let status_after = dir.cli_json(&["status"]);
    assert_eq!(status_after["last_seq"], status_before["last_seq"]);
    assert_eq!(status_after["events"], status_before["events"]);
    c.close().await;
}

#[tokio::test]
async fn cycles_through_other_contracts_are_impossible_to_create() {
    // Dependencies must exist when a contract is created and contracts are immutable in
    // their dependencies, so the only cycle reachable is a self-dependency; a longer
    // chain stays acyclic however it is built.
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "contract_create",
        json!({"contract_id": "a", "title": "A", "assignee": "w"}),
    )
    .await;
    c.ok("contract_create", json!({"contract_id": "b", "title": "B", "assignee": "w", "dependencies": [{"type": "contract", "id": "a"}]})).await;
    c.ok("contract_create", json!({"contract_id": "c", "title": "C", "assignee": "w", "dependencies": [{"type": "contract", "id": "b"}, {"type": "contract", "id": "a"}]})).await;
    let e = c.err("contract_create", json!({"contract_id": "a", "title": "A", "assignee": "w", "dependencies": [{"type": "contract", "id": "c"}]})).await;
    assert!(e.contains("already exists"), "{e}");
    c.close().await;
}

/// `clearctx … | head -1`: a reader that stops reading ends the command quietly, with no
/// panic, for plain and `--json` output alike.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = DataDir::new();
    for args in [
        &["contract", "list"][..],
        &["--json", "status"],
        &["completions", "bash"],
    ] {
        let mut child = std::process::Command::new(common::bin())
            .arg("--home")
            .arg(dir.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// A well-formed call that cannot be done is a tool result with `isError` and the error as
/// data the model can act on, the same shape the CLI prints with `--json`; only malformed
/// calls (an unknown tool, arguments that do not match the schema) are JSON-RPC errors.
#[tokio::test]
async fn refusals_are_tool_results_with_detail_and_malformed_calls_are_protocol_errors() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let bad_publish =
        json!({"artifact_id": "spec", "type": "api-contract", "data": {"endpoints": 3}});
    let r = c
        .call_raw("artifact_publish", bad_publish.clone())
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true), "{r:?}");
    let error = &r.structured_content.as_ref().unwrap()["error"];
    assert_eq!(error["code"], "invalid_input", "{error}");
    assert_eq!(error["plugin"], "std-json-schema", "{error}");
    assert!(error["violations"][0]["path"].is_string(), "{error}");
    assert!(
        common::text_of(&r).contains("artifact_publish: data: not a valid"),
        "{r:?}"
    );

    for (tool, args, code) in [
        ("contract_get", json!({"contract_id": "nope"}), "not_found"),
        (
            "contract_create",
            json!({"contract_id": "a b", "title": "t", "assignee": "x"}),
            "invalid_input",
        ),
    ] {
        let r = c.call_raw(tool, args).await.unwrap();
        assert_eq!(r.is_error, Some(true), "{tool}: {r:?}");
        assert_eq!(
            r.structured_content.as_ref().unwrap()["error"]["code"],
            code,
            "{tool}: {r:?}"
        );
    }
    c.ok(
        "contract_create",
        json!({"contract_id": "c1", "title": "t", "assignee": "x"}),
    )
    .await;
    let r = c
        .call_raw("contract_complete", json!({"contract_id": "c1"}))
        .await
        .unwrap();
    assert_eq!(
        r.structured_content.as_ref().unwrap()["error"]["code"],
        "conflict",
        "{r:?}"
    );

    for (tool, args) in [
        ("no_such_tool", json!({})),
        ("contract_get", json!({"contract_id": 7})),
        (
            "contract_get",
            json!({"contract_id": "c1", "surprise": true}),
        ),
    ] {
        match c.call_raw(tool, args.clone()).await {
            Err(rmcp::service::ServiceError::McpError(e)) => {
                assert_eq!(e.code.0, -32602, "{tool} {args}: {e:?}")
            }
            other => panic!("{tool} {args}: not a JSON-RPC error: {other:?}"),
        }
    }
    c.close().await;

    // The CLI's --json prints the same detail.
    let out = dir.cli(&[
        "--json",
        "artifact",
        "publish",
        "spec",
        "--type",
        "api-contract",
        "--data",
        r#"{"endpoints": 3}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed["error"]["plugin"], "std-json-schema", "{printed}");
    assert!(
        printed["error"]["violations"][0]["message"].is_string(),
        "{printed}"
    );
}

/// Only the assignee moves its contract; its assigner (or the orchestrator) reopens it; a
/// worker's server acts only as that worker; the orchestrator and the CLI may act for a
/// session, and the event records both.
#[tokio::test]
async fn roles_hold_and_a_worker_cannot_claim_another_identity() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let lead = dir.connect(Some("lead")).await;
    let api = dir.connect(Some("api-dev")).await;
    let qa = dir.connect(Some("qa-dev")).await;
    lead.ok(
        "contract_create",
        json!({"contract_id": "c1", "title": "API", "assignee": "api-dev"}),
    )
    .await;

    let e = qa.err("contract_start", json!({"contract_id": "c1"})).await;
    assert!(
        e.contains("only `api-dev`, its assignee, may start contract `c1`; `qa-dev` may not"),
        "{e}"
    );
    let e = qa
        .err(
            "contract_start",
            json!({"contract_id": "c1", "by": "api-dev"}),
        )
        .await;
    assert!(e.contains("by: this server acts only as `qa-dev`"), "{e}");
    let e = orch
        .err("contract_start", json!({"contract_id": "c1"}))
        .await;
    assert!(e.contains("to act for it, give `by` = `api-dev`"), "{e}");
    api.ok("contract_start", json!({"contract_id": "c1"})).await;
    let e = qa
        .err("contract_fail", json!({"contract_id": "c1", "reason": "x"}))
        .await;
    assert!(e.contains("only `api-dev`, its assignee, may fail"), "{e}");
    let e = qa
        .err("contract_complete", json!({"contract_id": "c1"}))
        .await;
    assert!(e.contains("may complete"), "{e}");
    // The orchestrator may act for the assignee; the event says who did.
    orch.ok(
        "contract_complete",
        json!({"contract_id": "c1", "by": "api-dev"}),
    )
    .await;
    let got = orch.ok("contract_get", json!({"contract_id": "c1"})).await;
    let done = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "contract.completed")
        .unwrap();
    assert_eq!(
        (done["actor"].as_str(), done["payload"]["via"].as_str()),
        (Some("api-dev"), Some("orchestrator")),
        "{done}"
    );

    // Reopening is for the assigner or the orchestrator, not the assignee or a bystander.
    for (c, who) in [(&api, "api-dev"), (&qa, "qa-dev")] {
        let e = c
            .err(
                "contract_reopen",
                json!({"contract_id": "c1", "reason": "again"}),
            )
            .await;
        assert!(e.contains(&format!("only `lead`, who assigned it, or the orchestrator may reopen contract `c1`; `{who}` may not")), "{e}");
    }
    lead.ok(
        "contract_reopen",
        json!({"contract_id": "c1", "reason": "tests fail"}),
    )
    .await;

    let a = orch
        .ok(
            "artifact_publish",
            json!({"artifact_id": "a", "type": "json", "data": {}, "publisher": "api-dev"}),
        )
        .await;
    assert_eq!(a["publisher"], "api-dev");
    // Other identities a worker might claim.
    for (tool, args, field) in [
        (
            "artifact_publish",
            json!({"artifact_id": "a", "type": "json", "data": {}, "publisher": "api-dev"}),
            "publisher",
        ),
        (
            "artifact_get",
            json!({"artifact_id": "a", "reader": "api-dev"}),
            "reader",
        ),
        (
            "contract_create",
            json!({"contract_id": "c2", "title": "t", "assignee": "x", "assigner": "lead"}),
            "assigner",
        ),
        (
            "team_check_inbox",
            json!({"recipient": "api-dev"}),
            "recipient",
        ),
    ] {
        let e = qa.err(tool, args).await;
        assert!(
            e.contains(&format!("{field}: this server acts only as `qa-dev`")),
            "{tool}: {e}"
        );
    }

    for c in [orch, lead, api, qa] {
        c.close().await;
    }

    // The CLI: a session named in the environment is bound too; a person may override.
    dir.cli_json(&[
        "contract",
        "create",
        "c3",
        "--title",
        "t",
        "--assignee",
        "api-dev",
    ]);
    let out = dir.cli_env(
        &["contract", "start", "c3"],
        &[("CLEARCTX_SESSION".into(), "qa-dev".into())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only `api-dev`, its assignee, may start")
    );
    let out = dir.cli(&["contract", "start", "c3", "--by", "qa-dev"]);
    assert_eq!(out.status.code(), Some(1));
    let started = dir.cli_json(&["contract", "start", "c3", "--override"]);
    assert_eq!(started["status"], "in_progress", "{started}");
    let got = dir.cli_json(&["contract", "get", "c3"]);
    let event = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "contract.started")
        .unwrap();
    assert_eq!(
        (
            event["actor"].as_str(),
            event["payload"]["override"].as_bool()
        ),
        (Some("cli"), Some(true)),
        "{event}"
    );
}

/// A misspelt type is not published unvalidated without a word: a type that no validator
/// declares and no artifact has is refused with the closest known one, unless started on
/// purpose.
#[tokio::test]
async fn a_typo_in_a_type_is_refused_with_the_closest_known_type() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "spec", "type": "api-contrat", "data": {}}),
        )
        .await;
    assert!(
        e.contains("type: no validator declares `api-contrat`")
            && e.contains("did you mean `api-contract`?"),
        "{e}"
    );
    assert_eq!(c.ok("artifact_list", json!({})).await["count"], 0);
    let v = c
        .ok(
            "artifact_publish",
            json!({"artifact_id": "notes", "type": "release-notes", "data": {}, "new_type": true}),
        )
        .await;
    assert_eq!(v["version"], 1);
    // Once in use, the type needs no flag; a near miss of it is caught too.
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "notes2", "type": "release-notes", "data": {}}),
    )
    .await;
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "n3", "type": "release-note", "data": {}}),
        )
        .await;
    assert!(e.contains("did you mean `release-notes`?"), "{e}");
    c.close().await;
}

/// `clearctx contract get` shows everything a worker needs to do the work.
#[test]
fn the_cli_shows_a_contract_in_full() {
    let dir = DataDir::new();
    dir.cli_json(&[
        "contract",
        "create",
        "c1",
        "--title",
        "Users API",
        "--assignee",
        "api-dev",
        "--priority",
        "high",
        "--description",
        "Build it",
        "--criterion",
        "GET /users returns 200",
        "--inputs",
        r#"{"spec": "docs/api.md"}"#,
        "--team",
        "backend",
    ]);
    let out = dir.cli(&["contract", "get", "c1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for shown in [
        "priority high",
        "team backend",
        "Build it",
        "\"spec\": \"docs/api.md\"",
        "accept when: GET /users returns 200",
    ] {
        assert!(text.contains(shown), "`{shown}` missing:\n{text}");
    }
}

/// `prompts/get` with `arguments`, as the rmcp client sends it.
async fn get_prompt(
    c: &Client,
    name: &str,
    arguments: Value,
) -> Result<rmcp::model::GetPromptResult, rmcp::ServiceError> {
    let Value::Object(args) = arguments else {
        panic!("arguments are an object")
    };
    c.service
        .get_prompt(rmcp::model::GetPromptRequestParams::new(name).with_arguments(args))
        .await
}

#[tokio::test]
async fn prompts_list_the_templates_and_render_the_orchestrator_with_the_strategy() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let prompts = c.service.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["orchestrator", "worker"]);
    let orchestrator = &prompts[0];
    assert!(
        orchestrator
            .description
            .as_deref()
            .is_some_and(|d| d.contains("60/20/20") && !d.contains("(optional:")),
        "{orchestrator:?}"
    );
    let args: Vec<(&str, Option<bool>)> = orchestrator
        .arguments
        .iter()
        .flatten()
        .map(|a| (a.name.as_str(), a.required))
        .collect();
    // In slash-command order; clearctx fills in team and project, so nothing is required.
    assert_eq!(
        args,
        [
            ("team", Some(false)),
            ("budget", Some(false)),
            ("project", Some(false)),
            ("goal", Some(false))
        ]
    );
    assert!(
        orchestrator
            .arguments
            .iter()
            .flatten()
            .all(|a| a.description.as_deref().is_some_and(|d| !d.is_empty()))
    );

    let got = get_prompt(
        &c,
        "orchestrator",
        json!({"team": "team-x", "budget": "5", "goal": "Add login"}),
    )
    .await
    .unwrap();
    assert_eq!(got.messages.len(), 1);
    let message = &got.messages[0];
    assert_eq!(message.role, rmcp::model::Role::User);
    let text = &message.content.as_text().expect("a text message").text;
    for expected in [
        "You are the orchestrator of team `team-x`",
        "## Goal\n\nAdd login",
        "## When to delegate",
        "`shared-conventions` artifact",
        "Never relay a message",
        "call `phase_gate`",
        "Split it 60/20/20: $3.0 for the\ncontracts' main work, $1.0 for tests, $1.0 kept in reserve",
        "## The correction loop",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    // Without arguments: the caller's team, and the budget rule without figures.
    let plain = get_prompt(&c, "orchestrator", json!({})).await.unwrap();
    let text = &plain.messages[0].content.as_text().unwrap().text;
    assert!(text.starts_with("You are the orchestrator of team `default`"), "{text}");
    assert!(text.contains("Split any budget 60/20/20"), "{text}");
}

#[tokio::test]
async fn a_bad_prompt_request_is_invalid_params_that_says_why() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let invalid = |e: rmcp::ServiceError| match e {
        rmcp::ServiceError::McpError(e) => {
            assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{e:?}");
            e.message.to_string()
        }
        other => panic!("not a JSON-RPC error: {other:?}"),
    };
    let e = invalid(get_prompt(&c, "reviewer", json!({})).await.unwrap_err());
    assert!(
        e.contains("no prompt `reviewer`; the prompts are: orchestrator, worker"),
        "{e}"
    );
    let e = invalid(
        get_prompt(&c, "orchestrator", json!({"teem": "x"}))
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("takes no argument `teem`; it takes team, budget, project, goal"),
        "{e}"
    );
    let e = invalid(
        get_prompt(&c, "orchestrator", json!({"budget": "lots"}))
            .await
            .unwrap_err(),
    );
    assert!(e.contains("rendering `orchestrator` failed"), "{e}");
    // A worker's server names the worker in its prompt by default.
    let w = dir.connect(Some("api-dev")).await;
    let got = get_prompt(&w, "worker", json!({"contract_id": "build-api"}))
        .await
        .unwrap();
    let text = &got.messages[0].content.as_text().unwrap().text;
    assert!(
        text.starts_with("You are `api-dev`, the worker of team `default`."),
        "{text}"
    );
    assert!(text.contains("This task is contract `build-api`."), "{text}");
}
