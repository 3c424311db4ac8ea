//! The persisted shape of an inbox item: a notification, or a chat message or question.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub recipient: String,
    pub team: String,
    /// contract_ready, contract_completed, … for notifications; message, broadcast,
    /// question or answer for chat.
    pub kind: String,
    pub subject: String,
    pub message: String,
    /// Who sent it (chat only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The question it is or answers; answer a question with team_reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_id: Option<String>,
    /// Event this item announces.
    pub seq: i64,
    pub created_at: String,
    /// When it was read (or delivered as a turn); `None` while unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
}
