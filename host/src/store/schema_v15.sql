-- clearctx schema, version 15: who published an artifact's current version is kept on the
-- artifact. `artifact_list` filters by the publisher of the current version; the index
-- for it was on every version (`artifact_versions_publisher`), one entry per publish, and
-- so one more page in every publish's commit. On the artifact it changes only when the
-- publisher does, and it is the index the filtered, paged list wants.
ALTER TABLE artifacts ADD COLUMN latest_publisher TEXT NOT NULL DEFAULT '';   -- '' while no version is current
UPDATE artifacts SET latest_publisher = coalesce(
    (SELECT v.publisher FROM artifact_versions v
     WHERE v.artifact_id = artifacts.artifact_id AND v.version = artifacts.latest_version), '');
CREATE INDEX artifacts_latest_publisher ON artifacts(latest_publisher, artifact_id);
DROP INDEX artifact_versions_publisher;
