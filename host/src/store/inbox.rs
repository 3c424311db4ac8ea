//! SQL for the inbox.

use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::error::Result;
use crate::model::inbox::Notification;

const COLUMNS: &str =
    "id, recipient, team, kind, subject, message, sender, ask_id, seq, created_at_ms, read_at_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        recipient: r.get(1)?,
        team: r.get(2)?,
        kind: r.get(3)?,
        subject: r.get(4)?,
        message: r.get(5)?,
        sender: r.get(6)?,
        ask_id: r.get(7)?,
        seq: r.get(8)?,
        created_at: crate::time::rfc3339(r.get(9)?),
        read_at: r.get::<_, Option<i64>>(10)?.map(crate::time::rfc3339),
    })
}

/// A chat item for [`Tx::insert_chat_item`].
pub struct ChatItem<'a> {
    pub recipient: &'a str,
    pub team: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub message: &'a str,
    pub sender: &'a str,
    pub ask_id: Option<&'a str>,
    pub seq: i64,
}

impl Tx<'_> {
    pub(crate) fn insert_notification(
        &self,
        recipient: &str,
        team: &str,
        kind: &str,
        subject: &str,
        message: &str,
        seq: i64,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO inbox (recipient, team, kind, subject, message, seq, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![recipient, team, kind, subject, message, seq, self.now_ms])?;
        Ok(())
    }

    /// Writes a chat item to its recipient's inbox, undelivered; returns its id.
    pub(crate) fn insert_chat_item(&self, c: &ChatItem<'_>) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO inbox (recipient, team, kind, subject, message, sender, ask_id, seq, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![c.recipient, c.team, c.kind, c.subject, c.message, c.sender, c.ask_id, c.seq, self.now_ms])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Unread items after `after_id`, oldest first: up to `limit + 1` rows.
    pub(crate) fn unread_page(&self, recipient: &str, after_id: i64, limit: u32) -> Result<Vec<Notification>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM inbox INDEXED BY inbox_unread
             WHERE recipient = ?1 AND read_at_ms IS NULL AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![recipient, after_id, limit as i64 + 1], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Read items before `before_id`, newest first: up to `limit + 1` rows.
    pub(crate) fn read_page(&self, recipient: &str, before_id: i64, limit: u32) -> Result<Vec<Notification>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM inbox INDEXED BY inbox_recipient
             WHERE recipient = ?1 AND id < ?2 AND read_at_ms IS NOT NULL ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![recipient, before_id, limit as i64 + 1], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks items read; a chat item read counts as delivered, so no turn repeats it.
    pub(crate) fn mark_notifications_read(&self, ids: &[i64]) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE inbox SET read_at_ms = ?2, delivered_at_ms = coalesce(delivered_at_ms, ?2)
             WHERE id = ?1 AND read_at_ms IS NULL",
        )?;
        for id in ids {
            stmt.execute(params![id, self.now_ms])?;
        }
        Ok(())
    }

    /// Chat items of `recipient` not yet delivered, oldest first (at most `limit`).
    pub(crate) fn undelivered_chat(&self, recipient: &str, limit: u32) -> Result<Vec<Notification>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM inbox INDEXED BY inbox_undelivered
             WHERE recipient = ?1 AND sender IS NOT NULL AND delivered_at_ms IS NULL ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![recipient, limit as i64], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks chat items delivered as a turn: they are in the recipient's conversation now,
    /// so they count as read too.
    pub(crate) fn mark_chat_delivered(&self, ids: &[i64]) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE inbox SET delivered_at_ms = ?2, read_at_ms = coalesce(read_at_ms, ?2) WHERE id = ?1",
        )?;
        for id in ids {
            stmt.execute(params![id, self.now_ms])?;
        }
        Ok(())
    }

    /// The unread answer to `ask_id` in `recipient`'s inbox, if any.
    pub(crate) fn answer_item(&self, recipient: &str, ask_id: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id FROM inbox INDEXED BY inbox_unread
                 WHERE recipient = ?1 AND read_at_ms IS NULL AND kind = 'answer' AND ask_id = ?2 LIMIT 1",
            )?
            .query_row(params![recipient, ask_id], |r| r.get(0))
            .optional()?)
    }

    /// Unread notifications per recipient.
    pub(crate) fn unread_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT recipient, count(*) FROM inbox WHERE read_at_ms IS NULL GROUP BY recipient ORDER BY recipient",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
