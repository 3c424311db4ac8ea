//! Load: eight `clearctx serve` processes on one data dir, each making 1,000 mixed calls
//! (`CLEARCTX_LOAD_OPS`) one after another — publishes to its own artifact and to one they
//! all share, reads, contracts created, started and completed, lists, inbox checks. Nothing
//! is lost or duplicated and no call fails (a lock timeout would surface as one). Latency
//! percentiles are printed for BENCHMARKS.md, beside one process doing the same alone;
//! nothing here is timed against a limit.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::DataDir;
use serde_json::{Value, json};

struct Tally {
    own_versions: u64,
    shared_versions: Vec<u64>,
    contracts: Vec<String>,
    latencies: Vec<Duration>,
}

fn worker(home: std::path::PathBuf, me: usize, ops: usize) -> Tally {
    let mut child = common::serve_command(&home)
        .env("CLEARCTX_SESSION", format!("load-{me}"))
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut id = 0u64;
    let mut call = |method: &str, params: Value| -> Value {
        id += 1;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        let reply: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(reply["id"], id);
        if method == "initialize" {
            stdin
                .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
                .unwrap();
        }
        reply
    };
    call(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "load", "version": "0"}}),
    );
    let mut t = Tally {
        own_versions: 0,
        shared_versions: Vec::new(),
        contracts: Vec::new(),
        latencies: Vec::with_capacity(ops),
    };
    let own = format!("own-{me}");
    for n in 0..ops {
        let contract = format!("c-{me}-{}", n / 8);
        let (tool, args) = match n % 8 {
            0 => (
                "artifact_publish",
                json!({"artifact_id": own, "type": "json", "data": {"n": n}}),
            ),
            1 => (
                "artifact_publish",
                json!({"artifact_id": "shared", "type": "json", "data": {"by": me, "n": n}}),
            ),
            2 => ("artifact_get", json!({"artifact_id": "shared"})),
            3 => (
                "contract_create",
                json!({"contract_id": contract, "title": "t", "assignee": format!("load-{me}")}),
            ),
            4 => ("contract_start", json!({"contract_id": contract})),
            5 => (
                "contract_complete",
                json!({"contract_id": contract, "summary": "ok"}),
            ),
            6 => ("artifact_list", json!({"type": "json"})),
            _ => ("team_check_inbox", json!({})),
        };
        let started = Instant::now();
        let reply = call("tools/call", json!({"name": tool, "arguments": args}));
        t.latencies.push(started.elapsed());
        assert!(
            reply.get("error").is_none() && reply["result"]["isError"] != true,
            "load-{me} {tool}: {reply}"
        );
        let result = &reply["result"]["structuredContent"];
        match n % 8 {
            0 => t.own_versions += 1,
            1 => t.shared_versions.push(result["version"].as_u64().unwrap()),
            5 => t.contracts.push(contract),
            _ => {}
        }
    }
    drop(stdin);
    child.wait().unwrap();
    t
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn run(processes: usize, ops: usize) -> (Vec<Tally>, DataDir, Duration) {
    let dir = DataDir::new();
    let started = Instant::now();
    let handles: Vec<_> = (0..processes)
        .map(|me| {
            let home = dir.path().to_path_buf();
            std::thread::spawn(move || worker(home, me, ops))
        })
        .collect();
    let tallies = handles.into_iter().map(|h| h.join().unwrap()).collect();
    (tallies, dir, started.elapsed())
}

fn report(label: &str, tallies: &[Tally], wall: Duration) {
    let mut all: Vec<Duration> = tallies.iter().flat_map(|t| t.latencies.clone()).collect();
    all.sort();
    eprintln!(
        "load: {label}: {} calls in {:.2} s ({:.0}/s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[test]
fn eight_servers_on_one_data_dir_lose_and_duplicate_nothing() {
    let ops: usize = std::env::var("CLEARCTX_LOAD_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (alone, _, wall) = run(1, ops);
    report("1 server (baseline)", &alone, wall);
    let (tallies, dir, wall) = run(8, ops);
    report("8 servers", &tallies, wall);

    let hub = clearctx::Hub::open(dir.path(), clearctx::Caller::new("check", "default")).unwrap();
    assert_eq!(hub.integrity_check().unwrap(), "ok");
    // The shared artifact: every acknowledged version exactly once, no gap, nothing more.
    let mut shared: Vec<u64> = tallies
        .iter()
        .flat_map(|t| t.shared_versions.clone())
        .collect();
    shared.sort();
    let expected: Vec<u64> = (1..=shared.len() as u64).collect();
    assert_eq!(shared, expected, "versions of `shared` lost or given twice");
    assert_eq!(hub.artifact_history("shared").unwrap().len(), shared.len());
    for (me, t) in tallies.iter().enumerate() {
        let history = hub.artifact_history(&format!("own-{me}")).unwrap();
        assert_eq!(history.len() as u64, t.own_versions, "own-{me}");
        for c in &t.contracts {
            assert_eq!(
                hub.contract_get(c).unwrap().status.as_str(),
                "completed",
                "{c}"
            );
        }
    }
}
