//! SQL for lineage walks and staleness: `stale_versions`, `stale_causes`, `contract_outputs`
//! (schema v5) over `lineage_edges` and its `lineage_inputs` index.

use rusqlite::{OptionalExtension, params};

use super::{Tx, Window};
use crate::error::Result;
use crate::model::artifacts::VersionRef;

/// One stored cause of a stale version: the root input version that moved on, the input
/// of this version it is reached through (`None`: the root is a direct input), and how
/// many hops lie between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseRow {
    pub root: VersionRef,
    pub root_latest: u32,
    pub via: Option<VersionRef>,
    pub depth: u32,
}

/// One item of `stale_check`, before its causes are read.
#[derive(Debug, Clone)]
pub enum StaleRow {
    Artifact {
        at: VersionRef,
        team: String,
        since_seq: i64,
        at_ms: i64,
    },
    Contract {
        contract_id: String,
        team: String,
        title: String,
    },
}

/// A contract an artifact version touches: one it is an output of, or one that depends on
/// its artifact.
#[derive(Debug, Clone)]
pub struct TouchedContract {
    pub contract_id: String,
    pub status: String,
    pub team: String,
    pub relation: &'static str,
    pub at: VersionRef,
}

fn vref(id: String, version: u32) -> VersionRef {
    VersionRef {
        artifact_id: id,
        version,
    }
}

