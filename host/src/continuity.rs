//! Continuity: a checkpoint of a project's state (git branch, HEAD, changed files, open
//! contracts, unread notifications, a note) saved by Claude Code's hooks, and the
//! diff-aware briefing a new (or compacted) session starts with: what changed since the
//! project's last checkpoint. `hub/continuity.rs` gathers the data-dir side.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::teams::git;

/// Most commits and files a briefing names (the rest are counted).
pub const SHOWN: usize = 20;
/// Most changed files a checkpoint keeps.
const KEPT_FILES: usize = 200;

/// Arguments of `session_checkpoint`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRequest {
    /// Project dir [default: the server's cwd]
    #[serde(default)]
    pub project: Option<String>,
    /// A note for the next session
    #[serde(default)]
    pub note: Option<String>,
}

/// Arguments of `continuity_briefing`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingRequest {
    /// Project dir [default: the server's cwd]
    #[serde(default)]
    pub project: Option<String>,
}

/// Longest note a checkpoint keeps.
pub const MAX_NOTE: usize = 4096;

/// What a checkpoint records of the project (the `state` column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub branch: Option<String>,
    pub head: Option<String>,
    /// `git status --porcelain` lines, e.g. ` M src/lib.rs`.
    pub changed_files: Vec<String>,
    /// Contracts not yet completed or failed: (id, status).
    pub open_contracts: Vec<(String, String)>,
    pub unread: i64,
    /// The team's latest decisions (ids, newest first).
    #[serde(default)]
    pub decisions: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A saved checkpoint, as the tools show it.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub id: i64,
    pub project: String,
    pub session_id: String,
    pub trigger: String,
    pub at: String,
    /// The event log's end when it was saved.
    pub last_seq: i64,
    #[serde(flatten)]
    pub state: State,
}

/// An artifact version published since the last checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct NewVersion {
    pub artifact_id: String,
    pub version: u32,
    pub artifact_type: String,
    pub publisher: String,
    pub summary: Option<String>,
}

/// An open contract, and whether it became ready since the last checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct OpenContract {
    pub contract_id: String,
    pub title: String,
    pub status: String,
    pub assignee: String,
    pub newly_ready: bool,
}

/// A recent decision, flagged when what it rests on changed since it was recorded.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionNote {
    pub decision_id: i64,
    pub what: String,
    /// Recorded after the last checkpoint.
    pub new: bool,
    /// Its files whose bytes differ from when it was recorded.
    pub changed_files: Vec<String>,
    /// Its artifact versions that have newer ones, e.g. "`api-spec` v1 → v3".
    pub moved_artifacts: Vec<String>,
}

/// Git since the last checkpoint.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitChanges {
    pub branch: Option<String>,
    pub head: Option<String>,
    pub previous_head: Option<String>,
    /// `git log --oneline previous..HEAD`, newest first (at most [`SHOWN`]).
    pub commits: Vec<String>,
    pub commit_count: usize,
    /// Files changed between the two HEADs (at most [`SHOWN`]).
    pub files: Vec<String>,
    pub file_count: usize,
    /// Uncommitted changes now (`git status --porcelain`, at most [`SHOWN`]).
    pub uncommitted: Vec<String>,
}

/// What `continuity_briefing` (and the SessionStart hook) tells a session.
#[derive(Debug, Clone, Serialize)]
pub struct Briefing {
    pub project: String,
    /// The checkpoint it compares against (`None`: the project's first).
    pub since: Option<Checkpoint>,
    pub git: GitChanges,
    pub new_versions: Vec<NewVersion>,
    pub more_versions: bool,
    /// Stale artifacts and contracts with stale outputs, one line each.
    pub stale: Vec<String>,
    pub open_contracts: Vec<OpenContract>,
    /// The team's latest decisions, with what changed under them.
    pub decisions: Vec<DecisionNote>,
    pub unread: i64,
    /// The markdown a model reads.
    pub text: String,
}

