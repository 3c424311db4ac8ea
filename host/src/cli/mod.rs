//! `cli`: the `clearctx` command for people and scripts, a thin adapter over [`Hub`].
//!
//! Each subcommand builds the same request type the MCP tool takes, calls one hub method
//! and renders the result: readable text by default, or with `--json` the same JSON the
//! MCP tool returns. Exit codes: 0 done, 1 refused (bad input, not found, conflict,
//! invalid artifact), 2 usage error, 3 internal error, 4 a plugin failed, 5 a worker's turn
//! or task ended other than `completed` (needs_input, failed, cost_exceeded, …).

mod sessions;

use std::io::Read as _;
use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use crate::artifacts::{self, VersionRef};
use crate::contracts::{self, Dependency, DependencyKind, ExpectedOutput, Priority, Status};
use crate::error::{Error, ErrorKind, Result};
use crate::hub::Hub;
use crate::inbox;
use crate::ops;

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
    /// Show (and mark read) unread notifications of a session
    Inbox {
        /// Whose inbox [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        recipient: Option<String>,
        /// Leave the notifications unread
        #[arg(long)]
        keep_unread: bool,
    },
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
    /// Print a shell completion script
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Publish the next version of an artifact
    Publish(PublishArgs),
    /// Print a version of an artifact with its data (records the read)
    Get {
        /// ID of the artifact
        artifact_id: String,
        /// Version to read [default: latest]
        #[arg(long)]
        version: Option<u32>,
        /// Who reads [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        reader: Option<String>,
    },
    /// List artifacts with their latest version
    List {
        /// Only artifacts of this type
        #[arg(long = "type")]
        artifact_type: Option<String>,
        /// Only artifacts whose latest version this session published
        #[arg(long)]
        publisher: Option<String>,
        /// Only this team
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List the versions of an artifact, oldest first
    History {
        /// ID of the artifact
        artifact_id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show who read which version
    Readers {
        /// ID of the artifact
        artifact_id: String,
    },
    /// Structural diff between two versions [default: latest against the one before]
    Diff {
        /// ID of the artifact
        artifact_id: String,
        /// Older version [default: the one before `--to`]
        #[arg(long)]
        from: Option<u32>,
        /// Newer version [default: the latest]
        #[arg(long)]
        to: Option<u32>,
    },
    /// List artifact types
    Types,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// ID of the artifact
    pub artifact_id: String,
    /// Artifact type, e.g. api-contract, test-results, json
    #[arg(long = "type", value_name = "TYPE")]
    pub artifact_type: String,
    /// The content, as JSON
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with = "data_file",
        required_unless_present = "data_file"
    )]
    pub data: Option<String>,
    /// Read the JSON content from a file (`-` for stdin)
    #[arg(long, value_name = "PATH")]
    pub data_file: Option<PathBuf>,
    /// One line saying what this version is
    #[arg(long)]
    pub summary: Option<String>,
    /// An input version this was derived from, as ID@VERSION (repeatable)
    #[arg(long = "derived-from", value_name = "ID@VERSION", value_parser = parse_version_ref)]
    pub derived_from: Vec<VersionRef>,
    /// Who publishes [default: $CLEARCTX_SESSION, else `cli`]
    #[arg(long)]
    pub publisher: Option<String>,
    /// Team of the artifact [default: $CLEARCTX_TEAM, else `default`]
    #[arg(long)]
    pub team: Option<String>,
    /// Start a type no validator declares and no artifact has yet (refused otherwise)
    #[arg(long)]
    pub new_type: bool,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Create a contract (ready at once unless its dependencies are unmet)
    Create(CreateArgs),
    /// Start a ready contract
    Start {
        /// ID of the contract
        contract_id: String,
        /// The session acting [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        by: Option<String>,
        /// Act although the roles say otherwise (recorded in the event)
        #[arg(long = "override")]
        override_roles: bool,
    },
    /// Complete an in-progress contract
    Complete {
        /// ID of the contract
        contract_id: String,
        /// What was done
        #[arg(long)]
        summary: Option<String>,
        /// Structured result, as JSON
        #[arg(long, value_name = "JSON")]
        result: Option<String>,
        /// The session acting [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        by: Option<String>,
        /// Act although the roles say otherwise (recorded in the event)
        #[arg(long = "override")]
        override_roles: bool,
    },
    /// Fail an unfinished contract
    Fail {
        /// ID of the contract
        contract_id: String,
        /// Why (shown to the assignee, kept in the history)
        #[arg(long)]
        reason: String,
        /// The session acting [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        by: Option<String>,
        /// Act although the roles say otherwise (recorded in the event)
        #[arg(long = "override")]
        override_roles: bool,
    },
    /// Reopen a finished or in-progress contract
    Reopen {
        /// ID of the contract
        contract_id: String,
        /// Why (shown to the assignee, kept in the history)
        #[arg(long)]
        reason: String,
        /// The session acting [default: $CLEARCTX_SESSION, else `cli`]
        #[arg(long)]
        by: Option<String>,
        /// Act although the roles say otherwise (recorded in the event)
        #[arg(long = "override")]
        override_roles: bool,
    },
    /// Show one contract with its dependencies and history
    Get {
        /// ID of the contract
        contract_id: String,
    },
    /// List contracts, highest priority first
    List {
        /// Only contracts assigned to this session
        #[arg(long)]
        assignee: Option<String>,
        /// Only contracts assigned by this session
        #[arg(long)]
        assigner: Option<String>,
        /// Only contracts in this status: pending, ready, in_progress, completed or failed
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["pending", "ready", "in_progress", "completed", "failed"]).try_map(|s: String| parse_status(&s)))]
        status: Option<Status>,
        /// Only this team
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
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

