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
