-- clearctx schema, version 9: team snapshots (team_snapshot, team_rollback, team_replay).

-- An artifact's current version (`latest_version`, what every reader reads) and its
-- highest (`max_version`, where the next publish goes on from) differ after a rollback:
-- versions are never reused, so a publish after one gets max_version + 1.
ALTER TABLE artifacts ADD COLUMN max_version INTEGER NOT NULL DEFAULT 0;
UPDATE artifacts SET max_version = latest_version;

-- A snapshot copies the team's coordination rows, so its cost follows the team's state,
-- never the length of the log; these indexes find that state.
CREATE INDEX contracts_team ON contracts(team, contract_id);
CREATE INDEX artifacts_team ON artifacts(team, artifact_id);

-- A label on an event `seq` (its `team.snapshot_taken` event) of one team.
CREATE TABLE snapshots (
    snapshot_id    INTEGER PRIMARY KEY,
    team           TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    seq            INTEGER NOT NULL REFERENCES events(seq),
    created_by     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    contracts      INTEGER NOT NULL,
    artifacts      INTEGER NOT NULL,
    pipelines      INTEGER NOT NULL,
    members        INTEGER NOT NULL,
    UNIQUE (team, label)
);
CREATE INDEX snapshots_team ON snapshots(team, snapshot_id);

-- The mutable fields of each contract of the team (the rest never changes after create).
CREATE TABLE snapshot_contracts (
    snapshot_id    INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
    contract_id    TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    inputs         TEXT    NOT NULL,
    retries        INTEGER NOT NULL,
    reason         TEXT,
    result         TEXT,
    outputs        TEXT,
    updated_at_ms  INTEGER NOT NULL,
    ready_seq      INTEGER,
    started_at_ms  INTEGER,
    deadline_at_ms INTEGER,
    PRIMARY KEY (snapshot_id, contract_id)
) WITHOUT ROWID;

-- Each artifact's current version.
CREATE TABLE snapshot_artifacts (
    snapshot_id    INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
    artifact_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, artifact_id)
) WITHOUT ROWID;

-- Each pipeline with its rules (JSON: [[rule_index, trigger_type, rule], …]).
CREATE TABLE snapshot_pipelines (
    snapshot_id    INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
    pipeline_id    TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    enabled        INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    creator_bound  INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    rules          TEXT    NOT NULL,
    PRIMARY KEY (snapshot_id, pipeline_id)
) WITHOUT ROWID;

-- The roster: each member's `team_members` row.
CREATE TABLE snapshot_members (
    snapshot_id    INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    phase          INTEGER,
    isolation      TEXT    NOT NULL,
    repo           TEXT,
    worktree       TEXT,
    branch         TEXT,
    base_commit    TEXT,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, name)
) WITHOUT ROWID;
