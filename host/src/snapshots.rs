//! `snapshots`: labels on a team's coordination state, rollback to one, and replay from one.
//!
//! A snapshot is a `team.snapshot_taken` event plus a copy of the team's coordination rows
//! (each contract's mutable fields, each artifact's current version, the pipelines with
//! their rules, the roster) in the `snapshot_*` tables, written in one transaction; its
//! cost follows the team's state, never the length of the log. A rollback puts those rows
//! back and is itself an event (`team.rolled_back`): nothing is deleted, artifact versions
//! published since stay readable by number and are never renumbered, and a rollback to a
//! later snapshot undoes it. A replay is a rollback that then re-opens the snapshot's
//! contracts with `overrides` of their inputs and re-sends live assignees their contract.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::contracts::{self, Status};
use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::inbox;
use crate::model::Caller;
use crate::model::artifacts::VersionRef;
use crate::sessions;
use crate::store::page::{self, Page};
use crate::store::{ContractState, MemberRow, NewEvent, PipelineState, SnapshotRow, Tx};

/// Arguments of `team_snapshot`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// Its label, unique in the team.
    pub label: String,
    /// Team [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// What the state is.
    #[serde(default)]
    pub description: Option<String>,
}

/// Arguments of `snapshot_list`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Team [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// Page size [default 100, max 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `snapshot_diff`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// Earlier snapshot.
    pub from: String,
    /// Later snapshot [default: now].
    #[serde(default)]
    pub to: Option<String>,
    /// Team [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// Changes per page [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `team_rollback`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Snapshot label.
    pub label: String,
    /// Team [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
}

/// Arguments of `team_replay`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Snapshot label.
    pub label: String,
    /// Team [default: caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// {contract_id: {input: value}}, merged into inputs.
    #[serde(default)]
    #[schemars(schema_with = "overrides_schema")]
    pub overrides: BTreeMap<String, Map<String, Value>>,
}

/// An object of objects, spelled out: schemars would write the inner values as `true`.
fn overrides_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": { "type": "object" },
        "description": "{contract_id: {input: value}}, merged into inputs."
    })
}

/// A snapshot as callers see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub label: String,
    pub team: String,
    pub description: String,
    /// The `team.snapshot_taken` event: the point of the log it labels.
    pub seq: i64,
    pub created_by: String,
    pub created_at: String,
    pub contracts: i64,
    pub artifacts: i64,
    pub pipelines: i64,
    pub members: i64,
}

impl From<SnapshotRow> for Snapshot {
    fn from(r: SnapshotRow) -> Snapshot {
        Snapshot {
            label: r.label,
            team: r.team,
            description: r.description,
            seq: r.seq,
            created_by: r.created_by,
            created_at: crate::time::rfc3339(r.created_at_ms),
            contracts: r.contracts,
            artifacts: r.artifacts,
            pipelines: r.pipelines,
            members: r.members,
        }
    }
}

/// A contract's status and inputs on one side of a diff.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContractSide {
    pub status: String,
    pub inputs: Value,
}

/// A contract whose status or inputs differ (`from`/`to` absent: it did not exist there).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContractChange {
    pub contract_id: String,
    pub from: Option<ContractSide>,
    pub to: Option<ContractSide>,
}

/// An artifact whose current version differs (absent or 0: none then).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArtifactChange {
    pub artifact_id: String,
    pub from: Option<u32>,
    pub to: Option<u32>,
}

/// What changed from one snapshot to another, or to now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diff {
    pub team: String,
    pub from: String,
    /// The later snapshot's label, or `now`.
    pub to: String,
    pub contracts: Vec<ContractChange>,
    pub artifacts: Vec<ArtifactChange>,
    pub pipelines_added: Vec<String>,
    pub pipelines_removed: Vec<String>,
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    /// The rest of the changes (in the order contracts, artifacts, pipelines, members), for
    /// `cursor`; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One change of a diff, in the order the pages list them.
