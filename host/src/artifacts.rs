//! `artifacts`: immutable, versioned JSON outputs that sessions publish and read.
//!
//! Owns the `artifacts`, `artifact_versions`, `lineage_edges` and `artifact_reads` tables
//! (through `store`) and the `artifact.published` event. Versions are numbered 1, 2, 3…
//! per artifact with no gap because each is allocated inside the publishing transaction.
//! Reacting to a publish (dependency resolution) is `reactions`' job, not this module's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::store::page::{self, Page};
use crate::store::{ArtifactFilter, NewEvent, Tx};

pub(crate) use crate::model::artifacts::NewVersion;
pub use crate::model::artifacts::{BUILTIN_TYPES, Read, ValidatedBy, Version, VersionRef};
pub use crate::model::sha256_hex;

/// Largest `data` accepted, serialized.
pub const MAX_DATA_BYTES: usize = 8 * 1024 * 1024;
/// Longest `summary` accepted.
pub const MAX_SUMMARY_CHARS: usize = 4096;
/// Most `derived_from` entries per version.
pub const MAX_INPUTS: usize = 256;

/// Arguments of `artifact_publish`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// ID of the artifact (1-128 of `[A-Za-z0-9._-]`); an existing ID gets its next version.
    pub artifact_id: String,
    /// Artifact type, e.g. `api-contract`, `test-results`, `shared-conventions` or `json`; fixed at v1.
    #[serde(rename = "type")]
    pub artifact_type: String,
    /// The artifact's content: any JSON value.
    #[schemars(schema_with = "crate::schema::any_json")]
    pub data: Value,
    /// One line saying what this version is or what changed.
    #[serde(default)]
    pub summary: Option<String>,
    /// The exact input versions this version was derived from (lineage).
    #[serde(default)]
    pub derived_from: Vec<VersionRef>,
    /// Who publishes; defaults to the calling session.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Its team (first version only) [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// Start a type no validator or artifact has (refused otherwise, so a typo such as
    /// `api-contrat` is not published unvalidated).
    #[serde(default)]
    pub new_type: bool,
}

/// Arguments of `artifact_get`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    /// ID of the artifact.
    pub artifact_id: String,
    /// Version to read; the latest when omitted.
    #[serde(default)]
    pub version: Option<u32>,
    /// Who reads (for `artifact_readers`) [default: the caller].
    #[serde(default)]
    pub reader: Option<String>,
}

/// Arguments of `artifact_list`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only artifacts of this type.
    #[serde(default, rename = "type")]
    pub artifact_type: Option<String>,
    /// Only artifacts whose latest version this session published.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Only artifacts of this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of the tools that take just an artifact ID.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactIdRequest {
    /// ID of the artifact.
    pub artifact_id: String,
}

/// Arguments of `artifact_history`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// ID of the artifact.
    pub artifact_id: String,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `artifact_diff`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// ID of the artifact.
    pub artifact_id: String,
    /// Older version; defaults to the one before `to_version`.
    #[serde(default)]
    pub from_version: Option<u32>,
    /// Newer version; defaults to the latest.
    #[serde(default)]
    pub to_version: Option<u32>,
}

/// Result of `artifact_readers`.
#[derive(Debug, Clone, Serialize)]
pub struct Readers {
    pub artifact_id: String,
    pub latest_version: u32,
    /// Every read, oldest first.
    pub reads: Vec<Read>,
    /// Each reader with the newest version it read and whether that is the latest.
    pub readers: Vec<ReaderSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReaderSummary {
    pub reader: String,
    pub last_version_read: u32,
    pub read_latest: bool,
    pub reads: u32,
}

/// Result of `artifact_diff`: RFC 6902 operations that turn `from` into `to`.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub artifact_id: String,
    pub from_version: u32,
    pub to_version: u32,
    pub identical: bool,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub operations: Value,
}

