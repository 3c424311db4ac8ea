//! Team chat: messages, broadcasts, and questions whose asker waits for the answer.

use std::time::Duration;

use super::*;
use crate::chat::{self, AskOutcome, Replied, Sent};

/// How often a waiting `team_ask` looks for its answer: soon at first, then less often.
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_millis(500);

impl Hub {
    pub fn team_send_message(&self, req: &chat::SendRequest) -> Result<Sent> {
        chat::check_send(req)?;
        self.command(|tx, caller| chat::send(tx, caller, req), |_, s| Ok(s))
    }

    pub fn team_broadcast(&self, req: &chat::BroadcastRequest) -> Result<Sent> {
        chat::check_broadcast(req)?;
        self.command(|tx, caller| chat::broadcast(tx, caller, req), |_, s| Ok(s))
    }

    /// Asks, then waits (outside any transaction) until the answer is recorded or the
    /// timeout passes. A timed-out question stays open: the answer, when it comes, goes to
    /// the asker's inbox.
    pub fn team_ask(&self, req: &chat::AskRequest) -> Result<AskOutcome> {
        let timeout_s = chat::check_ask(req)?;
        let started = std::time::Instant::now();
        let asked = self.command(|tx, caller| chat::ask(tx, caller, req), |_, a| Ok(a))?;
        let mut poll = FIRST_POLL;
        let answered = loop {
            // A read, not `query`: waiting must not write on every poll.
            let row = self.store().read(|tx| chat::ask_row(tx, asked.id))?;
            if row.answer.is_some() {
                self.command(|tx, _| chat::take_answer(tx, &row), |_, _| Ok(()))?;
                break Some(row);
            }
            // The recorded deadline is in wall-clock milliseconds; the wait also lasts the
            // whole timeout by the monotonic clock, so `waited_ms` is never short of it.
            let by_clock = Duration::from_secs(timeout_s).saturating_sub(started.elapsed()).as_micros().div_ceil(1000) as i64;
            let left = (asked.deadline_ms - crate::time::now_ms()).max(by_clock);
            if left <= 0 {
                break None;
            }
            std::thread::sleep(poll.min(Duration::from_millis(left as u64)));
            poll = (poll * 2).min(MAX_POLL);
        };
        let note = answered.is_none().then(|| {
            format!(
                "timed out: no answer from {} within {timeout_s} s; {} stays open and a late answer reaches your inbox",
                req.to,
                chat::ask_id(asked.id)
            )
        });
        Ok(AskOutcome {
            ask_id: chat::ask_id(asked.id),
            team: asked.sent.team,
            from: asked.sent.from,
            to: req.to.clone(),
            question: req.question.clone(),
            status: if answered.is_some() { "answered" } else { "timed_out" },
            answer: answered.and_then(|r| r.answer),
            timeout_s,
            waited_ms: started.elapsed().as_millis() as u64,
            delivered_as_turn: !asked.sent.delivered_as_turn.is_empty(),
            note,
        })
    }

    pub fn team_reply(&self, req: &chat::ReplyRequest) -> Result<Replied> {
        chat::check_reply(req)?;
        self.command(|tx, caller| chat::reply(tx, caller, req), |_, r| Ok(r))
    }
}
