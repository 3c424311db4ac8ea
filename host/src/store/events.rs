//! The append-only event log.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::{Tx, json_col};
use crate::error::Result;

/// An event about to be appended.
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub team: &'a str,
    pub subject: String,
    pub payload: Value,
}

/// An event as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub team: String,
    pub subject: String,
    pub payload: Value,
}

impl Tx<'_> {
    /// Appends one event and returns its `seq`. The reactions get it before the
    /// transaction commits ([`Tx::take_appended`]).
    pub fn append_event(&self, ev: NewEvent<'_>) -> Result<i64> {
        // Cached, like every statement on a hot path: `execute` would parse it each time.
        self.tx
            .prepare_cached(
                "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![self.now_ms, ev.kind, ev.actor, ev.team, ev.subject, ev.payload.to_string()])?;
        let seq = self.tx.last_insert_rowid();
        self.appended.borrow_mut().push(Event {
            seq,
            at: crate::time::rfc3339(self.now_ms),
            kind: ev.kind.to_string(),
            actor: ev.actor.to_string(),
            team: ev.team.to_string(),
            subject: ev.subject,
            payload: ev.payload,
        });
        Ok(seq)
    }

    /// The events this transaction appended since the last call, oldest first: what the
    /// reactions have not seen yet (the log before them, they all have).
    pub fn take_appended(&self) -> Vec<Event> {
        std::mem::take(&mut *self.appended.borrow_mut())
    }

    /// The `seq` of the oldest event this transaction appended that the reactions have not
    /// been handed yet.
    pub fn first_unhanded(&self) -> Option<i64> {
        self.appended.borrow().first().map(|e| e.seq)
    }

    /// Every event about `subject`, oldest first.
    pub fn events_for_subject(&self, subject: &str) -> Result<Vec<Event>> {
        self.events_where("subject = ?1 ORDER BY seq", rusqlite::params![subject])
    }

    /// The events matching `filter` (the SQL after `WHERE`), decoded.
    pub(super) fn events_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Event>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT seq, at_ms, kind, actor, team, subject, payload FROM events WHERE {filter}"
        ))?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at_ms, kind, actor, team, subject, payload) = row?;
            out.push(Event {
                seq,
                at: crate::time::rfc3339(at_ms),
                kind,
                actor,
                team,
                subject,
                payload: json_col(&payload)?,
            });
        }
        Ok(out)
    }

    /// The newest `seq`, or 0 on an empty log.
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .tx
            .prepare_cached("SELECT max(seq) FROM events")?
            .query_row([], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .unwrap_or(0))
    }

    pub fn event_count(&self) -> Result<i64> {
        Ok(self
            .tx
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }
}
