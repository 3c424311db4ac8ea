//! Crashes: `clearctx serve` SIGKILLed at random points of bursts of publishes and contract
//! completions, round after round on one data dir (`CLEARCTX_CRASH_ROUNDS`, default 100).
//! Afterwards the file is intact, every artifact's versions are numbered without a gap,
//! every write that was acknowledged is there as acknowledged, and nothing is half-done.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

use common::DataDir;
use serde_json::{Value, json};

fn rounds() -> u64 {
    std::env::var("CLEARCTX_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

fn line(id: u64, tool: &str, args: Value) -> String {
    format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
    )
}

#[test]
fn acknowledged_writes_survive_a_hundred_sigkills() {
    let dir = DataDir::new();
    // (artifact, version) -> the data acknowledged for it.
    let mut acked: BTreeMap<(String, u64), Value> = BTreeMap::new();
    let mut completed: Vec<String> = Vec::new();
    let mut seed = 0x00c0_ffee_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..rounds() {
        let mut child = common::serve_command(dir.path()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut replies = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut reply = || -> Option<Value> {
            replies
                .next()
                .and_then(|l| l.ok())
                .map(|l| serde_json::from_str(&l).unwrap())
        };
        stdin.write_all(format!("{}\n", json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "crash", "version": "0"}}})).as_bytes()).unwrap();
        reply().expect("initialize answered");
        stdin
            .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .unwrap();
        // A contract to complete in this round's burst, set up before it.
        let contract = format!("c{round}");
        stdin
            .write_all(
                line(
                    1,
                    "contract_create",
                    json!({"contract_id": contract, "title": "t", "assignee": "orchestrator"}),
                )
                .as_bytes(),
            )
            .unwrap();
        assert!(reply().unwrap()["result"]["isError"] != true);
        stdin
            .write_all(line(2, "contract_start", json!({"contract_id": contract})).as_bytes())
            .unwrap();
        assert!(reply().unwrap()["result"]["isError"] != true);

        // The burst: publishes to a few artifacts, the completion among them.
        let mut burst = String::new();
        let mut sent: BTreeMap<u64, (String, Value)> = BTreeMap::new();
        for i in 0..60u64 {
            let id = 100 + i;
            if i == 30 {
                burst.push_str(&line(
                    id,
                    "contract_complete",
                    json!({"contract_id": contract, "summary": "done"}),
                ));
                continue;
            }
            let artifact = format!("a{}", i % 4);
            let data = json!({"round": round, "i": i, "pad": "p".repeat(200)});
            burst.push_str(&line(
                id,
                "artifact_publish",
                json!({"artifact_id": artifact, "type": "json", "data": data}),
            ));
            sent.insert(id, (artifact, data));
        }
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(burst.as_bytes());
            stdin
        });
        // Kill after a random number of answers: sometimes before any, sometimes late.
        let kill_after = next() % 45;
        let mut answered = 0;
        while answered < kill_after {
            let Some(r) = reply() else { break };
            answered += 1;
            let id = r["id"].as_u64().unwrap();
            assert!(
                r.get("error").is_none() && r["result"]["isError"] != true,
                "{r}"
            );
            let result = &r["result"]["structuredContent"];
            if let Some((artifact, data)) = sent.get(&id) {
                let version = result["version"].as_u64().unwrap();
                let old = acked.insert((artifact.clone(), version), data.clone());
                assert!(
                    old.is_none(),
                    "version {version} of {artifact} acknowledged twice"
                );
            } else {
                assert_eq!(result["status"], "completed", "{r}");
                completed.push(contract.clone());
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(writer.join());
    }

    let hub = clearctx::Hub::open(dir.path(), clearctx::Caller::new("check", "default")).unwrap();
    assert_eq!(hub.integrity_check().unwrap(), "ok");
    let mut versions = 0;
    for a in 0..4 {
        let artifact = format!("a{a}");
        let history = hub.artifact_history(&artifact).unwrap_or_default();
        for (i, v) in history.iter().enumerate() {
            assert_eq!(
                v.version,
                i as u32 + 1,
                "{artifact}: a gap before v{}",
                v.version
            );
        }
        versions += history.len();
    }
    for ((artifact, version), data) in &acked {
        let got = hub
            .artifact_get(&clearctx::artifacts::GetRequest {
                artifact_id: artifact.clone(),
                version: Some(*version as u32),
                reader: None,
            })
            .unwrap_or_else(|e| panic!("acknowledged {artifact} v{version} is gone: {e}"));
        assert_eq!(got.data.as_ref(), Some(data), "{artifact} v{version}");
    }
    for c in &completed {
        assert_eq!(
            hub.contract_get(c).unwrap().status.as_str(),
            "completed",
            "{c}"
        );
    }
    // One event per version published, and each contract wholly in one state.
    let db = rusqlite::Connection::open(dir.path().join("clearctx.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM events WHERE kind = 'artifact.published'"),
        versions as i64,
        "events and versions disagree"
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE kind = 'contract.completed'"),
        count("SELECT count(*) FROM contracts WHERE status = 'completed'"),
        "a completion without its event, or the reverse"
    );
    eprintln!(
        "crash: {} rounds, {versions} versions ({} acknowledged), {} completions acknowledged",
        rounds(),
        acked.len(),
        completed.len()
    );
    assert!(
        acked.len() > 100,
        "the kills should land after some answers"
    );
}
