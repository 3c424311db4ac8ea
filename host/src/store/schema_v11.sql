-- clearctx schema, version 11: a revision of the pipeline rules. Every event with a trigger
-- reads it (one row) instead of the rules, and keeps the rules it parsed until a write from
-- any process changes them; triggers bump it, so no writer can forget to.

CREATE TABLE pipeline_revision (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    -- Random per database: two databases at the same revision are told apart.
    epoch  INTEGER NOT NULL,
    rev    INTEGER NOT NULL
);
INSERT INTO pipeline_revision (id, epoch, rev) VALUES (1, random(), 0);

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
