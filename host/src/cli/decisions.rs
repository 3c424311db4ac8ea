//! `clearctx decision record|list|search`: the decision journal.

use clap::Subcommand;

use super::{PageArgs, Output, more_line, reply};
use crate::decisions::{Decision, ListRequest, RecordRequest, SearchRequest};
use crate::error::Result;
use crate::hub::Hub;
use crate::ops;

#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    /// Record a decision with its reasons, alternatives, files and artifact versions
    Record {
        /// What was decided, in one line
        #[arg(long)]
        what: String,
        /// Why: the reasons and what it rests on
        #[arg(long)]
        why: String,
        /// An option considered and not taken (repeatable)
        #[arg(long = "alternative", value_name = "TEXT")]
        alternatives: Vec<String>,
        /// A file it is about, relative to the project dir (repeatable)
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<String>,
        /// A word to find it by (repeatable)
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// An artifact it rests on, as ID or ID@VERSION (repeatable)
        #[arg(long = "artifact", value_name = "ID[@VERSION]")]
        artifacts: Vec<String>,
        /// Project dir of the files [default: the working directory]
        #[arg(long)]
        project: Option<String>,
    },
    /// List the team's decisions, newest first
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Find decisions by words in what, why, alternatives or tags (all must appear)
    Search {
        /// The words to find
        query: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

fn lines(decisions: &[Decision]) -> String {
    decisions
        .iter()
        .map(|d| {
            let tags = if d.tags.is_empty() { String::new() } else { format!(" [{}]", d.tags.join(", ")) };
            format!("{:>4}  {}  {}{tags}\n      why: {}", d.decision_id, d.recorded_at, d.what, d.why)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn run(hub: &Hub, c: DecisionCommand) -> Result<Output> {
    match c {
        DecisionCommand::Record { what, why, alternatives, files, tags, artifacts, project } => {
            let req = RecordRequest { what, why, alternatives, files, tags, artifacts, project };
            let d = hub.decision_record(&req)?;
            let r = ops::replies::decision_record(&req, &d);
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        DecisionCommand::List { page } => {
            let req = ListRequest { limit: page.limit, cursor: page.cursor };
            let p = hub.decision_list(&req)?;
            let text = format!("{}{}", lines(&p.items), more_line(&p));
            Ok(reply(ops::replies::decision_list(&req, &p), text))
        }
        DecisionCommand::Search { query, page } => {
            let req = SearchRequest { query, limit: page.limit, cursor: page.cursor };
            let p = hub.decision_search(&req)?;
            let text = format!("{}{}", lines(&p.items), more_line(&p));
            Ok(reply(ops::replies::decision_search(&req, &p), text))
        }
    }
}