enum Change {
    Contract(ContractChange),
    Artifact(ArtifactChange),
    PipelineAdded(String),
    PipelineRemoved(String),
    MemberAdded(String),
    MemberRemoved(String),
}

/// What a rollback changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rollback {
    pub label: String,
    pub team: String,
    /// The snapshot's event.
    pub snapshot_seq: i64,
    /// The `team.rolled_back` event.
    pub seq: i64,
    /// Contracts put back as the snapshot had them.
    pub contracts_restored: Vec<String>,
    /// Contracts created after the snapshot: failed, with the rollback as the reason.
    pub contracts_withdrawn: Vec<String>,
    /// Current versions moved (to 0: the artifact did not exist at the snapshot).
    pub artifacts: Vec<ArtifactChange>,
    pub pipelines_restored: Vec<String>,
    pub pipelines_removed: Vec<String>,
    pub members_restored: Vec<String>,
    /// Members that joined after the snapshot: off the roster, stopped (resumable).
    pub members_removed: Vec<String>,
    /// Members whose session was deleted since: they cannot come back.
    pub members_not_restored: Vec<String>,
    /// Workers asked to stop (resumable): their contract was rolled back.
    pub stopped: Vec<String>,
    /// Sessions told in their inbox.
    pub notified: Vec<String>,
}

/// What a replay did: the rollback, then the contracts re-opened and the workers re-sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Replay {
    #[serde(flatten)]
    pub rollback: Rollback,
    /// Contracts whose inputs the overrides changed.
    pub overridden: Vec<String>,
    /// Contracts the snapshot had completed, failed or in progress, open again.
    pub reopened: Vec<String>,
    /// Live workers re-sent their ready contract (a queued turn).
    pub sent: Vec<String>,
    /// Workers not re-sent, and why (no process, no budget).
    pub not_sent: BTreeMap<String, String>,
}

fn team_of(caller: &Caller, team: Option<&str>) -> Result<String> {
    check_opt_id("team", team)?;
    Ok(team.map_or_else(|| caller.team.clone(), str::to_string))
}

/// Rolling back moves every member of a team: a worker acts only as itself.
fn check_unbound(caller: &Caller, what: &str) -> Result<()> {
    if caller.bound {
        return Err(Error::Forbidden(format!(
            "session `{}` may not {what} its team: it changes every member's work; the orchestrator or the CLI does it",
            caller.session
        )));
    }
    Ok(())
}

fn load(tx: &Tx<'_>, team: &str, label: &str, field: &str) -> Result<SnapshotRow> {
    check_id(field, label)?;
    tx.snapshot(team, label)?.ok_or_else(|| {
        Error::not_found_hint(
            "snapshot",
            label,
            &format!("snapshot_list shows the snapshots of team `{team}`; team_snapshot takes one"),
        )
    })
}

pub fn take(tx: &Tx<'_>, caller: &Caller, req: &SnapshotRequest) -> Result<Snapshot> {
    check_id("label", &req.label)?;
    let team = team_of(caller, req.team.as_deref())?;
    let description = req.description.clone().unwrap_or_default();
    if description.len() > 1000 {
        return Err(Error::invalid("description", format!("is {} bytes; the limit is 1000", description.len())));
    }
    if let Some(s) = tx.snapshot(&team, &req.label)? {
        return Err(Error::conflict(format!(
            "team `{team}` already has snapshot `{}` (event {}); labels are unique in a team, pick another",
            req.label, s.seq
        )));
    }
    let seq = tx.append_event(NewEvent {
        kind: "team.snapshot_taken",
        actor: &caller.session,
        team: &team,
        subject: format!("snapshot:{team}:{}", req.label),
        payload: json!({ "label": req.label, "description": description }),
    })?;
    Ok(tx.insert_snapshot(&team, &req.label, &description, seq, &caller.session)?.into())
}

