-- clearctx schema, version 12: the stale causes rooted at an artifact, by index. A
-- rollback moves artifacts' current versions; the versions whose causes are rooted at a
-- moved artifact are found here and their staleness recomputed in the same transaction.

CREATE INDEX stale_causes_root ON stale_causes(input_id);
