-- clearctx schema, version 7: team members (team_spawn).

-- A session spawned as a member of a team: its role, its phase and, when isolated, the git
-- worktree clearctx made for it. Deleting the session drops its membership.
CREATE TABLE team_members (
    name          TEXT PRIMARY KEY REFERENCES sessions(name) ON DELETE CASCADE,
    team          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    phase         INTEGER,
    isolation     TEXT    NOT NULL,          -- none | worktree
    repo          TEXT,                      -- the main checkout's top level
    worktree      TEXT,
    branch        TEXT,
    base_commit   TEXT,                      -- HEAD of the repo when the worktree was made
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX team_members_team ON team_members(team, created_at_ms, name);