/// The line that tells a person how to see the next page.
pub(crate) fn more_line<T>(p: &crate::store::page::Page<T>) -> String {
    match &p.next_cursor {
        Some(c) => format!("\n… more: add --cursor {c}"),
        None => String::new(),
    }
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin from a .wasm component, a folder with clearctx-plugin.toml, or a plugin crate
    Add {
        /// Path to the .wasm, the folder, or the crate (built for wasm32-wasip2)
        source: PathBuf,
        /// Consent without asking (for scripts)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Grant only this capability (repeatable); default: all the plugin requests
        #[arg(long = "grant", value_name = "CAPABILITY")]
        grants: Vec<String>,
        /// Take over the types this installed plugin validates (repeatable)
        #[arg(long = "replace", value_name = "PLUGIN")]
        replace: Vec<String>,
    },
    /// List installed and standard plugins
    List,
    /// Show a plugin's kinds, limits, grants, health and resource use
    Info {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Uninstall a plugin
    Remove {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Enable an installed plugin
    Enable {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Disable an installed plugin (it stays installed)
    Disable {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Create a plugin crate that builds, tests and installs as it is
    New {
        /// artifact-validator, pipeline-condition, pipeline-action or prompt-template
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["artifact-validator", "pipeline-condition", "pipeline-action", "prompt-template"]).try_map(|s: String| parse_kind(&s)))]
        kind: crate::plugins::Kind,
        /// Name of the plugin (and of its folder)
        name: String,
        /// Where to create the folder [default: the current directory]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The clearctx-plugin-sdk crate to depend on [default: the copy this clearctx carries, written into the data dir]
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Run a plugin once in the real sandbox on an input
    Test {
        /// An installed or standard plugin id, or a path as for `plugin add`
        plugin: String,
        /// The input as JSON: artifact data, a condition's context, template variables or an action's context
        #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the input from a file (`-` for stdin)
        #[arg(long, value_name = "PATH")]
        input_file: Option<PathBuf>,
        /// Validators: the artifact type [default: the first the plugin declares]
        #[arg(long = "type", value_name = "TYPE")]
        artifact_type: Option<String>,
        /// Conditions: the expression to evaluate
        #[arg(long)]
        expression: Option<String>,
        /// Templates: the template to render
        #[arg(long)]
        template: Option<String>,
        /// Actions: the rule's config, as JSON
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
}

fn parse_kind(s: &str) -> std::result::Result<crate::plugins::Kind, String> {
    crate::plugins::Kind::parse(s).ok_or_else(|| {
        format!("`{s}` is not artifact-validator, pipeline-condition, pipeline-action or prompt-template")
    })
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// ID of the contract
    pub contract_id: String,
    /// Short title of the work
    #[arg(long)]
    pub title: String,
    /// Session that will do the work
    #[arg(long)]
    pub assignee: String,
    /// Session assigning it [default: $CLEARCTX_SESSION, else `cli`]
    #[arg(long)]
    pub assigner: Option<String>,
    /// What to do, in full
    #[arg(long)]
    pub description: Option<String>,
    /// Structured inputs, as a JSON object
    #[arg(long, value_name = "JSON")]
    pub inputs: Option<String>,
    /// contract:ID or artifact:ID[@MIN_VERSION] (repeatable)
    #[arg(long = "depends-on", value_name = "DEP", value_parser = parse_dependency)]
    pub depends_on: Vec<Dependency>,
    /// type:TYPE or id:ARTIFACT_ID, with `?` at the end when optional (repeatable)
    #[arg(long = "expects", value_name = "OUTPUT", value_parser = parse_expected)]
    pub expects: Vec<ExpectedOutput>,
    /// An acceptance criterion (repeatable)
    #[arg(long = "criterion", value_name = "TEXT")]
    pub criteria: Vec<String>,
    /// low, normal, high or critical [default: normal]
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["low", "normal", "high", "critical"]).try_map(|s: String| parse_priority(&s)))]
    pub priority: Option<Priority>,
    /// Seconds it may stay in progress before failing as overdue
    #[arg(long)]
    pub timeout_s: Option<u64>,
    /// How many times it may be reopened
    #[arg(long)]
    pub max_retries: Option<u32>,
    /// Team of the contract [default: $CLEARCTX_TEAM, else `default`]
    #[arg(long)]
    pub team: Option<String>,
}

