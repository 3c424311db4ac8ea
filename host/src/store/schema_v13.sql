-- clearctx schema, version 13: smaller commits. A publish wrote 11 to 14 pages, and most of
-- them came from two choices of version 1 that suit small rows, not artifact data:
-- * `artifact_versions` was WITHOUT ROWID, keyed by (artifact_id, version), with the data
--   inline: a 1 KB version fits three to a page, and the versions of interleaved artifacts
--   split pages in the middle of the tree on most inserts (SQLite advises WITHOUT ROWID
--   only for rows under about a twentieth of a page). Keyed by `seq` (one event per
--   version, appended in order), a new version lands on the last page; the old key stays a
--   unique index, which the foreign keys to it name, and the `seq` index is the table.
-- * `events` used AUTOINCREMENT, whose `sqlite_sequence` row is one more page per commit.
--   Events are never deleted, so a plain INTEGER PRIMARY KEY (the largest plus one) is as
--   monotonic and never reuses a number.
-- Both tables are rebuilt as SQLite's ALTER TABLE documentation says (new table, copy,
-- drop, rename), with foreign keys off around the migration and checked after it.

CREATE TABLE events_v13 (
    seq      INTEGER PRIMARY KEY,                 -- monotonic: events are never deleted
    at_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,                    -- e.g. artifact.published, contract.ready
    actor    TEXT    NOT NULL,                    -- session that caused it (or `clearctx`)
    team     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,                    -- e.g. artifact:api-spec, contract:build-api
    payload  TEXT    NOT NULL                     -- JSON
);
INSERT INTO events_v13 (seq, at_ms, kind, actor, team, subject, payload)
    SELECT seq, at_ms, kind, actor, team, subject, payload FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_v13 RENAME TO events;
CREATE INDEX events_subject ON events(subject, seq);
DELETE FROM sqlite_sequence WHERE name = 'events';

-- Immutable: rows are inserted, never updated or deleted.
CREATE TABLE artifact_versions_v13 (
    artifact_id   TEXT    NOT NULL REFERENCES artifacts(artifact_id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    data          TEXT    NOT NULL,               -- JSON
    sha256        TEXT    NOT NULL,
    summary       TEXT,
    publisher     TEXT    NOT NULL,
    published_at_ms INTEGER NOT NULL,
    seq           INTEGER PRIMARY KEY REFERENCES events(seq),
    UNIQUE (artifact_id, version)
);
INSERT INTO artifact_versions_v13
    (artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq)
    SELECT artifact_id, version, data, sha256, summary, publisher, published_at_ms, seq
    FROM artifact_versions ORDER BY seq;
DROP TABLE artifact_versions;
ALTER TABLE artifact_versions_v13 RENAME TO artifact_versions;
CREATE INDEX artifact_versions_publisher ON artifact_versions(publisher);
