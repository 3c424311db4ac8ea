//! Session performance figures, each beside a baseline measured in the same run:
//!
//! 7. latency of one turn through clearctx (`send_message` over MCP to a session started
//!    with `spawn_session`) vs. the same turn written straight to a worker's stdin, (7a)
//!    with `tests/fixtures/fake-claude.py`, which answers at once, so the difference is
//!    clearctx's own overhead per turn, and (7b) with the real Claude Code CLI against a
//!    local mock of the Messages API;
//! 8. ten sessions driven at once (real CLI + mock): turns per second through one
//!    `clearctx serve` (ten concurrent `send_message` calls on one MCP connection) vs. ten
//!    `claude` processes driven directly by ten threads; and the memory of `clearctx serve`
//!    (peak and current) vs. that of one `claude` worker.
//!
//! Run with `cargo bench -p clearctx --bench sessions`; it prints a Markdown table at the
//! end. It needs `python3` and the pinned CLI (`scripts/install-claude.sh`, or
//! `CLEARCTX_TEST_CLAUDE` as in the tests). Workers started by clearctx get `--mcp-config`
//! with a `clearctx serve` of their own; row 7b' times a direct process started with the
//! same flags, to tell that cost from the relay's. This is a plain program
//! (`harness = false`), not a test: it asserts nothing about time.

#[path = "../../tests/common/mock_model.rs"]
mod mock_model;

use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_model::{MockModel, Reply};
use serde_json::{Value, json};

#[path = "common/mod.rs"]
mod common;
use common::proc_kb;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const BIN: &str = env!("CARGO_BIN_EXE_clearctx");
const FAKE_CLAUDE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/fake-claude.py"
);
/// Where scripts/install-claude.sh puts the pinned CLI; `CLEARCTX_TEST_CLAUDE` overrides
/// it, as in the tests.
const REAL_CLAUDE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../.cache/claude-code/node_modules/.bin/claude"
);

/// Timed turns per side in figure 7a (fake claude); the sides alternate turn by turn.
const FAKE_TURNS: usize = 200;
/// Untimed turns per side first, so caches, allocator and threads are warm.
const FAKE_WARMUP: usize = 10;
/// Timed turns per side in figure 7b (real CLI): each takes tens of milliseconds.
const REAL_TURNS: usize = 30;
const REAL_WARMUP: usize = 3;
/// Sessions driven at once in figure 8, and timed turns each.
const SESSIONS: usize = 10;
const TURNS_PER_SESSION: usize = 10;
/// Figure 8 alternates direct and clearctx rounds so load drift hits both alike.
const CONCURRENT_ROUNDS: usize = 5;
/// The identity of the diagnostic direct process's own `clearctx serve` (figure 7b).
const MIRROR_SESSION: &str = "bench-direct";
/// The mock model's answer to every request (billed as 1000 input + 100 output tokens).
const MOCK_REPLY: &str = "ok";
/// Past this, something hangs: the run is ended (children see their stdin close).
const WATCHDOG: Duration = Duration::from_secs(15 * 60);

