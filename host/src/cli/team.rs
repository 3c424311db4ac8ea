//! `clearctx team …`: team members, the roster, phase gates and the team's chat.

use clap::builder::TypedValueParser as _;
use clap::Subcommand;

use super::sessions::{parse_mode, runs_here, streamed, text_arg, turn_output};
use super::{InboxArgs, Output, reply};
use crate::chat;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;
use crate::sessions::{self, PermissionMode};
use crate::teams::{self, Isolation};

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    // --- members, roster, gates (team_spawn, team_roster, phase_gate, team_remove) ---
    /// Start a team member with a role; with a prompt, stream its first turn
    Spawn {
        /// Session name of the member
        name: String,
        /// First message (`-` reads stdin); without one it starts idle
        prompt: Option<String>,
        /// Its role, e.g. `backend developer`
        #[arg(long)]
        role: String,
        /// The team it joins
        #[arg(long)]
        team: String,
        /// Claude model [default: Claude Code's]
        #[arg(long)]
        model: Option<String>,
        /// default, acceptEdits, bypassPermissions or plan
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["default", "acceptEdits", "bypassPermissions", "plan"]).try_map(|s: String| parse_mode(&s)))]
        permission_mode: Option<PermissionMode>,
        /// A tool it may use without asking (repeatable), e.g. `Write`
        #[arg(long = "allow", value_name = "TOOL")]
        allowed_tools: Vec<String>,
        /// Working directory (absolute); with --isolation worktree, inside the repository
        #[arg(long)]
        work_dir: Option<String>,
        /// Prompt template of its system prompt [default: worker]
        #[arg(long)]
        template: Option<String>,
        /// `worktree`: its own git worktree on branch clearctx/<team>/<name>
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["none", "worktree"]).map(|s: String| if s == "worktree" { Isolation::Worktree } else { Isolation::None }))]
        isolation: Option<Isolation>,
        /// Budget in USD for it and everything it delegates
        #[arg(long)]
        max_cost: Option<f64>,
        /// Its phase: N > 1 waits for the gate N-1 -> N
        #[arg(long)]
        phase: Option<u32>,
    },
    /// A team's members: status, role, cost, budget, contract, unread, worktree
    Roster {
        /// The team
        team: String,
    },
    /// Check a phase gate item by item (and record the report)
    Gate {
        /// The team
        team: String,
        /// The phase that ends
        #[arg(long = "from")]
        phase_completing: u32,
        /// The phase that starts when the gate passes
        #[arg(long = "to")]
        phase_starting: u32,
        /// An artifact that must exist, validated (repeatable)
        #[arg(long = "artifact", value_name = "ID")]
        expected_artifacts: Vec<String>,
        /// A session that must be idle or stopped (repeatable)
        #[arg(long = "idle", value_name = "SESSION")]
        expected_idle: Vec<String>,
        /// ARTIFACT=READER[,READER…]: who must have read its latest version (repeatable)
        #[arg(long = "readers", value_name = "ARTIFACT=READERS")]
        expected_readers: Vec<String>,
    },
    /// After a crash: resume every stopped member with its conversation and contract
    Resume {
        /// The team
        team: String,
    },
    /// Remove a member: its session, and its worktree unless that has uncommitted changes
    Remove {
        /// Session name of the member
        name: String,
        /// Kill it first if it is running
        #[arg(long)]
        force: bool,
    },
    // --- chat (team_send_message, team_broadcast, team_ask, team_reply, team_check_inbox) ---
    /// Message a member (an idle worker gets it as a turn)
    Send {
        /// The member (or the team's orchestrator)
        to: String,
        /// The message (`-` reads stdin)
        message: String,
    },
    /// Message every member of a team but yourself
    Broadcast {
        /// The message (`-` reads stdin)
        message: String,
        /// The team [default: $CLEARCTX_TEAM, else `default`]
        #[arg(long)]
        team: Option<String>,
    },
    /// Ask a member a question and wait for its answer
    Ask {
        /// The member (or the team's orchestrator)
        to: String,
        /// The question (`-` reads stdin)
        question: String,
        /// Seconds to wait, 1-900 [default: 120]
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Answer a question asked of you
    Reply {
        /// The question's id, `ask-N`
        ask_id: String,
        /// The answer (`-` reads stdin)
        answer: String,
    },
    /// A session's inbox, unread first: messages, questions, contract notifications
    Inbox(InboxArgs),
}

