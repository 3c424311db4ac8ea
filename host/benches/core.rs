//! Core performance figures, each beside a baseline measured in the same run:
//!
//! 1. `Hub::artifact_publish` throughput vs. raw one-row SQLite transactions;
//! 2. MCP round-trip latency of `artifact_get` vs. `ping` on the same `clearctx serve`;
//! 3. time from spawning `clearctx serve` to its `tools/list` answer vs. `clearctx --version`.
//!
//! Three more put `clearctx serve` beside a naive MCP server written for this benchmark
//! (`naive_server.py`: Python 3 standard library, one SQLite transaction per publish, a bare
//! `SELECT` per get), in the same run:
//!
//! - 1f. `artifact_publish` over MCP, clearctx vs. the naive server;
//! - 2b. `artifact_get` round trips over MCP, clearctx vs. the naive server;
//! - 3c. the idle RSS of `clearctx serve` once the standard plugins are warm, beside the
//!   naive server's.
//!
//! Run with `cargo bench -p clearctx --bench core`; it prints a Markdown table at the end.
//! It needs `python3` for the naive server.
//! This is a plain program (`harness = false`), not a test: it asserts nothing about time.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use clearctx::artifacts::PublishRequest;
use clearctx::hub::{Caller, Hub};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};

#[path = "common/mod.rs"]
mod common;
use common::{proc_kb, vary};

type Res<T> = Result<T, Box<dyn Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_clearctx");
/// The benchmark's own baseline MCP server (see its docstring).
const NAIVE_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/naive_server.py");

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
/// Publishes over MCP per round and server in figure 1f.
const MCP_PUBLISHES: usize = 1000;
/// Figure 1f alternates clearctx and naive-server rounds, like figure 1.
const MCP_PUBLISH_ROUNDS: usize = 3;
/// How long figure 3c leaves `clearctx serve` idle before reading its memory: the server
/// may warm the other standard plugins in the background once it starts.
const IDLE_WAIT: Duration = Duration::from_secs(3);

/// Targets from the brief.
const TARGET_PUBLISH_RATIO: f64 = 1.0 / 3.0;
const TARGET_GET_MEDIAN_US: f64 = 1000.0;
const TARGET_START_MEDIAN_MS: f64 = 50.0;
/// Figure 1f: clearctx publishes over MCP at least as fast as the naive server.
const TARGET_MCP_PUBLISH_RATIO: f64 = 1.0;
/// Figure 3c: VmRSS of the idle, warm `clearctx serve`, in MiB.
const TARGET_IDLE_RSS_MIB: f64 = 60.0;

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

    let python = python()?;
    if std::env::var("CORE_ONLY").as_deref() == Ok("get") {
        let _warm_home = warm_machine(machine_cache.path())?;
        return bench_get_only(&python, &doc);
    }

    eprintln!("1/5 artifact_publish throughput ({PUBLISH_ROUNDS} rounds of {PUBLISHES})...");
    let publish = bench_publish(&doc, &results)?;

    // From here on the machine has compiled every standard plugin once, as a user's has
    // after their first session: each `serve` below warms them after its handshake, and on
    // a cold cache that compile (seconds of CPU) would run beside the calls measured. It is
    // also what "warm" means for 3c (a cold compile's heap is not an idle server's memory).
    let _warm_home = warm_machine(machine_cache.path())?;

    eprintln!(
        "2/5 artifact_publish over MCP, clearctx vs. naive server ({MCP_PUBLISH_ROUNDS} rounds of {MCP_PUBLISHES} each)..."
    );
    let mcp_publish = bench_mcp_publish(&python, &doc)?;

    eprintln!(
        "3/5 MCP round trips ({ROUND_TRIPS} artifact_get + {ROUND_TRIPS} ping on clearctx and on the naive server)..."
    );
    let mcp = bench_round_trips(&python, &doc)?;

    eprintln!("4/5 startup to tools/list ({STARTS} runs per case)...");
    let start = bench_startup()?;

    eprintln!(
        "5/5 idle memory of clearctx serve ({} s after two publishes)...",
        IDLE_WAIT.as_secs()
    );
    let idle = bench_idle(&python, &doc, &results)?;

    print_table(&publish, &mcp_publish, &mcp, &start, &idle);
    Ok(())
}

