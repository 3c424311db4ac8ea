//! `resolver`: the reactions every command runs before it commits.
//!
//! Runs inside the command's transaction, so each transition happens exactly once however
//! many `clearctx` processes share the data dir: the first process to commit makes a
//! contract ready; the next one finds it no longer pending. It owns no tables.

use crate::contracts;
use crate::error::Result;
use crate::store::Tx;

/// Brings derived state up to date: overdue contracts fail, and pending contracts whose
/// dependencies all hold become ready. One pass suffices: becoming ready or failing never
/// satisfies another contract's dependency.
pub fn run(tx: &Tx<'_>) -> Result<()> {
    for row in tx.overdue_contracts()? {
        let reason = format!(
            "timed out: in progress for more than {}s (timeout_s)",
            row.timeout_s.unwrap_or_default()
        );
        contracts::fail_row(tx, row, &contracts::Actor::system(), &reason)?;
    }
    for row in tx.ready_candidates()? {
        contracts::mark_ready(tx, row)?;
    }
    Ok(())
}

/// Whether [`run`] has anything to do that time alone caused (deadlines passing).
pub fn has_due_work(tx: &Tx<'_>) -> Result<bool> {
    tx.has_overdue_contracts()
}
