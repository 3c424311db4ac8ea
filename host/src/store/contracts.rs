//! SQL for contracts, their dependencies and expected outputs.

use rusqlite::{OptionalExtension, params};

use super::{Filters, Tx, json_col};
use crate::error::{Error, Result};
use crate::model::artifacts::VersionRef;
use crate::model::contracts::{Dependency, DependencyKind, ExpectedOutput, Priority, Row, Status};

pub struct ContractFilter<'a> {
    pub assignee: Option<&'a str>,
    pub assigner: Option<&'a str>,
    pub status: Option<Status>,
    pub team: Option<&'a str>,
    pub window: super::Window,
}

/// What a page of contracts depends on ([`Tx::related`]).
#[derive(Default)]
pub(crate) struct Related {
    pub dependencies: std::collections::HashMap<String, Vec<(Dependency, Target)>>,
    pub outputs: std::collections::HashMap<String, Vec<ExpectedOutput>>,
}

/// The state of what a dependency waits for: a contract's status, an artifact's latest
/// version (`None` when it does not exist).
pub(crate) struct Target {
    pub contract_status: Option<Status>,
    pub latest_version: Option<u32>,
}

const COLUMNS: &str =
    "contract_id, title, description, assignee, assigner, team, status, priority, inputs,
    acceptance_criteria, timeout_s, max_retries, retries, reason, result, outputs, created_at_ms,
    updated_at_ms, ready_seq, started_at_ms, deadline_at_ms";

type RawRow = (
    (String, String, String, String, String, String, String),
    (
        i64,
        String,
        String,
        Option<i64>,
        Option<u32>,
        u32,
        Option<String>,
    ),
    (
        Option<String>,
        Option<String>,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    ),
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ),
        (
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
        ),
        (
            r.get(14)?,
            r.get(15)?,
            r.get(16)?,
            r.get(17)?,
            r.get(18)?,
            r.get(19)?,
            r.get(20)?,
        ),
    ))
}

fn decode(raw: RawRow) -> Result<Row> {
    let (
        (contract_id, title, description, assignee, assigner, team, status),
        (priority, inputs, criteria, timeout_s, max_retries, retries, reason),
        (result, outputs, created, updated, ready_seq, started, deadline),
    ) = raw;
    let criteria = json_col(&criteria)?;
    let outputs = outputs.as_deref().map(json_col).transpose()?;
    Ok(Row {
        contract_id,
        title,
        description,
        assignee,
        assigner,
        team,
        status: Status::parse(&status)?,
        priority: Priority::from_rank(priority),
        inputs: json_col(&inputs)?,
        acceptance_criteria: serde_json::from_value(criteria)
            .map_err(|e| Error::Corrupt(format!("acceptance_criteria: {e}")))?,
        timeout_s: timeout_s.map(|t| t as u64),
        max_retries,
        retries,
        reason,
        result: result.as_deref().map(json_col).transpose()?,
        outputs: outputs
            .map(serde_json::from_value::<Vec<VersionRef>>)
            .transpose()
            .map_err(|e| Error::Corrupt(format!("outputs: {e}")))?,
        created_at_ms: created,
        updated_at_ms: updated,
        ready_seq,
        started_at_ms: started,
        deadline_at_ms: deadline,
    })
}

