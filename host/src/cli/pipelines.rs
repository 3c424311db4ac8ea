//! `clearctx pipeline …`: declare rules that react to events, and read what they did.

use std::path::PathBuf;

use clap::Subcommand;

use super::{Output, PageArgs, more_line, read_json_arg, render, reply};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;
use crate::pipelines::{self, Outcome};

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Declare a pipeline: rules of trigger, optional condition and action
    Create {
        /// ID of the pipeline
        pipeline_id: String,
        /// The rules, as a JSON array (see `pipeline_create` in the README)
        #[arg(long, value_name = "JSON", required_unless_present = "rules_file")]
        rules: Option<String>,
        /// Read the rules from a JSON file (`-` is stdin)
        #[arg(long, value_name = "FILE", conflicts_with = "rules")]
        rules_file: Option<PathBuf>,
        /// What the pipeline is for
        #[arg(long)]
        description: Option<String>,
        /// Team whose events it reacts to [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
        /// Create it disabled
        #[arg(long)]
        disabled: bool,
        /// Replace a pipeline with this id
        #[arg(long)]
        replace: bool,
    },
    /// List pipelines
    List {
        /// Only this team's
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a pipeline's rules and latest firings
    Get {
        /// ID of the pipeline
        pipeline_id: String,
    },
    /// Delete a pipeline (its firings stay in the logs)
    Delete {
        /// ID of the pipeline
        pipeline_id: String,
    },
    /// Turn a pipeline's rules on (or off with --enabled false)
    Enable {
        /// ID of the pipeline
        pipeline_id: String,
        /// true or false
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// Turn a pipeline's rules off
    Disable {
        /// ID of the pipeline
        pipeline_id: String,
    },
    /// Each firing, newest first: event, rule, condition, outcome
    Logs {
        /// Only this pipeline's firings
        pipeline_id: Option<String>,
        /// Only firings that ended so: done, skipped, failed, refused or cascade_stopped
        #[arg(long, value_parser = parse_outcome)]
        outcome: Option<Outcome>,
        #[command(flatten)]
        page: PageArgs,
    },
}

fn parse_outcome(s: &str) -> std::result::Result<Outcome, String> {
    Outcome::parse(s)
        .ok_or_else(|| format!("`{s}` is not done, skipped, failed, refused or cascade_stopped"))
}

pub(super) fn run(hub: &Hub, command: PipelineCommand) -> Result<Output> {
    let set_enabled = |pipeline_id: String, enabled: bool| -> Result<Output> {
        let req = pipelines::SetEnabledRequest {
            pipeline_id,
            enabled,
        };
        let p = hub.pipeline_set_enabled(&req)?;
        Ok(reply(ops::replies::pipeline_set_enabled(&req, &p), render::pipeline(&p)))
    };
    match command {
        PipelineCommand::Create {
            pipeline_id,
            rules,
            rules_file,
            description,
            team,
            disabled,
            replace,
        } => {
            let rules = read_json_arg("rules", rules.as_deref(), rules_file.as_ref())?
                .ok_or_else(|| Error::invalid("--rules", "give the rules as JSON, or --rules-file"))?;
            let rules = serde_path_to_error::deserialize(rules).map_err(|e| {
                Error::invalid(format!("--rules: rules{}", path_of(&e)), e.inner().to_string())
            })?;
            let req = pipelines::CreateRequest {
                pipeline_id,
                rules,
                description,
                team,
                disabled: Some(disabled),
                replace: Some(replace),
            };
            let p = hub.pipeline_create(&req)?;
            Ok(reply(ops::replies::pipeline_create(&req, &p), render::pipeline(&p)))
        }
        PipelineCommand::List { team, page } => {
            let req = pipelines::ListRequest {
                team,
                limit: page.limit,
                cursor: page.cursor,
            };
            let p = hub.pipeline_list(&req)?;
            let text = render::pipelines(&p.items) + &more_line(&p);
            Ok(reply(ops::replies::pipeline_list(&req, &p), text))
        }
        PipelineCommand::Get { pipeline_id } => {
            let req = pipelines::PipelineIdRequest { pipeline_id };
            let p = hub.pipeline_get(&req.pipeline_id)?;
            Ok(reply(ops::replies::pipeline_get(&req, &p), render::pipeline(&p)))
        }
        PipelineCommand::Delete { pipeline_id } => {
            let req = pipelines::PipelineIdRequest { pipeline_id };
            let p = hub.pipeline_delete(&req.pipeline_id)?;
            let text = format!("pipeline `{}` deleted ({} rule(s))", p.pipeline_id, p.rules.len());
            Ok(reply(ops::replies::pipeline_delete(&req, &p), text))
        }
        PipelineCommand::Enable {
            pipeline_id,
            enabled,
        } => set_enabled(pipeline_id, enabled),
        PipelineCommand::Disable { pipeline_id } => set_enabled(pipeline_id, false),
        PipelineCommand::Logs {
            pipeline_id,
            outcome,
            page,
        } => {
            let req = pipelines::LogsRequest {
                pipeline_id,
                outcome,
                limit: page.limit,
                cursor: page.cursor,
            };
            let p = hub.pipeline_logs(&req)?;
            let text = render::firings(&p.items) + &more_line(&p);
            Ok(reply(ops::replies::pipeline_logs(&req, &p), text))
        }
    }
}

/// Where in the rules a parse error is, as `[0].trigger.type`.
fn path_of<E>(e: &serde_path_to_error::Error<E>) -> String {
    let p = e.path().to_string();
    if p == "." { String::new() } else if p.starts_with('[') { p } else { format!(".{p}") }
}
