//! `chat`: team members talking to each other: messages, broadcasts, questions that block
//! until answered (`team_ask`) and their answers (`team_reply`).
//!
//! Every send is an event (`chat.message`, `chat.broadcast`, `chat.asked`,
//! `chat.answered`), an inbox row per recipient and a `chat_sends` row, all in the sender's
//! transaction. Delivery: a recipient whose session is idle (or still starting) also gets
//! the item as a turn through the outbox (`sessions::queue_turn`), so it does not poll; a
//! busy one finds it in its inbox (`team_check_inbox`) or, if it has not read it by then,
//! gets it as one turn when its turn completes (the `chat` reaction). Paused, stopped and
//! processless recipients (the orchestrator) keep it in their inbox. An item delivered as a
//! turn counts as read; one read counts as delivered, so nothing arrives twice.
//!
//! Guards, each refusal naming why and what to do instead: at most [`RATE_LIMIT`] sends per
//! sender per minute; asks nested at most [`MAX_ASK_DEPTH`] deep (an ask made while
//! answering one is one deeper), and no ask back to someone waiting on you; at most
//! [`MAX_BOUNCES`] direct messages in a row bouncing between the same two members.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::model::Caller;
use crate::model::inbox::Notification;
use crate::model::sessions::SessionStatus;
use crate::sessions;
use crate::store::{AskRow, ChatItem, Event, NewEvent, Tx};

/// Sends (messages, broadcasts, questions) one sender may make per [`RATE_WINDOW_MS`].
pub const RATE_LIMIT: u32 = 20;
pub const RATE_WINDOW_MS: i64 = 60_000;
/// How deep asks may nest: A asks B, B asks C while answering, C asks D; D may not ask on.
pub const MAX_ASK_DEPTH: i64 = 3;
/// Direct messages in a row alternating between two members, within [`BOUNCE_WINDOW_MS`].
pub const MAX_BOUNCES: u32 = 10;
pub const BOUNCE_WINDOW_MS: i64 = 10 * 60_000;
/// How long `team_ask` waits by default, and at most.
pub const DEFAULT_ASK_TIMEOUT_S: u64 = 120;
pub const MAX_ASK_TIMEOUT_S: u64 = 900;
/// Longest message, question or answer.
pub const MAX_TEXT_CHARS: usize = 32 * 1024;
/// Items put into one delivery turn; more stay in the inbox for the next one.
const DELIVERY_BATCH: u32 = 20;

/// Arguments of `team_send_message`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Whom to message.
    pub to: String,
    /// The text.
    pub message: String,
}

/// Arguments of `team_broadcast`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    /// The text.
    pub message: String,
    /// Team [default: yours].
    #[serde(default)]
    pub team: Option<String>,
}

/// Arguments of `team_ask`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// Whom to ask.
    pub to: String,
    /// The question.
    pub question: String,
    /// Seconds to wait, 1-900 [default 120].
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Arguments of `team_reply`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The question's `ask-N`.
    pub ask_id: String,
    /// The answer.
    pub answer: String,
}

/// What a send did.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub team: String,
    pub from: String,
    pub kind: &'static str,
    /// Every recipient.
    pub to: Vec<String>,
    /// Recipients that got it as a turn now.
    pub delivered_as_turn: Vec<String>,
    /// Recipients that find it in their inbox (busy: also as a turn once idle).
    pub in_inbox: Vec<String>,
    pub seq: i64,
}

/// A question just asked, before waiting.
#[derive(Debug, Clone)]
pub struct Asked {
    pub id: i64,
    pub sent: Sent,
    pub deadline_ms: i64,
}

/// How a `team_ask` ended.
#[derive(Debug, Clone, Serialize)]
pub struct AskOutcome {
    pub ask_id: String,
    pub team: String,
    pub from: String,
    pub to: String,
    pub question: String,
    /// `answered` or `timed_out` (the question stays open; a late answer reaches the
    /// asker's inbox).
    pub status: &'static str,
    pub answer: Option<String>,
    pub timeout_s: u64,
    /// How long the call waited for the answer.
    pub waited_ms: u64,
    pub delivered_as_turn: bool,
    /// On a timeout, what happened and what happens next, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `team_reply` did.
#[derive(Debug, Clone, Serialize)]
pub struct Replied {
    pub ask_id: String,
    pub from: String,
    pub to: String,
    pub answer: String,
    /// The asker had stopped waiting: the answer went to its inbox (and as a turn when idle).
    pub late: bool,
    pub seq: i64,
}

/// The id a model sees for the ask row `id`.
pub fn ask_id(id: i64) -> String {
    format!("ask-{id}")
}

fn parse_ask_id(s: &str) -> Result<i64> {
    s.strip_prefix("ask-")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::invalid("ask_id", format!("`{s}` is not an ask id (`ask-N`); team_check_inbox lists your questions with theirs"))
        })
}

