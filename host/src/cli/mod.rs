//! `cli`: the `clearctx` command for people and scripts, a thin adapter over [`Hub`].
//!
//! Each subcommand builds the same request type the MCP tool takes, calls one hub method
//! and renders the result: readable text by default, or with `--json` the same JSON the
//! MCP tool returns. Exit codes: 0 done, 1 refused (bad input, not found, conflict,
//! invalid artifact), 2 usage error, 3 internal error, 4 a plugin failed, 5 a worker's turn
//! or task ended other than `completed` (needs_input, failed, cost_exceeded, …).

mod artifacts;
mod contracts;
mod decisions;
pub mod doctor;
pub mod hook;
mod pipelines;
mod lineage;
mod ojson;
mod plugins;
mod prompts;
mod render;
mod sessions;
mod snapshots;
mod setup;
mod team;

use std::io::Read as _;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::hub::Hub;
use crate::inbox;
use crate::ops;
use crate::sessions::RequestKind;
pub use artifacts::{ArtifactCommand, PublishArgs};
pub use contracts::{ContractCommand, CreateArgs};
pub use plugins::PluginCommand;

#[derive(Debug, Parser)]
#[command(
    name = "clearctx",
    version,
    about = "Coordination hub for teams of Claude Code sessions",
    long_about = "Coordination hub for teams of Claude Code sessions: versioned artifacts and \
                  contracts whose dependencies resolve themselves, served to Claude Code over MCP \
                  (`clearctx serve`) and to people and scripts through this command."
)]
pub struct Cli {
    /// Data dir [default: $CLEARCTX_HOME, else ~/.clearctx]
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print results as JSON (the same JSON the MCP tools return)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MCP server on stdin/stdout (Claude Code starts this)
    Serve,
    /// Summarize the data dir: artifacts, contracts, unread notifications
    Status,
    /// Publish and read versioned artifacts
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// Create contracts and move them through their lifecycle
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Install and manage WebAssembly plugins (validators, conditions, actions, templates)
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// The prompts MCP serves (Claude Code's `/mcp__clearctx__orchestrator`), rendered here
    #[command(subcommand)]
    Prompt(prompts::PromptCommand),
    /// Rules that react to events: when tests fail, reopen the contract
    #[command(subcommand)]
    Pipeline(pipelines::PipelineCommand),
    /// Show the lineage graph of an artifact version: a tree on a terminal, else Mermaid
    Lineage(lineage::LineageArgs),
    /// What a change to an artifact version reaches: downstream versions, contracts, readers
    Impact {
        /// ID of the artifact
        artifact_id: String,
        /// Version whose downstream is listed [default: the latest]
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List stale artifacts (inputs moved on) and completed contracts with stale outputs
    Stale {
        /// Only this team
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show (and mark read) a session's inbox; the same as `team inbox`
    Inbox(InboxArgs),
    /// Start a Claude Code worker; with a prompt, stream its first turn
    Spawn(sessions::SpawnArgs),
    /// Send a session a message and stream its reply (a stopped session is resumed)
    Send {
        /// Session to talk to
        name: String,
        /// The message (`-` reads it from stdin)
        message: String,
    },
    /// Bring back a stopped or paused session, optionally with a message
    Resume {
        /// Session name
        name: String,
        /// A message to send once it runs (`-` reads stdin)
        message: Option<String>,
    },
    /// Pause a session: later messages wait until it is resumed
    Pause {
        /// Session name
        name: String,
    },
    /// Stop a session gracefully (it stays resumable)
    Stop {
        /// Session name
        name: String,
    },
    /// Kill a session's process at once (it stays resumable)
    Kill {
        /// Session name
        name: String,
    },
    /// Branch a session into a new one that continues the same conversation
    Fork {
        /// Session to branch from (left as it is)
        name: String,
        /// Name of the new session
        new_name: String,
        /// First message of the branch (`-` reads stdin)
        message: Option<String>,
    },
    /// List sessions with status, cost and budget
    Sessions {
        /// Only sessions in this status, or whose task ended so
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::sessions::status_filters()))]
        status: Option<String>,
        /// Only sessions of this team
        #[arg(long)]
        team: Option<String>,
        /// Sessions delegated by this one
        #[arg(long)]
        parent: Option<String>,
        /// Only delegated tasks that ended so
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::sessions::TASK_OUTCOMES))]
        task_status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Inspect, delete and clean up sessions
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Run a task in a new worker limited by a preset and a budget; stream it
    Delegate(sessions::DelegateArgs),
    /// Continue, finish or abort a delegated task
    #[command(subcommand)]
    Task(sessions::TaskCommand),
    /// Team members, the roster and phase gates
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Snapshots of a team's coordination state
    #[command(subcommand)]
    Snapshot(snapshots::SnapshotCommand),
    /// Return a team to a snapshot (later artifact versions stay readable)
    Rollback {
        /// The snapshot's label
        label: String,
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
    },
    /// Roll a team back to a snapshot and run its contracts again, with overrides
    Replay {
        /// The snapshot's label
        label: String,
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
        /// {contract_id: {input: value}} as JSON, or a JSON file (`-`: stdin)
        #[arg(long, value_name = "JSON|FILE")]
        overrides: Option<String>,
        /// Follow the replayed contracts until each is completed or failed, a line on
        /// stderr as each moves
        #[arg(long)]
        wait: bool,
        /// How long --wait follows them, in seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 3600, requires = "wait")]
        timeout: u64,
    },
    /// The decision journal: record, list and search decisions
    #[command(subcommand)]
    Decision(decisions::DecisionCommand),
    /// The team's patterns: register, list and read them
    #[command(subcommand)]
    Pattern(decisions::PatternCommand),
    /// What changed in a project since its last checkpoint (the SessionStart briefing)
    Briefing {
        /// Project dir [default: the working directory]
        #[arg(long)]
        project: Option<String>,
    },
    /// Save a continuity checkpoint of a project, with an optional note for the next session
    Checkpoint {
        /// Project dir [default: the working directory]
        #[arg(long)]
        project: Option<String>,
        /// A note for the next session, e.g. what is half done
        #[arg(long)]
        note: Option<String>,
    },
    /// Run a Claude Code hook (installed by `clearctx setup`): reads the hook's JSON on stdin
    Hook {
        /// The hook: session-start, stop, pre-compact or session-end
        #[arg(value_enum)]
        event: hook::HookEvent,
    },
    /// Check the data dir, database, plugins, Claude Code's registration and hooks, `claude`
    Doctor,
    /// Register clearctx with Claude Code: MCP server, continuity hooks, CLAUDE.md rules
    Setup(setup::SetupArgs),
    /// Print a shell completion script
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

