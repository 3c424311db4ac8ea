//! Teams: spawning members (template, worktree, phase gate), the roster, gates, removal.

use super::*;
use crate::teams::{self, GateReport, Isolation, Removal, Roster, Spawned};

impl Hub {
    /// Starts a team member: checks its phase's gate, renders its system prompt from the
    /// team's state, makes its worktree when isolated, then spawns it; the membership row
    /// commits with the session row. Any refusal leaves nothing behind (a worktree made for
    /// a spawn that then failed is taken back).
    pub fn team_spawn(
        &self,
        req: &teams::SpawnRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<Spawned> {
        teams::check_spawn(req)?;
        let mut spawn = SpawnRequest {
            name: req.name.clone(),
            prompt: req.prompt.clone(),
            model: req.model.clone(),
            work_dir: req.work_dir.clone(),
            permission_mode: req.permission_mode,
            allowed_tools: req.allowed_tools.clone(),
            // The role is free text here, rendered by our template below; the
            // session's own `role` (an ID, for spawn_session's templates) stays unset.
            team: Some(req.team.clone()),
            max_cost: req.max_cost,
            wait: req.wait,
            timeout_s: req.timeout_s,
            ..SpawnRequest::default()
        };
        sessions::check_spawn(&spawn)?;
        let vars = self.query(|tx| {
            teams::check_phase(tx, &req.team, req.phase)?;
            if let Some(s) = tx.session(&req.name)? {
                return Err(Error::conflict(format!(
                    "session `{}` already exists ({}); pick another name, or team_remove it first",
                    req.name, s.status
                )));
            }
            teams::template_vars(tx, req)
        })?;
        let template = req.template.as_deref().unwrap_or("worker");
        let (text, _, _) = self.plugins.render(template, &vars)?;
        spawn.system_prompt = Some(text);
        let wt = match req.isolation.unwrap_or_default() {
            Isolation::None => None,
            Isolation::Worktree => {
                let dir = match &req.work_dir {
                    Some(d) => PathBuf::from(d),
                    None => std::env::current_dir().map_err(|e| {
                        Error::invalid("work_dir", format!("the server has no working directory ({e}); pass work_dir"))
                    })?,
                };
                let wt = teams::add_worktree(&self.home, &dir, &req.team, &req.name)?;
                spawn.work_dir = Some(wt.work_dir.display().to_string());
                Some(wt)
            }
        };
        let actor = self.caller.session.clone();
        let started = self.sessions.spawn_with(&self.caller, &spawn, "session", None, follow, &|tx| {
            teams::check_phase(tx, &req.team, req.phase)?;
            teams::join(tx, &actor, &teams::member_row(tx, req, wt.as_ref()))
        });
        let reply = match started {
            Ok(r) => r,
            Err(e) => {
                // Only when the session row was never written: a worker that started and
                // then failed keeps its worktree (it may hold work).
                if let Some(w) = &wt
                    && self.query(|tx| tx.session(&req.name)).ok().flatten().is_none()
                {
                    teams::discard_worktree(w);
                }
                return Err(e);
            }
        };
        Ok(Spawned {
            reply,
            role: req.role.clone(),
            team: req.team.clone(),
            phase: req.phase,
            isolation: req.isolation.unwrap_or_default(),
            worktree: wt.as_ref().map(|w| w.path.display().to_string()),
            branch: wt.map(|w| w.branch),
        })
    }

    /// Each member's status, role, cost, budget, contract, unread count and worktree.
    pub fn team_roster(&self, req: &teams::RosterRequest) -> Result<Roster> {
        teams::check_roster(req)?;
        self.sessions.reap()?;
        let mut roster = self.query(|tx| teams::roster(tx, &req.team))?;
        teams::read_worktrees(&mut roster);
        Ok(roster)
    }

    /// Checks a gate item by item and records the report.
    pub fn phase_gate(&self, req: &teams::GateRequest) -> Result<GateReport> {
        self.sessions.reap()?;
        self.command(|tx, caller| teams::gate(tx, &caller.session, req), |_, r| Ok(r))
    }

    /// Deletes a member's session, then its worktree unless that holds uncommitted changes.
    pub fn team_remove(&self, req: &teams::RemoveRequest) -> Result<Removal> {
        teams::check_remove(req)?;
        let member = self
            .query(|tx| tx.team_member(&req.name))?
            .ok_or_else(|| {
                Error::not_found_hint("team member", &req.name, "team_roster lists a team's members; delete_session removes other sessions")
            })?;
        self.sessions.delete(
            &self.caller,
            &sessions::DeleteRequest {
                name: req.name.clone(),
                force: req.force,
            },
        )?;
        let (removed, kept_because, branch_removed) = teams::remove_worktree(&member);
        self.command(
            |tx, caller| {
                tx.append_event(NewEvent {
                    kind: "team.member_removed",
                    actor: &caller.session,
                    team: &member.team,
                    subject: format!("session:{}", member.name),
                    payload: serde_json::json!({
                        "worktree": member.worktree, "worktree_removed": removed,
                        "kept_because": kept_because, "branch_removed": branch_removed,
                    }),
                })
            },
            |_, _| Ok(()),
        )?;
        Ok(Removal {
            name: member.name,
            team: member.team,
            worktree: member.worktree,
            branch: member.branch,
            worktree_removed: removed,
            kept_because,
            branch_removed,
        })
    }
}
