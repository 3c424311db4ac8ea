//! The WebAssembly plugin platform end to end: standard validators on publish, user plugins
//! installed with the CLI while a server runs, the hostile fixtures of
//! `tests/fixtures/plugins` each contained, and a scaffolded plugin from `plugin new` to
//! an enforced rule.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{DataDir, fixture};
use serde_json::{Value, json};

fn cli_ok(dir: &DataDir, args: &[&str]) -> String {
    let out = dir.cli(args);
    assert!(
        out.status.success(),
        "clearctx {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cli_err(dir: &DataDir, args: &[&str]) -> (i32, String) {
    let out = dir.cli(args);
    assert!(
        !out.status.success(),
        "clearctx {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn add(dir: &DataDir, wasm: &Path) {
    cli_ok(dir, &["plugin", "add", wasm.to_str().unwrap(), "--yes"]);
}

#[tokio::test]
async fn invalid_test_results_are_refused_with_every_violation() {
    let dir = DataDir::new();
    let c = dir.connect(Some("qa-dev")).await;
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "run-1", "type": "test-results", "data": {"passed": "twelve"}}),
        )
        .await;
    assert!(e.contains("not a valid `test-results` artifact"), "{e}");
    assert!(e.contains("checked by plugin `std-json-schema`"), "{e}");
    assert!(
        e.contains("/passed"),
        "the wrong type is named with its path: {e}"
    );
    assert!(e.contains("failed"), "the missing field is named: {e}");
    // Nothing was written: no artifact, no event.
    assert_eq!(c.ok("artifact_list", json!({})).await["count"], 0);
    assert_eq!(dir.cli_json(&["status"])["events"], 0);

    let v = c
        .ok("artifact_publish", json!({"artifact_id": "run-1", "type": "test-results", "data": {"passed": 12, "failed": 1,
            "failures": [{"name": "login", "message": "500"}]}}))
        .await;
    assert_eq!(v["version"], 1);
    assert_eq!(v["validated_by"]["plugin"], "std-json-schema");
    assert!(v["validated_by"]["receipt"]["fuel_used"].as_u64().unwrap() > 0);

    let types = c.ok("artifact_types", json!({})).await;
    let tr = types["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "test-results")
        .unwrap()
        .clone();
    assert_eq!(tr["validator"], "std-json-schema");
    assert!(tr["schema"]["properties"]["failed"].is_object(), "{tr}");
    let json_type = types["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "json")
        .unwrap()
        .clone();
    assert_eq!(json_type["validator"], "std-json-schema");
    // The refused call is visible in plugin_info, the accepted one too.
    let info = c
        .ok("plugin_info", json!({"plugin": "std-json-schema"}))
        .await;
    assert!(info["calls"].as_u64().unwrap() >= 2, "{info}");
    assert_eq!(info["health"], "ok");
    c.close().await;
}

#[tokio::test]
async fn a_user_validator_overrides_the_standard_one_without_a_restart() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "doc", "type": "json", "data": {"anything": true}}),
    )
    .await;

    // Installed with the CLI while the server runs.
    add(&dir, &fixture("require-owner"));
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "doc", "type": "json", "data": {"anything": true}}),
        )
        .await;
    assert!(e.contains("checked by plugin `require-owner`"), "{e}");
    let v = c
        .ok(
            "artifact_publish",
            json!({"artifact_id": "doc", "type": "json", "data": {"owner": "qa"}}),
        )
        .await;
    assert_eq!(
        v["version"], 2,
        "the refused publish took no version number"
    );
    assert_eq!(v["validated_by"]["plugin"], "require-owner");

    let list = c.ok("plugin_list", json!({})).await;
    let ids: Vec<&str> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for id in [
        "require-owner",
        "std-json-schema",
        "std-cel-condition",
        "std-prompt-templates",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }

    // Disabled, the standard validator is back; removed, too.
    cli_ok(&dir, &["plugin", "disable", "require-owner"]);
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "doc", "type": "json", "data": {"no": "owner"}}),
    )
    .await;
    cli_ok(&dir, &["plugin", "enable", "require-owner"]);
    c.err(
        "artifact_publish",
        json!({"artifact_id": "doc", "type": "json", "data": {"no": "owner"}}),
    )
    .await;
    cli_ok(&dir, &["plugin", "remove", "require-owner"]);
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "doc", "type": "json", "data": {"no": "owner"}}),
    )
    .await;
    let (code, e) = cli_err(&dir, &["plugin", "remove", "std-json-schema"]);
    assert_eq!(code, 1);
    assert!(e.contains("is a standard plugin"), "{e}");
    c.close().await;
}

