//! The `claude` process: starting it in its own process group, reading its stdout and stderr, writing turns to its stdin, killing and reaping it.

use super::*;

pub(super) fn spawn(launch: &Launch) -> std::io::Result<Child> {
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a kill reaches the MCP servers and tools it started, and
        // a signal meant for clearctx does not reach it.
        .process_group(0);
    for k in &launch.env_remove {
        cmd.env_remove(k);
    }
    cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &launch.work_dir {
        cmd.current_dir(dir);
    }
    cmd.spawn()
}

pub(super) fn read_stdout(out: impl Read, tx: Sender<Msg>) {
    let mut reader = BufReader::with_capacity(64 * 1024, out);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) | Err(_) => {
                let _ = tx.send(Msg::Eof);
                return;
            }
            Ok(_) => {
                if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
                    let _ = tx.send(Msg::TooLong);
                    return;
                }
                let line = String::from_utf8_lossy(&buf).trim().to_string();
                if !line.is_empty() && tx.send(Msg::Line(line)).is_err() {
                    return;
                }
            }
        }
    }
}

pub(super) fn read_stderr(err: impl Read, tail: Arc<Mutex<VecDeque<u8>>>, name: &str) {
    let reader = BufReader::new(err);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { return };
        tracing::debug!(session = %name, "claude stderr: {}", String::from_utf8_lossy(&line));
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        t.extend(line);
        t.push_back(b'\n');
        while t.len() > STDERR_TAIL_BYTES {
            t.pop_front();
        }
    }
}

/// The path of Claude Code: `CLEARCTX_CLAUDE_BIN`, else `claude` on PATH.
pub(crate) fn claude_program() -> PathBuf {
    std::env::var_os("CLEARCTX_CLAUDE_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("claude").to_path_buf())
}

impl Supervisor {
    pub(super) fn stderr_tail(&mut self) -> String {
        // The process is gone; let the reader take in its last words (a grandchild that
        // still holds the pipe open must not keep us waiting).
        if let Some(reader) = self.stderr_reader.take() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let t = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let bytes: Vec<u8> = t.iter().copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    /// Waits for the process (killing its group if it lingers) and describes its exit.
    pub(super) fn reap_child(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    self.kill_group();
                    return match self.child.wait() {
                        Ok(s) => s.to_string(),
                        Err(e) => format!("wait failed: {e}"),
                    };
                }
                Err(e) => return format!("wait failed: {e}"),
            }
        }
    }

    pub(super) fn kill_group(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling a process group we created; a stale group is ESRCH, harmless.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
    }

    /// Ends the process now (SIGKILL), for failures and kill requests.
    pub(super) fn kill_now(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
        }
        self.stdin = None;
        self.kill_group();
        self.kill_at = None;
    }

    pub(super) fn write_stdin(&mut self, line: &str) -> bool {
        let ok = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|_| stdin.flush())
                .is_ok(),
            None => false,
        };
        if !ok && self.ending.is_none() {
            self.fail(
                "crashed",
                "claude stopped reading its input (its stdin is closed)".into(),
            );
        }
        ok
    }
}