/// Compiles every standard plugin into the machine cache `cache` (from a scratch data dir,
/// returned so it outlives the call).
fn warm_machine(cache: &Path) -> Res<tempfile::TempDir> {
    let home = tempfile::tempdir()?;
    clearctx::plugins::PluginHost::with_cache(home.path(), cache).warm_standard();
    Ok(home)
}

/// The Python 3 interpreter for the naive server, resolved once (`python3` may be a shim
/// that would add its own start-up to every spawn).
fn python() -> Res<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("the naive server needs python3: {e}"))?;
    if !out.status.success() {
        return Err(format!("python3 exited with {}", out.status).into());
    }
    let path = String::from_utf8(out.stdout)?.trim().to_string();
    if path.is_empty() {
        return Err("python3 did not say where it is (sys.executable is empty)".into());
    }
    Ok(PathBuf::from(path))
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
    // Requests are built before the clock starts: we time the hub, not the cloning. Each
    // carries different content, so no validation is answered from the plugin memo.
    let requests: Vec<PublishRequest> = (0..PUBLISHES)
        .map(|i| PublishRequest {
            artifact_id: format!("artifact-{}", i % ARTIFACT_IDS),
            artifact_type: artifact_type.into(),
            data: vary(doc, i),
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
        validated.push(hub.artifact_publish(&requests[i])?.validated_by);
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
// 1f. artifact_publish over MCP, clearctx vs. the naive server

struct McpPublish {
    /// ops/s of each round, in round order.
    clearctx: Vec<f64>,
    naive: Vec<f64>,
}

impl McpPublish {
    fn medians(&self) -> (f64, f64) {
        (
            median_f64(&mut self.clearctx.clone()),
            median_f64(&mut self.naive.clone()),
        )
    }
}

fn bench_mcp_publish(python: &Path, doc: &Value) -> Res<McpPublish> {
    let mut out = McpPublish {
        clearctx: Vec::new(),
        naive: Vec::new(),
    };
    for round in 0..MCP_PUBLISH_ROUNDS {
        // Fresh files every round; the side that goes first alternates, so a trend in the
        // machine's load (or the disk's) does not favour one of them.
        let clearctx_dir = tempfile::tempdir()?;
        let naive_dir = tempfile::tempdir()?;
        let clearctx = || mcp_publishes(Server::spawn(clearctx_dir.path())?, doc);
        let naive = || {
            mcp_publishes(
                Server::naive(python, &naive_dir.path().join("naive.db"))?,
                doc,
            )
        };
        let (c, n) = if round % 2 == 0 {
            let c = clearctx()?;
            (c, naive()?)
        } else {
            let n = naive()?;
            (clearctx()?, n)
        };
        out.clearctx.push(c);
        out.naive.push(n);
        eprintln!(
            "  round {} ({} first): clearctx {c:.0} ops/s, naive server {n:.0} ops/s ({:.2}x)",
            round + 1,
            if round % 2 == 0 { "clearctx" } else { "naive" },
            c / n,
        );
    }
    Ok(out)
}

/// Handshake, one untimed publish (clearctx loads the validator on it), then
/// [`MCP_PUBLISHES`] sequential `artifact_publish` calls of type [`VALIDATED_TYPE`] cycling
/// over [`ARTIFACT_IDS`] ids, on one connection. Returns ops/s.
fn mcp_publishes(mut server: Server, doc: &Value) -> Res<f64> {
    server.handshake()?;
    server.publish("warm-up", VALIDATED_TYPE, doc)?;
    // Arguments are built before the clock starts, for both servers alike.
    // Each publish carries different content (no memo answers the validation).
    let arguments: Vec<Value> = (0..MCP_PUBLISHES)
        .map(|i| {
            let id = format!("artifact-{}", i % ARTIFACT_IDS);
            json!({ "artifact_id": id, "type": VALIDATED_TYPE, "data": vary(doc, i) })
        })
        .collect();
    let mut versions = vec![0; ARTIFACT_IDS];
    let start = Instant::now();
    for (i, arguments) in arguments.into_iter().enumerate() {
        let id = i % ARTIFACT_IDS;
        let result = server.call("artifact_publish", arguments)?;
        versions[id] = result["structuredContent"]["version"].as_u64().unwrap_or(0);
    }
    let ops = MCP_PUBLISHES as f64 / start.elapsed().as_secs_f64();
    // Every publish made a new version: the last one of each id is the count.
    let expected = (MCP_PUBLISHES / ARTIFACT_IDS) as u64;
    if versions.iter().any(|&v| v != expected) {
        return Err(format!(
            "{}: expected version {expected} last of every id, got {versions:?}",
            server.name
        )
        .into());
    }
    server.close()?;
    Ok(ops)
}

// ---------------------------------------------------------------------------------------
// 2. MCP round trips

/// An MCP server child (`clearctx serve`, or the naive server) spoken to in
/// newline-delimited JSON-RPC, by hand, so the figures include no client library's overhead.
struct Server {
    /// What the errors call it.
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
}

impl Server {
    /// `clearctx serve` on the data dir `home`.
    fn spawn(home: &Path) -> Res<Server> {
        Server::spawn_bin(BIN, home)
    }

    /// `clearctx serve` of the binary `bin` on the data dir `home`.
    fn spawn_bin(bin: &str, home: &Path) -> Res<Server> {
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .arg("--home")
            .arg(home)
            // An identity exported in the shell must not change what we measure.
            .env_remove("CLEARCTX_SESSION")
            .env_remove("CLEARCTX_TEAM")
            // Its log is not what we measure either.
            .stderr(Stdio::null());
        Server::spawn_command("clearctx serve", command)
    }

    /// The naive server (`naive_server.py`) on the SQLite file `db`, run by `python`.
    fn naive(python: &Path, db: &Path) -> Res<Server> {
        let mut command = Command::new(python);
        // It writes nothing to stderr unless it fails: then its traceback helps.
        command.arg(NAIVE_SERVER).arg(db).stderr(Stdio::inherit());
        Server::spawn_command("the naive server", command)
    }

    /// Any stdio MCP server: `command` with its stdin and stdout piped to us.
    fn spawn_command(name: &'static str, mut command: Command) -> Res<Server> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        Ok(Server {
            name,
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
                return Err(
                    format!("{} closed stdout before answering {method}", self.name).into(),
                );
            }
            let mut reply: Value = serde_json::from_str(&self.line)?;
            // Anything else (a server notification, say) is not our answer.
            if reply["id"] != json!(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(format!("{}: {method} failed: {error}", self.name).into());
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
            return Err(format!("{}: {tool} returned an error: {result}", self.name).into());
        }
        Ok(result)
    }

    /// Publishes `data` as the next version of `artifact_id`; returns the version the
    /// server says it stored.
    fn publish(&mut self, artifact_id: &str, artifact_type: &str, data: &Value) -> Res<u64> {
        let result = self.call(
            "artifact_publish",
            json!({ "artifact_id": artifact_id, "type": artifact_type, "data": data }),
        )?;
        result["structuredContent"]["version"]
            .as_u64()
            .ok_or_else(|| {
                format!(
                    "{}: artifact_publish answered no version: {result}",
                    self.name
                )
                .into()
            })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin (the end of the session) and waits for the process to exit.
    fn close(mut self) -> Res<()> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("{} exited with {status}", self.name).into());
        }
        Ok(())
    }
}