/// Each hostile fixture: installed, then called through a running server. The call fails
/// with a typed error naming the plugin and the limit, nothing is written, and the same
/// server answers the next request.
#[tokio::test]
async fn hostile_plugins_are_contained_and_the_server_keeps_serving() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "loop-forever",
            &["used all of its fuel", "ran past its time limit"],
        ),
        ("deep-recursion", &["overflowed its stack"]),
        ("memory-bomb", &["memory limit"]),
        (
            "huge-output",
            &["bytes of results", "memory limit", "used all of its fuel"],
        ),
        ("panics", &["panicked", "boom"]),
        (
            "busy-clock",
            &["ran past its time limit", "used all of its fuel"],
        ),
    ];
    for (name, wants) in cases {
        add(&dir, &fixture(name));
        let before = dir.cli_json(&["status"])["events"].clone();
        let e = c
            .err(
                "artifact_publish",
                json!({"artifact_id": format!("x-{name}"), "type": "json", "data": {}}),
            )
            .await;
        assert!(e.contains(&format!("plugin `{name}`")), "{name}: {e}");
        assert!(
            wants.iter().any(|w| e.contains(w)),
            "{name}: expected one of {wants:?} in {e}"
        );
        assert_eq!(
            dir.cli_json(&["status"])["events"],
            before,
            "{name}: the failed call wrote nothing"
        );
        cli_ok(&dir, &["plugin", "remove", name]);
        // The server is still there and healthy.
        c.ok("artifact_publish", json!({"artifact_id": format!("ok-after-{name}"), "type": "json", "data": {"fine": true}})).await;
    }
    c.close().await;
}

#[tokio::test]
async fn sandboxed_plugins_see_no_files_env_or_network_and_cannot_write_to_stdout() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    // It prints to stdout, which would corrupt the MCP channel if it were inherited.
    add(&dir, &fixture("writes-stdout"));
    let v = c
        .ok(
            "artifact_publish",
            json!({"artifact_id": "a", "type": "json", "data": {}}),
        )
        .await;
    assert_eq!(v["validated_by"]["plugin"], "writes-stdout");
    cli_ok(&dir, &["plugin", "remove", "writes-stdout"]);

    // These report what they could reach as a violation message.
    for name in ["reads-env-and-files", "opens-socket"] {
        add(&dir, &fixture(name));
        // They report as violations, so the command exits 1 with its JSON.
        let out = dir.cli(&["--json", "plugin", "test", name, "--input", "{}"]);
        assert_eq!(out.status.code(), Some(1));
        let out: Value = serde_json::from_slice(&out.stdout).unwrap();
        let seen = out["result"]["violations"].to_string();
        println!("{name}: {seen}");
        assert!(!seen.contains("root:"), "{name} read /etc/passwd: {seen}");
        assert!(!seen.contains("Ok("), "{name} reached something: {seen}");
        cli_ok(&dir, &["plugin", "remove", name]);
    }
    c.close().await;
}

