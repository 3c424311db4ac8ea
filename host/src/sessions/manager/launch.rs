//! The `claude` command line for a session: model, permissions, budget, resume or fork, and the worker's own `clearctx serve` as its MCP server.

use super::*;

impl Manager {
    pub(super) fn launch(
        &self,
        row: &SessionRow,
        how: Start,
        budget: &Budget,
        config: &Config,
    ) -> Result<Launch> {
        let mut args: Vec<String> = [
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        match how {
            Start::New(id) => args.extend(["--session-id".into(), id]),
            Start::Resume(id) => args.extend(["--resume".into(), id]),
            Start::Fork(id) => args.extend(["--resume".into(), id, "--fork-session".into()]),
        }
        if let Some(m) = &config.model {
            args.extend(["--model".into(), m.clone()]);
        }
        let mode = config.permission_mode.unwrap_or(PermissionMode::Default);
        args.extend(["--permission-mode".into(), mode.as_str().into()]);
        // Workers coordinate through clearctx, so its tools never need asking for.
        let mut allowed = config.allowed_tools.clone();
        allowed.push(format!("mcp__{}", crate::model::MCP_SERVER_NAME));
        args.extend(["--allowedTools".into(), allowed.join(",")]);
        if let Some(p) = &config.system_prompt {
            args.extend(["--append-system-prompt".into(), p.clone()]);
        }
        // Claude Code stops itself mid-turn at this (its count restarts with each process).
        if let Some(left) = budget.left_usd {
            args.extend([
                "--max-budget-usd".into(),
                format!("{:.6}", left.max(0.000001)),
            ]);
        }
        if let Some(t) = budget.turns_left {
            args.extend(["--max-turns".into(), t.max(1).to_string()]);
        }
        let exe = std::env::current_exe()
            .map_err(|e| Error::conflict(format!("cannot find the clearctx binary: {e}")))?;
        let home = self.home.display().to_string();
        let mcp = json!({ "mcpServers": { crate::model::MCP_SERVER_NAME: {
            "type": "stdio",
            "command": exe.display().to_string(),
            "args": ["serve", "--home", home],
            "env": { "CLEARCTX_SESSION": row.name, "CLEARCTX_TEAM": row.team, "CLEARCTX_HOME": home },
            // Claude Code 2.1.3xx connects MCP servers in the background unless told to
            // wait; a worker's first turn needs clearctx's tools.
            "alwaysLoad": true,
        }}});
        args.extend(["--mcp-config".into(), mcp.to_string()]);
        // Last: the options above that take lists stop at the next flag.
        args.push("--verbose".into());
        Ok(Launch {
            name: row.name.clone(),
            program: supervisor::claude_program(),
            args,
            env: vec![
                ("CLEARCTX_SESSION".into(), row.name.clone()),
                ("CLEARCTX_TEAM".into(), row.team.clone()),
                ("CLEARCTX_HOME".into(), home),
            ],
            // A worker is not a tool call of the session that started it.
            env_remove: vec![
                "CLAUDECODE",
                "CLAUDE_CODE_ENTRYPOINT",
                "CLAUDE_CODE_SSE_PORT",
            ],
            work_dir: config.work_dir.as_ref().map(PathBuf::from),
            turn_timeout: Duration::from_secs(
                config.turn_timeout_s.unwrap_or(DEFAULT_TURN_TIMEOUT_S),
            ),
        })
    }
}
