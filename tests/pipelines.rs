//! Pipelines end to end: the real `clearctx serve` over MCP and the CLI, real plugins
//! (the standard CEL condition plugin, the `notify-action` fixture) and a real SQLite file.

mod common;

use common::{Client, DataDir, fixture};
use serde_json::{Value, json};

/// The seed's self-healing CI loop, as one `pipeline_create` with two rules, in the seed's
/// own camelCase spelling.
fn ci_loop() -> Value {
    json!({
        "pipeline_id": "ci-loop",
        "rules": [
            {
                "trigger": { "type": "artifact_published", "artifactType": "api-contract" },
                "action": { "type": "notify_session", "target": "qa-dev",
                            "message": "API contract updated — re-run tests" }
            },
            {
                "trigger": { "type": "artifact_published", "artifactType": "test-results" },
                "condition": "data.failed > 0",
                "action": { "type": "reopen_contract", "contractId": "build-api",
                            "reason": "Tests failing: ${data.failed} failures" }
            }
        ]
    })
}

fn api_contract(version: &str) -> Value {
    json!({
        "artifact_id": "api-spec",
        "type": "api-contract",
        "data": { "name": "users", "version": version, "endpoints": [
            { "method": "GET", "path": "/users", "description": "list users" } ] }
    })
}

fn test_results(passed: u32, failed: u32) -> Value {
    json!({
        "artifact_id": "api-tests",
        "type": "test-results",
        "data": { "passed": passed, "failed": failed }
    })
}

