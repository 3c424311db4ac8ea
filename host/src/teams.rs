//! `teams`: sessions spawned as members of a team (role, phase, an optional git worktree
//! of their own), the team's roster, and phase gates.
//!
//! A member is a session plus a `team_members` row written in the same transaction. With
//! `isolation: "worktree"` clearctx runs `git worktree add` before the session row exists
//! and the worker starts in it; the roster reads each worktree's branch and changes with
//! `git`. A phase gate checks artifacts, idle workers and readers item by item and records
//! its report as a `team.gate_passed` / `team.gate_failed` event; a member of phase N > 1
//! starts only after the gate N-1 → N of its team passed last.

use std::path::{Path, PathBuf};
use std::process::Command;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::contracts::{self, Status};
use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::model::sessions::SessionStatus;
use crate::sessions::{self, PermissionMode, Session};
use crate::store::{MemberRow, NewEvent, Tx};

/// How a member is kept apart from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    #[default]
    None,
    Worktree,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Worktree => "worktree",
        }
    }
}

/// Arguments of `team_spawn`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnRequest {
    /// The worker's session name.
    pub name: String,
    /// Its role in the team, e.g. `backend developer`.
    pub role: String,
    /// The team it joins.
    pub team: String,
    /// Its task: the first message (without one it starts idle).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Claude model [default: Claude Code's].
    #[serde(default)]
    pub model: Option<String>,
    /// default, acceptEdits, bypassPermissions or plan.
    #[serde(default)]
    pub permission_mode: Option<PermissionMode>,
    /// Tools it may use without asking, e.g. `Write`, `Edit`.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Absolute working directory [default: the server's]; with worktree isolation, the
    /// repository.
    #[serde(default)]
    pub work_dir: Option<String>,
    /// Prompt template for its system prompt [default: `worker`].
    #[serde(default)]
    pub template: Option<String>,
    /// `worktree`: its own git worktree on branch `clearctx/<team>/<name>` [default: none].
    #[serde(default)]
    pub isolation: Option<Isolation>,
    /// Most USD it (and what it delegates) may spend.
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// Its phase (1, 2, …): phase N > 1 starts only once phase_gate N-1 → N passed.
    #[serde(default)]
    pub phase: Option<u32>,
    /// Wait for the first turn's result [default true].
    #[serde(default)]
    pub wait: Option<bool>,
    /// Seconds before answering `running` [default 900].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `team_roster`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterRequest {
    /// The team.
    pub team: String,
}

/// Arguments of `team_remove`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    /// The member's session name.
    pub name: String,
    /// Kill it first if it is running.
    #[serde(default)]
    pub force: bool,
}

/// Who must have read an artifact.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedReaders {
    /// The artifact.
    pub artifact_id: String,
    /// Sessions that must have read its latest version.
    pub readers: Vec<String>,
}

/// Arguments of `phase_gate`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateRequest {
    /// The team.
    pub team: String,
    /// The phase that ends.
    pub phase_completing: u32,
    /// The phase that may start when the gate passes.
    pub phase_starting: u32,
    /// Artifacts that must exist with a validated latest version.
    #[serde(default)]
    pub expected_artifacts: Vec<String>,
    /// Sessions that must be idle (or stopped).
    #[serde(default)]
    pub expected_idle: Vec<String>,
    /// Artifacts and who must have read their latest version.
    #[serde(default)]
    pub expected_readers: Vec<ExpectedReaders>,
}

/// One check of a gate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateItem {
    /// artifact, idle or read.
    pub check: String,
    /// What was checked: an artifact, a session, or `reader read artifact`.
    pub target: String,
    pub passed: bool,
    pub reason: String,
}

/// Result of `phase_gate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateReport {
    pub team: String,
    pub phase_completing: u32,
    pub phase_starting: u32,
    pub passed: bool,
    /// How many items failed.
    pub failed: usize,
    pub items: Vec<GateItem>,
    /// The event that recorded it.
    pub seq: i64,
}

/// A member as `team_roster` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub name: String,
    pub role: String,
    /// working, idle, stopped or failed.
    pub status: String,
    /// The session's own status (starting, idle, busy, paused, stopped, failed).
    pub session_status: SessionStatus,
    pub phase: Option<u32>,
    pub cost_usd: f64,
    pub budget_left_usd: Option<f64>,
    /// The contract it is on: in progress, else the first ready one.
    pub current_contract: Option<String>,
    pub unread: i64,
    pub isolation: String,
    pub worktree: Option<String>,
    pub branch: Option<String>,
    /// Files changed in its worktree since it was made, committed or not.
    pub changed_files: Option<usize>,
    /// Of those, files with uncommitted changes.
    pub uncommitted_files: Option<usize>,
    /// Why the worktree could not be read (e.g. it was removed by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_error: Option<String>,
    #[serde(skip)]
    base_commit: Option<String>,
}

