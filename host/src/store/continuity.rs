//! Continuity checkpoints, and the artifact versions published after one.

use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::error::Result;

/// A checkpoint as stored; `state` is the JSON `continuity::State`.
#[derive(Debug, Clone)]
pub struct CheckpointRow {
    pub id: i64,
    pub project: String,
    pub session_id: String,
    pub trigger: String,
    pub at_ms: i64,
    pub last_seq: i64,
    pub state: String,
}

/// An artifact version published after some `seq`.
#[derive(Debug, Clone)]
pub struct NewVersionRow {
    pub artifact_id: String,
    pub version: u32,
    pub artifact_type: String,
    pub publisher: String,
    pub summary: Option<String>,
    pub seq: i64,
}

impl Tx<'_> {
    pub(crate) fn insert_checkpoint(
        &self,
        project: &str,
        session_id: &str,
        trigger: &str,
        last_seq: i64,
        state: &str,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO checkpoints (project, session_id, trigger, at_ms, last_seq, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![project, session_id, trigger, self.now_ms, last_seq, state])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The project's latest checkpoint (through `checkpoints_project`).
    pub(crate) fn last_checkpoint(&self, project: &str) -> Result<Option<CheckpointRow>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, project, session_id, trigger, at_ms, last_seq, state FROM checkpoints
                 WHERE project = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([project], |r| {
                Ok(CheckpointRow {
                    id: r.get(0)?,
                    project: r.get(1)?,
                    session_id: r.get(2)?,
                    trigger: r.get(3)?,
                    at_ms: r.get(4)?,
                    last_seq: r.get(5)?,
                    state: r.get(6)?,
                })
            })
            .optional()?)
    }

    /// Versions of `team`'s artifacts published after `seq`, oldest first, at most
    /// `limit` + 1 (so the caller knows there are more); off `artifact_versions_seq`.
    pub(crate) fn versions_since(&self, team: &str, seq: i64, limit: u32) -> Result<Vec<NewVersionRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT v.artifact_id, v.version, a.type, v.publisher, v.summary, v.seq
             FROM artifact_versions v JOIN artifacts a ON a.artifact_id = v.artifact_id
             WHERE v.seq > ?1 AND a.team = ?2 ORDER BY v.seq LIMIT {}",
            limit + 1
        ))?;
        let rows = stmt.query_map(params![seq, team], |r| {
            Ok(NewVersionRow {
                artifact_id: r.get(0)?,
                version: r.get(1)?,
                artifact_type: r.get(2)?,
                publisher: r.get(3)?,
                summary: r.get(4)?,
                seq: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
