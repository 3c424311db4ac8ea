//! Continuity checkpoints and briefings: the data-dir side (contracts, versions, stale
//! items, unread) beside the git side that `continuity` reads.



use super::*;
use crate::continuity::{
    self, Briefing, BriefingRequest, Checkpoint, CheckpointRequest, DecisionNote, NewVersion,
    OpenContract, State,
};
use crate::decisions::{self, Decision};
use crate::store::Window;

/// How many of the latest decisions a briefing shows and a checkpoint keeps.
const RECENT_DECISIONS: u32 = 10;
use crate::contracts::Status;
use crate::lineage::{StaleItem, StaleRequest};

/// Most open contracts per status a checkpoint and a briefing keep.
const OPEN_PER_STATUS: u32 = 20;

fn checkpoint_of(row: crate::store::CheckpointRow) -> Result<Checkpoint> {
    let state: State = serde_json::from_str(&row.state)
        .map_err(|e| Error::Corrupt(format!("checkpoint {}: {e}", row.id)))?;
    Ok(Checkpoint {
        id: row.id,
        project: row.project,
        session_id: row.session_id,
        trigger: row.trigger,
        at: crate::time::rfc3339(row.at_ms),
        last_seq: row.last_seq,
        state,
    })
}

fn stale_line(item: &StaleItem) -> String {
    match item {
        StaleItem::Artifact { artifact_id, version, causes, .. } => {
            let why: Vec<String> = causes
                .iter()
                .map(|c| format!("`{}` v{} → v{}", c.input_id, c.version_used, c.latest_version))
                .collect();
            format!("`{artifact_id}` v{version}: input {} moved on", why.join(", "))
        }
        StaleItem::Contract { contract_id, stale_outputs, .. } => {
            let outs: Vec<String> = stale_outputs
                .iter()
                .map(|v| format!("`{}` v{}", v.artifact_id, v.version))
                .collect();
            format!("contract `{contract_id}` completed with stale output {}", outs.join(", "))
        }
    }
}

/// The team's latest decisions, and for each the artifact versions it rests on that have
/// newer ones.
fn recent_decisions(tx: &Tx<'_>, team: &str) -> Result<Vec<(Decision, Vec<String>)>> {
    let rows = tx.decisions(team, Window { offset: 0, limit: RECENT_DECISIONS })?;
    let mut out = Vec::new();
    for row in rows.into_iter().take(RECENT_DECISIONS as usize) {
        let d = decisions::decision_of(row)?;
        let mut moved = Vec::new();
        for a in &d.artifacts {
            if let Some(head) = tx.artifact_head(&a.artifact_id)?
                && head.latest_version > a.version
            {
                moved.push(format!("`{}` v{} → v{}", a.artifact_id, a.version, head.latest_version));
            }
        }
        out.push((d, moved));
    }
    Ok(out)
}

impl Hub {
    /// The project of `dir` (default: this process's working directory).
    pub(super) fn project(&self, dir: Option<&str>) -> Result<PathBuf> {
        let dir = match dir {
            Some(d) => PathBuf::from(d),
            None => std::env::current_dir()
                .map_err(|e| Error::invalid("project", format!("no working directory: {e}")))?,
        };
        continuity::project_of(&dir)
    }

    fn open_contracts(&self, tx: &Tx<'_>) -> Result<Vec<crate::contracts::Contract>> {
        let mut open = Vec::new();
        for status in [Status::Ready, Status::InProgress, Status::Pending] {
            let req = contracts::ListRequest {
                status: Some(status),
                team: Some(self.caller.team.clone()),
                limit: Some(OPEN_PER_STATUS),
                ..Default::default()
            };
            open.extend(contracts::list(tx, &req)?.items);
        }
        Ok(open)
    }

    /// What a hook does, reading the project and git once for both: the briefing first
    /// (when `brief`: it compares with the checkpoint before this one), then a checkpoint.
    pub fn hook(
        &self,
        project: Option<&str>,
        session_id: &str,
        trigger: &str,
        brief: bool,
    ) -> Result<Option<Briefing>> {
        let project = self.project(project)?;
        let now = continuity::git_state(&project);
        let briefing = brief.then(|| self.briefing_at(&project, &now)).transpose()?;
        self.checkpoint_at(&project, now, session_id, trigger, None)?;
        Ok(briefing)
    }

    /// Saves a checkpoint of `project` (a hook's `cwd`, else this process's directory).
    pub fn checkpoint(
        &self,
        project: Option<&str>,
        session_id: &str,
        trigger: &str,
        note: Option<&str>,
    ) -> Result<Checkpoint> {
        let project = self.project(project)?;
        // Git runs before the transaction: the write lock is never held for a subprocess.
        let state = continuity::git_state(&project);
        self.checkpoint_at(&project, state, session_id, trigger, note)
    }

