//! Several `clearctx serve` processes on one data dir, and a process killed mid-write:
//! nothing lost, nothing duplicated, version numbers gapless, each transition once.

mod common;

use std::process::Stdio;

use common::DataDir;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_servers_lose_and_duplicate_nothing() {
    const WORKERS: usize = 4;
    const EACH: usize = 25;
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    orch.ok(
        "contract_create",
        json!({"contract_id": "after-half", "title": "Waits for shared v50", "assignee": "reviewer",
        "dependencies": [{"type": "artifact", "id": "shared", "min_version": 50}]}),
    )
    .await;
    for w in 0..WORKERS {
        orch.ok("contract_create", json!({"contract_id": format!("part-{w}"), "title": "A part", "assignee": format!("w{w}")})).await;
    }
    let parts: Vec<Value> = (0..WORKERS)
        .map(|w| json!({"type": "contract", "id": format!("part-{w}")}))
        .collect();
    orch.ok("contract_create", json!({"contract_id": "join", "title": "After every part", "assignee": "reviewer", "dependencies": parts})).await;

    let mut clients = Vec::new();
    for w in 0..WORKERS {
        clients.push(dir.connect(Some(&format!("w{w}"))).await);
    }
    let runs = clients.iter().enumerate().map(|(w, c)| async move {
        for i in 0..EACH {
            c.ok(
                "artifact_publish",
                json!({"artifact_id": "shared", "type": "json", "data": {"w": w, "i": i}}),
            )
            .await;
            c.ok(
                "artifact_publish",
                json!({"artifact_id": format!("own-{w}"), "type": "json", "data": i}),
            )
            .await;
        }
        c.ok(
            "contract_start",
            json!({"contract_id": format!("part-{w}")}),
        )
        .await;
        c.ok(
            "contract_complete",
            json!({"contract_id": format!("part-{w}")}),
        )
        .await;
    });
    futures_join_all(runs).await;

    let history = orch
        .ok("artifact_history", json!({"artifact_id": "shared"}))
        .await;
    let versions: Vec<u64> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (1..=(WORKERS * EACH) as u64).collect::<Vec<_>>(),
        "versions must be 1..=N with no gap"
    );
    for w in 0..WORKERS {
        let mine = history["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["publisher"] == format!("w{w}"))
            .count();
        assert_eq!(mine, EACH, "every publish of w{w} is there once");
        let own = orch
            .ok(
                "artifact_history",
                json!({"artifact_id": format!("own-{w}")}),
            )
            .await;
        assert_eq!(own["versions"].as_array().unwrap().len(), EACH);
    }
    for id in ["after-half", "join"] {
        let c = orch.ok("contract_get", json!({"contract_id": id})).await;
        assert_eq!(c["status"], "ready", "{id}");
        let readies = c["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "contract.ready")
            .count();
        assert_eq!(readies, 1, "{id} became ready exactly once");
    }
    let inbox = orch
        .ok("team_check_inbox", json!({"recipient": "reviewer"}))
        .await;
    assert_eq!(
        inbox["unread"].as_array().unwrap().len(),
        2,
        "one notification per ready contract: {inbox}"
    );
    for c in clients {
        c.close().await;
    }
    orch.close().await;
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(futs: impl Iterator<Item = F>) {
    let handles: Vec<_> = futs.collect();
    // join_all without a futures dependency: poll them together on this task.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// A server killed with SIGKILL in the middle of a burst of pipelined publishes.
#[tokio::test]
async fn sigkill_mid_burst_leaves_whole_versions_only() {
    let dir = DataDir::new();
    let mut child = tokio::process::Command::new(common::bin())
        .args(["serve", "--home"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let send = |v: Value| format!("{v}\n");
    stdin.write_all(send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "crash-test", "version": "0"}}})).as_bytes()).await.unwrap();
    lines
        .next_line()
        .await
        .unwrap()
        .expect("initialize answered");
    stdin
        .write_all(
            send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).as_bytes(),
        )
        .await
        .unwrap();
    // Pipeline far more publishes than will finish before the kill.
    let mut burst = String::new();
    for i in 1..=3000 {
        burst.push_str(&send(json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "artifact_publish", "arguments": {"artifact_id": "burst", "type": "json", "data": {"i": i, "pad": "x".repeat(512)}}}})));
    }
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(burst.as_bytes()).await;
        stdin
    });
    let mut answered = 0;
    while answered < 100 {
        let line = lines.next_line().await.unwrap().expect("server answers");
        if line.contains("published `burst`") {
            answered += 1;
        }
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    drop(writer);

    // The store is intact and holds whole versions numbered without a gap.
    let hub = clearctx::Hub::open(dir.path(), clearctx::Caller::new("check", "default")).unwrap();
    assert_eq!(hub.integrity_check().unwrap(), "ok");
    let history = hub.artifact_history("burst").unwrap();
    let n = history.len() as u32;
    assert!(n >= 100, "at least the answered publishes are there: {n}");
    assert!(n < 3000, "the kill landed mid-burst");
    for (i, v) in history.iter().enumerate() {
        assert_eq!(v.version, i as u32 + 1);
    }
    let status = hub.status().unwrap();
    assert_eq!(
        status.events, n as i64,
        "one event per version, no orphan on either side"
    );
    for v in [1, n] {
        let got = hub
            .artifact_get(&clearctx::artifacts::GetRequest {
                artifact_id: "burst".into(),
                version: Some(v),
                reader: None,
            })
            .unwrap();
        assert_eq!(
            got.data.unwrap()["pad"].as_str().unwrap().len(),
            512,
            "v{v} is whole"
        );
    }
    drop(hub);

    // And the next process carries on from there.
    let next = dir.cli_json(&[
        "artifact",
        "publish",
        "burst",
        "--type",
        "json",
        "--data",
        "{\"after\": true}",
    ]);
    assert_eq!(next["version"], n + 1);
}

