//! `reactions`: what every write transaction does after its change and before it commits.
//!
//! The store runs [`run`] inside each write (whoever writes: a hub command, the session
//! manager, a supervisor thread, a plugin install), so derived state is never a commit
//! behind and each transition happens exactly once however many `clearctx` processes share
//! the data dir. Event-driven reactions get the events their transaction appended, before
//! it commits: so each sees every event once, in `seq` order, whichever process appended
//! it, and looks only at what those events touch. No cursor is kept while they are caught
//! up, which is always but for a reaction a new schema version adds to run over the log so
//! far (`reactions_behind`, caught up on the next write; see `schema_v14.sql`).
//!
//! The order is fixed: deadlines (driven by time, not events), then [`ORDER`]. Events a
//! reaction appends are seen by every reaction, the earlier ones on the next pass.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use crate::contracts;
use crate::error::{Error, Result};
use crate::lineage;
use crate::model::contracts::{DependencyKind, Row};
use crate::pipelines;
use crate::plugins::PluginHost;
use crate::store::{Event, Reactor, Tx};

/// What a reaction works with: the transaction, and the plugin host that runs pipeline
/// conditions and actions (`None` in tests of the other reactions).
pub struct Env<'a> {
    pub tx: &'a Tx<'a>,
    pub plugins: Option<&'a PluginHost>,
}

/// One event-driven reaction: its cursor's name and what it does with new events.
pub struct Reaction {
    pub name: &'static str,
    pub react: fn(&Env<'_>, &[Event]) -> Result<()>,
}

/// The event-driven reactions, in the order they run.
pub const ORDER: &[Reaction] = &[
    Reaction {
        name: "readiness",
        react: readiness,
    },
    Reaction {
        name: "staleness",
        react: staleness,
    },
    Reaction {
        name: "pipelines",
        react: pipelines,
    },
    Reaction {
        name: "chat",
        react: chat,
    },
    Reaction {
        name: "witness",
        react: witness,
    },
];

/// The reactor every store of a data dir is opened with: the reactions, with `plugins`
/// for pipeline conditions and actions.
pub fn reactor(plugins: Arc<PluginHost>) -> Reactor {
    Arc::new(move |tx| run_with(tx, Some(&plugins)))
}

/// Events handed to the reactions per step; a long transaction's events (or a log caught
/// up on) go in steps.
const BATCH: usize = 512;
/// Passes in which the reactions appended events for each other, before giving up:
/// reactions that keep feeding each other are a bug. Pipelines stop their own chains at
/// `pipelines::MAX_DEPTH`, well inside this.
const MAX_PASSES: usize = 64;

/// The reactions without a plugin host (tests of readiness and deadlines): a pipeline rule
/// that needs a plugin logs that it could not run.
pub fn run(tx: &Tx<'_>) -> Result<()> {
    run_with(tx, None)
}

/// Runs the reactions inside `tx` until none has an unseen event: the ones behind the log
/// first, then every reaction over what this transaction appended, pass after pass while
/// they append more.
pub fn run_with(tx: &Tx<'_>, plugins: Option<&PluginHost>) -> Result<()> {
    let env = Env { tx, plugins };
    deadlines(tx)?;
    catch_up(&env)?;
    let mut passes = 0;
    loop {
        let events = tx.take_appended();
        if events.is_empty() {
            return Ok(());
        }
        if passes > MAX_PASSES {
            return Err(Error::Corrupt(format!(
                "reactions still appending events after {MAX_PASSES} passes; nothing was committed"
            )));
        }
        for step in events.chunks(BATCH) {
            for r in ORDER {
                (r.react)(&env, step)?;
            }
        }
        passes += 1;
    }
}

/// Brings the reactions listed in `reactions_behind` up to the events this transaction
/// appended (which every reaction gets next), reading the log in steps.
fn catch_up(env: &Env<'_>) -> Result<()> {
    let tx = env.tx;
    let behind = tx.reactions_behind()?;
    if behind.is_empty() {
        return Ok(());
    }
    let last = match tx.first_unhanded() {
        Some(seq) => seq - 1,
        None => tx.last_seq()?,
    };
    for (name, mut seen) in behind {
        // A name this version does not run cannot be listed (a data dir of another
        // version is migrated or refused); one that is, is dropped with the rest.
        if let Some(r) = ORDER.iter().find(|r| r.name == name) {
            loop {
                let events = tx.events_between(seen, last, BATCH as u32)?;
                let Some(end) = events.last().map(|e| e.seq) else {
                    break;
                };
                (r.react)(env, &events)?;
                seen = end;
            }
        }
        tx.reaction_caught_up(&name)?;
    }
    Ok(())
}

/// Whether time alone has given [`run`] work (a deadline passed), so a read should write.
pub fn has_due_work(tx: &Tx<'_>) -> Result<bool> {
    tx.has_overdue_contracts()
}

/// In-progress contracts past their deadline fail (through the deadline index).
fn deadlines(tx: &Tx<'_>) -> Result<()> {
    for row in tx.overdue_contracts()? {
        let reason = format!(
            "timed out: in progress for more than {}s (timeout_s)",
            row.timeout_s.unwrap_or_default()
        );
        contracts::fail_row(tx, row, &contracts::Actor::system(), &reason)?;
    }
    Ok(())
}

/// Pending contracts whose dependencies all hold become ready. Only the contracts the
/// events touch are looked at: the dependents of a published artifact or a completed
/// contract (through the dependency index), and a contract just created or reopened.
/// Becoming ready or failing never satisfies another dependency, so one look suffices.
fn readiness(env: &Env<'_>, events: &[Event]) -> Result<()> {
    let tx = env.tx;
    let mut touched = BTreeSet::new();
    for ev in events {
        match (ev.kind.as_str(), ev.subject.split_once(':')) {
            ("artifact.published", Some(("artifact", id))) => {
                touched.extend(tx.pending_dependents(DependencyKind::Artifact, id)?);
            }
            ("contract.completed", Some(("contract", id))) => {
                touched.extend(tx.pending_dependents(DependencyKind::Contract, id)?);
            }
            ("contract.created" | "contract.reopened", Some(("contract", id))) => {
                touched.insert(id.to_string());
            }
            _ => {}
        }
    }
    let mut ready: Vec<Row> = Vec::new();
    for id in &touched {
        ready.extend(tx.ready_candidate(id)?);
    }
    // Highest priority first, then oldest: the order their events and notifications take.
    ready.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.created_at_ms.cmp(&b.created_at_ms))
            .then_with(|| a.contract_id.cmp(&b.contract_id))
    });
    for row in ready {
        contracts::mark_ready(tx, row)?;
    }
    Ok(())
}

