//! Core performance figures, each beside a baseline measured in the same run:
//!
//! 1. `Hub::artifact_publish` throughput vs. raw one-row SQLite transactions;
//! 2. MCP round-trip latency of `artifact_get` vs. `ping` on the same `clearctx serve`;
//! 3. time from spawning `clearctx serve` to its `tools/list` answer vs. `clearctx --version`.
//!
//! Run with `cargo bench -p clearctx --bench core`; it prints a Markdown table at the end.
//! This is a plain program (`harness = false`), not a test: it asserts nothing about time.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use clearctx::artifacts::PublishRequest;
use clearctx::hub::{Caller, Hub};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_clearctx");

/// Publishes per round in figure 1.
const PUBLISHES: usize = 3000;
/// Figure 1 alternates raw and hub rounds so disk and CPU noise hits both alike.
const PUBLISH_ROUNDS: usize = 3;
/// Distinct artifact ids the publishes cycle through, so versions keep growing.
const ARTIFACT_IDS: usize = 10;
/// `json` is a built-in type, so the standard validator plugin is called on every publish
/// (its schema accepts anything, so the plugin returns without compiling one).
const VALIDATED_TYPE: &str = "json";
/// A built-in type with a real schema: the plugin compiles and applies it on every publish.
const SCHEMA_TYPE: &str = "test-results";
/// A type no plugin declares: the same publish path without the plugin call, to show how
/// much of figure 1 is the plugin and how much the store.
const UNVALIDATED_TYPE: &str = "bench-unvalidated";
/// Timed round trips per request kind in figure 2.
const ROUND_TRIPS: usize = 2000;
/// Untimed round trips first, so page cache, allocator and threads are warm.
const WARMUP: usize = 100;
/// Process runs per case in figure 3.
const STARTS: usize = 30;

/// Targets from the brief.
const TARGET_PUBLISH_RATIO: f64 = 1.0 / 3.0;
const TARGET_GET_MEDIAN_US: f64 = 1000.0;
const TARGET_START_MEDIAN_MS: f64 = 50.0;

fn main() -> Res<()> {
    // This run's machine-wide plugin cache: the first data dir compiles the validator into
    // it, the later ones find it there, as every new project on a user's machine does.
    let machine_cache = tempfile::tempdir()?;
    // SAFETY: nothing else runs yet; no thread reads the environment concurrently.
    unsafe { std::env::set_var("CLEARCTX_CACHE_DIR", machine_cache.path()) };
    let doc = payload();
    let results = test_results();
    eprintln!(
        "payload: {} bytes of JSON; test-results payload: {} bytes",
        doc.to_string().len(),
        results.to_string().len()
    );

    eprintln!("1/3 artifact_publish throughput ({PUBLISH_ROUNDS} rounds of {PUBLISHES})...");
    let publish = bench_publish(&doc, &results)?;

    eprintln!("2/3 MCP round trips ({ROUND_TRIPS} artifact_get + {ROUND_TRIPS} ping)...");
    let mcp = bench_round_trips(&doc)?;

    eprintln!("3/3 startup to tools/list ({STARTS} runs per case)...");
    let start = bench_startup()?;

    print_table(&publish, &mcp, &start);
    Ok(())
}

/// A JSON document of about 1 KB, shaped like a small API contract.
fn payload() -> Value {
    let endpoints: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "path": format!("/api/v1/resource-{i}/{{id}}"),
                "method": if i % 2 == 0 { "GET" } else { "POST" },
                "status": [200, 400, 404],
                "body": "application/json",
            })
        })
        .collect();
    json!({ "service": "bench", "version": "1.0.0", "endpoints": endpoints })
}

