//! SQL for pipelines, their rules, their firings and the events firings caused.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{Filters, Tx, Window, json_col};
use crate::error::{Error, Result};
use crate::model::pipelines::{Firing, Outcome, Row};

/// A rule as the pipelines reaction reads it, with what it needs of its pipeline.
pub struct StoredRule {
    pub pipeline_id: String,
    pub rule_index: u32,
    /// The rule's JSON, as given.
    pub rule: String,
    pub team: String,
    pub created_by: String,
    pub creator_bound: bool,
}

/// A firing about to be logged.
pub struct NewFiring<'a> {
    pub pipeline_id: &'a str,
    /// `None` on a skipped row (it lists its rules in `detail`).
    pub rule_index: Option<u32>,
    pub rule_name: Option<&'a str>,
    pub seq: i64,
    pub event_kind: &'a str,
    pub depth: u32,
    pub condition: Option<bool>,
    pub outcome: &'a str,
    /// JSON text: the commands run, or the error (a skipped row is built as text, cheaply).
    pub detail: &'a str,
    pub receipt: Option<&'a Value>,
}

const PIPELINE_COLUMNS: &str =
    "pipeline_id, team, description, enabled, created_by, creator_bound, created_at_ms, updated_at_ms";

fn pipeline_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        pipeline_id: r.get(0)?,
        team: r.get(1)?,
        description: r.get(2)?,
        enabled: r.get(3)?,
        created_by: r.get(4)?,
        creator_bound: r.get(5)?,
        created_at_ms: r.get(6)?,
        updated_at_ms: r.get(7)?,
    })
}

const FIRING_COLUMNS: &str = "id, pipeline_id, rule_index, rule_name, seq, event_kind, depth, condition, outcome, detail, receipt, at_ms";

