//! The persisted shape of a notification.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub recipient: String,
    pub team: String,
    pub kind: String,
    pub subject: String,
    pub message: String,
    /// Event this notification announces.
    pub seq: i64,
    pub created_at: String,
}