/// One artifact type, built in or seen in the store.
#[derive(Debug, Clone, Serialize)]
pub struct TypeInfo {
    #[serde(rename = "type")]
    pub artifact_type: String,
    pub builtin: bool,
    pub description: Option<String>,
    /// Artifacts of this type in the data dir.
    pub artifacts: u32,
    /// The plugin that checks `data` on publish; without one, any JSON is accepted.
    pub validator: Option<String>,
    /// The JSON Schema the type follows, when its validator declares one.
    pub schema: Option<Value>,
}

/// Checks a publish request without touching the store; returns `data` as JSON text.
pub fn check_publish(req: &PublishRequest) -> Result<String> {
    check_id("artifact_id", &req.artifact_id)?;
    check_id("type", &req.artifact_type)?;
    check_opt_id("publisher", req.publisher.as_deref())?;
    check_opt_id("team", req.team.as_deref())?;
    if let Some(s) = &req.summary
        && s.chars().count() > MAX_SUMMARY_CHARS
    {
        return Err(Error::invalid(
            "summary",
            format!("is longer than {MAX_SUMMARY_CHARS} characters; put details in `data`"),
        ));
    }
    if req.derived_from.len() > MAX_INPUTS {
        return Err(Error::invalid(
            "derived_from",
            format!(
                "lists {} inputs; the limit is {MAX_INPUTS}",
                req.derived_from.len()
            ),
        ));
    }
    for (i, input) in req.derived_from.iter().enumerate() {
        check_id(
            &format!("derived_from[{i}].artifact_id"),
            &input.artifact_id,
        )?;
        if input.version == 0 {
            return Err(Error::invalid(
                format!("derived_from[{i}].version"),
                "versions start at 1",
            ));
        }
    }
    let data = serde_json::to_string(&req.data).expect("a Value always serializes");
    if data.len() > MAX_DATA_BYTES {
        return Err(Error::invalid(
            "data",
            format!(
                "is {} bytes; the limit is {MAX_DATA_BYTES} (store large files in the repository and publish their paths)",
                data.len()
            ),
        ));
    }
    Ok(data)
}

/// What a validator's check means for a publish: which plugin accepted the data (none when
/// the type has no validator) and the warnings to give (validators someone disabled), or
/// the rejection with every violation.
pub fn verdict(
    artifact_type: &str,
    checked: crate::plugins::Checked,
) -> Result<(Option<ValidatedBy>, Vec<String>)> {
    // A validator someone turned off is said on every publish of its type.
    let instead = match &checked.validation {
        Some(v) => format!("checked by `{}` instead", v.plugin),
        None => "not validated".to_string(),
    };
    let warnings = checked
        .disabled
        .iter()
        .map(|id| {
            format!(
                "validator plugin `{id}` of type `{artifact_type}` is disabled: this version was {instead} (enable the plugin to check it again)"
            )
        })
        .collect();
    let validated_by = match checked.validation {
        None => None,
        Some(v) if v.violations.is_empty() => Some(ValidatedBy {
            plugin: v.plugin,
            plugin_version: v.plugin_version,
            receipt: v.receipt,
        }),
        Some(v) => {
            return Err(Error::Rejected {
                artifact_type: artifact_type.to_string(),
                plugin: v.plugin,
                violations: v.violations,
            });
        }
    };
    Ok((validated_by, warnings))
}

/// Publishes the next version of an artifact inside `tx` and appends its event.
/// `validated_by` is the validator that already accepted `data`, if its type has one.
pub fn publish(
    tx: &Tx<'_>,
    caller: &crate::model::Caller,
    req: &PublishRequest,
    validated_by: Option<ValidatedBy>,
) -> Result<Version> {
    let data = check_publish(req)?;
    publish_checked(tx, caller, req, &data, validated_by)
}