fn main() {
    std::thread::spawn(|| {
        std::thread::sleep(WATCHDOG);
        eprintln!("error: the benchmark did not finish within {WATCHDOG:?}");
        std::process::exit(2);
    });
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let real = real_claude();
    if !real.exists() {
        return Err(format!(
            "the Claude Code CLI is not at {}: run scripts/install-claude.sh first",
            real.display()
        )
        .into());
    }
    // Every request of every CLI gets the same short answer, billed 1000 + 100 tokens.
    let model = MockModel::start(|_req| Some(Reply::text(MOCK_REPLY).usage(1000, 100)));

    eprintln!(
        "1/3 figure 7a: one turn, fake claude ({FAKE_WARMUP} warm-up + {FAKE_TURNS} timed turns per side)..."
    );
    let fake_dir = tempfile::tempdir()?;
    let fake = StandIn::fake(fake_dir.path())?;
    let fig7a = bench_one_turn(&fake, FAKE_WARMUP, FAKE_TURNS, None)?;

    eprintln!(
        "2/3 figure 7b: one turn, real claude + mock model ({REAL_WARMUP} warm-up + {REAL_TURNS} timed turns per side)..."
    );
    let real_dir = tempfile::tempdir()?;
    let real = StandIn::real(real_dir.path(), &model.url())?;
    let fig7b = bench_one_turn(&real, REAL_WARMUP, REAL_TURNS, Some(&model))?;

    eprintln!(
        "3/3 figure 8: {SESSIONS} sessions at once, {TURNS_PER_SESSION} timed turns each ({CONCURRENT_ROUNDS} rounds per side)..."
    );
    let concurrent_dir = tempfile::tempdir()?;
    let concurrent = StandIn::real(concurrent_dir.path(), &model.url())?;
    let fig8 = bench_concurrent(&concurrent)?;

    let unexpected = model.unexpected();
    if !unexpected.is_empty() {
        eprintln!(
            "note: the mock model could not answer {} request(s); the first: {}",
            unexpected.len(),
            unexpected[0]
        );
    }
    print_table(&fig7a, &fig7b, &fig8);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Processes

fn real_claude() -> PathBuf {
    std::env::var_os("CLEARCTX_TEST_CLAUDE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(REAL_CLAUDE), PathBuf::from)
}

/// A `claude` stand-in: which program, with which environment, answering what.
struct StandIn {
    label: &'static str,
    program: PathBuf,
    /// The whole environment of the CLI and of `clearctx serve` (which passes it on to its
    /// workers), or `None` for the inherited one.
    env: Option<Vec<(String, String)>>,
    /// The worker's working directory, the same for both sides.
    work_dir: PathBuf,
    /// Its fixed answer, or `None` for the fake's `echo: <message>`.
    reply: Option<&'static str>,
}

impl StandIn {
    fn fake(dir: &Path) -> Res<StandIn> {
        Ok(StandIn {
            label: "fake claude",
            program: PathBuf::from(FAKE_CLAUDE),
            // Inherited: `python3` may be a shim that needs the real HOME.
            env: None,
            work_dir: dir.to_path_buf(),
            reply: None,
        })
    }

    /// The real CLI with a throwaway HOME (`dir`) and a working dir inside it, so neither
    /// the user's settings nor this repository's CLAUDE.md change what it does.
    fn real(dir: &Path, base_url: &str) -> Res<StandIn> {
        let work_dir = dir.join("work");
        std::fs::create_dir(&work_dir)?;
        let mut env = vec![
            ("HOME".to_string(), dir.display().to_string()),
            ("ANTHROPIC_API_KEY".to_string(), "test-key".to_string()),
            ("ANTHROPIC_BASE_URL".to_string(), base_url.to_string()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".to_string(),
                "1".to_string(),
            ),
        ];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".to_string(), path.to_string_lossy().into_owned()));
        }
        Ok(StandIn {
            label: "real claude",
            program: real_claude(),
            env: Some(env),
            work_dir,
            reply: Some(MOCK_REPLY),
        })
    }

    fn apply_env(&self, cmd: &mut Command) {
        match &self.env {
            Some(env) => {
                cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
            }
            None => {
                // An identity or a Claude Code session of the shell running the bench must
                // not change what we measure.
                for k in [
                    "CLEARCTX_SESSION",
                    "CLEARCTX_TEAM",
                    "CLEARCTX_HOME",
                    "CLAUDECODE",
                    "CLAUDE_CODE_ENTRYPOINT",
                    "CLAUDE_CODE_SSE_PORT",
                ] {
                    cmd.env_remove(k);
                }
            }
        }
    }

    fn expected(&self, message: &str) -> String {
        self.reply
            .map_or_else(|| format!("echo: {message}"), String::from)
    }
}

/// A child in its own process group. Dropped, it gets a grace period to exit on its own
/// (its stdin, declared before it in its owner, is closed by then); after that its whole
/// group is killed.
struct Guard {
    child: Child,
    what: &'static str,
}

impl Guard {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit (stdin must be closed already); kills the group after `grace`.
    fn finish(&mut self, grace: Duration) -> Res<()> {
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("{} exited with {status}", self.what).into())
                };
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!("{} did not exit within {grace:?}; killed", self.what).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        // SAFETY: signalling the process group spawned for this child; a group that is
        // already gone is ESRCH, harmless.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.finish(Duration::from_secs(10));
        }
    }
}