/// The project a directory belongs to: its git top level, else the directory itself.
pub fn project_of(dir: &Path) -> Result<PathBuf> {
    let dir = dir.canonicalize().map_err(|e| {
        Error::invalid("project", format!("`{}` is not a directory here: {e}", dir.display()))
    })?;
    if !dir.is_dir() {
        return Err(Error::invalid("project", format!("`{}` is not a directory", dir.display())));
    }
    Ok(git(&dir, &["rev-parse", "--show-toplevel"])
        .ok()
        .filter(|t| !t.is_empty())
        .map(PathBuf::from)
        .unwrap_or(dir))
}

/// The project's git state now (all `None`/empty outside a repository), from one
/// `git status --porcelain=v2 --branch`: a hook pays for each git process it starts.
pub fn git_state(project: &Path) -> State {
    let Ok(out) = git(project, &["status", "--porcelain=v2", "--branch"]) else {
        return State::default();
    };
    let mut state = State::default();
    for line in out.lines() {
        if let Some(oid) = line.strip_prefix("# branch.oid ") {
            state.head = (oid != "(initial)").then(|| oid.to_string());
        } else if let Some(head) = line.strip_prefix("# branch.head ") {
            state.branch = Some(head.to_string());
        } else if state.changed_files.len() < KEPT_FILES
            && let Some(f) = changed_line(line)
        {
            state.changed_files.push(f);
        }
    }
    state
}

/// A porcelain v2 entry as its v1 line (`XY path`, `?? path`).
fn changed_line(line: &str) -> Option<String> {
    let xy = |s: &str| s.replace('.', " ");
    let field = |rest: &str, n: usize| -> Option<(String, String)> {
        let f: Vec<&str> = rest.splitn(n, ' ').collect();
        Some((xy(f.first()?), f.get(n - 1)?.split('\t').next()?.to_string()))
    };
    let (xy, path) = match line.split_once(' ')? {
        ("1", rest) => field(rest, 8)?,
        ("2", rest) => field(rest, 9)?,
        ("u", rest) => field(rest, 10)?,
        ("?", path) => ("??".to_string(), path.to_string()),
        _ => return None,
    };
    Some(format!("{xy} {path}"))
}

/// Git changes between the checkpoint's HEAD and now.
pub fn git_changes(project: &Path, before: Option<&State>, now: &State) -> GitChanges {
    let mut g = GitChanges {
        branch: now.branch.clone(),
        head: now.head.clone(),
        previous_head: before.and_then(|b| b.head.clone()),
        uncommitted: now.changed_files.iter().take(SHOWN).cloned().collect(),
        ..GitChanges::default()
    };
    if let (Some(old), Some(new)) = (&g.previous_head, &g.head)
        && old != new
    {
        // The first SHOWN lines of git's answer, and how many it gave.
        let capped = |args: &[&str]| {
            let out = git(project, args).unwrap_or_default();
            let shown = out.lines().take(SHOWN).map(str::to_string).collect();
            (shown, out.lines().count())
        };
        let range = format!("{old}..{new}");
        (g.commits, g.commit_count) = capped(&["log", "--oneline", "--no-decorate", &range]);
        (g.files, g.file_count) = capped(&["diff", "--name-only", old, new]);
    }
    g
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(9)]
}

