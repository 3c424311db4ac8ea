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