pub fn list(tx: &Tx<'_>, caller: &Caller, req: &ListRequest) -> Result<Page<Snapshot>> {
    let team = team_of(caller, req.team.as_deref())?;
    let w = page::window(req.limit, req.cursor.as_deref())?;
    Ok(page::page(w, tx.list_snapshots(&team, w)?).try_map(|r| Ok(r.into()))?)
}

/// A team's coordination state, from a snapshot or as it is now.
struct State {
    contracts: BTreeMap<String, ContractState>,
    artifacts: BTreeMap<String, u32>,
    pipelines: BTreeMap<String, PipelineState>,
    members: BTreeMap<String, MemberRow>,
}

impl State {
    fn of(tx: &Tx<'_>, s: &SnapshotRow) -> Result<State> {
        Ok(State {
            contracts: tx.snapshot_contracts(s.snapshot_id)?.into_iter().map(|c| (c.contract_id.clone(), c)).collect(),
            artifacts: tx.snapshot_artifacts(s.snapshot_id)?.into_iter().collect(),
            pipelines: tx.snapshot_pipelines(s.snapshot_id)?.into_iter().map(|p| (p.pipeline_id.clone(), p)).collect(),
            members: tx.snapshot_members(s.snapshot_id, &s.team)?.into_iter().map(|m| (m.name.clone(), m)).collect(),
        })
    }

    fn now(tx: &Tx<'_>, team: &str) -> Result<State> {
        Ok(State {
            contracts: tx.team_contract_states(team)?.into_iter().map(|c| (c.contract_id.clone(), c)).collect(),
            artifacts: tx.team_artifact_pointers(team)?.into_iter().collect(),
            pipelines: tx.team_pipeline_states(team)?.into_iter().map(|p| (p.pipeline_id.clone(), p)).collect(),
            members: tx.team_members(team)?.into_iter().map(|m| (m.name.clone(), m)).collect(),
        })
    }
}

fn side(c: &ContractState) -> Result<ContractSide> {
    Ok(ContractSide {
        status: c.status.clone(),
        inputs: serde_json::from_str(&c.inputs).map_err(|e| Error::Corrupt(format!("contract `{}` inputs: {e}", c.contract_id)))?,
    })
}

pub fn diff(tx: &Tx<'_>, caller: &Caller, req: &DiffRequest) -> Result<Diff> {
    let team = team_of(caller, req.team.as_deref())?;
    let window = crate::store::page::window(req.limit, req.cursor.as_deref())?;
    let from = State::of(tx, &load(tx, &team, &req.from, "from")?)?;
    let to = match &req.to {
        Some(label) => State::of(tx, &load(tx, &team, label, "to")?)?,
        None => State::now(tx, &team)?,
    };
    // Every change, in page order; the states are read whole either way (a diff compares
    // them), and the page keeps the reply small.
    let mut changes = Vec::new();
    let ids: BTreeSet<&String> = from.contracts.keys().chain(to.contracts.keys()).collect();
    for id in ids {
        let (a, b) = (from.contracts.get(id), to.contracts.get(id));
        let changed = match (a, b) {
            (Some(a), Some(b)) => a.status != b.status || a.inputs != b.inputs,
            _ => true,
        };
        if changed {
            changes.push(Change::Contract(ContractChange {
                contract_id: id.clone(),
                from: a.map(side).transpose()?,
                to: b.map(side).transpose()?,
            }));
        }
    }
    let ids: BTreeSet<&String> = from.artifacts.keys().chain(to.artifacts.keys()).collect();
    for id in ids {
        let (a, b) = (from.artifacts.get(id).copied(), to.artifacts.get(id).copied());
        if a.unwrap_or(0) != b.unwrap_or(0) {
            changes.push(Change::Artifact(ArtifactChange { artifact_id: id.clone(), from: a, to: b }));
        }
    }
    changes.extend(keys_only(&to.pipelines, &from.pipelines).into_iter().map(Change::PipelineAdded));
    changes.extend(keys_only(&from.pipelines, &to.pipelines).into_iter().map(Change::PipelineRemoved));
    changes.extend(keys_only(&to.members, &from.members).into_iter().map(Change::MemberAdded));
    changes.extend(keys_only(&from.members, &to.members).into_iter().map(Change::MemberRemoved));
    let rows: Vec<Change> = changes
        .into_iter()
        .skip(usize::try_from(window.offset).unwrap_or(usize::MAX))
        .take(window.limit as usize + 1)
        .collect();
    let page = crate::store::page::page(window, rows);
    let mut d = Diff {
        team,
        from: req.from.clone(),
        to: req.to.clone().unwrap_or_else(|| "now".to_string()),
        contracts: vec![],
        artifacts: vec![],
        pipelines_added: vec![],
        pipelines_removed: vec![],
        members_added: vec![],
        members_removed: vec![],
        next_cursor: page.next_cursor,
    };
    for c in page.items {
        match c {
            Change::Contract(c) => d.contracts.push(c),
            Change::Artifact(a) => d.artifacts.push(a),
            Change::PipelineAdded(p) => d.pipelines_added.push(p),
            Change::PipelineRemoved(p) => d.pipelines_removed.push(p),
            Change::MemberAdded(m) => d.members_added.push(m),
            Change::MemberRemoved(m) => d.members_removed.push(m),
        }
    }
    Ok(d)
}

