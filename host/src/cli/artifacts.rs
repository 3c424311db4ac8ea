//! `clearctx artifact …`: publish and read versioned artifacts.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Output, PageArgs, more_line, out, read_json_arg, render, reply};
use crate::artifacts::{self, VersionRef};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;

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

pub(super) fn run(hub: &Hub, command: ArtifactCommand) -> Result<Output> {
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
