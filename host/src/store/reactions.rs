//! What the reactions read and keep in the store: the log, and the reactions still behind it.

use rusqlite::params;

use super::{Event, Tx};
use crate::error::Result;

impl Tx<'_> {
    /// Up to `limit` events after `seq`, oldest first (tests read the log with it).
    #[cfg(test)]
    pub fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<Event>> {
        self.events_between(seq, i64::MAX, limit)
    }

    /// Up to `limit` events after `seq` and at most `last`, oldest first.
    pub fn events_between(&self, seq: i64, last: i64, limit: u32) -> Result<Vec<Event>> {
        // The limit is part of the SQL text, not a parameter: SQLite re-prepares a statement
        // whose LIMIT is bound on every run.
        self.events_where(
            &format!("seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT {limit}"),
            params![seq, last],
        )
    }

    /// The reactions with events left to see, by name, with the last event each has seen
    /// (none, almost always: see `schema_v14.sql`).
    pub fn reactions_behind(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT name, seq FROM reactions_behind ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that the reaction `name` has seen every event.
    pub fn reaction_caught_up(&self, name: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM reactions_behind WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    /// Records that the reaction `name` has seen the events up to `seq` only (what a
    /// migration adding a reaction does; tests do it by hand).
    #[cfg(test)]
    pub fn set_reaction_behind(&self, name: &str, seq: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO reactions_behind (name, seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            )?
            .execute(params![name, seq])?;
        Ok(())
    }

    /// Diagnostics: records that this process's witness reaction saw event `seq`.
    pub fn witness_event(&self, seq: i64) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO event_witness (seq, pid) VALUES (?1, ?2)")?
            .execute(params![seq, std::process::id()])?;
        Ok(())
    }
}
