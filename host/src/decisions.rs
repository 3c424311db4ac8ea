//! The decision journal: what was decided and why, the alternatives, and the files and
//! artifact versions it rests on. Files are remembered by the sha256 of their bytes then,
//! artifacts by exact version, so a briefing can say which decisions' ground has moved.

use std::path::{Component, Path};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::artifacts::VersionRef;
use crate::model::Caller;
use crate::store::page::{self, Page};
use crate::store::{DecisionRow, NewDecision, NewEvent, PatternRow, Tx};

const MAX_WHAT: usize = 500;
const MAX_WHY: usize = 16 * 1024;
const MAX_ITEMS: usize = 50;
const MAX_ITEM: usize = 1000;

/// An artifact a decision rests on: `id` (its latest version) or `id@version`.
#[derive(Debug, Clone)]
pub struct ArtifactLink {
    pub artifact_id: String,
    pub version: Option<u32>,
}

impl ArtifactLink {
    pub fn parse(field: &str, s: &str) -> Result<ArtifactLink> {
        let (id, version) = match s.split_once('@') {
            Some((id, v)) => {
                let v = v.parse().map_err(|_| {
                    Error::invalid(field, format!("`{s}`: the version after @ must be a number"))
                })?;
                (id, Some(v))
            }
            None => (s, None),
        };
        Ok(ArtifactLink { artifact_id: id.to_string(), version })
    }
}

/// Arguments of `decision_record`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// What was decided, one line
    pub what: String,
    /// Why
    pub why: String,
    /// Options not taken
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// Files it is about, relative to `project`
    #[serde(default)]
    pub files: Vec<String>,
    /// Words to find it by
    #[serde(default)]
    pub tags: Vec<String>,
    /// Artifacts it rests on: `id` (latest) or `id@version`
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Project dir [default: the server's cwd]
    #[serde(default)]
    pub project: Option<String>,
}

/// Arguments of `decision_list`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Page size [default 100, at most 1000]
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `decision_search`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Words that must all appear
    pub query: String,
    /// Page size [default 100, at most 1000]
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A file as it was when the decision was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileState {
    pub path: String,
    /// sha256 of its bytes then; empty when it did not exist.
    pub sha256: String,
}

/// A recorded decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub decision_id: i64,
    pub team: String,
    pub what: String,
    pub why: String,
    pub alternatives: Vec<String>,
    pub tags: Vec<String>,
    /// The directory `files` are relative to (empty when it names none).
    pub project: String,
    pub files: Vec<FileState>,
    pub artifacts: Vec<VersionRef>,
    pub recorded_by: String,
    pub recorded_at: String,
    pub seq: i64,
}

pub fn decision_of(r: DecisionRow) -> Result<Decision> {
    let corrupt = |e: serde_json::Error| Error::Corrupt(format!("decision {}: {e}", r.decision_id));
    Ok(Decision {
        alternatives: serde_json::from_str(&r.alternatives).map_err(corrupt)?,
        tags: serde_json::from_str(&r.tags).map_err(corrupt)?,
        files: serde_json::from_str(&r.files).map_err(corrupt)?,
        artifacts: serde_json::from_str(&r.artifacts).map_err(corrupt)?,
        decision_id: r.decision_id,
        team: r.team,
        what: r.what,
        why: r.why,
        project: r.project,
        recorded_by: r.recorded_by,
        recorded_at: crate::time::rfc3339(r.recorded_at_ms),
        seq: r.seq,
    })
}

/// The sha256 of `project/path` now (empty when it is gone).
pub fn file_sha(project: &Path, path: &str) -> String {
    std::fs::read(project.join(path))
        .map(|b| crate::model::sha256_hex(&b))
        .unwrap_or_default()
}

fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "is empty; say it in a few words"));
    }
    if value.len() > max {
        return Err(Error::invalid(field, format!("is {} bytes; at most {max}", value.len())));
    }
    Ok(())
}

fn check_list(field: &str, items: &[String]) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(Error::invalid(field, format!("has {} items; at most {MAX_ITEMS}", items.len())));
    }
    for (i, item) in items.iter().enumerate() {
        check_text(&format!("{field}[{i}]"), item, MAX_ITEM)?;
    }
    Ok(())
}

/// Checks the arguments that need no store; `files` must stay inside the project.
pub fn check(req: &RecordRequest) -> Result<()> {
    check_text("what", &req.what, MAX_WHAT)?;
    check_text("why", &req.why, MAX_WHY)?;
    check_list("alternatives", &req.alternatives)?;
    check_list("files", &req.files)?;
    check_list("tags", &req.tags)?;
    if req.artifacts.len() > MAX_ITEMS {
        return Err(Error::invalid("artifacts", format!("has {} items; at most {MAX_ITEMS}", req.artifacts.len())));
    }
    for (i, f) in req.files.iter().enumerate() {
        let p = Path::new(f);
        if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Error::invalid(
                format!("files[{i}]"),
                format!("`{f}` must be relative to the project dir, without `..`"),
            ));
        }
    }
    Ok(())
}