async fn status_of(c: &Client, id: &str) -> String {
    c.ok("contract_get", json!({ "contract_id": id })).await["status"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn firings(c: &Client, pipeline: &str) -> Vec<Value> {
    c.ok("pipeline_logs", json!({ "pipeline_id": pipeline, "limit": 1000 }))
        .await["firings"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_self_healing_loop_reopens_and_then_lets_the_contract_complete() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let api = dir.connect(Some("api-dev")).await;
    let qa = dir.connect(Some("qa-dev")).await;

    orch.ok(
        "contract_create",
        json!({ "contract_id": "build-api", "title": "Build the users API", "assignee": "api-dev" }),
    )
    .await;
    let p = orch.ok("pipeline_create", ci_loop()).await;
    assert_eq!(p["rules"].as_array().unwrap().len(), 2);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["rules"][1]["action"]["contract_id"], "build-api");

    api.ok("contract_start", json!({ "contract_id": "build-api" })).await;
    api.ok("artifact_publish", api_contract("1.0.0")).await;
    // Rule 0: QA is told, in its inbox.
    let inbox = qa.ok("team_check_inbox", json!({})).await;
    let told: Vec<&str> = inbox["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert!(told.contains(&"API contract updated — re-run tests"), "{inbox}");

    // Rule 1: failing tests reopen the contract with the interpolated reason.
    qa.ok("artifact_publish", test_results(8, 2)).await;
    let c = orch.ok("contract_get", json!({ "contract_id": "build-api" })).await;
    assert_eq!(c["status"], "ready", "reopened, then ready again: {c}");
    assert_eq!(c["reason"], "Tests failing: 2 failures");
    let reopened = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "contract.reopened")
        .expect("a reopen event");
    assert_eq!(reopened["payload"]["reason"], "Tests failing: 2 failures");
    // The assignee hears of it in its inbox.
    let inbox = api.ok("team_check_inbox", json!({})).await;
    assert!(inbox.to_string().contains("Tests failing: 2 failures"), "{inbox}");

    // The fix: passing tests leave it alone, and the assignee completes it.
    api.ok("contract_start", json!({ "contract_id": "build-api" })).await;
    api.ok("artifact_publish", api_contract("1.0.1")).await;
    qa.ok("artifact_publish", test_results(10, 0)).await;
    assert_eq!(status_of(&orch, "build-api").await, "in_progress");
    api.ok("contract_complete", json!({ "contract_id": "build-api" })).await;
    assert_eq!(status_of(&orch, "build-api").await, "completed");

    // Every firing is logged: 2 api-contract publishes fired rule 0; the two test results
    // fired rule 1, true then false, with the condition plugin's receipt.
    let log = firings(&orch, "ci-loop").await;
    let summary: Vec<(Value, Value, &str)> = log
        .iter()
        .rev()
        .map(|f| (f["rule_index"].clone(), f["condition"].clone(), f["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(0), Value::Null, "done"),
            (json!(1), json!(true), "done"),
            (json!(0), Value::Null, "done"),
            (Value::Null, json!(false), "skipped"),
        ],
        "{log:#?}"
    );
    // The rules whose condition was false share one entry per event.
    assert_eq!(log[0]["detail"]["rules"], json!([{ "rule_index": 1, "rule": "rule-1" }]));
    let fired = &log[2];
    assert_eq!(fired["event_kind"], "artifact.published");
    assert!(fired["receipt"]["condition"]["fuel_used"].as_u64().unwrap() > 0, "{fired}");
    assert_eq!(fired["detail"]["commands"][0]["command"], "reopen_contract");
    assert_eq!(fired["depth"], 1);

    // Disabled, it fires for nothing; deleted, its log stays.
    orch.ok("pipeline_set_enabled", json!({ "pipeline_id": "ci-loop", "enabled": false })).await;
    api.ok("artifact_publish", api_contract("1.0.2")).await;
    assert_eq!(firings(&orch, "ci-loop").await.len(), 4);
    // A worker's pipeline acts as the worker: it may not reopen what it did not assign.
    let e = qa.err("pipeline_create", json!({ "pipeline_id": "mine", "rules": [
        { "trigger": { "type": "artifact_published" },
          "action": { "type": "reopen_contract", "contract_id": "build-api", "reason": "r" } } ] })).await;
    assert!(e.contains("acts as `qa-dev`") && e.contains("rules[0].action"), "{e}");
    // A worker may not delete the orchestrator's pipeline.
    let e = qa.err("pipeline_delete", json!({ "pipeline_id": "ci-loop" })).await;
    assert!(e.contains("only `orchestrator`"), "{e}");
    orch.ok("pipeline_delete", json!({ "pipeline_id": "ci-loop" })).await;
    assert_eq!(orch.ok("pipeline_list", json!({})).await["count"], 0);
    assert_eq!(firings(&orch, "ci-loop").await.len(), 4);
    for c in [orch, api, qa] {
        c.close().await;
    }
}

/// Every bad rule is refused at `pipeline_create`, naming the rule and the field, and
/// nothing is stored.
#[tokio::test]
async fn bad_rules_are_refused_with_the_rule_and_field_and_nothing_is_stored() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "contract_create",
        json!({ "contract_id": "build-api", "title": "t", "assignee": "api-dev" }),
    )
    .await;
    let events_before = dir.cli_json(&["status"])["events"].clone();
    let with_rule = |rule: Value| json!({ "pipeline_id": "bad", "rules": [
        { "trigger": { "type": "contract_completed" }, "action": { "type": "notify_session", "target": "x", "message": "ok" } },
        rule ] });
    let cases = [
        (
            json!({ "trigger": { "type": "artifact_exploded" }, "action": { "type": "notify_session", "target": "x", "message": "m" } }),
            "rules[1].trigger.type",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "action": { "type": "launch_rockets" } }),
            "rules[1].action",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "action": { "type": "reopen_contract", "contract_id": "build-api" } }),
            "rules[1].action",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "condition": "data.failed >", "action": { "type": "notify_session", "target": "x", "message": "m" } }),
            "rules[1].condition",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "condition": "true", "condition_plugin": "no-such-plugin", "action": { "type": "notify_session", "target": "x", "message": "m" } }),
            "rules[1].condition_plugin",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "action": { "type": "plugin", "plugin": "no-such-action" } }),
            "rules[1].action.plugin",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "action": { "type": "reopen_contract", "contract_id": "no-such-contract", "reason": "r" } }),
            "rules[1].action.contract_id",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "action": { "type": "notify_session", "target": "x", "message": "${nothing.here}" } }),
            "rules[1].action.message",
        ),
        (
            json!({ "trigger": { "type": "session_idle", "artifact_type": "x" }, "action": { "type": "notify_session", "target": "x", "message": "m" } }),
            "rules[1].trigger.artifact_type",
        ),
        (
            json!({ "trigger": { "type": "artifact_published" }, "condition": "true", "action": { "type": "plugin", "plugin": "std-cel-condition" } }),
            "rules[1].action.plugin",
        ),
    ];
    for (rule, field) in cases {
        let e = c.err("pipeline_create", with_rule(rule.clone())).await;
        assert!(e.contains(field), "{rule}: `{e}` should name {field}");
    }
    let e = c
        .err(
            "pipeline_create",
            with_rule(json!({ "trigger": { "type": "artifact_published" }, "condition": "data.failed >", "action": { "type": "notify_session", "target": "x", "message": "m" } })),
        )
        .await;
    assert!(e.contains("does not compile") && e.contains("data.failed >"), "{e}");
    let e = c.err("pipeline_create", json!({ "pipeline_id": "bad", "rules": [] })).await;
    assert!(e.contains("rules"), "{e}");
    assert_eq!(c.ok("pipeline_list", json!({})).await["count"], 0);
    assert_eq!(dir.cli_json(&["status"])["events"], events_before);
    // An id that exists is refused without `replace`.
    c.ok("pipeline_create", ci_loop()).await;
    let e = c.err("pipeline_create", ci_loop()).await;
    assert!(e.contains("already exists") && e.contains("replace"), "{e}");
    let mut again = ci_loop();
    again["replace"] = json!(true);
    again["rules"].as_array_mut().unwrap().pop();
    assert_eq!(c.ok("pipeline_create", again).await["rules"].as_array().unwrap().len(), 1);
    c.close().await;
}