fn keys_only<A, B>(x: &BTreeMap<String, A>, y: &BTreeMap<String, B>) -> Vec<String> {
    x.keys().filter(|k| !y.contains_key(*k)).cloned().collect()
}

/// Puts the team's rows back as `snap` has them and records the `team.rolled_back`
/// event. `stop`: ask the workers whose contract moved to stop (a replay re-sends them
/// their contract instead).
fn restore(tx: &Tx<'_>, caller: &Caller, snap: &SnapshotRow, then: &State, stop: bool, kind: &str) -> Result<Rollback> {
    let now = State::now(tx, &snap.team)?;
    let mut r = Rollback {
        label: snap.label.clone(),
        team: snap.team.clone(),
        snapshot_seq: snap.seq,
        ..Rollback::default()
    };
    let mut moved_assignees = BTreeSet::new();
    for (id, s) in &then.contracts {
        let Some(n) = now.contracts.get(id) else { continue };
        if !n.differs(s) {
            continue;
        }
        let mut s = s.clone();
        // A contract back in progress gets its whole timeout again, not the deadline that
        // passed while it was rolled forward.
        if s.status == Status::InProgress.as_str()
            && let Some(t) = s.timeout_s
        {
            s.started_at_ms = Some(tx.now_ms());
            s.deadline_at_ms = Some(tx.now_ms() + t * 1000);
        }
        tx.restore_contract(&s)?;
        let outputs: Vec<VersionRef> = match &s.outputs {
            Some(o) => serde_json::from_str(o).map_err(|e| Error::Corrupt(format!("contract `{id}` outputs: {e}")))?,
            None => Vec::new(),
        };
        tx.set_contract_outputs(id, &outputs)?;
        r.contracts_restored.push(id.clone());
        moved_assignees.insert(s.assignee.clone());
    }
    let withdrawn = format!("withdrawn by the rollback to snapshot `{}`: created after it", snap.label);
    for (id, n) in &now.contracts {
        if then.contracts.contains_key(id) || (n.status == Status::Failed.as_str() && n.reason.as_deref() == Some(withdrawn.as_str())) {
            continue;
        }
        let mut w = n.clone();
        w.status = Status::Failed.as_str().to_string();
        w.reason = Some(withdrawn.clone());
        w.deadline_at_ms = None;
        tx.restore_contract(&w)?;
        r.contracts_withdrawn.push(id.clone());
        moved_assignees.insert(n.assignee.clone());
    }
    for (id, &cur) in &now.artifacts {
        let target = then.artifacts.get(id).copied().unwrap_or(0);
        if cur != target {
            tx.set_current_version(id, target)?;
            r.artifacts.push(ArtifactChange { artifact_id: id.clone(), from: Some(cur), to: Some(target) });
        }
    }
    // What is stale follows the current versions back (or forward).
    let moved: Vec<String> = r.artifacts.iter().map(|a| a.artifact_id.clone()).collect();
    crate::lineage::on_rolled_back(tx, &moved)?;
    for (id, p) in &then.pipelines {
        if now.pipelines.get(id) == Some(p) {
            continue;
        }
        if now.pipelines.contains_key(id) {
            tx.delete_pipeline(id)?;
        }
        restore_pipeline(tx, &snap.team, p)?;
        r.pipelines_restored.push(id.clone());
    }
    for id in now.pipelines.keys().filter(|id| !then.pipelines.contains_key(*id)) {
        tx.delete_pipeline(id)?;
        r.pipelines_removed.push(id.clone());
    }
    for name in now.members.keys().filter(|n| !then.members.contains_key(*n)) {
        tx.delete_team_member(name)?;
        if sessions::queue_stop(tx, &caller.session, name)?.is_some() {
            r.stopped.push(name.clone());
        }
        r.members_removed.push(name.clone());
    }
    for (name, m) in then.members.iter().filter(|(n, _)| !now.members.contains_key(*n)) {
        if tx.session(name)?.is_some() {
            tx.insert_team_member(m)?;
            r.members_restored.push(name.clone());
        } else {
            r.members_not_restored.push(name.clone());
        }
    }
    if stop {
        for name in &moved_assignees {
            if !r.stopped.contains(name) && sessions::queue_stop(tx, &caller.session, name)?.is_some() {
                r.stopped.push(name.clone());
            }
        }
    }
    r.seq = tx.append_event(NewEvent {
        kind,
        actor: &caller.session,
        team: &snap.team,
        subject: format!("snapshot:{}:{}", snap.team, snap.label),
        payload: json!({
            "label": snap.label, "snapshot_seq": snap.seq,
            "contracts_restored": r.contracts_restored, "contracts_withdrawn": r.contracts_withdrawn,
            "artifacts": r.artifacts, "pipelines_restored": r.pipelines_restored,
            "pipelines_removed": r.pipelines_removed, "members_restored": r.members_restored,
            "members_removed": r.members_removed, "members_not_restored": r.members_not_restored,
            "stopped": r.stopped,
        }),
    })?;
    // Every live member of the team hears of it, and so does each assignee whose contract
    // moved (a session or not: the inbox is by name).
    let mut told: BTreeSet<String> = BTreeSet::new();
    for m in tx.team_members(&snap.team)?.into_iter().map(|m| m.name).chain(r.members_removed.iter().cloned()) {
        if tx.session(&m)?.is_some_and(|s| s.status.is_live()) {
            told.insert(m);
        }
    }
    told.extend(moved_assignees);
    for name in told {
        inbox::notify(
            tx,
            &name,
            &snap.team,
            "team_rolled_back",
            &format!("snapshot:{}:{}", snap.team, snap.label),
            &format!(
                "Team `{}` was rolled back to snapshot `{}` by {}: {} contract(s) restored, {} withdrawn, {} artifact(s) moved; re-read your contract before going on.",
                snap.team, snap.label, caller.session, r.contracts_restored.len(), r.contracts_withdrawn.len(), r.artifacts.len()
            ),
            r.seq,
        )?;
        r.notified.push(name);
    }
    Ok(r)
}

