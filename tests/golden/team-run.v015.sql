PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE artifacts (
    artifact_id     TEXT PRIMARY KEY,
    type            TEXT    NOT NULL,
    team            TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    latest_version  INTEGER NOT NULL
, max_version INTEGER NOT NULL DEFAULT 0, latest_publisher TEXT NOT NULL DEFAULT '');
INSERT INTO artifacts VALUES('user-schema','schema-change','default','orchestrator',1796353075753,1,1,'orchestrator');
INSERT INTO artifacts VALUES('api-contract-user-auth','api-contract','default','api-dev',1796353075768,2,2,'api-dev');
INSERT INTO artifacts VALUES('auth-tests','json','default','qa-dev',1796353075775,0,1,'');
CREATE TABLE lineage_edges (
    artifact_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    input_id       TEXT    NOT NULL,
    input_version  INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, version, input_id, input_version),
    FOREIGN KEY (artifact_id, version) REFERENCES artifact_versions(artifact_id, version),
    FOREIGN KEY (input_id, input_version) REFERENCES artifact_versions(artifact_id, version)
) WITHOUT ROWID;
INSERT INTO lineage_edges VALUES('auth-tests',1,'api-contract-user-auth',1);
INSERT INTO lineage_edges VALUES('api-contract-user-auth',1,'user-schema',1);
INSERT INTO lineage_edges VALUES('api-contract-user-auth',2,'user-schema',1);
CREATE TABLE artifact_reads (
    id           INTEGER PRIMARY KEY,
    artifact_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    reader       TEXT    NOT NULL,
    read_at_ms   INTEGER NOT NULL,
    FOREIGN KEY (artifact_id, version) REFERENCES artifact_versions(artifact_id, version)
);
INSERT INTO artifact_reads VALUES(1,'api-contract-user-auth',1,'qa-dev',1796353075772);
INSERT INTO artifact_reads VALUES(2,'api-contract-user-auth',1,'orchestrator',1796353075794);
INSERT INTO artifact_reads VALUES(3,'api-contract-user-auth',2,'orchestrator',1796353075795);
INSERT INTO artifact_reads VALUES(4,'user-schema',1,'orchestrator',1796353075796);
INSERT INTO artifact_reads VALUES(5,'auth-tests',1,'orchestrator',1796353075797);
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
INSERT INTO contracts VALUES('build-api','Build the auth API','','api-dev','orchestrator','default','completed',1,'{"context":"Use GraphQL instead of REST"}','[]',NULL,NULL,0,NULL,NULL,'[{"artifact_id":"api-contract-user-auth","version":2}]',1796353075758,1796353075784,4,1796353075781,NULL);
INSERT INTO contracts VALUES('write-tests','Test the auth API','','qa-dev','orchestrator','default','ready',1,'{}','[]',NULL,NULL,0,NULL,NULL,NULL,1796353075759,1796353075784,19,NULL,NULL);
CREATE TABLE contract_dependencies (
    contract_id  TEXT    NOT NULL REFERENCES contracts(contract_id),
    position     INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('artifact','contract')),
    target_id    TEXT    NOT NULL,
    min_version  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;