fn check_text(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!("is longer than {MAX_TEXT_CHARS} characters; publish it as an artifact and send its id"),
        ));
    }
    Ok(())
}

pub fn check_send(req: &SendRequest) -> Result<()> {
    check_id("to", &req.to)?;
    check_text("message", &req.message)
}

pub fn check_broadcast(req: &BroadcastRequest) -> Result<()> {
    check_opt_id("team", req.team.as_deref())?;
    check_text("message", &req.message)
}

pub fn check_ask(req: &AskRequest) -> Result<u64> {
    check_id("to", &req.to)?;
    check_text("question", &req.question)?;
    let t = req.timeout_s.unwrap_or(DEFAULT_ASK_TIMEOUT_S);
    if !(1..=MAX_ASK_TIMEOUT_S).contains(&t) {
        return Err(Error::invalid("timeout_s", format!("{t} is out of range 1..={MAX_ASK_TIMEOUT_S}")));
    }
    Ok(t)
}

pub fn check_reply(req: &ReplyRequest) -> Result<i64> {
    check_text("answer", &req.answer)?;
    parse_ask_id(&req.ask_id)
}

/// The team a send goes to: as given (a broadcast), else the recipient's, else the
/// caller's. A worker's server speaks only in its own team.
fn team_of(tx: &Tx<'_>, caller: &Caller, team: Option<&str>, to: Option<&str>) -> Result<String> {
    let team = match (team, to) {
        (Some(t), _) => t.to_string(),
        (None, _) if caller.bound => caller.team.clone(),
        (None, Some(to)) => match tx.team_member(to)? {
            Some(m) => m.team,
            None => caller.team.clone(),
        },
        (None, None) => caller.team.clone(),
    };
    if caller.bound && team != caller.team {
        return Err(Error::Forbidden(format!(
            "team: this server speaks only for `{}` in team `{}`; it cannot send in team `{team}` (leave `team` out)",
            caller.session, caller.team
        )));
    }
    Ok(team)
}

/// `to` must be a member of `team`, or its orchestrator (who started one of its members).
fn check_recipient(tx: &Tx<'_>, team: &str, from: &str, to: &str) -> Result<()> {
    if to == from {
        return Err(Error::invalid("to", format!("`{to}` is you; message another member")));
    }
    let member = tx.team_member(to)?.is_some_and(|m| m.team == team);
    if member || tx.started_a_member_of(to, team)? {
        return Ok(());
    }
    Err(Error::not_found_hint(
        "team member",
        to,
        &format!("it is not a member of team `{team}` nor its orchestrator; team_roster lists the members"),
    ))
}

/// Refuses a send past [`RATE_LIMIT`] a minute, saying when the next one may go.
fn check_rate(tx: &Tx<'_>, from: &str) -> Result<()> {
    let now = tx.now_ms();
    if let Some(at) = tx.nth_latest_send_ms(from, now - RATE_WINDOW_MS, RATE_LIMIT)? {
        let retry_ms = (at + RATE_WINDOW_MS - now).max(1);
        return Err(Error::conflict(format!(
            "rate limit: `{from}` sent {RATE_LIMIT} messages in the last minute, the most allowed; nothing was sent. Retry in {} s (after {}), or say it once to everyone with team_broadcast, or put the work in an artifact or a contract (contract_create) instead of messages",
            (retry_ms + 999) / 1000,
            crate::time::rfc3339(at + RATE_WINDOW_MS)
        )));
    }
    Ok(())
}

/// Refuses a direct message that continues [`MAX_BOUNCES`] alternating messages between
/// the same two members.
fn check_bounce(tx: &Tx<'_>, from: &str, to: &str) -> Result<()> {
    let latest = tx.latest_pair_messages(from, to, MAX_BOUNCES)?;
    let since = tx.now_ms() - BOUNCE_WINDOW_MS;
    let alternating = latest.len() == MAX_BOUNCES as usize
        && latest[0].0 == to
        && latest.iter().all(|(_, at)| *at > since)
        && latest.windows(2).all(|w| w[0].0 != w[1].0);
    if alternating {
        return Err(Error::conflict(format!(
            "loop: `{from}` and `{to}` have bounced {MAX_BOUNCES} messages back and forth in the last {} minutes; nothing was sent. Stop replying to replies: settle it in a contract (contract_create) or an artifact both read, or ask the orchestrator",
            BOUNCE_WINDOW_MS / 60_000
        )));
    }
    Ok(())
}