/// Records the decision (in `tx`, with its event); `files` already hashed by the caller,
/// outside the transaction.
pub fn record(
    tx: &Tx<'_>,
    caller: &Caller,
    req: &RecordRequest,
    project: &str,
    files: Vec<FileState>,
) -> Result<i64> {
    let mut artifacts = Vec::new();
    for (i, a) in req.artifacts.iter().enumerate() {
        let field = format!("artifacts[{i}]");
        let a = ArtifactLink::parse(&field, a)?;
        let head = tx.artifact_head(&a.artifact_id)?.ok_or_else(|| {
            Error::not_found_hint("artifact", a.artifact_id.clone(), &format!("({field}); `artifact_list` shows the artifacts"))
        })?;
        let version = a.version.unwrap_or(head.latest_version);
        if version == 0 || version > head.latest_version {
            return Err(Error::invalid(
                format!("{field}.version"),
                format!("`{}` has versions 1..={}, not {version}", a.artifact_id, head.latest_version),
            ));
        }
        artifacts.push(VersionRef { artifact_id: a.artifact_id.clone(), version });
    }
    let seq = tx.append_event(NewEvent {
        kind: "decision.recorded",
        actor: &caller.session,
        team: &caller.team,
        subject: format!("decisions:{}", caller.team),
        payload: serde_json::json!({ "what": req.what, "tags": req.tags }),
    })?;
    tx.insert_decision(&NewDecision {
        team: &caller.team,
        what: &req.what,
        why: &req.why,
        alternatives: json(&req.alternatives),
        tags: json(&req.tags),
        project,
        files: json(&files),
        artifacts: json(&artifacts),
        recorded_by: &caller.session,
        seq,
        alternatives_text: req.alternatives.join("\n"),
        tags_text: req.tags.join(" "),
    })
}

/// JSON text of a list, for the store's JSON columns.
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("lists serialize")
}

pub fn list(tx: &Tx<'_>, caller: &Caller, req: &ListRequest) -> Result<Page<Decision>> {
    let w = page::window(req.limit, req.cursor.as_deref())?;
    page::page(w, tx.decisions(&caller.team, w)?).try_map(decision_of)
}

/// The query as FTS5 syntax: each word quoted (so `-`, `:` or a stray quote is a word,
/// never an operator or a syntax error), all of them required.
pub fn fts_query(query: &str) -> Result<String> {
    // FTS5 cannot take a NUL even inside a quoted word.
    if query.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(Error::invalid("query", "holds a control character; give plain words"));
    }
    let words: Vec<String> = query
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if words.is_empty() {
        return Err(Error::invalid("query", "is empty; give a word or more to find"));
    }
    if words.len() > 32 {
        return Err(Error::invalid("query", format!("has {} words; at most 32", words.len())));
    }
    Ok(words.join(" "))
}

pub fn search(tx: &Tx<'_>, caller: &Caller, req: &SearchRequest) -> Result<Page<Decision>> {
    let fts = fts_query(&req.query)?;
    let w = page::window(req.limit, req.cursor.as_deref())?;
    page::page(w, tx.search_decisions(&caller.team, &fts, w)?).try_map(decision_of)
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn every_word_of_a_query_is_a_quoted_term() {
        assert_eq!(fts_query("sqlite  wal").unwrap(), r#""sqlite" "wal""#);
        assert_eq!(fts_query(r#"a"b NOT -x"#).unwrap(), r#""a""b" "NOT" "-x""#);
        assert!(fts_query("  ").is_err());
        assert!(fts_query("a\u{0}b").is_err());
    }
}

// --- patterns --------------------------------------------------------------------------

const MAX_BODY: usize = 64 * 1024;

/// Arguments of `pattern_register`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternRequest {
    /// Pattern name, e.g. `error-type`; again makes its next version
    pub name: String,
    /// When to use it, one line
    pub description: String,
    /// The pattern itself, usually with an example
    pub body: String,
    /// Words to find it by
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Arguments of `pattern_get`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternNameRequest {
    /// Pattern name
    pub name: String,
}

/// A registered pattern.
#[derive(Debug, Clone, Serialize)]
pub struct Pattern {
    pub name: String,
    pub team: String,
    pub version: u32,
    pub description: String,
    /// The pattern itself (`pattern_list` leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub registered_by: String,
    pub registered_at: String,
}

fn pattern_of(r: PatternRow, with_body: bool) -> Result<Pattern> {
    Ok(Pattern {
        tags: serde_json::from_str(&r.tags)
            .map_err(|e| Error::Corrupt(format!("pattern `{}`: {e}", r.name)))?,
        name: r.name,
        team: r.team,
        version: r.version,
        description: r.description,
        body: with_body.then_some(r.body),
        registered_by: r.registered_by,
        registered_at: crate::time::rfc3339(r.registered_at_ms),
    })
}

pub fn register_pattern(tx: &Tx<'_>, caller: &Caller, req: &PatternRequest) -> Result<Pattern> {
    crate::ids::check_id("name", &req.name)?;
    check_text("description", &req.description, MAX_WHAT)?;
    check_text("body", &req.body, MAX_BODY)?;
    check_list("tags", &req.tags)?;
    let seq = tx.append_event(NewEvent {
        kind: "pattern.registered",
        actor: &caller.session,
        team: &caller.team,
        subject: format!("pattern:{}", req.name),
        payload: serde_json::json!({ "description": req.description, "body": req.body, "tags": req.tags }),
    })?;
    tx.upsert_pattern(&PatternRow {
        team: caller.team.clone(),
        name: req.name.clone(),
        version: 0,
        description: req.description.clone(),
        body: req.body.clone(),
        tags: json(&req.tags),
        registered_by: caller.session.clone(),
        registered_at_ms: 0,
        seq,
    })?;
    get_pattern(tx, caller, &req.name)
}

pub fn get_pattern(tx: &Tx<'_>, caller: &Caller, name: &str) -> Result<Pattern> {
    let row = tx.pattern(&caller.team, name)?.ok_or_else(|| {
        Error::not_found_hint("pattern", name, "`pattern_list` shows the team's patterns")
    })?;
    pattern_of(row, true)
}

pub fn list_patterns(tx: &Tx<'_>, caller: &Caller, req: &ListRequest) -> Result<Page<Pattern>> {
    let w = page::window(req.limit, req.cursor.as_deref())?;
    page::page(w, tx.patterns(&caller.team, w)?).try_map(|r| pattern_of(r, false))
}
