//! The persisted statuses of sessions and of the requests queued to their processes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a session's process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Claimed by an owner whose `claude` is starting.
    Starting,
    /// Running, waiting for a turn.
    Idle,
    /// Running a turn.
    Busy,
    /// Running, holding its queued turns until resumed.
    Paused,
    /// No process; resumable, nothing went wrong.
    Stopped,
    /// No process; it ended on an error.
    Failed,
}

impl SessionStatus {
    /// Every status, in the order they are listed to callers.
    pub const ALL: [SessionStatus; 6] = [
        SessionStatus::Starting,
        SessionStatus::Idle,
        SessionStatus::Busy,
        SessionStatus::Paused,
        SessionStatus::Stopped,
        SessionStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Starting => "starting",
            SessionStatus::Idle => "idle",
            SessionStatus::Busy => "busy",
            SessionStatus::Paused => "paused",
            SessionStatus::Stopped => "stopped",
            SessionStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<SessionStatus> {
        Ok(match s {
            "starting" => SessionStatus::Starting,
            "idle" => SessionStatus::Idle,
            "busy" => SessionStatus::Busy,
            "paused" => SessionStatus::Paused,
            "stopped" => SessionStatus::Stopped,
            "failed" => SessionStatus::Failed,
            other => return Err(Error::Corrupt(format!("unknown session status `{other}`"))),
        })
    }

    /// Whether the session has (or is getting) a process.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SessionStatus::Starting
                | SessionStatus::Idle
                | SessionStatus::Busy
                | SessionStatus::Paused
        )
    }
}

impl std::fmt::Display for SessionStatus {
    /// The status as stored; width and alignment apply (`{:<8}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a request queued to a session's process asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Run a turn with the request's message.
    Turn,
    /// End the process gently, after the turn it is on.
    Stop,
    /// End the process now.
    Kill,
    /// Hold queued turns until an unpause.
    Pause,
    /// Let queued turns run again.
    Unpause,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Turn => "turn",
            RequestKind::Stop => "stop",
            RequestKind::Kill => "kill",
            RequestKind::Pause => "pause",
            RequestKind::Unpause => "unpause",
        }
    }

    pub fn parse(s: &str) -> Result<RequestKind> {
        Ok(match s {
            "turn" => RequestKind::Turn,
            "stop" => RequestKind::Stop,
            "kill" => RequestKind::Kill,
            "pause" => RequestKind::Pause,
            "unpause" => RequestKind::Unpause,
            other => {
                return Err(Error::Corrupt(format!(
                    "unknown session request kind `{other}`"
                )));
            }
        })
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a queued request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Not picked up yet.
    Queued,
    /// Being carried out (a turn in flight, a stop waiting for the process to end).
    Running,
    /// Carried out; its outcome is recorded.
    Done,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Queued => "queued",
            RequestStatus::Running => "running",
            RequestStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Result<RequestStatus> {
        Ok(match s {
            "queued" => RequestStatus::Queued,
            "running" => RequestStatus::Running,
            "done" => RequestStatus::Done,
            other => {
                return Err(Error::Corrupt(format!(
                    "unknown session request status `{other}`"
                )));
            }
        })
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_as_stored_and_as_json() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()).unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        let live: Vec<_> = SessionStatus::ALL
            .into_iter()
            .filter(|s| s.is_live())
            .map(SessionStatus::as_str)
            .collect();
        assert_eq!(live, ["starting", "idle", "busy", "paused"]);
        for k in [
            RequestKind::Turn,
            RequestKind::Stop,
            RequestKind::Kill,
            RequestKind::Pause,
            RequestKind::Unpause,
        ] {
            assert_eq!(RequestKind::parse(k.as_str()).unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for r in [
            RequestStatus::Queued,
            RequestStatus::Running,
            RequestStatus::Done,
        ] {
            assert_eq!(RequestStatus::parse(r.as_str()).unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!(matches!(
            SessionStatus::parse("asleep"),
            Err(Error::Corrupt(_))
        ));
        assert!(matches!(RequestKind::parse("nap"), Err(Error::Corrupt(_))));
        assert!(matches!(
            RequestStatus::parse("later"),
            Err(Error::Corrupt(_))
        ));
        // Display keeps width and alignment, as the CLI's columns need.
        assert_eq!(format!("{:<8}|", SessionStatus::Idle), "idle    |");
    }
}
