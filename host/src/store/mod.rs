//! `store`: the only module that speaks SQL.
//!
//! One SQLite file (WAL, `synchronous=FULL`, foreign keys, a busy timeout) shared by every
//! `clearctx` process on a data dir. Changes happen in [`Store::write`], one `BEGIN
//! IMMEDIATE` transaction in which the caller appends events and updates state and then
//! the store's [`Reactor`] reacts to them, so a crash leaves all of a command or none of
//! it, no write skips the reactions, and writers from several processes are serialized by
//! SQLite's lock instead of by us. Keep dialect-specific SQL here so that a
//! PostgreSQL store stays possible.

mod artifacts;
mod chat;
mod continuity;
mod contracts;
mod decisions;
mod events;
mod inbox;
mod pipelines;
mod lineage;
pub mod page;
mod reactions;
mod sessions;
mod snapshots;
mod teams;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

pub use artifacts::ArtifactFilter;
pub use continuity::{CheckpointRow, NewVersionRow};
pub use contracts::ContractFilter;
pub use decisions::{DecisionRow, NewDecision, PatternRow};
pub(crate) use contracts::Target;
pub use events::{Event, NewEvent};
pub use pipelines::{NewFiring, StoredRule};
pub use lineage::{CauseRow, StaleRow, TouchedContract};
pub use sessions::{MessageRow, RequestRow, SessionFilter, SessionRow};
pub use snapshots::{ContractState, PipelineState, SnapshotRow};
pub use teams::MemberRow;
pub use chat::AskRow;
pub use inbox::ChatItem;

/// A slice of a list: `limit` rows after the first `offset`. Queries fetch one row more,
/// so the caller knows whether another page follows.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: u64,
    pub limit: u32,
}

impl Window {
    /// The SQL `LIMIT` and `OFFSET` for this window (one row more than the page).
    pub(crate) fn sql(&self) -> (i64, i64) {
        (self.limit as i64 + 1, self.offset as i64)
    }
}

/// The `WHERE` of a list query with only the filters given, so SQLite can use their
/// indexes: an `(?1 IS NULL OR col = ?1)` clause hides every index from the planner.
#[derive(Default)]
pub(crate) struct Filters {
    clauses: Vec<String>,
    values: Vec<rusqlite::types::Value>,
}

impl Filters {
    /// Adds `column = value` when `value` is given.
    pub(crate) fn eq(mut self, column: &str, value: Option<&str>) -> Filters {
        if let Some(v) = value {
            self.values.push(v.to_string().into());
            self.clauses
                .push(format!("{column} = ?{}", self.values.len()));
        }
        self
    }

    /// `WHERE …` (or nothing), then `ORDER BY order LIMIT … OFFSET …` for `window`.
    pub(crate) fn sql(&self, order: &str, window: Window) -> (String, Vec<rusqlite::types::Value>) {
        let mut values = self.values.clone();
        let (limit, offset) = window.sql();
        values.push(limit.into());
        values.push(offset.into());
        let n = values.len();
        let filter = if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        };
        (
            format!("{filter} ORDER BY {order} LIMIT ?{} OFFSET ?{n}", n - 1),
            values,
        )
    }
}

/// Name of the database file inside the data dir.
pub const DB_FILE: &str = "clearctx.db";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMAS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
    include_str!("schema_v8.sql"),
    include_str!("schema_v9.sql"),
    include_str!("schema_v10.sql"),
    include_str!("schema_v11.sql"),
    include_str!("schema_v12.sql"),
    include_str!("schema_v13.sql"),
    include_str!("schema_v14.sql"),
    include_str!("schema_v15.sql"),
];

/// What every write transaction runs after its change and before it commits: the
/// reactions (`reactions::run` above), handed in by whoever opens the store so that this
/// layer depends on nothing above it.
pub type Reactor = std::sync::Arc<dyn Fn(&Tx<'_>) -> Result<()> + Send + Sync>;

fn migrations() -> Migrations<'static> {
    // Every migration ends with `PRAGMA foreign_key_check`: they run with foreign keys off
    // (a table rebuild drops a table others refer to), so this is where a broken
    // reference would stop one, rolled back.
    Migrations::new(
        SCHEMAS
            .iter()
            .map(|sql| M::up(sql).foreign_key_check())
            .collect(),
    )
}