fn parse_version_ref(s: &str) -> std::result::Result<VersionRef, String> {
    let (id, v) = s
        .rsplit_once('@')
        .ok_or_else(|| format!("`{s}` is not ID@VERSION"))?;
    let version = v
        .parse()
        .map_err(|_| format!("`{v}` in `{s}` is not a version number"))?;
    Ok(VersionRef {
        artifact_id: id.to_string(),
        version,
    })
}

fn parse_dependency(s: &str) -> std::result::Result<Dependency, String> {
    if let Some(id) = s.strip_prefix("contract:") {
        return Ok(Dependency {
            kind: DependencyKind::Contract,
            id: id.to_string(),
            min_version: None,
        });
    }
    if let Some(rest) = s.strip_prefix("artifact:") {
        let (id, min) = match rest.rsplit_once('@') {
            Some((id, v)) => (
                id,
                Some(
                    v.parse()
                        .map_err(|_| format!("`{v}` in `{s}` is not a version number"))?,
                ),
            ),
            None => (rest, None),
        };
        return Ok(Dependency {
            kind: DependencyKind::Artifact,
            id: id.to_string(),
            min_version: min,
        });
    }
    Err(format!(
        "`{s}` is not contract:ID or artifact:ID[@MIN_VERSION]"
    ))
}

fn parse_expected(s: &str) -> std::result::Result<ExpectedOutput, String> {
    let (s, required) = match s.strip_suffix('?') {
        Some(rest) => (rest, false),
        None => (s, true),
    };
    let (artifact_type, artifact_id) = if let Some(t) = s.strip_prefix("type:") {
        (Some(t.to_string()), None)
    } else if let Some(id) = s.strip_prefix("id:") {
        (None, Some(id.to_string()))
    } else {
        return Err(format!("`{s}` is not type:TYPE or id:ARTIFACT_ID"));
    };
    Ok(ExpectedOutput {
        artifact_type,
        artifact_id,
        required,
    })
}

fn parse_priority(s: &str) -> std::result::Result<Priority, String> {
    serde_json::from_value(json!(s))
        .map_err(|_| format!("`{s}` is not low, normal, high or critical"))
}

fn parse_status(s: &str) -> std::result::Result<Status, String> {
    serde_json::from_value(json!(s))
        .map_err(|_| format!("`{s}` is not pending, ready, in_progress, completed or failed"))
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
        Command::Pause { name } => sessions::control(hub, name, "pause"),
        Command::Stop { name } => sessions::control(hub, name, "stop"),
        Command::Kill { name } => sessions::control(hub, name, "kill"),
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
        Command::Status => {
            let s = hub.status()?;
            let text = render::status(&s);
            Ok(out(&s, text))
        }
        Command::Artifact(a) => artifact(hub, a),
        Command::Contract(c) => contract(hub, c),
        Command::Plugin(p) => plugin(hub, p),
        Command::Inbox {
            recipient,
            keep_unread,
        } => {
            let req = inbox::CheckRequest {
                recipient,
                mark_read: Some(!keep_unread),
            };
            let i = hub.inbox_check(&req)?;
            let text = render::inbox(&i);
            Ok(reply(ops::replies::team_check_inbox(&req, &i), text))
        }
        Command::Serve | Command::Completions { .. } => {
            unreachable!("main handles serve and completions")
        }
    }
}

