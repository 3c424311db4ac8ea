//! Who is calling, and whom they may act for.

use crate::error::{Error, Result};
use crate::ids::check_id;

/// Who is calling: set from the environment the session manager gives each worker
/// (`CLEARCTX_SESSION`, `CLEARCTX_TEAM`); explicit arguments win over it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session: String,
    pub team: String,
    /// Started for one worker (`CLEARCTX_SESSION` set): acts only as `session`. An unbound
    /// caller (the orchestrator, a person at the CLI) may act for others.
    pub bound: bool,
}

impl Caller {
    /// A caller that may act for others, e.g. a tool or a test opening a data dir.
    pub fn new(session: impl Into<String>, team: impl Into<String>) -> Caller {
        Caller {
            session: session.into(),
            team: team.into(),
            bound: false,
        }
    }

    /// The identity an operation acts as: `explicit` (the argument `field`) or the caller.
    /// A bound caller cannot claim to be anyone else.
    pub fn act_as(&self, field: &str, explicit: Option<&str>) -> Result<String> {
        match explicit {
            Some(who) if who != self.session && self.bound => Err(Error::Forbidden(format!(
                "{field}: this server acts only as `{}`, the worker it was started for; it cannot act as `{who}` (leave `{field}` out)",
                self.session
            ))),
            Some(who) => Ok(who.to_string()),
            None => Ok(self.session.clone()),
        }
    }

    /// Who made the call, when it acted for someone else: for the event's record.
    pub fn via(&self, actor: &str) -> Option<&str> {
        (actor != self.session).then_some(self.session.as_str())
    }

    /// Reads `CLEARCTX_SESSION` and `CLEARCTX_TEAM`, falling back to `default_session` and
    /// the team `default`. Invalid values are refused rather than stored.
    pub fn from_env(default_session: &str) -> Result<Caller> {
        let named = std::env::var("CLEARCTX_SESSION")
            .ok()
            .filter(|s| !s.is_empty());
        let bound = named.is_some();
        let session = named.unwrap_or_else(|| default_session.to_string());
        let team = std::env::var("CLEARCTX_TEAM")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_string());
        check_id("CLEARCTX_SESSION", &session)?;
        check_id("CLEARCTX_TEAM", &team)?;
        Ok(Caller {
            session,
            team,
            bound,
        })
    }
}