INSERT INTO contract_dependencies VALUES('build-api',0,'artifact','user-schema',1);
INSERT INTO contract_dependencies VALUES('write-tests',0,'contract','build-api',1);
CREATE TABLE contract_expected_outputs (
    contract_id    TEXT    NOT NULL REFERENCES contracts(contract_id),
    position       INTEGER NOT NULL,
    artifact_type  TEXT,
    artifact_id    TEXT,
    required       INTEGER NOT NULL,
    CHECK ((artifact_type IS NULL) <> (artifact_id IS NULL)),
    PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;
INSERT INTO contract_expected_outputs VALUES('build-api',0,'api-contract',NULL,1);
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
, sender TEXT, ask_id TEXT, delivered_at_ms INTEGER);
INSERT INTO inbox VALUES(1,'api-dev','default','contract_ready','contract:build-api','Contract `build-api` (Build the auth API) is ready for you. Call contract_start, do the work, publish the expected outputs, then contract_complete.',4,1796353075758,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(2,'orchestrator','default','contract_ready','contract:build-api','Contract `build-api` (Build the auth API), which you assigned to api-dev, is ready.',4,1796353075758,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(3,'orchestrator','default','contract_completed','contract:build-api','Contract `build-api` (Build the auth API) was completed by api-dev.',9,1796353075770,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(4,'qa-dev','default','contract_ready','contract:write-tests','Contract `write-tests` (Test the auth API) is ready for you. Call contract_start, do the work, publish the expected outputs, then contract_complete.',10,1796353075770,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(5,'orchestrator','default','contract_ready','contract:write-tests','Contract `write-tests` (Test the auth API), which you assigned to qa-dev, is ready.',10,1796353075770,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(6,'qa-dev','default','pipeline','pipeline:tell-qa','something was built',9,1796353075770,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(7,'orchestrator','default','contract_completed','contract:write-tests','Contract `write-tests` (Test the auth API) was completed by qa-dev.',13,1796353075776,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(8,'qa-dev','default','pipeline','pipeline:tell-qa','something was built',13,1796353075776,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(9,'api-dev','default','team_rolled_back','snapshot:default:pre-work','Team `default` was rolled back to snapshot `pre-work` by orchestrator: 2 contract(s) restored, 0 withdrawn, 2 artifact(s) moved; re-read your contract before going on.',15,1796353075779,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(10,'qa-dev','default','team_rolled_back','snapshot:default:pre-work','Team `default` was rolled back to snapshot `pre-work` by orchestrator: 2 contract(s) restored, 0 withdrawn, 2 artifact(s) moved; re-read your contract before going on.',15,1796353075779,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(11,'orchestrator','default','contract_completed','contract:build-api','Contract `build-api` (Build the auth API) was completed by api-dev.',18,1796353075784,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(12,'qa-dev','default','contract_ready','contract:write-tests','Contract `write-tests` (Test the auth API) is ready for you. Call contract_start, do the work, publish the expected outputs, then contract_complete.',19,1796353075784,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(13,'orchestrator','default','contract_ready','contract:write-tests','Contract `write-tests` (Test the auth API), which you assigned to qa-dev, is ready.',19,1796353075784,NULL,NULL,NULL,NULL);
INSERT INTO inbox VALUES(14,'qa-dev','default','pipeline','pipeline:tell-qa','something was built',18,1796353075784,NULL,NULL,NULL,NULL);
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
CREATE TABLE session_messages (
    name    TEXT    NOT NULL REFERENCES sessions(name) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at_ms   INTEGER NOT NULL,
    role    TEXT    NOT NULL,              -- user | assistant | tool | result | error
    text    TEXT    NOT NULL,
    data    TEXT,                          -- JSON details
    PRIMARY KEY (name, seq)
) WITHOUT ROWID;
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
CREATE TABLE event_witness (
    seq  INTEGER NOT NULL,
    pid  INTEGER NOT NULL
);
CREATE TABLE pipelines (
    pipeline_id    TEXT PRIMARY KEY,
    team           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_by     TEXT    NOT NULL,
    -- Whether the creator was a bound worker: actions act with the creator's authority.
    creator_bound  INTEGER NOT NULL CHECK (creator_bound IN (0, 1)),
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO pipelines VALUES('tell-qa','default','',1,'orchestrator',0,1796353075756,1796353075756);
CREATE TABLE pipeline_rules (
    pipeline_id    TEXT    NOT NULL REFERENCES pipelines(pipeline_id),
    rule_index     INTEGER NOT NULL,
    trigger_type   TEXT    NOT NULL,
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),  -- the pipeline's, copied
    rule           TEXT    NOT NULL,                            -- JSON, as given
    PRIMARY KEY (pipeline_id, rule_index)
) WITHOUT ROWID;
INSERT INTO pipeline_rules VALUES('tell-qa',0,'contract_completed',1,'{"trigger":{"type":"contract_completed"},"action":{"type":"notify_session","target":"qa-dev","message":"something was built"}}');
CREATE TABLE pipeline_firings (
    id             INTEGER PRIMARY KEY,
    pipeline_id    TEXT    NOT NULL,
    -- NULL on a `skipped` row: one row stands for every rule of the pipeline whose condition
    -- was false for the event (listed in `detail`), the commonest case by far.
    rule_index     INTEGER,
    rule_name      TEXT,
    seq            INTEGER NOT NULL REFERENCES events(seq),  -- the triggering event
    event_kind     TEXT    NOT NULL,
    depth          INTEGER NOT NULL,   -- 1 for an event nobody's rule caused
    condition      INTEGER,            -- 1 true, 0 false, NULL: no condition or it failed
    outcome        TEXT    NOT NULL CHECK (outcome IN ('done','skipped','failed','refused','cascade_stopped')),
    detail         TEXT    NOT NULL,   -- JSON: the commands run, or the error
    receipt        TEXT,               -- JSON: what the plugin calls used
    at_ms          INTEGER NOT NULL
);
INSERT INTO pipeline_firings VALUES(1,'tell-qa',0,'rule-0',9,'contract.completed',1,NULL,'done','{"commands":[{"command":"notify_session","message":"something was built","target":"qa-dev"}]}',NULL,1796353075770);
INSERT INTO pipeline_firings VALUES(2,'tell-qa',0,'rule-0',13,'contract.completed',1,NULL,'done','{"commands":[{"command":"notify_session","message":"something was built","target":"qa-dev"}]}',NULL,1796353075776);
INSERT INTO pipeline_firings VALUES(3,'tell-qa',0,'rule-0',18,'contract.completed',1,NULL,'done','{"commands":[{"command":"notify_session","message":"something was built","target":"qa-dev"}]}',NULL,1796353075784);
CREATE TABLE event_causes (
    seq        INTEGER PRIMARY KEY REFERENCES events(seq),
    firing_id  INTEGER NOT NULL REFERENCES pipeline_firings(id),
    depth      INTEGER NOT NULL
);
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
CREATE TABLE contract_outputs (
    contract_id  TEXT    NOT NULL REFERENCES contracts(contract_id),
    artifact_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    stale        INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
    PRIMARY KEY (contract_id, artifact_id, version)
) WITHOUT ROWID;
INSERT INTO contract_outputs VALUES('build-api','api-contract-user-auth',2,0);
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
CREATE TABLE chat_sends (
    seq       INTEGER PRIMARY KEY REFERENCES events(seq),
    team      TEXT    NOT NULL,
    sender    TEXT    NOT NULL,
    recipient TEXT,                          -- NULL for a broadcast
    pair      TEXT,                          -- the two names, sorted, for a direct message
    kind      TEXT    NOT NULL,              -- message | broadcast | question | answer
    at_ms     INTEGER NOT NULL
);
CREATE TABLE chat_asks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    team           TEXT    NOT NULL,
    asker          TEXT    NOT NULL,
    asked          TEXT    NOT NULL,
    question       TEXT    NOT NULL,
    depth          INTEGER NOT NULL,
    asked_at_ms    INTEGER NOT NULL,
    deadline_ms    INTEGER NOT NULL,         -- when the asker stops waiting
    answer         TEXT,
    answered_at_ms INTEGER
);
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
INSERT INTO snapshots VALUES(1,'default','pre-work','before any work',6,'orchestrator',1796353075762,2,1,1,0);
INSERT INTO snapshots VALUES(2,'default','rest-done','',14,'orchestrator',1796353075778,2,3,1,0);
INSERT INTO snapshots VALUES(3,'default','graphql-done','after the replay',21,'orchestrator',1796353075791,2,3,1,0);
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
INSERT INTO snapshot_contracts VALUES(1,'build-api','ready','{"context":"Use REST"}',0,NULL,NULL,NULL,1796353075758,4,NULL,NULL);
INSERT INTO snapshot_contracts VALUES(1,'write-tests','pending','{}',0,NULL,NULL,NULL,1796353075759,NULL,NULL,NULL);
INSERT INTO snapshot_contracts VALUES(2,'build-api','completed','{"context":"Use REST"}',0,NULL,NULL,'[{"artifact_id":"api-contract-user-auth","version":1}]',1796353075770,4,1796353075763,NULL);
INSERT INTO snapshot_contracts VALUES(2,'write-tests','completed','{}',0,NULL,NULL,'[]',1796353075776,10,1796353075773,NULL);
INSERT INTO snapshot_contracts VALUES(3,'build-api','completed','{"context":"Use GraphQL instead of REST"}',0,NULL,NULL,'[{"artifact_id":"api-contract-user-auth","version":2}]',1796353075784,4,1796353075781,NULL);
INSERT INTO snapshot_contracts VALUES(3,'write-tests','ready','{}',0,NULL,NULL,NULL,1796353075784,19,NULL,NULL);
CREATE TABLE snapshot_artifacts (
    snapshot_id    INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
    artifact_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, artifact_id)
) WITHOUT ROWID;
INSERT INTO snapshot_artifacts VALUES(1,'user-schema',1);
INSERT INTO snapshot_artifacts VALUES(2,'api-contract-user-auth',1);
INSERT INTO snapshot_artifacts VALUES(2,'auth-tests',1);
INSERT INTO snapshot_artifacts VALUES(2,'user-schema',1);
INSERT INTO snapshot_artifacts VALUES(3,'api-contract-user-auth',2);
INSERT INTO snapshot_artifacts VALUES(3,'auth-tests',0);
INSERT INTO snapshot_artifacts VALUES(3,'user-schema',1);
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
INSERT INTO snapshot_pipelines VALUES(1,'tell-qa','',1,'orchestrator',0,1796353075756,1796353075756,'[[0,"contract_completed","{\"trigger\":{\"type\":\"contract_completed\"},\"action\":{\"type\":\"notify_session\",\"target\":\"qa-dev\",\"message\":\"something was built\"}}"]]');
INSERT INTO snapshot_pipelines VALUES(2,'tell-qa','',1,'orchestrator',0,1796353075756,1796353075756,'[[0,"contract_completed","{\"trigger\":{\"type\":\"contract_completed\"},\"action\":{\"type\":\"notify_session\",\"target\":\"qa-dev\",\"message\":\"something was built\"}}"]]');
INSERT INTO snapshot_pipelines VALUES(3,'tell-qa','',1,'orchestrator',0,1796353075756,1796353075756,'[[0,"contract_completed","{\"trigger\":{\"type\":\"contract_completed\"},\"action\":{\"type\":\"notify_session\",\"target\":\"qa-dev\",\"message\":\"something was built\"}}"]]');
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
CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project     TEXT    NOT NULL,  -- the git top level, else the working directory
    session_id  TEXT    NOT NULL,  -- Claude Code's session id ('' when none was given)
    trigger     TEXT    NOT NULL,  -- session-start, stop, pre-compact, session-end, tool, cli
    at_ms       INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,  -- the end of the event log then
    state       TEXT    NOT NULL   -- JSON: git branch, HEAD, changed files, contracts, unread, note
);
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
INSERT INTO decisions VALUES(1,'default','GraphQL for the auth API','clients batch their reads','["REST"]','["api"]','','[]','[{"artifact_id":"api-contract-user-auth","version":2}]','orchestrator',1796353075785,20);
PRAGMA writable_schema=ON;
INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','decisions_fts','decisions_fts',0,'CREATE VIRTUAL TABLE decisions_fts USING fts5(what, why, alternatives, tags, content='''')');
CREATE TABLE IF NOT EXISTS 'decisions_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
INSERT INTO decisions_fts_data VALUES(1,X'0105040101');
INSERT INTO decisions_fts_data VALUES(10,X'000000000101010001010101');
INSERT INTO decisions_fts_data VALUES(137438953473,X'0000006b043061706901080601030202037574680102050105626174636801060101030107636c69656e747301060101020103666f7201020301076772617068716c0102020105726561647301060101050302737401060102020103746865010204040269720106010104040b080c0e080c0c0908');
CREATE TABLE IF NOT EXISTS 'decisions_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
INSERT INTO decisions_fts_idx VALUES(1,X'',2);
CREATE TABLE IF NOT EXISTS 'decisions_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
INSERT INTO decisions_fts_docsize VALUES(1,X'05040101');
CREATE TABLE IF NOT EXISTS 'decisions_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO decisions_fts_config VALUES('version',4);
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
CREATE TABLE pipeline_revision (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    -- Random per database: two databases at the same revision are told apart.
    epoch  INTEGER NOT NULL,
    rev    INTEGER NOT NULL
);
INSERT INTO pipeline_revision VALUES(1,-2709123022603113966,2);
CREATE TABLE IF NOT EXISTS "events" (
    seq      INTEGER PRIMARY KEY,                 -- monotonic: events are never deleted
    at_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,                    -- e.g. artifact.published, contract.ready
    actor    TEXT    NOT NULL,                    -- session that caused it (or `clearctx`)
    team     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,                    -- e.g. artifact:api-spec, contract:build-api
    payload  TEXT    NOT NULL                     -- JSON
);
INSERT INTO events VALUES(1,1796353075753,'artifact.published','orchestrator','default','artifact:user-schema','{"artifact_id":"user-schema","derived_from":[],"sha256":"7a75cde374d6d6af449dba17215bf500c155c299c5c54c8bab88c0f315702b2f","summary":null,"type":"schema-change","validated_by":{"plugin":"std-json-schema","plugin_version":"0.1.0","receipt":{"fuel_used":14585735,"peak_memory_bytes":2031616,"wall_us":2293}},"version":1}');
INSERT INTO events VALUES(2,1796353075756,'pipeline.created','orchestrator','default','pipeline:tell-qa','{"enabled":true,"pipeline_id":"tell-qa","replaced":false,"rules":1}');
INSERT INTO events VALUES(3,1796353075758,'contract.created','orchestrator','default','contract:build-api','{"assignee":"api-dev","assigner":"orchestrator","contract_id":"build-api","dependencies":[{"id":"user-schema","min_version":null,"type":"artifact"}],"expected_outputs":[{"artifact_id":null,"artifact_type":"api-contract","required":true}],"inputs":{"context":"Use REST"},"priority":"normal","title":"Build the auth API"}');
INSERT INTO events VALUES(4,1796353075758,'contract.ready','clearctx','default','contract:build-api','{"assignee":"api-dev","contract_id":"build-api"}');
INSERT INTO events VALUES(5,1796353075759,'contract.created','orchestrator','default','contract:write-tests','{"assignee":"qa-dev","assigner":"orchestrator","contract_id":"write-tests","dependencies":[{"id":"build-api","min_version":null,"type":"contract"}],"expected_outputs":[],"inputs":{},"priority":"normal","title":"Test the auth API"}');
INSERT INTO events VALUES(6,1796353075762,'team.snapshot_taken','orchestrator','default','snapshot:default:pre-work','{"description":"before any work","label":"pre-work"}');
INSERT INTO events VALUES(7,1796353075763,'contract.started','api-dev','default','contract:build-api','{"by":"api-dev","contract_id":"build-api","deadline_at":null}');
INSERT INTO events VALUES(8,1796353075768,'artifact.published','api-dev','default','artifact:api-contract-user-auth','{"artifact_id":"api-contract-user-auth","derived_from":[{"artifact_id":"user-schema","version":1}],"sha256":"48842b6f08a772298e4bfa0e446c8df92612e504b41019aebc3ed89c1f8b2390","summary":"REST auth API","type":"api-contract","validated_by":{"plugin":"std-json-schema","plugin_version":"0.1.0","receipt":{"fuel_used":15350459,"peak_memory_bytes":2031616,"reused":true,"wall_us":3390}},"version":1}');
INSERT INTO events VALUES(9,1796353075770,'contract.completed','api-dev','default','contract:build-api','{"by":"api-dev","contract_id":"build-api","outputs":[{"artifact_id":"api-contract-user-auth","version":1}],"summary":null}');
INSERT INTO events VALUES(10,1796353075770,'contract.ready','clearctx','default','contract:write-tests','{"assignee":"qa-dev","contract_id":"write-tests"}');
INSERT INTO events VALUES(11,1796353075773,'contract.started','qa-dev','default','contract:write-tests','{"by":"qa-dev","contract_id":"write-tests","deadline_at":null}');
INSERT INTO events VALUES(12,1796353075775,'artifact.published','qa-dev','default','artifact:auth-tests','{"artifact_id":"auth-tests","derived_from":[{"artifact_id":"api-contract-user-auth","version":1}],"sha256":"c6329da3c7641753fa53f5878321a4735e6e1d5b77d32c646a6f784d36c97fd1","summary":null,"type":"json","validated_by":{"plugin":"std-json-schema","plugin_version":"0.1.0","receipt":{"fuel_used":1253,"peak_memory_bytes":1638400,"reused":true,"wall_us":75}},"version":1}');
INSERT INTO events VALUES(13,1796353075776,'contract.completed','qa-dev','default','contract:write-tests','{"by":"qa-dev","contract_id":"write-tests","outputs":[],"summary":null}');
INSERT INTO events VALUES(14,1796353075778,'team.snapshot_taken','orchestrator','default','snapshot:default:rest-done','{"description":"","label":"rest-done"}');
INSERT INTO events VALUES(15,1796353075779,'team.replayed','orchestrator','default','snapshot:default:pre-work','{"artifacts":[{"artifact_id":"api-contract-user-auth","from":1,"to":0},{"artifact_id":"auth-tests","from":1,"to":0}],"contracts_restored":["build-api","write-tests"],"contracts_withdrawn":[],"label":"pre-work","members_not_restored":[],"members_removed":[],"members_restored":[],"pipelines_removed":[],"pipelines_restored":[],"snapshot_seq":6,"stopped":[]}');
INSERT INTO events VALUES(16,1796353075781,'contract.started','api-dev','default','contract:build-api','{"by":"api-dev","contract_id":"build-api","deadline_at":null}');
INSERT INTO events VALUES(17,1796353075783,'artifact.published','api-dev','default','artifact:api-contract-user-auth','{"artifact_id":"api-contract-user-auth","derived_from":[{"artifact_id":"user-schema","version":1}],"sha256":"c75b098dea99e1dca9d249f595f8ba736fbbf1fd08c64d0c792f3c9f3eb59919","summary":"GraphQL auth API","supersedes":0,"type":"api-contract","validated_by":{"plugin":"std-json-schema","plugin_version":"0.1.0","receipt":{"fuel_used":8647,"peak_memory_bytes":2031616,"reused":true,"wall_us":43}},"version":2}');
INSERT INTO events VALUES(18,1796353075784,'contract.completed','api-dev','default','contract:build-api','{"by":"api-dev","contract_id":"build-api","outputs":[{"artifact_id":"api-contract-user-auth","version":2}],"summary":null}');
INSERT INTO events VALUES(19,1796353075784,'contract.ready','clearctx','default','contract:write-tests','{"assignee":"qa-dev","contract_id":"write-tests"}');
INSERT INTO events VALUES(20,1796353075785,'decision.recorded','orchestrator','default','decisions:default','{"tags":["api"],"what":"GraphQL for the auth API"}');
INSERT INTO events VALUES(21,1796353075791,'team.snapshot_taken','orchestrator','default','snapshot:default:graphql-done','{"description":"after the replay","label":"graphql-done"}');
CREATE TABLE IF NOT EXISTS "artifact_versions" (
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
INSERT INTO artifact_versions VALUES('user-schema',1,'{"tables":["users"]}','7a75cde374d6d6af449dba17215bf500c155c299c5c54c8bab88c0f315702b2f',NULL,'orchestrator',1796353075753,1);
INSERT INTO artifact_versions VALUES('api-contract-user-auth',1,'{"endpoints":["POST /auth/login/v1"],"style":"REST"}','48842b6f08a772298e4bfa0e446c8df92612e504b41019aebc3ed89c1f8b2390','REST auth API','api-dev',1796353075768,8);
INSERT INTO artifact_versions VALUES('auth-tests',1,'{"passed":3}','c6329da3c7641753fa53f5878321a4735e6e1d5b77d32c646a6f784d36c97fd1',NULL,'qa-dev',1796353075775,12);
INSERT INTO artifact_versions VALUES('api-contract-user-auth',2,'{"endpoints":["POST /auth/login/v2"],"style":"GraphQL"}','c75b098dea99e1dca9d249f595f8ba736fbbf1fd08c64d0c792f3c9f3eb59919','GraphQL auth API','api-dev',1796353075783,17);
CREATE TABLE reactions_behind (
    name  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL                        -- it has seen every event up to this one
) WITHOUT ROWID;
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('decisions',1);
CREATE INDEX artifacts_type ON artifacts(type);
CREATE INDEX lineage_inputs ON lineage_edges(input_id, input_version);
CREATE INDEX artifact_reads_artifact ON artifact_reads(artifact_id, version);
CREATE INDEX contracts_deadline ON contracts(deadline_at_ms) WHERE status = 'in_progress';
CREATE INDEX contract_dependencies_target ON contract_dependencies(kind, target_id);
CREATE INDEX inbox_unread ON inbox(recipient, read_at_ms);
CREATE INDEX sessions_parent ON sessions(parent);
CREATE INDEX sessions_owner ON sessions(owner_id);
CREATE INDEX session_requests_open ON session_requests(name, status);
CREATE INDEX contracts_rank ON contracts(priority DESC, created_at_ms, contract_id);
CREATE INDEX contracts_status_rank ON contracts(status, priority DESC, created_at_ms, contract_id);
CREATE INDEX contracts_assignee_rank ON contracts(assignee, priority DESC, created_at_ms, contract_id);
CREATE INDEX sessions_age ON sessions(created_at_ms, name);
CREATE INDEX pipelines_team ON pipelines(team, pipeline_id);
CREATE INDEX pipeline_rules_trigger ON pipeline_rules(trigger_type, enabled);
CREATE INDEX pipeline_firings_pipeline ON pipeline_firings(pipeline_id, id);
CREATE INDEX pipeline_firings_problems ON pipeline_firings(id)
    WHERE outcome IN ('failed', 'refused', 'cascade_stopped');
CREATE INDEX stale_versions_latest ON stale_versions(superseded, team, artifact_id);
CREATE INDEX contract_outputs_version ON contract_outputs(artifact_id, version);
CREATE INDEX contract_outputs_stale ON contract_outputs(contract_id) WHERE stale = 1;
CREATE INDEX team_members_team ON team_members(team, created_at_ms, name);
CREATE INDEX inbox_recipient ON inbox(recipient, id);
CREATE INDEX inbox_undelivered ON inbox(recipient, id)
    WHERE sender IS NOT NULL AND delivered_at_ms IS NULL;
CREATE INDEX chat_sends_sender ON chat_sends(sender, at_ms);
CREATE INDEX chat_sends_pair ON chat_sends(pair, kind, seq) WHERE pair IS NOT NULL;
CREATE INDEX chat_asks_asked ON chat_asks(asked, answered_at_ms, deadline_ms);
CREATE INDEX chat_asks_asker ON chat_asks(asker, answered_at_ms, deadline_ms);
CREATE INDEX contracts_team ON contracts(team, contract_id);
CREATE INDEX artifacts_team ON artifacts(team, artifact_id);
CREATE INDEX snapshots_team ON snapshots(team, snapshot_id);
CREATE INDEX checkpoints_project ON checkpoints(project, id);
CREATE INDEX decisions_team ON decisions(team, decision_id);
CREATE TRIGGER pipeline_rules_inserted AFTER INSERT ON pipeline_rules
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE TRIGGER pipeline_rules_updated AFTER UPDATE ON pipeline_rules
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE TRIGGER pipeline_rules_deleted AFTER DELETE ON pipeline_rules
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE TRIGGER pipelines_inserted AFTER INSERT ON pipelines
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE TRIGGER pipelines_updated AFTER UPDATE ON pipelines
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE TRIGGER pipelines_deleted AFTER DELETE ON pipelines
BEGIN UPDATE pipeline_revision SET rev = rev + 1; END;
CREATE INDEX stale_causes_root ON stale_causes(input_id);
CREATE INDEX events_subject ON events(subject, seq);
CREATE INDEX artifacts_latest_publisher ON artifacts(latest_publisher, artifact_id);
PRAGMA writable_schema=OFF;
COMMIT;
PRAGMA user_version = 15;
