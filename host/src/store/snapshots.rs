//! SQL for team snapshots: the labels and the coordination rows each one copied.

use rusqlite::{OptionalExtension, params};

use super::{MemberRow, Tx, Window};
use crate::error::Result;

/// A snapshot as stored.
#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub snapshot_id: i64,
    pub team: String,
    pub label: String,
    pub description: String,
    pub seq: i64,
    pub created_by: String,
    pub created_at_ms: i64,
    pub contracts: i64,
    pub artifacts: i64,
    pub pipelines: i64,
    pub members: i64,
}

/// The mutable fields of a contract, as a snapshot holds them or as they are now, with
/// who it is assigned to.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractState {
    pub contract_id: String,
    pub assignee: String,
    pub title: String,
    pub timeout_s: Option<i64>,
    pub status: String,
    pub inputs: String,
    pub retries: i64,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub outputs: Option<String>,
    pub updated_at_ms: i64,
    pub ready_seq: Option<i64>,
    pub started_at_ms: Option<i64>,
    pub deadline_at_ms: Option<i64>,
}

impl ContractState {
    /// Whether the two differ in anything a rollback restores (not the update time).
    pub fn differs(&self, other: &ContractState) -> bool {
        (&self.status, &self.inputs, self.retries, &self.reason, &self.result, &self.outputs, self.ready_seq, self.started_at_ms, self.deadline_at_ms)
            != (&other.status, &other.inputs, other.retries, &other.reason, &other.result, &other.outputs, other.ready_seq, other.started_at_ms, other.deadline_at_ms)
    }
}

/// A pipeline and its rules (`rules`: JSON `[[rule_index, trigger_type, rule], …]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineState {
    pub pipeline_id: String,
    pub description: String,
    pub enabled: bool,
    pub created_by: String,
    pub creator_bound: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub rules: String,
}

const SNAPSHOT_COLUMNS: &str = "snapshot_id, team, label, description, seq, created_by, created_at_ms, contracts, artifacts, pipelines, members";

fn snapshot_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotRow> {
    Ok(SnapshotRow {
        snapshot_id: r.get(0)?,
        team: r.get(1)?,
        label: r.get(2)?,
        description: r.get(3)?,
        seq: r.get(4)?,
        created_by: r.get(5)?,
        created_at_ms: r.get(6)?,
        contracts: r.get(7)?,
        artifacts: r.get(8)?,
        pipelines: r.get(9)?,
        members: r.get(10)?,
    })
}

const STATE_COLUMNS: &str = "s.contract_id, c.assignee, c.title, c.timeout_s, s.status, s.inputs, s.retries, s.reason, s.result, s.outputs, s.updated_at_ms, s.ready_seq, s.started_at_ms, s.deadline_at_ms";

fn contract_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContractState> {
    Ok(ContractState {
        contract_id: r.get(0)?,
        assignee: r.get(1)?,
        title: r.get(2)?,
        timeout_s: r.get(3)?,
        status: r.get(4)?,
        inputs: r.get(5)?,
        retries: r.get(6)?,
        reason: r.get(7)?,
        result: r.get(8)?,
        outputs: r.get(9)?,
        updated_at_ms: r.get(10)?,
        ready_seq: r.get(11)?,
        started_at_ms: r.get(12)?,
        deadline_at_ms: r.get(13)?,
    })
}

fn pipeline_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<PipelineState> {
    Ok(PipelineState {
        pipeline_id: r.get(0)?,
        description: r.get(1)?,
        enabled: r.get(2)?,
        created_by: r.get(3)?,
        creator_bound: r.get(4)?,
        created_at_ms: r.get(5)?,
        updated_at_ms: r.get(6)?,
        rules: r.get(7)?,
    })
}

const MEMBER_COLUMNS: &str =
    "name, role, phase, isolation, repo, worktree, branch, base_commit, created_at_ms";

/// A team's rules as one JSON array per pipeline, in rule order.
const RULES_OF: &str = "(SELECT json_group_array(json_array(rule_index, trigger_type, rule))
      FROM (SELECT rule_index, trigger_type, rule FROM pipeline_rules r
            WHERE r.pipeline_id = p.pipeline_id ORDER BY rule_index))";

