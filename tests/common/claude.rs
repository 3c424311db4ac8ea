//! Running the real Claude Code CLI offline: a throwaway HOME, a mock model URL, and a
//! timeout enforced by the test so a hang fails instead of stalling CI.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The pinned CLI: `CLEARCTX_TEST_CLAUDE`, else the one scripts/install-claude.sh installs.
/// Panics when absent: these tests must fail, never pass silently, without the real CLI.
pub fn claude_bin() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let bin = match std::env::var_os("CLEARCTX_TEST_CLAUDE").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => workspace.join(".cache/claude-code/node_modules/.bin/claude"),
    };
    assert!(
        bin.exists(),
        "the Claude Code CLI is not at {}: run scripts/install-claude.sh first (or set CLEARCTX_TEST_CLAUDE)",
        bin.display()
    );
    bin
}

/// A Claude Code "user": its own HOME (config, sessions, registered MCP servers) and a
/// working dir inside it, talking to the model at `base_url`.
pub struct Claude {
    home: tempfile::TempDir,
    base_url: String,
}

impl Claude {
    pub fn new(base_url: &str) -> Claude {
        let home = tempfile::tempdir().expect("temp HOME");
        std::fs::create_dir(home.path().join("work")).unwrap();
        Claude {
            home,
            base_url: base_url.to_string(),
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `claude args…` with a clean environment: nothing inherited but PATH, so no
    /// CLEARCTX_* (the MCP servers it starts inherit this too), ANTHROPIC_* or CLAUDE_*
    /// of the session running the tests leaks in. It runs in `$HOME/work`, away from the
    /// repository's own CLAUDE.md and settings.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(claude_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("ANTHROPIC_API_KEY", "test-key")
            .env("ANTHROPIC_BASE_URL", &self.base_url)
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            // 2.1.3xx connects user-scope MCP servers in the background and builds the
            // first prompt after a grace of 1-2 s; a cold debug build on CI's two busy
            // cores missed it once. Waiting makes what the model is shown deterministic.
            // (Workers clearctx starts wait through their own `alwaysLoad` config.)
            .env("MCP_CONNECTION_NONBLOCKING", "false")
            .current_dir(self.home().join("work"))
            .stdin(Stdio::null()); // `-p` would otherwise wait to read stdin
        cmd
    }

    /// Runs `claude args…` to completion; panics, with its output, after `timeout`.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Output {
        run_with_timeout(self.command(args), timeout)
    }

    /// Runs `claude args…` and requires exit status 0; returns stdout.
    pub fn run_ok(&self, args: &[&str], timeout: Duration) -> String {
        let out = self.run(args, timeout);
        assert!(
            out.status.success(),
            "claude {args:?} failed ({}):\n{}",
            out.status,
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Stdout and stderr of a finished process, for failure messages.
pub fn describe(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` in its own process group; on timeout kills the whole group (the CLI and the
/// MCP servers it started) and panics with what it printed so far.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    // Drain both pipes while waiting so a chatty child cannot block on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (status, false);
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            break (child.wait().expect("wait"), true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    let args: Vec<_> = cmd.get_args().collect();
    assert!(
        !timed_out,
        "{:?} {args:?} timed out after {timeout:?}:\n{}",
        cmd.get_program(),
        describe(&out)
    );
    out
}

/// The environment under which clearctx starts real `claude` workers that talk to the mock
/// model at `base_url`, with `home` as their throwaway HOME.
pub fn worker_env(base_url: &str, home: &Path) -> Vec<(String, String)> {
    [
        ("CLEARCTX_CLAUDE_BIN", claude_bin().display().to_string()),
        ("HOME", home.display().to_string()),
        ("ANTHROPIC_API_KEY", "test-key".to_string()),
        ("ANTHROPIC_BASE_URL", base_url.to_string()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A data dir, a throwaway HOME for the workers, and the environment that points the
/// workers' `claude` at the mock model at `model_url`.
pub struct Rig {
    pub dir: crate::common::DataDir,
    _home: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Rig {
    pub fn new(model_url: &str) -> Rig {
        let dir = crate::common::DataDir::new();
        let home = tempfile::tempdir().unwrap();
        let env = worker_env(model_url, home.path());
        Rig { dir, _home: home, env }
    }

    /// The orchestrator's server, whose workers use the mock.
    pub async fn connect(&self) -> crate::common::Client {
        self.dir.connect_with_env(None, &self.env).await
    }
}