/// A passing `test-results` document of about 1 KB, with a failures list (the same as in
/// `plugins.rs`).
fn test_results() -> Value {
    let failures: Vec<Value> = (0..4)
        .map(|i| {
            json!({
                "name": format!("store::artifacts::tests::publish_rejects_case_{i}"),
                "message": format!("assertion `left == right` failed: expected 3 versions, found {i}; the resolver ran twice"),
                "file": format!("host/src/store/artifacts.rs:{}", 400 + i * 17),
            })
        })
        .collect();
    json!({
        "passed": 212,
        "failed": 4,
        "skipped": 3,
        "command": "cargo test --workspace --locked",
        "duration_ms": 48211.5,
        "failures": failures,
    })
}

// ---------------------------------------------------------------------------------------
// 1. artifact_publish throughput

struct Publish {
    raw_ops: f64,
    hub_ops: f64,
    /// The same publishes with a type no validator checks.
    unvalidated_ops: f64,
    /// Publishes of a `test-results` document: the validator applies a real schema.
    schema_ops: f64,
    /// The untimed first publish of round 1: a fresh data dir on a machine whose plugin
    /// cache is empty compiles the validator.
    first_cold: Duration,
    /// The first publish of each later round: a fresh data dir, the machine cache warm.
    first_warm: Duration,
    /// Validator receipts (`Version.validated_by.receipt`) of the timed publishes.
    hub_receipts: Receipts,
    schema_receipts: Receipts,
}

/// What the validator plugin used per publish, from the receipts in the publish results.
#[derive(Default)]
struct Receipts {
    fuel: Vec<u64>,
    wall_us: Vec<u64>,
}

impl Receipts {
    fn medians(&self) -> (u64, u64) {
        let (mut f, mut w) = (self.fuel.clone(), self.wall_us.clone());
        f.sort_unstable();
        w.sort_unstable();
        (
            f.get(f.len() / 2).copied().unwrap_or(0),
            w.get(w.len() / 2).copied().unwrap_or(0),
        )
    }
}

fn bench_publish(doc: &Value, results: &Value) -> Res<Publish> {
    let text = doc.to_string();
    let (mut raw, mut hub, mut unvalidated, mut schema, mut first) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut hub_receipts, mut schema_receipts) = (Receipts::default(), Receipts::default());
    for round in 0..PUBLISH_ROUNDS {
        // Each round gets fresh files, so every round starts from the same state.
        raw.push(raw_inserts(&text)?);
        let r = hub_publishes(doc, VALIDATED_TYPE, &mut hub_receipts)?;
        hub.push(r.0);
        first.push(r.1);
        unvalidated.push(hub_publishes(doc, UNVALIDATED_TYPE, &mut Receipts::default())?.0);
        schema.push(hub_publishes(results, SCHEMA_TYPE, &mut schema_receipts)?.0);
        eprintln!(
            "  round {}: raw {:.0} ops/s, hub {:.0} ops/s (first publish {:.0} ms), hub without validator {:.0} ops/s, hub {SCHEMA_TYPE} {:.0} ops/s",
            round + 1,
            raw[round],
            hub[round],
            ms(r.1),
            unvalidated[round],
            schema[round],
        );
    }
    Ok(Publish {
        raw_ops: median_f64(&mut raw),
        hub_ops: median_f64(&mut hub),
        unvalidated_ops: median_f64(&mut unvalidated),
        schema_ops: median_f64(&mut schema),
        first_cold: first[0],
        first_warm: percentile(&mut first[1..], 50.0),
        hub_receipts,
        schema_receipts,
    })
}

/// Baseline: the cheapest durable write SQLite can do with the store's pragmas.
fn raw_inserts(text: &str) -> Res<f64> {
    let dir = tempfile::tempdir()?;
    let mut conn = Connection::open(dir.path().join("raw.db"))?;
    // The same settings as `Store::open`.
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
        [],
    )?;
    let mut insert = || -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("INSERT INTO t (data) VALUES (?1)")?
            .execute([text])?;
        tx.commit()
    };
    // Untimed, like the hub's first publish.
    insert()?;
    let start = Instant::now();
    for _ in 0..PUBLISHES {
        insert()?;
    }
    Ok(PUBLISHES as f64 / start.elapsed().as_secs_f64())
}

