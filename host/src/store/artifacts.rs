//! SQL for artifacts, versions, lineage edges and reads.

use rusqlite::{OptionalExtension, Row, params};

use super::{Filters, Tx, json_col};
use crate::error::Result;
use crate::model::artifacts::{Head, NewVersion, Read, Version, VersionRef};

pub struct ArtifactFilter<'a> {
    pub artifact_type: Option<&'a str>,
    pub publisher: Option<&'a str>,
    pub team: Option<&'a str>,
    pub window: super::Window,
}

const VERSION_COLUMNS: &str = "v.artifact_id, a.type, a.team, v.version, a.latest_version, v.sha256, v.summary, v.publisher, v.published_at_ms, v.seq";

impl Tx<'_> {
    /// Whether any artifact has type `artifact_type` (by the type index).
    pub(crate) fn type_in_use(&self, artifact_type: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM artifacts WHERE type = ?1 LIMIT 1")?
            .query_row([artifact_type], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub(crate) fn artifact_head(&self, artifact_id: &str) -> Result<Option<Head>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT type, team, latest_version, max_version FROM artifacts WHERE artifact_id = ?1",
            )?
            .query_row([artifact_id], |r| {
                Ok(Head {
                    artifact_type: r.get(0)?,
                    team: r.get(1)?,
                    latest_version: r.get(2)?,
                    max_version: r.get(3)?,
                })
            })
            .optional()?)
    }

    pub(crate) fn insert_artifact(
        &self,
        id: &str,
        artifact_type: &str,
        team: &str,
        by: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO artifacts (artifact_id, type, team, created_by, created_at_ms, latest_version, max_version) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0)",
            )?
            .execute(params![id, artifact_type, team, by, self.now_ms])?;
        Ok(())
    }

    /// Inserts an immutable version and makes it the artifact's current and highest one.
    /// It must follow the highest (a rollback may have moved the current one back); the
    /// primary key refuses a second writer of the same number.
    pub(crate) fn insert_version(&self, v: &NewVersion<'_>) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO artifact_versions (artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                v.artifact_id, v.version, v.data, v.sha256, v.summary, v.publisher, self.now_ms, v.seq
            ])?;
        let updated = self
            .tx
            .prepare_cached(
                "UPDATE artifacts SET latest_version = ?2, max_version = ?2 WHERE artifact_id = ?1 AND max_version = ?2 - 1",
            )?
            .execute(params![v.artifact_id, v.version])?;
        if updated != 1 {
            return Err(crate::error::Error::Corrupt(format!(
                "artifact `{}`: version {} does not follow the highest",
                v.artifact_id, v.version
            )));
        }
        // A statement of its own, so a publisher publishing again (nearly always) leaves
        // the publisher index's page alone: SQLite rewrites an index whose column the SET
        // names, whatever the value.
        self.tx
            .prepare_cached(
                "UPDATE artifacts SET latest_publisher = ?2 WHERE artifact_id = ?1 AND latest_publisher <> ?2",
            )?
            .execute(params![v.artifact_id, v.publisher])?;
        Ok(())
    }

    pub(crate) fn insert_lineage_edge(
        &self,
        artifact_id: &str,
        version: u32,
        input: &VersionRef,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO lineage_edges (artifact_id, version, input_id, input_version) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![artifact_id, version, input.artifact_id, input.version])?;
        Ok(())
    }

    pub(crate) fn version_exists(&self, artifact_id: &str, version: u32) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2",
            )?
            .query_row(params![artifact_id, version], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// One version, with its data when `with_data`.
    pub(crate) fn version(
        &self,
        artifact_id: &str,
        version: u32,
        with_data: bool,
    ) -> Result<Option<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, {} FROM artifact_versions v JOIN artifacts a USING (artifact_id)
             WHERE v.artifact_id = ?1 AND v.version = ?2",
            if with_data { "v.data" } else { "NULL" }
        );
        let row = self
            .tx
            .prepare_cached(&sql)?
            .query_row(params![artifact_id, version], |r| {
                Ok((version_from_row(r)?, r.get::<_, Option<String>>(10)?))
            })
            .optional()?;
        let Some((mut v, data)) = row else {
            return Ok(None);
        };
        v.data = data.as_deref().map(json_col).transpose()?;
        v.derived_from = self.inputs_of(artifact_id, version)?;
        Ok(Some(v))
    }

    /// Sets `derived_from` of every version in a page, in one query for all of them.
    fn fill_inputs(&self, versions: &mut [Version]) -> Result<()> {
        let keys: Vec<(&str, u32)> = versions
            .iter()
            .map(|v| (v.artifact_id.as_str(), v.version))
            .collect();
        let keys = serde_json::to_string(&keys).expect("keys serialize");
        let mut stmt = self.tx.prepare_cached(
            "SELECT j.key, e.input_id, e.input_version FROM json_each(?1) j
             JOIN lineage_edges e
               ON e.artifact_id = json_extract(j.value, '$[0]') AND e.version = json_extract(j.value, '$[1]')
             ORDER BY j.key, e.input_id, e.input_version",
        )?;
        let rows = stmt.query_map([keys], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                VersionRef {
                    artifact_id: r.get(1)?,
                    version: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (i, input) = row?;
            versions[i as usize].derived_from.push(input);
        }
        Ok(())
    }

    fn inputs_of(&self, artifact_id: &str, version: u32) -> Result<Vec<VersionRef>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT input_id, input_version FROM lineage_edges WHERE artifact_id = ?1 AND version = ?2 ORDER BY input_id, input_version",
        )?;
        let rows = stmt.query_map(params![artifact_id, version], |r| {
            Ok(VersionRef {
                artifact_id: r.get(0)?,
                version: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest version of each artifact matching `f`, without data.
    pub(crate) fn list_artifacts(&self, f: &ArtifactFilter<'_>) -> Result<Vec<Version>> {
        let (clauses, values) = Filters::default()
            .eq("a.type", f.artifact_type)
            .eq("a.latest_publisher", f.publisher)
            .eq("a.team", f.team)
            .sql("a.artifact_id", f.window);
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM artifacts a JOIN artifact_versions v
               ON v.artifact_id = a.artifact_id AND v.version = a.latest_version {clauses}"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), version_from_row)?;
        let mut out: Vec<Version> = rows.collect::<rusqlite::Result<_>>()?;
        self.fill_inputs(&mut out)?;
        Ok(out)
    }

    /// The versions of one artifact in `window`, oldest first, without data.
    pub(crate) fn history(&self, artifact_id: &str, window: super::Window) -> Result<Vec<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM artifact_versions v JOIN artifacts a USING (artifact_id)
             WHERE v.artifact_id = ?1 ORDER BY v.version LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let (limit, offset) = window.sql();
        let rows = stmt.query_map(params![artifact_id, limit, offset], version_from_row)?;
        let mut out: Vec<Version> = rows.collect::<rusqlite::Result<_>>()?;
        self.fill_inputs(&mut out)?;
        Ok(out)
    }

    pub(crate) fn insert_read(
        &self,
        artifact_id: &str,
        version: u32,
        reader: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO artifact_reads (artifact_id, version, reader, read_at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![artifact_id, version, reader, at_ms])?;
        Ok(())
    }

    pub(crate) fn reads(&self, artifact_id: &str) -> Result<Vec<Read>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT reader, version, read_at_ms FROM artifact_reads WHERE artifact_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([artifact_id], |r| {
            Ok(Read {
                reader: r.get(0)?,
                version: r.get(1)?,
                read_at: crate::time::rfc3339(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of artifacts of each type in use.
    pub(crate) fn type_counts(&self) -> Result<Vec<(String, u32)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT type, count(*) FROM artifacts GROUP BY type ORDER BY type")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest version of `artifact_id` (or of any artifact of `artifact_type`) published
    /// after event `after_seq`, if one exists.
    pub(crate) fn newest_output_since(
        &self,
        artifact_id: Option<&str>,
        artifact_type: Option<&str>,
        after_seq: i64,
    ) -> Result<Option<VersionRef>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT v.artifact_id, v.version FROM artifact_versions v JOIN artifacts a USING (artifact_id)
                 WHERE (?1 IS NULL OR v.artifact_id = ?1) AND (?2 IS NULL OR a.type = ?2) AND v.seq > ?3
                 ORDER BY v.seq DESC LIMIT 1",
            )?
            .query_row(params![artifact_id, artifact_type, after_seq], |r| {
                Ok(VersionRef {
                    artifact_id: r.get(0)?,
                    version: r.get(1)?,
                })
            })
            .optional()?)
    }

    pub(crate) fn artifact_count(&self) -> Result<(i64, i64)> {
        Ok(self.tx.query_row(
            "SELECT (SELECT count(*) FROM artifacts), (SELECT count(*) FROM artifact_versions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}

fn version_from_row(r: &Row<'_>) -> rusqlite::Result<Version> {
    Ok(Version {
        artifact_id: r.get(0)?,
        artifact_type: r.get(1)?,
        team: r.get(2)?,
        version: r.get(3)?,
        latest_version: r.get(4)?,
        sha256: r.get(5)?,
        summary: r.get(6)?,
        publisher: r.get(7)?,
        published_at: crate::time::rfc3339(r.get(8)?),
        seq: r.get(9)?,
        derived_from: Vec::new(),
        data: None,
        validated_by: None,
        warnings: Vec::new(),
    })
}
