-- Continuity (issue 13): what a Claude Code session's project looked like when one of its
-- hooks (or `session_checkpoint`) ran, so the next session's briefing says what changed
-- since. Operational records like pipeline firings, not events: a Stop hook runs after
-- every turn, and the log would fill with them.
CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project     TEXT    NOT NULL,  -- the git top level, else the working directory
    session_id  TEXT    NOT NULL,  -- Claude Code's session id ('' when none was given)
    trigger     TEXT    NOT NULL,  -- session-start, stop, pre-compact, session-end, tool, cli
    at_ms       INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,  -- the end of the event log then
    state       TEXT    NOT NULL   -- JSON: git branch, HEAD, changed files, contracts, unread, note
);
CREATE INDEX checkpoints_project ON checkpoints(project, id);

-- The briefing's "new artifact versions since the last checkpoint", off an index.
CREATE INDEX artifact_versions_seq ON artifact_versions(seq);

-- The decision journal: what was decided, why, what else was considered, and the files
-- and artifact versions it rests on, so a briefing can flag a decision whose ground moved.
-- Immutable rows, each written with its `decision.recorded` event.
CREATE TABLE decisions (
    decision_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    team           TEXT    NOT NULL,
    what           TEXT    NOT NULL,
    why            TEXT    NOT NULL,
    alternatives   TEXT    NOT NULL,  -- JSON list of strings
    tags           TEXT    NOT NULL,  -- JSON list of strings
    project        TEXT    NOT NULL,  -- the directory `files` are relative to ('' when none)
    files          TEXT    NOT NULL,  -- JSON list of {path, sha256} as the files were then
    artifacts      TEXT    NOT NULL,  -- JSON list of {artifact_id, version}
    recorded_by    TEXT    NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    seq            INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX decisions_team ON decisions(team, decision_id);
-- Full-text search over what, why, alternatives and tags (SQLite's FTS5, compiled into
-- rusqlite's bundled SQLite). Contentless: only rowids come back, joined to `decisions`.
CREATE VIRTUAL TABLE decisions_fts USING fts5(what, why, alternatives, tags, content='');

-- Patterns: a team's named, reusable ways of doing a thing (an error type, a test layout),
-- so a worker follows the team's instead of inventing one. Re-registering a name makes
-- its next version; the `pattern.registered` events keep the earlier ones.
CREATE TABLE patterns (
    team           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    description    TEXT    NOT NULL,
    body           TEXT    NOT NULL,  -- the pattern itself: text, usually with an example
    tags           TEXT    NOT NULL,  -- JSON list of strings
    registered_by  TEXT    NOT NULL,
    registered_at_ms INTEGER NOT NULL,
    seq            INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (team, name)
) WITHOUT ROWID;