/// Paging for the list commands.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Most items to show [default 100, at most 1000]
    #[arg(long)]
    pub limit: Option<u32>,
    /// Go on from here: the `next_cursor` a previous page printed
    #[arg(long)]
    pub cursor: Option<String>,
}

/// The flags of `team inbox` (and its short form `inbox`).
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Whose inbox [default: $CLEARCTX_SESSION, else `cli`]
    #[arg(long)]
    pub recipient: Option<String>,
    /// Leave the items unread
    #[arg(long)]
    pub keep_unread: bool,
    /// After the unread items, list read ones too (newest first)
    #[arg(long)]
    pub include_read: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

fn inbox(hub: &Hub, args: InboxArgs) -> Result<Output> {
    let req = inbox::CheckRequest {
        recipient: args.recipient,
        mark_read: Some(!args.keep_unread),
        include_read: args.include_read.then_some(true),
        limit: args.page.limit,
        cursor: args.page.cursor,
    };
    let i = hub.inbox_check(&req)?;
    let text = render::inbox(&i);
    Ok(reply(ops::replies::team_check_inbox(&req, &i), text))
}

/// The line that tells a person how to see the next page.
pub(crate) fn more_line<T>(p: &crate::store::page::Page<T>) -> String {
    match &p.next_cursor {
        Some(c) => format!("\n… more: add --cursor {c}"),
        None => String::new(),
    }
}

fn parse_json(flag: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::invalid(flag, format!("is not JSON: {e}")))
}