/// A `claude` stand-in driven directly over stream-json: the baseline of every figure.
struct Direct {
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    guard: Guard,
    line: String,
}

impl Direct {
    /// The command of the brief: `claude -p` with stream-json in and out.
    fn spawn(stand_in: &StandIn) -> Res<Direct> {
        Direct::spawn_with(stand_in, None)
    }

    /// With `mirror` (a data dir), also the flags and environment clearctx starts its
    /// workers with (`host/src/sessions/manager.rs`, `launch`): permission mode, allowed
    /// tools and `--mcp-config` with a `clearctx serve` on that data dir.
    fn spawn_with(stand_in: &StandIn, mirror: Option<&Path>) -> Res<Direct> {
        let session_id = uuid::Uuid::new_v4().to_string();
        let mut cmd = Command::new(&stand_in.program);
        // First: with the real CLI it clears the environment.
        stand_in.apply_env(&mut cmd);
        cmd.args([
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--session-id",
            &session_id,
        ]);
        if let Some(home) = mirror {
            let home = home.display().to_string();
            let env = [
                ("CLEARCTX_SESSION", MIRROR_SESSION),
                ("CLEARCTX_TEAM", "default"),
                ("CLEARCTX_HOME", home.as_str()),
            ];
            let mcp = json!({ "mcpServers": { "clearctx": {
                "type": "stdio",
                "command": BIN,
                "args": ["serve", "--home", home],
                "env": Value::Object(env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()),
            }}});
            cmd.args([
                "--permission-mode",
                "default",
                "--allowedTools",
                "mcp__clearctx",
                "--mcp-config",
                &mcp.to_string(),
            ]);
            cmd.envs(env);
        }
        // Last: the options above that take lists stop at the next flag.
        cmd.arg("--verbose")
            .current_dir(&stand_in.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        Ok(Direct {
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            guard: Guard {
                child,
                what: stand_in.label,
            },
            line: String::new(),
        })
    }

    /// Writes one user turn and reads until its `result` line, which it returns.
    fn turn(&mut self, message: &str) -> Res<Value> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        let turn = json!({
            "type": "user",
            "message": { "role": "user", "content": message },
            "parent_tool_use_id": null,
        });
        writeln!(stdin, "{turn}")?;
        stdin.flush()?;
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line)? == 0 {
                return Err("claude closed stdout in the middle of a turn".into());
            }
            // Only the `result` line is parsed in full; the rest is read and dropped, as a
            // client that waits for the answer would.
            if !self.line.contains("\"result\"") {
                continue;
            }
            let line: Value = serde_json::from_str(&self.line)?;
            if line["type"] != "result" {
                continue;
            }
            if line["is_error"] == json!(true) {
                return Err(format!("the turn failed: {line}").into());
            }
            return Ok(line);
        }
    }

    fn turn_checked(&mut self, stand_in: &StandIn, message: &str) -> Res<()> {
        let result = self.turn(message)?;
        let expected = stand_in.expected(message);
        if result["result"] != json!(expected) {
            return Err(format!("direct turn answered {result}, not {expected:?}").into());
        }
        Ok(())
    }

    /// Closes stdin and waits for the exit.
    fn close(mut self) -> Res<()> {
        drop(self.stdin.take());
        self.guard.finish(Duration::from_secs(10))
    }
}

/// A `clearctx serve` child spoken to in newline-delimited JSON-RPC, by hand, so the
/// figures include no client library's overhead (as in `core.rs`).
struct Server {
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    guard: Guard,
    next_id: u64,
    line: String,
}

