//! Team members: which sessions belong to which team, in what role and phase, and the git
//! worktree an isolated member works in.

use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::error::Result;

/// A member as stored.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub name: String,
    pub team: String,
    pub role: String,
    pub phase: Option<u32>,
    /// `none` or `worktree`.
    pub isolation: String,
    pub repo: Option<String>,
    pub worktree: Option<String>,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub created_at_ms: i64,
}

const COLUMNS: &str =
    "name, team, role, phase, isolation, repo, worktree, branch, base_commit, created_at_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRow> {
    Ok(MemberRow {
        name: r.get(0)?,
        team: r.get(1)?,
        role: r.get(2)?,
        phase: r.get(3)?,
        isolation: r.get(4)?,
        repo: r.get(5)?,
        worktree: r.get(6)?,
        branch: r.get(7)?,
        base_commit: r.get(8)?,
        created_at_ms: r.get(9)?,
    })
}

impl Tx<'_> {
    pub(crate) fn insert_team_member(&self, m: &MemberRow) -> Result<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO team_members ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?
            .execute(params![
                m.name,
                m.team,
                m.role,
                m.phase,
                m.isolation,
                m.repo,
                m.worktree,
                m.branch,
                m.base_commit,
                m.created_at_ms
            ])?;
        Ok(())
    }

    pub(crate) fn team_member(&self, name: &str) -> Result<Option<MemberRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM team_members WHERE name = ?1"))?
            .query_row([name], row)
            .optional()?)
    }

    /// A team's members, oldest first (at most 1,000: a roster, not a list to page).
    pub(crate) fn team_members(&self, team: &str) -> Result<Vec<MemberRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM team_members WHERE team = ?1 ORDER BY created_at_ms, name LIMIT 1000"
        ))?;
        let rows = stmt.query_map([team], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many unread notifications `recipient` has.
    pub(crate) fn unread_count(&self, recipient: &str) -> Result<i64> {
        Ok(self.tx.prepare_cached(
            "SELECT count(*) FROM inbox WHERE recipient = ?1 AND read_at_ms IS NULL",
        )?
        .query_row([recipient], |r| r.get(0))?)
    }

    /// The `validated_by` its `artifact.published` event recorded for the version at `seq`.
    pub(crate) fn published_validator(&self, seq: i64) -> Result<Option<serde_json::Value>> {
        Ok(self
            .events_where("seq = ?1", [seq])?
            .into_iter()
            .next()
            .map(|e| e.payload["validated_by"].clone())
            .filter(|v| !v.is_null()))
    }
}