impl Tx<'_> {
    pub(crate) fn insert_pipeline(&self, p: &Row) -> Result<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO pipelines ({PIPELINE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                p.pipeline_id,
                p.team,
                p.description,
                p.enabled,
                p.created_by,
                p.creator_bound,
                p.created_at_ms,
                p.updated_at_ms
            ])?;
        Ok(())
    }

    pub(crate) fn insert_pipeline_rule(
        &self,
        pipeline_id: &str,
        index: u32,
        trigger_type: &str,
        enabled: bool,
        rule: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO pipeline_rules (pipeline_id, rule_index, trigger_type, enabled, rule) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![pipeline_id, index, trigger_type, enabled, rule])?;
        Ok(())
    }

    /// Removes a pipeline and its rules (its firings stay, as history).
    pub(crate) fn delete_pipeline(&self, pipeline_id: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM pipeline_rules WHERE pipeline_id = ?1")?
            .execute(params![pipeline_id])?;
        self.tx
            .prepare_cached("DELETE FROM pipelines WHERE pipeline_id = ?1")?
            .execute(params![pipeline_id])?;
        Ok(())
    }

    pub(crate) fn pipeline(&self, pipeline_id: &str) -> Result<Option<Row>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE pipeline_id = ?1"
            ))?
            .query_row(params![pipeline_id], pipeline_from_row)
            .optional()?)
    }

    pub(crate) fn set_pipeline_enabled(&self, pipeline_id: &str, enabled: bool) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE pipelines SET enabled = ?2, updated_at_ms = ?3 WHERE pipeline_id = ?1",
            )?
            .execute(params![pipeline_id, enabled, self.now_ms])?;
        self.tx
            .prepare_cached("UPDATE pipeline_rules SET enabled = ?2 WHERE pipeline_id = ?1")?
            .execute(params![pipeline_id, enabled])?;
        Ok(())
    }

    /// A pipeline's rules, in order: index and JSON.
    pub(crate) fn pipeline_rules(&self, pipeline_id: &str) -> Result<Vec<(u32, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT rule_index, rule FROM pipeline_rules WHERE pipeline_id = ?1 ORDER BY rule_index",
        )?;
        let rows = stmt.query_map(params![pipeline_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn list_pipelines(&self, team: Option<&str>, w: Window) -> Result<Vec<Row>> {
        let (clauses, values) = Filters::default()
            .eq("team", team)
            .sql("pipeline_id", w);
        let sql = format!("SELECT {PIPELINE_COLUMNS} FROM pipelines {clauses}");
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), pipeline_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The enabled rules of one trigger type, by index, in pipeline and rule order.
    /// The rules' revision: `(epoch, rev)`, which changes with every write to `pipelines`
    /// or `pipeline_rules` (schema v11's triggers), so rules read at one revision may be
    /// kept until it moves.
    pub(crate) fn pipeline_revision(&self) -> Result<(i64, i64)> {
        Ok(self
            .tx
            .prepare_cached("SELECT epoch, rev FROM pipeline_revision WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    pub(crate) fn rules_for_trigger(&self, trigger_type: &str) -> Result<Vec<StoredRule>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT r.pipeline_id, r.rule_index, r.rule, p.team, p.created_by, p.creator_bound
             FROM pipeline_rules r JOIN pipelines p USING (pipeline_id)
             WHERE r.trigger_type = ?1 AND r.enabled = 1
             ORDER BY r.pipeline_id, r.rule_index",
        )?;
        let rows = stmt.query_map(params![trigger_type], |r| {
            Ok(StoredRule {
                pipeline_id: r.get(0)?,
                rule_index: r.get(1)?,
                rule: r.get(2)?,
                team: r.get(3)?,
                created_by: r.get(4)?,
                creator_bound: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn insert_firing(&self, f: &NewFiring<'_>) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO pipeline_firings (pipeline_id, rule_index, rule_name, seq, event_kind, depth, condition, outcome, detail, receipt, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                f.pipeline_id,
                f.rule_index,
                f.rule_name,
                f.seq,
                f.event_kind,
                f.depth,
                f.condition,
                f.outcome,
                f.detail,
                f.receipt.map(|r| r.to_string()),
                self.now_ms
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Firings newest first, optionally of one pipeline and one outcome.
    pub(crate) fn pipeline_firings(
        &self,
        pipeline_id: Option<&str>,
        outcome: Option<Outcome>,
        w: Window,
    ) -> Result<Vec<Firing>> {
        let (clauses, values) = Filters::default()
            .eq("pipeline_id", pipeline_id)
            .eq("outcome", outcome.map(|o| o.as_str()))
            .sql("id DESC", w);
        let sql = format!("SELECT {FIRING_COLUMNS} FROM pipeline_firings {clauses}");
        self.firings_where(&sql, rusqlite::params_from_iter(values))
    }

    /// The latest `n` firings that failed, were refused or stopped a cascade.
    pub(crate) fn problem_firings(&self, n: u32) -> Result<Vec<Firing>> {
        let sql = format!(
            "SELECT {FIRING_COLUMNS} FROM pipeline_firings
             WHERE outcome IN ('failed', 'refused', 'cascade_stopped') ORDER BY id DESC LIMIT {n}"
        );
        self.firings_where(&sql, [])
    }

    fn firings_where(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Firing>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<u32>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ),
                (
                    r.get::<_, u32>(6)?,
                    r.get::<_, Option<bool>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, i64>(11)?,
                ),
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let ((id, pipeline_id, rule_index, rule, seq, event_kind), (depth, condition, outcome, detail, receipt, at_ms)) = row?;
            out.push(Firing {
                id,
                pipeline_id,
                rule_index,
                rule,
                seq,
                event_kind,
                depth,
                condition,
                outcome: Outcome::parse(&outcome)
                    .ok_or_else(|| Error::Corrupt(format!("firing {id}: outcome `{outcome}`")))?,
                detail: json_col(&detail)?,
                receipt: receipt.as_deref().map(json_col).transpose()?,
                at: crate::time::rfc3339(at_ms),
            });
        }
        Ok(out)
    }

    /// The firing that appended event `seq`, and its depth; `None` for an event no rule caused.
    pub(crate) fn event_cause(&self, seq: i64) -> Result<Option<(i64, u32)>> {
        Ok(self
            .tx
            .prepare_cached("SELECT firing_id, depth FROM event_causes WHERE seq = ?1")?
            .query_row(params![seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    pub(crate) fn insert_event_cause(&self, seq: i64, firing_id: i64, depth: u32) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO event_causes (seq, firing_id, depth) VALUES (?1, ?2, ?3)")?
            .execute(params![seq, firing_id, depth])?;
        Ok(())
    }

    /// Which rule a firing was and what it fired on: pipeline, rule name, event seq and kind.
    pub(crate) fn firing_origin(&self, id: i64) -> Result<Option<(String, Option<String>, i64, String)>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT pipeline_id, rule_name, seq, event_kind FROM pipeline_firings WHERE id = ?1",
            )?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?)
    }

    /// Starts a savepoint: what follows can be undone alone (a pipeline action that fails).
    pub(crate) fn savepoint(&self) -> Result<()> {
        self.tx.prepare_cached("SAVEPOINT pipeline_action")?.execute([])?;
        self.savepoint_appended.set(Some(self.appended.borrow().len()));
        Ok(())
    }

    pub(crate) fn release_savepoint(&self) -> Result<()> {
        self.tx.prepare_cached("RELEASE pipeline_action")?.execute([])?;
        self.savepoint_appended.set(None);
        Ok(())
    }

    /// Undoes everything since [`Tx::savepoint`] and ends it, the events it appended
    /// included: the reactions never see them.
    pub(crate) fn rollback_to_savepoint(&self) -> Result<()> {
        self.tx.prepare_cached("ROLLBACK TO pipeline_action")?.execute([])?;
        if let Some(n) = self.savepoint_appended.get() {
            self.appended.borrow_mut().truncate(n);
        }
        self.release_savepoint()?;
        Ok(())
    }

    /// How many pipelines there are, and how many are enabled.
    pub(crate) fn pipeline_counts(&self) -> Result<(i64, i64)> {
        Ok(self.tx.prepare_cached(
            "SELECT count(*), coalesce(sum(enabled), 0) FROM pipelines",
        )?.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }
}