impl Server {
    fn spawn(home: &Path, stand_in: &StandIn) -> Res<Server> {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--home")
            .arg(home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        stand_in.apply_env(&mut cmd);
        cmd.env("CLEARCTX_CLAUDE_BIN", &stand_in.program);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut server = Server {
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            guard: Guard {
                child,
                what: "clearctx serve",
            },
            next_id: 1,
            line: String::new(),
        };
        server.handshake()?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// `initialize` then `notifications/initialized`: what every MCP client sends first.
    fn handshake(&mut self) -> Res<()> {
        self.request("initialize", initialize_params())?;
        self.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
    }

    fn send(&mut self, message: &Value) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        writeln!(stdin, "{message}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Sends one request and reads lines until the response with its id; returns `result`.
    fn request(&mut self, method: &str, params: Value) -> Res<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line)? == 0 {
                return Err(format!("server closed stdout before answering {method}").into());
            }
            let reply: Value = serde_json::from_str(&self.line)?;
            // Anything else (a server notification, say) is not our answer.
            if reply["id"] != json!(id) {
                continue;
            }
            return rpc_result(method, reply);
        }
    }

    /// Calls a tool; returns its structured result. A tool-level error is a failure too.
    fn call(&mut self, tool: &str, arguments: Value) -> Res<Value> {
        let result = self.request("tools/call", tool_params(tool, arguments))?;
        tool_result(tool, result)
    }

    /// From here on requests may overlap: a reader thread routes the answers by id.
    fn into_mux(self) -> Mux {
        let Server {
            stdin,
            stdout,
            guard,
            next_id,
            ..
        } = self;
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let routes = pending.clone();
        std::thread::spawn(move || route_replies(stdout, &routes));
        Mux {
            stdin: Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(next_id),
            guard,
        }
    }

    /// Closes stdin (the end of the session) and waits for the process to exit.
    fn close(mut self) -> Res<()> {
        drop(self.stdin.take());
        self.guard.finish(Duration::from_secs(20))
    }
}

/// Who waits for which request id; `None` once the server's stdout has ended.
type Pending = Arc<Mutex<Option<HashMap<u64, Sender<Value>>>>>;

/// A `clearctx serve` connection on which several threads have requests in flight.
struct Mux {
    stdin: Mutex<Option<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    guard: Guard,
}

impl Mux {
    fn request(&self, method: &str, params: Value) -> Res<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.pending
            .lock()
            .unwrap()
            .as_mut()
            .ok_or("the server closed stdout")?
            .insert(id, tx);
        let message = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        {
            let mut stdin = self.stdin.lock().unwrap();
            let stdin = stdin.as_mut().ok_or("stdin already closed")?;
            writeln!(stdin, "{message}")?;
            stdin.flush()?;
        }
        let reply = rx
            .recv()
            .map_err(|_| format!("server closed stdout before answering {method}"))?;
        rpc_result(method, reply)
    }

    fn call(&self, tool: &str, arguments: Value) -> Res<Value> {
        let result = self.request("tools/call", tool_params(tool, arguments))?;
        tool_result(tool, result)
    }

    fn pid(&self) -> u32 {
        self.guard.pid()
    }

    fn close(mut self) -> Res<()> {
        drop(self.stdin.lock().unwrap().take());
        self.guard.finish(Duration::from_secs(20))
    }
}

fn route_replies(stdout: BufReader<ChildStdout>, pending: &Pending) {
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        let Ok(reply) = serde_json::from_str::<Value>(&line) else {
            eprintln!("clearctx serve printed a line that is not JSON: {line}");
            continue;
        };
        let Some(id) = reply["id"].as_u64() else {
            continue;
        };
        let waiter = pending.lock().unwrap().as_mut().and_then(|p| p.remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        }
    }
    // Every waiter left sees its channel close.
    pending.lock().unwrap().take();
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": { "name": "clearctx-bench", "version": "0" },
    })
}