fn restore_pipeline(tx: &Tx<'_>, team: &str, p: &PipelineState) -> Result<()> {
    tx.insert_pipeline(&crate::model::pipelines::Row {
        pipeline_id: p.pipeline_id.clone(),
        team: team.to_string(),
        description: p.description.clone(),
        enabled: p.enabled,
        created_by: p.created_by.clone(),
        creator_bound: p.creator_bound,
        created_at_ms: p.created_at_ms,
        updated_at_ms: p.updated_at_ms,
    })?;
    let rules: Vec<(u32, String, String)> = serde_json::from_str(&p.rules)
        .map_err(|e| Error::Corrupt(format!("snapshot of pipeline `{}`: rules: {e}", p.pipeline_id)))?;
    for (index, trigger, rule) in rules {
        tx.insert_pipeline_rule(&p.pipeline_id, index, &trigger, p.enabled, &rule)?;
    }
    Ok(())
}

pub fn rollback(tx: &Tx<'_>, caller: &Caller, req: &RollbackRequest) -> Result<Rollback> {
    check_unbound(caller, "roll back")?;
    let team = team_of(caller, req.team.as_deref())?;
    let snap = load(tx, &team, &req.label, "label")?;
    let then = State::of(tx, &snap)?;
    restore(tx, caller, &snap, &then, true, "team.rolled_back")
}

