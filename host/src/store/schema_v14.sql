-- clearctx schema, version 14: reactions keep no cursor while they are caught up.
-- Every write transaction runs every reaction over the events it appended before it
-- commits, and every process that writes a data dir of this version runs the same
-- reactions (a data dir of a later version is refused, and a change to the reactions
-- comes with a new version: `reactions::tests` holds the list to the schema). So a
-- caught-up cursor only ever said "the end of the log", and rewriting five of them was a
-- page and a statement in every commit. `reactions_behind` lists only the reactions that
-- have events left to see (one a later version adds to run over the log so far); a
-- reaction not listed has seen every event.
CREATE TABLE reactions_behind (
    name  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL                        -- it has seen every event up to this one
) WITHOUT ROWID;

INSERT INTO reactions_behind (name, seq)
    SELECT name, seq FROM reaction_cursors
    WHERE seq < (SELECT coalesce(max(seq), 0) FROM events);
-- Version 13 read a missing cursor as 0: such a reaction had seen nothing yet.
INSERT INTO reactions_behind (name, seq)
    SELECT n.name, 0
    FROM (SELECT 'readiness' AS name UNION ALL SELECT 'staleness' UNION ALL SELECT 'pipelines'
          UNION ALL SELECT 'chat' UNION ALL SELECT 'witness') AS n
    WHERE n.name NOT IN (SELECT name FROM reaction_cursors)
      AND EXISTS (SELECT 1 FROM events);

DROP TABLE reaction_cursors;
