//! `contracts`: units of work one session assigns to another, with dependencies that
//! resolve themselves.
//!
//! Owns the `contracts`, `contract_dependencies` and `contract_expected_outputs` tables
//! (through `store`) and the `contract.*` events. Lifecycle:
//! `pending → ready → in_progress → completed | failed`, and `reopen` back to
//! pending/ready. Moving pending contracts to ready and failing overdue ones is the
//! job of `reactions`; this module only says what each transition requires.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::artifacts::VersionRef;
use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::inbox;
use crate::model::Caller;
use crate::store::page::{self, Page};
use crate::store::{ContractFilter, Event, NewEvent, Target, Tx};

pub(crate) use crate::model::contracts::Row;
pub use crate::model::contracts::{Dependency, DependencyKind, ExpectedOutput, Priority, Status};

pub const MAX_TEXT_CHARS: usize = 16 * 1024;
pub const MAX_DEPENDENCIES: usize = 256;
/// `inputs` and `result`, serialized: they are stored with their event and returned whole by
/// `contract_get`, so a reply stays far below what a client reads in one line.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Expected outputs and acceptance criteria per contract.
pub const MAX_LIST_ITEMS: usize = 256;
/// A week; longer work should be split or re-armed.
pub const MAX_TIMEOUT_S: u64 = 7 * 24 * 3600;

/// Arguments of `contract_create`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// ID of the new contract (1-128 of `[A-Za-z0-9._-]`).
    pub contract_id: String,
    /// Short title of the work.
    pub title: String,
    /// Session that will do the work.
    pub assignee: String,
    /// Session assigning the work [default: the caller].
    #[serde(default)]
    pub assigner: Option<String>,
    /// What to do, in full.
    #[serde(default)]
    pub description: Option<String>,
    /// Structured inputs for the assignee; replays may override them.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::json_object")]
    pub inputs: Option<Value>,
    /// What must exist before the contract becomes ready.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Artifacts the assignee must publish before completing.
    #[serde(default)]
    pub expected_outputs: Vec<ExpectedOutput>,
    /// How the result will be judged, one criterion per entry.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    /// low, normal (default), high or critical.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Seconds it may stay in progress before failing as overdue.
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// How many times it may be reopened (unlimited when omitted).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Team; defaults to the caller's team.
    #[serde(default)]
    pub team: Option<String>,
}

/// Arguments of `contract_get`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    /// ID of the contract.
    pub contract_id: String,
}

/// Arguments of `contract_start`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIdRequest {
    /// ID of the contract.
    pub contract_id: String,
    /// Acting session; defaults to the caller.
    #[serde(default)]
    pub by: Option<String>,
    /// A person at the CLI overriding who may do this (never over MCP).
    #[serde(skip)]
    #[schemars(skip)]
    pub override_roles: bool,
}

/// Arguments of `contract_complete`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// ID of the contract (must be in progress).
    pub contract_id: String,
    /// What was done.
    #[serde(default)]
    pub summary: Option<String>,
    /// Structured result, if any.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::any_json")]
    pub result: Option<Value>,
    /// Acting session; defaults to the caller.
    #[serde(default)]
    pub by: Option<String>,
    /// A person at the CLI overriding who may do this (never over MCP).
    #[serde(skip)]
    #[schemars(skip)]
    pub override_roles: bool,
}

/// Arguments of `contract_fail` and `contract_reopen`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// ID of the contract.
    pub contract_id: String,
    /// Why; shown to the assignee and kept in the history.
    pub reason: String,
    /// Acting session; defaults to the caller.
    #[serde(default)]
    pub by: Option<String>,
    /// A person at the CLI overriding who may do this (never over MCP).
    #[serde(skip)]
    #[schemars(skip)]
    pub override_roles: bool,
}

