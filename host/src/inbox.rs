//! `inbox`: notifications addressed to a session (a contract became ready, was reopened,
//! failed or completed). Owns the `inbox` table. Rows are written in the same transaction
//! as the event they announce and point at its `seq`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::check_opt_id;
use crate::model::Caller;
use crate::store::Tx;

pub use crate::model::inbox::Notification;

/// Arguments of `team_check_inbox`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Whose inbox; defaults to the calling session.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Mark the returned notifications as read (default true).
    #[serde(default)]
    pub mark_read: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub recipient: String,
    pub unread: Vec<Notification>,
    pub marked_read: bool,
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

pub fn check(tx: &Tx<'_>, caller: &Caller, req: &CheckRequest) -> Result<Inbox> {
    check_opt_id("recipient", req.recipient.as_deref())?;
    let recipient = caller.act_as("recipient", req.recipient.as_deref())?;
    let unread = tx.unread_notifications(&recipient)?;
    let mark = req.mark_read.unwrap_or(true);
    if mark {
        tx.mark_notifications_read(&unread.iter().map(|n| n.id).collect::<Vec<_>>())?;
    }
    Ok(Inbox {
        recipient,
        unread,
        marked_read: mark,
    })
}