/// Appends the event and the send row, writes each recipient's inbox item, and delivers it
/// as a turn to those idle (unless `hold`: an asker still waiting takes its answer itself).
#[allow(clippy::too_many_arguments)]
fn record(
    tx: &Tx<'_>,
    hold: bool,
    kind: &'static str,
    team: &str,
    from: &str,
    to: &[String],
    subject: String,
    text: &str,
    ask: Option<&str>,
    payload: serde_json::Value,
) -> Result<Sent> {
    let seq = tx.append_event(NewEvent {
        kind: match kind {
            "message" => "chat.message",
            "broadcast" => "chat.broadcast",
            "question" => "chat.asked",
            _ => "chat.answered",
        },
        actor: from,
        team,
        subject: subject.clone(),
        payload,
    })?;
    let direct = (kind != "broadcast").then(|| to[0].as_str());
    tx.insert_chat_send(seq, team, from, direct, kind)?;
    let (mut now, mut later) = (Vec::new(), Vec::new());
    for r in to {
        tx.insert_chat_item(&ChatItem {
            recipient: r,
            team,
            kind,
            subject: &subject,
            message: text,
            sender: from,
            ask_id: ask,
            seq,
        })?;
        if !hold && deliver(tx, r, from)? {
            now.push(r.clone());
        } else {
            later.push(r.clone());
        }
    }
    Ok(Sent {
        team: team.to_string(),
        from: from.to_string(),
        kind,
        to: to.to_vec(),
        delivered_as_turn: now,
        in_inbox: later,
        seq,
    })
}

pub fn send(tx: &Tx<'_>, caller: &Caller, req: &SendRequest) -> Result<Sent> {
    check_send(req)?;
    let from = caller.session.clone();
    let team = team_of(tx, caller, None, Some(&req.to))?;
    check_recipient(tx, &team, &from, &req.to)?;
    check_rate(tx, &from)?;
    check_bounce(tx, &from, &req.to)?;
    record(
        tx,
        false,
        "message",
        &team,
        &from,
        std::slice::from_ref(&req.to),
        format!("session:{}", req.to),
        &req.message,
        None,
        json!({ "from": from, "to": req.to, "message": req.message }),
    )
}

pub fn broadcast(tx: &Tx<'_>, caller: &Caller, req: &BroadcastRequest) -> Result<Sent> {
    check_broadcast(req)?;
    let from = caller.session.clone();
    let team = team_of(tx, caller, req.team.as_deref(), None)?;
    let to: Vec<String> = tx
        .team_members(&team)?
        .into_iter()
        .map(|m| m.name)
        .filter(|n| *n != from)
        .collect();
    if to.is_empty() {
        return Err(Error::not_found_hint(
            "team with members besides the sender",
            &team,
            "team_spawn adds members; team_roster lists them",
        ));
    }
    check_rate(tx, &from)?;
    record(
        tx,
        false,
        "broadcast",
        &team,
        &from,
        &to,
        format!("team:{team}"),
        &req.message,
        None,
        json!({ "from": from, "to": to, "message": req.message }),
    )
}

/// Asks `to`; the hub then waits for the answer (see `Hub::team_ask`).
pub fn ask(tx: &Tx<'_>, caller: &Caller, req: &AskRequest) -> Result<Asked> {
    let timeout_s = check_ask(req)?;
    let from = caller.session.clone();
    let team = team_of(tx, caller, None, Some(&req.to))?;
    check_recipient(tx, &team, &from, &req.to)?;
    check_rate(tx, &from)?;
    if let Some(theirs) = tx.waiting_ask(&req.to, &from)? {
        return Err(Error::conflict(format!(
            "loop: `{}` is waiting for your answer to {} ({}); asking back would leave you both waiting. Answer it first with team_reply (ask_id `{}`); nothing was asked",
            req.to,
            ask_id(theirs.id),
            shorten(&theirs.question),
            ask_id(theirs.id)
        )));
    }
    let depth = match tx.deepest_waiting_ask_to(&from)? {
        Some(a) => a.depth + 1,
        None => 1,
    };
    if depth > MAX_ASK_DEPTH {
        let a = tx.deepest_waiting_ask_to(&from)?.expect("just read");
        return Err(Error::conflict(format!(
            "loop: you are answering {} from `{}`, itself {} ask(s) deep; asks nest at most {MAX_ASK_DEPTH} deep, so nothing was asked. Answer with what you know (team_reply, ask_id `{}`), or record the open point in an artifact or a contract (contract_create) instead",
            ask_id(a.id),
            a.asker,
            a.depth,
            ask_id(a.id)
        )));
    }
    let deadline_ms = tx.now_ms() + timeout_s as i64 * 1000;
    let id = tx.insert_ask(&team, &from, &req.to, &req.question, depth, deadline_ms)?;
    let aid = ask_id(id);
    let sent = record(
        tx,
        false,
        "question",
        &team,
        &from,
        std::slice::from_ref(&req.to),
        format!("ask:{aid}"),
        &req.question,
        Some(&aid),
        json!({ "ask_id": aid, "from": from, "to": req.to, "question": req.question, "timeout_s": timeout_s, "depth": depth }),
    )?;
    Ok(Asked { id, sent, deadline_ms })
}