/// Reads a JSON argument given inline (`text`, flag `name`) or from a file (`file`, flag
/// `name-file`; `-` is stdin). `None` when neither was given.
fn read_json_arg(name: &str, text: Option<&str>, file: Option<&PathBuf>) -> Result<Option<Value>> {
    match (text, file) {
        (Some(text), _) => parse_json(&format!("--{name}"), text).map(Some),
        (None, Some(path)) => {
            let flag = format!("--{name}-file");
            // Pretty-printed JSON of the largest data the hub takes fits in twice its size.
            let limit = 2 * crate::artifacts::MAX_DATA_BYTES;
            let text = if path.as_os_str() == "-" {
                read_limited(std::io::stdin(), limit, &flag, "stdin")?
            } else {
                let file = std::fs::File::open(path).map_err(|e| {
                    Error::invalid(&flag, format!("cannot read `{}`: {e}", path.display()))
                })?;
                read_limited(file, limit, &flag, &format!("`{}`", path.display()))?
            };
            parse_json(&flag, &text).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// Reads at most `limit` bytes of UTF-8 text; more is refused before it is held in memory.
pub(crate) fn read_limited(
    reader: impl std::io::Read,
    limit: usize,
    flag: &str,
    what: &str,
) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::invalid(flag, format!("cannot read {what}: {e}")))?;
    if bytes.len() > limit {
        return Err(Error::invalid(
            flag,
            format!("{what} holds more than {limit} bytes, the most clearctx reads"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::invalid(flag, format!("{what} is not UTF-8 text")))
}

/// What a command produced: the JSON (for `--json`), the text for people, and the exit
/// code (non-zero when a worker's turn did not complete).
pub struct Output {
    pub json: Value,
    pub text: String,
    pub code: u8,
}

/// An operation's JSON (as its declaration in `ops` shapes it) with the CLI's text.
fn reply(r: crate::ops::Reply, text: String) -> Output {
    Output {
        json: r.json,
        text,
        code: 0,
    }
}

fn out<T: Serialize>(value: &T, text: String) -> Output {
    Output {
        json: serde_json::to_value(value).expect("hub results serialize"),
        text,
        code: 0,
    }
}

/// Runs one command against the hub. `serve` and `completions` are handled by `main`.
pub fn run(hub: &Hub, command: Command, json: bool) -> Result<Output> {
    match command {
        Command::Spawn(a) => sessions::spawn(hub, a, json),
        Command::Send { name, message } => sessions::send(hub, name, message, json),
        Command::Resume { name, message } => sessions::resume(hub, name, message, json),
        Command::Pause { name } => sessions::control(hub, name, RequestKind::Pause),
        Command::Stop { name } => sessions::control(hub, name, RequestKind::Stop),
        Command::Kill { name } => sessions::control(hub, name, RequestKind::Kill),
        Command::Fork {
            name,
            new_name,
            message,
        } => sessions::fork(hub, name, new_name, message, json),
        Command::Sessions {
            status,
            team,
            parent,
            task_status,
            page,
        } => sessions::list(
            hub,
            crate::sessions::ListRequest {
                status,
                team,
                parent,
                task_status,
                limit: page.limit,
                cursor: page.cursor,
            },
        ),
        Command::Session(c) => sessions::session(hub, c),
        Command::Delegate(a) => sessions::delegate(hub, a, json),
        Command::Task(c) => sessions::task(hub, c, json),
        Command::Team(c) => team::run(hub, c, json),
        Command::Snapshot(c) => snapshots::snapshot(hub, c),
        Command::Rollback { label, team } => snapshots::rollback(hub, label, team),
        Command::Replay { label, team, overrides, wait, timeout } => {
            snapshots::replay(hub, label, team, overrides, wait.then_some(timeout))
        }
        Command::Status => {
            let s = hub.status()?;
            let text = render::status(&s);
            Ok(out(&s, text))
        }
        Command::Artifact(a) => artifacts::run(hub, a),
        Command::Lineage(a) => lineage::trace(hub, a, json),
        Command::Impact {
            artifact_id,
            version,
            page,
        } => lineage::impact(hub, artifact_id, version, page),
        Command::Stale { team, page } => lineage::stale(hub, team, page),
        Command::Contract(c) => contracts::run(hub, c),
        Command::Plugin(p) => plugins::run(hub, p),
        Command::Pipeline(p) => pipelines::run(hub, p),
        Command::Prompt(p) => prompts::run(hub, p),
        Command::Setup(a) => setup::run(hub, a),
        Command::Decision(c) => decisions::run(hub, c),
        Command::Pattern(c) => decisions::run_pattern(hub, c),
        Command::Briefing { project } => {
            let req = crate::continuity::BriefingRequest { project };
            let b = hub.continuity_briefing(&req)?;
            let text = b.text.trim_end().to_string();
            Ok(reply(ops::replies::continuity_briefing(&req, &b), text))
        }
        Command::Checkpoint { project, note } => {
            let req = crate::continuity::CheckpointRequest { project, note };
            let c = hub.session_checkpoint(&req)?;
            let r = ops::replies::session_checkpoint(&req, &c);
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        Command::Inbox(args) => inbox(hub, args),
        Command::Serve | Command::Completions { .. } | Command::Doctor | Command::Hook { .. } => {
            unreachable!("main handles serve, completions, doctor and hook")
        }
    }
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "clearctx", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// A message as the CLI says it: the hub's hints name operations by their MCP names
/// (`contract_reopen`); a person at the terminal is told the command (`clearctx contract
/// reopen`).
pub fn for_people(message: &str) -> String {
    let mut out = message.to_string();
    for op in crate::ops::OPS {
        if let Some(path) = op.cli {
            out = out.replace(&format!("`{}`", op.name), &format!("`clearctx {path}`"));
        }
    }
    out
}

/// Exit code for an error, as documented at the top of this module.
pub fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidInput
        | ErrorKind::NotFound
        | ErrorKind::Conflict
        | ErrorKind::Forbidden => 1,
        ErrorKind::Internal => 3,
        ErrorKind::Plugin => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation has a CLI command (or is listed as MCP-only with the reason), and
    /// every CLI command runs an operation (or is listed as CLI-only with the reason).
    #[test]
    fn each_operation_is_reachable_from_both_surfaces() {
        fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|s| s.get_name() != "help")
                .collect();
            if subs.is_empty() {
                out.push(path.trim().to_string());
            }
            for sub in subs {
                leaves(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut commands = Vec::new();
        leaves(&Cli::command(), "", &mut commands);
        for op in crate::ops::OPS {
            match op.cli {
                Some(path) => assert!(
                    commands.iter().any(|c| c == path),
                    "{}: no CLI command `clearctx {path}` in {commands:?}",
                    op.name
                ),
                None => assert!(
                    crate::ops::MCP_ONLY.iter().any(|(n, _)| *n == op.name),
                    "{} has no CLI command and is not listed in ops::MCP_ONLY",
                    op.name
                ),
            }
        }
        for c in &commands {
            let runs_op = crate::ops::OPS.iter().any(|o| o.cli == Some(c.as_str()));
            let listed = crate::ops::CLI_ONLY.iter().any(|(n, _)| n == c);
            assert!(
                runs_op != listed,
                "`clearctx {c}` must run exactly one operation or be listed in ops::CLI_ONLY"
            );
        }
    }

    /// Every argument of an operation has a CLI flag or positional (under the CLI's own
    /// name where it has one), or a reason it has none; flags beyond the arguments are the
    /// CLI's own conveniences, listed too. This is what keeps the surfaces from drifting.
    #[test]
    fn each_operation_argument_has_a_cli_flag() {
        // (operation, argument, the CLI's name for it)
        const RENAMED: &[(&str, &str, &str)] = &[
            ("artifact_publish", "type", "artifact_type"),
            ("artifact_list", "type", "artifact_type"),
            ("artifact_diff", "from_version", "from"),
            ("artifact_diff", "to_version", "to"),
            ("contract_create", "acceptance_criteria", "criteria"),
            ("contract_create", "dependencies", "depends_on"),
            ("contract_create", "expected_outputs", "expects"),
            ("team_check_inbox", "mark_read", "keep_unread"),
            ("team_ask", "timeout_s", "timeout"),
            ("plugin_info", "plugin", "id"),
            ("spawn_session", "turn_timeout_s", "turn_timeout"),
            ("delegate_task", "turn_timeout_s", "turn_timeout"),
            ("get_history", "after_seq", "after"),
            ("batch_spawn", "sessions", "file"),
            ("cleanup_sessions", "older_than_s", "older_than"),
        ];
        // A command streams its turn to the terminal and waits for it to end (Ctrl-C stops
        // waiting), so the MCP tools' `wait` and `timeout_s` have no flag.
        const NOT_ON_CLI: &[&str] = &["wait", "timeout_s"];
        // The CLI's own: data from a file, and the person's override of contract roles.
        const CLI_EXTRAS: &[&str] = &["data_file", "rules_file", "override_roles", "help"];
        // One command's own: `replay --wait` follows the replayed contracts on the terminal
        // (over MCP, the model watches contracts and its inbox instead).
        const CLI_OWN: &[(&str, &str)] = &[("team_replay", "wait"), ("team_replay", "timeout")];
        fn find<'a>(cmd: &'a clap::Command, path: &[&str]) -> &'a clap::Command {
            match path.split_first() {
                None => cmd,
                Some((first, rest)) => find(
                    cmd.find_subcommand(first)
                        .unwrap_or_else(|| panic!("no subcommand {first}")),
                    rest,
                ),
            }
        }
        let root = Cli::command();
        let mut problems = Vec::new();
        for op in crate::ops::OPS {
            let Some(path) = op.cli else { continue };
            let cmd = find(&root, &path.split(' ').collect::<Vec<_>>());
            let flags: Vec<String> = cmd
                .get_arguments()
                .map(|a| a.get_id().to_string())
                .collect();
            let schema = (op.schema)();
            let params: Vec<&String> = schema["properties"]
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            let cli_name = |p: &str| {
                RENAMED
                    .iter()
                    .find(|(o, a, _)| *o == op.name && *a == p)
                    .map_or(p.to_string(), |(_, _, c)| c.to_string())
            };
            for p in &params {
                if !NOT_ON_CLI.contains(&p.as_str()) && !flags.contains(&cli_name(p)) {
                    problems.push(format!(
                        "{}: `{p}` has no flag on `clearctx {path}`",
                        op.name
                    ));
                }
            }
            for f in &flags {
                let known = params.iter().any(|p| cli_name(p) == *f);
                if !known && !CLI_EXTRAS.contains(&f.as_str()) && !CLI_OWN.contains(&(op.name, f.as_str())) {
                    problems.push(format!(
                        "`clearctx {path}` has `{f}`, which {} does not take",
                        op.name
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "the surfaces drifted:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn hints_name_the_command_a_person_types() {
        assert_eq!(
            for_people("contract `c1` already exists; use `contract_reopen` to run it again"),
            "contract `c1` already exists; use `clearctx contract reopen` to run it again"
        );
        assert_eq!(
            for_people("`server_version` first"),
            "`server_version` first"
        );
    }

    /// The README's tool table names exactly the tools `tools/list` lists.
    #[test]
    fn the_readme_tool_table_matches_the_tools() {
        let readme = include_str!("../../../README.md");
        let mut table: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| tool | what it does |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .flat_map(|l| l.split('|').nth(1).unwrap_or_default().split('/'))
            .map(|name| name.trim().trim_matches('`'))
            .collect();
        let mut tools: Vec<&str> = crate::ops::OPS.iter().map(|o| o.name).collect();
        table.sort();
        tools.sort();
        assert_eq!(
            table, tools,
            "README.md's tool table and tools/list disagree"
        );
    }

    /// `clearctx <cmd> --help` explains every argument.
    #[test]
    fn every_cli_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "clearctx", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    /// Completions offer the values of `--status`, `--priority`, `--preset`, `--kind` and
    /// `--permission-mode`, not file names.
    #[test]
    fn completions_offer_the_values_of_enumerated_options() {
        let bash = completions(clap_complete::Shell::Bash);
        for values in [
            "pending ready in_progress completed failed",
            "low normal high critical",
            "read-only review edit full plan",
            "artifact-validator pipeline-condition pipeline-action prompt-template",
            "default acceptEdits bypassPermissions plan",
            "starting idle busy paused stopped failed",
        ] {
            assert!(bash.contains(values), "completions lack `{values}`");
        }
    }
}