/// The real path: the type's validator plugin (if any), then event append, version row,
/// resolver pass and one commit. Returns ops/s and the time of the untimed first publish;
/// adds the validator's receipt of each timed publish to `receipts`.
fn hub_publishes(
    doc: &Value,
    artifact_type: &str,
    receipts: &mut Receipts,
) -> Res<(f64, Duration)> {
    let dir = tempfile::tempdir()?;
    let caller = Caller::new("bench", "default");
    let hub = Hub::open(dir.path(), caller)?;
    // Requests are built before the clock starts: we time the hub, not the cloning.
    let requests: Vec<PublishRequest> = (0..ARTIFACT_IDS)
        .map(|i| PublishRequest {
            artifact_id: format!("artifact-{i}"),
            artifact_type: artifact_type.into(),
            data: doc.clone(),
            summary: Some("bench publish".into()),
            derived_from: Vec::new(),
            publisher: None,
            team: None,
            new_type: true,
        })
        .collect();
    // The first publish compiles (and caches) the validator plugin: a one-off cost, kept
    // off the throughput clock and reported on its own.
    let t = Instant::now();
    hub.artifact_publish(&PublishRequest {
        artifact_id: "warm-up".into(),
        ..requests[0].clone()
    })?;
    let first = t.elapsed();
    let mut validated = Vec::with_capacity(PUBLISHES);
    let start = Instant::now();
    for i in 0..PUBLISHES {
        validated.push(
            hub.artifact_publish(&requests[i % ARTIFACT_IDS])?
                .validated_by,
        );
    }
    let ops = PUBLISHES as f64 / start.elapsed().as_secs_f64();
    for v in validated.into_iter().flatten() {
        receipts.fuel.push(v.receipt.fuel_used);
        receipts.wall_us.push(v.receipt.wall_us);
    }
    let versions = PUBLISHES / ARTIFACT_IDS;
    let check = hub.artifact_history("artifact-0")?;
    if check.len() != versions {
        return Err(format!(
            "expected {versions} versions of artifact-0, found {}",
            check.len()
        )
        .into());
    }
    Ok((ops, first))
}

// ---------------------------------------------------------------------------------------
// 2. MCP round trips

/// A `clearctx serve` child spoken to in newline-delimited JSON-RPC, by hand, so the
/// figures include no client library's overhead.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
}

impl Server {
    fn spawn(home: &Path) -> Res<Server> {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--home")
            .arg(home)
            // An identity exported in the shell must not change what we measure.
            .env_remove("CLEARCTX_SESSION")
            .env_remove("CLEARCTX_TEAM")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        Ok(Server {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            next_id: 1,
            line: String::new(),
        })
    }

    /// `initialize` then `notifications/initialized`: what every MCP client sends first.
    fn handshake(&mut self) -> Res<()> {
        self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "clearctx-bench", "version": "0" },
            }),
        )?;
        self.notify("notifications/initialized")
    }

    fn send(&mut self, message: &Value) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        // One message per line, flushed, as the stdio transport requires.
        writeln!(stdin, "{message}")?;
        stdin.flush()?;
        Ok(())
    }

    fn notify(&mut self, method: &str) -> Res<()> {
        self.send(&json!({ "jsonrpc": "2.0", "method": method }))
    }

    /// Sends one request and reads lines until the response with its id; returns `result`.
    fn request(&mut self, method: &str, params: Value) -> Res<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message)?;
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line)? == 0 {
                return Err(format!("server closed stdout before answering {method}").into());
            }
            let mut reply: Value = serde_json::from_str(&self.line)?;
            // Anything else (a server notification, say) is not our answer.
            if reply["id"] != json!(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(format!("{method} failed: {error}").into());
            }
            return Ok(reply["result"].take());
        }
    }

    /// Calls a tool; a tool-level error (`isError`) is a failure too.
    fn call(&mut self, tool: &str, arguments: Value) -> Res<Value> {
        let result = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )?;
        if result["isError"] == json!(true) {
            return Err(format!("{tool} returned an error: {result}").into());
        }
        Ok(result)
    }

    /// Closes stdin (the end of the session) and waits for the process to exit.
    fn close(mut self) -> Res<()> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("clearctx serve exited with {status}").into());
        }
        Ok(())
    }
}