struct RoundTrips {
    get: Vec<Duration>,
    ping: Vec<Duration>,
    /// The same two on the naive server (figure 2b).
    naive_get: Vec<Duration>,
    naive_ping: Vec<Duration>,
}

/// One timed `artifact_get` of `a`; checks that the answer is `a`.
fn timed_get(server: &mut Server, get: &Value) -> Res<Duration> {
    let t = Instant::now();
    let result = server.call("artifact_get", get.clone())?;
    let elapsed = t.elapsed();
    if result["structuredContent"]["artifact_id"] != "a" {
        return Err(format!(
            "{}: artifact_get answered something else: {result}",
            server.name
        )
        .into());
    }
    Ok(elapsed)
}

fn timed_ping(server: &mut Server) -> Res<Duration> {
    let t = Instant::now();
    server.request("ping", Value::Null)?;
    Ok(t.elapsed())
}

fn bench_round_trips(python: &Path, doc: &Value) -> Res<RoundTrips> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::spawn(dir.path())?;
    let mut naive = Server::naive(python, &dir.path().join("naive.db"))?;
    let get = json!({ "artifact_id": "a" });
    for s in [&mut server, &mut naive] {
        s.handshake()?;
        s.publish("a", "json", doc)?;
        // Both answer with the document as published.
        let result = s.call("artifact_get", get.clone())?;
        if result["structuredContent"]["data"] != *doc {
            return Err(format!("{}: artifact_get changed the data: {result}", s.name).into());
        }
    }

    for _ in 0..WARMUP {
        server.call("artifact_get", get.clone())?;
        server.request("ping", Value::Null)?;
        naive.call("artifact_get", get.clone())?;
        naive.request("ping", Value::Null)?;
    }
    // Interleaved, so every kind on both servers sees the same background load.
    let mut out = RoundTrips {
        get: Vec::with_capacity(ROUND_TRIPS),
        ping: Vec::with_capacity(ROUND_TRIPS),
        naive_get: Vec::with_capacity(ROUND_TRIPS),
        naive_ping: Vec::with_capacity(ROUND_TRIPS),
    };
    for _ in 0..ROUND_TRIPS {
        out.get.push(timed_get(&mut server, &get)?);
        out.ping.push(timed_ping(&mut server)?);
        out.naive_get.push(timed_get(&mut naive, &get)?);
        out.naive_ping.push(timed_ping(&mut naive)?);
    }
    server.close()?;
    naive.close()?;
    Ok(out)
}

