//! Schema-driven fuzzing of every tool over raw stdio: arguments are generated from each
//! tool's own JSON Schema (`tools/list`) — right and wrong types, extreme numbers, deep and
//! huge values, odd strings, unknown fields — and every call must get a reply with its id,
//! no call may fail as an internal error (a panic shows as one), a refused call must change
//! nothing in the database, and the server must still be serving at the end.
//!
//! Bounded: `CLEARCTX_FUZZ_CASES` calls per tool (default 60) from `CLEARCTX_FUZZ_SEED`
//! (default fixed, so CI is repeatable). The corpus in `tests/fixtures/fuzz/corpus.jsonl`
//! (calls that once broke the server) runs first, every time. A failure prints the call;
//! add it to the corpus.

mod common;

use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::mpsc;
use std::time::Duration;

use common::DataDir;
use serde_json::{Map, Value, json};

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Strings a model or a script may send. None holds a fake-claude keyword (CRASH, HANG…).
fn odd_string(rng: &mut Rng) -> Value {
    let long_id = "a".repeat(129);
    let pool: Vec<String> = vec![
        String::new(),
        "a".into(),
        "fz-1".into(),
        "fz-2".into(),
        "orchestrator".into(),
        "json".into(),
        "api-contract".into(),
        "worker".into(),
        "../etc/passwd".into(),
        "/".into(),
        "/tmp".into(),
        "名前".into(),
        "a\u{0}b".into(),
        "  ".into(),
        "-".into(),
        "a,b".into(),
        "\u{202e}rtl".into(),
        long_id,
        "x".repeat(70_000),
        "ready".into(),
        "in_progress".into(),
        "read-only".into(),
        "sonnet".into(),
        "1e309".into(),
    ];
    json!(rng.pick(&pool))
}

fn odd_number(rng: &mut Rng, integer: bool) -> Value {
    let ints = [
        json!(0),
        json!(1),
        json!(-1),
        json!(2),
        json!(255),
        json!(4_294_967_295u64),
        json!(4_294_967_296u64),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1u64 << 63),
        json!(86_400),
        json!(86_401),
    ];
    let floats = [
        json!(0.0),
        json!(-0.0),
        json!(1e-10),
        json!(0.0001),
        json!(0.5),
        json!(1e308),
        json!(-1e308),
        json!(3.5),
    ];
    if integer && rng.chance(80) {
        rng.pick(&ints).clone()
    } else {
        rng.pick(&floats).clone()
    }
}

fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

/// Any JSON at all, for `data`, `inputs`, `result`.
fn any_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => {
            let integer = rng.chance(50);
            odd_number(rng, integer)
        }
        3 => odd_string(rng),
        4 if depth < 3 => Value::Array(
            (0..rng.below(4))
                .map(|_| any_json(rng, depth + 1))
                .collect(),
        ),
        5 if depth < 3 => {
            let mut m = Map::new();
            for i in 0..rng.below(4) {
                m.insert(format!("k{i}"), any_json(rng, depth + 1));
            }
            Value::Object(m)
        }
        6 => nested(*rng.pick(&[10, 95, 99, 130])),
        7 => json!({"blob": "y".repeat(*rng.pick(&[10, 100_000, 1_100_000]))}),
        _ => json!({"endpoints": ["GET /x"], "failed": 1, "tables": ["t"]}),
    }
}

/// The schema node a `$ref` points at, within the tool's own schema.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &root["$defs"][name]
        }
        None => schema,
    }
}

