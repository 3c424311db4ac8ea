//! `clearctx contract …`: create contracts and move them through their lifecycle.

use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};

use serde_json::json;

use super::{Output, PageArgs, more_line, out, parse_json, render, reply};
use crate::contracts::{self, Dependency, DependencyKind, ExpectedOutput, Priority, Status};
use crate::error::Result;
use crate::hub::Hub;
use crate::ops;

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

pub(super) fn run(hub: &Hub, command: ContractCommand) -> Result<Output> {
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