    fn checkpoint_at(
        &self,
        project: &Path,
        mut state: State,
        session_id: &str,
        trigger: &str,
        note: Option<&str>,
    ) -> Result<Checkpoint> {
        if let Some(n) = note
            && n.len() > continuity::MAX_NOTE
        {
            return Err(Error::invalid(
                "note",
                format!("is {} bytes; a note holds at most {}", n.len(), continuity::MAX_NOTE),
            ));
        }
        let key = project.display().to_string();
        state.note = note.map(str::to_string);
        self.command(
            |tx, caller| {
                state.open_contracts = self
                    .open_contracts(tx)?
                    .into_iter()
                    .map(|c| (c.contract_id, c.status.as_str().to_string()))
                    .collect();
                state.unread = tx.unread_count(&caller.session)?;
                state.decisions = recent_decisions(tx, &caller.team)?
                    .into_iter()
                    .map(|(d, _)| d.decision_id)
                    .collect();
                let json = serde_json::to_string(&state).expect("state serializes");
                tx.insert_checkpoint(&key, session_id, trigger, tx.last_seq()?, &json)
            },
            |tx, _| {
                let row = tx.last_checkpoint(&key)?.expect("just written");
                checkpoint_of(row)
            },
        )
    }

    pub fn session_checkpoint(&self, req: &CheckpointRequest) -> Result<Checkpoint> {
        self.checkpoint(req.project.as_deref(), "", "tool", req.note.as_deref())
    }

    /// What changed in the project since its last checkpoint, and what is open now.
    pub fn continuity_briefing(&self, req: &BriefingRequest) -> Result<Briefing> {
        let project = self.project(req.project.as_deref())?;
        let now = continuity::git_state(&project);
        self.briefing_at(&project, &now)
    }

    fn briefing_at(&self, project: &Path, now: &State) -> Result<Briefing> {
        let key = project.display().to_string();
        let (since, versions, stale, open, unread, recent) = self.query(|tx| {
            let since = tx.last_checkpoint(&key)?.map(checkpoint_of).transpose()?;
            let after = since.as_ref().map_or(0, |c| c.last_seq);
            let versions = tx.versions_since(&self.caller.team, after, continuity::SHOWN as u32)?;
            let stale = crate::lineage::stale_check(
                tx,
                &StaleRequest {
                    team: Some(self.caller.team.clone()),
                    limit: Some(10),
                    cursor: None,
                },
            )?;
            Ok((
                since,
                versions,
                stale,
                self.open_contracts(tx)?,
                tx.unread_count(&self.caller.session)?,
                recent_decisions(tx, &self.caller.team)?,
            ))
        })?;
        let git = continuity::git_changes(project, since.as_ref().map(|c| &c.state), now);
        let was = |id: &str| {
            since
                .as_ref()
                .and_then(|c| c.state.open_contracts.iter().find(|(i, _)| i == id))
                .map(|(_, s)| s.as_str())
        };
        let open_contracts = open
            .into_iter()
            .map(|c| OpenContract {
                newly_ready: c.status == Status::Ready && since.is_some() && was(&c.contract_id) != Some("ready"),
                contract_id: c.contract_id,
                title: c.title,
                status: c.status.as_str().to_string(),
                assignee: c.assignee,
            })
            .collect();
        let more_versions = versions.len() > continuity::SHOWN;
        // Files are hashed after the read: no file read holds the store.
        let decisions = recent
            .into_iter()
            .map(|(d, moved_artifacts)| DecisionNote {
                new: since.as_ref().is_some_and(|c| d.seq > c.last_seq),
                changed_files: d
                    .files
                    .iter()
                    .filter(|f| decisions::file_sha(std::path::Path::new(&d.project), &f.path) != f.sha256)
                    .map(|f| f.path.clone())
                    .collect(),
                moved_artifacts,
                decision_id: d.decision_id,
                what: d.what,
            })
            .collect();
        let mut b = Briefing {
            project: key,
            since,
            git,
            new_versions: versions
                .into_iter()
                .take(continuity::SHOWN)
                .map(|v| NewVersion {
                    artifact_id: v.artifact_id,
                    version: v.version,
                    artifact_type: v.artifact_type,
                    publisher: v.publisher,
                    summary: v.summary,
                })
                .collect(),
            more_versions,
            stale: stale.items.iter().map(stale_line).collect(),
            open_contracts,
            decisions,
            unread,
            text: String::new(),
        };
        b.text = continuity::render(&b);
        Ok(b)
    }
}