#[test]
fn install_refuses_wrong_api_major_non_components_and_ungranted_capabilities() {
    let dir = DataDir::new();
    let (code, e) = cli_err(
        &dir,
        &[
            "plugin",
            "add",
            fixture("api-v2").to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(code, 1);
    assert!(e.contains("targets clearctx:plugin@2.0.0"), "{e}");

    let not_wasm = dir.path().join("notes.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let (_, e) = cli_err(
        &dir,
        &["plugin", "add", not_wasm.to_str().unwrap(), "--yes"],
    );
    assert!(e.contains("is not WebAssembly"), "{e}");

    // The fixture's manifest (which requests `notify` and `contracts:write`) beside its
    // built component, as a plugin folder.
    let folder = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/plugins/notify-action/clearctx-plugin.toml"),
    )
    .unwrap();
    let manifest = manifest.replacen(
        "[plugin]",
        &format!(
            "[plugin]\nwasm = {:?}",
            fixture("notify-action").display().to_string()
        ),
        1,
    );
    std::fs::write(folder.path().join("clearctx-plugin.toml"), manifest).unwrap();
    let action = folder.path().to_path_buf();

    // Without --yes and without a terminal, nothing is installed.
    let (_, e) = cli_err(&dir, &["plugin", "add", action.to_str().unwrap()]);
    assert!(e.contains("needs your consent"), "{e}");
    assert!(
        e.contains("notify"),
        "the requested capabilities are shown: {e}"
    );
    assert_eq!(
        dir.cli_json(&["plugin", "list"])["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["standard"] == false)
            .count(),
        0
    );

    // Granting only `notify`: its reopen command is denied.
    cli_ok(
        &dir,
        &[
            "plugin",
            "add",
            action.to_str().unwrap(),
            "--yes",
            "--grant",
            "notify",
        ],
    );
    let out = dir.cli_json(&[
        "plugin",
        "test",
        "notify-action",
        "--config",
        "{}",
        "--input",
        "{}",
    ]);
    let commands = out["result"]["commands"].as_array().unwrap().clone();
    let allowed: Vec<(String, bool)> = commands
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap().to_string(),
                c["allowed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        allowed.contains(&("notify_session".into(), true)),
        "{allowed:?}"
    );
    assert!(
        allowed.contains(&("reopen_contract".into(), false)),
        "{allowed:?}"
    );
    let (_, e) = cli_err(
        &dir,
        &[
            "plugin",
            "add",
            action.to_str().unwrap(),
            "--yes",
            "--grant",
            "artifacts:write",
        ],
    );
    assert!(e.contains("does not request `artifacts:write`"), "{e}");
}

#[tokio::test]
async fn a_component_changed_after_install_is_not_loaded() {
    let dir = DataDir::new();
    add(&dir, &fixture("require-owner"));
    let lock: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.path().join("plugins.lock")).unwrap()).unwrap();
    let rel = lock["plugin"][0]["path"].as_str().unwrap().to_string();
    let installed = dir.path().join(rel);
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"\0tampered");
    std::fs::write(&installed, bytes).unwrap();
    let c = dir.connect(None).await;
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "d", "type": "json", "data": {"owner": "x"}}),
        )
        .await;
    assert!(e.contains("changed after install"), "{e}");
    let info = c
        .ok("plugin_info", json!({"plugin": "require-owner"}))
        .await;
    assert!(
        info["health"].as_str().unwrap().starts_with("broken"),
        "{info}"
    );
    c.close().await;
}