impl Tx<'_> {
    /// The versions `at` was derived from, ordered.
    pub(crate) fn lineage_inputs(&self, at: &VersionRef) -> Result<Vec<VersionRef>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT input_id, input_version FROM lineage_edges WHERE artifact_id = ?1 AND version = ?2 ORDER BY input_id, input_version",
        )?;
        let rows = stmt.query_map(params![at.artifact_id, at.version], |r| {
            Ok(vref(r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The versions derived from `at` (through the `lineage_inputs` index), ordered.
    pub(crate) fn lineage_consumers(&self, at: &VersionRef) -> Result<Vec<VersionRef>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT artifact_id, version FROM lineage_edges WHERE input_id = ?1 AND input_version = ?2 ORDER BY artifact_id, version",
        )?;
        let rows = stmt.query_map(params![at.artifact_id, at.version], |r| {
            Ok(vref(r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that `root` (which has a newer version) is a cause of `at`, reached through
    /// `via`; false when `at` already had `root` as a cause (the first, shortest path stays).
    pub(crate) fn insert_stale_cause(
        &self,
        at: &VersionRef,
        root: &VersionRef,
        via: Option<&VersionRef>,
        depth: u32,
    ) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO stale_causes (artifact_id, version, input_id, input_version, via_id, via_version, depth)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                at.artifact_id,
                at.version,
                root.artifact_id,
                root.version,
                via.map(|v| &v.artifact_id),
                via.map(|v| v.version),
                depth
            ])?;
        Ok(n == 1)
    }

    /// The causes of `at`'s stale inputs as its own, one hop further, shortest first so
    /// that each root keeps its shortest path (a root that is an older version of `at`'s
    /// own artifact is no cause). Returns how many were new.
    pub(crate) fn inherit_stale_causes(&self, at: &VersionRef) -> Result<usize> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO stale_causes (artifact_id, version, input_id, input_version, via_id, via_version, depth)
                 SELECT ?1, ?2, c.input_id, c.input_version, c.artifact_id, c.version, c.depth + 1
                 FROM lineage_edges e JOIN stale_causes c ON c.artifact_id = e.input_id AND c.version = e.input_version
                 WHERE e.artifact_id = ?1 AND e.version = ?2 AND c.input_id <> ?1
                 ORDER BY c.depth, c.artifact_id, c.version, c.input_id, c.input_version",
            )?
            .execute(params![at.artifact_id, at.version])?)
    }

    pub(crate) fn is_stale(&self, at: &VersionRef) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM stale_versions WHERE artifact_id = ?1 AND version = ?2")?
            .query_row(params![at.artifact_id, at.version], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Marks `at` stale as of event `seq`, superseded when it is not the current version, and
    /// flags it among the outputs of the contracts that recorded it.
    pub(crate) fn insert_stale_version(&self, at: &VersionRef, seq: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO stale_versions (artifact_id, version, team, superseded, since_seq, at_ms)
                 SELECT ?1, ?2, team, ?2 <> latest_version, ?3, ?4 FROM artifacts WHERE artifact_id = ?1",
            )?
            .execute(params![at.artifact_id, at.version, seq, self.now_ms])?;
        self.tx
            .prepare_cached(
                "UPDATE contract_outputs SET stale = 1 WHERE artifact_id = ?1 AND version = ?2",
            )?
            .execute(params![at.artifact_id, at.version])?;
        Ok(())
    }

    /// `at` is no longer its artifact's latest version.
    pub(crate) fn supersede_stale(&self, at: &VersionRef) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE stale_versions SET superseded = 1 WHERE artifact_id = ?1 AND version = ?2",
            )?
            .execute(params![at.artifact_id, at.version])?;
        Ok(())
    }

    /// The versions with a cause rooted at `root_id` (any of its versions), ordered.
    pub(crate) fn versions_caused_by(&self, root_id: &str) -> Result<Vec<VersionRef>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT DISTINCT artifact_id, version FROM stale_causes WHERE input_id = ?1 ORDER BY artifact_id, version",
        )?;
        let rows = stmt.query_map(params![root_id], |r| Ok(vref(r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a cause of `at` holds now: its root's current version is past the one used.
    /// (A rollback can take the root back to that version, or before it.)
    pub(crate) fn has_live_cause(&self, at: &VersionRef) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM stale_causes c JOIN artifacts a ON a.artifact_id = c.input_id
                 WHERE c.artifact_id = ?1 AND c.version = ?2 AND a.latest_version > c.input_version LIMIT 1",
            )?
            .query_row(params![at.artifact_id, at.version], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// `at` is not stale any more: none of its causes holds.
    pub(crate) fn unmark_stale(&self, at: &VersionRef) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM stale_versions WHERE artifact_id = ?1 AND version = ?2")?
            .execute(params![at.artifact_id, at.version])?;
        self.tx
            .prepare_cached("UPDATE contract_outputs SET stale = 0 WHERE artifact_id = ?1 AND version = ?2")?
            .execute(params![at.artifact_id, at.version])?;
        Ok(())
    }

    /// Only the current version of `artifact_id` counts as its latest among stale versions.
    pub(crate) fn resupersede_stale(&self, artifact_id: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE stale_versions SET superseded = version <> (SELECT latest_version FROM artifacts WHERE artifact_id = ?1)
                 WHERE artifact_id = ?1",
            )?
            .execute(params![artifact_id])?;
        Ok(())
    }

    /// Up to `limit` causes of `at`, shortest first, with each root's latest version.
    pub(crate) fn stale_causes(&self, at: &VersionRef, limit: u32) -> Result<Vec<CauseRow>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.input_id, c.input_version, a.latest_version, c.via_id, c.via_version, c.depth
             FROM stale_causes c JOIN artifacts a ON a.artifact_id = c.input_id
             WHERE c.artifact_id = ?1 AND c.version = ?2 AND a.latest_version > c.input_version
             ORDER BY c.depth, c.input_id, c.input_version LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![at.artifact_id, at.version, limit], |r| {
            let via_id: Option<String> = r.get(3)?;
            Ok(CauseRow {
                root: vref(r.get(0)?, r.get(1)?),
                root_latest: r.get(2)?,
                via: match via_id {
                    Some(id) => Some(vref(id, r.get(4)?)),
                    None => None,
                },
                depth: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn stale_cause_count(&self, at: &VersionRef) -> Result<u32> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM stale_causes c JOIN artifacts a ON a.artifact_id = c.input_id
                 WHERE c.artifact_id = ?1 AND c.version = ?2 AND a.latest_version > c.input_version",
            )?
            .query_row(params![at.artifact_id, at.version], |r| r.get(0))?)
    }

    /// The next hop from `at` towards `root`: the input it reached `root` through.
    pub(crate) fn stale_cause_via(
        &self,
        at: &VersionRef,
        root: &VersionRef,
    ) -> Result<Option<VersionRef>> {
        let row: Option<(Option<String>, Option<u32>)> = self
            .tx
            .prepare_cached(
                "SELECT via_id, via_version FROM stale_causes
                 WHERE artifact_id = ?1 AND version = ?2 AND input_id = ?3 AND input_version = ?4",
            )?
            .query_row(
                params![at.artifact_id, at.version, root.artifact_id, root.version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((Some(id), Some(v))) => Some(vref(id, v)),
            _ => None,
        })
    }

    /// One page of what is stale: the latest versions (by team, then artifact), then the
    /// completed contracts with a stale output (by contract). Each half reads its page off
    /// an index in that order.
    pub(crate) fn stale_page(&self, team: Option<&str>, window: Window) -> Result<Vec<StaleRow>> {
        let (limit, offset) = window.sql();
        let team_clause = if team.is_some() {
            "AND team = ?3"
        } else {
            "AND ?3 IS NULL"
        };
        let contract_team = if team.is_some() {
            "AND c.team = ?3"
        } else {
            "AND ?3 IS NULL"
        };
        let sql = format!(
            "SELECT 0 AS k, team, artifact_id AS id, version, since_seq, at_ms, NULL AS title
               FROM stale_versions WHERE superseded = 0 {team_clause}
             UNION ALL
             SELECT 1, c.team, c.contract_id, NULL, NULL, NULL, c.title
               FROM contracts c
              WHERE c.status = 'completed' {contract_team}
                AND c.contract_id IN (SELECT contract_id FROM contract_outputs WHERE stale = 1)
             ORDER BY k, team, id LIMIT ?1 OFFSET ?2"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![limit, offset, team], |r| {
            let k: i64 = r.get(0)?;
            Ok(if k == 0 {
                StaleRow::Artifact {
                    team: r.get(1)?,
                    at: vref(r.get(2)?, r.get(3)?),
                    since_seq: r.get(4)?,
                    at_ms: r.get(5)?,
                }
            } else {
                StaleRow::Contract {
                    team: r.get(1)?,
                    contract_id: r.get(2)?,
                    title: r.get(6)?,
                }
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The outputs of `contract_id` that are stale.
    pub(crate) fn stale_outputs(&self, contract_id: &str) -> Result<Vec<VersionRef>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT artifact_id, version FROM contract_outputs WHERE contract_id = ?1 AND stale = 1 ORDER BY artifact_id, version",
        )?;
        let rows = stmt.query_map([contract_id], |r| Ok(vref(r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces the recorded outputs of `contract_id` (it just completed), each flagged
    /// stale when its version already is.
    pub(crate) fn set_contract_outputs(
        &self,
        contract_id: &str,
        outputs: &[VersionRef],
    ) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM contract_outputs WHERE contract_id = ?1")?
            .execute([contract_id])?;
        let mut insert = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO contract_outputs (contract_id, artifact_id, version, stale)
             VALUES (?1, ?2, ?3, EXISTS (SELECT 1 FROM stale_versions WHERE artifact_id = ?2 AND version = ?3))",
        )?;
        for o in outputs {
            insert.execute(params![contract_id, o.artifact_id, o.version])?;
        }
        Ok(())
    }

    /// The contracts `at` is an output of, and those depending on its artifact.
    pub(crate) fn contracts_touching(&self, at: &VersionRef) -> Result<Vec<TouchedContract>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.contract_id, c.status, c.team, 0 FROM contract_outputs o JOIN contracts c USING (contract_id)
              WHERE o.artifact_id = ?1 AND o.version = ?2
             UNION
             SELECT c.contract_id, c.status, c.team, 1 FROM contract_dependencies d JOIN contracts c USING (contract_id)
              WHERE d.kind = 'artifact' AND d.target_id = ?1 AND d.min_version <= ?2
             ORDER BY 4, 1 LIMIT 100",
        )?;
        let rows = stmt.query_map(params![at.artifact_id, at.version], |r| {
            Ok(TouchedContract {
                contract_id: r.get(0)?,
                status: r.get(1)?,
                team: r.get(2)?,
                relation: if r.get::<_, i64>(3)? == 0 {
                    "output"
                } else {
                    "dependency"
                },
                at: at.clone(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Who read `at` (at most 100 readers), each with its last read.
    pub(crate) fn version_readers(&self, at: &VersionRef) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT reader, max(read_at_ms) FROM artifact_reads WHERE artifact_id = ?1 AND version = ?2
             GROUP BY reader ORDER BY reader LIMIT 100",
        )?;
        let rows = stmt.query_map(params![at.artifact_id, at.version], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
