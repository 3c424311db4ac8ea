//! Continuity hook figures, each beside a baseline measured in the same run:
//!
//! 12a. `clearctx hook stop` (what Claude Code runs after every turn: read the hook JSON,
//!      open the data dir, git branch/HEAD/status, save a checkpoint) in a git repository
//!      with a data dir holding 200 artifacts and 50 open contracts;
//! 12b. `clearctx hook session-start` (the same, plus the briefing printed as
//!      `additionalContext`) after 20 new versions and a commit since the last checkpoint;
//! baseline: `clearctx --version` (process start alone) and `git status --porcelain`.
//!
//! Target: median <= 50 ms per hook. Run with `cargo bench -p clearctx --bench hooks`;
//! a plain program (`harness = false`) that asserts nothing about time.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_clearctx");
const RUNS: usize = 40;

fn run(cmd: &mut Command, stdin: Option<&str>) -> Duration {
    let started = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().expect("wait");
    let took = started.elapsed();
    assert!(out.status.success(), "{cmd:?} failed");
    took
}

fn stats(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    (ms(d[d.len() / 2]), ms(d[d.len() * 9 / 10]))
}

fn clearctx(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--home").arg(home).args(args).env_remove("CLEARCTX_SESSION").env_remove("CLEARCTX_TEAM");
    c
}

fn sh(dir: &Path, program: &str, args: &[&str]) {
    let ok = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("run")
        .success();
    assert!(ok, "{program} {args:?}");
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("data");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let mut all = vec!["-c", "user.name=b", "-c", "user.email=b@example.com"];
        all.extend_from_slice(args);
        sh(&repo, "git", &all)
    };
    git(&["init", "-q"]);
    for i in 0..200 {
        std::fs::write(repo.join(format!("f{i}.txt")), format!("{i}\n")).unwrap();
    }
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "files"]);
    eprintln!("preloading the data dir…");
    for i in 0..200 {
        let out = clearctx(&home, &["artifact", "publish", &format!("a{i}"), "--type", "bench-unvalidated", "--data", "{}", "--new-type"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for i in 0..50 {
        let out = clearctx(&home, &["contract", "create", &format!("c{i}"), "--title", "work", "--assignee", "w"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let input = serde_json::json!({
        "session_id": "bench", "cwd": repo, "hook_event_name": "Stop", "transcript_path": "/dev/null"
    })
    .to_string();

    let mut version = Vec::new();
    let mut status = Vec::new();
    let mut stop = Vec::new();
    let mut start = Vec::new();
    // Interleaved, so a burst of load on the machine moves every column alike.
    for i in 0..RUNS {
        version.push(run(&mut clearctx(&home, &["--version"]), None));
        status.push(run(Command::new("git").current_dir(&repo).args(["status", "--porcelain"]), None));
        stop.push(run(&mut clearctx(&home, &["hook", "stop"]), Some(&input)));
        if i % 2 == 0 {
            // Something to brief on: a new version and a commit since the checkpoint.
            clearctx(&home, &["artifact", "publish", &format!("a{i}"), "--type", "bench-unvalidated", "--data", "{\"n\":1}"]).output().unwrap();
            std::fs::write(repo.join("f0.txt"), format!("change {i}\n")).unwrap();
            git(&["commit", "-q", "-am", &format!("change {i}")]);
        }
        start.push(run(&mut clearctx(&home, &["hook", "session-start"]), Some(&input)));
    }
    let (v50, v90) = stats(version);
    let (g50, g90) = stats(status);
    let (s50, s90) = stats(stop);
    let (b50, b90) = stats(start);
    let met = |m: f64| if m <= 50.0 { "yes" } else { "**no**" };
    println!("| Figure | Measured | Baseline (same run) | Target | Met |");
    println!("|---|---|---|---|---|");
    println!(
        "| 12a. `clearctx hook stop` (checkpoint), {RUNS} runs, 200 artifacts, 50 open contracts, 200-file repo | median {s50:.1} ms, p90 {s90:.1} ms | `clearctx --version`: median {v50:.1} ms, p90 {v90:.1} ms; `git status --porcelain`: median {g50:.1} ms, p90 {g90:.1} ms | median <= 50 ms | {} |",
        met(s50)
    );
    println!(
        "| 12b. `clearctx hook session-start` (briefing + checkpoint), {RUNS} runs | median {b50:.1} ms, p90 {b90:.1} ms | the same baselines | median <= 50 ms | {} |",
        met(b50)
    );
}