fn artifact(hub: &Hub, command: ArtifactCommand) -> Result<Output> {
    match command {
        ArtifactCommand::Publish(args) => {
            let data = read_json_arg("data", args.data.as_deref(), args.data_file.as_ref())?
                .ok_or_else(|| Error::invalid("--data", "give --data or --data-file"))?;
            let v = hub.artifact_publish(&artifacts::PublishRequest {
                artifact_id: args.artifact_id,
                artifact_type: args.artifact_type,
                data,
                summary: args.summary,
                derived_from: args.derived_from,
                publisher: args.publisher,
                team: args.team,
                new_type: args.new_type,
            })?;
            let text = format!(
                "published {} v{} ({}) sha256 {}",
                v.artifact_id,
                v.version,
                v.artifact_type,
                &v.sha256[..12]
            );
            let text = v
                .warnings
                .iter()
                .fold(text, |t, w| format!("{t}\nwarning: {w}"));
            Ok(out(&v, text))
        }
        ArtifactCommand::Get {
            artifact_id,
            version,
            reader,
        } => {
            let v = hub.artifact_get(&artifacts::GetRequest {
                artifact_id,
                version,
                reader,
            })?;
            let text = render::version(&v);
            Ok(out(&v, text))
        }
        ArtifactCommand::List {
            artifact_type,
            publisher,
            team,
            page,
        } => {
            let req = artifacts::ListRequest {
                artifact_type,
                publisher,
                team,
                limit: page.limit,
                cursor: page.cursor,
            };
            let p = hub.artifact_list(&req)?;
            let text = render::artifacts(&p.items) + &more_line(&p);
            Ok(reply(ops::replies::artifact_list(&req, &p), text))
        }
        ArtifactCommand::History { artifact_id, page } => {
            let req = artifacts::HistoryRequest {
                artifact_id,
                limit: page.limit,
                cursor: page.cursor,
            };
            let p = hub.artifact_history_page(&req)?;
            let text = render::history(&p.items) + &more_line(&p);
            Ok(reply(ops::replies::artifact_history(&req, &p), text))
        }
        ArtifactCommand::Readers { artifact_id } => {
            let r = hub.artifact_readers(&artifact_id)?;
            let text = render::readers(&r);
            Ok(out(&r, text))
        }
        ArtifactCommand::Diff {
            artifact_id,
            from,
            to,
        } => {
            let d = hub.artifact_diff(&artifacts::DiffRequest {
                artifact_id,
                from_version: from,
                to_version: to,
            })?;
            let text = render::diff(&d);
            Ok(out(&d, text))
        }
        ArtifactCommand::Types => {
            let t = hub.artifact_types()?;
            let text = render::types(&t);
            Ok(reply(
                ops::replies::artifact_types(&ops::NoArgs {}, &t),
                text,
            ))
        }
    }
}

fn contract(hub: &Hub, command: ContractCommand) -> Result<Output> {
    let c = match command {
        ContractCommand::Create(a) => hub.contract_create(&contracts::CreateRequest {
            contract_id: a.contract_id,
            title: a.title,
            assignee: a.assignee,
            assigner: a.assigner,
            description: a.description,
            inputs: a
                .inputs
                .as_deref()
                .map(|t| parse_json("--inputs", t))
                .transpose()?,
            dependencies: a.depends_on,
            expected_outputs: a.expects,
            acceptance_criteria: a.criteria,
            priority: a.priority,
            timeout_s: a.timeout_s,
            max_retries: a.max_retries,
            team: a.team,
        })?,
        ContractCommand::Start {
            contract_id,
            by,
            override_roles,
        } => hub.contract_start(&contracts::ContractIdRequest {
            contract_id,
            by,
            override_roles,
        })?,
        ContractCommand::Complete {
            contract_id,
            summary,
            result,
            by,
            override_roles,
        } => hub.contract_complete(&contracts::CompleteRequest {
            contract_id,
            summary,
            result: result
                .as_deref()
                .map(|t| parse_json("--result", t))
                .transpose()?,
            by,
            override_roles,
        })?,
        ContractCommand::Fail {
            contract_id,
            reason,
            by,
            override_roles,
        } => hub.contract_fail(&contracts::ReasonRequest {
            contract_id,
            reason,
            by,
            override_roles,
        })?,
        ContractCommand::Reopen {
            contract_id,
            reason,
            by,
            override_roles,
        } => hub.contract_reopen(&contracts::ReasonRequest {
            contract_id,
            reason,
            by,
            override_roles,
        })?,
        ContractCommand::Get { contract_id } => hub.contract_get(&contract_id)?,
        ContractCommand::List {
            assignee,
            assigner,
            status,
            team,
            page,
        } => {
            let req = contracts::ListRequest {
                assignee,
                assigner,
                status,
                team,
                limit: page.limit,
                cursor: page.cursor,
            };
            let p = hub.contract_list(&req)?;
            let text = render::contracts(&p.items) + &more_line(&p);
            return Ok(reply(ops::replies::contract_list(&req, &p), text));
        }
    };
    let text = render::contract(&c);
    Ok(out(&c, text))
}

/// Asks the person at the terminal to consent to an install; scripts pass `--yes`.
fn consent(report: &crate::plugins::AddReport) -> Result<()> {
    use std::io::{IsTerminal, Write};
    eprintln!("{}", render::add_report(report));
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "--yes",
            format!(
                "installing plugin `{}` needs your consent; rerun with --yes to grant what is listed above",
                report.id
            ),
        ));
    }
    eprint!("Install it? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::conflict(format!(
            "plugin `{}` was not installed: consent declined",
            report.id
        )))
    }
}

