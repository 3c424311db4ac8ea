//! `lineage`: how artifact versions were derived from each other, what a change reaches,
//! and what is stale.
//!
//! Staleness follows Dagster's stale causes. A version is stale when an input it was
//! derived from has a newer version (a direct cause) or when an input is itself stale (a
//! transitive cause: the same root, one hop further). A completed contract is stale when an
//! output it recorded is. Staleness is kept in state by [`on_published`], which the
//! `staleness` reaction runs in the publishing transaction: the work is proportional to
//! what becomes stale, never to the data dir. A version that becomes stale gets one
//! `artifact.stale` event. Queries ([`stale_check`], [`impact`], [`trace`]) read that state
//! and walk `lineage_edges` through its indexes, each bounded.
//!
//! A version is never stale because of an older version of its own artifact (publishing
//! `spec` v3 derived from v2 does not make v3 stale).

use std::collections::{HashMap, HashSet, VecDeque};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::model::artifacts::VersionRef;
use crate::store::page::{self, Page};
use crate::store::{CauseRow, NewEvent, StaleRow, Tx};

/// Default and largest `depth` of `lineage_trace`.
pub const DEFAULT_DEPTH: u32 = 5;
pub const MAX_DEPTH: u32 = 20;
/// Most nodes a trace holds; past it the graph is cut and `truncated` is set.
pub const MAX_NODES: usize = 500;
/// Most causes listed per stale version (`cause_count` says how many it has).
pub const MAX_CAUSES: u32 = 32;
/// Most hops of a cause's path shown (`path_truncated` says it goes on).
pub const MAX_PATH: usize = 64;

/// Which way `lineage_trace` walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Towards the inputs: how the version was derived.
    #[default]
    Upstream,
    /// Towards what was derived from it.
    Downstream,
}

/// How `lineage_trace` renders the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Nodes and edges only.
    #[default]
    Json,
    /// Also a Mermaid flowchart in `graph`.
    Mermaid,
    /// Also a Graphviz DOT digraph in `graph`.
    Dot,
}

/// Arguments of `lineage_trace`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// ID of the artifact to start from.
    pub artifact_id: String,
    /// Version to start from; the latest when omitted.
    #[serde(default)]
    pub version: Option<u32>,
    /// `upstream` (its inputs, the default) or `downstream` (what was derived from it).
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Hops to walk [default 5, 1 to 20]; at most 500 nodes either way.
    #[serde(default)]
    pub depth: Option<u32>,
    /// `json` (nodes and edges, the default), `mermaid` or `dot` (also the graph as text in `graph`).
    #[serde(default)]
    pub format: Option<Format>,
}

/// Arguments of `impact_analysis`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    /// ID of the artifact whose change is analysed.
    pub artifact_id: String,
    /// Version whose downstream is listed; the latest when omitted.
    #[serde(default)]
    pub version: Option<u32>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `stale_check`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaleRequest {
    /// Only artifacts and contracts of this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Why a version is stale: input `input_id` was used at `version_used` and has moved on to
/// `latest_version`. `path` is empty when it is a direct input; otherwise it lists the
/// versions between, from this version's own input down to the one that used the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub input_id: String,
    pub version_used: u32,
    pub latest_version: u32,
    pub path: Vec<VersionRef>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub path_truncated: bool,
}

/// One item of `stale_check`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StaleItem {
    /// The latest version of an artifact, stale.
    Artifact {
        artifact_id: String,
        version: u32,
        team: String,
        stale_since: String,
        /// The `artifact.stale` event.
        seq: i64,
        causes: Vec<Cause>,
        cause_count: u32,
    },
    /// A completed contract with a stale output; `causes` are those outputs.
    Contract {
        contract_id: String,
        title: String,
        team: String,
        stale_outputs: Vec<VersionRef>,
    },
}

/// One version downstream of the analysed one, `depth` hops away (shortest).
#[derive(Debug, Clone, Serialize)]
pub struct Downstream {
    pub artifact_id: String,
    pub version: u32,
    pub depth: u32,
    pub stale: bool,
}

/// A contract a downstream version touches.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactContract {
    pub contract_id: String,
    pub status: String,
    pub team: String,
    /// `output` (the contract recorded the version as its output) or `dependency` (it
    /// depends on the artifact).
    pub relation: &'static str,
    pub artifact_id: String,
    pub version: u32,
}