/// `CORE_ONLY=get`: figure 2b alone, for working on it; with `CORE_BEFORE_BIN` (another
/// build of clearctx) that one too, interleaved, so a change is measured beside what it
/// changed and beside the naive server in one run.
fn bench_get_only(python: &Path, doc: &Value) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let before = std::env::var("CORE_BEFORE_BIN").ok();
    let mut servers = vec![Server::spawn(&dir.path().join("now"))?];
    if let Some(b) = &before {
        servers.push(Server::spawn_bin(b, &dir.path().join("before"))?);
    }
    servers.push(Server::naive(python, &dir.path().join("naive.db"))?);
    let get = json!({ "artifact_id": "a" });
    for s in servers.iter_mut() {
        s.handshake()?;
        s.publish("a", "json", doc)?;
        for _ in 0..WARMUP {
            timed_get(s, &get)?;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); servers.len()];
    for _ in 0..ROUND_TRIPS {
        for (s, out) in servers.iter_mut().zip(samples.iter_mut()) {
            out.push(timed_get(s, &get)?);
        }
    }
    let names: Vec<&str> = if before.is_some() { vec!["now", "before", "naive"] } else { vec!["now", "naive"] };
    let naive = percentile(&mut samples.last().unwrap().clone(), 50.0);
    for (name, mut s) in names.into_iter().zip(samples) {
        let m = percentile(&mut s, 50.0);
        println!("artifact_get {name}: {} ({:.2}x the naive median)", latencies_us(&s), m.as_secs_f64() / naive.as_secs_f64());
    }
    for s in servers {
        s.close()?;
    }
    Ok(())
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
// 3c. idle memory

/// Memory of `clearctx serve` (and of the naive server beside it), in bytes.
struct Idle {
    /// VmRSS after the handshake, before any publish.
    rss_handshake: u64,
    /// VmRSS right after the two publishes, before the wait.
    rss_published: u64,
    /// VmRSS and VmHWM after [`IDLE_WAIT`] idle: the figure.
    rss: u64,
    hwm: u64,
    /// The naive server after the same calls and the same wait.
    naive_rss: u64,
    naive_hwm: u64,
}

