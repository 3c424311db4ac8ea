-- clearctx schema, version 1. Append-only: a new version is a new file, never an edit.

-- The spine: every change appends here, in the same transaction as the state it changes.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,   -- monotonic, never reused
    at_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,                    -- e.g. artifact.published, contract.ready
    actor    TEXT    NOT NULL,                    -- session that caused it (or `clearctx`)
    team     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,                    -- e.g. artifact:api-spec, contract:build-api
    payload  TEXT    NOT NULL                     -- JSON
);
CREATE INDEX events_subject ON events(subject, seq);

CREATE TABLE artifacts (
    artifact_id     TEXT PRIMARY KEY,
    type            TEXT    NOT NULL,
    team            TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    latest_version  INTEGER NOT NULL
);
CREATE INDEX artifacts_type ON artifacts(type);

-- Immutable: rows are inserted, never updated or deleted.
CREATE TABLE artifact_versions (
    artifact_id   TEXT    NOT NULL REFERENCES artifacts(artifact_id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    data          TEXT    NOT NULL,               -- JSON
    sha256        TEXT    NOT NULL,
    summary       TEXT,
    publisher     TEXT    NOT NULL,
    published_at_ms INTEGER NOT NULL,
    seq           INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (artifact_id, version)
) WITHOUT ROWID;
CREATE INDEX artifact_versions_publisher ON artifact_versions(publisher);

-- Lineage: output version -> the exact input versions it was derived from.
CREATE TABLE lineage_edges (
    artifact_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    input_id       TEXT    NOT NULL,
    input_version  INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, version, input_id, input_version),
    FOREIGN KEY (artifact_id, version) REFERENCES artifact_versions(artifact_id, version),
    FOREIGN KEY (input_id, input_version) REFERENCES artifact_versions(artifact_id, version)
) WITHOUT ROWID;
CREATE INDEX lineage_inputs ON lineage_edges(input_id, input_version);

CREATE TABLE artifact_reads (
    id           INTEGER PRIMARY KEY,
    artifact_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    reader       TEXT    NOT NULL,
    read_at_ms   INTEGER NOT NULL,
    FOREIGN KEY (artifact_id, version) REFERENCES artifact_versions(artifact_id, version)
);
CREATE INDEX artifact_reads_artifact ON artifact_reads(artifact_id, version);

CREATE TABLE contracts (
    contract_id     TEXT PRIMARY KEY,
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    assignee        TEXT    NOT NULL,
    assigner        TEXT    NOT NULL,
    team            TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending','ready','in_progress','completed','failed')),
    priority        INTEGER NOT NULL,             -- 0 low .. 3 critical
    inputs          TEXT    NOT NULL,             -- JSON object
    acceptance_criteria TEXT NOT NULL,            -- JSON array of strings
    timeout_s       INTEGER,
    max_retries     INTEGER,
    retries         INTEGER NOT NULL DEFAULT 0,
    reason          TEXT,                         -- why it failed or was reopened
    result          TEXT,                         -- JSON given on completion
    outputs         TEXT,                         -- JSON: artifact versions that satisfied expected_outputs
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    ready_seq       INTEGER,                      -- event seq of the latest transition to ready
    started_at_ms   INTEGER,
    deadline_at_ms  INTEGER                       -- started_at + timeout_s while in progress
);
CREATE INDEX contracts_status ON contracts(status);
CREATE INDEX contracts_assignee ON contracts(assignee);
CREATE INDEX contracts_deadline ON contracts(deadline_at_ms) WHERE status = 'in_progress';

CREATE TABLE contract_dependencies (
    contract_id  TEXT    NOT NULL REFERENCES contracts(contract_id),
    position     INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('artifact','contract')),
    target_id    TEXT    NOT NULL,
    min_version  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;
CREATE INDEX contract_dependencies_target ON contract_dependencies(kind, target_id);

CREATE TABLE contract_expected_outputs (
    contract_id    TEXT    NOT NULL REFERENCES contracts(contract_id),
    position       INTEGER NOT NULL,
    artifact_type  TEXT,
    artifact_id    TEXT,
    required       INTEGER NOT NULL,
    CHECK ((artifact_type IS NULL) <> (artifact_id IS NULL)),
    PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;

-- Notifications for sessions; the team tools read and mark them.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT    NOT NULL,
    team        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    seq         INTEGER NOT NULL REFERENCES events(seq),
    created_at_ms INTEGER NOT NULL,
    read_at_ms  INTEGER
);
CREATE INDEX inbox_unread ON inbox(recipient, read_at_ms);
