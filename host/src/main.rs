//! The `clearctx` binary: parse, set up logging, dispatch to the MCP server or the CLI.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use clearctx::cli::{self, Cli, Command};
use clearctx::hub::{Caller, Hub, resolve_home};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve));
    if let Command::Completions { shell } = cli.command {
        return print_stdout(cli::completions(shell).trim_end());
    }
    if let Command::Hook { event } = cli.command {
        // A hook never fails the user's session: errors and panics are logged, exit 0.
        let home = clearctx::hub::resolve_home(cli.home.as_deref());
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli::hook::main(home, event))) {
            Ok(Some(out)) => {
                let _ = print_stdout(&out);
            }
            Ok(None) => {}
            Err(_) => eprintln!("clearctx hook {}: panicked (the session goes on without it)", event.as_str()),
        }
        return ExitCode::SUCCESS;
    }
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Hub(e)) => {
            if json {
                // The same shape as an MCP refusal's structured content.
                let mut detail = e.detail();
                if let Some(m) = detail["message"].as_str() {
                    detail["message"] = cli::for_people(m).into();
                }
                let _ = print_stdout(&serde_json::json!({ "error": detail }).to_string());
            } else {
                eprintln!("error: {}", cli::for_people(&e.to_string()));
            }
            ExitCode::from(cli::exit_code(&e))
        }
        Err(Failure::Exit(code)) => ExitCode::from(code),
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

enum Failure {
    Hub(clearctx::Error),
    Other(anyhow::Error),
    /// The command printed its result; only the exit code is left to give.
    Exit(u8),
}

impl From<clearctx::Error> for Failure {
    fn from(e: clearctx::Error) -> Self {
        Failure::Hub(e)
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let home = resolve_home(cli.home.as_deref())?;
    if let Command::Serve = cli.command {
        // A plain Claude Code session that starts the server is the orchestrator.
        let hub = Arc::new(Hub::open(
            &home,
            Caller::from_env(clearctx::mcp::ORCHESTRATOR)?,
        )?);
        tracing::info!(data_dir = %home.display(), caller = %hub.caller().session, "serving MCP on stdio");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Other(e.into()))?;
        return runtime
            .block_on(clearctx::mcp::serve(hub))
            .map_err(Failure::Other);
    }
    let output = if let Command::Doctor = cli.command {
        // Without the hub: a database that cannot be opened is what it reports.
        cli::doctor::run(&home)
    } else {
        let mut command = cli.command;
        // A dry run changes nothing, the data dir included: one that does not exist yet is
        // stood in for by a scratch dir (it only renders the rules), removed afterwards.
        let scratch = match &mut command {
            Command::Setup(a) if a.dry_run && !home.exists() => {
                a.home = Some(home.clone());
                Some(std::env::temp_dir().join(format!("clearctx-dry-run-{}", std::process::id())))
            }
            _ => None,
        };
        let hub = Hub::open(scratch.as_deref().unwrap_or(&home), Caller::from_env("cli")?)?;
        let output = cli::run(&hub, command, cli.json);
        // Sessions this command started stop with it (they stay resumable).
        hub.sessions().shutdown();
        drop(hub);
        if let Some(dir) = scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
        output?
    };
    let text = if cli.json {
        serde_json::to_string_pretty(&output.json).expect("JSON serializes")
    } else {
        output.text
    };
    if print_stdout(&text) != ExitCode::SUCCESS {
        return Err(Failure::Exit(3));
    }
    if output.code != 0 {
        return Err(Failure::Exit(output.code));
    }
    Ok(())
}

/// Prints a command's output. A reader that stopped reading (`clearctx … | head -1`) ends
/// the command quietly, as `ls` and `git` do; any other write failure is reported.
fn print_stdout(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(3)
        }
    }
}

/// Logs go to stderr, never stdout: in `serve`, stdout is the MCP channel. `CLEARCTX_LOG`
/// takes a tracing filter such as `debug` or `clearctx=trace`.
fn init_tracing(serving: bool) {
    // rmcp logs every error response at warn; a refused tool call is normal traffic.
    let default = if serving {
        "info,rmcp::service=error"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLEARCTX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
