//! SQL for the inbox.

use rusqlite::params;

use super::Tx;
use crate::error::Result;
use crate::model::inbox::Notification;

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

    pub(crate) fn unread_notifications(&self, recipient: &str) -> Result<Vec<Notification>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, recipient, team, kind, subject, message, seq, created_at_ms FROM inbox
             WHERE recipient = ?1 AND read_at_ms IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([recipient], |r| {
            Ok(Notification {
                id: r.get(0)?,
                recipient: r.get(1)?,
                team: r.get(2)?,
                kind: r.get(3)?,
                subject: r.get(4)?,
                message: r.get(5)?,
                seq: r.get(6)?,
                created_at: crate::time::rfc3339(r.get(7)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn mark_notifications_read(&self, ids: &[i64]) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE inbox SET read_at_ms = ?2 WHERE id = ?1 AND read_at_ms IS NULL",
        )?;
        for id in ids {
            stmt.execute(params![id, self.now_ms])?;
        }
        Ok(())
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
