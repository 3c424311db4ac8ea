//! The persisted shapes of artifacts: what `store` reads and writes and `artifacts` serves.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Artifact types every data dir knows, with what each is for.
pub const BUILTIN_TYPES: &[(&str, &str)] = &[
    (
        "api-contract",
        "An API surface: endpoints, request and response shapes, errors.",
    ),
    (
        "schema-change",
        "A database or data-model change: tables, columns, migrations.",
    ),
    (
        "test-results",
        "The outcome of a test run: counts of passed and failed tests, failures.",
    ),
    (
        "shared-conventions",
        "Conventions every worker follows: response and error formats, naming.",
    ),
    ("json", "Any JSON document; no rules beyond being JSON."),
];

/// One exact artifact version, as used in `derived_from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRef {
    /// ID of the input artifact.
    pub artifact_id: String,
    /// The exact version of it that was used.
    pub version: u32,
}

/// One stored version. `data` is absent in listings.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub artifact_id: String,
    #[serde(rename = "type")]
    pub artifact_type: String,
    pub team: String,
    pub version: u32,
    pub latest_version: u32,
    pub sha256: String,
    pub summary: Option<String>,
    pub publisher: String,
    pub published_at: String,
    /// Event that published it.
    pub seq: i64,
    pub derived_from: Vec<VersionRef>,
    pub data: Option<Value>,
    /// The validator that accepted this version (publish results only).
    pub validated_by: Option<ValidatedBy>,
    /// What the publisher should know, e.g. that the type's validator is disabled
    /// (publish results only).
    pub warnings: Vec<String>,
}

/// Which plugin accepted a version, and what the check used.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatedBy {
    pub plugin: String,
    pub plugin_version: String,
    pub receipt: crate::model::Receipt,
}

/// One recorded read.
#[derive(Debug, Clone, Serialize)]
pub struct Read {
    pub reader: String,
    pub version: u32,
    pub read_at: String,
}

/// What the store needs to insert a version; built by `artifacts::publish`.
pub(crate) struct NewVersion<'a> {
    pub artifact_id: &'a str,
    pub version: u32,
    pub data: &'a str,
    pub sha256: &'a str,
    pub summary: Option<&'a str>,
    pub publisher: &'a str,
    pub seq: i64,
}

/// The artifact row that is not per version.
pub(crate) struct Head {
    pub artifact_type: String,
    pub team: String,
    /// The current version: what a read without `version` gets (0: none since a rollback).
    pub latest_version: u32,
    /// The highest version: a publish takes the next number, never one that was used.
    pub max_version: u32,
}