/// Pipeline rules the events match fire (conditions, actions, their log).
fn pipelines(env: &Env<'_>, events: &[Event]) -> Result<()> {
    pipelines::react(env.tx, env.plugins, events)
}

/// Chat that waited for a busy worker goes to it as one turn when its turn completes.
fn chat(env: &Env<'_>, events: &[Event]) -> Result<()> {
    crate::chat::on_events(env.tx, events)
}

/// Versions whose inputs moved on become stale, with their causes (`lineage::on_published`):
/// each publish marks what was derived from the version it supersedes, transitively, and
/// the new version itself when it was derived from something stale or superseded.
fn staleness(env: &Env<'_>, events: &[Event]) -> Result<()> {
    let tx = env.tx;
    for ev in events {
        if ev.kind != "artifact.published" {
            continue;
        }
        let (Some(id), Some(version)) = (
            ev.payload["artifact_id"].as_str(),
            ev.payload["version"].as_u64(),
        ) else {
            return Err(Error::Corrupt(format!(
                "event {}: artifact.published without artifact_id and version",
                ev.seq
            )));
        };
        let version = u32::try_from(version)
            .map_err(|_| Error::Corrupt(format!("event {}: version out of range", ev.seq)))?;
        // Set only after a rollback moved the current version back (`artifacts::publish`).
        let supersedes = ev.payload["supersedes"]
            .as_u64()
            .map_or(version - 1, |s| s as u32);
        lineage::on_published(tx, id, version, supersedes)?;
    }
    Ok(())
}

/// Diagnostics: with `CLEARCTX_WITNESS_EVENTS=1`, records each event it sees with this
/// process's pid (the commit-path test counts them); otherwise does nothing.
fn witness(env: &Env<'_>, events: &[Event]) -> Result<()> {
    let tx = env.tx;
    static ON: OnceLock<bool> = OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("CLEARCTX_WITNESS_EVENTS").is_some_and(|v| v == "1")) {
        return Ok(());
    }
    for ev in events {
        tx.witness_event(ev.seq)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod staleness_tests;
#[cfg(test)]
mod transitions;
