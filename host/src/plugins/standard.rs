//! The standard plugins, built from `plugins/` by `build.rs` and embedded in the binary, so
//! a new user has JSON Schema validation of the built-in artifact types, CEL conditions and
//! the default prompts without installing anything.

use super::{API_VERSION, Bytes, Kind, Limits, Resolved, Summary};
use crate::model::artifacts::BUILTIN_TYPES;

// Defines `EMBEDDED: &[(&str /*id*/, &str /*version*/, &str /*sha256*/, &[u8])]`.
include!(concat!(env!("OUT_DIR"), "/std_plugins.rs"));

pub const VALIDATOR: &str = "std-json-schema";
pub const CONDITION: &str = "std-cel-condition";
pub const TEMPLATES: &str = "std-prompt-templates";

/// What the standard template plugin declares (name, description, variables), kept here so
/// listing the prompts never waits for wasmtime; a unit test holds it to the plugin's own
/// `templates()`.
const TEMPLATE_DECLARATIONS: &[(&str, &str, &[&str])] = &[
    (
        "orchestrator",
        "Briefs the session that plans the work, assigns contracts and judges results: when to delegate, conventions first, contracts instead of message routing, phase gates, the 60/20/20 budget and the correction loop (optional: budget, goal)",
        &["team", "budget", "project", "goal"],
    ),
    (
        "worker",
        "Briefs a session that does one contract's work and publishes its results (optional: contract_id, task, conventions, roster, contracts)",
        &["contract_id", "name", "role", "team", "task", "conventions", "roster", "contracts"],
    ),
];

/// The standard templates as their plugin declares them.
pub fn declared_templates() -> Vec<super::TemplateInfo> {
    TEMPLATE_DECLARATIONS
        .iter()
        .map(|(name, description, variables)| super::TemplateInfo {
            name: name.to_string(),
            description: description.to_string(),
            variables: variables.iter().map(|v| v.to_string()).collect(),
            plugin: TEMPLATES.to_string(),
        })
        .collect()
}

/// What each standard plugin is; the bytes come from `EMBEDDED`.
const META: &[(&str, Kind, &str, &[&str])] = &[
    (
        VALIDATOR,
        Kind::ArtifactValidator,
        "JSON Schema validation of the built-in artifact types",
        &[],
    ),
    (
        CONDITION,
        Kind::PipelineCondition,
        "CEL expressions for pipeline conditions, e.g. `data.failed > 0`",
        &[],
    ),
    (
        TEMPLATES,
        Kind::PromptTemplate,
        "The default orchestrator and worker prompts (minijinja)",
        &["orchestrator", "worker"],
    ),
];

pub fn kind_of(id: &str) -> Option<Kind> {
    META.iter().find(|m| m.0 == id).map(|m| m.1)
}

pub fn resolve(id: &str) -> Option<Resolved> {
    let (_, kind, _, _) = META.iter().find(|m| m.0 == id)?;
    let (_, version, sha, bytes) = EMBEDDED.iter().find(|e| e.0 == id)?;
    Some(Resolved {
        id: id.to_string(),
        version: version.to_string(),
        standard: true,
        // Each standard plugin answers from its arguments alone.
        pure: true,
        limits: Limits::default_for(*kind),
        granted: Vec::new(),
        bytes: Bytes::Embedded(bytes),
        sha256: sha.to_string(),
    })
}

/// A standard plugin that must be there, or an error saying this build lacks it.
pub fn require(id: &str) -> crate::error::Result<Resolved> {
    resolve(id).ok_or_else(|| crate::error::Error::Plugin {
        plugin: id.to_string(),
        code: "missing",
        message: "is not embedded in this build of clearctx (it was built without plugins/)"
            .to_string(),
    })
}

/// The standard validator handles the built-in types.
pub fn validator_for(artifact_type: &str) -> Option<Resolved> {
    BUILTIN_TYPES
        .iter()
        .any(|(t, _)| *t == artifact_type)
        .then(|| resolve(VALIDATOR))
        .flatten()
}

pub fn all() -> Vec<Resolved> {
    META.iter().filter_map(|m| resolve(m.0)).collect()
}

pub fn summaries() -> Vec<Summary> {
    META.iter()
        .filter_map(|(id, kind, description, templates)| {
            let r = resolve(id)?;
            Some(Summary {
                id: id.to_string(),
                version: r.version.clone(),
                description: description.to_string(),
                kinds: vec![*kind],
                api: API_VERSION.to_string(),
                standard: true,
                enabled: true,
                types: if *kind == Kind::ArtifactValidator {
                    BUILTIN_TYPES.iter().map(|(t, _)| t.to_string()).collect()
                } else {
                    Vec::new()
                },
                templates: templates.iter().map(|t| t.to_string()).collect(),
                granted: Vec::new(),
                limits: r.limits,
                sha256: r.sha256,
                pure: r.pure,
            })
        })
        .collect()
}