/// A session that read a downstream version.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactReader {
    pub reader: String,
    pub artifact_id: String,
    pub version: u32,
    pub last_read_at: String,
}

/// Result of `impact_analysis`: one page of the versions downstream of `artifact_id` at
/// `version` (breadth first, nearest first), the contracts and readers of that page.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    pub artifact_id: String,
    pub version: u32,
    pub downstream: Vec<Downstream>,
    pub contracts: Vec<ImpactContract>,
    pub readers: Vec<ImpactReader>,
    pub next_cursor: Option<String>,
}

/// One node of a trace.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub artifact_id: String,
    pub version: u32,
    #[serde(rename = "type")]
    pub artifact_type: String,
    pub latest_version: u32,
    pub stale: bool,
    /// Hops from the start.
    pub depth: u32,
}

/// One edge of a trace: `output` was derived from `input`.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub input: VersionRef,
    pub output: VersionRef,
}

/// Result of `lineage_trace`.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    pub artifact_id: String,
    pub version: u32,
    pub direction: Direction,
    pub depth: u32,
    /// The start first, then breadth first.
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Cut at 500 nodes.
    pub truncated: bool,
    /// The graph as Mermaid or DOT text, when `format` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<String>,
}

fn vref(id: &str, version: u32) -> VersionRef {
    VersionRef {
        artifact_id: id.to_string(),
        version,
    }
}

// ---- the reaction ----

/// The versions a walk made stale, in the order they became so.
#[derive(Default)]
struct Newly {
    order: Vec<VersionRef>,
    seen: HashSet<(String, u32)>,
}

impl Newly {
    /// Notes that `at` got a cause: new to staleness unless it already was stale.
    fn touch(&mut self, tx: &Tx<'_>, at: &VersionRef) -> Result<()> {
        let key = (at.artifact_id.clone(), at.version);
        if !self.seen.contains(&key) {
            self.seen.insert(key);
            if !tx.is_stale(at)? {
                self.order.push(at.clone());
            }
        }
        Ok(())
    }

    /// Records `root` as a cause of `at`; true when the walk goes on through `at`: the
    /// cause is new, or it was recorded before but `at` is not stale now (a rollback had
    /// taken `root` back, and a publish moves it on again).
    fn reach(&mut self, tx: &Tx<'_>, at: &VersionRef, root: &VersionRef, via: Option<&VersionRef>, depth: u32) -> Result<bool> {
        let new = tx.insert_stale_cause(at, root, via, depth)?;
        let revived = !new
            && !self.seen.contains(&(at.artifact_id.clone(), at.version))
            && !tx.is_stale(at)?;
        if new || revived {
            self.touch(tx, at)?;
        }
        Ok(new || revived)
    }
}

/// What `artifact_id` v`version` being published makes stale: the version itself when an
/// input has moved on or is stale (stale at birth), and everything derived from the
/// version it supersedes (the one before it, or after a rollback the one that was current;
/// 0: none), transitively. Runs in the publishing transaction (the `staleness` reaction);
/// its cost is proportional to the cause rows it adds.
pub(crate) fn on_published(tx: &Tx<'_>, artifact_id: &str, version: u32, supersedes: u32) -> Result<()> {
    let me = vref(artifact_id, version);
    let mut newly = Newly::default();
    // Stale at birth: an input that has moved on (direct), then the causes of stale inputs.
    let inputs = tx.lineage_inputs(&me)?;
    for input in &inputs {
        if input.artifact_id == me.artifact_id {
            continue;
        }
        let latest = tx
            .artifact_head(&input.artifact_id)?
            .map_or(0, |h| h.latest_version);
        if input.version < latest {
            newly.reach(tx, &me, input, None, 0)?;
        }
    }
    // Causes come only through inputs; without any, skip the statement (its sort costs a
    // publish more than the rest of this reaction).
    if !inputs.is_empty() && tx.inherit_stale_causes(&me)? > 0 {
        newly.touch(tx, &me)?;
    }
    // The version superseded: everything derived from it is stale, breadth first so that
    // each version keeps the shortest path to it.
    if supersedes > 0 {
        let prev = vref(artifact_id, supersedes);
        tx.supersede_stale(&prev)?;
        let mut queue: VecDeque<(VersionRef, u32)> = VecDeque::new();
        for d in tx.lineage_consumers(&prev)? {
            if d.artifact_id != prev.artifact_id && newly.reach(tx, &d, &prev, None, 0)? {
                queue.push_back((d, 0));
            }
        }
        while let Some((s, depth)) = queue.pop_front() {
            for d in tx.lineage_consumers(&s)? {
                if d.artifact_id != prev.artifact_id && newly.reach(tx, &d, &prev, Some(&s), depth + 1)? {
                    queue.push_back((d, depth + 1));
                }
            }
        }
    }
    for at in newly.order {
        mark(tx, &at)?;
    }
    Ok(())
}

