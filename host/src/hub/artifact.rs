//! Artifacts: publishing (validated by plugins before the transaction), reading, listing.

use super::*;

impl Hub {
    /// Validates outside the transaction (a plugin call must not hold the write lock),
    /// then publishes; a rejected artifact creates no version and no event.
    pub fn artifact_publish(&self, req: &PublishRequest) -> Result<Version> {
        let data = artifacts::check_publish(req)?;
        let checked = self.plugins.validate(&req.artifact_type, &data)?;
        let (validated_by, warnings) = artifacts::verdict(&req.artifact_type, checked)?;
        let unvalidated = validated_by.is_none();
        let mut v = self.command(
            |tx, caller| {
                if unvalidated {
                    artifacts::check_unvalidated_type(tx, req, || {
                        Ok(self
                            .plugins
                            .all_types()?
                            .into_iter()
                            .map(|t| t.name)
                            .collect())
                    })?;
                }
                artifacts::publish_checked(tx, caller, req, &data, validated_by)
            },
            |_, v| Ok(v),
        )?;
        v.warnings = warnings;
        Ok(v)
    }

    /// A query whose read is recorded after the answer: queued here, written by the next
    /// use of the store in this process or by [`Hub::flush_reads`] (which `serve` runs once
    /// the answer is sent), in an unsynced write (see `Store::write_unsynced`). A kill in
    /// between loses the queued reads, never a half of one. Deadlines that passed are
    /// applied first, durably, as before any query.
    pub fn artifact_get(&self, req: &GetRequest) -> Result<Version> {
        let mut store = self.store();
        let (version, read) =
            super::read_current(&mut store, |tx| artifacts::get(tx, &self.caller, req))?;
        // Queued while the store is held, so no other call of this process runs between.
        self.unrecorded_reads().push(read);
        Ok(version)
    }

    pub fn artifact_list(&self, req: &artifacts::ListRequest) -> Result<Page<Version>> {
        self.query(|tx| artifacts::list(tx, req))
    }

    pub fn artifact_history_page(&self, req: &artifacts::HistoryRequest) -> Result<Page<Version>> {
        self.query(|tx| artifacts::history(tx, req))
    }

    /// Every version of an artifact, page after page (for checks and tools, not replies).
    pub fn artifact_history(&self, artifact_id: &str) -> Result<Vec<Version>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.artifact_history_page(&artifacts::HistoryRequest {
                artifact_id: artifact_id.to_string(),
                limit: Some(crate::store::page::MAX_LIMIT),
                cursor,
            })?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    pub fn artifact_readers(&self, artifact_id: &str) -> Result<Readers> {
        self.query(|tx| artifacts::readers(tx, artifact_id))
    }

    pub fn artifact_diff(&self, req: &DiffRequest) -> Result<artifacts::Diff> {
        self.query(|tx| artifacts::diff(tx, req))
    }

