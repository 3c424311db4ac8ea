//! Helpers shared by the end-to-end tests: a throwaway data dir, the real `clearctx`
//! binary, and an MCP client (rmcp's) talking to `clearctx serve` over stdio.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

/// The test client's side of the protocol: it keeps every progress notification received.
#[derive(Clone, Default)]
pub struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clearctx"))
}

/// One precompiled-plugin cache for every test, so each data dir does not compile the
/// standard plugins again.
pub fn plugin_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

/// `clearctx serve` on `home` for a raw JSON-RPC client: stdin and stdout piped, stderr
/// dropped, the shared plugin cache, and no worker identity from the test's environment.
pub fn serve_command(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["serve", "--home"])
        .arg(home)
        .env("CLEARCTX_CACHE_DIR", plugin_cache())
        .env_remove("CLEARCTX_SESSION")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    cmd
}

/// Builds the fixture plugins once per test run and returns the component of `name`.
pub fn fixture(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fixtures-target");
        let status =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                    "--manifest-path",
                ])
                .arg(root.join("tests/fixtures/plugins/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("run cargo");
        assert!(status.success(), "building the fixture plugins failed");
        target.join("wasm32-wasip2/release")
    });
    let path = dir.join(format!("{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "no fixture component at {}", path.display());
    path
}

/// The environment that makes `clearctx` start the fake `claude`
/// (`tests/fixtures/fake-claude.py`) instead of the real one.
pub fn fake_claude_env() -> Vec<(String, String)> {
    let fake = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/fake-claude.py"
    );
    vec![("CLEARCTX_CLAUDE_BIN".to_string(), fake.to_string())]
}

/// A fresh data dir, removed when dropped.
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `clearctx --home <dir> args…` as session `cli`.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_env(args, &[])
    }

    /// Runs `clearctx --home <dir> args…` with extra environment.
    pub fn cli_env(&self, args: &[&str], env: &[(String, String)]) -> Output {
        std::process::Command::new(bin())
            .arg("--home")
            .arg(self.path())
            .args(args)
            .env_remove("CLEARCTX_SESSION")
            .env_remove("CLEARCTX_TEAM")
            .env("CLEARCTX_CACHE_DIR", plugin_cache())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run clearctx")
    }

    /// Runs a CLI command with `--json` and returns its parsed stdout; panics on failure.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "clearctx {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    /// Starts `clearctx serve` on this data dir as `session` and connects an MCP client.
    pub async fn connect(&self, session: Option<&str>) -> Client {
        self.connect_with_env(session, &[]).await
    }

    /// Like [`connect`](Self::connect), with extra environment for the server (and so for
    /// the `claude` workers it starts).
    pub async fn connect_with_env(
        &self,
        session: Option<&str>,
        env: &[(String, String)],
    ) -> Client {
        let mut cmd = tokio::process::Command::new(bin());
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.arg("serve").arg("--home").arg(self.path());
        cmd.env_remove("CLEARCTX_SESSION")
            .env_remove("CLEARCTX_TEAM");
        cmd.env("CLEARCTX_CACHE_DIR", plugin_cache());
        if let Some(s) = session {
            cmd.env("CLEARCTX_SESSION", s);
        }
        Client::spawn(cmd).await
    }
}

/// The text blocks of a tool result, joined.
pub fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct Client {
    pub service: RunningService<RoleClient, Recorder>,
    /// Every `notifications/progress` the server sent this client, in order.
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl Client {
    /// Starts `cmd` (a `clearctx serve`) and connects to it.
    pub async fn spawn(cmd: tokio::process::Command) -> Client {
        let transport = TokioChildProcess::new(cmd).expect("spawn clearctx serve");
        let recorder = Recorder::default();
        Client {
            progress: recorder.progress.clone(),
            service: recorder.serve(transport).await.expect("MCP handshake"),
        }
    }

    /// Calls a tool; `Ok` holds its structured content, `Err` the error message, whether the
    /// call was refused (a result with `isError`) or malformed (a JSON-RPC error).
    pub async fn call(&self, tool: &str, args: Value) -> Result<Value, String> {
        match self.call_raw(tool, args).await {
            Ok(result) if result.is_error == Some(true) => {
                let detail = &result
                    .structured_content
                    .as_ref()
                    .expect("structured error")["error"];
                assert!(
                    detail["code"].is_string() && detail["message"].is_string(),
                    "{tool}: a refusal without its detail: {result:?}"
                );
                Err(text_of(&result))
            }
            Ok(result) => Ok(result
                .structured_content
                .expect("every tool returns structured content")),
            Err(rmcp::service::ServiceError::McpError(e)) => Err(e.message.to_string()),
            Err(other) => panic!("{tool}: transport failure: {other}"),
        }
    }

    /// Calls a tool and returns what came back as it is.
    pub async fn call_raw(
        &self,
        tool: &str,
        args: Value,
    ) -> Result<rmcp::model::CallToolResult, rmcp::service::ServiceError> {
        let args = match args {
            Value::Object(map) => map,
            Value::Null => Default::default(),
            other => panic!("tool arguments must be an object, not {other}"),
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
        self.service.call_tool(params).await
    }

    /// Calls a tool that must succeed.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        match self.call(tool, args.clone()).await {
            Ok(v) => v,
            Err(e) => panic!("{tool} {args} failed: {e}"),
        }
    }

    /// Calls a tool that must fail, and returns the message.
    pub async fn err(&self, tool: &str, args: Value) -> String {
        match self.call(tool, args.clone()).await {
            Ok(v) => panic!("{tool} {args} should have failed but returned {v}"),
            Err(e) => e,
        }
    }

    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}