/// After a rollback moved the current versions of `moved`: every version with a cause
/// rooted at one of them is stale exactly when one of its causes holds now, and only the
/// current version of each artifact counts as its latest. Runs in the rollback's
/// transaction; its cost is proportional to the cause rows rooted at the moved artifacts.
pub(crate) fn on_rolled_back(tx: &Tx<'_>, moved: &[String]) -> Result<()> {
    let mut seen = HashSet::new();
    for id in moved {
        tx.resupersede_stale(id)?;
        for at in tx.versions_caused_by(id)? {
            if !seen.insert((at.artifact_id.clone(), at.version)) {
                continue;
            }
            match (tx.is_stale(&at)?, tx.has_live_cause(&at)?) {
                (true, false) => tx.unmark_stale(&at)?,
                (false, true) => mark(tx, &at)?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Marks `at` stale now, with an `artifact.stale` event naming its causes.
fn mark(tx: &Tx<'_>, at: &VersionRef) -> Result<()> {
    let head = tx.artifact_head(&at.artifact_id)?.ok_or_else(|| {
        Error::Corrupt(format!(
            "stale version of unknown artifact `{}`",
            at.artifact_id
        ))
    })?;
    let causes: Vec<_> = tx
        .stale_causes(at, MAX_CAUSES)?
        .into_iter()
        .map(|c| {
            json!({
                "input_id": c.root.artifact_id,
                "version_used": c.root.version,
                "latest_version": c.root_latest,
                "via": c.via,
                "depth": c.depth,
            })
        })
        .collect();
    let seq = tx.append_event(NewEvent {
        kind: "artifact.stale",
        actor: "clearctx",
        team: &head.team,
        subject: format!("artifact:{}", at.artifact_id),
        payload: json!({
            "artifact_id": at.artifact_id,
            "version": at.version,
            "latest_version": head.latest_version,
            "causes": causes,
            "cause_count": tx.stale_cause_count(at)?,
        }),
    })?;
    tx.insert_stale_version(at, seq)?;
    Ok(())
}

// ---- queries ----

/// The causes of `at` with their paths, shortest first (at most [`MAX_CAUSES`]).
pub fn causes(tx: &Tx<'_>, at: &VersionRef) -> Result<Vec<Cause>> {
    tx.stale_causes(at, MAX_CAUSES)?
        .into_iter()
        .map(|c| cause(tx, c))
        .collect()
}

fn cause(tx: &Tx<'_>, c: CauseRow) -> Result<Cause> {
    let mut path = Vec::new();
    let mut truncated = false;
    let mut next = c.via;
    while let Some(hop) = next {
        if path.len() == MAX_PATH {
            truncated = true;
            break;
        }
        next = tx.stale_cause_via(&hop, &c.root)?;
        path.push(hop);
    }
    Ok(Cause {
        input_id: c.root.artifact_id,
        version_used: c.root.version,
        latest_version: c.root_latest,
        path,
        path_truncated: truncated,
    })
}

/// The latest versions that are stale and the completed contracts with a stale output,
/// optionally of one team, each with its causes.
pub fn stale_check(tx: &Tx<'_>, req: &StaleRequest) -> Result<Page<StaleItem>> {
    check_opt_id("team", req.team.as_deref())?;
    let window = page::window(req.limit, req.cursor.as_deref())?;
    let rows = tx.stale_page(req.team.as_deref(), window)?;
    page::page(window, rows).try_map(|row| {
        Ok(match row {
            StaleRow::Artifact {
                at,
                team,
                since_seq,
                at_ms,
            } => StaleItem::Artifact {
                causes: causes(tx, &at)?,
                cause_count: tx.stale_cause_count(&at)?,
                artifact_id: at.artifact_id,
                version: at.version,
                team,
                stale_since: crate::time::rfc3339(at_ms),
                seq: since_seq,
            },
            StaleRow::Contract {
                contract_id,
                team,
                title,
            } => StaleItem::Contract {
                stale_outputs: tx.stale_outputs(&contract_id)?,
                contract_id,
                title,
                team,
            },
        })
    })
}

/// The version a request names: `version`, else the latest; unknown artifacts and versions
/// out of range are refused by name.
fn resolve(tx: &Tx<'_>, artifact_id: &str, version: Option<u32>) -> Result<(VersionRef, u32)> {
    check_id("artifact_id", artifact_id)?;
    if version == Some(0) {
        return Err(Error::invalid("version", "versions start at 1"));
    }
    let head = tx.artifact_head(artifact_id)?.ok_or_else(|| {
        Error::not_found_hint(
            "artifact",
            artifact_id,
            "`artifact_list` shows the artifacts that exist",
        )
    })?;
    let v = match version {
        Some(v) => v,
        None => crate::artifacts::current(artifact_id, &head)?,
    };
    if v > head.max_version {
        return Err(Error::invalid(
            "version",
            format!(
                "artifact `{artifact_id}` has no version {v}; its versions are 1 to {}",
                head.max_version
            ),
        ));
    }
    Ok((vref(artifact_id, v), head.latest_version))
}

/// One page of everything downstream of a version, breadth first, with the contracts and
/// readers of that page. A page costs its offset plus its size, whatever the graph holds.
pub fn impact(tx: &Tx<'_>, req: &ImpactRequest) -> Result<Impact> {
    let window = page::window(req.limit, req.cursor.as_deref())?;
    let (start, _) = resolve(tx, &req.artifact_id, req.version)?;
    let want = window.offset as usize + window.limit as usize + 1;
    let mut seen: HashSet<(String, u32)> = HashSet::new();
    seen.insert((start.artifact_id.clone(), start.version));
    let mut order: Vec<(VersionRef, u32)> = Vec::new();
    let mut queue: VecDeque<(VersionRef, u32)> = VecDeque::from([(start.clone(), 0)]);
    'walk: while let Some((s, depth)) = queue.pop_front() {
        for d in tx.lineage_consumers(&s)? {
            if seen.insert((d.artifact_id.clone(), d.version)) {
                order.push((d.clone(), depth + 1));
                if order.len() >= want {
                    break 'walk;
                }
                queue.push_back((d, depth + 1));
            }
        }
    }
    let rows: Vec<_> = order.into_iter().skip(window.offset as usize).collect();
    let p = page::page(window, rows);
    let mut downstream = Vec::new();
    let mut contracts = Vec::new();
    let mut seen_contracts = HashSet::new();
    let mut readers = Vec::new();
    for (at, depth) in &p.items {
        for c in tx.contracts_touching(at)? {
            if seen_contracts.insert((c.contract_id.clone(), c.relation)) {
                contracts.push(ImpactContract {
                    contract_id: c.contract_id,
                    status: c.status,
                    team: c.team,
                    relation: c.relation,
                    artifact_id: c.at.artifact_id,
                    version: c.at.version,
                });
            }
        }
        for (reader, at_ms) in tx.version_readers(at)? {
            readers.push(ImpactReader {
                reader,
                artifact_id: at.artifact_id.clone(),
                version: at.version,
                last_read_at: crate::time::rfc3339(at_ms),
            });
        }
        downstream.push(Downstream {
            artifact_id: at.artifact_id.clone(),
            version: at.version,
            depth: *depth,
            stale: tx.is_stale(at)?,
        });
    }
    Ok(Impact {
        artifact_id: start.artifact_id,
        version: start.version,
        downstream,
        contracts,
        readers,
        next_cursor: p.next_cursor,
    })
}

/// The graph around a version, `depth` hops upstream or downstream, at most [`MAX_NODES`].
pub fn trace(tx: &Tx<'_>, req: &TraceRequest) -> Result<Trace> {
    let depth = req.depth.unwrap_or(DEFAULT_DEPTH);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(Error::invalid(
            "depth",
            format!("{depth} is out of range 1..={MAX_DEPTH}"),
        ));
    }
    let direction = req.direction.unwrap_or_default();
    let (start, _) = resolve(tx, &req.artifact_id, req.version)?;
    let mut heads: HashMap<String, (String, u32)> = HashMap::new();
    let mut node = |tx: &Tx<'_>, at: &VersionRef, d: u32| -> Result<Node> {
        if !heads.contains_key(&at.artifact_id) {
            let h = tx.artifact_head(&at.artifact_id)?.ok_or_else(|| {
                Error::Corrupt(format!(
                    "lineage names unknown artifact `{}`",
                    at.artifact_id
                ))
            })?;
            heads.insert(at.artifact_id.clone(), (h.artifact_type, h.latest_version));
        }
        let (t, latest) = heads[&at.artifact_id].clone();
        Ok(Node {
            artifact_id: at.artifact_id.clone(),
            version: at.version,
            artifact_type: t,
            latest_version: latest,
            stale: tx.is_stale(at)?,
            depth: d,
        })
    };
    let mut nodes = vec![node(tx, &start, 0)?];
    let mut seen: HashSet<(String, u32)> =
        HashSet::from([(start.artifact_id.clone(), start.version)]);
    let mut edges = Vec::new();
    let mut frontier = vec![start.clone()];
    let mut truncated = false;
    'walk: for d in 1..=depth {
        let mut next = Vec::new();
        for s in &frontier {
            let near = match direction {
                Direction::Upstream => tx.lineage_inputs(s)?,
                Direction::Downstream => tx.lineage_consumers(s)?,
            };
            for n in near {
                let key = (n.artifact_id.clone(), n.version);
                if !seen.contains(&key) {
                    if nodes.len() >= MAX_NODES {
                        truncated = true;
                        break 'walk;
                    }
                    seen.insert(key);
                    nodes.push(node(tx, &n, d)?);
                    next.push(n.clone());
                }
                edges.push(match direction {
                    Direction::Upstream => Edge {
                        input: n,
                        output: s.clone(),
                    },
                    Direction::Downstream => Edge {
                        input: s.clone(),
                        output: n,
                    },
                });
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    let mut t = Trace {
        artifact_id: start.artifact_id,
        version: start.version,
        direction,
        depth,
        nodes,
        edges,
        truncated,
        graph: None,
    };
    t.graph = match req.format.unwrap_or_default() {
        Format::Json => None,
        Format::Mermaid => Some(mermaid(&t)),
        Format::Dot => Some(dot(&t)),
    };
    Ok(t)
}

fn label(n: &Node) -> String {
    let mut s = format!("{} v{}", n.artifact_id, n.version);
    if n.stale {
        s.push_str(" (stale)");
    }
    if n.version < n.latest_version {
        s.push_str(&format!(" (latest v{})", n.latest_version));
    }
    s
}

/// The trace as a Mermaid flowchart, inputs on the left; stale versions in red.
pub fn mermaid(t: &Trace) -> String {
    let ids: HashMap<(&str, u32), usize> = t
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.artifact_id.as_str(), n.version), i))
        .collect();
    let mut s = String::from("graph LR\n");
    for (i, n) in t.nodes.iter().enumerate() {
        s.push_str(&format!(
            "  n{i}[\"{}\"]{}\n",
            label(n).replace('"', "#quot;"),
            if n.stale { ":::stale" } else { "" }
        ));
    }
    for e in &t.edges {
        let (Some(a), Some(b)) = (
            ids.get(&(e.input.artifact_id.as_str(), e.input.version)),
            ids.get(&(e.output.artifact_id.as_str(), e.output.version)),
        ) else {
            continue;
        };
        s.push_str(&format!("  n{a} --> n{b}\n"));
    }
    s.push_str("  classDef stale fill:#fdd,stroke:#c00\n");
    s
}

/// The trace as a Graphviz digraph, inputs on the left; stale versions in red.
pub fn dot(t: &Trace) -> String {
    let key = |id: &str, v: u32| format!("\"{id}@{v}\"");
    let mut s = String::from("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in &t.nodes {
        s.push_str(&format!(
            "  {} [label=\"{}\"{}];\n",
            key(&n.artifact_id, n.version),
            label(n),
            if n.stale { ", color=red" } else { "" }
        ));
    }
    for e in &t.edges {
        s.push_str(&format!(
            "  {} -> {};\n",
            key(&e.input.artifact_id, e.input.version),
            key(&e.output.artifact_id, e.output.version)
        ));
    }
    s.push_str("}\n");
    s
}