impl Tx<'_> {
    pub(crate) fn snapshot(&self, team: &str, label: &str) -> Result<Option<SnapshotRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE team = ?1 AND label = ?2"
            ))?
            .query_row(params![team, label], snapshot_row)
            .optional()?)
    }

    /// Records a snapshot at event `seq` and copies the team's coordination rows into it,
    /// each table in one `INSERT … SELECT` off the team indexes.
    pub(crate) fn insert_snapshot(
        &self,
        team: &str,
        label: &str,
        description: &str,
        seq: i64,
        by: &str,
    ) -> Result<SnapshotRow> {
        self.tx
            .prepare_cached(
                "INSERT INTO snapshots (team, label, description, seq, created_by, created_at_ms, contracts, artifacts, pipelines, members)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, 0)",
            )?
            .execute(params![team, label, description, seq, by, self.now_ms])?;
        let id = self.tx.last_insert_rowid();
        let contracts = self
            .tx
            .prepare_cached(
                "INSERT INTO snapshot_contracts (snapshot_id, contract_id, status, inputs, retries, reason, result, outputs, updated_at_ms, ready_seq, started_at_ms, deadline_at_ms)
                 SELECT ?1, contract_id, status, inputs, retries, reason, result, outputs, updated_at_ms, ready_seq, started_at_ms, deadline_at_ms
                 FROM contracts WHERE team = ?2",
            )?
            .execute(params![id, team])?;
        let artifacts = self
            .tx
            .prepare_cached(
                "INSERT INTO snapshot_artifacts (snapshot_id, artifact_id, version)
                 SELECT ?1, artifact_id, latest_version FROM artifacts WHERE team = ?2",
            )?
            .execute(params![id, team])?;
        let pipelines = self
            .tx
            .prepare_cached(&format!(
                "INSERT INTO snapshot_pipelines (snapshot_id, pipeline_id, description, enabled, created_by, creator_bound, created_at_ms, updated_at_ms, rules)
                 SELECT ?1, p.pipeline_id, p.description, p.enabled, p.created_by, p.creator_bound, p.created_at_ms, p.updated_at_ms, {RULES_OF}
                 FROM pipelines p WHERE p.team = ?2"
            ))?
            .execute(params![id, team])?;
        let members = self
            .tx
            .prepare_cached(&format!(
                "INSERT INTO snapshot_members (snapshot_id, {MEMBER_COLUMNS})
                 SELECT ?1, {MEMBER_COLUMNS} FROM team_members WHERE team = ?2"
            ))?
            .execute(params![id, team])?;
        self.tx
            .prepare_cached(
                "UPDATE snapshots SET contracts = ?2, artifacts = ?3, pipelines = ?4, members = ?5 WHERE snapshot_id = ?1",
            )?
            .execute(params![id, contracts as i64, artifacts as i64, pipelines as i64, members as i64])?;
        Ok(SnapshotRow {
            snapshot_id: id,
            team: team.to_string(),
            label: label.to_string(),
            description: description.to_string(),
            seq,
            created_by: by.to_string(),
            created_at_ms: self.now_ms,
            contracts: contracts as i64,
            artifacts: artifacts as i64,
            pipelines: pipelines as i64,
            members: members as i64,
        })
    }

    /// A team's snapshots in `window`, oldest first.
    pub(crate) fn list_snapshots(&self, team: &str, w: Window) -> Result<Vec<SnapshotRow>> {
        let (limit, offset) = w.sql();
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE team = ?1 ORDER BY snapshot_id LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![team, limit, offset], snapshot_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The contracts a snapshot holds, by id.
    pub(crate) fn snapshot_contracts(&self, snapshot_id: i64) -> Result<Vec<ContractState>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM snapshot_contracts s JOIN contracts c USING (contract_id)
             WHERE s.snapshot_id = ?1 ORDER BY s.contract_id"
        ))?;
        let rows = stmt.query_map([snapshot_id], contract_state)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A team's contracts as they are now, by id.
    pub(crate) fn team_contract_states(&self, team: &str) -> Result<Vec<ContractState>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM contracts s JOIN contracts c USING (contract_id)
             WHERE s.team = ?1 ORDER BY s.contract_id"
        ))?;
        let rows = stmt.query_map([team], contract_state)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Puts a contract's mutable fields back as `s` has them.
    pub(crate) fn restore_contract(&self, s: &ContractState) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE contracts SET status = ?2, inputs = ?3, retries = ?4, reason = ?5, result = ?6, outputs = ?7,
                    updated_at_ms = ?8, ready_seq = ?9, started_at_ms = ?10, deadline_at_ms = ?11
                 WHERE contract_id = ?1",
            )?
            .execute(params![
                s.contract_id, s.status, s.inputs, s.retries, s.reason, s.result, s.outputs,
                self.now_ms, s.ready_seq, s.started_at_ms, s.deadline_at_ms
            ])?;
        Ok(())
    }

    pub(crate) fn set_contract_inputs(&self, contract_id: &str, inputs: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE contracts SET inputs = ?2, updated_at_ms = ?3 WHERE contract_id = ?1")?
            .execute(params![contract_id, inputs, self.now_ms])?;
        Ok(())
    }

    /// Each artifact's current version a snapshot holds, by id.
    pub(crate) fn snapshot_artifacts(&self, snapshot_id: i64) -> Result<Vec<(String, u32)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT artifact_id, version FROM snapshot_artifacts WHERE snapshot_id = ?1 ORDER BY artifact_id",
        )?;
        let rows = stmt.query_map([snapshot_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each artifact of a team with its current version now, by id.
    pub(crate) fn team_artifact_pointers(&self, team: &str) -> Result<Vec<(String, u32)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT artifact_id, latest_version FROM artifacts WHERE team = ?1 ORDER BY artifact_id",
        )?;
        let rows = stmt.query_map([team], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Moves an artifact's current version (0: none, it did not exist yet) and what
    /// `stale_check` counts as superseded with it; the versions themselves stay.
    pub(crate) fn set_current_version(&self, artifact_id: &str, version: u32) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE artifacts SET latest_version = ?2, latest_publisher = coalesce(
                   (SELECT publisher FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2), '')
                 WHERE artifact_id = ?1",
            )?
            .execute(params![artifact_id, version])?;
        self.tx
            .prepare_cached(
                "UPDATE stale_versions SET superseded = (version <> ?2) WHERE artifact_id = ?1",
            )?
            .execute(params![artifact_id, version])?;
        Ok(())
    }

    pub(crate) fn snapshot_pipelines(&self, snapshot_id: i64) -> Result<Vec<PipelineState>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT pipeline_id, description, enabled, created_by, creator_bound, created_at_ms, updated_at_ms, rules
             FROM snapshot_pipelines WHERE snapshot_id = ?1 ORDER BY pipeline_id",
        )?;
        let rows = stmt.query_map([snapshot_id], pipeline_state)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn team_pipeline_states(&self, team: &str) -> Result<Vec<PipelineState>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT p.pipeline_id, p.description, p.enabled, p.created_by, p.creator_bound, p.created_at_ms, p.updated_at_ms, {RULES_OF}
             FROM pipelines p WHERE p.team = ?1 ORDER BY p.pipeline_id"
        ))?;
        let rows = stmt.query_map([team], pipeline_state)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn snapshot_members(&self, snapshot_id: i64, team: &str) -> Result<Vec<MemberRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM snapshot_members WHERE snapshot_id = ?1 ORDER BY name"
        ))?;
        let rows = stmt.query_map([snapshot_id], |r| {
            Ok(MemberRow {
                name: r.get(0)?,
                team: team.to_string(),
                role: r.get(1)?,
                phase: r.get(2)?,
                isolation: r.get(3)?,
                repo: r.get(4)?,
                worktree: r.get(5)?,
                branch: r.get(6)?,
                base_commit: r.get(7)?,
                created_at_ms: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Takes a member off its team's roster; its session stays.
    pub(crate) fn delete_team_member(&self, name: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM team_members WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    /// Team members stopped (or failed) while a contract of theirs is open: a team whose
    /// server died mid-run. At most 100, by team; the assignee index answers each.
    pub(crate) fn interrupted_members(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT m.team, m.name FROM team_members m JOIN sessions s ON s.name = m.name
             WHERE s.status IN ('stopped', 'failed')
               AND EXISTS (SELECT 1 FROM contracts c WHERE c.assignee = m.name AND c.status IN ('in_progress', 'ready'))
             ORDER BY m.team, m.name LIMIT 100",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
