//! The decision journal and its full-text index.

use rusqlite::params;

use super::{Tx, Window};
use crate::error::Result;

/// A decision as stored; the list columns are JSON.
#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub decision_id: i64,
    pub team: String,
    pub what: String,
    pub why: String,
    pub alternatives: String,
    pub tags: String,
    pub project: String,
    pub files: String,
    pub artifacts: String,
    pub recorded_by: String,
    pub recorded_at_ms: i64,
    pub seq: i64,
}

const COLUMNS: &str = "d.decision_id, d.team, d.what, d.why, d.alternatives, d.tags, d.project, d.files, d.artifacts, d.recorded_by, d.recorded_at_ms, d.seq";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        decision_id: r.get(0)?,
        team: r.get(1)?,
        what: r.get(2)?,
        why: r.get(3)?,
        alternatives: r.get(4)?,
        tags: r.get(5)?,
        project: r.get(6)?,
        files: r.get(7)?,
        artifacts: r.get(8)?,
        recorded_by: r.get(9)?,
        recorded_at_ms: r.get(10)?,
        seq: r.get(11)?,
    })
}

/// A decision about to be written; `search_text` are the words the index gets for
/// alternatives and tags (plain text, not JSON).
pub struct NewDecision<'a> {
    pub team: &'a str,
    pub what: &'a str,
    pub why: &'a str,
    pub alternatives: String,
    pub tags: String,
    pub project: &'a str,
    pub files: String,
    pub artifacts: String,
    pub recorded_by: &'a str,
    pub seq: i64,
    pub alternatives_text: String,
    pub tags_text: String,
}

impl Tx<'_> {
    pub(crate) fn insert_decision(&self, d: &NewDecision<'_>) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO decisions (team, what, why, alternatives, tags, project, files, artifacts, recorded_by, recorded_at_ms, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                d.team, d.what, d.why, d.alternatives, d.tags, d.project, d.files, d.artifacts,
                d.recorded_by, self.now_ms, d.seq
            ])?;
        let id = self.tx.last_insert_rowid();
        self.tx
            .prepare_cached(
                "INSERT INTO decisions_fts (rowid, what, why, alternatives, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![id, d.what, d.why, d.alternatives_text, d.tags_text])?;
        Ok(id)
    }

    pub(crate) fn decision(&self, id: i64) -> Result<Option<DecisionRow>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM decisions d WHERE d.decision_id = ?1"))?
            .query_row([id], row)
            .optional()?)
    }

    /// `team`'s decisions, newest first, through `decisions_team`.
    pub(crate) fn decisions(&self, team: &str, w: Window) -> Result<Vec<DecisionRow>> {
        let (limit, offset) = w.sql();
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM decisions d WHERE d.team = ?1
             ORDER BY d.decision_id DESC LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![team, limit, offset], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `team`'s decisions matching the FTS5 query `fts`, best match first.
    pub(crate) fn search_decisions(&self, team: &str, fts: &str, w: Window) -> Result<Vec<DecisionRow>> {
        let (limit, offset) = w.sql();
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM decisions_fts f JOIN decisions d ON d.decision_id = f.rowid
             WHERE decisions_fts MATCH ?1 AND d.team = ?2
             ORDER BY f.rank, d.decision_id DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = stmt.query_map(params![fts, team, limit, offset], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A pattern as stored; `tags` is JSON.
#[derive(Debug, Clone)]
pub struct PatternRow {
    pub team: String,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub body: String,
    pub tags: String,
    pub registered_by: String,
    pub registered_at_ms: i64,
    pub seq: i64,
}

const PATTERN_COLUMNS: &str =
    "team, name, version, description, body, tags, registered_by, registered_at_ms, seq";

fn pattern_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PatternRow> {
    Ok(PatternRow {
        team: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        description: r.get(3)?,
        body: r.get(4)?,
        tags: r.get(5)?,
        registered_by: r.get(6)?,
        registered_at_ms: r.get(7)?,
        seq: r.get(8)?,
    })
}

impl Tx<'_> {
    /// Writes `p` as its name's next version (1 when new); returns that version.
    pub(crate) fn upsert_pattern(&self, p: &PatternRow) -> Result<u32> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "INSERT INTO patterns ({PATTERN_COLUMNS}) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (team, name) DO UPDATE SET version = version + 1,
                   description = excluded.description, body = excluded.body, tags = excluded.tags,
                   registered_by = excluded.registered_by, registered_at_ms = excluded.registered_at_ms,
                   seq = excluded.seq
                 RETURNING version"
            ))?
            .query_row(
                params![p.team, p.name, p.description, p.body, p.tags, p.registered_by, self.now_ms, p.seq],
                |r| r.get(0),
            )?)
    }

    pub(crate) fn pattern(&self, team: &str, name: &str) -> Result<Option<PatternRow>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT {PATTERN_COLUMNS} FROM patterns WHERE team = ?1 AND name = ?2"))?
            .query_row([team, name], pattern_row)
            .optional()?)
    }

    /// `team`'s patterns by name, off the primary key.
    pub(crate) fn patterns(&self, team: &str, w: Window) -> Result<Vec<PatternRow>> {
        let (limit, offset) = w.sql();
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {PATTERN_COLUMNS} FROM patterns WHERE team = ?1 ORDER BY name LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![team, limit, offset], pattern_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