pub fn reply(tx: &Tx<'_>, caller: &Caller, req: &ReplyRequest) -> Result<Replied> {
    let id = check_reply(req)?;
    let from = caller.session.clone();
    let a = tx.ask(id)?.ok_or_else(|| {
        Error::not_found_hint("ask", &req.ask_id, "team_check_inbox lists your questions with their ask_id")
    })?;
    if a.asked != from {
        return Err(Error::Forbidden(format!(
            "{} was asked of `{}`; only it may answer (you are `{from}`)",
            req.ask_id, a.asked
        )));
    }
    if let (Some(answer), Some(at)) = (&a.answer, a.answered_at_ms) {
        return Err(Error::conflict(format!(
            "{} was already answered at {}: {}; an answer is given once (send more with team_send_message)",
            req.ask_id,
            crate::time::rfc3339(at),
            shorten(answer)
        )));
    }
    tx.answer_ask(id, &req.answer)?;
    let late = tx.now_ms() >= a.deadline_ms;
    let sent = record(
        tx,
        !late,
        "answer",
        &a.team,
        &from,
        std::slice::from_ref(&a.asker),
        format!("ask:{}", req.ask_id),
        &req.answer,
        Some(&req.ask_id),
        json!({ "ask_id": req.ask_id, "from": from, "to": a.asker, "answer": req.answer, "late": late }),
    )?;
    Ok(Replied {
        ask_id: req.ask_id.clone(),
        from,
        to: a.asker,
        answer: req.answer.clone(),
        late,
        seq: sent.seq,
    })
}

/// The ask row `id` (for the waiting `team_ask`).
pub fn ask_row(tx: &Tx<'_>, id: i64) -> Result<AskRow> {
    tx.ask(id)?.ok_or_else(|| Error::Corrupt(format!("{} vanished while its asker waited", ask_id(id))))
}

/// The waiting asker got its answer in the call's result: its inbox copy is read.
pub fn take_answer(tx: &Tx<'_>, a: &AskRow) -> Result<()> {
    if let Some(item) = tx.answer_item(&a.asker, &ask_id(a.id))? {
        tx.mark_notifications_read(&[item])?;
    }
    Ok(())
}

/// Delivers `recipient`'s undelivered chat items as one turn when it is idle (or still
/// starting, then the turn runs once it is up); returns whether it did. A worker the
/// outbox cannot take a turn for (out of budget) keeps them in its inbox.
pub(crate) fn deliver(tx: &Tx<'_>, recipient: &str, by: &str) -> Result<bool> {
    let Some(row) = tx.session(recipient)? else {
        return Ok(false);
    };
    if !matches!(row.status, SessionStatus::Idle | SessionStatus::Starting) {
        return Ok(false);
    }
    let items = tx.undelivered_chat(recipient, DELIVERY_BATCH)?;
    if items.is_empty() {
        return Ok(false);
    }
    match sessions::queue_turn(tx, by, recipient, &turn_text(&items)) {
        Ok(_) => {
            tx.mark_chat_delivered(&items.iter().map(|i| i.id).collect::<Vec<_>>())?;
            Ok(true)
        }
        Err(e) => {
            tracing::debug!(session = recipient, error = %e, "chat kept in the inbox");
            Ok(false)
        }
    }
}

/// What a recipient reads in a delivery turn.
fn turn_text(items: &[Notification]) -> String {
    let mut s = String::from("[clearctx team chat]\n");
    for i in items {
        let from = i.sender.as_deref().unwrap_or("?");
        let ask = i.ask_id.as_deref().unwrap_or("?");
        match i.kind.as_str() {
            "question" => s.push_str(&format!(
                "Question {ask} from `{from}`: {}\n(`{from}` is waiting: answer with team_reply, ask_id `{ask}`.)\n",
                i.message
            )),
            "answer" => s.push_str(&format!("Answer from `{from}` to your question {ask}: {}\n", i.message)),
            "broadcast" => s.push_str(&format!("Broadcast from `{from}` to team `{}`: {}\n", i.team, i.message)),
            _ => s.push_str(&format!("Message from `{from}`: {}\n(Reply with team_send_message if needed.)\n", i.message)),
        }
    }
    s.trim_end().to_string()
}

/// The `chat` reaction: a worker whose turn completed gets what waited for it.
pub fn on_events(tx: &Tx<'_>, events: &[Event]) -> Result<()> {
    for ev in events.iter().filter(|e| e.kind == "session.turn_completed") {
        if let Some(name) = ev.subject.strip_prefix("session:") {
            deliver(tx, name, "clearctx")?;
        }
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    format!("“{out}”")
}