/// A value for `schema`: usually of its type, sometimes hostile.
fn generate(rng: &mut Rng, root: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(root, schema);
    if rng.chance(12) || depth > 4 {
        return any_json(rng, 0);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let option = rng.pick(options);
            return generate(rng, root, option, depth + 1);
        }
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(values) = schema["enum"].as_array() {
        return if rng.chance(85) {
            rng.pick(values).clone()
        } else {
            odd_string(rng)
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let Some(&t) = (!types.is_empty()).then(|| rng.pick(&types)) else {
        return any_json(rng, 0);
    };
    match t {
        "null" => Value::Null,
        "boolean" => json!(rng.chance(50)),
        "integer" => odd_number(rng, true),
        "number" => odd_number(rng, false),
        "string" => odd_string(rng),
        "array" => {
            let n = if rng.chance(5) { 300 } else { rng.below(4) };
            let items = &schema["items"];
            Value::Array(
                (0..n)
                    .map(|_| generate(rng, root, items, depth + 1))
                    .collect(),
            )
        }
        "object" => {
            let mut m = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(props) = schema["properties"].as_object() {
                for (name, prop) in props {
                    if required.contains(&name.as_str()) && rng.chance(95) || rng.chance(40) {
                        m.insert(name.clone(), generate(rng, root, prop, depth + 1));
                    }
                }
            }
            if rng.chance(5) {
                m.insert("surprise".into(), json!(1));
            }
            Value::Object(m)
        }
        _ => any_json(rng, 0),
    }
}

/// `clearctx serve` over raw stdio, with workers played by the fake claude.
struct Server {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<Value>,
    next_id: u64,
}

impl Server {
    fn start(dir: &DataDir, stderr: &std::path::Path) -> Server {
        let mut child = common::serve_command(dir.path())
            .envs(common::fake_claude_env())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let v = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("the server wrote a line that is not JSON ({e}): {line}")
                });
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut s = Server {
            child,
            stdin,
            replies,
            next_id: 1,
        };
        s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "0"}}),
        );
        s.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn write(&mut self, v: &Value) {
        let mut line = v.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns the reply with its id; panics after 60 s.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let reply = self
            .replies
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no reply to {method} {params} within 60 s"));
        assert_eq!(reply["id"], id, "a reply to another request: {reply}");
        reply
    }
}

/// What a refused call must leave as it was. Supervisors and the deadline ticker write on
/// their own (a killed worker's end, an overdue contract), so their events are not counted.
fn fingerprint(db: &std::path::Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    vec![
        q("SELECT count(*) FROM events WHERE kind NOT IN \
           ('session.stopped','session.failed','session.turn_completed','session.budget_exceeded') \
           AND actor != 'clearctx'"),
        q("SELECT count(*) FROM artifact_versions"),
        q("SELECT count(*) FROM contracts"),
        q("SELECT count(*) FROM sessions"),
        q("SELECT count(*) FROM session_requests"),
        q("SELECT count(*) FROM artifact_reads"),
    ]
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_tool_survives_arguments_generated_from_its_schema() {
    let dir = DataDir::new();
    let stderr = dir.path().join("serve.stderr");
    let mut s = Server::start(&dir, &stderr);
    let db = dir.path().join("clearctx.db");
    let tools = s.request("tools/list", json!({}))["result"]["tools"]
        .as_array()
        .unwrap()
        .clone();
    assert!(tools.len() >= 36);

    let corpus = include_str!("fixtures/fuzz/corpus.jsonl");
    let mut calls: Vec<(String, Value)> = corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("corpus lines are JSON");
            (
                v["tool"].as_str().unwrap().to_string(),
                v["arguments"].clone(),
            )
        })
        .collect();
    let mut rng = Rng(env_or("CLEARCTX_FUZZ_SEED", 20261201));
    let cases = env_or("CLEARCTX_FUZZ_CASES", 60);
    for _ in 0..cases {
        for tool in &tools {
            let args = generate(&mut rng, &tool["inputSchema"], &tool["inputSchema"], 0);
            calls.push((tool["name"].as_str().unwrap().to_string(), args));
        }
    }

    let (mut refused, mut done) = (0, 0);
    for (tool, args) in &calls {
        let call = json!({"tool": tool, "arguments": args});
        let shown: String = call.to_string().chars().take(600).collect();
        let before = fingerprint(&db);
        let reply = s.request("tools/call", json!({"name": tool, "arguments": args}));
        if let Some(e) = reply.get("error") {
            assert_ne!(e["code"], -32603, "an internal error: {e}\ncall: {shown}");
        }
        let ok = reply["result"]["isError"] != true && reply.get("error").is_none();
        if ok {
            done += 1;
        } else {
            refused += 1;
            assert_eq!(
                fingerprint(&db),
                before,
                "a refused call changed the data dir: {reply}\ncall: {shown}"
            );
        }
    }
    eprintln!(
        "fuzz: {} calls, {done} done, {refused} refused",
        calls.len()
    );
    assert!(done > 0 && refused > 0, "the generator should produce both");
    // Still serving, and nothing panicked along the way.
    let v = s.request(
        "tools/call",
        json!({"name": "server_version", "arguments": {}}),
    );
    assert_eq!(v["result"]["structuredContent"]["name"], "clearctx", "{v}");
    drop(s.stdin);
    let _ = s.child.wait();
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}