pub struct Store {
    conn: Connection,
    /// A second connection, `synchronous=NORMAL`, for [`Store::write_unsynced`], opened on
    /// first use. Switching the main connection's `synchronous` back and forth instead
    /// made SQLite re-prepare every cached statement after each read.
    unsynced: Option<Connection>,
    path: PathBuf,
    react: Reactor,
}

/// A transaction handed to hub commands; all SQL runs through its methods.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    now_ms: i64,
    /// The events appended in this transaction and not yet handed to the reactions
    /// ([`Tx::take_appended`]), oldest first.
    appended: std::cell::RefCell<Vec<events::Event>>,
    /// How many of `appended` there were at the open savepoint, if one is open: rolling
    /// back to it forgets the events appended since.
    savepoint_appended: std::cell::Cell<Option<usize>>,
}

impl<'a> Tx<'a> {
    fn new(tx: rusqlite::Transaction<'a>) -> Tx<'a> {
        Tx {
            tx,
            now_ms: now_ms(),
            appended: Default::default(),
            savepoint_appended: Default::default(),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Every [`Store::write`] runs `react` before it commits.
    pub fn open(path: &Path, react: Reactor) -> Result<Store> {
        let cannot = |source| Error::OpenDatabase {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = connect(path).map_err(cannot)?;
        // A file from a newer clearctx is refused before anything here writes to it.
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(cannot)?;
        if found > SCHEMAS.len() as i64 {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMAS.len() as i64,
            });
        }
        // WAL lets readers run beside the one writer; FULL makes every commit durable.
        // The first write: a read-only file or directory fails here. Switching a new file to
        // WAL takes an exclusive lock without waiting on the busy handler, so processes
        // starting together on a new data dir take turns here.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) if is_busy(&e) => return Err(e.into()),
                Err(e) => return Err(cannot(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Off only outside a transaction takes effect, so around the whole migration.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrated = migrate(&mut conn);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrated?;
        conn.set_transaction_behavior(TransactionBehavior::Deferred);
        Ok(Store {
            conn,
            unsynced: None,
            path: path.to_path_buf(),
            react,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` and then the reactions in one `BEGIN IMMEDIATE` transaction: everything
    /// they did commits together, or (on error) nothing does.
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.write_then(f, |_, out| Ok(out))
    }

    /// [`Store::write`], with `view` reading the state after the reactions (a command's
    /// result shows the contract the reactions just made ready).
    pub fn write_then<A, T>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<A>,
        view: impl FnOnce(&Tx<'_>, A) -> Result<T>,
    ) -> Result<T> {
        write_on(&mut self.conn, &*self.react, f, view)
    }

    /// [`Store::write`] for a record whose loss to a power cut is acceptable (that an
    /// artifact was read): it commits without waiting for the disk, on a second connection
    /// kept at `synchronous=NORMAL`. A killed process loses none of it, since the WAL is already
    /// in the operating system's hands; a power cut or OS crash may lose the last such
    /// records, never a half of one. The next ordinary commit makes them durable too.
    ///
    /// `f` must append no event, so the reactions do not run: there is nothing new for them,
    /// since every event was reacted to in the transaction that appended it. Deadlines are
    /// the caller's to apply first, in an ordinary write (a failed contract must be durable).
    pub fn write_unsynced<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        if self.unsynced.is_none() {
            let conn = connect(&self.path)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            self.unsynced = Some(conn);
        }
        let conn = self.unsynced.as_mut().expect("opened above");
        let checked = |tx: &Tx<'_>| -> Result<T> {
            #[cfg(debug_assertions)]
            let before = tx.last_seq()?;
            let out = f(tx)?;
            #[cfg(debug_assertions)]
            assert_eq!(
                tx.last_seq()?,
                before,
                "an unsynced write appended an event, which no reaction would see"
            );
            Ok(out)
        };
        write_on(conn, &no_reactions, checked, |_, out| Ok(out))
    }

    /// Runs `f` in a read transaction, so it sees one consistent state.
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = Tx::new(
            self.conn
                .transaction_with_behavior(TransactionBehavior::Deferred)?,
        );
        let out = f(&tx)?;
        tx.tx.finish()?;
        Ok(out)
    }

    /// `PRAGMA integrity_check`, for `doctor` and the crash tests.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// What `doctor` reads of a database. It opens the file without creating it and only
/// reads (no migration, no WAL switch); not `READ_ONLY`, which cannot open a WAL file
/// whose `-shm` is gone.
#[derive(Debug, Clone)]
pub struct Health {
    /// `PRAGMA user_version`: the schema the file is at.
    pub schema_version: i64,
    /// The newest schema this clearctx knows.
    pub supported: i64,
    /// `PRAGMA quick_check`'s first line: `ok`, or the first problem found.
    pub check: String,
}

/// Reads `path`'s schema version and runs `PRAGMA quick_check` on it; the error is
/// SQLite's own message (a damaged file: "file is not a database").
pub fn inspect(path: &Path) -> std::result::Result<Health, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let schema_version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let check = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    Ok(Health {
        schema_version,
        supported: SCHEMAS.len() as i64,
        check,
    })
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// A connection to the database file with clearctx's lock wait and foreign keys on; the
/// journal mode and `synchronous` are the caller's.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_handler(Some(wait_for_lock))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A publish and its reactions run a few dozen distinct statements; rusqlite keeps 16
    // by default, which made every commit prepare some of them again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The reactor of a write that appends no event.
fn no_reactions(_: &Tx<'_>) -> Result<()> {
    Ok(())
}

/// One `BEGIN IMMEDIATE` transaction on `conn`: `f`, the reactions, `view`, commit.
fn write_on<A, T>(
    conn: &mut Connection,
    react: &(dyn Fn(&Tx<'_>) -> Result<()> + Send + Sync),
    f: impl FnOnce(&Tx<'_>) -> Result<A>,
    view: impl FnOnce(&Tx<'_>, A) -> Result<T>,
) -> Result<T> {
    let tx = Tx::new(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
    let out = f(&tx)?;
    react(&tx)?;
    let out = view(&tx, out)?;
    tx.tx.commit()?;
    Ok(out)
}

/// Waits for another process's write lock: retries every half millisecond for the first
/// 100 ms (a commit takes about one), then every 5 ms, for up to [`BUSY_TIMEOUT`]. SQLite's
/// own `busy_timeout` backs off to 100 ms sleeps, which put 8 busy servers' p99 above 100 ms.
fn wait_for_lock(attempt: i32) -> bool {
    const FAST: i32 = 200;
    let waited_ms = if attempt < FAST {
        attempt / 2
    } else {
        100 + (attempt - FAST) * 5
    };
    if waited_ms as u128 >= BUSY_TIMEOUT.as_millis() {
        return false;
    }
    std::thread::sleep(if attempt < FAST {
        Duration::from_micros(500)
    } else {
        Duration::from_millis(5)
    });
    true
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Applies pending migrations. Two processes may start on a fresh data dir at once: the
/// loser's migration fails on tables the winner created, so re-check before reporting.
fn migrate(conn: &mut Connection) -> Result<()> {
    let migrations = migrations();
    for attempt in 0..3 {
        match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if migrations.pending_migrations(conn).unwrap_or(1) == 0 {
                    return Ok(());
                }
                if attempt == 2 {
                    return Err(e.into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Ok(())
}

impl Tx<'_> {
    /// The wall-clock time of this transaction, the same for every row it writes.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }
}

pub use crate::time::now_ms;

/// Reads a JSON column written by us; a parse failure means the file was damaged.
fn json_col(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("bad JSON in a column: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_migrates_once_and_keeps_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        let a = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let b = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let mode: String = b
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(a.integrity_check().unwrap(), "ok");
        assert_eq!(migrations().pending_migrations(&b.conn).unwrap(), 0);
    }

    #[test]
    fn a_database_from_a_newer_clearctx_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let Err(e) = Store::open(&path, std::sync::Arc::new(no_reactions)) else {
            panic!("a schema-99 file was opened")
        };
        let message = e.to_string();
        assert!(
            message.contains("newer clearctx") && message.contains("schema version 99"),
            "{message}"
        );
        assert!(message.contains("nothing in it was changed"), "{message}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the refused file changed"
        );
        assert!(!dir.path().join("clearctx.db-wal").exists());
    }

    #[test]
    fn a_database_that_cannot_be_opened_is_named_with_the_cause_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        std::fs::create_dir(&path).unwrap(); // a directory where the file should be
        let Err(e) = Store::open(&path, std::sync::Arc::new(no_reactions)) else {
            panic!("opened a directory")
        };
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("unable to open database file"),
            "{message}"
        );
        assert!(message.contains("--home"), "{message}");
    }

    #[test]
    fn a_version_2_data_dir_opens_with_its_reactions_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 2).unwrap();
            for i in 0..3 {
                conn.execute(
                    "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES (?1, 'artifact.published', 'a', 'default', 'artifact:x', '{}')",
                    [i],
                )
                .unwrap();
            }
        }
        let mut store = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let behind = store.read(|tx| tx.reactions_behind()).unwrap();
        assert_eq!(
            behind,
            [],
            "the old events were already resolved; pipelines and staleness start at the end"
        );
        assert_eq!(store.read(|tx| tx.events_after(3, 10)).unwrap().len(), 0);
    }

    #[test]
    fn events_a_rolled_back_savepoint_undid_are_not_handed_to_the_reactions() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            Store::open(&dir.path().join("clearctx.db"), std::sync::Arc::new(no_reactions)).unwrap();
        let event = |kind| NewEvent {
            kind,
            actor: "w",
            team: "default",
            subject: "s".into(),
            payload: serde_json::json!({}),
        };
        let kinds = store
            .write(|tx| {
                tx.append_event(event("kept"))?;
                tx.savepoint()?;
                tx.append_event(event("undone"))?;
                tx.rollback_to_savepoint()?;
                tx.savepoint()?;
                tx.append_event(event("released"))?;
                tx.release_savepoint()?;
                Ok(tx.take_appended().into_iter().map(|e| e.kind).collect::<Vec<_>>())
            })
            .unwrap();
        assert_eq!(kinds, ["kept", "released"]);
        let logged = store.read(|tx| tx.events_after(0, 10)).unwrap();
        let seqs: Vec<i64> = logged.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2], "the log holds the same two");
    }

    #[test]
    fn an_unsynced_write_commits_and_leaves_the_connection_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        let mut store = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let sync = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(sync(&store), 2, "FULL");
        store
            .write_unsynced(|tx| {
                tx.tx
                    .execute_batch("CREATE TABLE scratch (x); INSERT INTO scratch VALUES (1)")?;
                Ok(())
            })
            .unwrap();
        assert_eq!(sync(&store), 2, "FULL again after");
        let unsynced: i64 = store
            .unsynced
            .as_ref()
            .unwrap()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(unsynced, 1, "its own connection is NORMAL");
        let failed: Result<()> = store.write_unsynced(|_| Err(Error::conflict("refused")));
        assert!(failed.is_err());
        assert_eq!(sync(&store), 2, "FULL again after a failed write");
        let reopened = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let n: i64 = reopened
            .conn
            .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the unsynced write committed");
    }

    /// Version 13 rebuilds `events` and `artifact_versions`: a version-12 file keeps every
    /// row and reference, numbers keep growing from the largest, and the old key holds.
    /// A data dir at schema `version` (foreign keys off, as the migrations run), to fill as
    /// that version's clearctx would have before the next migration runs on open.
    fn at_version(path: &Path, version: usize) -> Connection {
        let mut conn = connect(path).unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        migrations().to_version(&mut conn, version).unwrap();
        conn
    }

    #[test]
    fn version_15_keeps_the_current_versions_publisher_on_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        {
            let conn = at_version(&path, 14);
            // `a` rolled back to its first version, `b` with no current version yet.
            conn.execute_batch(
                "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES
                   (1, 'x', 'w', 'default', 's', '{}'), (2, 'x', 'w', 'default', 's', '{}'),
                   (3, 'x', 'w', 'default', 's', '{}');
                 INSERT INTO artifacts (artifact_id, type, team, created_by, created_at_ms, latest_version, max_version)
                   VALUES ('a', 'json', 'default', 'p1', 1, 1, 2), ('b', 'json', 'default', 'p1', 3, 0, 1);
                 INSERT INTO artifact_versions (artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq)
                   VALUES ('a', 1, '{}', 'h1', NULL, 'p1', 1, 1), ('a', 2, '{}', 'h2', NULL, 'p2', 2, 2),
                          ('b', 1, '{}', 'h3', NULL, 'p2', 3, 3);",
            )
            .unwrap();
        }
        let store = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let mut stmt = store
            .conn
            .prepare("SELECT artifact_id, latest_publisher FROM artifacts ORDER BY artifact_id")
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [("a".to_string(), "p1".to_string()), ("b".to_string(), String::new())],
            "the current version's publisher, not the highest's; none without a current version"
        );
        let old_index: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'artifact_versions_publisher'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old_index, 0);
    }

    #[test]
    fn version_14_keeps_only_the_reactions_behind_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        {
            let conn = at_version(&path, 13);
            conn.execute_batch(
                "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES
                   (1, 'x', 'w', 'default', 's', '{}'), (2, 'x', 'w', 'default', 's', '{}');
                 UPDATE reaction_cursors SET seq = 2;
                 UPDATE reaction_cursors SET seq = 1 WHERE name = 'staleness';
                 DELETE FROM reaction_cursors WHERE name = 'chat';",
            )
            .unwrap();
        }
        let mut store = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let behind = store.read(|tx| tx.reactions_behind()).unwrap();
        assert_eq!(
            behind,
            [("chat".to_string(), 0), ("staleness".to_string(), 1)],
            "a cursor short of the end is kept, a missing one had seen nothing, the rest go"
        );
    }

    #[test]
    fn version_13_rebuilds_the_log_and_versions_keeping_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clearctx.db");
        {
            let mut conn = connect(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
            migrations().to_version(&mut conn, 12).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            conn.execute_batch(
                "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES
                   (1, 'artifact.published', 'w', 'default', 'artifact:a', '{}'),
                   (2, 'artifact.published', 'w', 'default', 'artifact:b', '{}'),
                   (3, 'artifact.published', 'w', 'default', 'artifact:a', '{}');
                 INSERT INTO artifacts (artifact_id, type, team, created_by, created_at_ms, latest_version, max_version)
                   VALUES ('a', 'json', 'default', 'w', 1, 2, 2), ('b', 'json', 'default', 'w', 2, 1, 1);
                 INSERT INTO artifact_versions (artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq)
                   VALUES ('a', 1, '{\"n\":1}', 'h1', NULL, 'w', 1, 1), ('b', 1, '{}', 'h2', 's', 'w', 2, 2),
                          ('a', 2, '{\"n\":2}', 'h3', NULL, 'w', 3, 3);
                 INSERT INTO lineage_edges (artifact_id, version, input_id, input_version) VALUES ('a', 2, 'b', 1);
                 INSERT INTO artifact_reads (artifact_id, version, reader, read_at_ms) VALUES ('a', 2, 'r', 4);",
            )
            .unwrap();
        }
        let store = Store::open(&path, std::sync::Arc::new(no_reactions)).unwrap();
        let c = &store.conn;
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMAS.len() as i64);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let broken: i64 = c
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
        let fks: i64 = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fks, 1, "foreign keys are on again after the migration");
        let rows: Vec<(String, i64, String, i64)> = c
            .prepare("SELECT artifact_id, version, data, seq FROM artifact_versions ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("a".into(), 1, r#"{"n":1}"#.into(), 1),
                ("b".into(), 1, "{}".into(), 2),
                ("a".into(), 2, r#"{"n":2}"#.into(), 3)
            ]
        );
        let sequence: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sequence, 0, "no AUTOINCREMENT row is left behind");
        c.execute(
            "INSERT INTO events (at_ms, kind, actor, team, subject, payload) VALUES (5, 'x', 'w', 'default', 's', '{}')",
            [],
        )
        .unwrap();
        assert_eq!(
            c.last_insert_rowid(),
            4,
            "the log goes on from its largest seq"
        );
        let again = c.execute(
            "INSERT INTO artifact_versions (artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq)
             VALUES ('a', 2, '{}', 'h', NULL, 'w', 5, 4)",
            [],
        );
        assert!(again.is_err(), "(artifact_id, version) is still unique");
        let dangling = c.execute(
            "INSERT INTO artifact_reads (artifact_id, version, reader, read_at_ms) VALUES ('a', 9, 'r', 6)",
            [],
        );
        assert!(
            dangling.is_err(),
            "references to versions are still checked"
        );
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }
}
