//! `clearctx setup` against the real Claude Code CLI in a throwaway HOME: what it writes is
//! what `claude mcp add` writes, `claude mcp list` connects to it, a rerun changes no byte,
//! `--uninstall` leaves the user's servers, hooks and CLAUDE.md as they were, and a file
//! that is not JSON stops it with nothing changed.

#[path = "common/claude.rs"]
mod claude;
mod common;
#[path = "common/mock_model.rs"]
mod mock_model;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use claude::{Claude, claude_bin, describe};
use mock_model::{MockModel, Reply};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(120);

/// No model is asked anything here: `claude mcp …` only reads config and starts servers.
const NO_MODEL: &str = "http://127.0.0.1:9";

fn exe() -> PathBuf {
    common::bin().canonicalize().unwrap()
}

/// `clearctx args…` as the user of `claude`'s HOME would run it, in `dir`.
fn clearctx(claude: &Claude, dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(common::bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", claude.home())
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
        .current_dir(dir)
        .output()
        .expect("run clearctx")
}

fn clearctx_ok(claude: &Claude, dir: &Path, args: &[&str]) -> String {
    let out = clearctx(claude, dir, args);
    assert!(out.status.success(), "clearctx {args:?} failed:\n{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn json_of(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A user with a server of their own (added by `claude mcp add`), a hook of their own and
/// notes in their CLAUDE.md.
fn user_with_own_config() -> Claude {
    let claude = Claude::new(NO_MODEL);
    claude.run_ok(&["mcp", "add", "other", "-s", "user", "--", "/bin/cat"], TIMEOUT);
    let dot = claude.home().join(".claude");
    std::fs::create_dir_all(&dot).unwrap();
    let settings = json!({
        "model": "sonnet",
        "hooks": {
            "SessionStart": [{"hooks": [{"type": "command", "command": "echo my own hook"}]}],
            "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]
        }
    });
    std::fs::write(dot.join("settings.json"), serde_json::to_string_pretty(&settings).unwrap() + "\n").unwrap();
    std::fs::write(dot.join("CLAUDE.md"), "# My rules\n\nAlways write tests.\n").unwrap();
    claude
}

fn user_files(claude: &Claude) -> [PathBuf; 3] {
    let h = claude.home();
    [
        h.join(".claude.json"),
        h.join(".claude/settings.json"),
        h.join(".claude/CLAUDE.md"),
    ]
}

#[test]
fn setup_registers_clearctx_connected_twice_changes_nothing_and_uninstall_leaves_the_users_own() {
    let claude = user_with_own_config();
    let [config, settings, memory] = user_files(&claude);
    let work = claude.home().join("work");
    let servers_before = json_of(&config)["mcpServers"].clone();
    let settings_before = read(&settings).unwrap();
    let memory_before = read(&memory).unwrap();

    let out = clearctx_ok(&claude, &work, &["setup"]);
    assert!(out.contains("updated") && out.contains(".claude.json"), "{out}");
    let after_one: Vec<_> = user_files(&claude).iter().map(|p| read(p)).collect();

    // The entry is the one `claude mcp add -s user` writes for the same command.
    let reference = Claude::new(NO_MODEL);
    let exe = exe();
    reference.run_ok(&["mcp", "add", "clearctx", "-s", "user", "--", exe.to_str().unwrap(), "serve"], TIMEOUT);
    assert_eq!(
        json_of(&config)["mcpServers"]["clearctx"],
        json_of(&reference.home().join(".claude.json"))["mcpServers"]["clearctx"]
    );
    assert_eq!(json_of(&config)["mcpServers"]["other"], servers_before["other"]);

    // Hooks: the user's first, then ours, one per event.
    let s = json_of(&settings);
    assert_eq!(s["model"], "sonnet");
    assert_eq!(s["hooks"]["SessionStart"][0]["hooks"][0]["command"], "echo my own hook");
    for (event, arg) in [("SessionStart", "session-start"), ("Stop", "stop"), ("PreCompact", "pre-compact"), ("SessionEnd", "session-end")] {
        let groups = s["hooks"][event].as_array().unwrap();
        let command = groups.last().unwrap()["hooks"][0]["command"].as_str().unwrap();
        assert_eq!(command, format!("{} hook {arg}", exe.display()));
    }
    let rules = String::from_utf8(read(&memory).unwrap()).unwrap();
    assert!(rules.starts_with("# My rules\n\nAlways write tests.\n\n<!-- clearctx:begin"), "{rules}");
    assert!(rules.contains("You are the orchestrator of team") && rules.trim_end().ends_with("<!-- clearctx:end -->"), "{rules}");

    // Twice: not a byte changes, and the report says so.
    let out = clearctx_ok(&claude, &work, &["setup"]);
    let after_two: Vec<_> = user_files(&claude).iter().map(|p| read(p)).collect();
    assert_eq!(after_one, after_two, "a second setup changed a file");
    assert_eq!(out.matches("unchanged").count(), 3, "{out}");

    let list = claude.run_ok(&["mcp", "list"], TIMEOUT);
    assert!(
        list.lines().any(|l| l.starts_with("clearctx:") && l.contains("✔ Connected")),
        "clearctx is not connected:\n{list}"
    );
    let get = claude.run_ok(&["mcp", "get", "clearctx"], TIMEOUT);
    assert!(get.contains("Scope: User config") && get.contains("✔ Connected"), "{get}");

    let out = clearctx_ok(&claude, &work, &["setup", "--uninstall"]);
    assert!(out.contains("updated"), "{out}");
    assert_eq!(json_of(&config)["mcpServers"], servers_before, "another MCP server changed");
    assert_eq!(read(&settings).unwrap(), settings_before, "the user's settings changed");
    assert_eq!(read(&memory).unwrap(), memory_before, "the user's CLAUDE.md changed");
    let list = claude.run_ok(&["mcp", "list"], TIMEOUT);
    assert!(!list.contains("clearctx:") && list.contains("other:"), "{list}");
}

#[test]
fn dry_run_prints_each_change_as_a_diff_and_writes_nothing() {
    let claude = user_with_own_config();
    let files = user_files(&claude);
    let before: Vec<_> = files.iter().map(|p| read(p)).collect();
    let out = clearctx_ok(&claude, &claude.home().join("work"), &["setup", "--dry-run"]);
    let after: Vec<_> = files.iter().map(|p| read(p)).collect();
    assert_eq!(before, after, "a dry run changed a file");
    assert!(!claude.home().join(".clearctx").exists(), "a dry run created the data dir");
    for f in &files {
        assert!(out.contains(&format!("--- a{}", f.display())), "no diff of {}:\n{out}", f.display());
    }
    assert!(out.contains("+    \"clearctx\": {") && out.contains("+<!-- clearctx:begin"), "{out}");
    assert!(out.contains(&format!("hook session-start")) && out.contains("@@ "), "{out}");
}

#[test]
fn a_settings_file_that_is_not_json_is_named_and_nothing_is_changed() {
    let claude = user_with_own_config();
    let [config, settings, memory] = user_files(&claude);
    let broken = b"{\n  \"hooks\": {\n    \"Stop\": [\n";
    std::fs::write(&settings, broken).unwrap();
    let before: Vec<_> = [&config, &memory].iter().map(|p| read(p)).collect();
    let out = clearctx(&claude, &claude.home().join("work"), &["setup"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&settings.display().to_string()) && err.contains("is not valid JSON"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(read(&settings).unwrap(), broken);
    let after: Vec<_> = [&config, &memory].iter().map(|p| read(p)).collect();
    assert_eq!(before, after, "setup changed another file although it refused");
    let out = clearctx(&claude, &claude.home().join("work"), &["setup", "--uninstall"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(read(&settings).unwrap(), broken);
}

#[test]
fn project_setup_writes_the_mcp_json_claude_mcp_add_writes() {
    let claude = Claude::new(NO_MODEL);
    let ours = claude.home().join("ours");
    let theirs = claude.home().join("theirs");
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();
    let exe = exe();
    let mut add = claude.command(&["mcp", "add", "clearctx", "-s", "project", "--", exe.to_str().unwrap(), "serve"]);
    add.current_dir(&theirs);
    let out = claude::run_with_timeout(add, TIMEOUT);
    assert!(out.status.success(), "{}", describe(&out));
    clearctx_ok(&claude, &ours, &["setup", "--project"]);
    assert_eq!(
        String::from_utf8(read(&ours.join(".mcp.json")).unwrap()).unwrap(),
        String::from_utf8(read(&theirs.join(".mcp.json")).unwrap()).unwrap(),
        "setup --project wrote another .mcp.json than claude mcp add -s project"
    );
    assert!(ours.join(".claude/settings.json").is_file() && ours.join("CLAUDE.md").is_file());
    assert!(!claude.home().join(".claude/settings.json").exists(), "project setup wrote the user's settings");
    let first: Vec<_> = ["./.mcp.json", ".claude/settings.json", "CLAUDE.md"].iter().map(|f| read(&ours.join(f))).collect();
    clearctx_ok(&claude, &ours, &["setup", "--project"]);
    let second: Vec<_> = ["./.mcp.json", ".claude/settings.json", "CLAUDE.md"].iter().map(|f| read(&ours.join(f))).collect();
    assert_eq!(first, second);
    // Everything in these files was setup's: uninstall leaves no file behind.
    clearctx_ok(&claude, &ours, &["setup", "--project", "--uninstall"]);
    for f in [".mcp.json", ".claude/settings.json", "CLAUDE.md"] {
        assert!(!ours.join(f).exists(), "{f} is left after --uninstall");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
}

#[test]
fn the_hooks_fire_and_the_next_session_starts_with_a_briefing_of_what_changed() {
    const FIRST: &str = "Look at the project.";
    const SECOND: &str = "What changed since last time?";
    let model = MockModel::start(|req| {
        if req.user_text_contains(SECOND) {
            Some(Reply::text("Caught up."))
        } else if req.user_text_contains(FIRST) {
            Some(Reply::text("Looked."))
        } else {
            None
        }
    });
    let claude = Claude::new(&model.url());
    let work = claude.home().join("work");
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("README.md"), "hello\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "first commit"]);
    clearctx_ok(&claude, &work, &["setup"]);

    let out = claude.run_ok(&["-p", FIRST, "--output-format", "json"], TIMEOUT);
    let session_id = serde_json::from_str::<Value>(&out).unwrap()["session_id"].as_str().unwrap().to_string();
    // The hooks saved checkpoints, the last one with the session's id.
    let b: Value = serde_json::from_str(&clearctx_ok(&claude, &work, &["--json", "briefing"])).unwrap();
    let since = &b["since"];
    assert!(["stop", "session-end"].contains(&since["trigger"].as_str().unwrap()), "{b:#}");
    assert_eq!(since["session_id"], session_id.as_str(), "{b:#}");
    assert_eq!(since["branch"], "main");
    // Inside a clearctx worker (its `claude` has CLEARCTX_SESSION) the same hooks do nothing:
    // no briefing for the worker, and the user's "since last time" stays the user's.
    for event in ["session-start", "stop"] {
        let mut hook = std::process::Command::new(common::bin());
        hook.args(["hook", event])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", claude.home())
            .env("CLEARCTX_SESSION", "api-dev")
            .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
            .current_dir(&work)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = hook.spawn().unwrap();
        use std::io::Write;
        let input = json!({"session_id": "worker-session", "cwd": work}).to_string();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stdout.is_empty(), "{event} in a worker: {}", describe(&out));
    }
    let b: Value = serde_json::from_str(&clearctx_ok(&claude, &work, &["--json", "briefing"])).unwrap();
    assert_eq!(b["since"]["session_id"], session_id.as_str(), "a worker's hook moved the checkpoint: {b:#}");

    // Between the sessions: a commit and a new artifact version.
    std::fs::create_dir_all(work.join("src")).unwrap();
    std::fs::write(work.join("src/login.rs"), "fn login() {}\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "add the login endpoint"]);
    clearctx_ok(&claude, &work, &["artifact", "publish", "api-spec", "--type", "json", "--data", r#"{"endpoints":["POST /login"]}"#, "--summary", "login added"]);

    claude.run_ok(&["-p", SECOND], TIMEOUT);
    let requests = model.requests();
    let first = requests
        .iter()
        .find(|r| r.user_text_contains(SECOND))
        .unwrap_or_else(|| panic!("the model never got the second prompt: {:?}", model.unexpected()));
    let seen = first.all_text();
    assert!(seen.contains("clearctx briefing"), "no briefing in the first request:\n{seen}");
    assert!(seen.contains("add the login endpoint") && seen.contains("src/login.rs"), "no git change:\n{seen}");
    assert!(seen.contains("`api-spec` v1 (json) by cli: login added"), "no new version:\n{seen}");
}

/// `clearctx doctor --json`'s checks by name, with `claude` on PATH when `with_claude`.
fn doctor(claude: &Claude, with_claude: bool) -> (Option<i32>, std::collections::HashMap<String, Value>) {
    let path = if with_claude {
        format!("{}:/usr/bin:/bin", claude_bin().parent().unwrap().display())
    } else {
        "/usr/bin:/bin".to_string()
    };
    let out = std::process::Command::new(common::bin())
        .args(["doctor", "--json"])
        .env_clear()
        .env("PATH", path)
        .env("HOME", claude.home())
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
        .current_dir(claude.home().join("work"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    let checks = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap().to_string(), c.clone()))
        .collect();
    (out.status.code(), checks)
}

fn failing(checks: &std::collections::HashMap<String, Value>) -> Vec<&str> {
    let mut names: Vec<&str> = checks.iter().filter(|(_, c)| c["ok"] != true).map(|(n, _)| n.as_str()).collect();
    names.sort();
    names
}

#[test]
fn doctor_passes_a_healthy_setup_and_names_each_planted_fault_and_its_fix() {
    let claude = Claude::new(NO_MODEL);
    let work = claude.home().join("work");

    // Nothing set up yet: no registration, no hooks, no database.
    let (code, checks) = doctor(&claude, true);
    assert_eq!(code, Some(1));
    assert_eq!(failing(&checks), ["data_dir", "database", "hooks", "registration"], "{checks:#?}");
    assert_eq!(checks["registration"]["fix"], "clearctx setup");

    clearctx_ok(&claude, &work, &["setup"]);
    clearctx_ok(&claude, &work, &["status"]);
    let (code, checks) = doctor(&claude, true);
    assert_eq!(failing(&checks), Vec::<&str>::new(), "{checks:#?}");
    assert_eq!(code, Some(0));
    assert!(checks["claude"]["detail"].as_str().unwrap().contains("(Claude Code)"), "{checks:#?}");
    assert!(checks["database"]["detail"].as_str().unwrap().contains("quick_check ok"));
    assert!(checks.contains_key("plugin:std-json-schema"));

    // No claude on PATH.
    let (_, checks) = doctor(&claude, false);
    assert_eq!(failing(&checks), ["claude"]);
    assert!(checks["claude"]["fix"].as_str().unwrap().contains("npm install -g @anthropic-ai/claude-code"));

    // A stale serve binary: the registration runs another clearctx.
    let config = claude.home().join(".claude.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let other = claude.home().join("old/clearctx");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(common::bin(), &other).unwrap();
    std::fs::write(&config, text.replace(exe().to_str().unwrap(), other.to_str().unwrap())).unwrap();
    let (_, checks) = doctor(&claude, true);
    assert!(failing(&checks).contains(&"registration"), "{checks:#?}");
    assert!(checks["registration"]["detail"].as_str().unwrap().contains("stale serve binary"));
    clearctx_ok(&claude, &work, &["setup"]);

    // The registration gone (claude mcp remove).
    claude.run_ok(&["mcp", "remove", "clearctx", "-s", "user"], TIMEOUT);
    let (_, checks) = doctor(&claude, true);
    assert_eq!(failing(&checks), ["registration"], "{checks:#?}");
    assert_eq!(checks["registration"]["fix"], "clearctx setup");
    clearctx_ok(&claude, &work, &["setup"]);

    // A plugin whose bytes changed after install.
    let home = claude.home().join(".clearctx");
    clearctx_ok(&claude, &work, &["plugin", "add", common::fixture("require-owner").to_str().unwrap(), "--yes"]);
    let (_, checks) = doctor(&claude, true);
    assert_eq!(failing(&checks), Vec::<&str>::new(), "{checks:#?}");
    let lock: toml::Value = toml::from_str(&std::fs::read_to_string(home.join("plugins.lock")).unwrap()).unwrap();
    let installed = home.join(lock["plugin"][0]["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"\0tampered");
    std::fs::write(&installed, bytes).unwrap();
    let (_, checks) = doctor(&claude, true);
    assert_eq!(failing(&checks), ["plugin:require-owner"], "{checks:#?}");
    let p = &checks["plugin:require-owner"];
    assert!(p["detail"].as_str().unwrap().contains("changed after install"), "{p}");
    assert!(p["fix"].as_str().unwrap().contains("clearctx plugin remove require-owner"), "{p}");
    clearctx_ok(&claude, &work, &["plugin", "remove", "require-owner"]);

    // A corrupt database.
    let db = home.join("clearctx.db");
    for f in ["clearctx.db-wal", "clearctx.db-shm"] {
        let _ = std::fs::remove_file(home.join(f));
    }
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let (code, checks) = doctor(&claude, true);
    assert_eq!(code, Some(1));
    assert_eq!(failing(&checks), ["database"], "{checks:#?}");
    let d = &checks["database"];
    assert!(d["detail"].as_str().unwrap().contains("not a database"), "{d}");
    assert!(d["fix"].as_str().unwrap().starts_with(&format!("mv {}", db.display())), "{d}");
}

#[test]
fn decisions_are_found_by_full_text_and_flagged_in_the_briefing_when_their_ground_moves() {
    let claude = Claude::new(NO_MODEL);
    let work = claude.home().join("work");
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("db.rs"), "open()\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "db"]);
    let run = |args: &[&str]| -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&clearctx_ok(&claude, &work, &all)).unwrap()
    };
    run(&["artifact", "publish", "schema", "--type", "json", "--data", "{}"]);
    let wal = run(&[
        "decision", "record", "--what", "Use SQLite in WAL mode", "--why", "readers run beside the one writer",
        "--alternative", "a rollback journal", "--file", "db.rs", "--tag", "storage", "--artifact", "schema",
    ]);
    assert_eq!(wal["artifacts"], json!([{"artifact_id": "schema", "version": 1}]));
    assert_eq!(wal["files"][0]["path"], "db.rs");
    run(&["decision", "record", "--what", "REST, not gRPC", "--why", "browsers call it", "--tag", "api"]);
    clearctx_ok(&claude, &work, &["checkpoint", "--note", "half way through the API"]);

    // Full text: any field, every word, best first; FTS5 operators are plain words.
    let found = run(&["decision", "search", "journal"]);
    assert_eq!(found["count"], 1);
    assert_eq!(found["decisions"][0]["what"], "Use SQLite in WAL mode");
    assert_eq!(run(&["decision", "search", "storage readers"])["count"], 1);
    assert_eq!(run(&["decision", "search", "storage browsers"])["count"], 0);
    assert_eq!(run(&["decision", "search", "NOT \"AND"])["count"], 0);
    let page = run(&["decision", "list", "--limit", "1"]);
    assert_eq!(page["decisions"][0]["what"], "REST, not gRPC");
    let rest = run(&["decision", "list", "--cursor", page["next_cursor"].as_str().unwrap()]);
    assert_eq!(rest["decisions"][0]["what"], "Use SQLite in WAL mode");
    assert_eq!(rest["next_cursor"], Value::Null);

    // Bad input is named and records nothing.
    let out = clearctx(&claude, &work, &["decision", "record", "--what", "x", "--why", "y", "--file", "../etc/passwd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("files[0]"), "{}", describe(&out));
    let out = clearctx(&claude, &work, &["decision", "record", "--what", "x", "--why", "y", "--artifact", "schema@7"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("artifacts[0].version"), "{}", describe(&out));
    assert_eq!(run(&["decision", "list"])["count"], 2);

    // Nothing moved yet: no flag.
    let b = run(&["briefing"]);
    assert!(b["decisions"].as_array().unwrap().iter().all(|d| d["changed_files"] == json!([]) && d["moved_artifacts"] == json!([])), "{b:#}");
    assert!(b["text"].as_str().unwrap().contains("Note left at the last checkpoint: half way through the API"));

    // The file and the artifact move on: the WAL decision is flagged, the other is not.
    std::fs::write(work.join("db.rs"), "open_wal()\n").unwrap();
    run(&["artifact", "publish", "schema", "--type", "json", "--data", "{\"v\":2}"]);
    let b = run(&["briefing"]);
    let notes = b["decisions"].as_array().unwrap();
    let wal_note = notes.iter().find(|d| d["what"] == "Use SQLite in WAL mode").unwrap();
    assert_eq!(wal_note["changed_files"], json!(["db.rs"]));
    assert_eq!(wal_note["moved_artifacts"], json!(["`schema` v1 → v2"]));
    let rest_note = notes.iter().find(|d| d["what"] == "REST, not gRPC").unwrap();
    assert_eq!(rest_note["changed_files"], json!([]));
    let text = b["text"].as_str().unwrap();
    assert!(text.contains("⚠ changed since it was recorded: db.rs changed; `schema` v1 → v2"), "{text}");
}

#[test]
fn patterns_are_registered_versioned_listed_and_read() {
    let claude = Claude::new(NO_MODEL);
    let work = claude.home().join("work");
    let run = |args: &[&str]| -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&clearctx_ok(&claude, &work, &all)).unwrap()
    };
    let p = run(&["pattern", "register", "error-type", "--description", "one error enum per crate", "--body", "enum Error { Io(std::io::Error) }", "--tag", "rust"]);
    assert_eq!(p["version"], 1);
    let p = run(&["pattern", "register", "error-type", "--description", "one error enum per crate, thiserror", "--body", "#[derive(thiserror::Error)] enum Error {}"]);
    assert_eq!(p["version"], 2);
    run(&["pattern", "register", "adr", "--description", "decisions as ADRs", "--body", "# ADR n: title"]);
    let list = run(&["pattern", "list"]);
    assert_eq!(list["count"], 2);
    assert_eq!(list["patterns"][0]["name"], "adr");
    assert!(list["patterns"][0].get("body").is_none(), "{list}");
    let got = run(&["pattern", "get", "error-type"]);
    assert_eq!(got["body"], "#[derive(thiserror::Error)] enum Error {}");
    assert_eq!(got["tags"], json!([]));
    let out = clearctx(&claude, &work, &["pattern", "get", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pattern `nope` does not exist; `clearctx pattern list`"), "{}", describe(&out));
    let out = clearctx(&claude, &work, &["pattern", "register", "bad name!", "--description", "d", "--body", "b"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(run(&["pattern", "list"])["count"], 2);
}