/// Result of `team_roster`.
#[derive(Debug, Clone, Serialize)]
pub struct Roster {
    pub team: String,
    pub count: usize,
    pub members: Vec<Member>,
}

/// Result of `team_remove`.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub name: String,
    pub team: String,
    pub worktree: Option<String>,
    pub branch: Option<String>,
    pub worktree_removed: bool,
    /// Why the worktree was kept.
    pub kept_because: Option<String>,
    pub branch_removed: bool,
}

/// A worktree clearctx made for a member.
#[derive(Debug, Clone)]
pub struct Worktree {
    pub repo: PathBuf,
    pub path: PathBuf,
    pub branch: String,
    pub base_commit: String,
    /// The worker's working directory inside it.
    pub work_dir: PathBuf,
}

pub fn check_spawn(req: &SpawnRequest) -> Result<()> {
    check_id("name", &req.name)?;
    check_id("team", &req.team)?;
    if req.role.trim().is_empty() || req.role.len() > 200 {
        return Err(Error::invalid("role", "give a role of 1 to 200 characters"));
    }
    if req.phase == Some(0) {
        return Err(Error::invalid("phase", "phases start at 1"));
    }
    Ok(())
}

/// The subject of a team's gate events.
pub fn gate_subject(team: &str, from: u32, to: u32) -> String {
    format!("gate:{team}:{from}:{to}")
}

