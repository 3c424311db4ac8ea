//! `clearctx lineage`, `impact`, `stale`: the lineage graph for people, what a change
//! reaches, what is stale.

use clap::Args;

use super::{Output, PageArgs, render, reply};
use crate::error::Result;
use crate::hub::Hub;
use crate::lineage::{self, Direction, Format};
use crate::ops;

/// `clearctx lineage`: how the CLI shows a trace. `tree` is the CLI's own (text for a
/// terminal); the others are the operation's formats.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// ID of the artifact to start from
    pub artifact_id: String,
    /// Version to start from [default: the latest]
    #[arg(long)]
    pub version: Option<u32>,
    /// upstream (what it was derived from) or downstream (what was derived from it)
    #[arg(long, value_parser = ["upstream", "downstream"], default_value = "upstream")]
    pub direction: String,
    /// Hops to walk, 1 to 20 [default: 5]
    #[arg(long)]
    pub depth: Option<u32>,
    /// tree, mermaid, dot or json [default: tree on a terminal, else mermaid]
    #[arg(long, value_parser = ["tree", "mermaid", "dot", "json"])]
    pub format: Option<String>,
}

pub(super) fn trace(hub: &Hub, a: LineageArgs, json: bool) -> Result<Output> {
    use std::io::IsTerminal;
    let shown = a.format.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            "tree".into()
        } else {
            "mermaid".into()
        }
    });
    let req = lineage::TraceRequest {
        artifact_id: a.artifact_id,
        version: a.version,
        direction: Some(if a.direction == "downstream" {
            Direction::Downstream
        } else {
            Direction::Upstream
        }),
        depth: a.depth,
        format: Some(match shown.as_str() {
            "mermaid" => Format::Mermaid,
            "dot" => Format::Dot,
            _ => Format::Json,
        }),
    };
    let t = hub.lineage_trace(&req)?;
    let r = ops::replies::lineage_trace(&req, &t);
    let text = match shown.as_str() {
        "tree" => render::lineage_tree(&t),
        "json" if !json => serde_json::to_string_pretty(&r.json).expect("JSON serializes"),
        _ => t.graph.clone().unwrap_or_default().trim_end().to_string(),
    };
    Ok(reply(r, text))
}

pub(super) fn impact(
    hub: &Hub,
    artifact_id: String,
    version: Option<u32>,
    page: PageArgs,
) -> Result<Output> {
    let req = lineage::ImpactRequest {
        artifact_id,
        version,
        limit: page.limit,
        cursor: page.cursor,
    };
    let i = hub.impact_analysis(&req)?;
    let text = render::impact(&i);
    Ok(reply(ops::replies::impact_analysis(&req, &i), text))
}

pub(super) fn stale(hub: &Hub, team: Option<String>, page: PageArgs) -> Result<Output> {
    let req = lineage::StaleRequest {
        team,
        limit: page.limit,
        cursor: page.cursor,
    };
    let p = hub.stale_check(&req)?;
    let text = render::stale(&p.items) + &super::more_line(&p);
    Ok(reply(ops::replies::stale_check(&req, &p), text))
}