fn tool_params(tool: &str, arguments: Value) -> Value {
    json!({ "name": tool, "arguments": arguments })
}

fn rpc_result(method: &str, mut reply: Value) -> Res<Value> {
    if let Some(error) = reply.get("error") {
        return Err(format!("{method} failed: {error}").into());
    }
    Ok(reply["result"].take())
}

fn tool_result(tool: &str, mut result: Value) -> Res<Value> {
    if result["isError"] == json!(true) {
        return Err(format!("{tool} returned an error: {result}").into());
    }
    Ok(result["structuredContent"].take())
}

/// Checks a `send_message` answer: the turn completed with the expected text.
fn check_reply(stand_in: &StandIn, message: &str, r: &Value) -> Res<()> {
    let expected = stand_in.expected(message);
    if r["status"] != "completed" || r["response"] != json!(expected) {
        return Err(format!("send_message answered {r}, not a completed {expected:?}").into());
    }
    Ok(())
}

fn spawn_args(name: &str, stand_in: &StandIn) -> Value {
    json!({ "name": name, "work_dir": stand_in.work_dir.display().to_string() })
}

fn send_args(name: &str, message: &str) -> Value {
    json!({ "name": name, "message": message })
}

// ---------------------------------------------------------------------------------------
// /proc

/// Every process under `root` (children, grandchildren, ...), from the parent pids in
/// `/proc/*/stat`.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parent_of {
            if ppid == p {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// Whether `pid` runs the clearctx binary.
fn is_clearctx(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let bin = std::fs::canonicalize(BIN).ok();
    exe.is_some() && exe == bin
}

// ---------------------------------------------------------------------------------------
// 7. one turn

struct OneTurn {
    label: &'static str,
    via: Vec<Duration>,
    direct: Vec<Duration>,
    /// Diagnostic (real CLI only): direct, with the flags clearctx gives its workers.
    mirror: Option<Vec<Duration>>,
    /// Mock model requests per turn on each side (real CLI only): via, direct, mirror.
    requests: Option<[f64; 3]>,
}

/// `send_message` on a session vs. a turn written to a process of the same stand-in (and,
/// with `model`, to one started as clearctx starts its workers), alternating turn by turn
/// so background load hits every side alike.
fn bench_one_turn(
    stand_in: &StandIn,
    warmup: usize,
    turns: usize,
    model: Option<&MockModel>,
) -> Res<OneTurn> {
    let data = tempfile::tempdir()?;
    let mirror_data = tempfile::tempdir()?;
    let mut server = Server::spawn(data.path(), stand_in)?;
    let r = server.call("spawn_session", spawn_args("w", stand_in))?;
    if r["status"] != "idle" {
        return Err(format!("spawn_session without a prompt answered {r}").into());
    }
    let mut direct = Direct::spawn(stand_in)?;
    let mut mirror = match model {
        Some(_) => Some(Direct::spawn_with(stand_in, Some(mirror_data.path()))?),
        None => None,
    };

    let mut out = OneTurn {
        label: stand_in.label,
        via: Vec::with_capacity(turns),
        direct: Vec::with_capacity(turns),
        mirror: mirror.as_ref().map(|_| Vec::with_capacity(turns)),
        requests: None,
    };
    let mut requests = [0usize; 3];
    let count = || model.map_or(0, |m| m.requests().len());
    for i in 0..warmup + turns {
        let message = format!("turn {i}");

        let before = count();
        let t = Instant::now();
        let r = server.call("send_message", send_args("w", &message))?;
        let elapsed = t.elapsed();
        requests[0] += count() - before;
        check_reply(stand_in, &message, &r)?;
        if i >= warmup {
            out.via.push(elapsed);
        }

        let before = count();
        let t = Instant::now();
        direct.turn_checked(stand_in, &message)?;
        let elapsed = t.elapsed();
        requests[1] += count() - before;
        if i >= warmup {
            out.direct.push(elapsed);
        }

        if let (Some(m), Some(samples)) = (mirror.as_mut(), out.mirror.as_mut()) {
            let before = count();
            let t = Instant::now();
            m.turn_checked(stand_in, &message)?;
            let elapsed = t.elapsed();
            requests[2] += count() - before;
            if i >= warmup {
                samples.push(elapsed);
            }
        }
    }
    if model.is_some() {
        let n = (warmup + turns) as f64;
        out.requests = Some(requests.map(|r| r as f64 / n));
    }
    eprintln!(
        "  {}: via clearctx {}; direct {}{}",
        stand_in.label,
        spread(&out.via),
        spread(&out.direct),
        out.mirror.as_ref().map_or(String::new(), |m| format!(
            "; direct with clearctx's worker flags {}",
            spread(m)
        )),
    );

    let s = server.call("stop_session", json!({ "name": "w" }))?;
    if s["status"] != "stopped" {
        return Err(format!("stop_session answered {s}").into());
    }
    server.close()?;
    direct.close()?;
    if let Some(m) = mirror {
        m.close()?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// 8. ten sessions at once

struct Round {
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Round {
    fn turns_per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

#[derive(Default)]
struct Concurrent {
    via: Vec<Round>,
    direct: Vec<Round>,
    /// Of the `clearctx serve` process of the last clearctx round, in bytes: at the
    /// handshake, its peak (VmHWM) and its RSS after the timed turns.
    serve_start_rss: u64,
    serve_hwm: u64,
    serve_rss: u64,
    /// Peak of one `claude` worker of that round, and of the `clearctx serve` MCP server
    /// each worker starts for its own use of the hub (the largest of the ten).
    worker_hwm: u64,
    worker_mcp_hwm: Option<u64>,
    worker_mcp_count: usize,
    /// Peak of one directly driven `claude` process.
    direct_hwm: u64,
}

fn bench_concurrent(stand_in: &StandIn) -> Res<Concurrent> {
    let mut out = Concurrent::default();
    for round in 0..CONCURRENT_ROUNDS {
        let d = concurrent_direct(stand_in, &mut out)?;
        eprintln!(
            "  round {} direct: {:.1} turns/s ({} turns in {:.2} s)",
            round + 1,
            d.turns_per_s(),
            d.latencies.len(),
            d.wall.as_secs_f64()
        );
        out.direct.push(d);
        let v = concurrent_via(stand_in, &mut out)?;
        eprintln!(
            "  round {} via clearctx: {:.1} turns/s ({} turns in {:.2} s)",
            round + 1,
            v.turns_per_s(),
            v.latencies.len(),
            v.wall.as_secs_f64()
        );
        out.via.push(v);
    }
    Ok(out)
}

/// Ten processes, each driven by its own thread: one untimed turn each, then the clock.
fn concurrent_direct(stand_in: &StandIn, out: &mut Concurrent) -> Res<Round> {
    let mut procs = (0..SESSIONS)
        .map(|_| Direct::spawn(stand_in))
        .collect::<Res<Vec<_>>>()?;
    let warm: Vec<Res<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = procs
            .iter_mut()
            .enumerate()
            .map(|(i, p)| s.spawn(move || p.turn_checked(stand_in, &format!("warm-up {i}"))))
            .collect();
        handles.into_iter().map(join).collect()
    });
    warm.into_iter().collect::<Res<Vec<()>>>()?;

    let start = Instant::now();
    let per_thread: Vec<Res<Vec<Duration>>> = std::thread::scope(|s| {
        let handles: Vec<_> = procs
            .iter_mut()
            .enumerate()
            .map(|(i, p)| {
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(TURNS_PER_SESSION);
                    for k in 0..TURNS_PER_SESSION {
                        let t = Instant::now();
                        p.turn_checked(stand_in, &format!("session {i} turn {k}"))?;
                        lat.push(t.elapsed());
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    let wall = start.elapsed();
    let latencies = per_thread.into_iter().collect::<Res<Vec<_>>>()?.concat();

    out.direct_hwm = proc_kb(procs[0].guard.pid(), "VmHWM")?;
    for p in procs {
        p.close()?;
    }
    Ok(Round { wall, latencies })
}

/// One `clearctx serve`: `batch_spawn` of ten idle sessions, one untimed turn each, then
/// ten threads with `send_message` calls in flight on the one connection.
fn concurrent_via(stand_in: &StandIn, out: &mut Concurrent) -> Res<Round> {
    let data = tempfile::tempdir()?;
    let mut server = Server::spawn(data.path(), stand_in)?;
    out.serve_start_rss = proc_kb(server.pid(), "VmRSS")?;
    let names: Vec<String> = (0..SESSIONS).map(|i| format!("s{i}")).collect();
    let specs: Vec<Value> = names.iter().map(|n| spawn_args(n, stand_in)).collect();
    let r = server.call("batch_spawn", json!({ "sessions": specs }))?;
    if r["count"] != json!(SESSIONS) {
        return Err(format!("batch_spawn answered {r}").into());
    }
    let mux = server.into_mux();

    let warm: Vec<Res<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let mux = &mux;
                s.spawn(move || {
                    let message = format!("warm-up {name}");
                    let r = mux.call("send_message", send_args(name, &message))?;
                    check_reply(stand_in, &message, &r)
                })
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    warm.into_iter().collect::<Res<Vec<()>>>()?;

    let start = Instant::now();
    let per_thread: Vec<Res<Vec<Duration>>> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let mux = &mux;
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(TURNS_PER_SESSION);
                    for k in 0..TURNS_PER_SESSION {
                        let message = format!("{name} turn {k}");
                        let t = Instant::now();
                        let r = mux.call("send_message", send_args(name, &message))?;
                        lat.push(t.elapsed());
                        check_reply(stand_in, &message, &r)?;
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    let wall = start.elapsed();
    let latencies = per_thread.into_iter().collect::<Res<Vec<_>>>()?.concat();

    out.serve_hwm = proc_kb(mux.pid(), "VmHWM")?;
    out.serve_rss = proc_kb(mux.pid(), "VmRSS")?;
    let status = mux.call("get_session_status", json!({ "name": names[0] }))?;
    if status["owner_pid"] != json!(mux.pid()) {
        return Err(format!("session s0 is not owned by the serve we spawned: {status}").into());
    }
    let worker = status["pid"]
        .as_u64()
        .ok_or_else(|| format!("get_session_status has no pid: {status}"))? as u32;
    out.worker_hwm = proc_kb(worker, "VmHWM")?;
    // Each worker runs `clearctx serve` as its MCP server (`--mcp-config`).
    let mut mcp_hwm = Vec::new();
    for name in &names {
        let s = mux.call("get_session_status", json!({ "name": name }))?;
        if let Some(pid) = s["pid"].as_u64() {
            for child in descendants(pid as u32) {
                if is_clearctx(child)
                    && let Ok(hwm) = proc_kb(child, "VmHWM")
                {
                    mcp_hwm.push(hwm);
                }
            }
        }
    }
    out.worker_mcp_count = mcp_hwm.len();
    out.worker_mcp_hwm = mcp_hwm.into_iter().max();

    for name in &names {
        let s = mux.call("stop_session", json!({ "name": name }))?;
        if s["status"] != "stopped" {
            return Err(format!("stop_session {name} answered {s}").into());
        }
    }
    mux.close()?;
    Ok(Round { wall, latencies })
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Res<T>>) -> Res<T> {
    handle
        .join()
        .unwrap_or_else(|_| Err("a benchmark thread panicked".into()))
}

// ---------------------------------------------------------------------------------------
// Statistics and the report

/// Nearest-rank percentile of `samples` (sorted in place), `p` in 0..=100.
fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `median X ms, p90 Y ms` of `samples`.
fn spread(samples: &[Duration]) -> String {
    let mut s = samples.to_vec();
    format!(
        "median {:.2} ms, p90 {:.2} ms",
        ms(percentile(&mut s, 50.0)),
        ms(percentile(&mut s, 90.0))
    )
}

fn median_of(samples: &[Duration]) -> Duration {
    percentile(&mut samples.to_vec(), 50.0)
}

/// The round with the median throughput.
fn median_round(rounds: &[Round]) -> &Round {
    let mut sorted: Vec<&Round> = rounds.iter().collect();
    sorted.sort_by(|a, b| a.turns_per_s().total_cmp(&b.turns_per_s()));
    sorted[sorted.len() / 2]
}

/// `min-max turns/s` over the rounds.
fn range(rounds: &[Round]) -> String {
    let rates = rounds.iter().map(Round::turns_per_s);
    let min = rates.clone().fold(f64::INFINITY, f64::min);
    let max = rates.fold(0.0, f64::max);
    format!("{min:.1}-{max:.1}")
}

fn print_table(fig7a: &OneTurn, fig7b: &OneTurn, fig8: &Concurrent) {
    println!();
    println!("| Figure | Measured | Baseline (same run) |");
    println!("|---|---|---|");
    for (row, f) in [("7a", fig7a), ("7b", fig7b)] {
        let overhead = ms(median_of(&f.via)) - ms(median_of(&f.direct));
        let requests = |i: usize| {
            f.requests.map_or(String::new(), |r| {
                format!("; {:.2} model requests per turn", r[i])
            })
        };
        println!(
            "| {row}. one turn, {}: `send_message` over MCP to a `spawn_session` session, {} timed turns | {}; **+{overhead:.2} ms** median over direct{} | the same turn on a {} process's stdin: {}{} |",
            f.label,
            f.via.len(),
            spread(&f.via),
            requests(0),
            f.label,
            spread(&f.direct),
            requests(1),
        );
        if let Some(mirror) = &f.mirror {
            let overhead = ms(median_of(&f.via)) - ms(median_of(mirror));
            println!(
                "| {row}'. diagnostic: the same direct turn on a {} started with clearctx's worker flags (`--permission-mode`, `--allowedTools`, `--mcp-config` with its own `clearctx serve`) | {}{}; `send_message` is +{overhead:.2} ms median over it | the plain direct figure above |",
                f.label,
                spread(mirror),
                requests(2),
            );
        }
    }
    let via = median_round(&fig8.via);
    let direct = median_round(&fig8.direct);
    println!(
        "| 8. {SESSIONS} sessions at once (real claude + mock), `batch_spawn` then {SESSIONS} concurrent `send_message` calls on one connection, {TURNS_PER_SESSION} turns each (median of {CONCURRENT_ROUNDS} rounds) | {:.1} turns/s ({:.2}x direct; rounds {}); per turn {} | {SESSIONS} `claude` processes, one thread each: {:.1} turns/s (rounds {}); per turn {} |",
        via.turns_per_s(),
        via.turns_per_s() / direct.turns_per_s(),
        range(&fig8.via),
        spread(&via.latencies),
        direct.turns_per_s(),
        range(&fig8.direct),
        spread(&direct.latencies),
    );
    let mcp = fig8.worker_mcp_hwm.map_or_else(
        || "no `clearctx serve` found under the workers".to_string(),
        |hwm| {
            format!(
                "each worker also runs a `clearctx serve` MCP server ({} found): VmHWM up to {:.1} MiB",
                fig8.worker_mcp_count,
                mib(hwm)
            )
        },
    );
    println!(
        "| 8b. memory of the `clearctx serve` driving {SESSIONS} sessions | VmHWM {:.1} MiB; VmRSS {:.1} MiB after the run ({:.1} MiB after the handshake) | one `claude` worker: VmHWM {:.1} MiB; a directly driven `claude`: VmHWM {:.1} MiB; {mcp} |",
        mib(fig8.serve_hwm),
        mib(fig8.serve_rss),
        mib(fig8.serve_start_rss),
        mib(fig8.worker_hwm),
        mib(fig8.direct_hwm),
    );
}