/// Two servers publishing at once on one data dir: each event fires each rule once.
#[tokio::test]
async fn two_servers_publishing_at_once_fire_each_rule_exactly_once() {
    let dir = DataDir::new();
    let setup = dir.connect(None).await;
    setup
        .ok(
            "pipeline_create",
            json!({ "pipeline_id": "count", "rules": [
                { "trigger": { "type": "artifact_published", "artifact_type": "test-results" },
                  "condition": "data.failed >= 0",
                  "action": { "type": "notify_session", "target": "watcher", "message": "${artifact.artifact_id} v${artifact.version}" } },
                { "trigger": { "type": "artifact_published" },
                  "action": { "type": "notify_session", "target": "all", "message": "${event.seq}" } }
            ] }),
        )
        .await;
    setup.close().await;
    let (a, b) = (dir.connect(Some("a")).await, dir.connect(Some("b")).await);
    const N: u32 = 40;
    async fn burst(c: &Client, who: &'static str) {
        for i in 0..N {
            c.ok(
                "artifact_publish",
                json!({ "artifact_id": format!("{who}-{}", i % 4), "type": "test-results", "data": { "passed": i, "failed": 0 } }),
            )
            .await;
        }
    }
    tokio::join!(burst(&a, "a"), burst(&b, "b"));
    let log = firings(&a, "count").await;
    assert_eq!(log.len(), 2 * 2 * N as usize, "one firing per rule per event");
    let mut seen: Vec<(i64, u64)> = log
        .iter()
        .map(|f| (f["seq"].as_i64().unwrap(), f["rule_index"].as_u64().unwrap()))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), log.len(), "no event fired a rule twice");
    assert!(log.iter().all(|f| f["outcome"] == "done"));
    let inbox = dir.cli_json(&["inbox", "--recipient", "watcher"]);
    assert_eq!(inbox["unread"].as_array().unwrap().len(), 2 * N as usize);
    // A server keeps the rules it parsed only while no process has changed them: disabled
    // by another process (the CLI), the pipeline fires for nothing in `a`.
    dir.cli_json(&["pipeline", "disable", "count"]);
    a.ok("artifact_publish", json!({ "artifact_id": "a-0", "type": "test-results", "data": { "passed": 1, "failed": 0 } })).await;
    assert_eq!(firings(&a, "count").await.len(), log.len());
    for c in [a, b] {
        c.close().await;
    }
}

