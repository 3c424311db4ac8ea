//! The persisted shapes of contracts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::artifacts::VersionRef;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Ready,
    InProgress,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Ready => "ready",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Status> {
        Ok(match s {
            "pending" => Status::Pending,
            "ready" => Status::Ready,
            "in_progress" => Status::InProgress,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            other => return Err(Error::Corrupt(format!("unknown contract status `{other}`"))),
        })
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
    pub fn rank(self) -> i64 {
        self as i64
    }
    pub fn from_rank(rank: i64) -> Priority {
        match rank {
            0 => Priority::Low,
            2 => Priority::High,
            3 => Priority::Critical,
            _ => Priority::Normal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// Satisfied when the artifact has a version >= `min_version`.
    Artifact,
    /// Satisfied when the contract is completed.
    Contract,
}

impl DependencyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Artifact => "artifact",
            DependencyKind::Contract => "contract",
        }
    }
}

/// Something a contract waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// `artifact` or `contract`.
    #[serde(rename = "type")]
    pub kind: DependencyKind,
    /// ID of the artifact or contract waited for.
    pub id: String,
    /// For artifacts: the lowest version that will do [default 1].
    #[serde(default)]
    pub min_version: Option<u32>,
}

/// An output the assignee must publish before completing (when `required`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedOutput {
    /// Any artifact of this type satisfies it (or give `artifact_id`).
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// This exact artifact satisfies it (or give `artifact_type`).
    #[serde(default)]
    pub artifact_id: Option<String>,
    /// Whether completion is refused without it (default true).
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// A contract row as stored; mutated in Rust and saved whole.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub contract_id: String,
    pub title: String,
    pub description: String,
    pub assignee: String,
    pub assigner: String,
    pub team: String,
    pub status: Status,
    pub priority: Priority,
    pub inputs: Value,
    pub acceptance_criteria: Vec<String>,
    pub timeout_s: Option<u64>,
    pub max_retries: Option<u32>,
    pub retries: u32,
    pub reason: Option<String>,
    pub result: Option<Value>,
    pub outputs: Option<Vec<VersionRef>>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub ready_seq: Option<i64>,
    pub started_at_ms: Option<i64>,
    pub deadline_at_ms: Option<i64>,
}