fn plugin(hub: &Hub, command: PluginCommand) -> Result<Output> {
    use crate::plugins::{AddOptions, Kind, NewOptions, Source, TestInput};
    match command {
        PluginCommand::Add {
            source,
            yes,
            grants,
            replace,
        } => {
            let options = AddOptions {
                grants: (!grants.is_empty()).then_some(grants),
                replace,
            };
            let report = hub.plugins().plan(&Source::Path(source), &options)?;
            if let Err(e) = report.check_conflicts() {
                eprintln!("{}", render::add_report(&report));
                return Err(e);
            }
            if yes {
                eprintln!("{}", render::add_report(&report));
            } else {
                consent(&report)?;
            }
            let entry = hub.plugin_commit(&report)?;
            let text = format!(
                "installed {} {} ({}){}",
                entry.id,
                entry.version,
                entry
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                report
                    .replaces
                    .as_ref()
                    .map(|v| format!(", replacing {v}"))
                    .unwrap_or_default()
            );
            Ok(out(&entry, text))
        }
        PluginCommand::List => {
            let list = hub.plugin_list()?;
            let text = render::plugins(&list);
            Ok(reply(
                ops::replies::plugin_list(&ops::NoArgs {}, &list),
                text,
            ))
        }
        PluginCommand::Info { id } => {
            let req = ops::PluginIdRequest { plugin: id };
            let d = hub.plugin_info(&req.plugin)?;
            let text = render::plugin_detail(&d);
            Ok(reply(ops::replies::plugin_info(&req, &d), text))
        }
        PluginCommand::Remove { id } => {
            let s = hub.plugin_remove(&id)?;
            Ok(out(&s, format!("removed {} {}", s.id, s.version)))
        }
        PluginCommand::Enable { id } => {
            let s = hub.plugin_set_enabled(&id, true)?;
            Ok(out(&s, format!("enabled {}", s.id)))
        }
        PluginCommand::Disable { id } => {
            let s = hub.plugin_set_enabled(&id, false)?;
            Ok(out(&s, format!("disabled {}", s.id)))
        }
        PluginCommand::New {
            kind,
            name,
            dir,
            sdk,
        } => {
            let dir = match dir {
                Some(d) => d,
                None => {
                    std::env::current_dir().map_err(|e| Error::invalid("--dir", e.to_string()))?
                }
            };
            let path = crate::plugins::scaffold(&NewOptions {
                kind,
                name: name.clone(),
                dir,
                sdk,
                home: hub.home().to_path_buf(),
            })?;
            let text = format!(
                "created {} ({})\nnext: cd {} && cargo test && clearctx plugin add .",
                path.display(),
                kind.as_str(),
                path.display()
            );
            Ok(out(
                &json!({ "path": path, "kind": kind, "name": name }),
                text,
            ))
        }
        PluginCommand::Test {
            plugin,
            input,
            input_file,
            artifact_type,
            expression,
            template,
            config,
        } => {
            // A plain name is the installed (or standard) plugin, even if a folder of that
            // name is here; a path (with a `/`) is built and tested without installing.
            let path = PathBuf::from(&plugin);
            let installed = (!plugin.contains('/')).then(|| hub.plugins().resolve(&plugin));
            let (resolved, kinds, tested) = match installed {
                Some(Ok(r)) => {
                    let kinds = hub.plugin_info(&plugin)?.summary.kinds;
                    let what = format!("the installed plugin `{}` {}", r.id, r.version);
                    (r, kinds, what)
                }
                Some(Err(e)) if !path.exists() => return Err(e),
                _ => {
                    let report = hub
                        .plugins()
                        .plan(&Source::Path(path), &AddOptions::default())?;
                    let what = format!("the component built from `{}`", report.source);
                    (hub.plugins().probe(&report), report.kinds, what)
                }
            };
            let input = read_json_arg("input", input.as_deref(), input_file.as_ref())?
                .unwrap_or_else(|| json!({}));
            let test = if let Some(expression) = expression {
                TestInput::Evaluate {
                    expression,
                    context: input,
                }
            } else if let Some(template) = template {
                TestInput::Render {
                    template,
                    variables: input,
                }
            } else if let Some(config) = config {
                TestInput::Run {
                    config: parse_json("--config", &config)?,
                    context: input,
                }
            } else {
                match kinds.first() {
                    Some(Kind::ArtifactValidator) => TestInput::Validate {
                        artifact_type,
                        data: input,
                    },
                    Some(Kind::PipelineCondition) => {
                        return Err(Error::invalid(
                            "--expression",
                            "a condition plugin needs --expression",
                        ));
                    }
                    Some(Kind::PromptTemplate) => {
                        return Err(Error::invalid(
                            "--template",
                            "a template plugin needs --template",
                        ));
                    }
                    Some(Kind::PipelineAction) => TestInput::Run {
                        config: json!({}),
                        context: input,
                    },
                    None => return Err(Error::invalid("plugin", "it declares no kind")),
                }
            };
            let outcome = hub.plugins().test(&resolved, &test)?;
            let text = format!("tested {tested}\n{}", render::test_outcome(&outcome));
            let mut output = out(&outcome, text);
            // Invalid input fails the command, as `artifact publish` does.
            if outcome.result["valid"] == false {
                output.code = 1;
            }
            Ok(output)
        }
    }
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "clearctx", &mut script);
    String::from_utf8_lossy(&script).into_owned()
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

