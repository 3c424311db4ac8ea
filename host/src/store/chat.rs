//! SQL for team chat: sends (rate limit, bounces) and asks.

use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::error::Result;

/// One question of `team_ask`, with its answer once given.
#[derive(Debug, Clone)]
pub struct AskRow {
    pub id: i64,
    pub team: String,
    pub asker: String,
    pub asked: String,
    pub question: String,
    pub depth: i64,
    pub asked_at_ms: i64,
    pub deadline_ms: i64,
    pub answer: Option<String>,
    pub answered_at_ms: Option<i64>,
}

const ASK_COLUMNS: &str =
    "id, team, asker, asked, question, depth, asked_at_ms, deadline_ms, answer, answered_at_ms";

fn ask_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AskRow> {
    Ok(AskRow {
        id: r.get(0)?,
        team: r.get(1)?,
        asker: r.get(2)?,
        asked: r.get(3)?,
        question: r.get(4)?,
        depth: r.get(5)?,
        asked_at_ms: r.get(6)?,
        deadline_ms: r.get(7)?,
        answer: r.get(8)?,
        answered_at_ms: r.get(9)?,
    })
}

/// The key of a pair of members, the same whichever of them sends.
fn pair(a: &str, b: &str) -> String {
    if a <= b { format!("{a}\n{b}") } else { format!("{b}\n{a}") }
}

impl Tx<'_> {
    pub(crate) fn insert_chat_send(
        &self,
        seq: i64,
        team: &str,
        sender: &str,
        recipient: Option<&str>,
        kind: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO chat_sends (seq, team, sender, recipient, pair, kind, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![seq, team, sender, recipient, recipient.map(|r| pair(sender, r)), kind, self.now_ms])?;
        Ok(())
    }

    /// When the `n`-th latest send of `sender` since `since_ms` was made, if it made that many.
    pub(crate) fn nth_latest_send_ms(&self, sender: &str, since_ms: i64, n: u32) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT at_ms FROM chat_sends WHERE sender = ?1 AND at_ms > ?2 ORDER BY at_ms DESC LIMIT 1 OFFSET ?3",
            )?
            .query_row(params![sender, since_ms, n.saturating_sub(1) as i64], |r| r.get(0))
            .optional()?)
    }

    /// The sender and time of the latest `n` direct messages between `a` and `b`, newest
    /// first: `n` index entries, however long the pair's history.
    pub(crate) fn latest_pair_messages(&self, a: &str, b: &str, n: u32) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT sender, at_ms FROM chat_sends WHERE pair = ?1 AND kind = 'message' ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![pair(a, b), n as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Inserts a question; returns its row id.
    pub(crate) fn insert_ask(
        &self,
        team: &str,
        asker: &str,
        asked: &str,
        question: &str,
        depth: i64,
        deadline_ms: i64,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO chat_asks (team, asker, asked, question, depth, asked_at_ms, deadline_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![team, asker, asked, question, depth, self.now_ms, deadline_ms])?;
        Ok(self.tx.last_insert_rowid())
    }

    pub(crate) fn ask(&self, id: i64) -> Result<Option<AskRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT {ASK_COLUMNS} FROM chat_asks WHERE id = ?1"))?
            .query_row([id], ask_row)
            .optional()?)
    }

    pub(crate) fn answer_ask(&self, id: i64, answer: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE chat_asks SET answer = ?2, answered_at_ms = ?3 WHERE id = ?1")?
            .execute(params![id, answer, self.now_ms])?;
        Ok(())
    }

    /// The deepest unanswered ask to `asked` whose asker is still waiting (deadline ahead).
    pub(crate) fn deepest_waiting_ask_to(&self, asked: &str) -> Result<Option<AskRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {ASK_COLUMNS} FROM chat_asks
                 WHERE asked = ?1 AND answered_at_ms IS NULL AND deadline_ms > ?2 ORDER BY depth DESC, id LIMIT 1"
            ))?
            .query_row(params![asked, self.now_ms], ask_row)
            .optional()?)
    }

    /// An unanswered ask from `asker` to `asked` that its asker is still waiting on.
    pub(crate) fn waiting_ask(&self, asker: &str, asked: &str) -> Result<Option<AskRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {ASK_COLUMNS} FROM chat_asks INDEXED BY chat_asks_asker
                 WHERE asker = ?1 AND answered_at_ms IS NULL AND deadline_ms > ?3 AND asked = ?2 LIMIT 1"
            ))?
            .query_row(params![asker, asked, self.now_ms], ask_row)
            .optional()?)
    }

    /// Whether `name` is the orchestrator of `team`: it started one of the team's members.
    pub(crate) fn started_a_member_of(&self, name: &str, team: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM team_members m JOIN sessions s ON s.name = m.name
                 WHERE m.team = ?1 AND s.created_by = ?2 LIMIT 1",
            )?
            .query_row(params![team, name], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