#[test]
fn standard_conditions_and_templates_run_in_the_sandbox() {
    let dir = DataDir::new();
    let out = dir.cli_json(&[
        "plugin",
        "test",
        "std-cel-condition",
        "--expression",
        "data.failed > 0",
        "--input",
        r#"{"data": {"failed": 2}}"#,
    ]);
    assert_eq!(out["result"]["result"], true);
    let out = dir.cli_json(&[
        "plugin",
        "test",
        "std-cel-condition",
        "--expression",
        "data.failed > 0",
        "--input",
        r#"{"data": {"failed": 0}}"#,
    ]);
    assert_eq!(out["result"]["result"], false);
    let (_, e) = cli_err(
        &dir,
        &[
            "plugin",
            "test",
            "std-cel-condition",
            "--expression",
            "data.failed >",
            "--input",
            "{}",
        ],
    );
    assert!(
        e.contains("plugin `std-cel-condition` reported an error"),
        "{e}"
    );
    let out = dir.cli_json(&["plugin", "test", "std-prompt-templates", "--template", "worker", "--input",
        r#"{"name": "api-dev", "role": "backend", "team": "default", "task": "Build the users API"}"#]);
    let text = out["result"]["text"].as_str().unwrap();
    assert!(
        text.contains("api-dev") && text.contains("Build the users API"),
        "{text}"
    );
    assert!(
        text.contains("artifact_publish"),
        "the worker prompt teaches the tools: {text}"
    );
}

/// How many calls of `plugin` the call log holds, and the functions of the last few, oldest first.
fn last_calls(host: &clearctx::plugins::PluginHost, plugin: &str) -> (u64, Vec<String>) {
    let info = host.info(plugin).unwrap();
    let functions = info.recent_calls.iter().map(|c| c.function.clone()).collect();
    (info.calls, functions)
}

/// API 1.1: std-cel-condition answers a batch of conditions from one call, in order, with
/// each expression's own error; `check_condition` compiles without evaluating and names
/// the position of a syntax error.
#[test]
fn a_batch_of_cel_conditions_is_one_call_and_a_check_names_the_position() {
    let dir = DataDir::new();
    let host = clearctx::plugins::PluginHost::with_cache(dir.path(), &common::plugin_cache());
    let cel = host.resolve("std-cel-condition").unwrap();
    let context = json!({
        "event": {"kind": "artifact.published"},
        "artifact": {"id": "unit-tests", "type": "test-results"},
        "data": {"passed": 3, "failed": 2},
    });
    let expressions: Vec<String> = [
        "data.failed > 0",
        "data.passed == 0",
        "data.failed >",
        "data.failed",
        "artifact.type == \"test-results\"",
        "contract.id == \"x\"",
    ]
    .map(String::from)
    .to_vec();
    let (results, receipt) = host.evaluate_all(&cel, &expressions, &context).unwrap();
    assert_eq!(results.len(), expressions.len());
    let verdicts: Vec<Option<bool>> = results.iter().map(|r| r.as_ref().ok().copied()).collect();
    assert_eq!(
        verdicts,
        [Some(true), Some(false), None, None, Some(true), None]
    );
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(errors[0].contains("`data.failed >` is not valid CEL: line 1, column 14"), "{}", errors[0]);
    assert!(errors[1].contains("must yield a bool"), "{}", errors[1]);
    assert!(errors[2].contains("Undeclared reference to 'contract'"), "{}", errors[2]);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(e.detail()["plugin_code"], "plugin_invalid_input", "{e}");
    }
    assert!(receipt.fuel_used > 0 && !receipt.memoized, "{receipt:?}");
    // One call did all of it.
    assert_eq!(last_calls(&host, "std-cel-condition"), (1, vec!["evaluate-all".to_string()]));

    // The same answers as one `evaluate` each.
    for (expression, verdict) in expressions.iter().zip(&verdicts) {
        let single = host.evaluate_with(&cel, expression, &context).ok().map(|(b, _)| b);
        assert_eq!(single, *verdict, "{expression}");
    }
    // A batch is asked again, not remembered: an event's context is never asked twice
    // (it carries the event's seq). An empty one calls nothing.
    let calls = last_calls(&host, "std-cel-condition").0;
    let (again, r) = host.evaluate_all(&cel, &expressions, &context).unwrap();
    assert!(!r.memoized && r.reused, "{r:?}");
    assert_eq!(again.iter().map(|r| r.as_ref().ok().copied()).collect::<Vec<_>>(), verdicts);
    assert_eq!(last_calls(&host, "std-cel-condition").0, calls + 1);
    let calls = last_calls(&host, "std-cel-condition").0;
    assert!(host.evaluate_all(&cel, &[], &context).unwrap().0.is_empty());
    assert_eq!(last_calls(&host, "std-cel-condition").0, calls);

    // A batch of 100 expressions new to the instance compiles them all in one call: it
    // runs with 100 times one call's fuel and time.
    let many: Vec<String> = (0..100).map(|j| format!("data.failed + {j} > {}", 2 * j)).collect();
    let (results, _) = host.evaluate_all(&cel, &many, &context).unwrap();
    let fired = results.iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(fired, 2, "only j = 0 and 1 give 2 + j > 2j");

    // Checked without evaluating: an expression that would fail on this context compiles.
    assert_eq!(host.check_condition(&cel, "data.failed > 0").unwrap(), None);
    assert_eq!(host.check_condition(&cel, "contract.id == \"x\"").unwrap(), None);
    let message = host.check_condition(&cel, "data.failed >").unwrap().expect("does not compile");
    assert!(message.contains("line 1, column 14: Syntax error"), "{message}");
    let message = host.check_condition(&cel, "true &&\n (1 +").unwrap().expect("does not compile");
    assert!(message.contains("line 2, column "), "{message}");
    assert_eq!(last_calls(&host, "std-cel-condition").1.last().unwrap(), "check");
}

/// A condition plugin built for `clearctx:plugin@1.0.0` (before `conditions`) still
/// installs as a pipeline condition, runs, and has batches evaluated one call each.
#[test]
fn a_condition_plugin_built_for_api_1_0_still_installs_and_runs() {
    let dir = DataDir::new();
    add(&dir, &fixture("condition-api-1-0"));
    let info = dir.cli_json(&["plugin", "info", "condition-api-1-0"]);
    assert_eq!(info["kinds"], json!(["pipeline-condition"]), "{info}");
    assert_eq!(info["api"], "1.0.0", "{info}");
    let out = dir.cli_json(&[
        "plugin",
        "test",
        "condition-api-1-0",
        "--expression",
        "contains failed",
        "--input",
        r#"{"data": {"failed": 2}}"#,
    ]);
    assert_eq!(out["kind"], "pipeline-condition", "{out}");
    assert_eq!(out["result"]["result"], true, "{out}");

    let host = clearctx::plugins::PluginHost::with_cache(dir.path(), &common::plugin_cache());
    let plugin = host.resolve("condition-api-1-0").unwrap();
    let (before, _) = last_calls(&host, "condition-api-1-0");
    let context = json!({"data": {"failed": 2}});
    let (results, receipt) = host
        .evaluate_all(&plugin, &["true", "false", "bogus", "contains failed"].map(String::from), &context)
        .unwrap();
    let verdicts: Vec<Option<bool>> = results.iter().map(|r| r.as_ref().ok().copied()).collect();
    assert_eq!(verdicts, [Some(true), Some(false), None, Some(true)]);
    let e = results[2].as_ref().unwrap_err().to_string();
    assert!(e.contains("`bogus` is not `true`"), "{e}");
    assert!(receipt.fuel_used > 0, "{receipt:?}");
    // The fallback: one `evaluate` per expression.
    let (after, functions) = last_calls(&host, "condition-api-1-0");
    assert_eq!(after, before + 4);
    assert!(functions.iter().rev().take(4).all(|f| f == "evaluate"), "{functions:?}");
    // It cannot be asked to check: its expressions are accepted without a call.
    assert_eq!(host.check_condition(&plugin, "bogus").unwrap(), None);
    assert_eq!(last_calls(&host, "condition-api-1-0").0, after);
}

/// The issue's "done when": scaffold, test, install, and the rule holds on the next publish.
#[tokio::test]
async fn a_scaffolded_validator_builds_passes_its_test_and_is_enforced() {
    let dir = DataDir::new();
    let work = tempfile::tempdir().unwrap();
    cli_ok(
        &dir,
        &[
            "plugin",
            "new",
            "--kind",
            "artifact-validator",
            "my-rules",
            "--dir",
            work.path().to_str().unwrap(),
        ],
    );
    let crate_dir = work.path().join("my-rules");
    // Share one target dir across runs so the SDK is not rebuilt every time.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The SDK comes from the copy clearctx carries, in the data dir: never a path on the
    // machine clearctx was built on.
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let data_dir = dir.path().canonicalize().unwrap();
    assert!(
        manifest.contains(&format!("{}/sdk/", data_dir.display())),
        "{manifest}"
    );
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("struct MyRules;"),
        "named as Rust names types:\n{lib}"
    );
    let out = Command::new(&cargo)
        .args(["test", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        // Its `tests/in_host.rs` runs the component through this clearctx.
        .env("CLEARCTX_BIN", common::bin())
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the scaffold's own tests fail:\n{log}"
    );
    // The build of the component inside its test is shown, not silent.
    assert!(
        log.contains("for wasm32-wasip2 ..."),
        "no progress shown:\n{log}"
    );
    // Out of the box it builds clean (the SDK's own crates are not the scaffold's).
    assert!(
        !log.lines()
            .any(|l| l.starts_with("warning:") && !l.contains("clearctx-plugin-sdk")),
        "the scaffold warns:\n{log}"
    );

    let c = dir.connect(None).await;
    let out = Command::new(common::bin())
        .args(["plugin", "add", "--yes", "--home"])
        .arg(dir.path())
        .arg(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plugin add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "v1.2", "type": "release-notes", "data": {"changes": []}}),
        )
        .await;
    assert!(
        e.contains("/version") && e.contains("/changes"),
        "both problems are named: {e}"
    );
    let v = c.ok("artifact_publish", json!({"artifact_id": "v1.2", "type": "release-notes", "data": {"version": "1.2.0", "changes": ["x"]}})).await;
    assert_eq!(v["validated_by"]["plugin"], "my-rules");
    let info: Value = c.ok("plugin_info", json!({"plugin": "my-rules"})).await;
    assert_eq!(info["kinds"], json!(["artifact-validator"]));
    c.close().await;
}

