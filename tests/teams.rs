//! Teams end to end with real Claude Code workers against the scripted mock model: phase
//! gates that fail naming what is missing and then pass, a later phase refused until then,
//! and two workers isolated in their own git worktrees editing the same file.

#[path = "common/claude.rs"]
mod claude;
mod common;
#[path = "common/mock_model.rs"]
mod mock_model;

use std::path::{Path, PathBuf};
use std::process::Command;

use claude::Rig;
use mock_model::{MockModel, Reply};
use serde_json::json;

/// The designer publishes the API spec; the builder just answers; a writer writes the
/// path after `WRITE-FILE` (after reading it) with its own content and says whether the
/// write worked.
fn script(r: &mock_model::Request) -> Option<Reply> {
    if r.last_user_text_contains("DESIGN-API") || (r.user_text_contains("DESIGN-API") && r.step_in_turn() > 0) {
        return match r.step_in_turn() {
            0 => Some(Reply::tool_use(
                "mcp__clearctx__artifact_publish",
                json!({"artifact_id": "api-spec", "type": "api-contract",
                       "data": {"endpoints": ["GET /users"]}}),
            )),
            _ => Some(Reply::text("designed").usage(1000, 100)),
        };
    }
    if r.last_user_text_contains("BUILD-API") {
        return Some(Reply::text("building").usage(1000, 100));
    }
    let all = r.all_text();
    if let Some(at) = all.find("WRITE-FILE ") {
        let rest = &all[at + "WRITE-FILE ".len()..];
        let mut words = rest.split_whitespace();
        let (path, who) = (words.next()?.to_string(), words.next()?.to_string());
        // Claude Code 2.1.197 refuses to overwrite a file the model has not read.
        return match r.step_in_turn() {
            0 => Some(Reply::tool_use("Read", json!({"file_path": path}))),
            1 => Some(Reply::tool_use(
                "Write",
                json!({"file_path": path, "content": format!("written by {who}\n")}),
            )),
            _ => {
                let results = r.last_tool_results();
                let res = results.first()?;
                Some(Reply::text(if res.is_error {
                    format!("write failed: {}", res.content)
                } else {
                    "wrote".to_string()
                }))
            }
        };
    }
    None
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git repository with one committed file.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("shared.txt"), "original\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_phase_waits_for_its_gate_which_names_what_is_missing() {
    let model = MockModel::start(script);
    let rig = Rig::new(&model.url());
    let c = rig.connect().await;
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "core-rules", "type": "shared-conventions", "team": "core",
               "data": {"naming": "TEAM-RULE-snake-case"}}),
    )
    .await;
    c.ok(
        "contract_create",
        json!({"contract_id": "design-api", "title": "Design the users API", "assignee": "designer", "team": "core"}),
    )
    .await;

    let d = c
        .ok(
            "team_spawn",
            json!({"name": "designer", "role": "API designer", "team": "core", "phase": 1, "prompt": "DESIGN-API"}),
        )
        .await;
    assert_eq!(d["response"], "designed", "{d}");
    assert_eq!(d["role"], "API designer");
    // Its system prompt came from the worker template, with the team's state in it.
    let first = model
        .requests()
        .into_iter()
        .find(|r| r.last_user_text_contains("DESIGN-API"))
        .expect("the designer asked the model");
    let all = first.all_text();
    for needle in [
        "You are `designer`, the API designer of team `core`",
        "TEAM-RULE-snake-case",
        "- `designer`: API designer",
        "This task is contract `design-api`",
    ] {
        assert!(all.contains(needle), "no `{needle}` in the prompt:\n{all}");
    }

    // The gate names each missing item.
    let gate = json!({"team": "core", "phase_completing": 1, "phase_starting": 2,
        "expected_artifacts": ["api-spec", "db-schema"], "expected_idle": ["designer"],
        "expected_readers": [{"artifact_id": "api-spec", "readers": ["reviewer"]}]});
    let g = c.ok("phase_gate", gate.clone()).await;
    assert_eq!(g["passed"], false, "{g}");
    let items = g["items"].as_array().unwrap();
    let verdict = |target: &str| {
        items
            .iter()
            .find(|i| i["target"] == target)
            .unwrap_or_else(|| panic!("no item {target}: {g}"))
            .clone()
    };
    assert_eq!(verdict("api-spec")["passed"], true, "{g}");
    assert_eq!(verdict("db-schema")["reason"], "does not exist", "{g}");
    assert_eq!(verdict("designer")["passed"], true, "{g}");
    assert_eq!(verdict("reviewer read api-spec")["reason"], "never read it", "{g}");
    assert_eq!(g["failed"], 2);

    // Phase 2 is refused, naming the gate and what failed; nothing is started.
    let e = c
        .err(
            "team_spawn",
            json!({"name": "builder", "role": "developer", "team": "core", "phase": 2, "prompt": "BUILD-API"}),
        )
        .await;
    assert!(e.contains("gate 1 -> 2 failed") && e.contains("`db-schema`") && e.contains("reviewer read api-spec"), "{e}");
    let l = c.ok("list_sessions", json!({"team": "core"})).await;
    assert_eq!(l["count"], 1, "{l}");

    // Meet the gate: publish the schema and have the reviewer read the spec.
    c.ok(
        "artifact_publish",
        json!({"artifact_id": "db-schema", "type": "schema-change", "team": "core",
               "data": {"changes": ["add users"]}}),
    )
    .await;
    c.ok("artifact_get", json!({"artifact_id": "api-spec", "reader": "reviewer"})).await;
    // The CLI runs the same gate; exit 0 once it passes.
    let out = rig.dir.cli(&[
        "team", "gate", "core", "--from", "1", "--to", "2", "--artifact", "api-spec", "--artifact",
        "db-schema", "--idle", "designer", "--readers", "api-spec=reviewer",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("gate 1 -> 2 of team `core`: passed") && text.contains("pass read"), "{text}");

    let b = c
        .ok(
            "team_spawn",
            json!({"name": "builder", "role": "developer", "team": "core", "phase": 2, "prompt": "BUILD-API"}),
        )
        .await;
    assert_eq!(b["response"], "building", "{b}");

    let r = c.ok("team_roster", json!({"team": "core"})).await;
    assert_eq!(r["count"], 2, "{r}");
    assert_eq!(r["members"][0]["name"], "designer");
    assert_eq!(r["members"][0]["status"], "idle");
    assert_eq!(r["members"][0]["current_contract"], "design-api", "{r}");
    assert_eq!(r["members"][1]["role"], "developer");
    assert_eq!(r["members"][1]["phase"], 2);
    assert!(r["members"][1]["cost_usd"].as_f64().unwrap() > 0.0, "{r}");
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

#[tokio::test(flavor = "multi_thread")]
async fn isolated_workers_edit_the_same_file_in_their_own_worktrees() {
    let model = MockModel::start(script);
    let rig = Rig::new(&model.url());
    let repo = repo();
    let main = repo.path().to_path_buf();
    let c = rig.connect().await;

    // Outside a git repository the option is refused and nothing is written.
    let plain = tempfile::tempdir().unwrap();
    let e = c
        .err(
            "team_spawn",
            json!({"name": "lost", "role": "dev", "team": "iso", "isolation": "worktree",
                   "work_dir": plain.path().display().to_string(), "prompt": "hello"}),
        )
        .await;
    assert!(e.contains("is not inside a git repository"), "{e}");
    let l = c.ok("list_sessions", json!({})).await;
    assert_eq!(l["count"], 0, "{l}");

    let wt = |name: &str| -> PathBuf { rig.dir.path().join("worktrees/iso").join(name) };
    for name in ["a", "b"] {
        let file = wt(name).join("shared.txt");
        let s = c
            .ok(
                "team_spawn",
                json!({"name": name, "role": "dev", "team": "iso", "isolation": "worktree",
                       "work_dir": main.display().to_string(), "permission_mode": "acceptEdits",
                       "allowed_tools": ["Read", "Write", "Edit"],
                       "prompt": format!("WRITE-FILE {} {name}", file.display())}),
            )
            .await;
        assert_eq!(s["response"], "wrote", "{s}");
        assert_eq!(s["branch"], format!("clearctx/iso/{name}"));
        assert_eq!(s["session"]["work_dir"], wt(name).display().to_string(), "{s}");
    }
    for name in ["a", "b"] {
        let text = std::fs::read_to_string(wt(name).join("shared.txt")).unwrap();
        assert_eq!(text, format!("written by {name}\n"));
    }
    // The main checkout is untouched.
    assert_eq!(std::fs::read_to_string(main.join("shared.txt")).unwrap(), "original\n");
    assert_eq!(git(&main, &["status", "--porcelain"]), "");

    // b commits its change; both count one changed file, only a's is uncommitted.
    git(&wt("b"), &["commit", "-q", "-am", "b's change"]);
    let r = c.ok("team_roster", json!({"team": "iso"})).await;
    let m = |i: usize| r["members"][i].clone();
    assert_eq!(m(0)["branch"], "clearctx/iso/a", "{r}");
    assert_eq!(m(0)["worktree"], wt("a").display().to_string());
    assert_eq!(m(0)["changed_files"], 1, "{r}");
    assert_eq!(m(0)["uncommitted_files"], 1, "{r}");
    assert_eq!(m(1)["changed_files"], 1, "{r}");
    assert_eq!(m(1)["uncommitted_files"], 0, "{r}");
    // The CLI shows the same.
    let cli = rig.dir.cli_json(&["team", "roster", "iso"]);
    assert_eq!(cli["members"][1]["branch"], "clearctx/iso/b", "{cli}");

    // Removing a keeps its dirty worktree and says so; removing b removes its clean one
    // (its branch stays: it holds b's commit).
    let ra = c.ok("team_remove", json!({"name": "a", "force": true})).await;
    assert_eq!(ra["worktree_removed"], false, "{ra}");
    assert!(ra["kept_because"].as_str().unwrap().contains("1 uncommitted change"), "{ra}");
    assert!(wt("a").join("shared.txt").exists());
    let rb = c.ok("team_remove", json!({"name": "b", "force": true})).await;
    assert_eq!(rb["worktree_removed"], true, "{rb}");
    assert_eq!(rb["branch_removed"], false, "{rb}");
    assert!(!wt("b").exists());
    let list = git(&main, &["worktree", "list"]);
    assert!(list.contains("worktrees/iso/a") && !list.contains("worktrees/iso/b"), "{list}");
    assert!(git(&main, &["branch", "--list", "clearctx/iso/b"]).contains("clearctx/iso/b"));
    let r = c.ok("team_roster", json!({"team": "iso"})).await;
    assert_eq!(r["count"], 0, "{r}");
    c.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

/// A team of real `claude` workers whose server is SIGKILLed in the middle of a turn: the
/// next server finds the member stopped with its contract in progress, and `team_resume`
/// brings it back with its conversation (`--resume`) and its contract, which it finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_team_whose_server_was_killed_mid_turn_resumes_and_finishes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let killed = Arc::new(AtomicBool::new(false));
    let seen_kill = killed.clone();
    let model = MockModel::start(move |r| {
        if r.last_user_text_contains("HELLO-W") {
            return Some(Reply::text("ready").usage(1000, 100));
        }
        if r.last_user_text_contains("BUILD-IT") {
            if r.step_in_turn() == 0 {
                return Some(Reply::tool_use("mcp__clearctx__contract_start", json!({"contract_id": "build"})));
            }
            // Mid-turn: the model "thinks" until its server has been killed.
            let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !seen_kill.load(Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            return Some(Reply::text("lost in the crash").usage(1000, 100));
        }
        if r.last_user_text_contains("Your current contract is `build`") {
            return Some(match r.step_in_turn() {
                0 => Reply::tool_use(
                    "mcp__clearctx__artifact_publish",
                    json!({"artifact_id": "api", "type": "json", "data": {"style": "REST"}}),
                ),
                1 => Reply::tool_use("mcp__clearctx__contract_complete", json!({"contract_id": "build"})),
                _ => Reply::text("finished build").usage(1000, 100),
            });
        }
        None
    });
    let rig = Rig::new(&model.url());
    let a = rig.connect().await;
    let r = a.ok("team_spawn", json!({"name": "w", "role": "backend", "team": "core", "prompt": "HELLO-W"})).await;
    assert_eq!(r["response"], "ready", "{r}");
    let owner = r["session"]["owner_pid"].as_i64().unwrap().to_string();
    let claude_id = r["session"]["claude_session_id"].clone();
    a.ok("contract_create", json!({"contract_id": "build", "title": "Build it", "assignee": "w", "team": "core", "inputs": {"context": "REST"}})).await;
    a.ok("send_message", json!({"name": "w", "message": "BUILD-IT", "wait": false})).await;
    // The worker started its contract and is waiting on the model: kill its server now.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !model.requests().iter().any(|r| r.last_user_text_contains("BUILD-IT") && r.step_in_turn() == 1) {
        assert!(std::time::Instant::now() < deadline, "the worker never started its contract");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(a.ok("contract_get", json!({"contract_id": "build"})).await["status"], "in_progress");
    assert!(Command::new("kill").args(["-9", &owner]).status().unwrap().success());
    killed.store(true, Ordering::SeqCst);

    let b = rig.connect().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = b.ok("get_session_status", json!({"name": "w"})).await;
        if s["status"] == "stopped" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never reaped: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = rig.dir.cli_json(&["status"]);
    assert_eq!(status["interrupted_teams"], json!([{"team": "core", "members": ["w"]}]), "{status}");
    let r = b.ok("team_resume", json!({"team": "core"})).await;
    assert_eq!((r["resumed"].clone(), r["contracts"].clone()), (json!(["w"]), json!({"w": "build"})), "{r}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let c = loop {
        let c = b.ok("contract_get", json!({"contract_id": "build"})).await;
        if c["status"] == "completed" {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "the resumed worker never finished: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(c["assignee"], "w", "{c}");
    let api = b.ok("artifact_get", json!({"artifact_id": "api"})).await;
    assert_eq!((api["publisher"].as_str(), api["version"].as_u64()), (Some("w"), Some(1)), "{api}");
    // Resumed with its conversation, not started afresh.
    let resumed = model
        .requests()
        .into_iter()
        .find(|r| r.last_user_text_contains("Your current contract is `build`"))
        .unwrap();
    assert!(resumed.user_text_contains("HELLO-W") && resumed.user_text_contains("BUILD-IT"), "{}", resumed.summary());
    let s = b.ok("get_session_status", json!({"name": "w"})).await;
    assert_eq!(s["claude_session_id"], claude_id, "{s}");
    assert_eq!(rig.dir.cli_json(&["status"])["interrupted_teams"], json!([]));
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
    b.close().await;
}
