//! `inbox`: what is addressed to a session: notifications (a contract became ready, was
//! reopened, failed or completed) and team chat (messages, questions, answers; `chat`).
//! Owns the `inbox` table. Rows are written in the same transaction as the event they
//! announce and point at its `seq`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::check_opt_id;
use crate::model::Caller;
use crate::store::Tx;
use crate::store::page;

pub use crate::model::inbox::Notification;

/// Arguments of `team_check_inbox`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Whose inbox [default: yours].
    #[serde(default)]
    pub recipient: Option<String>,
    /// Mark them read [default true].
    #[serde(default)]
    pub mark_read: Option<bool>,
    /// Then list read items, newest first.
    #[serde(default)]
    pub include_read: Option<bool>,
    /// Items per page, 1-1000 [default 100].
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's next_cursor.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub recipient: String,
    /// Items on this page.
    pub count: usize,
    /// Unread items, oldest first (questions carry the `ask_id` team_reply takes).
    pub unread: Vec<Notification>,
    /// Read items, newest first (only with `include_read`).
    pub read: Vec<Notification>,
    pub marked_read: bool,
    /// Unread items left after this call.
    pub unread_left: i64,
    pub next_cursor: Option<String>,
}

/// Where a page starts: in the unread part after an id, or in the read part before one.
/// Keyset rather than an offset: marking a page read moves its items out of the unread
/// part, which would shift every offset after them.
enum From {
    Unread(i64),
    Read(i64),
}

fn parse_cursor(c: Option<&str>) -> Result<From> {
    let bad = |c: &str| {
        Error::invalid("cursor", format!("`{c}` is not an inbox cursor; pass the `next_cursor` of the previous page"))
    };
    match c {
        None => Ok(From::Unread(0)),
        Some("r") => Ok(From::Read(i64::MAX)),
        Some(c) => {
            let n = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| bad(c));
            match (c.strip_prefix('u'), c.strip_prefix('r')) {
                (Some(id), _) => Ok(From::Unread(n(id)?)),
                (_, Some(id)) => Ok(From::Read(n(id)?)),
                _ => Err(bad(c)),
            }
        }
    }
}

pub(crate) fn notify(
    tx: &Tx<'_>,
    recipient: &str,
    team: &str,
    kind: &str,
    subject: &str,
    message: &str,
    seq: i64,
) -> Result<()> {
    tx.insert_notification(recipient, team, kind, subject, message, seq)
}

/// One page of an inbox: the unread items first, then (with `include_read`) the read ones.
pub fn check(tx: &Tx<'_>, caller: &Caller, req: &CheckRequest) -> Result<Inbox> {
    check_opt_id("recipient", req.recipient.as_deref())?;
    let recipient = caller.act_as("recipient", req.recipient.as_deref())?;
    let limit = page::window(req.limit, None)?.limit;
    let from = parse_cursor(req.cursor.as_deref())?;
    let include_read = req.include_read.unwrap_or(false);
    let (mut unread, mut read, mut next) = (Vec::new(), Vec::new(), None);
    let mut read_from = None;
    match from {
        From::Unread(after) => {
            unread = tx.unread_page(&recipient, after, limit)?;
            if unread.len() > limit as usize {
                unread.truncate(limit as usize);
                next = unread.last().map(|n| format!("u{}", n.id));
            } else if include_read {
                read_from = Some((i64::MAX, limit - unread.len() as u32));
            }
        }
        From::Read(before) => read_from = Some((before, limit)),
    }
    match read_from {
        Some((_, 0)) => next = Some("r".to_string()),
        Some((before, room)) => {
            read = tx.read_page(&recipient, before, room)?;
            if read.len() > room as usize {
                read.truncate(room as usize);
                next = read.last().map(|n| format!("r{}", n.id));
            }
        }
        None => {}
    }
    let mark = req.mark_read.unwrap_or(true);
    if mark {
        tx.mark_notifications_read(&unread.iter().map(|n| n.id).collect::<Vec<_>>())?;
    }
    Ok(Inbox {
        count: unread.len() + read.len(),
        unread_left: tx.unread_count(&recipient)?,
        recipient,
        unread,
        read,
        marked_read: mark,
        next_cursor: next,
    })
}