/// Refuses a member of phase N > 1 until the gate N-1 → N passed (its latest report).
pub fn check_phase(tx: &Tx<'_>, team: &str, phase: Option<u32>) -> Result<()> {
    let Some(n) = phase.filter(|n| *n > 1) else {
        return Ok(());
    };
    let last = tx
        .events_for_subject(&gate_subject(team, n - 1, n))?
        .into_iter()
        .rev()
        .find(|e| e.kind.starts_with("team.gate_"));
    match last {
        Some(e) if e.kind == "team.gate_passed" => Ok(()),
        Some(e) => {
            let failed: Vec<String> = e.payload["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| i["passed"] == false)
                .map(|i| format!("{} `{}`", i["check"].as_str().unwrap_or("?"), i["target"].as_str().unwrap_or("?")))
                .collect();
            Err(Error::conflict(format!(
                "phase {n} of team `{team}` cannot start: gate {} -> {n} failed at {} ({}); fix them and run phase_gate again",
                n - 1,
                e.at,
                failed.join(", ")
            )))
        }
        None => Err(Error::conflict(format!(
            "phase {n} of team `{team}` cannot start: gate {} -> {n} has not passed; run phase_gate with phase_completing {} and phase_starting {n}",
            n - 1,
            n - 1
        ))),
    }
}

/// Checks a gate's items and records the report as an event.
pub fn gate(tx: &Tx<'_>, actor: &str, req: &GateRequest) -> Result<GateReport> {
    check_id("team", &req.team)?;
    if req.phase_starting <= req.phase_completing {
        return Err(Error::invalid(
            "phase_starting",
            "must come after phase_completing",
        ));
    }
    for (i, a) in req.expected_artifacts.iter().enumerate() {
        check_id(&format!("expected_artifacts[{i}]"), a)?;
    }
    for (i, s) in req.expected_idle.iter().enumerate() {
        check_id(&format!("expected_idle[{i}]"), s)?;
    }
    for (i, r) in req.expected_readers.iter().enumerate() {
        check_id(&format!("expected_readers[{i}].artifact_id"), &r.artifact_id)?;
        for (j, s) in r.readers.iter().enumerate() {
            check_id(&format!("expected_readers[{i}].readers[{j}]"), s)?;
        }
    }
    let n = req.expected_artifacts.len()
        + req.expected_idle.len()
        + req.expected_readers.iter().map(|r| r.readers.len()).sum::<usize>();
    if n == 0 {
        return Err(Error::invalid(
            "expected_artifacts",
            "a gate needs at least one expected artifact, idle worker or reader",
        ));
    }
    if n > 1000 {
        return Err(Error::invalid(".", "a gate checks at most 1000 items"));
    }
    let mut items = Vec::new();
    let item = |check: &str, target: String, passed: bool, reason: String| GateItem {
        check: check.into(),
        target,
        passed,
        reason,
    };
    for a in &req.expected_artifacts {
        let (passed, reason) = match tx.artifact_head(a)? {
            None => (false, "does not exist".to_string()),
            Some(head) => match tx.version(a, head.latest_version, false)? {
                Some(v) => match tx.published_validator(v.seq)? {
                    Some(by) => (
                        true,
                        format!("v{} validated by {}", v.version, by["plugin"].as_str().unwrap_or("its validator")),
                    ),
                    None => (false, format!("v{} was published unvalidated", v.version)),
                },
                None => (false, "has no version".to_string()),
            },
        };
        items.push(item("artifact", a.clone(), passed, reason));
    }
    for s in &req.expected_idle {
        let (passed, reason) = match tx.session(s)? {
            None => (false, "no such session".to_string()),
            Some(row) => match row.status {
                SessionStatus::Idle | SessionStatus::Stopped => (true, row.status.to_string()),
                other => (false, format!("is {other}")),
            },
        };
        items.push(item("idle", s.clone(), passed, reason));
    }
    for r in &req.expected_readers {
        let readers = match tx.artifact_head(&r.artifact_id)? {
            None => None,
            Some(_) => Some(crate::artifacts::readers(tx, &r.artifact_id)?),
        };
        for who in &r.readers {
            let target = format!("{who} read {}", r.artifact_id);
            let (passed, reason) = match &readers {
                None => (false, format!("artifact `{}` does not exist", r.artifact_id)),
                Some(rs) => match rs.readers.iter().find(|x| &x.reader == who) {
                    None => (false, "never read it".to_string()),
                    Some(x) if x.read_latest => (true, format!("read v{}", x.last_version_read)),
                    Some(x) => (
                        false,
                        format!("read v{}, the latest is v{}", x.last_version_read, rs.latest_version),
                    ),
                },
            };
            items.push(item("read", target, passed, reason));
        }
    }
    let failed = items.iter().filter(|i| !i.passed).count();
    let passed = failed == 0;
    let payload = json!({
        "phase_completing": req.phase_completing,
        "phase_starting": req.phase_starting,
        "passed": passed,
        "items": items,
    });
    let seq = tx.append_event(NewEvent {
        kind: if passed { "team.gate_passed" } else { "team.gate_failed" },
        actor,
        team: &req.team,
        subject: gate_subject(&req.team, req.phase_completing, req.phase_starting),
        payload,
    })?;
    Ok(GateReport {
        team: req.team.clone(),
        phase_completing: req.phase_completing,
        phase_starting: req.phase_starting,
        passed,
        failed,
        items,
        seq,
    })
}

/// The variables a member's template is rendered with: who it is, the team's conventions
/// (the data of its latest `shared-conventions` artifact), the roster and its contracts.
pub fn template_vars(tx: &Tx<'_>, req: &SpawnRequest) -> Result<Value> {
    let conventions = crate::artifacts::list(
        tx,
        &crate::artifacts::ListRequest {
            artifact_type: Some("shared-conventions".into()),
            team: Some(req.team.clone()),
            limit: Some(1),
            ..Default::default()
        },
    )?
    .items
    .into_iter()
    .next()
    .map(|v| tx.version(&v.artifact_id, v.latest_version, true))
    .transpose()?
    .flatten()
    .and_then(|v| v.data);
    let mut roster: Vec<Value> = tx
        .team_members(&req.team)?
        .into_iter()
        .map(|m| json!({ "name": m.name, "role": m.role, "phase": m.phase }))
        .collect();
    roster.push(json!({ "name": req.name, "role": req.role, "phase": req.phase }));
    let mine = open_contracts(tx, &req.name)?;
    let contract_id = match mine.as_slice() {
        [only] => Some(only.contract_id.clone()),
        _ => None,
    };
    let contracts: Vec<Value> = mine
        .iter()
        .map(|c| json!({ "contract_id": c.contract_id, "title": c.title, "status": c.status.as_str() }))
        .collect();
    let mut vars = json!({
        "name": req.name,
        "role": req.role,
        "team": req.team,
        "task": req.prompt.as_deref().unwrap_or(""),
        "roster": roster,
        "contracts": contracts,
    });
    if let Some(c) = conventions {
        vars["conventions"] = c;
    }
    if let Some(id) = contract_id {
        vars["contract_id"] = json!(id);
    }
    Ok(vars)
}

/// A session's contracts that are not finished: in progress first, then ready, then pending.
fn open_contracts(tx: &Tx<'_>, name: &str) -> Result<Vec<contracts::Contract>> {
    let mut out = Vec::new();
    for status in [Status::InProgress, Status::Ready, Status::Pending] {
        let req = contracts::ListRequest {
            assignee: Some(name.to_string()),
            status: Some(status),
            limit: Some(50),
            ..Default::default()
        };
        out.extend(contracts::list(tx, &req)?.items);
    }
    Ok(out)
}

/// The membership row of a new member.
pub fn member_row(tx: &Tx<'_>, req: &SpawnRequest, wt: Option<&Worktree>) -> MemberRow {
    MemberRow {
        name: req.name.clone(),
        team: req.team.clone(),
        role: req.role.clone(),
        phase: req.phase,
        isolation: req.isolation.unwrap_or_default().as_str().into(),
        repo: wt.map(|w| w.repo.display().to_string()),
        worktree: wt.map(|w| w.path.display().to_string()),
        branch: wt.map(|w| w.branch.clone()),
        base_commit: wt.map(|w| w.base_commit.clone()),
        created_at_ms: tx.now_ms(),
    }
}

/// Writes a member's row and its `team.member_joined` event (in its session's transaction).
pub fn join(tx: &Tx<'_>, actor: &str, m: &MemberRow) -> Result<()> {
    tx.insert_team_member(m)?;
    tx.append_event(NewEvent {
        kind: "team.member_joined",
        actor,
        team: &m.team,
        subject: format!("session:{}", m.name),
        payload: json!({
            "role": m.role, "phase": m.phase, "isolation": m.isolation,
            "worktree": m.worktree, "branch": m.branch, "base_commit": m.base_commit,
        }),
    })?;
    Ok(())
}

/// The roster from the database (worktree figures are filled in by [`read_worktrees`]).
pub fn roster(tx: &Tx<'_>, team: &str) -> Result<Roster> {
    check_id("team", team)?;
    let mut members = Vec::new();
    for m in tx.team_members(team)? {
        let s: Session = sessions::get(tx, &m.name)?;
        let current = open_contracts(tx, &m.name)?
            .into_iter()
            .find(|c| matches!(c.status, Status::InProgress | Status::Ready))
            .map(|c| c.contract_id);
        let status = match s.status {
            SessionStatus::Starting | SessionStatus::Busy => "working",
            SessionStatus::Idle | SessionStatus::Paused => "idle",
            SessionStatus::Stopped => "stopped",
            SessionStatus::Failed => "failed",
        };
        members.push(Member {
            name: m.name.clone(),
            role: m.role,
            status: status.into(),
            session_status: s.status,
            phase: m.phase,
            cost_usd: s.cost_usd,
            budget_left_usd: s.budget_left_usd,
            current_contract: current,
            unread: tx.unread_count(&m.name)?,
            isolation: m.isolation,
            worktree: m.worktree,
            branch: m.branch,
            changed_files: None,
            uncommitted_files: None,
            worktree_error: None,
            base_commit: m.base_commit,
        });
    }
    Ok(Roster {
        team: team.to_string(),
        count: members.len(),
        members,
    })
}

/// Reads each isolated member's worktree with `git` (outside any transaction).
pub fn read_worktrees(roster: &mut Roster) {
    for m in &mut roster.members {
        let (Some(wt), Some(base)) = (&m.worktree, &m.base_commit) else {
            continue;
        };
        match changes(Path::new(wt), base) {
            Ok((changed, dirty)) => {
                m.changed_files = Some(changed);
                m.uncommitted_files = Some(dirty);
            }
            Err(e) => m.worktree_error = Some(e),
        }
    }
}

// --- git -------------------------------------------------------------------------------

/// Runs `git -C dir args…`; its trimmed stdout, or its stderr as the error.
pub(crate) fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Checks that worktree isolation is possible from `dir` (before anything is written).
pub fn check_repo(dir: &Path) -> Result<(PathBuf, String)> {
    let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|e| {
        Error::invalid(
            "isolation",
            format!(
                "`{}` is not inside a git repository, so there is no worktree to give the worker ({e}); \
                 leave isolation out, or pass a work_dir inside a repository",
                dir.display()
            ),
        )
    })?;
    let head = git(dir, &["rev-parse", "--verify", "HEAD^{commit}"]).map_err(|_| {
        Error::invalid(
            "isolation",
            format!("the repository at `{top}` has no commit yet; commit once, then spawn"),
        )
    })?;
    Ok((PathBuf::from(top), head))
}