struct RoundTrips {
    get: Vec<Duration>,
    ping: Vec<Duration>,
}

fn bench_round_trips(doc: &Value) -> Res<RoundTrips> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::spawn(dir.path())?;
    server.handshake()?;
    server.call(
        "artifact_publish",
        json!({ "artifact_id": "a", "type": "json", "data": doc }),
    )?;

    let get = json!({ "artifact_id": "a" });
    for _ in 0..WARMUP {
        server.call("artifact_get", get.clone())?;
        server.request("ping", Value::Null)?;
    }
    // Interleaved, so both kinds see the same background load.
    let mut out = RoundTrips {
        get: Vec::with_capacity(ROUND_TRIPS),
        ping: Vec::with_capacity(ROUND_TRIPS),
    };
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        let result = server.call("artifact_get", get.clone())?;
        out.get.push(t.elapsed());
        if result["structuredContent"]["artifact_id"] != "a" {
            return Err(format!("artifact_get answered something else: {result}").into());
        }

        let t = Instant::now();
        server.request("ping", Value::Null)?;
        out.ping.push(t.elapsed());
    }
    server.close()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// 3. startup

struct Startup {
    fresh: Vec<Duration>,
    reused: Vec<Duration>,
    version: Vec<Duration>,
    tools: usize,
}

/// Spawn to `tools/list` answer; stdin is closed and the exit awaited off the clock.
fn start_to_tools_list(home: &Path) -> Res<(Duration, usize)> {
    let t = Instant::now();
    let mut server = Server::spawn(home)?;
    server.handshake()?;
    let list = server.request("tools/list", Value::Null)?;
    let elapsed = t.elapsed();
    let tools = list["tools"].as_array().map_or(0, Vec::len);
    server.close()?;
    Ok((elapsed, tools))
}

/// Baseline: the bare cost of starting this binary and letting it exit.
fn version_run() -> Res<Duration> {
    let t = Instant::now();
    let status = Command::new(BIN)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let elapsed = t.elapsed();
    if !status.success() {
        return Err(format!("clearctx --version exited with {status}").into());
    }
    Ok(elapsed)
}

