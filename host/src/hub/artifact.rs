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
                artifacts::publish(tx, caller, req, validated_by)
            },
            |_, v| Ok(v),
        )?;
        v.warnings = warnings;
        Ok(v)
    }

    /// Recording the read makes this a small write, not a query; it does not wait for the
    /// disk (see `Store::write_unsynced` for what a power cut may lose). Deadlines that
    /// passed are applied first, durably, as before any query.
    pub fn artifact_get(&self, req: &GetRequest) -> Result<Version> {
        let mut store = self.store();
        super::apply_due_work(&mut store)?;
        store.write_unsynced(|tx| artifacts::get(tx, &self.caller, req))
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
}
