-- clearctx schema, version 2: sessions, the Claude Code workers driven over stream-json.

CREATE TABLE sessions (
    name              TEXT PRIMARY KEY,
    team              TEXT    NOT NULL,
    parent            TEXT,                -- the session that delegated it: the budget tree
    kind              TEXT    NOT NULL,    -- session | delegate
    status            TEXT    NOT NULL,    -- starting | idle | busy | paused | stopped | failed
    claude_session_id TEXT,                -- Claude Code's id, for --resume
    fork_from         TEXT,                -- Claude id to fork from while ours is not known yet
    config            TEXT    NOT NULL,    -- JSON: how to start the process again
    max_cost_usd      REAL,
    max_turns         INTEGER,
    cost_usd          REAL    NOT NULL DEFAULT 0,  -- summed over every process of the session
    turns             INTEGER NOT NULL DEFAULT 0,
    process_cost_usd  REAL    NOT NULL DEFAULT 0,  -- total_cost_usd last seen from this process
    owner_id          TEXT,                -- the clearctx process running it (random per process)
    owner_pid         INTEGER,
    heartbeat_ms      INTEGER,
    pid               INTEGER,             -- the claude process
    last_output       TEXT,
    last_error        TEXT,
    stderr_tail       TEXT,
    stop_reason       TEXT,
    task_status       TEXT,                -- delegated tasks: completed, needs_input, failed, ...
    created_by        TEXT    NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX sessions_parent ON sessions(parent);
CREATE INDEX sessions_owner ON sessions(owner_id);

-- What each session said and was told, in order.
CREATE TABLE session_messages (
    name    TEXT    NOT NULL REFERENCES sessions(name) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at_ms   INTEGER NOT NULL,
    role    TEXT    NOT NULL,              -- user | assistant | tool | result | error
    text    TEXT    NOT NULL,
    data    TEXT,                          -- JSON details
    PRIMARY KEY (name, seq)
) WITHOUT ROWID;

-- Work for the process that runs a session: turns and controls, queued by any clearctx
-- process and carried out by the owner; the requester waits on the row.
CREATE TABLE session_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL REFERENCES sessions(name) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,        -- turn | stop | kill | pause | unpause
    message       TEXT,
    status        TEXT    NOT NULL,        -- queued | running | done
    outcome       TEXT,                    -- JSON, when done
    created_by    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    done_at_ms    INTEGER
);
CREATE INDEX session_requests_open ON session_requests(name, status);