/// A second validator for a type is not installed without a word: the conflict is shown at
/// consent and refused until the user says which plugin validates the type (`--replace`).
#[test]
fn a_second_validator_for_a_type_needs_an_explicit_choice() {
    let dir = DataDir::new();
    add(&dir, &fixture("require-owner"));
    let before = dir.cli_json(&["plugin", "list"]);
    let panics = fixture("panics");
    let (code, e) = cli_err(&dir, &["plugin", "add", panics.to_str().unwrap(), "--yes"]);
    assert_eq!(code, 1, "{e}");
    assert!(
        e.contains("CONFLICTS with `require-owner`, which validates `json` now"),
        "{e}"
    );
    assert!(
        e.contains("declares `json` (validated by `require-owner`) already")
            && e.contains("--replace require-owner"),
        "{e}"
    );
    assert_eq!(
        dir.cli_json(&["plugin", "list"]),
        before,
        "a refused install changed nothing"
    );
    let (_, e) = cli_err(
        &dir,
        &[
            "plugin",
            "add",
            panics.to_str().unwrap(),
            "--yes",
            "--replace",
            "std-json-schema",
        ],
    );
    assert!(
        e.contains("replace: `std-json-schema` validates none of the types"),
        "{e}"
    );

    cli_ok(
        &dir,
        &[
            "plugin",
            "add",
            panics.to_str().unwrap(),
            "--yes",
            "--replace",
            "require-owner",
        ],
    );
    let types = dir.cli_json(&["artifact", "types"]);
    let json = types["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "json")
        .unwrap();
    assert_eq!(json["validator"], "panics", "{json}");
    let list = dir.cli_json(&["plugin", "list"]);
    let owner = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "require-owner")
        .unwrap();
    assert_eq!(
        owner["types"],
        json!([]),
        "require-owner gave `json` up: {owner}"
    );
}

