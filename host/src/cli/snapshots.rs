//! `clearctx snapshot create|list|diff`, `clearctx rollback` and `clearctx replay`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::{Output, PageArgs, more_line, parse_json, read_limited, reply};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;
use crate::model::contracts::Status;
use crate::snapshots::{self, ArtifactChange, ContractChange};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Label the team's coordination state now (team_snapshot)
    Create {
        /// Its label, unique in the team
        label: String,
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
        /// What the state is
        #[arg(long)]
        description: Option<String>,
    },
    /// A team's snapshots, oldest first
    List {
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// What changed between two snapshots, or a snapshot and now
    Diff {
        /// The earlier snapshot
        from: String,
        /// The later snapshot [default: now]
        to: Option<String>,
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub(super) fn snapshot(hub: &Hub, command: SnapshotCommand) -> Result<Output> {
    match command {
        SnapshotCommand::Create { label, team, description } => {
            let req = snapshots::SnapshotRequest { label, team, description };
            let s = hub.team_snapshot(&req)?;
            let r = ops::replies::team_snapshot(&req, &s);
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        SnapshotCommand::List { team, page } => {
            let req = snapshots::ListRequest { team, limit: page.limit, cursor: page.cursor };
            let p = hub.snapshot_list(&req)?;
            let mut text = format!("{} snapshot(s)", p.items.len());
            for s in &p.items {
                text.push_str(&format!(
                    "\n  {:<24} event {:<8} {} contract(s), {} artifact(s), {} pipeline(s), {} member(s){}",
                    s.label,
                    s.seq,
                    s.contracts,
                    s.artifacts,
                    s.pipelines,
                    s.members,
                    if s.description.is_empty() { String::new() } else { format!(" · {}", s.description) }
                ));
            }
            text.push_str(&more_line(&p));
            Ok(reply(ops::replies::snapshot_list(&req, &p), text))
        }
        SnapshotCommand::Diff { from, to, team, page } => {
            let req = snapshots::DiffRequest { from, to, team, limit: page.limit, cursor: page.cursor };
            let d = hub.snapshot_diff(&req)?;
            let r = ops::replies::snapshot_diff(&req, &d);
            let mut text = r.headline.clone();
            contracts_text(&mut text, &d.contracts);
            artifacts_text(&mut text, &d.artifacts);
            for (what, list) in [
                ("pipeline added", &d.pipelines_added),
                ("pipeline removed", &d.pipelines_removed),
                ("member added", &d.members_added),
                ("member removed", &d.members_removed),
            ] {
                for x in list {
                    text.push_str(&format!("\n  {what}: {x}"));
                }
            }
            if let Some(c) = &d.next_cursor {
                text.push_str(&format!("\n… more: add --cursor {c}"));
            }
            Ok(reply(r, text))
        }
    }
}

fn contracts_text(text: &mut String, changes: &[ContractChange]) {
    for c in changes {
        let show = |s: &Option<snapshots::ContractSide>| match s {
            Some(s) => format!("{} {}", s.status, s.inputs),
            None => "(none)".to_string(),
        };
        text.push_str(&format!("\n  contract {}: {} -> {}", c.contract_id, show(&c.from), show(&c.to)));
    }
}

fn artifacts_text(text: &mut String, changes: &[ArtifactChange]) {
    for a in changes {
        let v = |v: Option<u32>| match v {
            Some(v) if v > 0 => format!("v{v}"),
            _ => "none".to_string(),
        };
        text.push_str(&format!("\n  artifact {}: {} -> {}", a.artifact_id, v(a.from), v(a.to)));
    }
}

fn rollback_text(text: &mut String, r: &snapshots::Rollback) {
    for (what, list) in [
        ("restored", &r.contracts_restored),
        ("withdrawn", &r.contracts_withdrawn),
    ] {
        if !list.is_empty() {
            text.push_str(&format!("\n  contracts {what}: {}", list.join(", ")));
        }
    }
    artifacts_text(text, &r.artifacts);
    for (what, list) in [
        ("pipelines restored", &r.pipelines_restored),
        ("pipelines removed", &r.pipelines_removed),
        ("members restored", &r.members_restored),
        ("members removed", &r.members_removed),
        ("members that cannot come back (session deleted)", &r.members_not_restored),
        ("stopped (resumable)", &r.stopped),
        ("notified", &r.notified),
    ] {
        if !list.is_empty() {
            text.push_str(&format!("\n  {what}: {}", list.join(", ")));
        }
    }
}

pub(super) fn rollback(hub: &Hub, label: String, team: Option<String>) -> Result<Output> {
    let req = snapshots::RollbackRequest { label, team };
    let out = hub.team_rollback(&req)?;
    let r = ops::replies::team_rollback(&req, &out);
    let mut text = r.headline.clone();
    rollback_text(&mut text, &out);
    Ok(reply(r, text))
}

/// `--overrides` is inline JSON (it starts with `{`) or the path of a JSON file (`-`: stdin).
fn read_overrides(arg: Option<String>) -> Result<snapshots::ReplayRequest> {
    let flag = "--overrides";
    let Some(arg) = arg else {
        return Ok(snapshots::ReplayRequest::default());
    };
    let text = if arg.trim_start().starts_with('{') {
        arg
    } else if arg == "-" {
        read_limited(std::io::stdin(), 2 * crate::contracts::MAX_VALUE_BYTES, flag, "stdin")?
    } else {
        let path = PathBuf::from(&arg);
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::invalid(flag, format!("is neither JSON nor a file it can read: `{}`: {e}", path.display())))?;
        read_limited(file, 2 * crate::contracts::MAX_VALUE_BYTES, flag, &format!("`{}`", path.display()))?
    };
    let value = parse_json(flag, &text)?;
    let overrides = serde_json::from_value(value).map_err(|e| {
        Error::invalid(flag, format!("must be an object of objects, {{contract_id: {{input: value}}}}: {e}"))
    })?;
    Ok(snapshots::ReplayRequest { overrides, ..Default::default() })
}

pub(super) fn replay(
    hub: &Hub,
    label: String,
    team: Option<String>,
    overrides: Option<String>,
    wait_s: Option<u64>,
) -> Result<Output> {
    let req = snapshots::ReplayRequest { label, team, ..read_overrides(overrides)? };
    let out = hub.team_replay(&req)?;
    let r = ops::replies::team_replay(&req, &out);
    let mut text = r.headline.clone();
    rollback_text(&mut text, &out.rollback);
    for (what, list) in [("overridden", &out.overridden), ("re-opened", &out.reopened), ("re-sent their contract", &out.sent)] {
        if !list.is_empty() {
            text.push_str(&format!("\n  {what}: {}", list.join(", ")));
        }
    }
    for (who, why) in &out.not_sent {
        text.push_str(&format!("\n  not re-sent to {who}: {why}"));
    }
    let mut output = reply(r, text);
    if let Some(wait_s) = wait_s {
        let followed = follow_replay(hub, &out, Duration::from_secs(wait_s))?;
        let open = followed.open.len();
        output.text.push_str(&format!(
            "\nreplay {}: {} completed, {} failed, {open} still open after {:.0} s",
            if open == 0 { "finished" } else { "not finished" },
            followed.completed.len(),
            followed.failed.len(),
            followed.waited.as_secs_f64()
        ));
        output.json["followed"] = json!({
            "completed": followed.completed,
            "failed": followed.failed,
            "open": followed.open,
            "waited_ms": followed.waited.as_millis() as u64,
        });
        if open > 0 {
            output.code = 1;
        }
    }
    Ok(output)
}

/// Where the replayed contracts ended when `--wait` stopped following them.
struct Followed {
    completed: Vec<String>,
    failed: Vec<String>,
    open: Vec<String>,
    waited: Duration,
}

/// Follows the contracts a replay opened again until each is completed or failed, or
/// `timeout` passes, printing a line on stderr whenever one moves (the progress of a long
/// replay: real workers take minutes). Each poll reads those contracts by id.
fn follow_replay(hub: &Hub, out: &snapshots::Replay, timeout: Duration) -> Result<Followed> {
    // What runs again: what the replay moved, and every contract of the team it left open.
    let mut ids: Vec<String> = out.rollback.contracts_restored.iter().chain(&out.reopened).chain(&out.overridden).cloned().collect();
    for status in [Status::Pending, Status::Ready, Status::InProgress] {
        let mut cursor = None;
        loop {
            let req = crate::contracts::ListRequest {
                status: Some(status),
                team: Some(out.rollback.team.clone()),
                limit: Some(1000),
                cursor,
                ..Default::default()
            };
            let page = hub.contract_list(&req)?;
            ids.extend(page.items.into_iter().map(|c| c.contract_id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    ids.sort();
    ids.dedup();
    let started = Instant::now();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut open = 0;
        for id in &ids {
            let status = hub.contract_get(id)?.status;
            if !matches!(status, Status::Completed | Status::Failed) {
                open += 1;
            }
            if last.get(id).map(String::as_str) != Some(status.as_str()) {
                eprintln!("[{:>4.0} s] {id}: {}", started.elapsed().as_secs_f64(), status.as_str());
                last.insert(id.clone(), status.as_str().to_string());
            }
        }
        if open == 0 || started.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(250).min(timeout.saturating_sub(started.elapsed())));
    }
    let pick = |want: &[&str]| -> Vec<String> {
        last.iter().filter(|(_, s)| want.contains(&s.as_str())).map(|(id, _)| id.clone()).collect()
    };
    Ok(Followed {
        completed: pick(&["completed"]),
        failed: pick(&["failed"]),
        open: pick(&["pending", "ready", "in_progress"]),
        waited: started.elapsed(),
    })
}