pub(super) fn run(hub: &Hub, command: TeamCommand, json: bool) -> Result<Output> {
    match command {
        TeamCommand::Spawn {
            name,
            prompt,
            role,
            team,
            model,
            permission_mode,
            allowed_tools,
            work_dir,
            template,
            isolation,
            max_cost,
            phase,
        } => {
            let req = teams::SpawnRequest {
                name,
                role,
                team,
                prompt: prompt.map(|p| text_arg("prompt", p)).transpose()?,
                model,
                permission_mode,
                allowed_tools: (!allowed_tools.is_empty()).then_some(allowed_tools),
                work_dir,
                template,
                isolation,
                max_cost,
                phase,
                wait: Some(true),
                timeout_s: Some(sessions::MAX_TURN_TIMEOUT_S),
            };
            let s = streamed(json, |f| hub.team_spawn(&req, f))?;
            let r = ops::replies::team_spawn(&req, &s);
            let here = runs_here(&s.reply);
            let mut o = turn_output(s.reply.clone(), here);
            if let (Some(w), Some(b)) = (&s.worktree, &s.branch) {
                o.text.push_str(&format!("\n  worktree {w} (branch {b})"));
            }
            o.json = r.json;
            Ok(o)
        }
        TeamCommand::Resume { team } => {
            let req = crate::snapshots::ResumeRequest { team };
            let r = hub.team_resume(&req)?;
            let out = ops::replies::team_resume(&req, &r);
            let mut text = out.headline.clone();
            for name in &r.resumed {
                text.push_str(&format!(
                    "\n  {name}{}",
                    r.contracts.get(name).map(|c| format!(" on {c}")).unwrap_or_default()
                ));
            }
            for (name, why) in &r.not_resumed {
                text.push_str(&format!("\n  {name} not resumed: {why}"));
            }
            Ok(reply(out, text))
        }
        TeamCommand::Roster { team } => {
            let req = teams::RosterRequest { team };
            let r = hub.team_roster(&req)?;
            let mut text = format!("team {}: {} member(s)", r.team, r.count);
            for m in &r.members {
                text.push_str(&format!(
                    "\n  {:<16} {:<8} {:<20} ${:.4}{}{}{}",
                    m.name,
                    m.status,
                    m.role,
                    m.cost_usd,
                    m.budget_left_usd.map(|b| format!(" (${b:.4} left)")).unwrap_or_default(),
                    m.current_contract.as_ref().map(|c| format!(" on {c}")).unwrap_or_default(),
                    match (&m.branch, m.changed_files) {
                        (Some(b), Some(n)) => format!(" · {b}: {n} file(s) changed"),
                        (Some(b), None) => format!(" · {b}: {}", m.worktree_error.as_deref().unwrap_or("?")),
                        _ => String::new(),
                    }
                ));
                if m.unread > 0 {
                    text.push_str(&format!(" · {} unread", m.unread));
                }
            }
            Ok(reply(ops::replies::team_roster(&req, &r), text))
        }
        TeamCommand::Gate {
            team,
            phase_completing,
            phase_starting,
            expected_artifacts,
            expected_idle,
            expected_readers,
        } => {
            let expected_readers = expected_readers
                .iter()
                .map(|r| {
                    let (a, who) = r.split_once('=').ok_or_else(|| {
                        Error::invalid("--readers", format!("`{r}`: write ARTIFACT=READER[,READER…]"))
                    })?;
                    Ok(teams::ExpectedReaders {
                        artifact_id: a.to_string(),
                        readers: who.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let req = teams::GateRequest {
                team,
                phase_completing,
                phase_starting,
                expected_artifacts,
                expected_idle,
                expected_readers,
            };
            let g = hub.phase_gate(&req)?;
            let r = ops::replies::phase_gate(&req, &g);
            let mut text = r.headline.clone();
            for i in &g.items {
                text.push_str(&format!(
                    "\n  {} {:<8} {}: {}",
                    if i.passed { "pass" } else { "FAIL" },
                    i.check,
                    i.target,
                    i.reason
                ));
            }
            let mut o = reply(r, text);
            // A failed gate is an answer, not an error, but scripts branch on it.
            if !g.passed {
                o.code = 1;
            }
            Ok(o)
        }
        TeamCommand::Send { to, message } => {
            let req = chat::SendRequest { to, message: text_arg("message", message)? };
            let r = ops::team_send_message(hub, &req)?;
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        TeamCommand::Broadcast { message, team } => {
            let req = chat::BroadcastRequest { message: text_arg("message", message)?, team };
            let r = ops::team_broadcast(hub, &req)?;
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        TeamCommand::Ask { to, question, timeout } => {
            let req = chat::AskRequest { to, question: text_arg("question", question)?, timeout_s: timeout };
            let a = hub.team_ask(&req)?;
            let r = ops::replies::team_ask(&req, &a);
            let text = r.headline.clone();
            let mut o = reply(r, text);
            // A timeout is an answer, not an error, but scripts branch on it.
            if a.answer.is_none() {
                o.code = 1;
            }
            Ok(o)
        }
        TeamCommand::Reply { ask_id, answer } => {
            let req = chat::ReplyRequest { ask_id, answer: text_arg("answer", answer)? };
            let r = ops::team_reply(hub, &req)?;
            let text = r.headline.clone();
            Ok(reply(r, text))
        }
        TeamCommand::Inbox(args) => super::inbox(hub, args),
        TeamCommand::Remove { name, force } => {
            let req = teams::RemoveRequest { name, force };
            let r = hub.team_remove(&req)?;
            let rep = ops::replies::team_remove(&req, &r);
            let text = rep.headline.clone();
            Ok(reply(rep, text))
        }
    }
}