/// [`publish`] of a request [`check_publish`] already passed, with the `data` text it
/// returned (and the validator saw), so a publish serializes its data once.
pub fn publish_checked(
    tx: &Tx<'_>,
    caller: &crate::model::Caller,
    req: &PublishRequest,
    data: &str,
    validated_by: Option<ValidatedBy>,
) -> Result<Version> {
    let publisher: &str = &caller.act_as("publisher", req.publisher.as_deref())?;
    let head = tx.artifact_head(&req.artifact_id)?;
    if let Some(head) = &head
        && head.artifact_type != req.artifact_type
    {
        return Err(Error::conflict(format!(
            "artifact `{}` has type `{}`, not `{}`; publish under a new artifact_id to change the type",
            req.artifact_id, head.artifact_type, req.artifact_type
        )));
    }
    // The next number after every existing version: after a rollback the current one is
    // lower, and a used number is never given again.
    let version = head.as_ref().map_or(1, |h| h.max_version + 1);
    let supersedes = head.as_ref().map_or(0, |h| h.latest_version);
    for (i, input) in req.derived_from.iter().enumerate() {
        let is_self = input.artifact_id == req.artifact_id;
        if (is_self && input.version >= version)
            || !tx.version_exists(&input.artifact_id, input.version)?
        {
            return Err(Error::invalid(
                format!("derived_from[{i}]"),
                format!(
                    "artifact `{}` has no version {}{}",
                    input.artifact_id,
                    input.version,
                    match tx.artifact_head(&input.artifact_id)? {
                        Some(h) => format!(" (latest is {})", h.max_version),
                        None => " (no such artifact)".to_string(),
                    }
                ),
            ));
        }
    }
    let team = match &head {
        Some(h) => h.team.clone(),
        None => req.team.clone().unwrap_or_else(|| caller.team.clone()),
    };
    let sha = sha256_hex(data.as_bytes());
    let mut payload = json!({
        "artifact_id": req.artifact_id,
        "type": req.artifact_type,
        "version": version,
        "sha256": sha,
        "summary": req.summary,
        "derived_from": req.derived_from,
        "validated_by": validated_by,
    });
    // Only after a rollback is the version it supersedes not the one before: say which
    // (0: none was current), so staleness marks what was derived from that one.
    if supersedes + 1 != version {
        payload["supersedes"] = json!(supersedes);
    }
    let seq = tx.append_event(NewEvent {
        kind: "artifact.published",
        actor: publisher,
        team: &team,
        subject: format!("artifact:{}", req.artifact_id),
        payload,
    })?;
    if head.is_none() {
        tx.insert_artifact(&req.artifact_id, &req.artifact_type, &team, publisher)?;
    }
    tx.insert_version(&NewVersion {
        artifact_id: &req.artifact_id,
        version,
        data,
        sha256: &sha,
        summary: req.summary.as_deref(),
        publisher,
        seq,
    })?;
    for input in &req.derived_from {
        tx.insert_lineage_edge(&req.artifact_id, version, input)?;
    }
    Ok(Version {
        artifact_id: req.artifact_id.clone(),
        artifact_type: req.artifact_type.clone(),
        team,
        version,
        latest_version: version,
        sha256: sha,
        summary: req.summary.clone(),
        publisher: publisher.to_string(),
        published_at: crate::time::rfc3339(tx.now_ms()),
        seq,
        derived_from: req.derived_from.clone(),
        data: None,
        validated_by,
        warnings: Vec::new(),
    })
}

/// The current version of an artifact, or why it has none: a rollback to a snapshot taken
/// before its first version (its versions stay readable by number).
pub(crate) fn current(artifact_id: &str, head: &crate::model::artifacts::Head) -> Result<u32> {
    if head.latest_version == 0 {
        return Err(Error::conflict(format!(
            "artifact `{artifact_id}` has no current version: the team was rolled back to before it was published; its versions 1 to {} stay readable with `version`",
            head.max_version
        )));
    }
    Ok(head.latest_version)
}

/// A read that [`get`] allowed, to be recorded by [`record_reads`], at the time it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRead {
    pub artifact_id: String,
    pub version: u32,
    pub reader: String,
    pub at_ms: i64,
}