/// Makes the worktree of member `name`: `<data dir>/worktrees/<team>/<name>` on a new
/// branch `clearctx/<team>/<name>` at the repository's HEAD.
pub fn add_worktree(home: &Path, dir: &Path, team: &str, name: &str) -> Result<Worktree> {
    let (repo, base_commit) = check_repo(dir)?;
    let path = home.join("worktrees").join(team).join(name);
    if path.exists() {
        return Err(Error::conflict(format!(
            "`{}` already exists (a worktree kept from an earlier `{name}`?); remove it with `git worktree remove`, or pick another name",
            path.display()
        )));
    }
    let branch = format!("clearctx/{team}/{name}");
    std::fs::create_dir_all(path.parent().expect("has a parent"))
        .map_err(|e| Error::conflict(format!("cannot create `{}`: {e}", path.display())))?;
    let p = path.display().to_string();
    git(&repo, &["worktree", "add", "-b", &branch, &p, &base_commit]).map_err(|e| {
        Error::conflict(format!("git could not make a worktree for `{name}` on branch `{branch}`: {e}"))
    })?;
    // The worker starts where it would have in the main checkout.
    let real_top = repo.canonicalize().unwrap_or_else(|_| repo.clone());
    let real_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let rel = real_dir.strip_prefix(&real_top).map(Path::to_path_buf).unwrap_or_default();
    let work_dir = if rel.as_os_str().is_empty() { path.clone() } else { path.join(rel) };
    Ok(Worktree {
        repo,
        work_dir,
        path,
        branch,
        base_commit,
    })
}

