//! The decision journal.

use super::*;
use crate::decisions::{self, Decision, FileState, ListRequest, RecordRequest, SearchRequest};

impl Hub {
    pub fn decision_record(&self, req: &RecordRequest) -> Result<Decision> {
        decisions::check(req)?;
        let (project, files) = if req.files.is_empty() && req.project.is_none() {
            (String::new(), Vec::new())
        } else {
            let dir = self.project(req.project.as_deref())?;
            // Hashed before the transaction: no file read holds the write lock.
            let files = req
                .files
                .iter()
                .map(|f| FileState { path: f.clone(), sha256: decisions::file_sha(&dir, f) })
                .collect();
            (dir.display().to_string(), files)
        };
        self.command(
            |tx, caller| decisions::record(tx, caller, req, &project, files),
            |tx, id| decisions::decision_of(tx.decision(id)?.expect("just written")),
        )
    }

    pub fn decision_list(&self, req: &ListRequest) -> Result<Page<Decision>> {
        self.query(|tx| decisions::list(tx, &self.caller, req))
    }

    pub fn decision_search(&self, req: &SearchRequest) -> Result<Page<Decision>> {
        self.query(|tx| decisions::search(tx, &self.caller, req))
    }
}

impl Hub {
    pub fn pattern_register(&self, req: &decisions::PatternRequest) -> Result<decisions::Pattern> {
        self.command(|tx, caller| decisions::register_pattern(tx, caller, req), |_, p| Ok(p))
    }

    pub fn pattern_get(&self, name: &str) -> Result<decisions::Pattern> {
        self.query(|tx| decisions::get_pattern(tx, &self.caller, name))
    }

    pub fn pattern_list(&self, req: &ListRequest) -> Result<Page<decisions::Pattern>> {
        self.query(|tx| decisions::list_patterns(tx, &self.caller, req))
    }
}