/// One version (the current one by default) with its data, and the read to record of it
/// (the caller records it, at once or with others: see `Hub::artifact_get`).
pub fn get(
    tx: &Tx<'_>,
    caller: &crate::model::Caller,
    req: &GetRequest,
) -> Result<(Version, PendingRead)> {
    check_id("artifact_id", &req.artifact_id)?;
    check_opt_id("reader", req.reader.as_deref())?;
    if req.version == Some(0) {
        return Err(Error::invalid("version", "versions start at 1"));
    }
    let head = tx
        .artifact_head(&req.artifact_id)?
        .ok_or_else(|| missing(&req.artifact_id))?;
    let version = match req.version {
        Some(v) => v,
        None => current(&req.artifact_id, &head)?,
    };
    let v = tx
        .version(&req.artifact_id, version, true)?
        .ok_or_else(|| {
            Error::invalid(
                "version",
                format!(
                    "artifact `{}` has no version {version}; its versions are 1 to {}",
                    req.artifact_id, head.max_version
                ),
            )
        })?;
    let reader = caller.act_as("reader", req.reader.as_deref())?.to_string();
    let read = PendingRead {
        artifact_id: req.artifact_id.clone(),
        version,
        reader,
        at_ms: tx.now_ms(),
    };
    Ok((v, read))
}

/// Records reads [`get`] returned. Their versions exist (a version is never deleted), so
/// only the database itself can refuse.
pub fn record_reads(tx: &Tx<'_>, reads: &[PendingRead]) -> Result<()> {
    for r in reads {
        tx.insert_read(&r.artifact_id, r.version, &r.reader, r.at_ms)?;
    }
    Ok(())
}

pub fn list(tx: &Tx<'_>, req: &ListRequest) -> Result<Page<Version>> {
    check_opt_id("type", req.artifact_type.as_deref())?;
    check_opt_id("publisher", req.publisher.as_deref())?;
    check_opt_id("team", req.team.as_deref())?;
    let window = page::window(req.limit, req.cursor.as_deref())?;
    let rows = tx.list_artifacts(&ArtifactFilter {
        artifact_type: req.artifact_type.as_deref(),
        publisher: req.publisher.as_deref(),
        team: req.team.as_deref(),
        window,
    })?;
    Ok(page::page(window, rows))
}

/// One page of an artifact's versions, oldest first.
pub fn history(tx: &Tx<'_>, req: &HistoryRequest) -> Result<Page<Version>> {
    check_id("artifact_id", &req.artifact_id)?;
    let window = page::window(req.limit, req.cursor.as_deref())?;
    if tx.artifact_head(&req.artifact_id)?.is_none() {
        return Err(missing(&req.artifact_id));
    }
    Ok(page::page(window, tx.history(&req.artifact_id, window)?))
}

pub fn readers(tx: &Tx<'_>, artifact_id: &str) -> Result<Readers> {
    check_id("artifact_id", artifact_id)?;
    let head = tx
        .artifact_head(artifact_id)?
        .ok_or_else(|| missing(artifact_id))?;
    let reads = tx.reads(artifact_id)?;
    let mut readers: Vec<ReaderSummary> = Vec::new();
    for r in &reads {
        match readers.iter_mut().find(|s| s.reader == r.reader) {
            Some(s) => {
                s.last_version_read = s.last_version_read.max(r.version);
                s.reads += 1;
            }
            None => readers.push(ReaderSummary {
                reader: r.reader.clone(),
                last_version_read: r.version,
                read_latest: false,
                reads: 1,
            }),
        }
    }
    for s in &mut readers {
        s.read_latest = s.last_version_read == head.latest_version;
    }
    Ok(Readers {
        artifact_id: artifact_id.to_string(),
        latest_version: head.latest_version,
        reads,
        readers,
    })
}