    pub fn artifact_types(&self) -> Result<Vec<TypeInfo>> {
        let declared = self.plugins.all_types()?;
        self.query(|tx| artifacts::types(tx, &declared))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{from_value, json};

    use super::*;
    use crate::model::Caller;

    /// `publisher` filters by who published the current version: the one after a new
    /// publish by someone else, the earlier one after a rollback.
    #[test]
    fn artifact_list_filters_by_the_current_versions_publisher() {
        let dir = tempfile::tempdir().unwrap();
        let p1 = Hub::open(dir.path(), Caller::new("p1", "default")).unwrap();
        let p2 = Hub::open(dir.path(), Caller::new("p2", "default")).unwrap();
        let publish = |hub: &Hub, n: u32| {
            let req = json!({"artifact_id": "a", "type": "json", "data": {"n": n}});
            hub.artifact_publish(&from_value(req).unwrap()).unwrap();
        };
        let listed_for = |publisher: &str| -> Vec<(String, u32)> {
            let req = json!({"publisher": publisher});
            let page = p1.artifact_list(&from_value(req).unwrap()).unwrap();
            page.items.into_iter().map(|v| (v.artifact_id, v.version)).collect()
        };
        publish(&p1, 1);
        assert_eq!(listed_for("p1"), [("a".to_string(), 1)]);
        publish(&p2, 2);
        assert_eq!(listed_for("p1"), []);
        assert_eq!(listed_for("p2"), [("a".to_string(), 2)]);
        publish(&p2, 3);
        assert_eq!(listed_for("p2"), [("a".to_string(), 3)]);
        p1.store().write(|tx| tx.set_current_version("a", 1)).unwrap();
        assert_eq!(listed_for("p1"), [("a".to_string(), 1)], "after a rollback to v1");
        assert_eq!(listed_for("p2"), []);
    }

    /// The read record of `artifact_get` is a write that runs no reactions, so the get
    /// must apply a passed deadline itself, durably, as a query does: the store, read
    /// directly (which applies nothing), shows the contract failed.
    #[test]
    fn artifact_get_applies_passed_deadlines() {
        let dir = tempfile::tempdir().unwrap();
        let lead = Hub::open(dir.path(), Caller::new("lead", "default")).unwrap();
        let worker = Hub::open(dir.path(), Caller::new("worker", "default")).unwrap();
        let create = json!({"contract_id": "slow", "title": "Slow", "assignee": "worker", "timeout_s": 1});
        lead.contract_create(&from_value(create).unwrap()).unwrap();
        worker
            .contract_start(&from_value(json!({"contract_id": "slow"})).unwrap())
            .unwrap();
        let publish = json!({"artifact_id": "notes", "type": "bench-unvalidated", "new_type": true, "data": {"n": 1}});
        lead.artifact_publish(&from_value(publish).unwrap()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        worker
            .artifact_get(&from_value(json!({"artifact_id": "notes"})).unwrap())
            .unwrap();
        let status = lead
            .store()
            .read(|tx| Ok(tx.contract("slow")?.unwrap().status))
            .unwrap();
        assert_eq!(status, crate::contracts::Status::Failed);
    }

    /// A get answers before its read is written; the read is there for the next call of
    /// the same process, for another process once flushed, and when the hub is dropped.
    #[test]
    fn a_read_is_recorded_after_the_answer_and_before_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        let lead = Hub::open(dir.path(), Caller::new("lead", "default")).unwrap();
        let other = Hub::open(dir.path(), Caller::new("other", "default")).unwrap();
        let publish = json!({"artifact_id": "notes", "type": "bench-unvalidated", "new_type": true, "data": {"n": 1}});
        lead.artifact_publish(&from_value(publish).unwrap()).unwrap();
        let readers = |hub: &Hub| -> Vec<String> {
            hub.artifact_readers("notes")
                .unwrap()
                .readers
                .into_iter()
                .map(|r| r.reader)
                .collect()
        };
        let get = |hub: &Hub, reader: &str| {
            hub.artifact_get(&from_value(json!({"artifact_id": "notes", "reader": reader})).unwrap())
                .unwrap()
        };
        assert_eq!(get(&lead, "lead").version, 1);
        assert!(lead.has_unrecorded_reads());
        // The same process sees it at once: its next use of the store writes it first.
        assert_eq!(readers(&lead), ["lead"]);
        assert!(!lead.has_unrecorded_reads());

        let worker = Hub::open(dir.path(), Caller::new("worker", "default")).unwrap();
        get(&worker, "worker");
        worker.flush_reads();
        assert_eq!(readers(&other), ["lead", "worker"]);
        get(&worker, "worker");
        drop(worker);
        let reads = other.artifact_readers("notes").unwrap();
        let worker_reads: Vec<_> = reads.readers.iter().filter(|r| r.reader == "worker").collect();
        assert_eq!(worker_reads.len(), 1, "{reads:?}");
        assert_eq!(worker_reads[0].reads, 2, "{reads:?}");
    }
}