/// Eight processes starting together on a new data dir all open it (switching a new file to
/// WAL does not wait on SQLite's busy handler, so they must take turns).
#[test]
fn processes_starting_together_on_a_new_data_dir_all_open_it() {
    for _ in 0..50 {
        let dir = DataDir::new();
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(common::bin())
                    .arg("--home")
                    .arg(dir.path())
                    .arg("status")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The one commit path: artifact, contract, session and plugin events, written by two
/// servers, their session supervisors and the CLI at once, each reach the reactions exactly
/// once. The opt-in `witness` reaction records every event it sees with the seeing process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_the_reactions_once_whoever_writes_it() {
    let dir = DataDir::new();
    let mut env = common::fake_claude_env();
    env.push(("CLEARCTX_WITNESS_EVENTS".to_string(), "1".to_string()));
    let orch = dir.connect_with_env(None, &env).await;
    let qa = dir.connect_with_env(Some("qa"), &env).await;
    orch.ok(
        "contract_create",
        json!({"contract_id": "check-spec", "title": "Check the spec", "assignee": "qa",
        "dependencies": [{"type": "artifact", "id": "spec", "min_version": 3}]}),
    )
    .await;
    let plugin = common::fixture("require-owner");

    let orchestrate = async {
        for i in 0..5 {
            orch.ok(
                "artifact_publish",
                json!({"artifact_id": "spec", "type": "json", "data": {"draft": i, "owner": "orch"}}),
            )
            .await;
        }
        let s = orch
            .ok("spawn_session", json!({"name": "w1", "prompt": "hello"}))
            .await;
        assert_eq!(s["status"], "completed", "{s}");
        orch.ok("send_message", json!({"name": "w1", "message": "again"}))
            .await;
        orch.ok("stop_session", json!({"name": "w1"})).await;
    };
    let work = async {
        for i in 0..10 {
            qa.ok(
                "artifact_publish",
                json!({"artifact_id": "qa-notes", "type": "json", "data": {"note": i, "owner": "qa"}}),
            )
            .await;
        }
        // Ready once `spec` reaches v3, whichever server published it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while qa
            .ok("contract_get", json!({"contract_id": "check-spec"}))
            .await["status"]
            != "ready"
        {
            assert!(
                std::time::Instant::now() < deadline,
                "check-spec never became ready"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        qa.ok("contract_start", json!({"contract_id": "check-spec"}))
            .await;
        qa.ok("contract_complete", json!({"contract_id": "check-spec"}))
            .await;
    };
    // The CLI blocks; it runs on this worker thread while the others serve the servers.
    let cli = async {
        tokio::task::block_in_place(|| {
            let witness = [("CLEARCTX_WITNESS_EVENTS".to_string(), "1".to_string())];
            let run = |args: &[&str]| {
                let out = dir.cli_env(args, &witness);
                assert!(
                    out.status.success(),
                    "clearctx {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            run(&["plugin", "add", plugin.to_str().unwrap(), "--yes"]);
            run(&["plugin", "disable", "require-owner"]);
            run(&["plugin", "enable", "require-owner"]);
            run(&["plugin", "remove", "require-owner"]);
        })
    };
    tokio::join!(orchestrate, work, cli);
    orch.close().await;
    qa.close().await;

    let db = rusqlite::Connection::open(dir.path().join("clearctx.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let events = count("SELECT count(*) FROM events");
    assert_eq!(
        count(
            "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_witness w WHERE w.seq = e.seq)"
        ),
        0,
        "events no reaction saw"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM (SELECT seq FROM event_witness GROUP BY seq HAVING count(*) > 1)"
        ),
        0,
        "events seen twice"
    );
    assert_eq!(count("SELECT count(*) FROM event_witness"), events);
    assert!(
        count("SELECT count(DISTINCT pid) FROM event_witness") >= 3,
        "two servers and the CLI each wrote and reacted"
    );
    let kinds: Vec<String> = db
        .prepare("SELECT DISTINCT kind FROM events ORDER BY kind")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for kind in [
        "artifact.published",
        "contract.created",
        "contract.ready",
        "contract.started",
        "contract.completed",
        "session.spawned",
        "session.turn_completed",
        "session.stopped",
        "plugin.installed",
        "plugin.disabled",
        "plugin.enabled",
        "plugin.removed",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} event: {kinds:?}"
        );
    }
    // No reaction is behind the log.
    assert_eq!(count("SELECT count(*) FROM reactions_behind"), 0);
}