impl Tx<'_> {
    pub(crate) fn contract(&self, contract_id: &str) -> Result<Option<Row>> {
        let sql = format!("SELECT {COLUMNS} FROM contracts WHERE contract_id = ?1");
        let raw = self
            .tx
            .prepare_cached(&sql)?
            .query_row([contract_id], raw)
            .optional()?;
        raw.map(decode).transpose()
    }

    pub(crate) fn insert_contract(
        &self,
        row: &Row,
        dependencies: &[Dependency],
        outputs: &[ExpectedOutput],
    ) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO contracts (contract_id, title, description, assignee, assigner, team, status, priority,
                inputs, acceptance_criteria, timeout_s, max_retries, retries, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?13)",
        )?
        .execute(params![
            row.contract_id,
            row.title,
            row.description,
            row.assignee,
            row.assigner,
            row.team,
            row.status.as_str(),
            row.priority.rank(),
            row.inputs.to_string(),
            serde_json::to_string(&row.acceptance_criteria).expect("strings serialize"),
            row.timeout_s.map(|t| t as i64),
            row.max_retries,
            row.created_at_ms,
        ])?;
        for (i, d) in dependencies.iter().enumerate() {
            self.tx.prepare_cached(
                "INSERT INTO contract_dependencies (contract_id, position, kind, target_id, min_version) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![row.contract_id, i as i64, d.kind.as_str(), d.id, d.min_version.unwrap_or(1)])?;
        }
        for (i, o) in outputs.iter().enumerate() {
            self.tx.prepare_cached(
                "INSERT INTO contract_expected_outputs (contract_id, position, artifact_type, artifact_id, required) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![row.contract_id, i as i64, o.artifact_type, o.artifact_id, o.required])?;
        }
        Ok(())
    }

    /// Saves every mutable field of a contract.
    pub(crate) fn update_contract(&self, row: &Row) -> Result<()> {
        self.tx.prepare_cached(
            "UPDATE contracts SET status = ?2, retries = ?3, reason = ?4, result = ?5, outputs = ?6,
                updated_at_ms = ?7, ready_seq = ?8, started_at_ms = ?9, deadline_at_ms = ?10
             WHERE contract_id = ?1",
        )?
        .execute(params![
            row.contract_id,
            row.status.as_str(),
            row.retries,
            row.reason,
            row.result.as_ref().map(|v| v.to_string()),
            row.outputs.as_ref().map(|o| serde_json::to_string(o).expect("refs serialize")),
            row.updated_at_ms,
            row.ready_seq,
            row.started_at_ms,
            row.deadline_at_ms,
        ])?;
        Ok(())
    }

    /// The dependencies of every contract in `ids`, each with the state of what it waits
    /// for, and their expected outputs: two queries for a whole page, whatever its size.
    pub(crate) fn related(&self, ids: &[&str]) -> Result<Related> {
        let ids = serde_json::to_string(ids).expect("ids serialize");
        let mut related = Related::default();
        let mut stmt = self.tx.prepare_cached(
            "SELECT d.contract_id, d.kind, d.target_id, d.min_version, x.status, a.latest_version
             FROM json_each(?1) j
             JOIN contract_dependencies d ON d.contract_id = j.value
             LEFT JOIN contracts x ON d.kind = 'contract' AND x.contract_id = d.target_id
             LEFT JOIN artifacts a ON d.kind = 'artifact' AND a.artifact_id = d.target_id
             ORDER BY j.key, d.position",
        )?;
        let rows = stmt.query_map([&ids], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<u32>>(5)?,
            ))
        })?;
        for row in rows {
            let (contract_id, kind, id, min, status, latest) = row?;
            let kind = if kind == "contract" {
                DependencyKind::Contract
            } else {
                DependencyKind::Artifact
            };
            let target = Target {
                contract_status: status.as_deref().map(Status::parse).transpose()?,
                // Current version 0: rolled back to before its first version, as if unpublished.
                latest_version: latest.filter(|&v| v > 0),
            };
            let dependency = Dependency {
                kind,
                id,
                min_version: (kind == DependencyKind::Artifact).then_some(min),
            };
            related
                .dependencies
                .entry(contract_id)
                .or_default()
                .push((dependency, target));
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT o.contract_id, o.artifact_type, o.artifact_id, o.required
             FROM json_each(?1) j JOIN contract_expected_outputs o ON o.contract_id = j.value
             ORDER BY j.key, o.position",
        )?;
        let rows = stmt.query_map([&ids], |r| {
            Ok((
                r.get::<_, String>(0)?,
                ExpectedOutput {
                    artifact_type: r.get(1)?,
                    artifact_id: r.get(2)?,
                    required: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (contract_id, output) = row?;
            related.outputs.entry(contract_id).or_default().push(output);
        }
        Ok(related)
    }

    /// IDs of the contracts `contract_id` depends on.
    pub(crate) fn contract_dependency_ids(&self, contract_id: &str) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT target_id FROM contract_dependencies WHERE contract_id = ?1 AND kind = 'contract'",
        )?;
        let rows = stmt.query_map([contract_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn expected_outputs(&self, contract_id: &str) -> Result<Vec<ExpectedOutput>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT artifact_type, artifact_id, required FROM contract_expected_outputs WHERE contract_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([contract_id], |r| {
            Ok(ExpectedOutput {
                artifact_type: r.get(0)?,
                artifact_id: r.get(1)?,
                required: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Pending contracts that depend on the artifact or contract `target_id`, through the
    /// dependency index: what a publish or a completion may have made ready.
    pub(crate) fn pending_dependents(
        &self,
        kind: DependencyKind,
        target_id: &str,
    ) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT DISTINCT d.contract_id FROM contract_dependencies d
             JOIN contracts c ON c.contract_id = d.contract_id
             WHERE d.kind = ?1 AND d.target_id = ?2 AND c.status = 'pending'",
        )?;
        let rows = stmt.query_map(params![kind.as_str(), target_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Contract `contract_id` if it is pending and every dependency of it now holds.
    pub(crate) fn ready_candidate(&self, contract_id: &str) -> Result<Option<Row>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM contracts c WHERE c.contract_id = ?1 AND c.status = 'pending' AND NOT EXISTS (
                SELECT 1 FROM contract_dependencies d WHERE d.contract_id = c.contract_id AND (
                  (d.kind = 'contract' AND NOT EXISTS (
                      SELECT 1 FROM contracts x WHERE x.contract_id = d.target_id AND x.status = 'completed'))
                  OR (d.kind = 'artifact' AND NOT EXISTS (
                      SELECT 1 FROM artifacts a WHERE a.artifact_id = d.target_id AND a.latest_version >= d.min_version))))"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let row = stmt.query_row([contract_id], raw).optional()?;
        row.map(decode).transpose()
    }

    /// In-progress contracts whose deadline has passed.
    pub(crate) fn overdue_contracts(&self) -> Result<Vec<Row>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM contracts WHERE status = 'in_progress' AND deadline_at_ms IS NOT NULL AND deadline_at_ms <= ?1 ORDER BY deadline_at_ms"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([self.now_ms], raw)?;
        rows.map(|r| decode(r?)).collect()
    }

    pub(crate) fn has_overdue_contracts(&self) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM contracts WHERE status = 'in_progress' AND deadline_at_ms IS NOT NULL AND deadline_at_ms <= ?1 LIMIT 1",
            )?
            .query_row([self.now_ms], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// One page in rank order, read straight off the `contracts_*_rank` indexes.
    pub(crate) fn list_contracts(&self, f: &ContractFilter<'_>) -> Result<Vec<Row>> {
        let (clauses, values) = Filters::default()
            .eq("status", f.status.map(Status::as_str))
            .eq("assignee", f.assignee)
            .eq("assigner", f.assigner)
            .eq("team", f.team)
            .sql("priority DESC, created_at_ms, contract_id", f.window);
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM contracts {clauses}"))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), raw)?;
        rows.map(|r| decode(r?)).collect()
    }

    /// Contracts per status.
    pub(crate) fn contract_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT status, count(*) FROM contracts GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