/// An override as given: the inputs themselves, or the seed's `{"inputs": {…}}`.
fn override_inputs(o: &Map<String, Value>) -> &Map<String, Value> {
    match (o.len(), o.get("inputs")) {
        (1, Some(Value::Object(inner))) => inner,
        _ => o,
    }
}

/// The rollback and the re-opening, in the command's transaction; the re-sending comes
/// after the reactions ([`resend`], given the snapshot's contract ids returned here), once
/// readiness has settled which contracts are ready.
pub fn replay(tx: &Tx<'_>, caller: &Caller, req: &ReplayRequest) -> Result<(Replay, Vec<String>)> {
    check_unbound(caller, "replay")?;
    let team = team_of(caller, req.team.as_deref())?;
    let snap = load(tx, &team, &req.label, "label")?;
    let then = State::of(tx, &snap)?;
    // Every id is checked before anything changes.
    for id in req.overrides.keys() {
        if !then.contracts.contains_key(id) {
            let known: Vec<&str> = then.contracts.keys().map(String::as_str).take(20).collect();
            return Err(Error::invalid(
                format!("overrides.{id}"),
                format!(
                    "snapshot `{}` of team `{team}` has no contract `{id}`; its contracts: {}",
                    req.label,
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            ));
        }
    }
    let rollback = restore(tx, caller, &snap, &then, false, "team.replayed")?;
    let mut out = Replay { rollback, ..Replay::default() };
    let reason = format!("replay of snapshot `{}`", snap.label);
    for (id, s) in &then.contracts {
        if let Some(o) = req.overrides.get(id) {
            let mut inputs: Map<String, Value> = serde_json::from_str(&s.inputs)
                .map_err(|e| Error::Corrupt(format!("contract `{id}` inputs: {e}")))?;
            for (k, v) in override_inputs(o) {
                inputs.insert(k.clone(), v.clone());
            }
            let text = Value::Object(inputs).to_string();
            if text.len() > contracts::MAX_VALUE_BYTES {
                return Err(Error::invalid(format!("overrides.{id}"), format!("makes the inputs {} bytes; the limit is {}", text.len(), contracts::MAX_VALUE_BYTES)));
            }
            tx.set_contract_inputs(id, &text)?;
            out.overridden.push(id.clone());
        }
        let row = tx
            .contract(id)?
            .ok_or_else(|| Error::Corrupt(format!("snapshot contract `{id}` is gone")))?;
        if matches!(row.status, Status::Pending | Status::Ready) {
            continue;
        }
        let from = row.status;
        let mut row = row;
        row.status = Status::Pending;
        row.reason = Some(reason.clone());
        row.ready_seq = None;
        row.started_at_ms = None;
        row.deadline_at_ms = None;
        row.updated_at_ms = tx.now_ms();
        tx.update_contract(&row)?;
        // The readiness reaction makes it ready again once its dependencies hold.
        tx.append_event(NewEvent {
            kind: "contract.reopened",
            actor: &caller.session,
            team: &row.team,
            subject: contracts::subject(id),
            payload: json!({ "contract_id": id, "by": caller.session, "reason": reason, "from": from, "retry": row.retries, "replay": snap.label }),
        })?;
        out.reopened.push(id.clone());
    }
    Ok((out, then.contracts.keys().cloned().collect()))
}

/// After the reactions: each contract of the snapshot that is ready now goes to its
/// assignee again, as a queued turn (the outbox), when the assignee has a process.
pub fn resend(tx: &Tx<'_>, caller: &Caller, label: &str, mut out: Replay, ids: &[String]) -> Result<Replay> {
    for id in ids {
        let Some(row) = tx.contract(id)? else { continue };
        if row.status != Status::Ready || out.sent.contains(&row.assignee) {
            continue;
        }
        let message = format!(
            "Contract `{id}` ({}) is ready again: the team was replayed from snapshot `{label}`. Its inputs now: {}. Start it with contract_start, do the work, publish new versions of its outputs and complete it.",
            row.title, row.inputs
        );
        match sessions::queue_turn(tx, &caller.session, &row.assignee, &message) {
            Ok(_) => out.sent.push(row.assignee.clone()),
            Err(Error::NotFound { .. }) => {
                out.not_sent.insert(row.assignee.clone(), "not a clearctx session: its inbox says the contract moved".to_string());
            }
            Err(e) => {
                out.not_sent.insert(row.assignee.clone(), e.to_string());
            }
        }
    }
    Ok(out)
}

/// Arguments of `team_resume`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// The team.
    pub team: String,
}