fn bench_startup() -> Res<Startup> {
    let reused_dir = tempfile::tempdir()?;
    // Creates and migrates the reused data dir once, off the clock.
    start_to_tools_list(reused_dir.path())?;

    let mut out = Startup {
        fresh: Vec::new(),
        reused: Vec::new(),
        version: Vec::new(),
        tools: 0,
    };
    // Interleaved for the same reason as in figure 2.
    for _ in 0..STARTS {
        // A fresh dir pays for creating the file and running the migration.
        let fresh_dir = tempfile::tempdir()?;
        let (elapsed, tools) = start_to_tools_list(fresh_dir.path())?;
        out.fresh.push(elapsed);
        out.tools = tools;

        out.reused.push(start_to_tools_list(reused_dir.path())?.0);
        out.version.push(version_run()?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Statistics and the report

/// Nearest-rank percentile of `samples` (sorted in place), `p` in 0..=100.
fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn print_table(publish: &Publish, mcp: &RoundTrips, start: &Startup) {
    let ratio = publish.hub_ops / publish.raw_ops;
    let (mut get, mut ping) = (mcp.get.clone(), mcp.ping.clone());
    let get_p50 = us(percentile(&mut get, 50.0));
    let (mut fresh, mut reused, mut version) = (
        start.fresh.clone(),
        start.reused.clone(),
        start.version.clone(),
    );
    let fresh_p50 = ms(percentile(&mut fresh, 50.0));
    let reused_p50 = ms(percentile(&mut reused, 50.0));

    println!();
    println!("| Figure | Measured | Baseline (same run) | Target | Met |");
    println!("|---|---|---|---|---|");
    let (hub_fuel, hub_wall) = publish.hub_receipts.medians();
    let (schema_fuel, schema_wall) = publish.schema_receipts.medians();
    println!(
        "| 1. `artifact_publish` via `Hub`, ~1 KB data, type `{VALIDATED_TYPE}`, {ARTIFACT_IDS} ids, {PUBLISHES} ops (median of {PUBLISH_ROUNDS} rounds) | {:.0} ops/s ({:.2}x raw); validator receipt: median {hub_fuel} fuel, {hub_wall} us | raw `BEGIN IMMEDIATE; INSERT; COMMIT`, same pragmas: {:.0} ops/s | >= 1/3 of raw | {} |",
        publish.hub_ops,
        ratio,
        publish.raw_ops,
        met(ratio >= TARGET_PUBLISH_RATIO),
    );
    println!(
        "| 1b. first `artifact_publish` on a fresh data dir, machine plugin cache empty (compiles the validator) | {:.0} ms | — | — | — |",
        ms(publish.first_cold),
    );
    println!(
        "| 1e. first `artifact_publish` on a fresh data dir, machine plugin cache warm, median of {} | {:.1} ms | 1b: {:.0} ms | <= 50 ms | {} |",
        PUBLISH_ROUNDS - 1,
        ms(publish.first_warm),
        ms(publish.first_cold),
        met(ms(publish.first_warm) <= 50.0),
    );
    println!(
        "| 1c. diagnostic: figure 1 with type `{UNVALIDATED_TYPE}` (no validator plugin) | {:.0} ops/s ({:.2}x raw) | the raw figure above | >= 1/3 of raw | {} |",
        publish.unvalidated_ops,
        publish.unvalidated_ops / publish.raw_ops,
        met(publish.unvalidated_ops / publish.raw_ops >= TARGET_PUBLISH_RATIO),
    );
    println!(
        "| 1d. diagnostic: figure 1 with type `{SCHEMA_TYPE}` (~1 KB, 4 failures; the plugin applies its schema) | {:.0} ops/s ({:.2}x raw); validator receipt: median {schema_fuel} fuel, {schema_wall} us | the raw figure above | >= 1/3 of raw | {} |",
        publish.schema_ops,
        publish.schema_ops / publish.raw_ops,
        met(publish.schema_ops / publish.raw_ops >= TARGET_PUBLISH_RATIO),
    );
    println!(
        "| 2. MCP `artifact_get` round trip over stdio, {ROUND_TRIPS} calls | median {:.0} us, p90 {:.0} us, p99 {:.0} us | `ping`: median {:.0} us, p90 {:.0} us, p99 {:.0} us | median < 1000 us | {} |",
        get_p50,
        us(percentile(&mut get, 90.0)),
        us(percentile(&mut get, 99.0)),
        us(percentile(&mut ping, 50.0)),
        us(percentile(&mut ping, 90.0)),
        us(percentile(&mut ping, 99.0)),
        met(get_p50 < TARGET_GET_MEDIAN_US),
    );
    let version_cell = format!(
        "`clearctx --version`: median {:.1} ms, p90 {:.1} ms",
        ms(percentile(&mut version, 50.0)),
        ms(percentile(&mut version, 90.0)),
    );
    println!(
        "| 3a. spawn `clearctx serve` to `tools/list` answer ({} tools), fresh data dir, {STARTS} runs | median {:.1} ms, p90 {:.1} ms | {version_cell} | median < 50 ms | {} |",
        start.tools,
        fresh_p50,
        ms(percentile(&mut fresh, 90.0)),
        met(fresh_p50 < TARGET_START_MEDIAN_MS),
    );
    println!(
        "| 3b. the same, reused (already migrated) data dir, {STARTS} runs | median {:.1} ms, p90 {:.1} ms | {version_cell} | median < 50 ms | {} |",
        reused_p50,
        ms(percentile(&mut reused, 90.0)),
        met(reused_p50 < TARGET_START_MEDIAN_MS),
    );
}