/// Arguments of `contract_list`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only contracts assigned to this session.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only contracts assigned by this session.
    #[serde(default)]
    pub assigner: Option<String>,
    /// Only contracts in this status.
    #[serde(default)]
    pub status: Option<Status>,
    /// Only contracts of this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A dependency and whether it holds now.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyState {
    #[serde(flatten)]
    pub dependency: Dependency,
    pub satisfied: bool,
    /// What it is waiting for, or what satisfied it.
    pub detail: String,
}

/// A contract as tools return it.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub contract_id: String,
    pub title: String,
    pub description: String,
    pub assignee: String,
    pub assigner: String,
    pub team: String,
    pub status: Status,
    pub priority: Priority,
    pub inputs: Value,
    pub acceptance_criteria: Vec<String>,
    pub dependencies: Vec<DependencyState>,
    pub expected_outputs: Vec<ExpectedOutput>,
    pub timeout_s: Option<u64>,
    pub max_retries: Option<u32>,
    pub retries: u32,
    pub reason: Option<String>,
    pub result: Option<Value>,
    pub outputs: Option<Vec<VersionRef>>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub deadline_at: Option<String>,
    /// Every event about this contract, oldest first (`contract_get` only).
    pub history: Option<Vec<Event>>,
}

fn check_text(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_value_size(field: &str, value: &Value) -> Result<()> {
    let len = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if len > MAX_VALUE_BYTES {
        return Err(Error::invalid(
            field,
            format!(
                "is {len} bytes; the limit is {MAX_VALUE_BYTES} (publish large data as an artifact and name it here)"
            ),
        ));
    }
    Ok(())
}

fn check_create(req: &CreateRequest) -> Result<()> {
    check_id("contract_id", &req.contract_id)?;
    check_id("assignee", &req.assignee)?;
    check_opt_id("assigner", req.assigner.as_deref())?;
    check_opt_id("team", req.team.as_deref())?;
    if req.title.trim().is_empty() {
        return Err(Error::invalid("title", "must not be empty"));
    }
    check_text("title", &req.title)?;
    if let Some(d) = &req.description {
        check_text("description", d)?;
    }
    if let Some(inputs) = &req.inputs {
        if !inputs.is_object() {
            return Err(Error::invalid("inputs", "must be a JSON object"));
        }
        check_value_size("inputs", inputs)?;
    }
    for (field, n) in [
        ("expected_outputs", req.expected_outputs.len()),
        ("acceptance_criteria", req.acceptance_criteria.len()),
    ] {
        if n > MAX_LIST_ITEMS {
            return Err(Error::invalid(
                field,
                format!("lists {n}; the limit is {MAX_LIST_ITEMS}"),
            ));
        }
    }
    if req.dependencies.len() > MAX_DEPENDENCIES {
        return Err(Error::invalid(
            "dependencies",
            format!(
                "lists {}; the limit is {MAX_DEPENDENCIES}",
                req.dependencies.len()
            ),
        ));
    }
    for (i, d) in req.dependencies.iter().enumerate() {
        check_id(&format!("dependencies[{i}].id"), &d.id)?;
        match (d.kind, d.min_version) {
            (DependencyKind::Contract, Some(_)) => {
                return Err(Error::invalid(
                    format!("dependencies[{i}].min_version"),
                    "applies only to artifact dependencies",
                ));
            }
            (DependencyKind::Artifact, Some(0)) => {
                return Err(Error::invalid(
                    format!("dependencies[{i}].min_version"),
                    "versions start at 1",
                ));
            }
            _ => {}
        }
    }
    for (i, o) in req.expected_outputs.iter().enumerate() {
        match (&o.artifact_type, &o.artifact_id) {
            (Some(t), None) => check_id(&format!("expected_outputs[{i}].artifact_type"), t)?,
            (None, Some(id)) => check_id(&format!("expected_outputs[{i}].artifact_id"), id)?,
            _ => {
                return Err(Error::invalid(
                    format!("expected_outputs[{i}]"),
                    "give exactly one of `artifact_type` or `artifact_id`",
                ));
            }
        }
    }
    for (i, c) in req.acceptance_criteria.iter().enumerate() {
        check_text(&format!("acceptance_criteria[{i}]"), c)?;
    }
    if let Some(t) = req.timeout_s
        && (t == 0 || t > MAX_TIMEOUT_S)
    {
        return Err(Error::invalid(
            "timeout_s",
            format!("must be between 1 and {MAX_TIMEOUT_S} seconds"),
        ));
    }
    Ok(())
}

/// Creates a contract in `pending`; the reactions, run after this in the same transaction,
/// make it ready at once when nothing blocks it.
pub fn create(tx: &Tx<'_>, caller: &Caller, req: &CreateRequest) -> Result<()> {
    check_create(req)?;
    if tx.contract(&req.contract_id)?.is_some() {
        return Err(Error::conflict(format!(
            "contract `{}` already exists; use `contract_reopen` to run it again, or pick another contract_id",
            req.contract_id
        )));
    }
    for (i, d) in req.dependencies.iter().enumerate() {
        if d.kind == DependencyKind::Contract {
            if d.id == req.contract_id {
                return Err(Error::conflict(format!(
                    "dependency cycle: contract `{}` depends on itself (dependencies[{i}])",
                    d.id
                )));
            }
            if tx.contract(&d.id)?.is_none() {
                return Err(Error::invalid(
                    format!("dependencies[{i}]"),
                    format!("contract `{}` does not exist; create it first", d.id),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(tx, &req.contract_id, &req.dependencies)? {
        return Err(Error::conflict(format!(
            "dependency cycle: {}",
            cycle.join(" → ")
        )));
    }
    let assigner = caller.act_as("assigner", req.assigner.as_deref())?;
    let team = req.team.clone().unwrap_or_else(|| caller.team.clone());
    let row = Row {
        contract_id: req.contract_id.clone(),
        title: req.title.clone(),
        description: req.description.clone().unwrap_or_default(),
        assignee: req.assignee.clone(),
        assigner: assigner.clone(),
        team: team.clone(),
        status: Status::Pending,
        priority: req.priority.unwrap_or_default(),
        inputs: req.inputs.clone().unwrap_or_else(|| json!({})),
        acceptance_criteria: req.acceptance_criteria.clone(),
        timeout_s: req.timeout_s,
        max_retries: req.max_retries,
        retries: 0,
        reason: None,
        result: None,
        outputs: None,
        created_at_ms: tx.now_ms(),
        updated_at_ms: tx.now_ms(),
        ready_seq: None,
        started_at_ms: None,
        deadline_at_ms: None,
    };
    tx.insert_contract(&row, &req.dependencies, &req.expected_outputs)?;
    tx.append_event(NewEvent {
        kind: "contract.created",
        actor: &assigner,
        team: &team,
        subject: subject(&req.contract_id),
        payload: json!({
            "contract_id": req.contract_id,
            "title": req.title,
            "assignee": req.assignee,
            "assigner": assigner,
            "dependencies": req.dependencies,
            "expected_outputs": req.expected_outputs,
            "priority": row.priority,
            "inputs": row.inputs,
        }),
    })?;
    Ok(())
}

/// Depth-first search over contract dependencies, as if `new_id` depended on `deps`.
/// Returns the cycle's path when there is one.
fn find_cycle(tx: &Tx<'_>, new_id: &str, deps: &[Dependency]) -> Result<Option<Vec<String>>> {
    let mut stack: Vec<Vec<String>> = deps
        .iter()
        .filter(|d| d.kind == DependencyKind::Contract)
        .map(|d| vec![new_id.to_string(), d.id.clone()])
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("paths are never empty").clone();
        if last == new_id {
            return Ok(Some(path));
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in tx.contract_dependency_ids(&last)? {
            let mut p = path.clone();
            p.push(next);
            stack.push(p);
        }
    }
    Ok(None)
}

fn load(tx: &Tx<'_>, contract_id: &str) -> Result<Row> {
    check_id("contract_id", contract_id)?;
    tx.contract(contract_id)?.ok_or_else(|| {
        Error::not_found_hint(
            "contract",
            contract_id,
            "`contract_list` shows the contracts that exist",
        )
    })
}

pub(crate) fn subject(contract_id: &str) -> String {
    format!("contract:{contract_id}")
}

fn wrong_status(row: &Row, action: &str, allowed: &str) -> Error {
    Error::conflict(format!(
        "cannot {action} contract `{}`: it is {}, not {allowed}{}",
        row.contract_id,
        row.status.as_str(),
        match row.status {
            Status::Pending => "; it is waiting for its dependencies (see `contract_get`)",
            Status::Ready => "; call `contract_start` first",
            Status::Completed | Status::Failed => "; `contract_reopen` runs it again",
            Status::InProgress => "",
        }
    ))
}

/// Who acts on a contract, as the event records it.
pub(crate) struct Actor {
    pub by: String,
    /// The caller, when it acted for `by`.
    pub via: Option<String>,
    /// A person at the CLI overrode the roles.
    pub overridden: bool,
}

impl Actor {
    /// clearctx itself (deadlines; later, pipelines acting for the team).
    pub(crate) fn system() -> Actor {
        Actor {
            by: "clearctx".into(),
            via: None,
            overridden: false,
        }
    }

    /// Adds who else acted, and any override, to an event's payload.
    fn stamp(&self, mut payload: Value) -> Value {
        if let Some(via) = &self.via {
            payload["via"] = json!(via);
        }
        if self.overridden {
            payload["override"] = json!(true);
        }
        payload
    }
}

/// Who may do what: only the assignee starts, completes or fails its contract; its
/// assigner, or an unbound caller acting for the team (the orchestrator, the CLI), reopens
/// it. An unbound caller acts for another session with `by`; a person at the CLI may
/// override the roles, and the event says so.
fn actor(
    caller: &Caller,
    row: &Row,
    by: Option<&str>,
    verb: &str,
    overridden: bool,
) -> Result<Actor> {
    let who = caller.act_as("by", by)?;
    let allowed = match verb {
        "reopen" => who == row.assigner || !caller.bound,
        _ => who == row.assignee,
    };
    let overridden = overridden && !allowed && !caller.bound;
    if !allowed && !overridden {
        let (may, hint) = match verb {
            "reopen" => (
                format!("`{}`, who assigned it, or the orchestrator", row.assigner),
                String::new(),
            ),
            _ => (
                format!("`{}`, its assignee,", row.assignee),
                if caller.bound {
                    String::new()
                } else {
                    format!(" (to act for it, give `by` = `{}`)", row.assignee)
                },
            ),
        };
        return Err(Error::Forbidden(format!(
            "only {may} may {verb} contract `{}`; `{who}` may not{hint}",
            row.contract_id
        )));
    }
    Ok(Actor {
        via: caller.via(&who).map(String::from),
        by: who,
        overridden,
    })
}

/// ready → in_progress.
pub fn start(tx: &Tx<'_>, caller: &Caller, req: &ContractIdRequest) -> Result<()> {
    check_opt_id("by", req.by.as_deref())?;
    let mut row = load(tx, &req.contract_id)?;
    if row.status != Status::Ready {
        return Err(wrong_status(&row, "start", "ready"));
    }
    let a = actor(caller, &row, req.by.as_deref(), "start", req.override_roles)?;
    let by = a.by.as_str();
    row.status = Status::InProgress;
    row.started_at_ms = Some(tx.now_ms());
    row.deadline_at_ms = row.timeout_s.map(|t| tx.now_ms() + (t as i64) * 1000);
    row.updated_at_ms = tx.now_ms();
    tx.update_contract(&row)?;
    tx.append_event(NewEvent {
        kind: "contract.started",
        actor: by,
        team: &row.team,
        subject: subject(&row.contract_id),
        payload: a.stamp(json!({ "contract_id": row.contract_id, "by": by, "deadline_at": row.deadline_at_ms.map(crate::time::rfc3339) })),
    })?;
    Ok(())
}

/// in_progress → completed, when every required output has a version published since the
/// contract last became ready.
pub fn complete(tx: &Tx<'_>, caller: &Caller, req: &CompleteRequest) -> Result<()> {
    check_opt_id("by", req.by.as_deref())?;
    if let Some(s) = &req.summary {
        check_text("summary", s)?;
    }
    if let Some(r) = &req.result {
        check_value_size("result", r)?;
    }
    let mut row = load(tx, &req.contract_id)?;
    if row.status != Status::InProgress {
        return Err(wrong_status(&row, "complete", "in_progress"));
    }
    let a = actor(
        caller,
        &row,
        req.by.as_deref(),
        "complete",
        req.override_roles,
    )?;
    let since = row.ready_seq.unwrap_or(0);
    let mut outputs = Vec::new();
    let mut missing = Vec::new();
    for o in tx.expected_outputs(&row.contract_id)? {
        match tx.newest_output_since(o.artifact_id.as_deref(), o.artifact_type.as_deref(), since)? {
            Some(v) => outputs.push(v),
            None if o.required => missing.push(match (&o.artifact_id, &o.artifact_type) {
                (Some(id), _) => format!("artifact `{id}`"),
                (_, Some(t)) => format!("an artifact of type `{t}`"),
                _ => unreachable!("checked at creation"),
            }),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(Error::conflict(format!(
            "cannot complete contract `{}`: required output missing: {} (publish it with `artifact_publish`, then complete again; only versions published since the contract became ready count)",
            row.contract_id,
            missing.join(", ")
        )));
    }
    let by = a.by.clone();
    row.status = Status::Completed;
    row.result = match (&req.result, &req.summary) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(s)) => Some(json!({ "summary": s })),
        (None, None) => None,
    };
    tx.set_contract_outputs(&row.contract_id, &outputs)?;
    row.outputs = Some(outputs.clone());
    row.reason = None;
    row.deadline_at_ms = None;
    row.updated_at_ms = tx.now_ms();
    tx.update_contract(&row)?;
    let seq = tx.append_event(NewEvent {
        kind: "contract.completed",
        actor: &by,
        team: &row.team,
        subject: subject(&row.contract_id),
        payload: a.stamp(json!({ "contract_id": row.contract_id, "by": by, "summary": req.summary, "outputs": outputs })),
    })?;
    if row.assigner != by {
        inbox::notify(
            tx,
            &row.assigner,
            &row.team,
            "contract_completed",
            &subject(&row.contract_id),
            &format!(
                "Contract `{}` ({}) was completed by {by}.",
                row.contract_id, row.title
            ),
            seq,
        )?;
    }
    // Work one worker assigned another (peer to peer) is news for whoever started the
    // assigner, the team's orchestrator: informed, not involved.
    if let Some(boss) = tx.session(&row.assigner)?.map(|s| s.created_by)
        && boss != row.assigner
        && boss != by
    {
        inbox::notify(
            tx,
            &boss,
            &row.team,
            "contract_completed",
            &subject(&row.contract_id),
            &format!(
                "Contract `{}` ({}), which {} assigned to {by}, was completed by {by}.",
                row.contract_id, row.title, row.assigner
            ),
            seq,
        )?;
    }
    Ok(())
}

fn check_failable(row: &Row) -> Result<()> {
    if matches!(row.status, Status::Completed | Status::Failed) {
        return Err(wrong_status(row, "fail", "pending, ready or in_progress"));
    }
    Ok(())
}

/// Fails a contract that is not yet finished. Used by `contract_fail` and by the deadline reaction
/// for overdue contracts.
pub(crate) fn fail_row(tx: &Tx<'_>, mut row: Row, a: &Actor, reason: &str) -> Result<()> {
    let by = a.by.as_str();
    check_failable(&row)?;
    row.status = Status::Failed;
    row.reason = Some(reason.to_string());
    row.deadline_at_ms = None;
    row.updated_at_ms = tx.now_ms();
    tx.update_contract(&row)?;
    let seq = tx.append_event(NewEvent {
        kind: "contract.failed",
        actor: by,
        team: &row.team,
        subject: subject(&row.contract_id),
        payload: a.stamp(json!({ "contract_id": row.contract_id, "by": by, "reason": reason })),
    })?;
    let message = format!(
        "Contract `{}` ({}) failed: {reason}",
        row.contract_id, row.title
    );
    for recipient in [&row.assigner, &row.assignee] {
        if recipient != by {
            inbox::notify(
                tx,
                recipient,
                &row.team,
                "contract_failed",
                &subject(&row.contract_id),
                &message,
                seq,
            )?;
        }
    }
    Ok(())
}

fn check_reason(req: &ReasonRequest) -> Result<()> {
    check_opt_id("by", req.by.as_deref())?;
    if req.reason.trim().is_empty() {
        return Err(Error::invalid("reason", "must not be empty; say why"));
    }
    check_text("reason", &req.reason)
}

pub fn fail(tx: &Tx<'_>, caller: &Caller, req: &ReasonRequest) -> Result<()> {
    check_reason(req)?;
    let row = load(tx, &req.contract_id)?;
    // The state first, then who may: a finished contract says so to anyone.
    check_failable(&row)?;
    let a = actor(caller, &row, req.by.as_deref(), "fail", req.override_roles)?;
    fail_row(tx, row, &a, &req.reason)
}

/// completed | failed | in_progress → pending (the readiness reaction then makes it ready).
pub fn reopen(tx: &Tx<'_>, caller: &Caller, req: &ReasonRequest) -> Result<()> {
    check_reason(req)?;
    let mut row = load(tx, &req.contract_id)?;
    if matches!(row.status, Status::Pending | Status::Ready) {
        return Err(Error::conflict(format!(
            "cannot reopen contract `{}`: it is already open ({})",
            row.contract_id,
            row.status.as_str()
        )));
    }
    if let Some(max) = row.max_retries
        && row.retries >= max
    {
        return Err(Error::conflict(format!(
            "cannot reopen contract `{}`: it has used all {max} of its retries (max_retries); create a new contract to go on",
            row.contract_id
        )));
    }
    let a = actor(
        caller,
        &row,
        req.by.as_deref(),
        "reopen",
        req.override_roles,
    )?;
    let by = a.by.clone();
    let previous = row.status;
    row.status = Status::Pending;
    row.retries += 1;
    row.reason = Some(req.reason.clone());
    row.started_at_ms = None;
    row.deadline_at_ms = None;
    row.updated_at_ms = tx.now_ms();
    tx.update_contract(&row)?;
    let seq = tx.append_event(NewEvent {
        kind: "contract.reopened",
        actor: &by,
        team: &row.team,
        subject: subject(&row.contract_id),
        payload: a.stamp(json!({ "contract_id": row.contract_id, "by": by, "reason": req.reason, "from": previous, "retry": row.retries })),
    })?;
    if row.assignee != by {
        inbox::notify(
            tx,
            &row.assignee,
            &row.team,
            "contract_reopened",
            &subject(&row.contract_id),
            &format!(
                "Contract `{}` ({}) was reopened by {by}: {}",
                row.contract_id, row.title, req.reason
            ),
            seq,
        )?;
    }
    Ok(())
}

/// pending → ready; called by the readiness reaction once every dependency holds.
pub(crate) fn mark_ready(tx: &Tx<'_>, mut row: Row) -> Result<()> {
    let seq = tx.append_event(NewEvent {
        kind: "contract.ready",
        actor: "clearctx",
        team: &row.team,
        subject: subject(&row.contract_id),
        payload: json!({ "contract_id": row.contract_id, "assignee": row.assignee }),
    })?;
    row.status = Status::Ready;
    row.ready_seq = Some(seq);
    row.updated_at_ms = tx.now_ms();
    tx.update_contract(&row)?;
    let what = format!("Contract `{}` ({})", row.contract_id, row.title);
    inbox::notify(
        tx,
        &row.assignee,
        &row.team,
        "contract_ready",
        &subject(&row.contract_id),
        &format!(
            "{what} is ready for you. Call contract_start, do the work, publish the expected outputs, then contract_complete."
        ),
        seq,
    )?;
    if row.assigner != row.assignee {
        inbox::notify(
            tx,
            &row.assigner,
            &row.team,
            "contract_ready",
            &subject(&row.contract_id),
            &format!("{what}, which you assigned to {}, is ready.", row.assignee),
            seq,
        )?;
    }
    Ok(())
}

/// Builds what tools return from a row.
/// Contract views for `rows`, with what they depend on and expect read in two queries
/// for all of them.
fn views(tx: &Tx<'_>, rows: Vec<Row>, with_history: bool) -> Result<Vec<Contract>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.contract_id.as_str()).collect();
    let mut related = tx.related(&ids)?;
    rows.into_iter()
        .map(|row| {
            let dependencies = related
                .dependencies
                .remove(&row.contract_id)
                .unwrap_or_default()
                .into_iter()
                .map(|(d, target)| {
                    let (satisfied, detail) = dependency_state(&d, &target);
                    DependencyState {
                        dependency: d,
                        satisfied,
                        detail,
                    }
                })
                .collect();
            let history = if with_history {
                Some(tx.events_for_subject(&subject(&row.contract_id))?)
            } else {
                None
            };
            Ok(Contract {
                expected_outputs: related.outputs.remove(&row.contract_id).unwrap_or_default(),
                contract_id: row.contract_id,
                title: row.title,
                description: row.description,
                assignee: row.assignee,
                assigner: row.assigner,
                team: row.team,
                status: row.status,
                priority: row.priority,
                inputs: row.inputs,
                acceptance_criteria: row.acceptance_criteria,
                dependencies,
                timeout_s: row.timeout_s,
                max_retries: row.max_retries,
                retries: row.retries,
                reason: row.reason,
                result: row.result,
                outputs: row.outputs,
                created_at: crate::time::rfc3339(row.created_at_ms),
                updated_at: crate::time::rfc3339(row.updated_at_ms),
                started_at: row.started_at_ms.map(crate::time::rfc3339),
                deadline_at: row.deadline_at_ms.map(crate::time::rfc3339),
                history,
            })
        })
        .collect()
}

fn dependency_state(d: &Dependency, target: &Target) -> (bool, String) {
    match d.kind {
        DependencyKind::Contract => match target.contract_status {
            Some(Status::Completed) => (true, "completed".to_string()),
            Some(status) => (false, format!("contract is {}", status.as_str())),
            None => (false, "contract does not exist".to_string()),
        },
        DependencyKind::Artifact => {
            let min = d.min_version.unwrap_or(1);
            match target.latest_version {
                Some(latest) if latest >= min => (true, format!("version {latest} published")),
                Some(latest) => (
                    false,
                    format!("waiting for version {min}; latest is {latest}"),
                ),
                None => (
                    false,
                    "waiting for the artifact to be published".to_string(),
                ),
            }
        }
    }
}

pub fn get(tx: &Tx<'_>, contract_id: &str) -> Result<Contract> {
    let row = load(tx, contract_id)?;
    let mut one = views(tx, vec![row], true)?;
    Ok(one.remove(0))
}

pub fn list(tx: &Tx<'_>, req: &ListRequest) -> Result<Page<Contract>> {
    check_opt_id("assignee", req.assignee.as_deref())?;
    check_opt_id("assigner", req.assigner.as_deref())?;
    check_opt_id("team", req.team.as_deref())?;
    let window = page::window(req.limit, req.cursor.as_deref())?;
    let rows = tx.list_contracts(&ContractFilter {
        assignee: req.assignee.as_deref(),
        assigner: req.assigner.as_deref(),
        status: req.status,
        team: req.team.as_deref(),
        window,
    })?;
    let page = page::page(window, rows);
    Ok(Page {
        items: views(tx, page.items, false)?,
        next_cursor: page.next_cursor,
    })
}

// The state machine's table tests run through the commit path, so they live above
// both: `reactions/transitions.rs`.