/// Takes back a worktree made for a spawn that then failed.
pub fn discard_worktree(wt: &Worktree) {
    let p = wt.path.display().to_string();
    let _ = git(&wt.repo, &["worktree", "remove", "--force", &p]);
    let _ = git(&wt.repo, &["branch", "-D", &wt.branch]);
}

/// (files changed since `base`, committed or not; files with uncommitted changes).
pub fn changes(wt: &Path, base: &str) -> std::result::Result<(usize, usize), String> {
    if !wt.is_dir() {
        return Err(format!("`{}` is gone", wt.display()));
    }
    let status = git(wt, &["status", "--porcelain=v1", "-uall"])?;
    let mut files: std::collections::BTreeSet<String> = status
        .lines()
        .filter(|l| l.len() > 3)
        .map(|l| l[3..].to_string())
        .collect();
    let dirty = files.len();
    let committed = git(wt, &["diff", "--name-only", base, "HEAD"])?;
    files.extend(committed.lines().filter(|l| !l.is_empty()).map(String::from));
    Ok((files.len(), dirty))
}

/// Removes a member's worktree when it holds no uncommitted change; otherwise says why it
/// was kept. The branch goes too when it has no commit of its own.
pub fn remove_worktree(m: &MemberRow) -> (bool, Option<String>, bool) {
    let (Some(wt), Some(repo)) = (&m.worktree, &m.repo) else {
        return (false, None, false);
    };
    let path = Path::new(wt);
    if !path.is_dir() {
        return (false, Some(format!("`{wt}` no longer exists")), false);
    }
    match git(path, &["status", "--porcelain=v1", "-uall"]) {
        Err(e) => return (false, Some(format!("git cannot read it: {e}")), false),
        Ok(s) if !s.is_empty() => {
            let n = s.lines().count();
            return (
                false,
                Some(format!(
                    "it holds {n} uncommitted change(s); commit or discard them, then `git worktree remove {wt}`"
                )),
                false,
            );
        }
        Ok(_) => {}
    }
    let head = git(path, &["rev-parse", "HEAD"]).ok();
    if let Err(e) = git(Path::new(repo), &["worktree", "remove", wt]) {
        return (false, Some(format!("git worktree remove failed: {e}")), false);
    }
    let mut branch_removed = false;
    if let (Some(b), Some(head)) = (&m.branch, head)
        && m.base_commit.as_deref() == Some(head.as_str())
    {
        branch_removed = git(Path::new(repo), &["branch", "-D", b]).is_ok();
    }
    (true, None, branch_removed)
}

/// Checks `team_remove`'s arguments.
pub fn check_remove(req: &RemoveRequest) -> Result<()> {
    check_id("name", &req.name)
}

/// Checks `team_roster`'s arguments.
pub fn check_roster(req: &RosterRequest) -> Result<()> {
    check_opt_id("team", Some(&req.team))
}

/// Result of `team_spawn`: the first turn, and where the member works.
#[derive(Debug, Clone, Serialize)]
pub struct Spawned {
    #[serde(flatten)]
    pub reply: sessions::TurnReply,
    pub role: String,
    pub team: String,
    pub phase: Option<u32>,
    pub isolation: Isolation,
    pub worktree: Option<String>,
    pub branch: Option<String>,
}
