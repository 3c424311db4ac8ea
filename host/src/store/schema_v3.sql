-- clearctx schema, version 3: reactions read the event log through cursors.

-- How far each reaction has read the log: it has seen every event up to `seq`, once. Every
-- write transaction moves the cursors past the events it appended before it commits.
CREATE TABLE reaction_cursors (
    name  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL
) WITHOUT ROWID;

-- The reactions of this version start where the log ends: before cursors, every commit
-- had already resolved readiness.
INSERT INTO reaction_cursors (name, seq)
    SELECT 'readiness', coalesce(max(seq), 0) FROM events
    UNION ALL SELECT 'witness', coalesce(max(seq), 0) FROM events;

-- Diagnostics only: with CLEARCTX_WITNESS_EVENTS=1 the `witness` reaction writes one row per
-- event it sees and the process that saw it, so a test can show each event is seen once.
CREATE TABLE event_witness (
    seq  INTEGER NOT NULL,
    pid  INTEGER NOT NULL
);

-- Lists read a page straight off an index in their order instead of sorting every row.
CREATE INDEX contracts_rank ON contracts(priority DESC, created_at_ms, contract_id);
CREATE INDEX contracts_status_rank ON contracts(status, priority DESC, created_at_ms, contract_id);
CREATE INDEX contracts_assignee_rank ON contracts(assignee, priority DESC, created_at_ms, contract_id);
DROP INDEX contracts_status;
DROP INDEX contracts_assignee;
CREATE INDEX sessions_age ON sessions(created_at_ms, name);