/// A rule whose action triggers itself stops at the depth limit, and the log says which
/// rule looped.
#[tokio::test]
async fn a_self_triggering_rule_stops_at_the_cascade_bound() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "pipeline_create",
        json!({ "pipeline_id": "echo", "rules": [
            { "name": "again", "trigger": { "type": "artifact_published", "artifact_id": "ping" },
              "action": { "type": "publish_artifact", "artifact": {
                  "artifact_id": "ping", "type": "note", "new_type": true,
                  "data": { "after": "${artifact.version}" } } } }
        ] }),
    )
    .await;
    let v = c
        .ok("artifact_publish", json!({ "artifact_id": "ping", "type": "note", "new_type": true, "data": {} }))
        .await;
    assert_eq!(v["version"], 1);
    let latest = c.ok("artifact_get", json!({ "artifact_id": "ping" })).await;
    let depth = clearctx::pipelines::MAX_DEPTH as u64;
    assert_eq!(latest["version"], depth + 1, "{latest}");
    assert_eq!(latest["data"]["after"], depth.to_string());
    let log = firings(&c, "echo").await;
    assert_eq!(log.len() as u64, depth + 1);
    let stopped = &log[0];
    assert_eq!(stopped["outcome"], "cascade_stopped", "{stopped}");
    assert_eq!(stopped["depth"], depth + 1);
    assert_eq!(stopped["detail"]["rule"], "echo/again");
    let chain = stopped["detail"]["chain"].as_array().unwrap();
    assert_eq!(chain.len() as u64, depth);
    assert!(chain.iter().all(|l| l["rule"] == "echo/again"));
    assert!(log[1..].iter().all(|f| f["outcome"] == "done"));
    // `clearctx status` shows it.
    let out = dir.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cascade_stopped") && text.contains("echo/again"), "{text}");
    c.close().await;
}

/// The `notify-action` fixture as a plugin folder: its manifest (requesting `notify` and
/// `contracts:write`) beside its built component.
fn action_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/plugins/notify-action/clearctx-plugin.toml"),
    )
    .unwrap()
    .replacen(
        "[plugin]",
        &format!("[plugin]\nwasm = {:?}", fixture("notify-action").display().to_string()),
        1,
    );
    std::fs::write(folder.path().join("clearctx-plugin.toml"), manifest).unwrap();
    folder
}