/// Which members came back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resumed {
    pub team: String,
    /// Members started again with their conversation (`--resume`).
    pub resumed: Vec<String>,
    /// Each member's current contract, as sent to it.
    pub contracts: BTreeMap<String, String>,
    /// Members that could not be resumed, and why.
    pub not_resumed: BTreeMap<String, String>,
}

/// A team with members stopped while a contract of theirs is open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interrupted {
    pub team: String,
    pub members: Vec<String>,
}

pub fn interrupted(tx: &Tx<'_>) -> Result<Vec<Interrupted>> {
    let mut out: Vec<Interrupted> = Vec::new();
    for (team, name) in tx.interrupted_members()? {
        match out.last_mut() {
            Some(i) if i.team == team => i.members.push(name),
            _ => out.push(Interrupted { team, members: vec![name] }),
        }
    }
    Ok(out)
}

/// The stopped and failed members of a team, each with the message that hands it its
/// current contract (in progress first, else ready), if it has one.
pub fn resume_plan(tx: &Tx<'_>, caller: &Caller, req: &ResumeRequest) -> Result<Vec<(String, Option<(String, String)>)>> {
    check_unbound(caller, "resume")?;
    check_id("team", &req.team)?;
    let members = tx.team_members(&req.team)?;
    if members.is_empty() {
        return Err(Error::not_found_hint("team", &req.team, "team_roster lists a team's members; team_spawn adds one"));
    }
    let mut plan = Vec::new();
    for m in members {
        let Some(s) = tx.session(&m.name)? else { continue };
        if s.status.is_live() {
            continue;
        }
        let mut current = None;
        for status in [Status::InProgress, Status::Ready] {
            let list = contracts::list(
                tx,
                &contracts::ListRequest { assignee: Some(m.name.clone()), status: Some(status), team: Some(req.team.clone()), limit: Some(1), ..Default::default() },
            )?;
            if let Some(c) = list.items.into_iter().next() {
                let text = format!(
                    "clearctx resumed you: team `{}` was interrupted. Your current contract is `{}` ({}), {}; its inputs: {}. Go on with it (contract_start it if it is ready), publish its outputs and complete it.",
                    req.team, c.contract_id, c.title, c.status.as_str(), c.inputs
                );
                current = Some((c.contract_id, text));
                break;
            }
        }
        plan.push((m.name, current));
    }
    Ok(plan)
}