/// A validator that was turned off is said on every publish of its type.
#[test]
fn a_disabled_validator_is_shown_on_every_publish_of_its_type() {
    let dir = DataDir::new();
    add(&dir, &fixture("require-owner"));
    cli_ok(&dir, &["plugin", "disable", "require-owner"]);
    for i in 0..2 {
        let out = cli_ok(
            &dir,
            &[
                "artifact",
                "publish",
                "doc",
                "--type",
                "json",
                "--data",
                &format!("{{\"n\": {i}}}"),
            ],
        );
        assert!(
            out.contains("warning: validator plugin `require-owner` of type `json` is disabled: this version was checked by `std-json-schema` instead"),
            "{out}"
        );
    }
    cli_ok(&dir, &["plugin", "enable", "require-owner"]);
    let v = dir.cli_json(&[
        "artifact",
        "publish",
        "doc",
        "--type",
        "json",
        "--data",
        r#"{"owner": "me"}"#,
    ]);
    assert_eq!(v["warnings"], json!([]), "{v}");
    assert_eq!(v["validated_by"]["plugin"], "require-owner");
}

/// `plugin test <name>` tests the installed plugin, even beside a folder of that name, says
/// which it tested, and fails on invalid input as `artifact publish` does.
#[test]
fn plugin_test_prefers_the_installed_plugin_and_fails_on_violations() {
    let dir = DataDir::new();
    add(&dir, &fixture("require-owner"));
    let here = tempfile::tempdir().unwrap();
    std::fs::create_dir(here.path().join("require-owner")).unwrap();
    let run = |data: &str| {
        Command::new(common::bin())
            .arg("--home")
            .arg(dir.path())
            .args([
                "plugin",
                "test",
                "require-owner",
                "--type",
                "json",
                "--input",
                data,
            ])
            .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
            .current_dir(here.path())
            .output()
            .unwrap()
    };
    let out = run("{}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("tested the installed plugin `require-owner`"),
        "{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "violations fail the command: {text}"
    );
    let out = run(r#"{"owner": "me"}"#);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Installs the `counter` fixture declared pure, through a folder with a manifest.
fn add_pure_counter(dir: &DataDir) {
    let folder = dir.path().join("counter-pure");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("clearctx-plugin.toml"),
        format!(
            "[plugin]\nid = \"counter-pure\"\nversion = \"0.1.0\"\npure = true\nwasm = {:?}\n",
            fixture("counter").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = cli_ok(dir, &["plugin", "add", folder.to_str().unwrap(), "--yes"]);
    let _ = out;
}

/// Publishes `data` as type `json`, which the counter refuses; returns the refusal's text.
async fn refusal(c: &common::Client, data: Value) -> String {
    c.err(
        "artifact_publish",
        json!({"artifact_id": "n", "type": "json", "data": data}),
    )
    .await
}

/// Publishes `data` as type `json` and returns the counter's verdict, e.g. "call 3".
async fn count(c: &common::Client, data: Value) -> String {
    let e = c
        .err(
            "artifact_publish",
            json!({"artifact_id": "n", "type": "json", "data": data}),
        )
        .await;
    let at = e
        .find("call ")
        .unwrap_or_else(|| panic!("no count in: {e}"));
    e[at..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != ' ')
        .next()
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn an_impure_plugin_gets_a_fresh_instance_every_call() {
    let dir = DataDir::new();
    add(&dir, &fixture("counter"));
    let c = dir.connect(None).await;
    for n in 0..4 {
        assert_eq!(count(&c, json!({ "n": n })).await, "call 1");
    }
    // The same content again is run again: only pure plugins are memoized.
    assert_eq!(count(&c, json!({ "n": 0 })).await, "call 1");
    let info = c.ok("plugin_info", json!({"plugin": "counter"})).await;
    assert_eq!(info["pure"], false, "{info}");
    assert_eq!(info["memo_hits"], 0, "{info}");
    assert_eq!(info["reused_calls"], 0, "{info}");
    c.close().await;
}

#[tokio::test]
async fn a_pure_plugin_is_reused_memoized_replaced_after_failures_and_held_to_its_limits() {
    let dir = DataDir::new();
    add_pure_counter(&dir);
    let c = dir.connect(None).await;
    // One instance serves successive calls: its global counts up.
    assert_eq!(count(&c, json!({ "n": 1 })).await, "call 1");
    assert_eq!(count(&c, json!({ "n": 2 })).await, "call 2");
    assert_eq!(count(&c, json!({ "n": 3 })).await, "call 3");
    // The same content is answered from the memo: the answer of the call that made it.
    assert_eq!(count(&c, json!({ "n": 1 })).await, "call 1");

    // A reused instance that panics is dropped; the next call gets a fresh one and works.
    let e = refusal(&c, json!({"panic": true})).await;
    assert!(e.contains("panicked") && e.contains("call 4"), "{e}");
    assert_eq!(count(&c, json!({ "n": 4 })).await, "call 1");
    assert_eq!(count(&c, json!({ "n": 5 })).await, "call 2");

    // Fuel and the deadline hold on a reused instance as on a fresh one.
    let e = refusal(&c, json!({"loop": true})).await;
    assert!(e.contains("fuel") || e.contains("time limit"), "{e}");
    // So does the memory limit (64 MiB for validators), on an instance that served a call.
    assert_eq!(count(&c, json!({ "n": 6 })).await, "call 1");
    let e = refusal(&c, json!({"grow_mib": 80})).await;
    assert!(e.contains("memory limit"), "{e}");
    // An instance that grew past its recycling bound answers, then is not kept.
    assert_eq!(count(&c, json!({ "n": 7 })).await, "call 1");
    assert_eq!(count(&c, json!({ "grow_mib": 20 })).await, "call 2");
    assert_eq!(count(&c, json!({ "n": 8 })).await, "call 1");

    let info = c.ok("plugin_info", json!({"plugin": "counter-pure"})).await;
    assert_eq!(info["pure"], true, "{info}");
    assert_eq!(info["memo_hits"], 1, "{info}");
    assert!(info["reused_calls"].as_u64().unwrap() >= 4, "{info}");
    assert!(
        info["recent_calls"].as_array().unwrap().len() == 5,
        "{info}"
    );
    c.close().await;

    let shown = cli_ok(&dir, &["plugin", "info", "counter-pure"]);
    assert!(shown.contains("pure     yes"), "{shown}");
    assert!(shown.contains("answered from the memo"), "{shown}");
}

#[test]
fn a_damaged_compiled_copy_is_compiled_again_not_run() {
    let dir = DataDir::new();
    let cache = tempfile::tempdir().unwrap();
    let env = [(
        "CLEARCTX_CACHE_DIR".to_string(),
        cache.path().display().to_string(),
    )];
    let wasm = fixture("require-owner");
    let out = dir.cli_env(&["plugin", "add", wasm.to_str().unwrap(), "--yes"], &env);
    assert!(out.status.success(), "{out:?}");
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "one compiled copy: {entries:?}");
    let good = std::fs::read(&entries[0]).unwrap();

    // Flip one byte in the middle of the code: the digest beside it no longer matches.
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0xff;
    std::fs::write(&entries[0], &bad).unwrap();
    let publish = [
        "artifact",
        "publish",
        "doc",
        "--type",
        "json",
        "--data",
        r#"{"owner": "ana"}"#,
    ];
    let out = dir.cli_env(&publish, &env);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("damaged or altered"), "{stderr}");
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        good,
        "the entry is compiled again and replaced"
    );

    // A truncated entry (a kill mid-write by something other than clearctx) is no better.
    std::fs::write(&entries[0], &good[..good.len() / 3]).unwrap();
    let out = dir.cli_env(&publish, &env);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good);
}
