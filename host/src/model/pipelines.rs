//! Pipelines as stored: the rows `store` reads and writes, below the `pipelines` noun that
//! decides what they mean.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a firing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action ran.
    Done,
    /// The condition was false (one entry per event and pipeline, listing the rules).
    Skipped,
    /// The condition or the action failed; nothing of the action was kept.
    Failed,
    /// An action plugin returned a command it was not granted; none of its commands ran.
    Refused,
    /// The chain of firings that led here was deeper than the limit; the action did not run.
    CascadeStopped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::CascadeStopped => "cascade_stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Done,
            Outcome::Skipped,
            Outcome::Failed,
            Outcome::Refused,
            Outcome::CascadeStopped,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A pipeline as stored.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub pipeline_id: String,
    pub team: String,
    pub description: String,
    pub enabled: bool,
    pub created_by: String,
    pub creator_bound: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One firing: a rule whose trigger matched an event. The rules of a pipeline whose
/// conditions were false for an event share one `skipped` entry, without `rule_index` and
/// `rule`, listing them in `detail.rules`.
#[derive(Debug, Clone, Serialize)]
pub struct Firing {
    pub id: i64,
    pub pipeline_id: String,
    pub rule_index: Option<u32>,
    pub rule: Option<String>,
    /// The triggering event.
    pub seq: i64,
    pub event_kind: String,
    /// 1 for an event no rule caused; n+1 for one a firing of depth n caused.
    pub depth: u32,
    /// The condition's value; absent when the rule has none or it failed.
    pub condition: Option<bool>,
    pub outcome: Outcome,
    /// The commands run and what they made, or the error.
    pub detail: Value,
    /// What the plugin calls used (fuel, time, memory).
    pub receipt: Option<Value>,
    pub at: String,
}