pub fn diff(tx: &Tx<'_>, req: &DiffRequest) -> Result<Diff> {
    check_id("artifact_id", &req.artifact_id)?;
    let head = tx
        .artifact_head(&req.artifact_id)?
        .ok_or_else(|| missing(&req.artifact_id))?;
    let to = match req.to_version {
        Some(v) => v,
        None => current(&req.artifact_id, &head)?,
    };
    let from = req.from_version.unwrap_or(to.saturating_sub(1).max(1));
    let load = |field: &str, v: u32| -> Result<Value> {
        tx.version(&req.artifact_id, v, true)?
            .and_then(|v| v.data)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "artifact `{}` has no version {v}; its versions are 1 to {}",
                        req.artifact_id, head.max_version
                    ),
                )
            })
    };
    // `to` first: a bad `to_version` also makes the default `from` bad, and is the cause.
    let new = load("to_version", to)?;
    let old = load("from_version", from)?;
    let patch = json_patch::diff(&old, &new);
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for op in patch.iter() {
        match op {
            json_patch::PatchOperation::Add(_) => added += 1,
            json_patch::PatchOperation::Remove(_) => removed += 1,
            _ => changed += 1,
        }
    }
    Ok(Diff {
        artifact_id: req.artifact_id.clone(),
        from_version: from,
        to_version: to,
        identical: patch.is_empty(),
        added,
        removed,
        changed,
        operations: serde_json::to_value(&patch).expect("a patch serializes"),
    })
}

/// A type without a validator must be in use already, or started on purpose (`new_type`):
/// a misspelt type would otherwise skip validation without a word.
pub fn check_unvalidated_type(
    tx: &Tx<'_>,
    req: &PublishRequest,
    declared: impl FnOnce() -> Result<Vec<String>>,
) -> Result<()> {
    if req.new_type || tx.type_in_use(&req.artifact_type)? {
        return Ok(());
    }
    let mut known: Vec<String> = BUILTIN_TYPES.iter().map(|(t, _)| t.to_string()).collect();
    known.extend(declared()?);
    known.extend(tx.type_counts()?.into_iter().map(|(t, _)| t));
    let closest = known
        .iter()
        .map(|k| (strsim::levenshtein(k, &req.artifact_type), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min();
    let hint = match closest {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    };
    Err(Error::invalid(
        "type",
        format!(
            "no validator declares `{}` and no artifact has it yet{hint}; to start a new type on purpose, publish with `new_type` set, or install a validator plugin that declares it",
            req.artifact_type
        ),
    ))
}

/// Every known type: built-in ones, those validators declare (`declared`), those in use.
pub fn types(tx: &Tx<'_>, declared: &[crate::plugins::TypeInfo]) -> Result<Vec<TypeInfo>> {
    let counts = tx.type_counts()?;
    let count_of = |t: &str| {
        counts
            .iter()
            .find(|(name, _)| name == t)
            .map_or(0, |(_, n)| *n)
    };
    let mut out: Vec<TypeInfo> = BUILTIN_TYPES
        .iter()
        .map(|(t, d)| TypeInfo {
            artifact_type: t.to_string(),
            builtin: true,
            description: Some(d.to_string()),
            artifacts: count_of(t),
            validator: None,
            schema: None,
        })
        .collect();
    for d in declared {
        if !out.iter().any(|o| o.artifact_type == d.name) {
            out.push(TypeInfo {
                artifact_type: d.name.clone(),
                builtin: false,
                description: Some(d.description.clone()),
                artifacts: count_of(&d.name),
                validator: None,
                schema: None,
            });
        }
    }
    for (t, n) in &counts {
        if !out.iter().any(|o| &o.artifact_type == t) {
            out.push(TypeInfo {
                artifact_type: t.clone(),
                builtin: false,
                description: None,
                artifacts: *n,
                validator: None,
                schema: None,
            });
        }
    }
    // The first declaration of a type wins: `declared` lists user plugins first.
    for o in &mut out {
        if let Some(d) = declared.iter().find(|d| d.name == o.artifact_type) {
            o.validator = Some(d.plugin.clone());
            o.schema = d.schema.clone();
        }
    }
    Ok(out)
}

fn missing(artifact_id: &str) -> Error {
    Error::not_found_hint(
        "artifact",
        artifact_id,
        "`artifact_list` shows the artifacts that exist",
    )
}
