//! What the reactions keep in the store: a cursor per reaction, and the events after it.

use rusqlite::params;

use super::{Event, Tx};
use crate::error::Result;

impl Tx<'_> {
    /// Up to `limit` events after `seq`, oldest first.
    pub fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<Event>> {
        // The limit is part of the SQL text, not a parameter: SQLite re-prepares a statement
        // whose LIMIT is bound on every run, and this one runs in every commit.
        self.events_where(
            &format!("seq > ?1 ORDER BY seq LIMIT {limit}"),
            params![seq],
        )
    }

    pub fn set_reaction_cursor(&self, name: &str, seq: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO reaction_cursors (name, seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            )?
            .execute(params![name, seq])?;
        Ok(())
    }

    /// Every reaction's cursor, by name.
    pub fn reaction_cursors(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT name, seq FROM reaction_cursors ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Diagnostics: records that this process's witness reaction saw event `seq`.
    pub fn witness_event(&self, seq: i64) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO event_witness (seq, pid) VALUES (?1, ?2)")?
            .execute(params![seq, std::process::id()])?;
        Ok(())
    }
}