/// The briefing as markdown for the model.
pub fn render(b: &Briefing) -> String {
    let mut t = String::new();
    match &b.since {
        Some(c) => t.push_str(&format!(
            "## clearctx briefing: what changed in {} since the last checkpoint ({}, {})\n",
            b.project, c.trigger, c.at
        )),
        None => t.push_str(&format!(
            "## clearctx briefing for {} (no earlier checkpoint: the state now)\n",
            b.project
        )),
    }
    let g = &b.git;
    if let Some(head) = &g.head {
        t.push_str(&format!(
            "\nGit: branch `{}`, HEAD {}",
            g.branch.as_deref().unwrap_or("?"),
            short(head)
        ));
        match &g.previous_head {
            Some(p) if p != head => t.push_str(&format!(
                " (was {}): {} new commit{}\n",
                short(p),
                g.commit_count,
                if g.commit_count == 1 { "" } else { "s" }
            )),
            Some(_) => t.push_str(" (no new commits)\n"),
            None => t.push('\n'),
        }
        for c in &g.commits {
            t.push_str(&format!("- {c}\n"));
        }
        if g.commit_count > g.commits.len() {
            t.push_str(&format!("- … {} more\n", g.commit_count - g.commits.len()));
        }
        if !g.files.is_empty() {
            t.push_str(&format!("Files changed by those commits ({}): {}", g.file_count, g.files.join(", ")));
            t.push_str(if g.file_count > g.files.len() { ", …\n" } else { "\n" });
        }
        if !g.uncommitted.is_empty() {
            t.push_str(&format!("Uncommitted now: {}\n", g.uncommitted.iter().map(|l| l.trim()).collect::<Vec<_>>().join("; ")));
        }
    }
    if !b.new_versions.is_empty() {
        t.push_str("\nNew artifact versions:\n");
        for v in &b.new_versions {
            t.push_str(&format!(
                "- `{}` v{} ({}) by {}{}\n",
                v.artifact_id,
                v.version,
                v.artifact_type,
                v.publisher,
                v.summary.as_deref().map(|s| format!(": {s}")).unwrap_or_default()
            ));
        }
        if b.more_versions {
            t.push_str("- … more: artifact_list\n");
        }
    }
    if !b.stale.is_empty() {
        t.push_str("\nStale (an input moved on):\n");
        for s in &b.stale {
            t.push_str(&format!("- {s}\n"));
        }
    }
    if !b.open_contracts.is_empty() {
        t.push_str("\nOpen contracts:\n");
        for c in &b.open_contracts {
            t.push_str(&format!(
                "- `{}` {} ({}), assignee {}{}\n",
                c.contract_id,
                c.status,
                c.title,
                c.assignee,
                if c.newly_ready { " — newly ready" } else { "" }
            ));
        }
    }
    if !b.decisions.is_empty() {
        t.push_str("\nRecent decisions (decision_search finds older ones):\n");
        for d in &b.decisions {
            t.push_str(&format!("- #{} {}{}\n", d.decision_id, d.what, if d.new { " (new)" } else { "" }));
            let mut moved: Vec<String> = d.changed_files.iter().map(|f| format!("{f} changed")).collect();
            moved.extend(d.moved_artifacts.iter().cloned());
            if !moved.is_empty() {
                t.push_str(&format!("  ⚠ changed since it was recorded: {}\n", moved.join("; ")));
            }
        }
    }
    if b.unread > 0 {
        t.push_str(&format!("\nUnread notifications: {} (team_check_inbox)\n", b.unread));
    }
    let quiet = b.git.commit_count == 0
        && b.git.uncommitted.is_empty()
        && b.new_versions.is_empty()
        && b.stale.is_empty()
        && b.open_contracts.is_empty()
        && b.unread == 0;
    if quiet {
        t.push_str("\nNothing new: no commits, uncommitted changes, new artifact versions, stale items, open contracts or unread notifications.\n");
    }
    if let Some(note) = b.since.as_ref().and_then(|c| c.state.note.as_deref()) {
        t.push_str(&format!("\nNote left at the last checkpoint: {note}\n"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::changed_line;

    #[test]
    fn porcelain_v2_entries_read_as_v1_lines() {
        let hash = "587be6b4c3f93f93c489c0111bba5596147a26cb";
        assert_eq!(
            changed_line(&format!("1 .M N... 100644 100644 100644 {hash} {hash} a b.txt")).as_deref(),
            Some(" M a b.txt")
        );
        assert_eq!(
            changed_line(&format!("2 R. N... 100644 100644 100644 {hash} {hash} R100 new.rs\told.rs")).as_deref(),
            Some("R  new.rs")
        );
        assert_eq!(changed_line("? notes.txt").as_deref(), Some("?? notes.txt"));
        assert_eq!(changed_line("! ignored"), None);
    }
}
