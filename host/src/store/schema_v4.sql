-- clearctx schema, version 4: pipelines (rules that react to events) and their log.

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
CREATE INDEX pipelines_team ON pipelines(team, pipeline_id);

-- One row per rule; the trigger's filters are columns so an event finds its rules by index.
CREATE TABLE pipeline_rules (
    pipeline_id    TEXT    NOT NULL REFERENCES pipelines(pipeline_id),
    rule_index     INTEGER NOT NULL,
    trigger_type   TEXT    NOT NULL,
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),  -- the pipeline's, copied
    rule           TEXT    NOT NULL,                            -- JSON, as given
    PRIMARY KEY (pipeline_id, rule_index)
) WITHOUT ROWID;
CREATE INDEX pipeline_rules_trigger ON pipeline_rules(trigger_type, enabled);

-- Every time a rule's trigger matched an event: the condition's value and what the action
-- did (or why it did not). Kept after the pipeline is deleted.
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
CREATE INDEX pipeline_firings_pipeline ON pipeline_firings(pipeline_id, id);
-- What `clearctx status` shows: the latest firings that went wrong.
CREATE INDEX pipeline_firings_problems ON pipeline_firings(id)
    WHERE outcome IN ('failed', 'refused', 'cascade_stopped');

-- Events a firing's action appended, and how deep in a chain of firings they are.
CREATE TABLE event_causes (
    seq        INTEGER PRIMARY KEY REFERENCES events(seq),
    firing_id  INTEGER NOT NULL REFERENCES pipeline_firings(id),
    depth      INTEGER NOT NULL
);

-- Pipelines start at the end of the log: rules fire for events after they exist.
INSERT INTO reaction_cursors (name, seq) SELECT 'pipelines', coalesce(max(seq), 0) FROM events;