/// Human-readable rendering. Kept apart so the command code above reads as plain calls.
mod render {
    use std::fmt::Write as _;

    use crate::artifacts::{Diff, Readers, TypeInfo, Version};
    use crate::contracts::Contract;
    use crate::hub::StatusReport;
    use crate::inbox::Inbox;

    /// Left-aligned columns sized to their widest cell.
    fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, cells: Vec<String>| {
            let last = cells.len() - 1;
            for (i, c) in cells.into_iter().enumerate() {
                if i == last {
                    s.push_str(&c);
                } else {
                    let _ = write!(s, "{c:<w$}  ", w = widths[i]);
                }
            }
            s.push('\n');
        };
        line(&mut s, header.iter().map(|h| h.to_string()).collect());
        for row in rows {
            line(&mut s, row);
        }
        s.trim_end().to_string()
    }

    fn date(rfc3339: &str) -> String {
        rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
    }

    pub fn version(v: &Version) -> String {
        let mut s = format!(
            "{} v{} of {} ({}), published by {} at {}",
            v.artifact_id,
            v.version,
            v.latest_version,
            v.artifact_type,
            v.publisher,
            date(&v.published_at)
        );
        if let Some(summary) = &v.summary {
            let _ = write!(s, "\n{summary}");
        }
        if !v.derived_from.is_empty() {
            let inputs: Vec<String> = v
                .derived_from
                .iter()
                .map(|r| format!("{}@{}", r.artifact_id, r.version))
                .collect();
            let _ = write!(s, "\nderived from {}", inputs.join(", "));
        }
        if let Some(data) = &v.data {
            let _ = write!(
                s,
                "\n{}",
                serde_json::to_string_pretty(data).unwrap_or_default()
            );
        }
        s
    }

    pub fn artifacts(list: &[Version]) -> String {
        if list.is_empty() {
            return "no artifacts".to_string();
        }
        table(
            &[
                "ARTIFACT",
                "TYPE",
                "VERSION",
                "PUBLISHER",
                "PUBLISHED",
                "SUMMARY",
            ],
            list.iter()
                .map(|v| {
                    vec![
                        v.artifact_id.clone(),
                        v.artifact_type.clone(),
                        v.version.to_string(),
                        v.publisher.clone(),
                        date(&v.published_at),
                        v.summary.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }

    pub fn history(list: &[Version]) -> String {
        table(
            &["VERSION", "PUBLISHER", "PUBLISHED", "SHA256", "SUMMARY"],
            list.iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        v.publisher.clone(),
                        date(&v.published_at),
                        v.sha256[..12].to_string(),
                        v.summary.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }

    pub fn readers(r: &Readers) -> String {
        if r.readers.is_empty() {
            return format!("nobody has read {} yet", r.artifact_id);
        }
        table(
            &["READER", "LAST READ", "LATEST", "READS"],
            r.readers
                .iter()
                .map(|s| {
                    vec![
                        s.reader.clone(),
                        format!("v{}", s.last_version_read),
                        if s.read_latest {
                            "yes".into()
                        } else {
                            format!("no (v{} exists)", r.latest_version)
                        },
                        s.reads.to_string(),
                    ]
                })
                .collect(),
        )
    }

    pub fn diff(d: &Diff) -> String {
        if d.identical {
            return format!(
                "{} v{} and v{} are identical",
                d.artifact_id, d.from_version, d.to_version
            );
        }
        let mut s = format!(
            "{} v{} -> v{}: {} added, {} removed, {} changed",
            d.artifact_id, d.from_version, d.to_version, d.added, d.removed, d.changed
        );
        for op in d.operations.as_array().into_iter().flatten() {
            let kind = op["op"].as_str().unwrap_or("?");
            let path = op["path"].as_str().unwrap_or("");
            let sign = match kind {
                "add" => "+",
                "remove" => "-",
                _ => "~",
            };
            match op.get("value") {
                Some(v) => {
                    let _ = write!(s, "\n{sign} {path}: {v}");
                }
                None => {
                    let _ = write!(s, "\n{sign} {path}");
                }
            }
        }
        s
    }

    pub fn types(t: &[TypeInfo]) -> String {
        table(
            &["TYPE", "ARTIFACTS", "VALIDATOR", "DESCRIPTION"],
            t.iter()
                .map(|t| {
                    vec![
                        t.artifact_type.clone(),
                        t.artifacts.to_string(),
                        t.validator.clone().unwrap_or_else(|| "-".into()),
                        t.description.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }

    pub fn contract(c: &Contract) -> String {
        let mut s = format!(
            "{} [{}] {} -> {}: {}",
            c.contract_id,
            c.status.as_str(),
            c.assigner,
            c.assignee,
            c.title
        );
        let _ = write!(
            s,
            "\npriority {} · team {}{}",
            c.priority.as_str(),
            c.team,
            c.timeout_s
                .map(|t| format!(" · timeout {t} s"))
                .unwrap_or_default()
        );
        if !c.description.is_empty() {
            let _ = write!(s, "\n{}", c.description);
        }
        if c.inputs.as_object().is_some_and(|o| !o.is_empty()) {
            let inputs = serde_json::to_string_pretty(&c.inputs).unwrap_or_default();
            let _ = write!(s, "\ninputs: {inputs}");
        }
        for a in &c.acceptance_criteria {
            let _ = write!(s, "\n  accept when: {a}");
        }
        if let Some(reason) = &c.reason {
            let _ = write!(s, "\nreason: {reason}");
        }
        if let Some(result) = &c.result {
            let _ = write!(s, "\nresult: {result}");
        }
        for d in &c.dependencies {
            let _ = write!(
                s,
                "\n  {} {} {}: {}",
                if d.satisfied { "✔" } else { "…" },
                d.dependency.kind.as_str(),
                d.dependency.id,
                d.detail
            );
        }
        for o in &c.expected_outputs {
            let what = match (&o.artifact_id, &o.artifact_type) {
                (Some(id), _) => format!("artifact {id}"),
                (_, Some(t)) => format!("an artifact of type {t}"),
                _ => String::new(),
            };
            let _ = write!(
                s,
                "\n  expects {what}{}",
                if o.required { "" } else { " (optional)" }
            );
        }
        if let Some(history) = &c.history {
            for e in history {
                let _ = write!(
                    s,
                    "\n  {} #{} {} by {}",
                    date(&e.at),
                    e.seq,
                    e.kind,
                    e.actor
                );
            }
        }
        s
    }

    pub fn contracts(list: &[Contract]) -> String {
        if list.is_empty() {
            return "no contracts".to_string();
        }
        table(
            &["CONTRACT", "STATUS", "PRIORITY", "ASSIGNEE", "TITLE"],
            list.iter()
                .map(|c| {
                    vec![
                        c.contract_id.clone(),
                        c.status.as_str().to_string(),
                        serde_json::to_value(c.priority)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        c.assignee.clone(),
                        c.title.clone(),
                    ]
                })
                .collect(),
        )
    }

    pub fn inbox(i: &Inbox) -> String {
        if i.unread.is_empty() {
            return format!("no unread notifications for {}", i.recipient);
        }
        let mut s = String::new();
        for n in &i.unread {
            let _ = writeln!(s, "{} {}: {}", date(&n.created_at), n.kind, n.message);
        }
        s.trim_end().to_string()
    }

    fn limits(l: &crate::plugins::Limits) -> String {
        format!(
            "fuel {}, {} ms, {} MiB memory, {} KiB output",
            l.fuel, l.timeout_ms, l.memory_mib, l.output_kib
        )
    }

    fn kinds(k: &[crate::plugins::Kind]) -> String {
        k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }

    pub fn add_report(r: &crate::plugins::AddReport) -> String {
        let mut s = format!(
            "plugin {} {} ({}), clearctx:plugin@{}",
            r.id,
            r.version,
            kinds(&r.kinds),
            r.api
        );
        if !r.description.is_empty() {
            let _ = write!(s, "\n  {}", r.description);
        }
        let _ = write!(s, "\n  from     {}\n  sha256   {}", r.source, r.sha256);
        if let Some(v) = &r.replaces {
            let _ = write!(s, "\n  replaces version {v}");
        }
        if !r.types.is_empty() {
            let _ = write!(s, "\n  validates {}", r.types.join(", "));
        }
        for c in &r.conflicts {
            let what = if r.replace.contains(&c.plugin) {
                "takes over from"
            } else {
                "CONFLICTS with"
            };
            let _ = write!(
                s,
                "\n  {what} `{}`, which validates `{}` now",
                c.plugin, c.artifact_type
            );
        }
        if !r.templates.is_empty() {
            let _ = write!(s, "\n  templates {}", r.templates.join(", "));
        }
        let _ = write!(s, "\n  limits   {}", limits(&r.limits));
        if r.requested.is_empty() {
            let _ = write!(
                s,
                "\n  capabilities: none (it cannot act outside its sandbox)"
            );
        } else {
            for cap in &r.requested {
                let what = crate::plugins::CAPABILITIES
                    .iter()
                    .find(|(c, _)| c == cap)
                    .map(|(_, w)| *w)
                    .unwrap_or("");
                let granted = if r.granted.contains(cap) {
                    "grant"
                } else {
                    "deny "
                };
                let _ = write!(s, "\n  {granted} {cap}: {what}");
            }
        }
        s
    }

    pub fn plugins(list: &[crate::plugins::Summary]) -> String {
        table(
            &["PLUGIN", "VERSION", "KINDS", "STATE", "PROVIDES"],
            list.iter()
                .map(|p| {
                    let mut provides = p.types.clone();
                    provides.extend(p.templates.iter().cloned());
                    vec![
                        p.id.clone(),
                        p.version.clone(),
                        kinds(&p.kinds),
                        if p.standard {
                            "standard".into()
                        } else if p.enabled {
                            "enabled".into()
                        } else {
                            "disabled".into()
                        },
                        provides.join(", "),
                    ]
                })
                .collect(),
        )
    }

    pub fn plugin_detail(d: &crate::plugins::Detail) -> String {
        let p = &d.summary;
        let mut s = format!(
            "{} {} ({})\n  {}",
            p.id,
            p.version,
            kinds(&p.kinds),
            p.description
        );
        let _ = write!(
            s,
            "\n  health   {}\n  source   {}\n  sha256   {}",
            d.health, d.source, p.sha256
        );
        let _ = write!(s, "\n  limits   {}", limits(&p.limits));
        let _ = write!(
            s,
            "\n  granted  {}",
            if p.granted.is_empty() {
                "nothing".to_string()
            } else {
                p.granted.join(", ")
            }
        );
        let _ = write!(
            s,
            "\n  calls    {} ({} failed); most fuel {}, longest {} µs, peak memory {} KiB",
            d.calls,
            d.failures,
            d.max_fuel_used,
            d.max_wall_us,
            d.max_peak_memory_bytes / 1024
        );
        for f in &d.recent_failures {
            let _ = write!(
                s,
                "\n  failed   {} {}: {}",
                date(&f.at),
                f.function,
                f.error.clone().unwrap_or_default()
            );
        }
        s
    }

    pub fn test_outcome(o: &crate::plugins::TestOutcome) -> String {
        let r = &o.receipt;
        let used = format!(
            "(fuel {}, {} µs, peak memory {} KiB)",
            r.fuel_used,
            r.wall_us,
            r.peak_memory_bytes / 1024
        );
        let body = match o.kind {
            crate::plugins::Kind::ArtifactValidator => {
                let violations = o.result["violations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if violations.is_empty() {
                    format!("valid `{}`", o.result["type"].as_str().unwrap_or(""))
                } else {
                    let mut s = format!(
                        "invalid `{}`: {} violation(s)",
                        o.result["type"].as_str().unwrap_or(""),
                        violations.len()
                    );
                    for v in violations {
                        let path = v["path"]
                            .as_str()
                            .filter(|p| !p.is_empty())
                            .unwrap_or("(root)");
                        let _ = write!(s, "\n  {path}: {}", v["message"].as_str().unwrap_or(""));
                    }
                    s
                }
            }
            crate::plugins::Kind::PipelineCondition => format!(
                "{} => {}",
                o.result["expression"].as_str().unwrap_or(""),
                o.result["result"]
            ),
            crate::plugins::Kind::PromptTemplate => {
                o.result["text"].as_str().unwrap_or("").to_string()
            }
            crate::plugins::Kind::PipelineAction => {
                let mut s = String::from("commands:");
                for c in o.result["commands"].as_array().into_iter().flatten() {
                    let _ = write!(
                        s,
                        "\n  {} {} {}",
                        if c["allowed"] == true {
                            "allowed"
                        } else {
                            "DENIED "
                        },
                        c["command"].as_str().unwrap_or(""),
                        c["args"]
                    );
                }
                s
            }
        };
        format!("{} {}: {body}\n{used}", o.plugin, o.version)
    }

    pub fn status(st: &StatusReport) -> String {
        let mut s = format!(
            "data dir   {}\nevents     {} (last seq {})\nartifacts  {} ({} versions)\n",
            st.data_dir, st.events, st.last_seq, st.artifacts, st.artifact_versions
        );
        let counts: Vec<String> = st
            .contracts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(
            s,
            "contracts  {}",
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            }
        );
        if !st.unread_notifications.is_empty() {
            let unread: Vec<String> = st
                .unread_notifications
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "unread     {}", unread.join(", "));
        }
        if !st.sessions.is_empty() {
            let counts: Vec<String> = st
                .sessions
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect();
            let _ = writeln!(
                s,
                "sessions   {} (${:.4} spent)",
                counts.join(", "),
                st.sessions_cost_usd
            );
        }
        if !st.open_contracts.is_empty() {
            let _ = write!(s, "\n{}", contracts(&st.open_contracts));
        }
        s.trim_end().to_string()
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