/// `serve` on a fresh data dir: handshake, a `test-results` publish (the validator compiles
/// and applies its schema) and a `json` one, then [`IDLE_WAIT`] with nothing to do.
fn bench_idle(python: &Path, doc: &Value, results: &Value) -> Res<Idle> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::spawn(dir.path())?;
    let mut naive = Server::naive(python, &dir.path().join("naive.db"))?;
    server.handshake()?;
    naive.handshake()?;
    let rss_handshake = proc_kb(server.pid(), "VmRSS")?;
    for s in [&mut server, &mut naive] {
        s.publish("results", SCHEMA_TYPE, results)?;
        s.publish("doc", VALIDATED_TYPE, doc)?;
    }
    let rss_published = proc_kb(server.pid(), "VmRSS")?;
    std::thread::sleep(IDLE_WAIT);
    let out = Idle {
        rss_handshake,
        rss_published,
        rss: proc_kb(server.pid(), "VmRSS")?,
        hwm: proc_kb(server.pid(), "VmHWM")?,
        naive_rss: proc_kb(naive.pid(), "VmRSS")?,
        naive_hwm: proc_kb(naive.pid(), "VmHWM")?,
    };
    // Still answering after the wait.
    server.request("ping", Value::Null)?;
    server.close()?;
    naive.close()?;
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

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `median …, p90 …, p99 …` of `samples`, in microseconds.
fn latencies_us(samples: &[Duration]) -> String {
    let mut s = samples.to_vec();
    format!(
        "median {:.0} us, p90 {:.0} us, p99 {:.0} us",
        us(percentile(&mut s, 50.0)),
        us(percentile(&mut s, 90.0)),
        us(percentile(&mut s, 99.0)),
    )
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn print_table(
    publish: &Publish,
    mcp_publish: &McpPublish,
    mcp: &RoundTrips,
    start: &Startup,
    idle: &Idle,
) {
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
    let (mcp_c, mcp_n) = mcp_publish.medians();
    let rounds = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| 1f. `artifact_publish` over MCP (`clearctx serve`, stdio), ~1 KB data, type `{VALIDATED_TYPE}`, {ARTIFACT_IDS} ids, {MCP_PUBLISHES} sequential calls (median of {MCP_PUBLISH_ROUNDS} rounds) | {mcp_c:.0} ops/s (**{:.2}x** the naive server; rounds {}) | naive one-insert MCP server (`naive_server.py`: Python `sqlite3`, WAL, `synchronous=FULL`, one transaction per publish): {mcp_n:.0} ops/s (rounds {}) | >= 1.0x the naive server | {} |",
        mcp_c / mcp_n,
        rounds(&mcp_publish.clearctx),
        rounds(&mcp_publish.naive),
        met(mcp_c / mcp_n >= TARGET_MCP_PUBLISH_RATIO),
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
    let naive_get_p50 = us(percentile(&mut mcp.naive_get.clone(), 50.0));
    println!(
        "| 2b. MCP `artifact_get` round trip, clearctx vs. the naive server, {ROUND_TRIPS} calls each (interleaved) | clearctx: {} ({:.2}x the naive median) | naive server `artifact_get` (one `SELECT`, no write): {}; its `ping`: {} | clearctx median <= naive median | {} |",
        latencies_us(&mcp.get),
        get_p50 / naive_get_p50,
        latencies_us(&mcp.naive_get),
        latencies_us(&mcp.naive_ping),
        met(get_p50 <= naive_get_p50),
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
    println!(
        "| 3c. idle memory of `clearctx serve`, fresh data dir, after handshake + one `{SCHEMA_TYPE}` and one `{VALIDATED_TYPE}` publish + {} s idle | VmRSS **{:.1} MiB**, VmHWM {:.1} MiB (VmRSS {:.1} MiB after the handshake, {:.1} MiB right after the publishes) | naive server after the same calls and wait: VmRSS {:.1} MiB, VmHWM {:.1} MiB | VmRSS <= {TARGET_IDLE_RSS_MIB:.0} MiB | {} |",
        IDLE_WAIT.as_secs(),
        mib(idle.rss),
        mib(idle.hwm),
        mib(idle.rss_handshake),
        mib(idle.rss_published),
        mib(idle.naive_rss),
        mib(idle.naive_hwm),
        met(mib(idle.rss) <= TARGET_IDLE_RSS_MIB),
    );
}
