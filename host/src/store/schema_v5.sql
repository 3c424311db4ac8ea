-- clearctx schema, version 5: staleness, kept by the `staleness` reaction in the publishing
-- transaction, so `stale_check` reads state instead of walking the lineage graph.

-- A version with at least one stale cause. `superseded` is 1 once a newer version of the
-- same artifact exists: `stale_check` lists only the latest versions (superseded = 0).
CREATE TABLE stale_versions (
    artifact_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    team         TEXT    NOT NULL,
    superseded   INTEGER NOT NULL CHECK (superseded IN (0, 1)),
    since_seq    INTEGER NOT NULL,               -- the `artifact.stale` event
    at_ms        INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, version),
    FOREIGN KEY (artifact_id, version) REFERENCES artifact_versions(artifact_id, version)
) WITHOUT ROWID;
CREATE INDEX stale_versions_latest ON stale_versions(superseded, team, artifact_id);

-- Why a version is stale: the root input version (`input_id`, `input_version`) that has a
-- newer version, reached through `via` (this version's own input on a shortest path to the
-- root; NULL when the root is a direct input) in `depth` hops (0: direct). A path is read by
-- following `via`, one primary-key lookup per hop, so a row costs the same however deep
-- the graph. Rows are immutable; the root's latest version is read at query time.
CREATE TABLE stale_causes (
    artifact_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    input_id       TEXT    NOT NULL,
    input_version  INTEGER NOT NULL,
    via_id         TEXT,
    via_version    INTEGER,
    depth          INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, version, input_id, input_version)
) WITHOUT ROWID;

-- The artifact versions a completed contract recorded as its outputs (an index of
-- `contracts.outputs`, rewritten with it when the contract completes); `stale` is set when
-- the version becomes stale, so stale contracts are read off a small partial index.
CREATE TABLE contract_outputs (
    contract_id  TEXT    NOT NULL REFERENCES contracts(contract_id),
    artifact_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    stale        INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
    PRIMARY KEY (contract_id, artifact_id, version)
) WITHOUT ROWID;
CREATE INDEX contract_outputs_version ON contract_outputs(artifact_id, version);
CREATE INDEX contract_outputs_stale ON contract_outputs(contract_id) WHERE stale = 1;

INSERT OR IGNORE INTO contract_outputs (contract_id, artifact_id, version)
    SELECT c.contract_id, json_extract(j.value, '$.artifact_id'), json_extract(j.value, '$.version')
    FROM contracts c, json_each(c.outputs) j
    WHERE c.outputs IS NOT NULL AND json_extract(j.value, '$.artifact_id') IS NOT NULL;

-- Staleness starts where the log ends: versions published before this schema are not
-- re-examined (a later publish of an input still marks their consumers).
INSERT INTO reaction_cursors (name, seq)
    SELECT 'staleness', coalesce(max(seq), 0) FROM events;
