//! Snapshots of a team, rollback to one and replay from one.

use super::*;
use crate::snapshots::{self, Diff, Replay, Rollback, Snapshot};

impl Hub {
    /// Labels the team's coordination state: one event and a copy of its rows.
    pub fn team_snapshot(&self, req: &snapshots::SnapshotRequest) -> Result<Snapshot> {
        self.command(|tx, caller| snapshots::take(tx, caller, req), |_, s| Ok(s))
    }

    pub fn snapshot_list(&self, req: &snapshots::ListRequest) -> Result<Page<Snapshot>> {
        self.query(|tx| snapshots::list(tx, &self.caller, req))
    }

    pub fn snapshot_diff(&self, req: &snapshots::DiffRequest) -> Result<Diff> {
        self.query(|tx| snapshots::diff(tx, &self.caller, req))
    }

    /// Puts the team back as the snapshot had it; the stop requests it queues are carried
    /// out by the processes running those workers.
    pub fn team_rollback(&self, req: &snapshots::RollbackRequest) -> Result<Rollback> {
        self.sessions.reap()?;
        self.command(|tx, caller| snapshots::rollback(tx, caller, req), |_, r| Ok(r))
    }

    /// A rollback, the snapshot's contracts open again with the overrides, and (after the
    /// reactions made them ready) each live assignee re-sent its contract.
    pub fn team_replay(&self, req: &snapshots::ReplayRequest) -> Result<Replay> {
        self.sessions.reap()?;
        let caller = self.caller.clone();
        self.command(
            |tx, caller| snapshots::replay(tx, caller, req),
            |tx, (out, ids)| snapshots::resend(tx, &caller, &req.label, out, &ids),
        )
    }

    /// Brings every stopped or failed member of a team back with its conversation
    /// (`--resume`, the `resume_session` path) and a turn handing it its current contract;
    /// it does not wait for those turns.
    pub fn team_resume(&self, req: &snapshots::ResumeRequest) -> Result<snapshots::Resumed> {
        self.sessions.reap()?;
        let plan = self.query(|tx| snapshots::resume_plan(tx, &self.caller, req))?;
        let mut out = snapshots::Resumed { team: req.team.clone(), ..Default::default() };
        for (name, current) in plan {
            let resume = sessions::ResumeRequest {
                name: name.clone(),
                message: current.as_ref().map(|(_, text)| text.clone()),
                wait: Some(false),
                timeout_s: None,
            };
            match self.sessions.resume(&self.caller, &resume, None) {
                Ok(_) => {
                    if let Some((id, _)) = current {
                        out.contracts.insert(name.clone(), id);
                    }
                    out.resumed.push(name);
                }
                Err(e) => {
                    out.not_resumed.insert(name, e.to_string());
                }
            }
        }
        Ok(out)
    }
}
