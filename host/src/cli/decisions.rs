//! `clearctx decision record|list|search` (the decision journal) and `clearctx pattern
//! register|list|get` (the team's patterns).

use clap::Subcommand;

use super::{PageArgs, Output, more_line, reply};
use crate::decisions::{Decision, ListRequest, PatternNameRequest, PatternRequest, RecordRequest, SearchRequest};
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

#[derive(Debug, Subcommand)]
pub enum PatternCommand {
    /// Register a team pattern; registering a name again makes its next version
    Register {
        /// Pattern name, e.g. error-type
        name: String,
        /// When to use it, one line
        #[arg(long)]
        description: String,
        /// The pattern itself, usually with an example (`-` reads stdin)
        #[arg(long)]
        body: String,
        /// A word to find it by (repeatable)
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// List the team's patterns by name
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Print a pattern with its body
    Get {
        /// Pattern name
        name: String,
    },
}

pub(super) fn run_pattern(hub: &Hub, c: PatternCommand) -> Result<Output> {
    match c {
        PatternCommand::Register { name, description, body, tags } => {
            let body = if body == "-" {
                super::read_limited(std::io::stdin(), 64 * 1024, "--body", "stdin")?
            } else {
                body
            };
            let req = PatternRequest { name, description, body, tags };
            let p = hub.pattern_register(&req)?;
            let r = ops::replies::pattern_register(&req, &p);
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        PatternCommand::List { page } => {
            let req = ListRequest { limit: page.limit, cursor: page.cursor };
            let p = hub.pattern_list(&req)?;
            let text = p
                .items
                .iter()
                .map(|x| format!("{}  v{}  {}", x.name, x.version, x.description))
                .collect::<Vec<_>>()
                .join("\n");
            let text = format!("{text}{}", more_line(&p));
            Ok(reply(ops::replies::pattern_list(&req, &p), text))
        }
        PatternCommand::Get { name } => {
            let req = PatternNameRequest { name };
            let p = hub.pattern_get(&req.name)?;
            let text = format!("{} v{}: {}\n\n{}", p.name, p.version, p.description, p.body.as_deref().unwrap_or(""));
            Ok(reply(ops::replies::pattern_get(&req, &p), text))
        }
    }
}