/// An action plugin's commands run only if every one of them was granted; a failing
/// action never undoes the event that triggered it.
#[tokio::test]
async fn action_plugins_are_held_to_their_grants_and_failures_are_logged() {
    let dir = DataDir::new();
    let folder = action_folder();
    let out = dir.cli(&["plugin", "add", folder.path().to_str().unwrap(), "--yes", "--grant", "notify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = dir.connect(None).await;
    c.ok(
        "contract_create",
        json!({ "contract_id": "build-api", "title": "t", "assignee": "api-dev" }),
    )
    .await;
    c.ok(
        "pipeline_create",
        json!({ "pipeline_id": "p", "rules": [
            { "trigger": { "type": "artifact_published", "artifact_type": "api-contract" },
              "action": { "type": "plugin", "plugin": "notify-action", "config": { "target": "qa-dev" } } },
            { "trigger": { "type": "artifact_published", "artifact_type": "api-contract" },
              "action": { "type": "complete_contract", "contract_id": "build-api" } }
        ] }),
    )
    .await;
    let v = c.ok("artifact_publish", api_contract("1.0.0")).await;
    assert_eq!(v["version"], 1, "the publish stands");
    let log = firings(&c, "p").await;
    let refused = log.iter().find(|f| f["rule_index"] == 0).unwrap();
    assert_eq!(refused["outcome"], "refused", "{refused}");
    let why = refused["detail"]["error"].as_str().unwrap();
    assert!(why.contains("reopen_contract needs `contracts:write`") && why.contains("none of"), "{why}");
    assert!(refused["receipt"]["action"]["fuel_used"].as_u64().unwrap() > 0, "{refused}");
    // Neither command ran: no notification for qa-dev, the contract is as it was.
    let inbox = dir.cli_json(&["inbox", "--recipient", "qa-dev"]);
    assert_eq!(inbox["unread"].as_array().unwrap().len(), 0, "{inbox}");
    // Completing a contract that is not in progress fails; the failure is logged.
    let failed = log.iter().find(|f| f["rule_index"] == 1).unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["detail"]["error"]["code"], "conflict", "{failed}");
    assert_eq!(status_of(&c, "build-api").await, "ready");
    // With both grants, both commands run.
    c.close().await;
    let rm = dir.cli(&["plugin", "remove", "notify-action"]);
    assert!(rm.status.success(), "{}", String::from_utf8_lossy(&rm.stderr));
    let add = dir.cli(&[
        "plugin", "add", folder.path().to_str().unwrap(), "--yes",
        "--grant", "notify", "--grant", "contracts:write",
    ]);
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let c = dir.connect(None).await;
    c.ok("contract_start", json!({ "contract_id": "build-api", "by": "api-dev" })).await;
    c.ok("artifact_publish", api_contract("1.0.1")).await;
    let log = firings(&c, "p").await;
    assert_eq!(log[1]["outcome"], "done", "{:#?}", log[1]);
    assert_eq!(log[1]["detail"]["commands"].as_array().unwrap().len(), 2);
    let inbox = dir.cli_json(&["inbox", "--recipient", "qa-dev"]);
    assert_eq!(inbox["unread"].as_array().unwrap().len(), 1, "{inbox}");
    c.close().await;
}

/// The CLI: create from a file, list, logs, disable, delete.
#[tokio::test]
async fn the_cli_declares_and_reads_pipelines() {
    let dir = DataDir::new();
    dir.cli_json(&["contract", "create", "build-api", "--title", "t", "--assignee", "api-dev"]);
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), ci_loop()["rules"].to_string()).unwrap();
    let p = dir.cli_json(&[
        "pipeline", "create", "ci-loop", "--rules-file", rules.path().to_str().unwrap(),
        "--description", "heal the build",
    ]);
    assert_eq!(p["rules"].as_array().unwrap().len(), 2);
    let out = dir.cli(&["pipeline", "get", "ci-loop"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("if data.failed > 0") && text.contains("heal the build"), "{text}");
    dir.cli_json(&["contract", "start", "build-api", "--by", "api-dev"]);
    dir.cli_json(&[
        "artifact", "publish", "api-tests", "--type", "test-results", "--data", r#"{"passed":1,"failed":3}"#,
    ]);
    let logs = dir.cli(&["pipeline", "logs", "ci-loop"]);
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(text.contains("reopen_contract build-api") && text.contains("true"), "{text}");
    let bad = dir.cli(&["pipeline", "create", "x", "--rules", r#"[{"trigger":{"type":"nope"},"action":{"type":"notify_session","target":"a","message":"b"}}]"#]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("rules[0].trigger.type"), "{err}");
    assert_eq!(dir.cli_json(&["pipeline", "disable", "ci-loop"])["enabled"], false);
    assert_eq!(dir.cli_json(&["pipeline", "list"])["pipelines"][0]["enabled"], false);
    dir.cli_json(&["pipeline", "delete", "ci-loop"]);
    assert_eq!(dir.cli_json(&["pipeline", "list"])["count"], 0);
}

/// A rule on `artifact_stale` fires once for each version that becomes stale, with the
/// stale version's data and the causes in its context.
#[tokio::test]
async fn a_stale_output_triggers_its_rule_once() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "pipeline_create",
        json!({ "pipeline_id": "freshness", "rules": [
            { "trigger": { "type": "artifact_stale", "artifact_type": "note" },
              "condition": "data.owner == 'api-dev'",
              "action": { "type": "notify_session", "target": "${data.owner}",
                          "message": "${artifact.artifact_id} v${artifact.version} is stale: ${event.payload.causes[0].input_id} moved on" } }
        ] }),
    )
    .await;
    let note = |id: &str, owner: &str, from: Value| {
        json!({ "artifact_id": id, "type": "note", "new_type": true, "data": { "owner": owner }, "derived_from": from })
    };
    c.ok("artifact_publish", note("spec", "lead", json!([]))).await;
    c.ok("artifact_publish", note("impl", "api-dev", json!([{ "artifact_id": "spec", "version": 1 }]))).await;
    c.ok("artifact_publish", note("docs", "writer", json!([{ "artifact_id": "impl", "version": 1 }]))).await;
    c.ok("artifact_publish", note("spec", "lead", json!([]))).await;
    // impl@1 and docs@1 became stale; only impl's owner is api-dev.
    let log = firings(&c, "freshness").await;
    let outcomes: Vec<&str> = log.iter().rev().map(|f| f["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["done", "skipped"], "{log:#?}");
    let inbox = dir.cli_json(&["inbox", "--recipient", "api-dev"]);
    assert_eq!(inbox["unread"][0]["message"], "impl v1 is stale: spec moved on", "{inbox}");
    // Publishing spec again makes nothing newly stale: no more firings.
    c.ok("artifact_publish", note("spec", "lead", json!([]))).await;
    assert_eq!(firings(&c, "freshness").await.len(), 2);
    c.close().await;
}
